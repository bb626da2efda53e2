/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The lines framer (format=lines, alias TextLine) through the public API:
 * one record per '\n'-ended line, the last line without '\n' included, the
 * '\n' never part of the payload, '\r' dropped before '\n' only with
 * strip_cr=1.  Every loop test runs once per split of tu_chunks (1, 7, 4096
 * bytes and whole), fed through pipemode_open_callback.
 *
 * Expected records are written out by hand for the small cases; the larger
 * ones are checked against split_lines() below, a reference splitter that
 * is a few lines of obvious code.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"

#define KiB ((size_t)1024)
#define MiB (1024 * KiB)
#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ------------------------------------------------------------ helpers */

/* An expected record: payload bytes, length and the offset of its first
 * byte in the stream. */
typedef struct xline {
	const unsigned char *p;
	size_t len;
	uint64_t off;
} xline;

/*
 * The reference: split p[0..n) into lines the way the header documents it.
 * Returns the number of lines; *out is malloc'ed (pointers into p).
 */
static size_t
split_lines(const unsigned char *p, size_t n, int strip_cr, xline **out)
{
	size_t cap = 16, k = 0, start = 0;
	xline *v = malloc(cap * sizeof(*v));

	ck_assert_ptr_nonnull(v);
	while (start < n) {
		const unsigned char *nl = memchr(p + start, '\n', n - start);
		size_t end = nl != NULL ? (size_t)(nl - p) : n;
		size_t len = end - start;

		if (strip_cr && nl != NULL && len > 0 && p[end - 1] == '\r')
			len--;
		if (k == cap) {
			cap *= 2;
			v = realloc(v, cap * sizeof(*v));
			ck_assert_ptr_nonnull(v);
		}
		v[k].p = p + start;
		v[k].len = len;
		v[k].off = start;
		k++;
		start = nl != NULL ? end + 1 : n;
	}
	*out = v;
	return k;
}

/* Assert that res holds exactly the n records of want, bytes, indices and
 * offsets. */
static void
check_lines(const tu_result *res, const xline *want, size_t n)
{
	for (size_t i = 0; i < n && i < res->n; i++) {
		const tu_got *g = &res->v[i];

		ck_assert_msg(g->len == want[i].len,
			      "line %zu: length %zu, expected %zu", i, g->len,
			      want[i].len);
		ck_assert_msg(g->len == 0 ||
				      memcmp(g->data, want[i].p, g->len) == 0,
			      "line %zu: payload differs (got \"%.*s\")", i,
			      (int)(g->len < 60 ? g->len : 60),
			      (const char *)g->data);
		ck_assert_msg(g->index == i, "line %zu: index %llu", i,
			      (unsigned long long)g->index);
		ck_assert_msg(g->offset == want[i].off,
			      "line %zu: offset %llu, expected %llu", i,
			      (unsigned long long)g->offset,
			      (unsigned long long)want[i].off);
	}
	ck_assert_msg(res->n == n, "got %zu lines, expected %zu (rc %d: %s)",
		      res->n, n, res->rc, res->errmsg);
}

/* The whole stream reads as split_lines() says, to a clean EOF, and the
 * counters agree. */
static void
expect_reference(const void *p, size_t n, size_t chunk, const char *options,
		 int strip_cr)
{
	xline *want;
	size_t nlines = split_lines(p, n, strip_cr, &want);
	tu_result res;
	pipemode_stats st = tu_read_mem(p, n, chunk, options, &res);
	uint64_t payload = 0;

	ck_assert_msg(res.rc == PIPEMODE_EOF, "rc %d: %s", res.rc,
		      res.errmsg);
	check_lines(&res, want, nlines);
	for (size_t i = 0; i < nlines; i++)
		payload += want[i].len;
	ck_assert_uint_eq(st.records, nlines);
	ck_assert_uint_eq(st.payload_bytes, payload);
	ck_assert_uint_eq(st.bytes_read, n);
	/* At the end: the number of records and the stream's length. */
	ck_assert_uint_eq(res.index, nlines);
	ck_assert_uint_eq(res.offset, n);
	tu_result_free(&res);
	free(want);
}

