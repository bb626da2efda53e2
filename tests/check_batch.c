/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pipemode_next_batch through the public API: TFRecord, RecordIO (with
 * multipart records, which the framer joins in its own memory) and lines
 * streams fed through pipemode_open_callback in chunks of 1, 7, 4096 bytes
 * and whole, read in batches of at most 1, 7, 64 and 1000 records.
 *
 * What every batch must satisfy is checked once the call has returned and
 * the whole batch is collected: each record is compared with what the
 * encoder wrote, so a pointer that a later record of the same batch moved
 * or overwrote fails.  Errors are compared with what pipemode_next gives
 * for the same stream: the records before the error, then the same code,
 * record index, byte offset and message.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"

#define KiB ((size_t)1024)
#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* The batch sizes every stream is read at. */
static const size_t maxes[] = {1, 7, 64, 1000};
#define NMAXES NELEM(maxes)

/* ------------------------------------------------------------ expected */

/* A record as the encoder wrote it. */
typedef struct xrec {
	const unsigned char *p;
	size_t len;
	uint64_t offset;     /* of its first framing byte */
	int joined;          /* joined from parts in the framer's memory */
} xrec;

typedef struct xlist {
	xrec *v;
	size_t n, cap;
	uint64_t payload;    /* sum of the lengths */
} xlist;

static void
x_add(xlist *x, const void *p, size_t len, uint64_t offset, int joined)
{
	if (x->n == x->cap) {
		x->cap = x->cap ? 2 * x->cap : 64;
		x->v = realloc(x->v, x->cap * sizeof(*x->v));
		ck_assert_ptr_nonnull(x->v);
	}
	x->v[x->n].p = p;
	x->v[x->n].len = len;
	x->v[x->n].offset = offset;
	x->v[x->n].joined = joined;
	x->n++;
	x->payload += len;
}

static void
x_free(xlist *x)
{
	free(x->v);
	memset(x, 0, sizeof(*x));
}

static void
x_from_tfrecord(xlist *x, const tu_stream *s, int skip_bad)
{
	memset(x, 0, sizeof(*x));
	for (size_t i = 0; i < s->nrec; i++)
		if (!(skip_bad && (s->rec[i].flags & TU_BAD_DATA_CRC)))
			x_add(x, tu_stream_payload(s, i), s->rec[i].len,
			      s->rec[i].offset, 0);
}

static void
x_from_recordio(xlist *x, const tu_rio *s)
{
	memset(x, 0, sizeof(*x));
	for (size_t i = 0; i < s->nrec; i++)
		x_add(x, s->rec[i].concat, s->rec[i].concat_len,
		      s->rec[i].offset, s->rec[i].nparts > 1);
}

/* Lines as the header defines them: one record per '\n'-ended line, the
 * '\n' left out, a last line without '\n' included. */
static void
x_from_lines(xlist *x, const unsigned char *p, size_t n)
{
	size_t start = 0;

	memset(x, 0, sizeof(*x));
	while (start < n) {
		const unsigned char *nl = memchr(p + start, '\n', n - start);
		size_t end = nl != NULL ? (size_t)(nl - p) : n;

		x_add(x, p + start, end - start, start, 0);
		start = nl != NULL ? end + 1 : n;
	}
}

/* ------------------------------------------------------------ streams */

/* Record lengths: mostly small, some empty, a few larger than the 4K read
 * buffer the tests use and one larger than the default 256K. */
static size_t
pick_len(uint64_t *state, size_t i)
{
	uint64_t r = tu_rand(state);

	if (i == 77)
		return 300 * KiB;
	if (r % 53 == 0)
		return 5000 + (size_t)(r >> 40) % 20000;
	if (r % 11 == 0)
		return 0;
	return (size_t)(r >> 32) % 300;
}

static void
make_tfrecord(tu_stream *s, size_t nrec)
{
	uint64_t state = 42;

	tu_stream_init(s);
	for (size_t i = 0; i < nrec; i++)
		tu_stream_add_random(s, pick_len(&state, i), 1000 + i, 0);
}

/* Whole records with multipart ones among them, some back to back, one at
 * the very start and one at the very end. */
