/* SPDX-License-Identifier: Apache-2.0 */
/*
 * format=auto and compression=auto: TFRecord and RecordIO told from their
 * first bytes, plain or compressed; a TFRecord whose first bytes look like
 * a gzip or zlib header stays a TFRecord (its length CRC says so); what
 * cannot be told is PIPEMODE_EFORMAT, never a guess.  Every loop test runs
 * at chunks of 1, 7, 4096 bytes and whole.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "testutil.h"

#define KiB ((size_t)1024)
#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ------------------------------------------------------------ helpers */

/* windowBits 15 + 16: gzip; 15: zlib. */
static void
zcompress(tu_buf *out, const void *in, size_t n, int wbits)
{
	z_stream z;
	int zrc;

	memset(&z, 0, sizeof(z));
	ck_assert_int_eq(deflateInit2(&z, 6, Z_DEFLATED, wbits, 8,
				      Z_DEFAULT_STRATEGY),
			 Z_OK);
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)n;
	do {
		tu_buf_reserve(out, 64 * KiB);
		z.next_out = out->p + out->len;
		z.avail_out = (uInt)(out->cap - out->len);
		zrc = deflate(&z, Z_FINISH);
		ck_assert(zrc == Z_OK || zrc == Z_STREAM_END ||
			  zrc == Z_BUF_ERROR);
		out->len = out->cap - z.avail_out;
	} while (zrc != Z_STREAM_END);
	deflateEnd(&z);
}

/* How a stream is handed over. */
enum { PLAIN, GZIP, ZLIB };
static const char *const kind_names[] = {"plain", "gzip", "zlib"};

static void
encode(tu_buf *out, const void *p, size_t n, int kind)
{
	if (kind == PLAIN)
		tu_buf_add(out, p, n);
	else
		zcompress(out, p, n, kind == GZIP ? 15 + 16 : 15);
}

/* A RecordIO stream (whole records, flag 0) and where its records are. */
typedef struct rio {
	tu_buf raw;
	size_t nrec;
	uint64_t off[64];
	size_t len[64];
	size_t pay[64]; /* payload offset in raw */
} rio;

static void
rio_add(rio *s, const void *p, size_t n)
{
	unsigned char h[8];
	static const unsigned char zeros[4];

	ck_assert_uint_lt(s->nrec, 64);
	s->off[s->nrec] = s->raw.len;
	s->len[s->nrec] = n;
	s->pay[s->nrec] = s->raw.len + 8;
	s->nrec++;
	tu_put_le32(h, 0xced7230au);
	tu_put_le32(h + 4, (uint32_t)n);
	tu_buf_add(&s->raw, h, 8);
	tu_buf_add(&s->raw, p, n);
	tu_buf_add(&s->raw, zeros, (4 - n % 4) % 4);
}

static void
rio_sample(rio *s)
{
	char tmp[3000];

	memset(s, 0, sizeof(*s));
	for (int i = 0; i < 20; i++) {
		size_t n = (size_t)(i * 131 % 2900);
		tu_fill(tmp, n, (uint64_t)i + 500);
		rio_add(s, tmp, n);
	}
}

static void
rio_check(const tu_result *res, const rio *s, size_t nrec)
{
	ck_assert_msg(res->n == nrec, "got %zu records, expected %zu (%s)",
		      res->n, nrec, res->errmsg);
	for (size_t i = 0; i < nrec; i++) {
		ck_assert_uint_eq(res->v[i].len, s->len[i]);
		ck_assert(res->v[i].len == 0 ||
			  memcmp(res->v[i].data, s->raw.p + s->pay[i],
				 s->len[i]) == 0);
		ck_assert_uint_eq(res->v[i].index, i);
		ck_assert_uint_eq(res->v[i].offset, s->off[i]);
	}
}

static void
tf_sample(tu_stream *s)
{
	tu_stream_init(s);
	for (int i = 0; i < 20; i++)
		tu_stream_add_random(s, (size_t)(i * 157 % 3000),
				     (uint64_t)i + 1, 0);
}

static void
check_prefix(const char *msg, const char *framer, uint64_t index,
	     uint64_t offset)
{
	char want[256];

	snprintf(want, sizeof(want), "callback: %s: record %llu at byte %llu: ",
		 framer, (unsigned long long)index,
		 (unsigned long long)offset);
	ck_assert_msg(strncmp(msg, want, strlen(want)) == 0,
		      "errmsg \"%s\" does not start with \"%s\"", msg, want);
}