/* The documented message prefix "SOURCE: lines: record N at byte OFF: ". */
static void
check_errmsg_where(const char *msg, uint64_t index, uint64_t offset)
{
	char want[256];

	snprintf(want, sizeof(want), "callback: lines: record %llu at byte %llu: ",
		 (unsigned long long)index, (unsigned long long)offset);
	ck_assert_msg(strncmp(msg, want, strlen(want)) == 0,
		      "errmsg \"%s\" does not start with \"%s\"", msg, want);
	ck_assert_msg(strlen(msg) > strlen(want), "errmsg \"%s\" says nothing",
		      msg);
}

static double
cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------ hand-written expectations */

typedef struct line_case {
	const char *name;
	const char *input;
	const char *options;
	int nlines;
	const char *lines[4];
	uint64_t offsets[4];
} line_case;

static const line_case cases[] = {
	{"two lines", "a\nb\n", "format=lines", 2, {"a", "b"}, {0, 2}},
	{"last line without newline", "a\nb", "format=lines", 2, {"a", "b"},
	 {0, 2}},
	{"empty stream", "", "format=lines", 0, {NULL}, {0}},
	{"one empty line", "\n", "format=lines", 1, {""}, {0}},
	{"two empty lines", "\n\n", "format=lines", 2, {"", ""}, {0, 1}},
	{"empty line between", "ab\n\ncd\n", "format=lines", 3,
	 {"ab", "", "cd"}, {0, 3, 4}},
	{"CRLF kept by default", "a\r\nb\r\n", "format=lines", 2,
	 {"a\r", "b\r"}, {0, 3}},
	{"CRLF with strip_cr=0", "a\r\nb\r\n", "format=lines,strip_cr=0", 2,
	 {"a\r", "b\r"}, {0, 3}},
	{"CRLF stripped", "a\r\nb\r\n", "format=lines,strip_cr=1", 2,
	 {"a", "b"}, {0, 3}},
	{"strip_cr=true", "a\r\nb\r\n", "format=lines,strip_cr=true", 2,
	 {"a", "b"}, {0, 3}},
	{"strip_cr keeps a lone CR inside a line", "a\rb\r\nc\rd\n",
	 "format=lines,strip_cr=1", 2, {"a\rb", "c\rd"}, {0, 5}},
	{"strip_cr drops only one CR", "a\r\r\n\r\n", "format=lines,strip_cr=1",
	 2, {"a\r", ""}, {0, 4}},
	{"strip_cr leaves LF-only lines alone", "x\ny\r\nz",
	 "format=lines,strip_cr=yes", 3, {"x", "y", "z"}, {0, 2, 5}},
	{"alias TextLine", "one\ntwo\n", "format=TextLine", 2, {"one", "two"},
	 {0, 4}},
	{"alias textline", "one\ntwo", "format=textline", 2, {"one", "two"},
	 {0, 4}},
	{"LINES in capitals", "1\n22\n333\n", "format=LINES", 3,
	 {"1", "22", "333"}, {0, 2, 5}},
	{"strip_cr given before format", "a\r\n", "strip_cr=1,format=lines", 1,
	 {"a"}, {0}},
	{"NUL bytes are data", "a\0b\n\0\n", "format=lines", 2, {"a\0b", "\0"},
	 {0, 4}},
};

/* The lengths of the hand-written lines, which may hold NUL bytes. */
static size_t
case_line_len(const line_case *c, int i)
{
	static const size_t nul_lens[] = {3, 1};

	if (strcmp(c->name, "NUL bytes are data") == 0)
		return nul_lens[i];
	return strlen(c->lines[i]);
}

static size_t
case_input_len(const line_case *c)
{
	if (strcmp(c->name, "NUL bytes are data") == 0)
		return 6;
	return strlen(c->input);
}