static void
make_recordio(tu_rio *s, size_t nrec)
{
	uint64_t state = 7;

	tu_rio_init(s);
	for (size_t i = 0; i < nrec; i++) {
		size_t len = pick_len(&state, i);

		if (i == 0 || i == nrec - 1 || i % 9 == 4 || i % 9 == 5) {
			unsigned char *p = malloc(len + 40);
			size_t lens[4], np = 2 + i % 3, left;

			ck_assert_ptr_nonnull(p);
			len += 40; /* room for up to 4 non-empty parts */
			tu_fill(p, len, 5000 + i);
			left = len;
			for (size_t k = 0; k + 1 < np; k++) {
				lens[k] = 1 + (size_t)tu_rand(&state) %
						      (left / 2);
				left -= lens[k];
			}
			lens[np - 1] = left;
			tu_rio_add_parts(s, p, len, lens, np);
			free(p);
		} else {
			tu_rio_add_random(s, len, 3000 + i);
		}
	}
}

/* Text lines: printable bytes, empty lines among them, and (when
 * last_open) a last line without '\n'. */
static unsigned char *
make_lines(size_t nlines, int last_open, size_t *n)
{
	uint64_t state = 99;
	size_t cap = 64 * KiB, len = 0;
	unsigned char *p = malloc(cap);

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < nlines; i++) {
		size_t l = pick_len(&state, i);

		while (len + l + 1 > cap) {
			cap *= 2;
			p = realloc(p, cap);
			ck_assert_ptr_nonnull(p);
		}
		for (size_t k = 0; k < l; k++)
			p[len++] = (unsigned char)(' ' + tu_rand(&state) % 95);
		if (!(last_open && i == nlines - 1))
			p[len++] = '\n';
	}
	*n = len;
	return p;
}

/* ------------------------------------------------------------ reading */

static const char sentinel[1];

/* What reading a stream in batches saw. */
typedef struct bres {
	size_t n;            /* records */
	size_t batches;      /* OK batches */
	size_t biggest;      /* most records in one batch */
	int rc;              /* the final code */
	uint64_t index, offset;
	char errmsg[1024];
} bres;

/*
 * Check one batch that pipemode_next_batch returned OK with: n in
 * [1, max], every record what x says, a joined record only last.  Done
 * after the call, with every record of the batch collected.
 */
static void
check_batch_records(const pipemode_record *recs, size_t n, size_t max,
		    const xlist *x, size_t first)
{
	ck_assert_msg(n >= 1 && n <= max, "batch of %zu records (max %zu)", n,
		      max);
	ck_assert_msg(first + n <= x->n,
		      "%zu records after %zu, but the stream has %zu", n,
		      first, x->n);
	for (size_t i = 0; i < n; i++) {
		const xrec *w = &x->v[first + i];

		ck_assert_msg(recs[i].data != NULL &&
				      recs[i].data != (const void *)sentinel,
			      "record %zu: data %p", first + i, recs[i].data);
		ck_assert_msg(recs[i].len == w->len,
			      "record %zu (%zu of a batch of %zu): length %zu, "
			      "expected %zu",
			      first + i, i, n, recs[i].len, w->len);
		ck_assert_msg(w->len == 0 ||
				      memcmp(recs[i].data, w->p, w->len) == 0,
			      "record %zu (%zu of a batch of %zu, %zu bytes): "
			      "payload differs once the batch is collected",
			      first + i, i, n, w->len);
		ck_assert_msg(!w->joined || i == n - 1,
			      "record %zu was joined by the framer but is %zu "
			      "of a batch of %zu",
			      first + i, i, n);
	}
}

/* Call pipemode_next_batch, asserting what holds for every answer: *n is
 * 0 unless OK, and OK means at least one record. */
static int
batch(pipemode_reader *r, pipemode_record *recs, size_t max, size_t *n)
{
	int rc;

	for (size_t i = 0; i < max; i++) {
		recs[i].data = sentinel;
		recs[i].len = 12345;
	}
	*n = 54321;
	rc = pipemode_next_batch(r, recs, max, n);
	if (rc != PIPEMODE_OK)
		ck_assert_msg(*n == 0, "rc %d with n %zu", rc, *n);
	else
		ck_assert_msg(*n >= 1, "OK with n %zu", *n);
	return rc;
}

/*
 * Read r to its end in batches of at most max, checking each against x;
 * then check that the final code repeats, with n == 0, from next_batch and
 * from pipemode_next alike.  clean: errmsg must stay "" after each batch
 * (a batch that stops before an error may already carry its message);
 * clean < 0: errmsg is not looked at (after a misuse the message stays).
 */