/* Loop index: _i / TU_NCHUNKS the kind, _i % TU_NCHUNKS the chunk. */
#define KIND (_i / TU_NCHUNKS)
#define CHUNK (tu_chunks[_i % TU_NCHUNKS])

static const char *const auto_options[] = {
	"format=auto,compression=auto",
	"compression=auto,format=auto",
	"format=AUTO,compression=Auto,buffer_size=4K",
};

/* ------------------------------------------------------------ TFRecord */

START_TEST(test_tfrecord_is_detected_plain_gzip_and_zlib)
{
	tu_stream s;
	tu_buf z = {0};

	tf_sample(&s);
	encode(&z, s.p, s.len, KIND);
	for (int k = 0; k < NELEM(auto_options); k++) {
		tu_result res;
		pipemode_stats st = tu_read_mem(z.p, z.len, CHUNK,
					     auto_options[k], &res);

		ck_assert_msg(res.rc == PIPEMODE_EOF, "%s, %s: rc %d: %s",
			      kind_names[KIND], auto_options[k], res.rc,
			      res.errmsg);
		tu_check_records(&res, &s, s.nrec, 0);
		ck_assert_uint_eq(st.bytes_read, z.len);
		ck_assert_uint_eq(res.offset, s.len);
		tu_result_free(&res);
	}
	if (KIND == PLAIN) {
		/* format=auto alone (no compression) */
		tu_result res;

		tu_read_mem(z.p, z.len, CHUNK, "format=auto", &res);
		ck_assert_int_eq(res.rc, PIPEMODE_EOF);
		tu_check_records(&res, &s, s.nrec, 0);
		tu_result_free(&res);
	}
	tu_buf_free(&z);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_short_tfrecord_streams_are_detected)
{
	/* shorter than the 64 bytes detection looks at */
	tu_stream s;
	tu_buf z = {0};
	tu_result res;

	tu_stream_init(&s);
	tu_stream_add(&s, "hi", 2, 0);
	encode(&z, s.p, s.len, KIND);
	tu_read_mem(z.p, z.len, CHUNK, "format=auto,compression=auto", &res);
	ck_assert_msg(res.rc == PIPEMODE_EOF, "rc %d: %s", res.rc, res.errmsg);
	tu_check_records(&res, &s, 1, 0);
	tu_result_free(&res);
	tu_buf_free(&z);
	tu_stream_free(&s);

	/* one empty record: 16 bytes in all */
	tu_stream_init(&s);
	tu_stream_add(&s, "", 0, 0);
	encode(&z, s.p, s.len, KIND);
	tu_read_mem(z.p, z.len, CHUNK, "format=auto,compression=auto", &res);
	ck_assert_msg(res.rc == PIPEMODE_EOF, "rc %d: %s", res.rc, res.errmsg);
	tu_check_records(&res, &s, 1, 0);
	tu_result_free(&res);
	tu_buf_free(&z);
	tu_stream_free(&s);
}
END_TEST

/* First-record lengths whose low bytes read as a gzip magic (1f 8b, then
 * CM 08 for the third) or a valid zlib header (78 9c, 78 da, 78 01,
 * 78 5e). */
static const uint64_t lookalike_lengths[] = {
	0x8b1f, 0x088b1f, 0x9c78, 0xda78, 0x0178, 0x5e78,
};