/* Each hand-written case at each chunk size: one loop iteration per
 * (case, chunk) pair. */
START_TEST(test_hand_written_cases)
{
	const line_case *c = &cases[_i / TU_NCHUNKS];
	size_t chunk = tu_chunks[_i % TU_NCHUNKS];
	size_t n = case_input_len(c);
	xline want[4];
	tu_result res;
	pipemode_stats st;
	uint64_t payload = 0;

	for (int i = 0; i < c->nlines; i++) {
		want[i].p = (const unsigned char *)c->lines[i];
		want[i].len = case_line_len(c, i);
		want[i].off = c->offsets[i];
		payload += want[i].len;
	}
	st = tu_read_mem(c->input, n, chunk, c->options, &res);
	ck_assert_msg(res.rc == PIPEMODE_EOF, "%s (chunk %zu): rc %d: %s",
		      c->name, chunk, res.rc, res.errmsg);
	check_lines(&res, want, (size_t)c->nlines);
	ck_assert_uint_eq(st.records, (uint64_t)c->nlines);
	ck_assert_uint_eq(st.payload_bytes, payload);
	ck_assert_uint_eq(st.bytes_read, n);
	ck_assert_uint_eq(res.index, (uint64_t)c->nlines);
	ck_assert_uint_eq(res.offset, n);
	tu_result_free(&res);
}
END_TEST

START_TEST(test_empty_stream_is_eof_at_once)
{
	tu_src src;
	pipemode_reader *r;
	const void *data = "x";
	size_t len = 3;

	tu_src_init(&src, "", 0, TU_CHUNK);
	r = tu_open_src(&src, "format=lines");
	for (int k = 0; k < 3; k++) {
		ck_assert_int_eq(pipemode_next(r, &data, &len), PIPEMODE_EOF);
		ck_assert_ptr_null(data);
		ck_assert_uint_eq(len, 0);
	}
	ck_assert_uint_eq(pipemode_record_index(r), 0);
	ck_assert_uint_eq(pipemode_byte_offset(r), 0);
	ck_assert_str_eq(pipemode_errmsg(r), "");
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
}
END_TEST

/* ------------------------------------------------------------ samples */

static const char csv_sample[] =
	"id,name,score,comment\n"
	"1,alice,0.5,\"said \"\"hi\"\"\"\n"
	"2,bob,1e-3,\n"
	",,,\n"
	"3,\"carol, jr.\",-7,\"multi\r\n"
	"4,dave,,trailing\n";

static const char jsonl_sample[] =
	"{\"text\": \"the quick brown fox\", \"label\": 1}\n"
	"{\"text\": \"caf\xc3\xa9 \\u00e9\\n\", \"label\": 0}\n"
	"{}\n"
	"[1, 2, 3]\n"
	"{\"nested\": {\"a\": [true, false, null]}, \"n\": -1.5e10}";

START_TEST(test_csv_sample)
{
	expect_reference(csv_sample, sizeof(csv_sample) - 1, TU_CHUNK,
			 "format=lines", 0);
	expect_reference(csv_sample, sizeof(csv_sample) - 1, TU_CHUNK,
			 "format=lines,strip_cr=1", 1);
}
END_TEST

START_TEST(test_csv_sample_by_hand)
{
	/* The reference splitter itself, checked once on the CSV sample. */
	static const char *const want_lines[] = {
		"id,name,score,comment",
		"1,alice,0.5,\"said \"\"hi\"\"\"",
		"2,bob,1e-3,",
		",,,",
		"3,\"carol, jr.\",-7,\"multi\r",
		"4,dave,,trailing",
	};
	xline want[6];
	tu_result res;
	uint64_t off = 0;

	for (int i = 0; i < 6; i++) {
		want[i].p = (const unsigned char *)want_lines[i];
		want[i].len = strlen(want_lines[i]);
		want[i].off = off;
		off += want[i].len + 1;
	}
	ck_assert_uint_eq(off, sizeof(csv_sample) - 1);
	tu_read_mem(csv_sample, sizeof(csv_sample) - 1, TU_CHUNK, "format=lines",
		 &res);
	ck_assert_int_eq(res.rc, PIPEMODE_EOF);
	check_lines(&res, want, 6);
	tu_result_free(&res);
}
END_TEST