static int
read_batches(pipemode_reader *r, size_t max, const xlist *x, int clean,
	     bres *res)
{
	pipemode_record *recs = malloc(max * sizeof(*recs));
	const void *data;
	size_t n, len;
	int rc;

	ck_assert_ptr_nonnull(recs);
	memset(res, 0, sizeof(*res));
	while ((rc = batch(r, recs, max, &n)) == PIPEMODE_OK) {
		check_batch_records(recs, n, max, x, res->n);
		if (clean > 0)
			ck_assert_str_eq(pipemode_errmsg(r), "");
		res->n += n;
		res->batches++;
		if (n > res->biggest)
			res->biggest = n;
	}
	res->rc = rc;
	res->index = pipemode_record_index(r);
	res->offset = pipemode_byte_offset(r);
	snprintf(res->errmsg, sizeof(res->errmsg), "%s", pipemode_errmsg(r));
	if (rc == PIPEMODE_EOF && clean >= 0)
		ck_assert_str_eq(res->errmsg, "");
	else if (rc != PIPEMODE_EOF)
		ck_assert_msg(res->errmsg[0] != '\0', "rc %d, empty errmsg",
			      rc);
	for (int k = 0; k < 2; k++) {
		ck_assert_int_eq(batch(r, recs, max, &n), rc);
		ck_assert_str_eq(pipemode_errmsg(r), res->errmsg);
		ck_assert_uint_eq(pipemode_record_index(r), res->index);
		ck_assert_uint_eq(pipemode_byte_offset(r), res->offset);
	}
	data = sentinel;
	len = 1;
	ck_assert_int_eq(pipemode_next(r, &data, &len), rc);
	ck_assert_ptr_null(data);
	ck_assert_uint_eq(len, 0);
	free(recs);
	return rc;
}

/* Read all of p[0..n) at chunk with options in batches of max; expect
 * every record of x and a clean end, with the counters to match. */
static bres
expect_all(const void *p, size_t n, size_t chunk, const char *options,
	   size_t max, const xlist *x)
{
	tu_src src;
	pipemode_reader *r;
	bres res;

	tu_src_init(&src, p, n, chunk);
	r = tu_open_src(&src, options);
	read_batches(r, max, x, 1, &res);
	ck_assert_msg(res.rc == PIPEMODE_EOF, "max %zu chunk %zu: rc %d: %s",
		      max, chunk, res.rc, res.errmsg);
	ck_assert_uint_eq(res.n, x->n);
	ck_assert_uint_eq(res.index, x->n);
	ck_assert_uint_eq(res.offset, n);
	tu_check_stats(r, x->n, x->payload, 0, n);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	return res;
}

/*
 * Read p[0..n) with pipemode_next and in batches of every size; the
 * batches must give the same records, then the same code, index, offset
 * and message.  Returns the code.
 */
static int
expect_same_as_next(const void *p, size_t n, size_t chunk,
		    const char *options, const xlist *x)
{
	tu_src src;
	pipemode_reader *r;
	tu_result want;
	int rc;

	tu_src_init(&src, p, n, chunk);
	r = tu_open_src(&src, options);
	tu_read_all(r, &want);
	pipemode_close(r);
	ck_assert_uint_le(want.n, x->n);
	for (size_t i = 0; i < want.n; i++) {
		ck_assert_uint_eq(want.v[i].len, x->v[i].len);
		ck_assert(want.v[i].len == 0 ||
			  memcmp(want.v[i].data, x->v[i].p, x->v[i].len) == 0);
	}
	for (int m = 0; m < NMAXES; m++) {
		bres got;

		tu_src_init(&src, p, n, chunk);
		r = tu_open_src(&src, options);
		read_batches(r, maxes[m], x, 0, &got);
		ck_assert_msg(got.n == want.n,
			      "max %zu: %zu records, pipemode_next gave %zu",
			      maxes[m], got.n, want.n);
		ck_assert_msg(got.rc == want.rc,
			      "max %zu: rc %s, pipemode_next gave %s",
			      maxes[m], pipemode_code_name(got.rc),
			      pipemode_code_name(want.rc));
		ck_assert_uint_eq(got.index, want.index);
		ck_assert_uint_eq(got.offset, want.offset);
		ck_assert_str_eq(got.errmsg, want.errmsg);
		pipemode_close(r);
	}
	rc = want.rc;
	tu_result_free(&want);
	return rc;
}

/* ------------------------------------------------------------ all records */

#define NREC 400