START_TEST(test_tfrecord_length_that_looks_like_a_compression_header)
{
	uint64_t first = lookalike_lengths[_i / TU_NCHUNKS];
	static const char *const options[] = {
		"compression=auto",
		"format=auto,compression=auto",
		"format=tfrecord,compression=auto,buffer_size=4K",
	};
	tu_stream s;

	tu_stream_init(&s);
	tu_stream_add_random(&s, (size_t)first, 77, 0);
	tu_stream_add(&s, "after", 5, 0);
	tu_stream_add_random(&s, 100, 78, 0);
	/* the stream really does start like a compression header */
	ck_assert_uint_eq(s.p[0], first & 0xff);
	ck_assert_uint_eq(s.p[1], (first >> 8) & 0xff);
	for (int k = 0; k < NELEM(options); k++) {
		tu_result res;

		tu_read_mem(s.p, s.len, CHUNK, options[k], &res);
		ck_assert_msg(res.rc == PIPEMODE_EOF,
			      "length 0x%llx, \"%s\": rc %d (%s): %s",
			      (unsigned long long)first, options[k], res.rc,
			      pipemode_code_name(res.rc), res.errmsg);
		tu_check_records(&res, &s, s.nrec, 0);
		tu_result_free(&res);
	}
	/* and gzip'ed, it is gzip holding that TFRecord */
	{
		tu_buf z = {0};
		tu_result res;

		encode(&z, s.p, s.len, GZIP);
		tu_read_mem(z.p, z.len, CHUNK, "format=auto,compression=auto",
			 &res);
		ck_assert_msg(res.rc == PIPEMODE_EOF, "gzip'ed: rc %d: %s",
			      res.rc, res.errmsg);
		tu_check_records(&res, &s, s.nrec, 0);
		tu_result_free(&res);
		tu_buf_free(&z);
	}
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_first_record_with_bad_payload_crc_is_still_tfrecord)
{
	tu_stream s;
	tu_buf z = {0};
	tu_result res;

	tu_stream_init(&s);
	tu_stream_add_random(&s, 300, 1, TU_BAD_DATA_CRC);
	tu_stream_add_random(&s, 30, 2, 0);
	encode(&z, s.p, s.len, KIND);
	tu_read_mem(z.p, z.len, CHUNK, "format=auto,compression=auto", &res);
	tu_check_error(&res, PIPEMODE_ECRC, 0, 0);
	check_prefix(res.errmsg, "tfrecord", 0, 0);
	tu_result_free(&res);
	tu_buf_free(&z);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_errors_after_detection_name_the_framer)
{
	tu_stream s;
	rio rs;
	tu_buf z = {0};
	tu_result res;

	tf_sample(&s);
	s.p[s.rec[5].offset + 12 + 3] ^= 0x40; /* payload of record 5 */
	encode(&z, s.p, s.len, KIND);
	tu_read_mem(z.p, z.len, CHUNK, "format=auto,compression=auto", &res);
	tu_check_records(&res, &s, 5, 0);
	tu_check_error(&res, PIPEMODE_ECRC, 5, s.rec[5].offset);
	check_prefix(res.errmsg, "tfrecord", 5, s.rec[5].offset);
	tu_result_free(&res);
	tu_buf_free(&z);
	tu_stream_free(&s);

	rio_sample(&rs);
	rs.raw.p[rs.off[3]] ^= 0x01; /* magic of record 3 */
	encode(&z, rs.raw.p, rs.raw.len, KIND);
	tu_read_mem(z.p, z.len, CHUNK, "format=auto,compression=auto", &res);
	rio_check(&res, &rs, 3);
	tu_check_error(&res, PIPEMODE_ECORRUPT, 3, rs.off[3]);
	check_prefix(res.errmsg, "recordio", 3, rs.off[3]);
	tu_result_free(&res);
	tu_buf_free(&z);
	tu_buf_free(&rs.raw);
}
END_TEST

/* ------------------------------------------------------------ RecordIO */

START_TEST(test_recordio_is_detected_plain_gzip_and_zlib)
{
	rio s;
	tu_buf z = {0};

	rio_sample(&s);
	encode(&z, s.raw.p, s.raw.len, KIND);
	for (int k = 0; k < NELEM(auto_options); k++) {
		tu_result res;
		pipemode_stats st = tu_read_mem(z.p, z.len, CHUNK,
					     auto_options[k], &res);

		ck_assert_msg(res.rc == PIPEMODE_EOF, "%s, %s: rc %d: %s",
			      kind_names[KIND], auto_options[k], res.rc,
			      res.errmsg);
		rio_check(&res, &s, s.nrec);
		ck_assert_uint_eq(st.bytes_read, z.len);
		tu_result_free(&res);
	}
	tu_buf_free(&z);
	tu_buf_free(&s.raw);
}
END_TEST

START_TEST(test_short_recordio_stream_is_detected)
{
	rio s;
	tu_buf z = {0};
	tu_result res;

	memset(&s, 0, sizeof(s));
	rio_add(&s, "x", 1);
	ck_assert_uint_eq(s.raw.len, 12);
	encode(&z, s.raw.p, s.raw.len, KIND);
	tu_read_mem(z.p, z.len, CHUNK, "format=auto,compression=auto", &res);
	ck_assert_msg(res.rc == PIPEMODE_EOF, "rc %d: %s", res.rc, res.errmsg);
	rio_check(&res, &s, 1);
	tu_result_free(&res);
	tu_buf_free(&z);
	tu_buf_free(&s.raw);
}
END_TEST