START_TEST(test_json_lines_sample)
{
	xline *want;
	size_t n = split_lines((const unsigned char *)jsonl_sample,
			       sizeof(jsonl_sample) - 1, 0, &want);

	/* five documents, the last one without a newline */
	ck_assert_uint_eq(n, 5);
	ck_assert_uint_eq(want[2].len, 2);
	free(want);
	expect_reference(jsonl_sample, sizeof(jsonl_sample) - 1, TU_CHUNK,
			 "format=TextLine", 0);
}
END_TEST

START_TEST(test_many_lines_of_varied_length)
{
	uint64_t rng = 99;
	size_t cap = 600 * KiB, n = 0;
	unsigned char *p = malloc(cap);

	ck_assert_ptr_nonnull(p);
	/* lengths around the 4K buffer, CRs here and there */
	while (n < cap - 9000) {
		size_t len = (size_t)(tu_rand(&rng) % 9000);
		for (size_t k = 0; k < len; k++) {
			uint64_t v = tu_rand(&rng) % 97;
			p[n++] = v == 0 ? '\r' : (unsigned char)(' ' + v);
		}
		if (tu_rand(&rng) % 3 == 0)
			p[n++] = '\r';
		p[n++] = '\n';
	}
	expect_reference(p, n, TU_CHUNK, "format=lines,buffer_size=4K", 0);
	expect_reference(p, n, TU_CHUNK, "format=lines,strip_cr=1", 1);
	free(p);
}
END_TEST

/* ------------------------------------------------------------ large lines */

START_TEST(test_line_longer_than_buffer_grows_it)
{
	size_t big = 3 * MiB, n = 0;
	unsigned char *p = malloc(big + 64);
	xline *want;

	ck_assert_ptr_nonnull(p);
	memcpy(p, "short\n", 6);
	n = 6;
	tu_fill(p + n, big, 3);
	for (size_t k = n; k < n + big; k++)
		if (p[k] == '\n')
			p[k] = 'n';
	n += big;
	memcpy(p + n, "\nx\n4096\ntail", 12);
	n += 12;
	ck_assert_uint_eq(split_lines(p, n, 0, &want), 5);
	ck_assert_uint_eq(want[1].len, big);
	free(want);
	expect_reference(p, n, TU_CHUNK, "format=lines,buffer_size=4K", 0);
	free(p);
}
END_TEST

START_TEST(test_lines_around_the_buffer_size)
{
	/* content lengths one under, at and over the 4K buffer, with and
	 * without the newline making it one over */
	static const size_t lens[] = {4094, 4095, 4096, 4097, 0, 8191, 8192,
				      8193, 1, 12288};
	size_t n = 0, total = 0;
	unsigned char *p;

	for (int i = 0; i < NELEM(lens); i++)
		total += lens[i] + 1;
	p = malloc(total);
	ck_assert_ptr_nonnull(p);
	for (int i = 0; i < NELEM(lens); i++) {
		memset(p + n, 'a' + i, lens[i]);
		n += lens[i];
		p[n++] = '\n';
	}
	expect_reference(p, n, TU_CHUNK, "format=lines,buffer_size=4K", 0);
	/* and the same without the final newline */
	expect_reference(p, n - 1, TU_CHUNK, "format=lines,buffer_size=4K", 0);
	free(p);
}
END_TEST

/* ------------------------------------------------------------ max_record_size */

/* "ok\n" + a line of len bytes of 'x' + tail; the big line is record 1 at
 * byte 3. */