START_TEST(test_tfrecord_batches_give_every_record_once_in_order)
{
	tu_stream s;
	xlist x;

	make_tfrecord(&s, NREC);
	x_from_tfrecord(&x, &s, 0);
	for (int m = 0; m < NMAXES; m++) {
		bres b = expect_all(s.p, s.len, TU_CHUNK,
				    "format=tfrecord,buffer_size=4K", maxes[m],
				    &x);

		if (maxes[m] > 1 && TU_CHUNK == TU_WHOLE)
			ck_assert_msg(b.biggest > 1,
				      "max %zu, whole stream: no batch held "
				      "more than one record",
				      maxes[m]);
	}
	/* The default buffer: batches hold many records. */
	for (int m = 0; m < NMAXES; m++)
		expect_all(s.p, s.len, TU_CHUNK, NULL, maxes[m], &x);
	x_free(&x);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_recordio_batch_ends_after_a_joined_record)
{
	tu_rio s;
	xlist x;
	size_t joined = 0;

	make_recordio(&s, NREC);
	x_from_recordio(&x, &s);
	for (size_t i = 0; i < x.n; i++)
		joined += x.v[i].joined;
	ck_assert_uint_gt(joined, 50);
	for (int m = 0; m < NMAXES; m++) {
		expect_all(s.p, s.len, TU_CHUNK,
			   "format=recordio,buffer_size=4K", maxes[m], &x);
		expect_all(s.p, s.len, TU_CHUNK, "format=RecordIO", maxes[m],
			   &x);
	}
	x_free(&x);
	tu_rio_free(&s);
}
END_TEST

START_TEST(test_lines_batches_give_every_line)
{
	for (int last_open = 0; last_open < 2; last_open++) {
		size_t n;
		unsigned char *p = make_lines(NREC, last_open, &n);
		xlist x;

		x_from_lines(&x, p, n);
		ck_assert_uint_eq(x.n, NREC);
		for (int m = 0; m < NMAXES; m++) {
			expect_all(p, n, TU_CHUNK, "format=lines,buffer_size=4K",
				   maxes[m], &x);
			expect_all(p, n, TU_CHUNK, "format=TextLine", maxes[m],
				   &x);
		}
		x_free(&x);
		free(p);
	}
}
END_TEST

START_TEST(test_batches_under_format_auto)
{
	tu_stream s;
	tu_rio rio;
	xlist x;

	make_tfrecord(&s, 100);
	x_from_tfrecord(&x, &s, 0);
	for (int m = 0; m < NMAXES; m++)
		expect_all(s.p, s.len, TU_CHUNK, "format=auto", maxes[m], &x);
	x_free(&x);
	tu_stream_free(&s);

	make_recordio(&rio, 100);
	x_from_recordio(&x, &rio);
	for (int m = 0; m < NMAXES; m++)
		expect_all(rio.p, rio.len, TU_CHUNK, "format=auto", maxes[m],
			   &x);
	x_free(&x);
	tu_rio_free(&rio);
}
END_TEST

START_TEST(test_batches_with_timing_count_like_next)
{
	tu_stream s;
	xlist x;
	tu_src src;
	pipemode_reader *r;
	bres res;

	make_tfrecord(&s, 100);
	x_from_tfrecord(&x, &s, 0);
	tu_src_init(&src, s.p, s.len, TU_CHUNK);
	r = tu_open_src(&src, "timing=1");
	read_batches(r, 64, &x, 1, &res);
	ck_assert_int_eq(res.rc, PIPEMODE_EOF);
	tu_check_stats(r, x.n, x.payload, 0, s.len);
	pipemode_close(r);
	x_free(&x);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_mixing_next_and_next_batch)
{
	tu_rio s;
	xlist x;
	tu_src src;
	pipemode_reader *r;
	pipemode_record recs[64];
	size_t got = 0, step = 0;
	int rc;

	make_recordio(&s, NREC);
	x_from_recordio(&x, &s);
	tu_src_init(&src, s.p, s.len, TU_CHUNK);
	r = tu_open_src(&src, "format=recordio,buffer_size=4K");
	for (;; step++) {
		if (step % 3 == 1) {
			const void *data = sentinel;
			size_t len = 12345;

			rc = pipemode_next(r, &data, &len);
			if (rc != PIPEMODE_OK)
				break;
			ck_assert_uint_lt(got, x.n);
			ck_assert_uint_eq(len, x.v[got].len);
			ck_assert(len == 0 ||
				  memcmp(data, x.v[got].p, len) == 0);
			ck_assert_uint_eq(pipemode_record_index(r), got);
			ck_assert_uint_eq(pipemode_byte_offset(r),
					  x.v[got].offset);
			got++;
		} else {
			size_t max = step % 3 == 0 ? 7 : 64, n;

			rc = batch(r, recs, max, &n);
			if (rc != PIPEMODE_OK)
				break;
			check_batch_records(recs, n, max, &x, got);
			got += n;
		}
	}
	ck_assert_int_eq(rc, PIPEMODE_EOF);
	ck_assert_uint_eq(got, x.n);
	ck_assert_uint_ge(step, 3);
	tu_check_stats(r, x.n, x.payload, 0, s.len);
	pipemode_close(r);
	x_free(&x);
	tu_rio_free(&s);
}
END_TEST