START_TEST(test_auto_takes_recordio_options)
{
	static const char *const options[] = {
		"format=auto,recordio_multipart=dmlc",
		"recordio_multipart=dmlc,format=auto",
		"format=auto,compression=auto,recordio_multipart=concat",
	};
	rio s;
	tu_result res;

	rio_sample(&s);
	for (int k = 0; k < NELEM(options); k++) {
		tu_read_mem(s.raw.p, s.raw.len, TU_CHUNK, options[k], &res);
		ck_assert_msg(res.rc == PIPEMODE_EOF, "\"%s\": rc %d: %s",
			      options[k], res.rc, res.errmsg);
		rio_check(&res, &s, s.nrec);
		tu_result_free(&res);
	}
	tu_buf_free(&s.raw);
}
END_TEST

START_TEST(test_auto_with_dmlc_joins_parts_the_dmlc_way)
{
	/* a record cut in two parts (flags 1, 3) where dmlc-core cut it: the
	 * magic goes back between the parts */
	static const unsigned char part1[] = {'a', 'b', 'c', 'd'};
	static const unsigned char part2[] = {'e', 'f', 'g', 'h'};
	unsigned char raw[64];
	unsigned char want[12];
	size_t n = 0;
	tu_result res;

	tu_put_le32(raw + n, 0xced7230au);
	tu_put_le32(raw + n + 4, (1u << 29) | 4);
	memcpy(raw + n + 8, part1, 4);
	n += 12;
	tu_put_le32(raw + n, 0xced7230au);
	tu_put_le32(raw + n + 4, (3u << 29) | 4);
	memcpy(raw + n + 8, part2, 4);
	n += 12;
	memcpy(want, part1, 4);
	tu_put_le32(want + 4, 0xced7230au);
	memcpy(want + 8, part2, 4);
	tu_read_mem(raw, n, TU_CHUNK, "format=auto,recordio_multipart=dmlc", &res);
	ck_assert_msg(res.rc == PIPEMODE_EOF, "rc %d: %s", res.rc, res.errmsg);
	ck_assert_uint_eq(res.n, 1);
	ck_assert_uint_eq(res.v[0].len, 12);
	ck_assert(memcmp(res.v[0].data, want, 12) == 0);
	tu_result_free(&res);
}
END_TEST

static const char *const bad_auto_options[] = {
	"format=auto,recordio_multipart=both",
	"format=auto,strip_cr=1", /* lines are never a candidate */
	"format=auto,no_such_option=1",
	"compression=auto,format=auto,compression_level=3",
};

START_TEST(test_bad_options_with_auto_are_eoption)
{
	pipemode_reader *r = NULL;
	tu_src src;
	int rc;

	tu_src_init(&src, "", 0, TU_WHOLE);
	rc = pipemode_open_callback(&r, tu_src_read, &src,
				    bad_auto_options[_i]);
	ck_assert_msg(rc == PIPEMODE_EOPTION, "\"%s\": rc %d (%s)",
		      bad_auto_options[_i], rc, pipemode_errmsg(r));
	ck_assert_uint_eq(src.calls, 0);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
}
END_TEST

/* ------------------------------------------------------------ not told */

START_TEST(test_random_bytes_are_eformat_saying_what_was_seen)
{
	unsigned char p[4096];
	char hex[16];
	tu_buf z = {0};
	tu_result res;

	tu_fill(p, sizeof(p), 2024);
	/* not by chance a compression header or the RecordIO magic */
	ck_assert(!(p[0] == 0x1f && p[1] == 0x8b));
	ck_assert((p[0] & 0x0f) != 8);
	ck_assert(!(p[0] == 0x0a && p[1] == 0x23));
	encode(&z, p, sizeof(p), KIND);
	tu_read_mem(z.p, z.len, CHUNK, "format=auto,compression=auto", &res);
	ck_assert_msg(res.rc == PIPEMODE_EFORMAT, "%s: rc %d (%s): %s",
		      kind_names[KIND], res.rc, pipemode_code_name(res.rc),
		      res.errmsg);
	ck_assert_uint_eq(res.n, 0);
	ck_assert_uint_eq(res.index, 0);
	ck_assert_uint_eq(res.offset, 0);
	ck_assert_msg(strncmp(res.errmsg, "callback: ", 10) == 0,
		      "errmsg \"%s\"", res.errmsg);
	/* what was seen: the first bytes */
	snprintf(hex, sizeof(hex), "%02x %02x", p[0], p[1]);
	ck_assert_msg(tu_contains(res.errmsg, hex),
		      "errmsg \"%s\" does not show the first bytes (%s)",
		      res.errmsg, hex);
	tu_result_free(&res);
	if (KIND == PLAIN) {
		tu_read_mem(p, sizeof(p), CHUNK, "format=auto", &res);
		ck_assert_int_eq(res.rc, PIPEMODE_EFORMAT);
		tu_result_free(&res);
	}
	tu_buf_free(&z);
}
END_TEST