static unsigned char *
make_big_line(size_t len, const char *tail, size_t *n)
{
	size_t tl = strlen(tail);
	unsigned char *p = malloc(3 + len + tl + 1);

	ck_assert_ptr_nonnull(p);
	memcpy(p, "ok\n", 3);
	memset(p + 3, 'x', len);
	memcpy(p + 3 + len, tail, tl);
	*n = 3 + len + tl;
	return p;
}

START_TEST(test_line_over_max_record_size_is_etoobig)
{
	size_t n;
	unsigned char *p = make_big_line(1025, "\nafter\n", &n);
	tu_result res;
	pipemode_stats st;

	st = tu_read_mem(p, n, TU_CHUNK, "format=lines,max_record_size=1K", &res);
	ck_assert_uint_eq(res.n, 1);
	ck_assert_uint_eq(res.v[0].len, 2);
	ck_assert(memcmp(res.v[0].data, "ok", 2) == 0);
	tu_check_error(&res, PIPEMODE_ETOOBIG, 1, 3);
	check_errmsg_where(res.errmsg, 1, 3);
	ck_assert_uint_eq(st.records, 1);
	tu_result_free(&res);
	free(p);
}
END_TEST

START_TEST(test_line_of_exactly_max_record_size_is_fine)
{
	size_t n;
	unsigned char *p = make_big_line(1024, "\nafter\n", &n);

	expect_reference(p, n, TU_CHUNK, "format=lines,max_record_size=1K", 0);
	free(p);
	/* also as the last line, without a newline */
	p = make_big_line(1024, "", &n);
	expect_reference(p, n, TU_CHUNK, "format=lines,max_record_size=1K", 0);
	free(p);
	/* and an empty line with max_record_size=0 */
	expect_reference("\n\n", 2, TU_CHUNK, "format=lines,max_record_size=0",
			 0);
}
END_TEST

START_TEST(test_last_line_without_newline_over_max_is_etoobig)
{
	size_t n;
	unsigned char *p = make_big_line(1025, "", &n);
	tu_result res;

	tu_read_mem(p, n, TU_CHUNK, "format=lines,max_record_size=1K", &res);
	ck_assert_uint_eq(res.n, 1);
	tu_check_error(&res, PIPEMODE_ETOOBIG, 1, 3);
	check_errmsg_where(res.errmsg, 1, 3);
	tu_result_free(&res);
	free(p);
}
END_TEST

START_TEST(test_long_line_fails_before_it_is_read_whole)
{
	/* A 100 KiB line with max_record_size=1K and a 4K buffer: the framer
	 * must give up once it has seen more than 1K bytes without a newline,
	 * not wait for the whole line (which would need a 100 KiB buffer). */
	size_t n;
	unsigned char *p = make_big_line(100 * KiB, "\nafter\n", &n);
	tu_result res;
	pipemode_stats st;

	st = tu_read_mem(p, n, TU_CHUNK,
		      "format=lines,max_record_size=1K,buffer_size=4K", &res);
	tu_check_error(&res, PIPEMODE_ETOOBIG, 1, 3);
	ck_assert_msg(st.bytes_read < 100 * KiB,
		      "read %llu bytes before failing a line over 1K",
		      (unsigned long long)st.bytes_read);
	tu_result_free(&res);
	free(p);
}
END_TEST

/* A source of 'x' bytes without end (well, 1 GiB): a line that never ends. */
typedef struct endless {
	uint64_t given, limit;
} endless;

static ssize_t
endless_read(void *ctx, void *buf, size_t len)
{
	endless *e = ctx;

	if (e->given >= e->limit)
		return 0;
	if (len > e->limit - e->given)
		len = (size_t)(e->limit - e->given);
	if (len > 64 * KiB)
		len = 64 * KiB;
	memset(buf, 'x', len);
	e->given += len;
	return (ssize_t)len;
}