/* ------------------------------------------------------------ the end */

START_TEST(test_empty_stream_is_eof_with_n_0_and_repeats)
{
	static const char *const formats[] = {
		"format=tfrecord", "format=recordio", "format=lines",
		"format=auto", "compression=auto"};
	xlist x;

	memset(&x, 0, sizeof(x));
	for (int f = 0; f < NELEM(formats); f++) {
		tu_src src;
		pipemode_reader *r;
		bres res;

		tu_src_init(&src, "", 0, TU_CHUNK);
		r = tu_open_src(&src, formats[f]);
		ck_assert_int_eq(read_batches(r, 7, &x, 1, &res),
				 PIPEMODE_EOF);
		ck_assert_uint_eq(res.n, 0);
		ck_assert_uint_eq(res.index, 0);
		ck_assert_uint_eq(res.offset, 0);
		pipemode_close(r);
	}
}
END_TEST

START_TEST(test_eof_after_the_last_batch_repeats)
{
	tu_stream s;
	xlist x;
	tu_src src;
	pipemode_reader *r;
	pipemode_record recs[1000];
	size_t n, got = 0;

	make_tfrecord(&s, 10);
	x_from_tfrecord(&x, &s, 0);
	tu_src_init(&src, s.p, s.len, TU_CHUNK);
	r = tu_open_src(&src, NULL);
	while (batch(r, recs, 1000, &n) == PIPEMODE_OK) {
		check_batch_records(recs, n, 1000, &x, got);
		got += n;
	}
	ck_assert_uint_eq(got, x.n);
	for (int k = 0; k < 5; k++) {
		ck_assert_int_eq(batch(r, recs, 1000, &n), PIPEMODE_EOF);
		ck_assert_int_eq(batch(r, recs, 1, &n), PIPEMODE_EOF);
		ck_assert_str_eq(pipemode_errmsg(r), "");
	}
	ck_assert_uint_eq(pipemode_record_index(r), x.n);
	ck_assert_uint_eq(pipemode_byte_offset(r), s.len);
	pipemode_close(r);
	x_free(&x);
	tu_stream_free(&s);
}
END_TEST

/* ------------------------------------------------------------ errors */

/* A TFRecord stream of 30 records with record bad (flags) at 17. */
static void
make_bad_tfrecord(tu_stream *s, unsigned flags)
{
	tu_stream_init(s);
	for (size_t i = 0; i < 30; i++)
		tu_stream_add_random(s, 10 + i * 7, 77 + i, i == 17 ? flags : 0);
}