static const char *const texts[] = {
	"hello world\nthis is text\n",
	"id,name,score\n1,alice,0.5\n2,bob,0.25\n",
	"{\"text\": \"a JSON line\", \"label\": 1}\n{\"text\": \"b\"}\n",
	"one line without a newline, but longer than sixty-four bytes of it "
	"all",
};

START_TEST(test_text_is_eformat_never_lines)
{
	for (int k = 0; k < NELEM(texts); k++) {
		tu_buf z = {0};
		tu_result res;

		encode(&z, texts[k], strlen(texts[k]), KIND);
		tu_read_mem(z.p, z.len, CHUNK, "format=auto,compression=auto",
			 &res);
		ck_assert_msg(res.rc == PIPEMODE_EFORMAT,
			      "text %d (%s): rc %d (%s): %s", k,
			      kind_names[KIND], res.rc,
			      pipemode_code_name(res.rc), res.errmsg);
		ck_assert_uint_eq(res.n, 0);
		tu_result_free(&res);
		tu_buf_free(&z);
	}
}
END_TEST

/* "x^" (78 5e) passes zlib's header check; what follows does not inflate,
 * so compression=auto must leave such text alone. */
START_TEST(test_text_that_starts_like_zlib_is_not_inflated)
{
	static const char csv[] = "x^2,y\n1,2\n3,4\n";
	tu_result res;

	tu_read_mem(csv, strlen(csv), tu_chunks[_i],
		 "format=lines,compression=auto", &res);
	ck_assert_msg(res.rc == PIPEMODE_EOF, "rc %d: %s", res.rc, res.errmsg);
	ck_assert_uint_eq(res.n, 3);
	ck_assert_uint_eq(res.v[0].len, 5);
	ck_assert_int_eq(memcmp(res.v[0].data, "x^2,y", 5), 0);
	tu_result_free(&res);
}
END_TEST

START_TEST(test_empty_stream_with_auto_is_eof)
{
	static const char *const options[] = {
		"format=auto", "format=auto,compression=auto",
		"compression=auto", "compression=auto,format=lines",
	};

	for (int k = 0; k < NELEM(options); k++) {
		tu_result res;
		pipemode_stats st = tu_read_mem("", 0, TU_CHUNK, options[k], &res);

		ck_assert_msg(res.rc == PIPEMODE_EOF, "\"%s\": rc %d: %s",
			      options[k], res.rc, res.errmsg);
		ck_assert_uint_eq(res.n, 0);
		ck_assert_uint_eq(res.index, 0);
		ck_assert_uint_eq(res.offset, 0);
		ck_assert_uint_eq(st.bytes_read, 0);
		tu_result_free(&res);
	}
}
END_TEST

START_TEST(test_compressed_empty_stream_with_auto_is_eof)
{
	tu_buf z = {0};
	tu_result res;

	encode(&z, "", 0, KIND == PLAIN ? GZIP : KIND);
	tu_read_mem(z.p, z.len, CHUNK, "format=auto,compression=auto", &res);
	ck_assert_msg(res.rc == PIPEMODE_EOF, "rc %d: %s", res.rc, res.errmsg);
	ck_assert_uint_eq(res.n, 0);
	tu_result_free(&res);
	tu_buf_free(&z);
}
END_TEST

static const struct {
	const char *p;
	size_t n;
} shorts[] = {
	{"\x05\0\0\0\0", 5},
	{"abc", 3},
	{"\x01", 1},
	{"\x0a\x23\xd7", 3},
	{"\x0a\x23\xd7\xce\x01\0", 6},
	{"\x05\0\0\0\0\0\0\0\x12\x34\x56", 11},
};