START_TEST(test_endless_line_is_etoobig_after_little_input)
{
	endless e = {0, (uint64_t)1 << 30};
	pipemode_reader *r = NULL;
	const void *data;
	size_t len;
	int rc;

	rc = pipemode_open_callback(&r, endless_read, &e,
				    "format=lines,max_record_size=64K");
	ck_assert_msg(rc == PIPEMODE_OK, "%s", pipemode_errmsg(r));
	rc = pipemode_next(r, &data, &len);
	ck_assert_msg(rc == PIPEMODE_ETOOBIG, "rc %d: %s", rc,
		      pipemode_errmsg(r));
	ck_assert_uint_eq(pipemode_record_index(r), 0);
	ck_assert_uint_eq(pipemode_byte_offset(r), 0);
	/* a default-sized buffer's worth or so, not the gigabyte */
	ck_assert_msg(e.given <= 4 * MiB, "read %llu bytes",
		      (unsigned long long)e.given);
	check_errmsg_where(pipemode_errmsg(r), 0, 0);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
}
END_TEST

/* ------------------------------------------------------------ where */

START_TEST(test_index_and_offset_follow_each_line)
{
	static const char text[] = "alpha\n\nbeta\r\ngamma delta\n\n\nz";
	static const uint64_t offs[] = {0, 6, 7, 13, 25, 26, 27};
	tu_src src;
	pipemode_reader *r;

	tu_src_init(&src, text, sizeof(text) - 1, TU_CHUNK);
	r = tu_open_src(&src, "format=lines,strip_cr=1");
	ck_assert_uint_eq(pipemode_record_index(r), 0);
	ck_assert_uint_eq(pipemode_byte_offset(r), 0);
	for (int i = 0; i < NELEM(offs); i++) {
		const void *data;
		size_t len;

		ck_assert_int_eq(pipemode_next(r, &data, &len), PIPEMODE_OK);
		ck_assert_uint_eq(pipemode_record_index(r), (uint64_t)i);
		ck_assert_uint_eq(pipemode_byte_offset(r), offs[i]);
	}
	{
		const void *data;
		size_t len;

		ck_assert_int_eq(pipemode_next(r, &data, &len), PIPEMODE_EOF);
	}
	ck_assert_uint_eq(pipemode_record_index(r), NELEM(offs));
	ck_assert_uint_eq(pipemode_byte_offset(r), sizeof(text) - 1);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
}
END_TEST

/* ------------------------------------------------------------ zero-copy */

START_TEST(test_lines_within_one_read_are_not_copied)
{
	/* All of it arrives in one 4096-byte read: every line is returned
	 * where it lies in the reader's buffer, so consecutive lines sit one
	 * newline apart. */
	char text[4000];
	size_t n = 0;
	tu_src src;
	pipemode_reader *r;
	const unsigned char *prev = NULL;
	size_t prev_len = 0;
	int count = 0;

	while (n < sizeof(text) - 40) {
		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      "line %d: %.*s\n", count, count % 17,
				      "abcdefghijklmnopq");
		count++;
	}
	tu_src_init(&src, text, n, 4096);
	r = tu_open_src(&src, "format=lines");
	for (int i = 0; i < count; i++) {
		const void *data;
		size_t len;
		char want[64];
		int wl = snprintf(want, sizeof(want), "line %d: %.*s", i,
				  i % 17, "abcdefghijklmnopq");

		ck_assert_int_eq(pipemode_next(r, &data, &len), PIPEMODE_OK);
		ck_assert_ptr_nonnull(data);
		ck_assert_uint_eq(len, (size_t)wl);
		ck_assert(memcmp(data, want, len) == 0);
		if (prev != NULL)
			ck_assert_msg((const unsigned char *)data ==
					      prev + prev_len + 1,
				      "line %d is not where it lies in the "
				      "buffer (copied?)", i);
		prev = data;
		prev_len = len;
	}
	{
		const void *data;
		size_t len;

		ck_assert_int_eq(pipemode_next(r, &data, &len), PIPEMODE_EOF);
	}
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
}
END_TEST

/* ------------------------------------------------------------ performance */