START_TEST(test_crc_error_after_records_comes_after_them)
{
	tu_stream s;
	xlist x;

	make_bad_tfrecord(&s, TU_BAD_DATA_CRC);
	x_from_tfrecord(&x, &s, 0);
	ck_assert_int_eq(expect_same_as_next(s.p, s.len, TU_CHUNK, NULL, &x),
			 PIPEMODE_ECRC);
	x_free(&x);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_corrupt_length_after_records_comes_after_them)
{
	tu_stream s;
	xlist x;

	make_bad_tfrecord(&s, TU_BAD_LEN_CRC);
	x_from_tfrecord(&x, &s, 0);
	ck_assert_int_eq(expect_same_as_next(s.p, s.len, TU_CHUNK, NULL, &x),
			 PIPEMODE_ECORRUPT);
	x_free(&x);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_truncation_after_records_comes_after_them)
{
	tu_stream s;
	xlist x;

	make_bad_tfrecord(&s, 0);
	x_from_tfrecord(&x, &s, 0);
	/* cut inside the last record's payload, then inside its header */
	ck_assert_int_eq(expect_same_as_next(s.p, s.len - 20, TU_CHUNK, NULL,
					     &x),
			 PIPEMODE_ETRUNCATED);
	ck_assert_int_eq(expect_same_as_next(s.p, s.rec[29].offset + 5,
					     TU_CHUNK, NULL, &x),
			 PIPEMODE_ETRUNCATED);
	x_free(&x);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_too_big_after_records_comes_after_them)
{
	tu_stream s;
	xlist x;

	make_bad_tfrecord(&s, 0);
	x_from_tfrecord(&x, &s, 0);
	/* record 21 (157 bytes) is the first longer than 150 */
	ck_assert_int_eq(expect_same_as_next(s.p, s.len, TU_CHUNK,
					     "max_record_size=150", &x),
			 PIPEMODE_ETOOBIG);
	x_free(&x);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_recordio_errors_come_after_the_records)
{
	tu_rio s;
	xlist x;
	static const unsigned char junk[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	static const unsigned char part[5] = {'p', 'a', 'r', 't', '!'};

	/* bad magic after records */
	make_recordio(&s, 40);
	x_from_recordio(&x, &s);
	tu_rio_raw(&s, junk, sizeof(junk));
	ck_assert_int_eq(expect_same_as_next(s.p, s.len, TU_CHUNK,
					     "format=recordio", &x),
			 PIPEMODE_ECORRUPT);
	x_free(&x);
	tu_rio_free(&s);

	/* the end inside an open multipart record */
	make_recordio(&s, 40);
	x_from_recordio(&x, &s);
	tu_rio_part(&s, TU_RIO_FIRST, part, sizeof(part));
	ck_assert_int_eq(expect_same_as_next(s.p, s.len, TU_CHUNK,
					     "format=recordio", &x),
			 PIPEMODE_ETRUNCATED);
	x_free(&x);
	tu_rio_free(&s);
}
END_TEST

START_TEST(test_read_error_after_records_comes_after_them)
{
	tu_stream s;
	xlist x;
	tu_src src;
	pipemode_reader *r;
	bres res;

	make_bad_tfrecord(&s, 0);
	x_from_tfrecord(&x, &s, 0);
	for (int m = 0; m < NMAXES; m++) {
		tu_src_init(&src, s.p, s.len, TU_CHUNK);
		src.fail_at = s.rec[12].offset + 3;
		r = tu_open_src(&src, NULL);
		ck_assert_int_eq(read_batches(r, maxes[m], &x, 0, &res),
				 PIPEMODE_EIO);
		ck_assert_uint_eq(res.n, 12);
		ck_assert_uint_eq(res.index, 12);
		ck_assert_uint_eq(res.offset, s.rec[12].offset);
		pipemode_close(r);
	}
	x_free(&x);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_skip_corrupt_in_batches_skips_like_next)
{
	tu_stream s;
	xlist x;
	bres res;
	tu_src src;
	pipemode_reader *r;

	tu_stream_init(&s);
	for (size_t i = 0; i < 60; i++)
		tu_stream_add_random(&s, 5 + i, 500 + i,
				     (i == 3 || i == 4 || i == 40) ?
					     TU_BAD_DATA_CRC :
					     0);
	x_from_tfrecord(&x, &s, 1);
	ck_assert_int_eq(expect_same_as_next(s.p, s.len, TU_CHUNK,
					     "skip_corrupt=2", &x),
			 PIPEMODE_EOF);
	for (int m = 0; m < NMAXES; m++) {
		tu_src_init(&src, s.p, s.len, TU_CHUNK);
		r = tu_open_src(&src, "skip_corrupt=2");
		read_batches(r, maxes[m], &x, 1, &res);
		ck_assert_uint_eq(res.n, 57);
		tu_check_stats(r, 57, x.payload, 3, s.len);
		pipemode_close(r);
	}
	/* one too many in a row */
	ck_assert_int_eq(expect_same_as_next(s.p, s.len, TU_CHUNK,
					     "skip_corrupt=1", &x),
			 PIPEMODE_ECRC);
	x_free(&x);
	tu_stream_free(&s);
}
END_TEST

/* ------------------------------------------------------------ misuse */

START_TEST(test_null_records_or_n_or_max_0_is_einval)
{
	tu_stream s;
	xlist x;
	tu_src src;
	pipemode_reader *r;
	pipemode_record recs[4];
	size_t n;
	bres res;

	make_tfrecord(&s, 20);
	x_from_tfrecord(&x, &s, 0);
	tu_src_init(&src, s.p, s.len, TU_CHUNK);
	r = tu_open_src(&src, NULL);

	n = 99;
	ck_assert_int_eq(pipemode_next_batch(r, NULL, 4, &n), PIPEMODE_EINVAL);
	ck_assert_uint_eq(n, 0);
	ck_assert(tu_contains(pipemode_errmsg(r), "NULL"));
	ck_assert_int_eq(pipemode_next_batch(r, recs, 4, NULL),
			 PIPEMODE_EINVAL);
	n = 99;
	ck_assert_int_eq(pipemode_next_batch(r, recs, 0, &n), PIPEMODE_EINVAL);
	ck_assert_uint_eq(n, 0);
	ck_assert(tu_contains(pipemode_errmsg(r), "max"));
	n = 99;
	ck_assert_int_eq(pipemode_next_batch(NULL, recs, 4, &n),
			 PIPEMODE_EINVAL);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(pipemode_next_batch(NULL, NULL, 0, NULL),
			 PIPEMODE_EINVAL);

	/* Misuse reads nothing: every record is still there.  (The misuse
	 * message outlives later successful calls, as with pipemode_next, so
	 * errmsg is left alone here.) */
	ck_assert_uint_eq(pipemode_record_index(r), 0);
	read_batches(r, 4, &x, -1, &res);
	ck_assert_int_eq(res.rc, PIPEMODE_EOF);
	ck_assert_uint_eq(res.n, x.n);
	pipemode_close(r);
	x_free(&x);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_next_batch_after_failed_open_is_estate)
{
	pipemode_reader *r = NULL;
	pipemode_record recs[4];
	size_t n;
	char path[4096];
	tu_src src;

	tu_tmppath(path, sizeof(path), "no-such-file");
	ck_assert_int_eq(pipemode_open_path(&r, path, NULL), PIPEMODE_EIO);
	ck_assert_ptr_nonnull(r);
	for (int k = 0; k < 3; k++) {
		n = 99;
		ck_assert_int_eq(pipemode_next_batch(r, recs, 4, &n),
				 PIPEMODE_ESTATE);
		ck_assert_uint_eq(n, 0);
	}
	pipemode_close(r);

	tu_src_init(&src, "", 0, 1);
	r = NULL;
	ck_assert_int_eq(pipemode_open_callback(&r, tu_src_read, &src,
						"no_such_option=1"),
			 PIPEMODE_EOPTION);
	ck_assert_ptr_nonnull(r);
	n = 99;
	ck_assert_int_eq(pipemode_next_batch(r, recs, 4, &n), PIPEMODE_ESTATE);
	ck_assert_uint_eq(n, 0);
	ck_assert(tu_contains(pipemode_errmsg(r), "no_such_option"));
	pipemode_close(r);
}
END_TEST

/* ------------------------------------------------------------ sources */

/* Write x's records with the library's writer to path (options: the
 * writer's), so that compressed streams come from the writer. */
static void
write_records(const char *path, const char *options, const xlist *x)
{
	pipemode_writer *w = NULL;

	ck_assert_int_eq(pipemode_writer_open_path(&w, path, options),
			 PIPEMODE_OK);
	for (size_t i = 0; i < x->n; i++)
		ck_assert_int_eq(pipemode_write(w, x->v[i].p, x->v[i].len),
				 PIPEMODE_OK);
	ck_assert_int_eq(pipemode_writer_close(w), PIPEMODE_OK);
}

START_TEST(test_batches_of_compressed_streams)
{
	static const char *const compressions[] = {"gzip", "zlib"};
	tu_stream s;
	xlist x;
	char path[4096], wopt[64], ropt[64];

	make_tfrecord(&s, 150);
	x_from_tfrecord(&x, &s, 0);
	for (int c = 0; c < NELEM(compressions); c++) {
		unsigned char *p;
		size_t n;

		tu_tmppath(path, sizeof(path), compressions[c]);
		snprintf(wopt, sizeof(wopt), "compression=%s", compressions[c]);
		write_records(path, wopt, &x);
		p = tu_read_file(path, &n);
		for (int m = 0; m < NMAXES; m++) {
			tu_src src;
			pipemode_reader *r;
			bres res;

			for (int a = 0; a < 2; a++) {
				snprintf(ropt, sizeof(ropt),
					 "compression=%s,buffer_size=4K",
					 a ? "auto" : compressions[c]);
				tu_src_init(&src, p, n, TU_CHUNK);
				r = tu_open_src(&src, ropt);
				read_batches(r, maxes[m], &x, 1, &res);
				ck_assert_msg(res.rc == PIPEMODE_EOF, "%s: %s",
					      ropt, res.errmsg);
				ck_assert_uint_eq(res.n, x.n);
				pipemode_close(r);
			}
		}
		free(p);
	}
	x_free(&x);
	tu_stream_free(&s);
}
END_TEST

/* File mode: one pass over the files of <pipe_dir>/<channel>/, an empty
 * one among them; the batches cross from file to file. */
START_TEST(test_batches_cross_files_in_file_mode)
{
	static const char *const files[] = {"a", "b/c", "c0", "d"};
	static const size_t counts[] = {30, 25, 0, 40};
	tu_stream s[NELEM(files)];
	xlist x;
	char dir[4096], path[4096], opts[12288];

	memset(&x, 0, sizeof(x));
	tu_tmppath(dir, sizeof(dir), "fm");
	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/chan", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/chan/b", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	for (int f = 0; f < NELEM(files); f++) {
		tu_stream_init(&s[f]);
		for (size_t i = 0; i < counts[f]; i++)
			tu_stream_add_random(&s[f], (i * 37) % 200,
					     f * 1000 + i, 0);
		for (size_t i = 0; i < counts[f]; i++)
			x_add(&x, tu_stream_payload(&s[f], i), s[f].rec[i].len,
			      s[f].rec[i].offset, 0);
		snprintf(path, sizeof(path), "%s/chan/%s", dir, files[f]);
		tu_write_file(path, s[f].p, s[f].len);
	}
	snprintf(opts, sizeof(opts),
		 "pipe_dir=%s,state_dir=%s/state,config_dir=%s/none,epoch=0",
		 dir, dir, dir);
	for (int m = 0; m < NMAXES; m++) {
		pipemode_reader *r = NULL;
		bres res;
		int rc = pipemode_open(&r, "chan", opts);

		ck_assert_msg(rc == PIPEMODE_OK, "%s", pipemode_errmsg(r));
		read_batches(r, maxes[m], &x, 1, &res);
		ck_assert_msg(res.rc == PIPEMODE_EOF, "%s", res.errmsg);
		ck_assert_uint_eq(res.n, x.n);
		ck_assert_uint_ge(res.batches, 3);
		pipemode_close(r);
	}
	for (int f = 0; f < NELEM(files); f++)
		tu_stream_free(&s[f]);
	x_free(&x);
}
END_TEST

/* ------------------------------------------------------------ suite */

static Suite *
batch_suite(void)
{
	Suite *s = suite_create("batch");
	TCase *tc;

	tc = tcase_create("records");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc,
			    test_tfrecord_batches_give_every_record_once_in_order,
			    0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_recordio_batch_ends_after_a_joined_record,
			    0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_lines_batches_give_every_line, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_batches_under_format_auto, 0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_batches_with_timing_count_like_next, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_mixing_next_and_next_batch, 0,
			    TU_NCHUNKS);
	suite_add_tcase(s, tc);

	tc = tcase_create("end");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_empty_stream_is_eof_with_n_0_and_repeats,
			    0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_eof_after_the_last_batch_repeats, 0,
			    TU_NCHUNKS);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_crc_error_after_records_comes_after_them,
			    0, TU_NCHUNKS);
	tcase_add_loop_test(tc,
			    test_corrupt_length_after_records_comes_after_them,
			    0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_truncation_after_records_comes_after_them,
			    0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_too_big_after_records_comes_after_them, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_recordio_errors_come_after_the_records, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_read_error_after_records_comes_after_them,
			    0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_skip_corrupt_in_batches_skips_like_next,
			    0, TU_NCHUNKS);
	suite_add_tcase(s, tc);

	tc = tcase_create("misuse");
	tcase_set_timeout(tc, 30);
	tcase_add_unchecked_fixture(tc, tu_tmpdir_setup, tu_tmpdir_teardown);
	tcase_add_loop_test(tc, test_null_records_or_n_or_max_0_is_einval, 0,
			    TU_NCHUNKS);
	tcase_add_test(tc, test_next_batch_after_failed_open_is_estate);
	suite_add_tcase(s, tc);

	tc = tcase_create("sources");
	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, tu_tmpdir_setup, tu_tmpdir_teardown);
	tcase_add_test(tc, test_batches_cross_files_in_file_mode);
	suite_add_tcase(s, tc);

	tc = tcase_create("compressed");
	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, tu_tmpdir_setup, tu_tmpdir_teardown);
	/* 4 KiB buffers over ISA-L's inflate took a quarter of an hour
	 * under valgrind; check_compression runs the same inflate code
	 * there.  make check and the sanitizer build run it. */
	tcase_set_tags(tc, "slow");
	tcase_add_loop_test(tc, test_batches_of_compressed_streams, 0,
			    TU_NCHUNKS);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(batch_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