START_TEST(test_stream_shorter_than_a_header_is_an_error)
{
	int k = _i / TU_NCHUNKS;
	tu_result res;

	tu_read_mem(shorts[k].p, shorts[k].n, CHUNK, "format=auto", &res);
	ck_assert_msg(res.rc == PIPEMODE_EFORMAT ||
			      res.rc == PIPEMODE_ETRUNCATED,
		      "short %d: rc %d (%s): %s", k, res.rc,
		      pipemode_code_name(res.rc), res.errmsg);
	ck_assert_uint_eq(res.n, 0);
	tu_result_free(&res);
	tu_read_mem(shorts[k].p, shorts[k].n, CHUNK,
		 "format=auto,compression=auto", &res);
	ck_assert_msg(res.rc < 0 && res.rc != PIPEMODE_EOF,
		      "short %d with compression=auto: rc %d: %s", k, res.rc,
		      res.errmsg);
	ck_assert_uint_eq(res.n, 0);
	tu_result_free(&res);
}
END_TEST

START_TEST(test_truncated_tfrecord_header_prefix_is_an_error)
{
	/* every proper prefix of a record's 12-byte header */
	tu_stream s;

	tu_stream_init(&s);
	tu_stream_add(&s, "payload", 7, 0);
	for (size_t n = 1; n < 12; n++) {
		tu_result res;

		tu_read_mem(s.p, n, TU_CHUNK, "format=auto", &res);
		ck_assert_msg(res.rc == PIPEMODE_EFORMAT ||
				      res.rc == PIPEMODE_ETRUNCATED,
			      "%zu bytes: rc %d: %s", n, res.rc, res.errmsg);
		ck_assert_uint_eq(res.n, 0);
		tu_result_free(&res);
	}
	tu_stream_free(&s);
}
END_TEST

/* ------------------------------------------------------------ suite */

static Suite *
detect_suite(void)
{
	Suite *s = suite_create("detect");
	TCase *tc;

	tc = tcase_create("tfrecord");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_tfrecord_is_detected_plain_gzip_and_zlib,
			    0, 3 * TU_NCHUNKS);
	tcase_add_loop_test(tc, test_short_tfrecord_streams_are_detected, 0,
			    3 * TU_NCHUNKS);
	tcase_add_loop_test(tc,
			    test_tfrecord_length_that_looks_like_a_compression_header,
			    0, NELEM(lookalike_lengths) * TU_NCHUNKS);
	tcase_add_loop_test(tc,
			    test_first_record_with_bad_payload_crc_is_still_tfrecord,
			    0, 3 * TU_NCHUNKS);
	tcase_add_loop_test(tc, test_errors_after_detection_name_the_framer, 0,
			    3 * TU_NCHUNKS);
	suite_add_tcase(s, tc);

	tc = tcase_create("recordio");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_recordio_is_detected_plain_gzip_and_zlib,
			    0, 3 * TU_NCHUNKS);
	tcase_add_loop_test(tc, test_short_recordio_stream_is_detected, 0,
			    3 * TU_NCHUNKS);
	tcase_add_loop_test(tc, test_auto_takes_recordio_options, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_auto_with_dmlc_joins_parts_the_dmlc_way, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_bad_options_with_auto_are_eoption, 0,
			    NELEM(bad_auto_options));
	suite_add_tcase(s, tc);

	tc = tcase_create("undecided");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc,
			    test_random_bytes_are_eformat_saying_what_was_seen,
			    0, 3 * TU_NCHUNKS);
	tcase_add_loop_test(tc, test_text_is_eformat_never_lines, 0,
			    3 * TU_NCHUNKS);
	tcase_add_loop_test(tc, test_empty_stream_with_auto_is_eof, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_text_that_starts_like_zlib_is_not_inflated,
			    0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_compressed_empty_stream_with_auto_is_eof,
			    0, 3 * TU_NCHUNKS);
	tcase_add_loop_test(tc, test_stream_shorter_than_a_header_is_an_error,
			    0, NELEM(shorts) * TU_NCHUNKS);
	tcase_add_loop_test(tc, test_truncated_tfrecord_header_prefix_is_an_error,
			    0, TU_NCHUNKS);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(detect_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