START_TEST(test_million_one_byte_lines_are_fast)
{
	size_t count = 1000000, n = 2 * count;
	unsigned char *p = malloc(n);
	tu_src src;
	pipemode_reader *r;
	const void *data;
	size_t len, got = 0, bad = 0;
	double t0, t;
	int rc;

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < count; i++) {
		p[2 * i] = (unsigned char)('a' + i % 26);
		p[2 * i + 1] = '\n';
	}
	tu_src_init(&src, p, n, TU_WHOLE);
	r = tu_open_src(&src, "format=lines");
	t0 = cpu_seconds();
	while ((rc = pipemode_next(r, &data, &len)) == PIPEMODE_OK) {
		if (len != 1 || *(const unsigned char *)data !=
					'a' + got % 26)
			bad++;
		got++;
	}
	t = cpu_seconds() - t0;
	ck_assert_int_eq(rc, PIPEMODE_EOF);
	ck_assert_uint_eq(got, count);
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_eq(pipemode_byte_offset(r), n);
	ck_assert_msg(t < 1.0, "1,000,000 one-byte lines took %.3f s of CPU",
		      t);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	free(p);
}
END_TEST

START_TEST(test_long_line_fed_a_byte_at_a_time_is_linear)
{
	/* A framer that searched the whole window for '\n' again after each
	 * new byte would do 5e11 byte compares here. */
	size_t big = 1 * MiB, n = big + 4;
	unsigned char *p = malloc(n);
	tu_src src;
	pipemode_reader *r;
	const void *data;
	size_t len;
	double t0, t;

	ck_assert_ptr_nonnull(p);
	memset(p, 'q', big);
	memcpy(p + big, "\nab\n", 4);
	tu_src_init(&src, p, n, 1);
	r = tu_open_src(&src, "format=lines,buffer_size=4K");
	t0 = cpu_seconds();
	ck_assert_int_eq(pipemode_next(r, &data, &len), PIPEMODE_OK);
	ck_assert_uint_eq(len, big);
	ck_assert(memcmp(data, p, big) == 0);
	ck_assert_int_eq(pipemode_next(r, &data, &len), PIPEMODE_OK);
	ck_assert_uint_eq(len, 2);
	ck_assert_uint_eq(pipemode_byte_offset(r), big + 1);
	ck_assert_int_eq(pipemode_next(r, &data, &len), PIPEMODE_EOF);
	t = cpu_seconds() - t0;
	ck_assert_msg(t < 1.0, "a 1 MiB line fed byte by byte took %.3f s of "
			       "CPU", t);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	free(p);
}
END_TEST

START_TEST(test_long_line_at_default_buffer_fed_byte_by_byte)
{
	/* the same with the default 256K buffer: the line is 4 times the
	 * buffer, and many lines fit in it before that */
	size_t n = 0;
	unsigned char *p = malloc(2 * MiB);
	double t0, t;

	ck_assert_ptr_nonnull(p);
	for (int i = 0; i < 5000; i++)
		n += (size_t)sprintf((char *)p + n, "%d\n", i);
	memset(p + n, 'z', 1 * MiB);
	n += 1 * MiB;
	p[n++] = '\n';
	t0 = cpu_seconds();
	expect_reference(p, n, 1, "format=lines", 0);
	t = cpu_seconds() - t0;
	ck_assert_msg(t < 2.0, "took %.3f s of CPU", t);
	free(p);
}
END_TEST

/* ------------------------------------------------------------ options */

static const char *const bad_strip_cr[] = {
	"format=lines,strip_cr=maybe",
	"format=lines,strip_cr=",
	"format=lines,strip_cr=2",
	"format=tfrecord,strip_cr=1",
	"strip_cr=1,format=tfrecord",
	"strip_cr=1",
	"strip_cr=0",
	"format=TFRecord,strip_cr=0",
};

START_TEST(test_bad_strip_cr_is_eoption_naming_it)
{
	pipemode_reader *r = NULL;
	tu_src src;
	const void *data;
	size_t len;
	int rc;

	tu_src_init(&src, "a\n", 2, TU_WHOLE);
	rc = pipemode_open_callback(&r, tu_src_read, &src, bad_strip_cr[_i]);
	ck_assert_msg(rc == PIPEMODE_EOPTION, "\"%s\": rc %d (%s)",
		      bad_strip_cr[_i], rc, pipemode_errmsg(r));
	ck_assert_ptr_nonnull(r);
	ck_assert_msg(tu_contains(pipemode_errmsg(r), "strip_cr"),
		      "\"%s\": errmsg \"%s\" does not name the key",
		      bad_strip_cr[_i], pipemode_errmsg(r));
	ck_assert_int_eq(pipemode_next(r, &data, &len), PIPEMODE_ESTATE);
	ck_assert_uint_eq(src.calls, 0);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
}
END_TEST

static const char *const good_line_options[] = {
	"format=lines,strip_cr=1",  "format=lines,strip_cr=0",
	"format=lines,strip_cr=on", "format=lines,strip_cr=off",
	"format=lines,strip_cr=no", "format=TextLine,strip_cr=false",
	"format=lines,buffer_size=4K,max_record_size=10",
	"format=lines,verify_crc=0",
};

START_TEST(test_good_line_options_are_accepted)
{
	pipemode_reader *r = NULL;
	tu_src src;
	tu_result res;
	int rc;

	tu_src_init(&src, "a\nbc\n", 5, TU_WHOLE);
	rc = pipemode_open_callback(&r, tu_src_read, &src,
				    good_line_options[_i]);
	ck_assert_msg(rc == PIPEMODE_OK, "\"%s\": rc %d (%s)",
		      good_line_options[_i], rc, pipemode_errmsg(r));
	ck_assert_int_eq(tu_read_all(r, &res), PIPEMODE_EOF);
	ck_assert_uint_eq(res.n, 2);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	tu_result_free(&res);
}
END_TEST

/* ------------------------------------------------------------ suite */

static Suite *
lines_suite(void)
{
	Suite *s = suite_create("lines");
	TCase *tc;

	tc = tcase_create("basics");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_hand_written_cases, 0,
			    NELEM(cases) * TU_NCHUNKS);
	tcase_add_loop_test(tc, test_empty_stream_is_eof_at_once, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_index_and_offset_follow_each_line, 0,
			    TU_NCHUNKS);
	tcase_add_test(tc, test_lines_within_one_read_are_not_copied);
	suite_add_tcase(s, tc);

	tc = tcase_create("samples");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_csv_sample, 0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_csv_sample_by_hand, 0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_json_lines_sample, 0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_many_lines_of_varied_length, 0,
			    TU_NCHUNKS);
	suite_add_tcase(s, tc);

	tc = tcase_create("sizes");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_line_longer_than_buffer_grows_it, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_lines_around_the_buffer_size, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_line_over_max_record_size_is_etoobig, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_line_of_exactly_max_record_size_is_fine,
			    0, TU_NCHUNKS);
	tcase_add_loop_test(tc,
			    test_last_line_without_newline_over_max_is_etoobig,
			    0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_long_line_fails_before_it_is_read_whole,
			    0, TU_NCHUNKS);
	tcase_add_test(tc, test_endless_line_is_etoobig_after_little_input);
	suite_add_tcase(s, tc);

	tc = tcase_create("performance");
	tcase_set_tags(tc, "slow"); /* CPU-time bounds: not under valgrind */
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_million_one_byte_lines_are_fast);
	tcase_add_test(tc, test_long_line_fed_a_byte_at_a_time_is_linear);
	tcase_add_test(tc, test_long_line_at_default_buffer_fed_byte_by_byte);
	suite_add_tcase(s, tc);

	tc = tcase_create("options");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_bad_strip_cr_is_eoption_naming_it, 0,
			    NELEM(bad_strip_cr));
	tcase_add_loop_test(tc, test_good_line_options_are_accepted, 0,
			    NELEM(good_line_options));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(lines_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
