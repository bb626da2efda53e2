/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The gzip and zlib filters through the public API.  TFRecord, RecordIO and
 * text-line streams are built in memory (the framing written here from the
 * formats, not by the library), compressed by zlib in this file, by gzip
 * headers built by hand (every header flag), by Python's gzip module and by
 * the gzip program, and read with compression=gzip, zlib and auto in chunks
 * of 1, 7, 4096 bytes and whole.
 *
 * Record offsets are those of the uncompressed stream (what the framer
 * sees); stats.bytes_read counts compressed bytes taken from the source.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zlib.h>

#include "config.h"
#include "testutil.h"

/* Which inflate the library was built with: the tests are the same for
 * both, which pins ISA-L's behaviour to zlib's. */
#ifdef HAVE_ISAL_INFLATE
#define PM_ISAL_INFLATE 1
#else
#define PM_ISAL_INFLATE 0
#endif

#define KiB ((size_t)1024)
#define MiB (1024 * KiB)
#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ------------------------------------------------------------ byte buffers */

static void
zb_byte(tu_buf *b, unsigned v)
{
	unsigned char c = (unsigned char)v;
	tu_buf_add(b, &c, 1);
}

static void
zb_le32(tu_buf *b, uint32_t v)
{
	unsigned char t[4];
	tu_put_le32(t, v);
	tu_buf_add(b, t, 4);
}

/* ------------------------------------------------------------ models */

/* An uncompressed stream and the records a reader must return from it. */
typedef struct xrec {
	size_t pay;   /* offset of the payload in model.pay */
	size_t len;
	uint64_t off; /* of the record's framing in model.raw */
} xrec;

typedef struct model {
	const char *format; /* for format= */
	tu_buf raw, pay;
	xrec *rec;
	size_t nrec, cap;
} model;

static void
model_note(model *m, const void *p, size_t n, uint64_t off)
{
	if (m->nrec == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 32;
		m->rec = realloc(m->rec, m->cap * sizeof(*m->rec));
		ck_assert_ptr_nonnull(m->rec);
	}
	m->rec[m->nrec].pay = m->pay.len;
	m->rec[m->nrec].len = n;
	m->rec[m->nrec].off = off;
	m->nrec++;
	tu_buf_add(&m->pay, p, n);
}

static void
add_tfrecord(model *m, const void *p, size_t n)
{
	unsigned char h[12];
	uint64_t off = m->raw.len;

	tu_put_le64(h, n);
	tu_put_le32(h + 8, tu_masked_crc(h, 8));
	tu_buf_add(&m->raw, h, 12);
	tu_buf_add(&m->raw, p, n);
	zb_le32(&m->raw, tu_masked_crc(p, n));
	model_note(m, p, n, off);
}

static void
add_recordio(model *m, const void *p, size_t n)
{
	static const unsigned char zeros[4];
	uint64_t off = m->raw.len;

	zb_le32(&m->raw, 0xced7230au);
	zb_le32(&m->raw, (uint32_t)n); /* flag 0: a whole record */
	tu_buf_add(&m->raw, p, n);
	tu_buf_add(&m->raw, zeros, (4 - n % 4) % 4);
	model_note(m, p, n, off);
}

static void
add_line(model *m, const void *p, size_t n)
{
	uint64_t off = m->raw.len;

	tu_buf_add(&m->raw, p, n);
	zb_byte(&m->raw, '\n');
	model_note(m, p, n, off);
}

static void
add_record(model *m, const void *p, size_t n)
{
	if (strcmp(m->format, "tfrecord") == 0)
		add_tfrecord(m, p, n);
	else if (strcmp(m->format, "recordio") == 0)
		add_recordio(m, p, n);
	else
		add_line(m, p, n);
}

static void
model_free(model *m)
{
	tu_buf_free(&m->raw);
	tu_buf_free(&m->pay);
	free(m->rec);
	memset(m, 0, sizeof(*m));
}

static const char *const formats[] = {"tfrecord", "recordio", "lines"};
#define NFORMATS 3

/*
 * A compressible sample in format: text-like records of varied lengths
 * (some empty; record 7, when there is one, of 70 KB, larger than a 64 KB
 * buffer of zlib's), nrec of them.  Lines hold no '\n'.  Tests that read
 * every cut or every flipped byte of the compressed stream keep to 7
 * records, so that they stay quick at a chunk of 1 byte.
 */
static void
model_sample(model *m, const char *format, int nrec)
{
	uint64_t rng = 12345;
	char *tmp = malloc(80 * KiB);

	ck_assert_ptr_nonnull(tmp);
	memset(m, 0, sizeof(*m));
	m->format = format;
	for (int i = 0; i < nrec; i++) {
		size_t len = i == 7 ? 70000 : (size_t)(tu_rand(&rng) % 300);
		if (i % 11 == 3)
			len = 0;
		for (size_t k = 0; k < len; k++) {
			static const char words[] =
				"pipe mode streams records, zero-copy; ";
			tmp[k] = (tu_rand(&rng) % 5 == 0)
					 ? (char)('0' + tu_rand(&rng) % 10)
					 : words[(k + (size_t)i) %
						 (sizeof(words) - 1)];
		}
		add_record(m, tmp, len);
	}
	free(tmp);
}

/* Options selecting the model's format plus extra. */
static const char *
opts(const model *m, const char *extra)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "format=%s%s%s", m->format,
		 extra[0] ? "," : "", extra);
	return buf;
}

/*
 * Assert that res starts with the model's records (all of them when
 * complete), bytes, indices and offsets.
 */
static void
check_model(const tu_result *res, const model *m, int complete)
{
	ck_assert_msg(res->n <= m->nrec, "%zu records from a stream of %zu",
		      res->n, m->nrec);
	for (size_t i = 0; i < res->n; i++) {
		const tu_got *g = &res->v[i];
		const xrec *x = &m->rec[i];

		ck_assert_msg(g->len == x->len && (g->len == 0 ||
			      memcmp(g->data, m->pay.p + x->pay, g->len) == 0),
			      "%s record %zu differs (%zu bytes, expected %zu)",
			      m->format, i, g->len, x->len);
		ck_assert_msg(g->index == i, "record %zu: index %llu", i,
			      (unsigned long long)g->index);
		ck_assert_msg(g->offset == x->off,
			      "record %zu: offset %llu, expected %llu", i,
			      (unsigned long long)g->offset,
			      (unsigned long long)x->off);
	}
	if (complete)
		ck_assert_msg(res->n == m->nrec,
			      "got %zu of %zu records (rc %d: %s)", res->n,
			      m->nrec, res->rc, res->errmsg);
}

/* The compressed bytes read back as every record of m, to a clean EOF,
 * every compressed byte taken. */
static void
expect_model(const void *z, size_t zlen, const model *m, size_t chunk,
	     const char *extra)
{
	tu_result res;
	pipemode_stats st = tu_read_mem(z, zlen, chunk, opts(m, extra), &res);

	ck_assert_msg(res.rc == PIPEMODE_EOF, "%s, %s, chunk %zu: rc %d: %s",
		      m->format, extra, chunk, res.rc, res.errmsg);
	check_model(&res, m, 1);
	ck_assert_uint_eq(st.records, m->nrec);
	ck_assert_uint_eq(st.payload_bytes, m->pay.len);
	ck_assert_uint_eq(st.bytes_read, zlen);
	ck_assert_uint_eq(res.offset, m->raw.len);
	tu_result_free(&res);
}

/* Whether msg holds n in decimal, not as part of a longer number. */
static int
has_number(const char *msg, unsigned long long n)
{
	char num[32];
	size_t k;
	const char *s;

	snprintf(num, sizeof(num), "%llu", n);
	k = strlen(num);
	for (s = strstr(msg, num); s != NULL; s = strstr(s + 1, num)) {
		int before = s > msg && s[-1] >= '0' && s[-1] <= '9';
		int after = s[k] >= '0' && s[k] <= '9';
		if (!before && !after)
			return 1;
	}
	return 0;
}

/* Whether msg speaks of the compressed stream itself ("compressed" not as
 * part of "uncompressed"). */
static int
names_compressed(const char *msg)
{
	const char *s;

	for (s = strstr(msg, "compressed"); s != NULL;
	     s = strstr(s + 1, "compressed"))
		if (s - msg < 2 || strncmp(s - 2, "un", 2) != 0)
			return 1;
	return 0;
}

/* ------------------------------------------------------------ zlib's word */

/*
 * What zlib's inflate() says of the whole of z[0..n) read as the library
 * reads it (gzip: members back to back, nothing else after the last one):
 * the PIPEMODE code, and for an error the compressed and uncompressed
 * offsets, zlib's message and every byte inflated before the error (into
 * out).  The library must say the same whichever inflate it was built
 * with: these pin ISA-L's to zlib's.
 */
typedef struct zref {
	int rc;                 /* PIPEMODE_EOF, _ETRUNCATED or _ECORRUPT */
	uint64_t in_off, out_off;
	char what[64];          /* zlib's msg; "" for truncation or EOF */
} zref;

static void
zlib_reference(const unsigned char *z, size_t n, int gzip, tu_buf *out,
	       zref *ref)
{
	z_stream zs;
	uint64_t in_base = 0, out_base = 0;
	int zrc;

	memset(ref, 0, sizeof(*ref));
	memset(&zs, 0, sizeof(zs));
	ck_assert_int_eq(inflateInit2(&zs, gzip ? 15 + 16 : 15), Z_OK);
	zs.next_in = (Bytef *)(uintptr_t)z;
	zs.avail_in = (uInt)n;
	for (;;) {
		uLong before_out = zs.total_out, before_in = zs.total_in;

		tu_buf_reserve(out, 64 * KiB);
		zs.next_out = out->p + out->len;
		zs.avail_out = (uInt)(out->cap - out->len);
		zrc = inflate(&zs, Z_NO_FLUSH);
		out->len = out->cap - zs.avail_out;
		ref->in_off = in_base + zs.total_in;
		ref->out_off = out_base + zs.total_out;
		if (zrc == Z_STREAM_END) {
			if (zs.avail_in == 0) {
				ref->rc = PIPEMODE_EOF;
				break;
			}
			if (!gzip || zs.next_in[0] != 0x1f) {
				ref->rc = PIPEMODE_ECORRUPT;
				snprintf(ref->what, sizeof(ref->what),
					 "unexpected data");
				break;
			}
			in_base += zs.total_in;
			out_base += zs.total_out;
			ck_assert_int_eq(inflateReset(&zs), Z_OK);
			continue;
		}
		if (zrc == Z_OK || (zrc == Z_BUF_ERROR &&
				    (zs.total_out != before_out ||
				     zs.total_in != before_in)))
			continue;
		if (zrc == Z_BUF_ERROR && zs.avail_in == 0) {
			ref->rc = PIPEMODE_ETRUNCATED;
			break;
		}
		ref->rc = PIPEMODE_ECORRUPT;
		if (zrc == Z_NEED_DICT) /* inflate() did not count them */
			ref->in_off = (uint64_t)(zs.next_in - z);
		snprintf(ref->what, sizeof(ref->what), "%s",
			 zrc == Z_NEED_DICT ? "preset dictionary"
			 : zs.msg != NULL   ? zs.msg
					    : "?");
		break;
	}
	inflateEnd(&zs);
}

/* The number after "word byte " in msg, or -1. */
static long long
number_after(const char *msg, const char *word)
{
	char key[64];
	const char *s;

	snprintf(key, sizeof(key), "%s byte ", word);
	for (s = strstr(msg, key); s != NULL; s = strstr(s + 1, key))
		if (strcmp(word, "compressed") != 0 || s - msg < 2 ||
		    strncmp(s - 2, "un", 2) != 0)
			return strtoll(s + strlen(key), NULL, 10);
	return -1;
}

/*
 * Read z[0..n) as lines (a framer that never fails, so every error is the
 * filter's) and assert what zlib says: the same code, the lines zlib
 * inflated before the error, and for an error of the filter the same
 * compressed and uncompressed offsets.  exact_body: also when the error is
 * in the deflate data itself (ISA-L may catch that later than zlib: see
 * lib/filter_isal.c).  Returns the reference's code.
 */
static int
expect_as_zlib(const unsigned char *z, size_t n, int gzip, size_t chunk,
	       int exact_body)
{
	tu_buf out = {0};
	zref ref;
	tu_result res;
	size_t lines = 0, k;
	int wrapper;

	zlib_reference(z, n, gzip, &out, &ref);
	for (k = 0; k < out.len; k++)
		lines += out.p[k] == '\n';
	tu_read_mem(z, n, chunk,
		    gzip ? "format=lines,compression=gzip,max_record_size=64M"
			 : "format=lines,compression=zlib,max_record_size=64M",
		    &res);
	/* the errors of the wrapper, and truncation, are read here as zlib
	 * reads them */
	wrapper = ref.rc != PIPEMODE_ECORRUPT ||
		  strstr(ref.what, "header") != NULL ||
		  strstr(ref.what, "check") != NULL ||
		  strstr(ref.what, "unknown") != NULL ||
		  strstr(ref.what, "window size") != NULL ||
		  strstr(ref.what, "dictionary") != NULL ||
		  strstr(ref.what, "unexpected") != NULL;
	if (wrapper || exact_body) {
		ck_assert_msg(res.rc == ref.rc ||
				      (ref.rc == PIPEMODE_EOF && lines == 0 &&
				       res.rc == PIPEMODE_EOF),
			      "%zu bytes, chunk %zu: rc %d (%s), zlib says %d "
			      "(%s at %llu/%llu)",
			      n, chunk, res.rc, res.errmsg, ref.rc, ref.what,
			      (unsigned long long)ref.in_off,
			      (unsigned long long)ref.out_off);
		/* every line before the error, none after */
		ck_assert_msg(res.n == lines ||
				      (ref.rc == PIPEMODE_EOF &&
				       res.n == lines + (out.len > 0 &&
							 out.p[out.len - 1] !=
								 '\n')) ||
				      (ref.rc == PIPEMODE_ETRUNCATED &&
				       res.rc == PIPEMODE_ETRUNCATED &&
				       res.n == lines),
			      "%zu bytes, chunk %zu: %zu lines, zlib %zu (%s)",
			      n, chunk, res.n, lines, res.errmsg);
		if (ref.rc != PIPEMODE_EOF && res.rc == ref.rc &&
		    strstr(res.errmsg, ": lines:") == NULL) {
			ck_assert_msg(number_after(res.errmsg, "compressed") ==
						      (long long)ref.in_off &&
					      (ref.rc == PIPEMODE_ECORRUPT &&
							       strstr(ref.what,
								      "dictionary")
						       ? 1
						       : number_after(res.errmsg,
								      "uncompressed") ==
								 (long long)ref
									 .out_off),
				      "%zu bytes, chunk %zu: \"%s\"; zlib: %s at "
				      "compressed byte %llu (uncompressed byte "
				      "%llu)",
				      n, chunk, res.errmsg, ref.what,
				      (unsigned long long)ref.in_off,
				      (unsigned long long)ref.out_off);
			if (ref.what[0] != '\0' && wrapper &&
			    strstr(ref.what, "unexpected") == NULL &&
			    strstr(ref.what, "dictionary") == NULL)
				ck_assert_msg(strstr(res.errmsg, ref.what) !=
						      NULL,
					      "\"%s\" does not say \"%s\"",
					      res.errmsg, ref.what);
		}
		for (k = 0; k < res.n; k++)
			ck_assert_msg(res.v[k].offset + res.v[k].len <= out.len &&
					      memcmp(res.v[k].data,
						     out.p + res.v[k].offset,
						     res.v[k].len) == 0,
				      "line %zu differs from zlib's", k);
	} else {
		ck_assert_msg(res.rc == PIPEMODE_ECORRUPT ||
				      res.rc == PIPEMODE_ETRUNCATED,
			      "%zu bytes: rc %d (%s); zlib: %s", n, res.rc,
			      res.errmsg, ref.what);
	}
	tu_result_free(&res);
	tu_buf_free(&out);
	return ref.rc;
}

/* ------------------------------------------------------------ compressors */

/* Append deflate output for in[0..n): windowBits 15 + 16 is gzip, 15 zlib,
 * -15 raw deflate. */
static void
zcompress(tu_buf *out, const void *in, size_t n, int wbits, int level)
{
	z_stream z;
	int zrc;

	memset(&z, 0, sizeof(z));
	ck_assert_int_eq(deflateInit2(&z, level, Z_DEFLATED, wbits, 8,
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

static void
gzip_member(tu_buf *out, const void *in, size_t n)
{
	zcompress(out, in, n, 15 + 16, 6);
}

enum {
	FTEXT = 0x01,
	FHCRC = 0x02,
	FEXTRA = 0x04,
	FNAME = 0x08,
	FCOMMENT = 0x10
};

enum { BAD_HCRC = 1, BAD_CRC = 2, BAD_ISIZE = 4 };

/*
 * A gzip member with its header built here (RFC 1952): magic, CM, FLG,
 * MTIME, XFL, OS, then the optional fields flags asks for, the raw deflate
 * data and the CRC32/ISIZE trailer; bad makes one of the checks wrong.
 * Returns the header's length.
 */
static size_t
gzip_member_by_hand(tu_buf *out, const void *in, size_t n, unsigned flags,
		    unsigned bad)
{
	size_t start = out->len, hlen;
	uint32_t crc;

	zb_byte(out, 0x1f);
	zb_byte(out, 0x8b);
	zb_byte(out, 8);
	zb_byte(out, flags);
	zb_le32(out, 0x5f5e0ff0u); /* MTIME */
	zb_byte(out, 2);           /* XFL: best compression */
	zb_byte(out, 3);           /* OS: Unix */
	if (flags & FEXTRA) {
		/* XLEN 14: a subfield "Ap" of 4 bytes and one "zz" of 2 */
		static const unsigned char extra[] = {
			14, 0, 'A', 'p', 4, 0, 1, 2, 3, 4,
			'z', 'z', 2, 0, 0x1f, 0x8b};
		tu_buf_add(out, extra, sizeof(extra));
	}
	if (flags & FNAME)
		tu_buf_add(out, "train-0.tfrecord", 17);
	if (flags & FCOMMENT) {
		static const char comment[] =
			"written by check_compression, \xe9t\xe9";
		tu_buf_add(out, comment, sizeof(comment)); /* with its NUL */
	}
	if (flags & FHCRC) {
		uint32_t h = (uint32_t)crc32(0L, out->p + start,
					     (uInt)(out->len - start));
		if (bad & BAD_HCRC)
			h ^= 1;
		zb_byte(out, h & 0xff);
		zb_byte(out, (h >> 8) & 0xff);
	}
	hlen = out->len - start;
	zcompress(out, in, n, -15, 9);
	crc = (uint32_t)crc32(0L, in, (uInt)n);
	zb_le32(out, crc ^ ((bad & BAD_CRC) ? 0x100u : 0));
	zb_le32(out, (uint32_t)n + ((bad & BAD_ISIZE) ? 1u : 0));
	return hlen;
}

/* Run a shell command; returns its exit status, or -1. */
static int
shell(const char *cmd)
{
	int st = system(cmd);

	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* ------------------------------------------------------------ happy paths */

/* Loop index: _i / TU_NCHUNKS picks the format, _i % TU_NCHUNKS the chunk. */
#define FMT (formats[_i / TU_NCHUNKS])
#define CHUNK (tu_chunks[_i % TU_NCHUNKS])

START_TEST(test_gzip_single_member)
{
	model m;
	tu_buf z = {0};

	model_sample(&m, FMT, 40);
	gzip_member(&z, m.raw.p, m.raw.len);
	ck_assert_uint_lt(z.len, m.raw.len);
	expect_model(z.p, z.len, &m, CHUNK, "compression=gzip");
	expect_model(z.p, z.len, &m, CHUNK, "compression=auto");
	expect_model(z.p, z.len, &m, CHUNK, "compression=GZIP");
	tu_buf_free(&z);
	model_free(&m);
}
END_TEST

START_TEST(test_zlib_stream)
{
	model m;
	tu_buf z = {0};

	model_sample(&m, FMT, 40);
	zcompress(&z, m.raw.p, m.raw.len, 15, 6);
	expect_model(z.p, z.len, &m, CHUNK, "compression=zlib");
	expect_model(z.p, z.len, &m, CHUNK, "compression=auto");
	tu_buf_free(&z);
	model_free(&m);
}
END_TEST

START_TEST(test_every_level_and_window)
{
	/* stored blocks (level 0), fast and best; small windows in zlib */
	static const int levels[] = {0, 1, 9};
	model m;

	model_sample(&m, FMT, 25);
	for (int k = 0; k < NELEM(levels); k++) {
		tu_buf g = {0}, z = {0}, zs = {0};

		zcompress(&g, m.raw.p, m.raw.len, 15 + 16, levels[k]);
		zcompress(&z, m.raw.p, m.raw.len, 15, levels[k]);
		zcompress(&zs, m.raw.p, m.raw.len, 9, levels[k]);
		expect_model(g.p, g.len, &m, CHUNK, "compression=gzip");
		expect_model(z.p, z.len, &m, CHUNK, "compression=zlib");
		expect_model(zs.p, zs.len, &m, CHUNK, "compression=auto");
		tu_buf_free(&g);
		tu_buf_free(&z);
		tu_buf_free(&zs);
	}
	model_free(&m);
}
END_TEST

START_TEST(test_plain_stream_with_compression_none_and_auto)
{
	model m;

	model_sample(&m, FMT, 40);
	expect_model(m.raw.p, m.raw.len, &m, CHUNK, "compression=none");
	expect_model(m.raw.p, m.raw.len, &m, CHUNK, "compression=auto");
	model_free(&m);
}
END_TEST

/* ------------------------------------------------------------ multi-member */

/* Compress raw as consecutive gzip members cut at cuts[] (ascending, within
 * raw); zero-length members where two cuts are equal. */
static void
gzip_members_at(tu_buf *out, const tu_buf *raw, const size_t *cuts, int ncuts)
{
	size_t from = 0;

	for (int k = 0; k <= ncuts; k++) {
		size_t to = k < ncuts ? cuts[k] : raw->len;
		gzip_member(out, raw->p + from, to - from);
		from = to;
	}
}

START_TEST(test_multi_member_records_split_across_members)
{
	model m;
	tu_buf z = {0};
	size_t cuts[6];

	model_sample(&m, FMT, 40);
	/* inside records, one of them twice (an empty member), one right
	 * after the first byte and one right before the last */
	cuts[0] = 1;
	cuts[1] = m.rec[3].off + 5;
	cuts[2] = m.rec[3].off + 5;
	cuts[3] = m.rec[7].off + 30000; /* inside the 70 KB record */
	cuts[4] = m.rec[20].off + 2;
	cuts[5] = m.raw.len - 1;
	gzip_members_at(&z, &m.raw, cuts, 6);
	expect_model(z.p, z.len, &m, CHUNK, "compression=gzip");
	expect_model(z.p, z.len, &m, CHUNK, "compression=auto");
	tu_buf_free(&z);
	model_free(&m);
}
END_TEST

START_TEST(test_multi_member_one_record_per_member)
{
	model m;
	tu_buf z = {0};

	model_sample(&m, FMT, 30);
	for (size_t i = 0; i < m.nrec; i++) {
		uint64_t end = i + 1 < m.nrec ? m.rec[i + 1].off : m.raw.len;
		gzip_member(&z, m.raw.p + m.rec[i].off,
			    (size_t)(end - m.rec[i].off));
	}
	expect_model(z.p, z.len, &m, CHUNK, "compression=gzip");
	tu_buf_free(&z);
	model_free(&m);
}
END_TEST

START_TEST(test_multi_member_one_byte_per_member)
{
	model m;
	tu_buf z = {0};

	model_sample(&m, FMT, 6);
	for (size_t k = 0; k < m.raw.len; k++)
		gzip_member(&z, m.raw.p + k, 1);
	expect_model(z.p, z.len, &m, CHUNK, "compression=gzip");
	expect_model(z.p, z.len, &m, CHUNK, "compression=auto");
	tu_buf_free(&z);
	model_free(&m);
}
END_TEST

/* ------------------------------------------------------------ header flags */

START_TEST(test_every_header_flag_combination)
{
	model m;

	model_sample(&m, "tfrecord", 12);
	for (unsigned flags = 0; flags < 32; flags++) {
		tu_buf z = {0};
		size_t hlen;

		hlen = gzip_member_by_hand(&z, m.raw.p, m.raw.len, flags, 0);
		ck_assert_uint_ge(hlen, 10);
		expect_model(z.p, z.len, &m, TU_CHUNK, "compression=gzip");
		expect_model(z.p, z.len, &m, TU_CHUNK, "compression=auto");
		/* and as the second member after one with no flags */
		{
			tu_buf two = {0};
			size_t half = (size_t)m.rec[5].off + 3;

			gzip_member(&two, m.raw.p, half);
			gzip_member_by_hand(&two, m.raw.p + half,
					    m.raw.len - half, flags, 0);
			expect_model(two.p, two.len, &m, TU_CHUNK,
				     "compression=gzip");
			tu_buf_free(&two);
		}
		tu_buf_free(&z);
	}
	model_free(&m);
}
END_TEST

START_TEST(test_every_flag_with_lines_and_recordio)
{
	model m;
	tu_buf z = {0};

	model_sample(&m, _i < TU_NCHUNKS ? "lines" : "recordio", 20);
	gzip_member_by_hand(&z, m.raw.p, m.raw.len,
			    FTEXT | FHCRC | FEXTRA | FNAME | FCOMMENT, 0);
	expect_model(z.p, z.len, &m, tu_chunks[_i % TU_NCHUNKS],
		     "compression=gzip");
	expect_model(z.p, z.len, &m, tu_chunks[_i % TU_NCHUNKS],
		     "compression=auto");
	tu_buf_free(&z);
	model_free(&m);
}
END_TEST

START_TEST(test_reserved_header_flag_is_ecorrupt)
{
	static const unsigned reserved[] = {0x20, 0x40, 0x80, 0x20 | FNAME};
	model m;

	model_sample(&m, "tfrecord", 5);
	for (int k = 0; k < NELEM(reserved); k++) {
		tu_buf z = {0};
		tu_result res;

		gzip_member_by_hand(&z, m.raw.p, m.raw.len, reserved[k], 0);
		tu_read_mem(z.p, z.len, TU_CHUNK, "compression=gzip", &res);
		ck_assert_msg(res.rc == PIPEMODE_ECORRUPT,
			      "flags 0x%02x: rc %d: %s", reserved[k], res.rc,
			      res.errmsg);
		ck_assert_uint_eq(res.n, 0);
		tu_result_free(&res);
		tu_buf_free(&z);
	}
	model_free(&m);
}
END_TEST

START_TEST(test_bad_header_crc_is_ecorrupt)
{
	model m;
	tu_buf z = {0};
	tu_result res;

	model_sample(&m, "tfrecord", 5);
	gzip_member_by_hand(&z, m.raw.p, m.raw.len, FHCRC | FNAME, BAD_HCRC);
	tu_read_mem(z.p, z.len, TU_CHUNK, "compression=gzip", &res);
	ck_assert_msg(res.rc == PIPEMODE_ECORRUPT, "rc %d: %s", res.rc,
		      res.errmsg);
	ck_assert_uint_eq(res.n, 0);
	ck_assert_msg(names_compressed(res.errmsg), "errmsg \"%s\"",
		      res.errmsg);
	tu_result_free(&res);
	tu_buf_free(&z);
	model_free(&m);
}
END_TEST

/* ------------------------------------------------------------ other writers */

START_TEST(test_python_gzip_with_file_name)
{
	char in[4200], out[4200], cmd[20000];
	model m;
	unsigned char *z;
	size_t zlen;
	int st;

	model_sample(&m, _i < TU_NCHUNKS ? "lines" : "tfrecord", 60);
	tu_tmppath(in, sizeof(in), "py-in");
	tu_tmppath(out, sizeof(out), "py-out.gz");
	tu_write_file(in, m.raw.p, m.raw.len);
	/* two members: Python writes FNAME (and MTIME) in each header */
	snprintf(cmd, sizeof(cmd),
		 "python3 -c 'import gzip, sys\n"
		 "d = open(sys.argv[1], \"rb\").read()\n"
		 "h = len(d) // 3\n"
		 "with open(sys.argv[2], \"wb\") as f:\n"
		 "    for part in (d[:h], d[h:]):\n"
		 "        with gzip.GzipFile(filename=\"train.csv\", "
		 "mode=\"wb\", fileobj=f, mtime=1700000000) as g:\n"
		 "            g.write(part)\n' '%s' '%s' 2>/dev/null",
		 in, out);
	st = shell(cmd);
	if (st != 0) {
		fprintf(stderr, "check_compression: python3 gzip not usable "
				"(status %d): test skipped\n",
			st);
		model_free(&m);
		return;
	}
	z = tu_read_file(out, &zlen);
	ck_assert_uint_ge(zlen, 20);
	ck_assert_uint_eq(z[0], 0x1f);
	ck_assert_uint_eq(z[1], 0x8b);
	ck_assert_msg(z[3] & FNAME, "Python's header has no FNAME (0x%02x)",
		      z[3]);
	ck_assert(memcmp(z + 10, "train.csv", 10) == 0);
	expect_model(z, zlen, &m, tu_chunks[_i % TU_NCHUNKS],
		     "compression=gzip");
	expect_model(z, zlen, &m, tu_chunks[_i % TU_NCHUNKS],
		     "compression=auto");
	free(z);
	unlink(in);
	unlink(out);
	model_free(&m);
}
END_TEST

START_TEST(test_gzip_program_single_and_multi_member)
{
	char in[4200], in2[4200], out[4200], cmd[20000];
	model m;
	unsigned char *z;
	size_t zlen;
	int st;

	if (shell("command -v gzip >/dev/null 2>&1") != 0) {
		fprintf(stderr, "check_compression: no gzip program: test "
				"skipped\n");
		return;
	}
	model_sample(&m, FMT, 50);
	tu_tmppath(in, sizeof(in), "gz-in");
	tu_tmppath(in2, sizeof(in2), "gz-in2");
	tu_tmppath(out, sizeof(out), "gz-out.gz");

	/* one member, with the file's name in its header */
	tu_write_file(in, m.raw.p, m.raw.len);
	snprintf(cmd, sizeof(cmd), "gzip -c -9 '%s' > '%s'", in, out);
	ck_assert_int_eq(shell(cmd), 0);
	z = tu_read_file(out, &zlen);
	ck_assert_msg(z[3] & FNAME, "gzip wrote no FNAME (0x%02x)", z[3]);
	expect_model(z, zlen, &m, CHUNK, "compression=gzip");
	expect_model(z, zlen, &m, CHUNK, "compression=auto");
	free(z);

	/* two members (gzip a > x; gzip b >> x), cut inside record 9 */
	{
		size_t cut = (size_t)m.rec[9].off + 3;

		tu_write_file(in, m.raw.p, cut);
		tu_write_file(in2, m.raw.p + cut, m.raw.len - cut);
		snprintf(cmd, sizeof(cmd),
			 "gzip -c -1 '%s' > '%s' && gzip -c -n '%s' >> '%s'",
			 in, out, in2, out);
		st = shell(cmd);
		ck_assert_int_eq(st, 0);
	}
	z = tu_read_file(out, &zlen);
	expect_model(z, zlen, &m, CHUNK, "compression=gzip");
	expect_model(z, zlen, &m, CHUNK, "compression=auto");
	free(z);
	unlink(in);
	unlink(in2);
	unlink(out);
	model_free(&m);
}
END_TEST

/* ------------------------------------------------------------ bounded memory */

static void
reset_peak_rss(void)
{
	/* Linux 4.0+: "5" resets the peak RSS to the current RSS. */
	int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (write(fd, "5", 1) != 1)
			(void)0;
		close(fd);
	}
}

static long
peak_rss_kib(void)
{
	struct rusage ru;

	ck_assert_int_eq(getrusage(RUSAGE_SELF, &ru), 0);
	return ru.ru_maxrss;
}

/*
 * 64 TFRecord records of 1 MiB of zeros, gzip'ed as they are made (the test
 * never holds the 64 MiB): about 64 KiB compressed.
 */
static void
zero_records_gzip(tu_buf *out, int nrec, size_t reclen, int tfrecord)
{
	unsigned char *rec = calloc(1, reclen + 16);
	size_t framed = reclen;
	z_stream z;

	ck_assert_ptr_nonnull(rec);
	if (tfrecord) {
		tu_put_le64(rec, reclen);
		tu_put_le32(rec + 8, tu_masked_crc(rec, 8));
		tu_put_le32(rec + 12 + reclen, tu_masked_crc(rec + 12, reclen));
		framed = reclen + 16;
	}
	memset(&z, 0, sizeof(z));
	ck_assert_int_eq(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9,
				      Z_DEFAULT_STRATEGY),
			 Z_OK);
	for (int i = 0; i <= nrec; i++) {
		int flush = i == nrec ? Z_FINISH : Z_NO_FLUSH;
		int zrc;

		z.next_in = i == nrec ? NULL : rec;
		z.avail_in = i == nrec ? 0 : (uInt)framed;
		do {
			tu_buf_reserve(out, 16 * KiB);
			z.next_out = out->p + out->len;
			z.avail_out = (uInt)(out->cap - out->len);
			zrc = deflate(&z, flush);
			ck_assert(zrc == Z_OK || zrc == Z_STREAM_END ||
				  zrc == Z_BUF_ERROR);
			out->len = out->cap - z.avail_out;
		} while (z.avail_in > 0 || (flush == Z_FINISH &&
					    zrc != Z_STREAM_END));
	}
	deflateEnd(&z);
	free(rec);
}

START_TEST(test_huge_ratio_reads_in_bounded_memory)
{
	tu_buf z = {0};
	tu_src src;
	pipemode_reader *r;
	pipemode_stats st;
	const void *data;
	size_t len;
	uint64_t got = 0, bad = 0;
	long before, after;
	int rc;

	zero_records_gzip(&z, 64, MiB, 1);
	ck_assert_msg(z.len < 512 * KiB, "64 MiB of zeros in %zu bytes",
		      z.len);
	reset_peak_rss();
	before = peak_rss_kib();
	tu_src_init(&src, z.p, z.len, TU_CHUNK);
	r = tu_open_src(&src, "compression=auto");
	while ((rc = pipemode_next(r, &data, &len)) == PIPEMODE_OK) {
		if (len != MiB || ((const unsigned char *)data)[len / 2] != 0)
			bad++;
		got++;
	}
	ck_assert_msg(rc == PIPEMODE_EOF, "rc %d: %s", rc, pipemode_errmsg(r));
	ck_assert_uint_eq(got, 64);
	ck_assert_uint_eq(bad, 0);
	st.size = sizeof(st);
	ck_assert_int_eq(pipemode_get_stats(r, &st), PIPEMODE_OK);
	ck_assert_uint_eq(st.bytes_read, z.len);
	ck_assert_uint_eq(pipemode_byte_offset(r), 64 * (MiB + 16));
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	after = peak_rss_kib();
	ck_assert_msg(after - before < 32 * 1024,
		      "peak RSS grew by %ld KiB reading 64 MiB of records",
		      after - before);
	tu_buf_free(&z);
}
END_TEST

START_TEST(test_zero_bomb_as_lines_is_etoobig_in_bounded_memory)
{
	/* 64 MiB of zero bytes is one line with no end: max_record_size must
	 * stop it long before the 64 MiB are inflated. */
	tu_buf z = {0};
	tu_src src;
	pipemode_reader *r;
	const void *data;
	size_t len;
	long before, after;
	int rc;

	zero_records_gzip(&z, 64, MiB, 0);
	reset_peak_rss();
	before = peak_rss_kib();
	tu_src_init(&src, z.p, z.len, TU_CHUNK);
	r = tu_open_src(&src, "format=lines,compression=gzip,"
			      "max_record_size=1M");
	rc = pipemode_next(r, &data, &len);
	ck_assert_msg(rc == PIPEMODE_ETOOBIG, "rc %d: %s", rc,
		      pipemode_errmsg(r));
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	after = peak_rss_kib();
	ck_assert_msg(after - before < 16 * 1024, "peak RSS grew by %ld KiB",
		      after - before);
	tu_buf_free(&z);
}
END_TEST

/* ------------------------------------------------------------ truncation */

/* Every cut of z (1 .. zlen-1) is ETRUNCATED, with the records before it
 * intact and a message naming the compressed offset. */
static void
expect_truncated_everywhere(const tu_buf *z, const model *m, size_t chunk,
			    const char *extra, size_t step)
{
	for (size_t cut = 1; cut < z->len; cut += (cut < 40 || cut + 12 >
						   z->len) ? 1 : step) {
		tu_result res;

		tu_read_mem(z->p, cut, chunk, opts(m, extra), &res);
		ck_assert_msg(res.rc == PIPEMODE_ETRUNCATED,
			      "%s cut at %zu of %zu (chunk %zu): rc %d (%s), "
			      "%zu records: %s",
			      m->format, cut, z->len, chunk, res.rc,
			      pipemode_code_name(res.rc), res.n, res.errmsg);
		check_model(&res, m, 0);
		/* where, in both streams: the compressed one ended at cut */
		ck_assert_msg(names_compressed(res.errmsg) &&
				      has_number(res.errmsg, cut) &&
				      strstr(res.errmsg, "uncompressed") != NULL,
			      "cut at %zu: errmsg \"%s\" does not name the "
			      "compressed and uncompressed offsets",
			      cut, res.errmsg);
		tu_result_free(&res);
	}
}

START_TEST(test_truncated_gzip_is_etruncated_everywhere)
{
	model m;
	tu_buf z = {0};
	size_t hlen;

	model_sample(&m, FMT, 7);
	/* a header with every optional field, so that cuts land in each */
	hlen = gzip_member_by_hand(&z, m.raw.p, m.raw.len,
				   FHCRC | FEXTRA | FNAME | FCOMMENT, 0);
	ck_assert_uint_gt(hlen, 60);
	expect_truncated_everywhere(&z, &m, CHUNK, "compression=gzip", 1);
	tu_buf_free(&z);
	model_free(&m);
}
END_TEST

START_TEST(test_truncated_zlib_is_etruncated_everywhere)
{
	model m;
	tu_buf z = {0};

	model_sample(&m, FMT, 7);
	zcompress(&z, m.raw.p, m.raw.len, 15, 6);
	expect_truncated_everywhere(&z, &m, CHUNK, "compression=zlib", 1);
	tu_buf_free(&z);
	model_free(&m);
}
END_TEST

START_TEST(test_truncated_last_member_is_etruncated)
{
	/* two members; cuts inside the second (never at the boundary, where
	 * the stream is a valid one-member stream) */
	model m;
	tu_buf z = {0};
	size_t first;

	model_sample(&m, FMT, 7); /* small: every cut is read */
	gzip_member(&z, m.raw.p, (size_t)m.rec[4].off + 1);
	first = z.len;
	gzip_member(&z, m.raw.p + m.rec[4].off + 1,
		    m.raw.len - (size_t)m.rec[4].off - 1);
	for (size_t cut = first + 1; cut < z.len; cut++) {
		tu_result res;

		tu_read_mem(z.p, cut, CHUNK, opts(&m, "compression=gzip"), &res);
		ck_assert_msg(res.rc == PIPEMODE_ETRUNCATED,
			      "cut at %zu: rc %d: %s", cut, res.rc, res.errmsg);
		check_model(&res, &m, 0);
		ck_assert_uint_ge(res.n, 4);
		ck_assert_msg(names_compressed(res.errmsg) &&
				      has_number(res.errmsg, cut),
			      "errmsg \"%s\"", res.errmsg);
		tu_result_free(&res);
	}
	tu_buf_free(&z);
	model_free(&m);
}
END_TEST

START_TEST(test_truncated_large_stream_is_etruncated)
{
	/* the 70 KB record and more: cuts deep inside long deflate data */
	model m;
	tu_buf z = {0};

	model_sample(&m, "tfrecord", 60);
	gzip_member(&z, m.raw.p, m.raw.len);
	expect_truncated_everywhere(&z, &m, TU_CHUNK, "compression=gzip",
				    z.len / 50 + 1);
	tu_buf_free(&z);
	model_free(&m);
}
END_TEST

/* ------------------------------------------------------------ corruption */

static int
is_detected_corruption(int rc)
{
	return rc == PIPEMODE_ECORRUPT || rc == PIPEMODE_ECRC ||
	       rc == PIPEMODE_ETRUNCATED;
}

START_TEST(test_corrupt_deflate_byte_is_an_error_never_wrong_records)
{
	/* TFRecord's CRCs and gzip's CRC32 between them catch every flipped
	 * byte; whatever came out before the error is the original. */
	model m;
	tu_buf z = {0};
	size_t hlen;

	model_sample(&m, "tfrecord", 7); /* small: every byte is flipped */
	hlen = gzip_member_by_hand(&z, m.raw.p, m.raw.len, 0, 0);
	for (size_t pos = hlen; pos < z.len; pos++) {
		tu_result res;

		z.p[pos] ^= 0xff;
		tu_read_mem(z.p, z.len, TU_CHUNK, "compression=gzip", &res);
		z.p[pos] ^= 0xff;
		ck_assert_msg(is_detected_corruption(res.rc),
			      "byte %zu of %zu flipped: rc %d (%s) after %zu "
			      "records: %s",
			      pos, z.len, res.rc, pipemode_code_name(res.rc),
			      res.n, res.errmsg);
		check_model(&res, &m, 0);
		tu_result_free(&res);
	}
	tu_buf_free(&z);
	model_free(&m);
}
END_TEST

START_TEST(test_corrupt_byte_in_lines_is_never_a_clean_end)
{
	/* Lines carry no CRC: the records may differ, but the stream must
	 * not end cleanly. */
	model m;
	tu_buf z = {0};

	model_sample(&m, "lines", 7);
	gzip_member(&z, m.raw.p, m.raw.len);
	for (size_t pos = 10; pos < z.len; pos++) {
		tu_result res;

		z.p[pos] ^= 0xff;
		tu_read_mem(z.p, z.len, TU_CHUNK, "format=lines,compression=gzip",
			 &res);
		z.p[pos] ^= 0xff;
		ck_assert_msg(res.rc < 0, "byte %zu flipped: rc %d after %zu "
					  "records",
			      pos, res.rc, res.n);
		tu_result_free(&res);
	}
	tu_buf_free(&z);
	model_free(&m);
}
END_TEST

START_TEST(test_bad_trailer_is_ecorrupt_after_every_record)
{
	static const unsigned bad[] = {BAD_CRC, BAD_ISIZE};
	model m;

	model_sample(&m, FMT, 20);
	for (int k = 0; k < NELEM(bad); k++) {
		tu_buf z = {0};
		tu_result res;

		gzip_member_by_hand(&z, m.raw.p, m.raw.len, FNAME, bad[k]);
		tu_read_mem(z.p, z.len, CHUNK, opts(&m, "compression=gzip"),
			 &res);
		ck_assert_msg(res.rc == PIPEMODE_ECORRUPT, "bad %u: rc %d: %s",
			      bad[k], res.rc, res.errmsg);
		/* whatever came before the trailer said no is intact */
		check_model(&res, &m, 0);
		ck_assert_msg(names_compressed(res.errmsg), "errmsg \"%s\"",
			      res.errmsg);
		tu_result_free(&res);
		tu_buf_free(&z);
	}
	model_free(&m);
}
END_TEST

START_TEST(test_bad_crc_in_first_member_is_ecorrupt)
{
	model m;
	tu_buf z = {0};
	tu_result res;
	size_t cut;

	model_sample(&m, "tfrecord", 20);
	cut = (size_t)m.rec[10].off;
	gzip_member_by_hand(&z, m.raw.p, cut, 0, BAD_CRC);
	gzip_member(&z, m.raw.p + cut, m.raw.len - cut);
	tu_read_mem(z.p, z.len, TU_CHUNK, "compression=gzip", &res);
	ck_assert_msg(res.rc == PIPEMODE_ECORRUPT, "rc %d: %s", res.rc,
		      res.errmsg);
	check_model(&res, &m, 0);
	ck_assert_uint_le(res.n, 10);
	tu_result_free(&res);
	tu_buf_free(&z);
	model_free(&m);
}
END_TEST

START_TEST(test_bad_zlib_checksum_is_ecorrupt)
{
	model m;
	tu_buf z = {0};
	tu_result res;

	model_sample(&m, "tfrecord", 20);
	zcompress(&z, m.raw.p, m.raw.len, 15, 6);
	z.p[z.len - 1] ^= 0x01; /* the Adler-32 */
	tu_read_mem(z.p, z.len, TU_CHUNK, "compression=zlib", &res);
	ck_assert_msg(res.rc == PIPEMODE_ECORRUPT, "rc %d: %s", res.rc,
		      res.errmsg);
	check_model(&res, &m, 0);
	tu_result_free(&res);
	tu_buf_free(&z);
	model_free(&m);
}
END_TEST

static const struct garbage {
	const char *bytes;
	size_t len;
} garbage[] = {
	{"x", 1},
	{"garbage after the end", 21},
	{"\0\0\0\0\0\0\0\0", 8},
	{"\x1f\x8b\x09\0\0\0\0\0\0\x03", 10}, /* a member with CM 9 */
};

START_TEST(test_trailing_garbage_after_gzip_is_ecorrupt)
{
	model m;

	model_sample(&m, FMT, 15);
	for (int k = 0; k < NELEM(garbage); k++) {
		tu_buf z = {0};
		tu_result res;

		gzip_member(&z, m.raw.p, m.raw.len);
		tu_buf_add(&z, garbage[k].bytes, garbage[k].len);
		tu_read_mem(z.p, z.len, CHUNK, opts(&m, "compression=gzip"),
			 &res);
		ck_assert_msg(res.rc == PIPEMODE_ECORRUPT,
			      "garbage %d: rc %d (%s): %s", k, res.rc,
			      pipemode_code_name(res.rc), res.errmsg);
		check_model(&res, &m, 0);
		tu_result_free(&res);
		/* the same under compression=auto */
		tu_read_mem(z.p, z.len, CHUNK, opts(&m, "compression=auto"),
			 &res);
		ck_assert_msg(res.rc == PIPEMODE_ECORRUPT,
			      "garbage %d, auto: rc %d: %s", k, res.rc,
			      res.errmsg);
		tu_result_free(&res);
		tu_buf_free(&z);
	}
	model_free(&m);
}
END_TEST

START_TEST(test_partial_member_after_gzip_is_an_error)
{
	/* a lone 0x1f may start another member: truncated or corrupt, never
	 * a clean end */
	model m;
	tu_buf z = {0};
	tu_result res;

	model_sample(&m, "tfrecord", 15);
	gzip_member(&z, m.raw.p, m.raw.len);
	zb_byte(&z, 0x1f);
	tu_read_mem(z.p, z.len, TU_CHUNK, "compression=gzip", &res);
	ck_assert_msg(res.rc == PIPEMODE_ETRUNCATED ||
			      res.rc == PIPEMODE_ECORRUPT,
		      "rc %d: %s", res.rc, res.errmsg);
	check_model(&res, &m, 0);
	tu_result_free(&res);
	tu_buf_free(&z);
	model_free(&m);
}
END_TEST

START_TEST(test_trailing_garbage_after_zlib_is_an_error)
{
	model m;
	tu_buf z = {0};
	tu_result res;

	model_sample(&m, "tfrecord", 15);
	zcompress(&z, m.raw.p, m.raw.len, 15, 6);
	tu_buf_add(&z, "junk", 4);
	tu_read_mem(z.p, z.len, TU_CHUNK, "compression=zlib", &res);
	ck_assert_msg(res.rc == PIPEMODE_ECORRUPT, "rc %d: %s", res.rc,
		      res.errmsg);
	check_model(&res, &m, 0);
	tu_result_free(&res);
	tu_buf_free(&z);
	model_free(&m);
}
END_TEST

/* ------------------------------------------------------------ wrong kind */

START_TEST(test_gzip_on_plain_data_is_ecorrupt_quickly)
{
	model m;
	tu_result res;
	pipemode_stats st;
	uint64_t rng = 5;
	unsigned char *tmp = malloc(64 * KiB);

	ck_assert_ptr_nonnull(tmp);
	memset(&m, 0, sizeof(m));
	m.format = "tfrecord";
	/* 8 MiB of plain TFRecord; the first length (5) is not a zlib
	 * header either */
	add_tfrecord(&m, "hello", 5);
	while (m.raw.len < 8 * MiB) {
		tu_fill(tmp, 64 * KiB, tu_rand(&rng));
		add_tfrecord(&m, tmp, 64 * KiB);
	}
	free(tmp);
	st = tu_read_mem(m.raw.p, m.raw.len, TU_CHUNK, "compression=gzip", &res);
	ck_assert_msg(res.rc == PIPEMODE_ECORRUPT, "gzip: rc %d: %s", res.rc,
		      res.errmsg);
	ck_assert_uint_eq(res.n, 0);
	ck_assert_msg(st.bytes_read <= 1 * MiB,
		      "read %llu bytes before saying it is not gzip",
		      (unsigned long long)st.bytes_read);
	tu_result_free(&res);
	st = tu_read_mem(m.raw.p, m.raw.len, TU_CHUNK, "compression=zlib", &res);
	ck_assert_msg(res.rc == PIPEMODE_ECORRUPT, "zlib: rc %d: %s", res.rc,
		      res.errmsg);
	ck_assert_uint_eq(res.n, 0);
	ck_assert_uint_le(st.bytes_read, 1 * MiB);
	tu_result_free(&res);
	model_free(&m);
}
END_TEST

START_TEST(test_gzip_and_zlib_are_not_mistaken_for_each_other)
{
	model m;
	tu_buf g = {0}, z = {0};
	tu_result res;

	model_sample(&m, "tfrecord", 10);
	gzip_member(&g, m.raw.p, m.raw.len);
	zcompress(&z, m.raw.p, m.raw.len, 15, 6);
	tu_read_mem(g.p, g.len, TU_CHUNK, "compression=zlib", &res);
	ck_assert_msg(res.rc == PIPEMODE_ECORRUPT, "rc %d: %s", res.rc,
		      res.errmsg);
	ck_assert_uint_eq(res.n, 0);
	tu_result_free(&res);
	tu_read_mem(z.p, z.len, TU_CHUNK, "compression=gzip", &res);
	ck_assert_msg(res.rc == PIPEMODE_ECORRUPT, "rc %d: %s", res.rc,
		      res.errmsg);
	ck_assert_uint_eq(res.n, 0);
	tu_result_free(&res);
	tu_buf_free(&g);
	tu_buf_free(&z);
	model_free(&m);
}
END_TEST

static const char *const bad_compressions[] = {
	"compression=bzip2", "compression=xz", "compression=",
	"compression=gzip9", "compression=deflate",
};

START_TEST(test_unknown_compression_is_eoption_naming_it)
{
	pipemode_reader *r = NULL;
	tu_src src;
	int rc;

	tu_src_init(&src, "", 0, TU_WHOLE);
	rc = pipemode_open_callback(&r, tu_src_read, &src,
				    bad_compressions[_i]);
	ck_assert_msg(rc == PIPEMODE_EOPTION, "\"%s\": rc %d (%s)",
		      bad_compressions[_i], rc, pipemode_errmsg(r));
	ck_assert_msg(tu_contains(pipemode_errmsg(r), "compression"),
		      "errmsg \"%s\"", pipemode_errmsg(r));
	ck_assert_uint_eq(src.calls, 0);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
}
END_TEST

/* ------------------------------------------------------------ framer errors */

START_TEST(test_framer_errors_name_uncompressed_offsets)
{
	/* a bad payload CRC in record 6 of a gzip'ed TFRecord: the error
	 * says record 6 at its offset in the uncompressed stream */
	tu_stream s;
	tu_buf z = {0};
	tu_result res;
	char want[128];

	tu_stream_init(&s);
	for (int i = 0; i < 10; i++)
		tu_stream_add_random(&s, (size_t)(100 + 50 * i), (uint64_t)i,
				     i == 6 ? TU_BAD_DATA_CRC : 0);
	gzip_member(&z, s.p, s.len);
	tu_read_mem(z.p, z.len, TU_CHUNK, "compression=gzip", &res);
	tu_check_records(&res, &s, 6, 0);
	tu_check_error(&res, PIPEMODE_ECRC, 6, s.rec[6].offset);
	snprintf(want, sizeof(want), "callback: tfrecord: record 6 at byte %llu: ",
		 (unsigned long long)s.rec[6].offset);
	ck_assert_msg(strncmp(res.errmsg, want, strlen(want)) == 0,
		      "errmsg \"%s\"", res.errmsg);
	tu_result_free(&res);

	/* skip_corrupt steps over it inside the compressed stream too */
	tu_read_mem(z.p, z.len, TU_CHUNK, "compression=auto,skip_corrupt=1",
		 &res);
	ck_assert_int_eq(res.rc, PIPEMODE_EOF);
	tu_check_records(&res, &s, s.nrec, 1);
	tu_result_free(&res);
	tu_buf_free(&z);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_framer_truncation_inside_complete_gzip)
{
	/* a complete gzip stream whose content stops inside a record: the
	 * framer's ETRUNCATED, at the record's uncompressed offset */
	tu_stream s;
	tu_buf z = {0};
	tu_result res;

	tu_stream_init(&s);
	for (int i = 0; i < 5; i++)
		tu_stream_add_random(&s, 1000, (uint64_t)i, 0);
	gzip_member(&z, s.p, s.len - 10);
	tu_read_mem(z.p, z.len, TU_CHUNK, "compression=gzip", &res);
	tu_check_records(&res, &s, 4, 0);
	tu_check_error(&res, PIPEMODE_ETRUNCATED, 4, s.rec[4].offset);
	ck_assert_msg(strncmp(res.errmsg, "callback: tfrecord: record 4", 28) ==
			      0,
		      "errmsg \"%s\"", res.errmsg);
	tu_result_free(&res);
	tu_buf_free(&z);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_existing_gzip_tfrecord_files)
{
	/* the gzip'ed files of tests/data (Java and Beam writers) */
	static const struct {
		const char *name;
		size_t records;
	} files[] = {
		{"tfeco_zipped_part-m-00000.gz", 5},
		{"tfx_penguin_eval.gz", 100},
	};

	for (int k = 0; k < NELEM(files); k++) {
		char path[4096];
		size_t n;
		unsigned char *p;
		tu_result res;

		snprintf(path, sizeof(path), "%s/%s", PM_TEST_DATA_DIR,
			 files[k].name);
		p = tu_read_file(path, &n);
		tu_read_mem(p, n, TU_CHUNK, "compression=auto", &res);
		ck_assert_msg(res.rc == PIPEMODE_EOF, "%s: rc %d: %s",
			      files[k].name, res.rc, res.errmsg);
		ck_assert_uint_eq(res.n, files[k].records);
		tu_result_free(&res);
		free(p);
	}
}
END_TEST

/* ------------------------------------------------------------ as zlib says */

/* Streams to cut and corrupt, each with how it was made: gzip with every
 * header field, gzip members of one line each (some empty), stored blocks,
 * zlib. */
enum { S_GZIP_FLAGS, S_GZIP_MEMBERS, S_GZIP_STORED, S_ZLIB, S_ZLIB_STORED,
       NSTREAMS };

static int
make_lines_stream(tu_buf *z, int which, size_t *hlen)
{
	model m;

	model_sample(&m, "lines", which == S_GZIP_MEMBERS ? 12 : 7);
	*hlen = 2;
	switch (which) {
	case S_GZIP_FLAGS:
		*hlen = gzip_member_by_hand(z, m.raw.p, m.raw.len,
					    FTEXT | FHCRC | FEXTRA | FNAME |
						    FCOMMENT,
					    0);
		break;
	case S_GZIP_MEMBERS:
		for (size_t i = 0; i < m.nrec; i++) {
			uint64_t end = i + 1 < m.nrec ? m.rec[i + 1].off
						      : m.raw.len;
			if (i == 7) /* the 70 KB line: not here */
				continue;
			if (i % 3 == 1)
				gzip_member(z, "", 0);
			gzip_member_by_hand(z, m.raw.p + m.rec[i].off,
					    (size_t)(end - m.rec[i].off),
					    i % 2 ? FNAME : 0, 0);
		}
		*hlen = 10;
		break;
	case S_GZIP_STORED:
		zcompress(z, m.raw.p, m.raw.len, 15 + 16, 0);
		*hlen = 10;
		break;
	case S_ZLIB:
		zcompress(z, m.raw.p, m.raw.len, 15, 6);
		break;
	default:
		zcompress(z, m.raw.p, m.raw.len, 15, 0);
		break;
	}
	model_free(&m);
	return which < S_ZLIB;
}

START_TEST(test_every_cut_is_reported_as_zlib_reports_it)
{
	/* truncation anywhere: header fields, block headers, inside a
	 * Huffman code, a stored block, the trailer, between members */
	int which = _i / TU_NCHUNKS;
	tu_buf z = {0};
	size_t hlen;
	int gzip = make_lines_stream(&z, which, &hlen);

	for (size_t cut = 0; cut <= z.len; cut++) {
		int rc = expect_as_zlib(z.p, cut, gzip, CHUNK, 1);
		ck_assert_int_eq(rc, cut == z.len ? PIPEMODE_EOF
			: which == S_GZIP_MEMBERS && rc == PIPEMODE_EOF
				? PIPEMODE_EOF
				: PIPEMODE_ETRUNCATED);
	}
	tu_buf_free(&z);
}
END_TEST

START_TEST(test_wrapper_errors_are_reported_as_zlib_reports_them)
{
	/* every byte of the header and trailer changed three ways: the same
	 * check fails after the same bytes, or none does */
	static const unsigned char flips[] = {0xff, 0x01, 0x20};
	int which = _i / TU_NCHUNKS;
	tu_buf z = {0};
	size_t hlen, pos;
	int gzip = make_lines_stream(&z, which, &hlen);
	size_t tlen = gzip ? 8 : 4;

	for (pos = 0; pos < z.len; pos++) {
		if (pos == hlen && z.len > tlen)
			pos = z.len - tlen; /* skip the deflate data */
		for (int k = 0; k < NELEM(flips); k++) {
			z.p[pos] ^= flips[k];
			expect_as_zlib(z.p, z.len, gzip, CHUNK, 0);
			z.p[pos] ^= flips[k];
		}
	}
	/* and what may follow the end */
	for (int k = 0; k < NELEM(garbage); k++) {
		tu_buf g = {0};

		tu_buf_add(&g, z.p, z.len);
		tu_buf_add(&g, garbage[k].bytes, garbage[k].len);
		ck_assert_int_eq(expect_as_zlib(g.p, g.len, gzip, CHUNK, 1),
				 PIPEMODE_ECORRUPT);
		tu_buf_free(&g);
	}
	tu_buf_free(&z);
}
END_TEST

START_TEST(test_zlib_header_checks_as_zlib)
{
	/* a preset dictionary, a window over 32K, a wrong method, a bad
	 * FCHECK: each after two bytes (the dictionary after six) */
	static const unsigned char hdr[][6] = {
		{0x78, 0xbb, 0, 0, 0, 1}, /* FDICT */
		{0x88, 0x1c},            /* CINFO 8 */
		{0x79, 0x18},            /* CM 9 */
		{0x78, 0x9d},            /* FCHECK off by one */
	};
	for (int k = 0; k < NELEM(hdr); k++) {
		tu_buf z = {0};

		tu_buf_add(&z, hdr[k], 6);
		tu_buf_add(&z, "\x03\0\0\0\0\1", 6);
		ck_assert_int_eq(expect_as_zlib(z.p, z.len, 0, CHUNK, 1),
				 PIPEMODE_ECORRUPT);
		tu_buf_free(&z);
	}
}
END_TEST

START_TEST(test_corrupt_deflate_is_always_caught)
{
	/* a flipped byte of the deflate data: caught (by inflate or by the
	 * trailer) in both builds; with zlib, the same offsets as zlib */
	int which = _i / TU_NCHUNKS;
	tu_buf z = {0};
	size_t hlen;
	int gzip = make_lines_stream(&z, which, &hlen);

	for (size_t pos = hlen; pos + (gzip ? 8 : 4) < z.len;
	     pos += which == S_GZIP_MEMBERS ? 3 : 1) {
		const char *o = gzip ? "format=lines,compression=gzip"
				     : "format=lines,compression=zlib";
		tu_result a, b;

		z.p[pos] ^= 0xff;
		expect_as_zlib(z.p, z.len, gzip, CHUNK, !PM_ISAL_INFLATE);
		/* and the same however the input comes (igzip's fast loop
		 * would report a bad match after its output): the lines and
		 * the uncompressed offset; with zlib the message too (igzip's
		 * compressed offset for a bad block header depends on how much
		 * of the header it had buffered) */
		tu_read_mem(z.p, z.len, CHUNK, o, &a);
		tu_read_mem(z.p, z.len, TU_WHOLE, o, &b);
		ck_assert_msg(a.rc == b.rc && a.n == b.n &&
				      number_after(a.errmsg, "uncompressed") ==
					      number_after(b.errmsg,
							   "uncompressed") &&
				      (PM_ISAL_INFLATE ||
				       strcmp(a.errmsg, b.errmsg) == 0),
			      "byte %zu flipped, chunk %zu: rc %d, %zu lines, "
			      "\"%s\"; whole: rc %d, %zu lines, \"%s\"",
			      pos, CHUNK, a.rc, a.n, a.errmsg, b.rc, b.n,
			      b.errmsg);
		for (size_t k = 0; k < a.n; k++)
			ck_assert_msg(a.v[k].len == b.v[k].len &&
					      memcmp(a.v[k].data, b.v[k].data,
						     a.v[k].len) == 0,
				      "byte %zu flipped: line %zu differs", pos,
				      k);
		tu_result_free(&a);
		tu_result_free(&b);
		z.p[pos] ^= 0xff;
	}
	tu_buf_free(&z);
}
END_TEST

START_TEST(test_many_empty_members_and_one_record)
{
	/* 20000 empty members (20 bytes each) around one record: no memory
	 * or time per member beyond its bytes */
	tu_buf z = {0};
	model m;

	model_sample(&m, "tfrecord", 3);
	for (int k = 0; k < 10000; k++)
		gzip_member(&z, "", 0);
	gzip_member(&z, m.raw.p, m.raw.len);
	for (int k = 0; k < 10000; k++)
		gzip_member(&z, "", 0);
	expect_model(z.p, z.len, &m, CHUNK, "compression=gzip");
	expect_model(z.p, z.len, &m, CHUNK, "compression=auto");
	tu_buf_free(&z);
	model_free(&m);
}
END_TEST

/* ------------------------------------------------------------ suite */

static Suite *
compression_suite(void)
{
	Suite *s = suite_create("compression");
	TCase *tc;

	tc = tcase_create("streams");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_gzip_single_member, 0,
			    NFORMATS * TU_NCHUNKS);
	tcase_add_loop_test(tc, test_zlib_stream, 0, NFORMATS * TU_NCHUNKS);
	tcase_add_loop_test(tc, test_every_level_and_window, 0,
			    NFORMATS * TU_NCHUNKS);
	tcase_add_loop_test(tc, test_plain_stream_with_compression_none_and_auto,
			    0, NFORMATS * TU_NCHUNKS);
	tcase_add_loop_test(tc, test_existing_gzip_tfrecord_files, 0,
			    TU_NCHUNKS);
	suite_add_tcase(s, tc);

	tc = tcase_create("members");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_multi_member_records_split_across_members,
			    0, NFORMATS * TU_NCHUNKS);
	tcase_add_loop_test(tc, test_multi_member_one_record_per_member, 0,
			    NFORMATS * TU_NCHUNKS);
	tcase_add_loop_test(tc, test_multi_member_one_byte_per_member, 0,
			    NFORMATS * TU_NCHUNKS);
	suite_add_tcase(s, tc);

	tc = tcase_create("headers");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_every_header_flag_combination, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_every_flag_with_lines_and_recordio, 0,
			    2 * TU_NCHUNKS);
	tcase_add_loop_test(tc, test_reserved_header_flag_is_ecorrupt, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_bad_header_crc_is_ecorrupt, 0,
			    TU_NCHUNKS);
	suite_add_tcase(s, tc);

	tc = tcase_create("writers");
	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, tu_tmpdir_setup, tu_tmpdir_teardown);
	tcase_add_loop_test(tc, test_python_gzip_with_file_name, 0,
			    2 * TU_NCHUNKS);
	tcase_add_loop_test(tc, test_gzip_program_single_and_multi_member, 0,
			    NFORMATS * TU_NCHUNKS);
	suite_add_tcase(s, tc);

	tc = tcase_create("memory");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_huge_ratio_reads_in_bounded_memory, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc,
			    test_zero_bomb_as_lines_is_etoobig_in_bounded_memory,
			    0, TU_NCHUNKS);
	suite_add_tcase(s, tc);

	tc = tcase_create("truncated");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_truncated_gzip_is_etruncated_everywhere, 0,
			    NFORMATS * TU_NCHUNKS);
	tcase_add_loop_test(tc, test_truncated_zlib_is_etruncated_everywhere, 0,
			    NFORMATS * TU_NCHUNKS);
	tcase_add_loop_test(tc, test_truncated_last_member_is_etruncated, 0,
			    NFORMATS * TU_NCHUNKS);
	tcase_add_loop_test(tc, test_truncated_large_stream_is_etruncated, 0,
			    TU_NCHUNKS);
	suite_add_tcase(s, tc);

	tc = tcase_create("corrupt");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc,
			    test_corrupt_deflate_byte_is_an_error_never_wrong_records,
			    0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_corrupt_byte_in_lines_is_never_a_clean_end,
			    0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_bad_trailer_is_ecorrupt_after_every_record,
			    0, NFORMATS * TU_NCHUNKS);
	tcase_add_loop_test(tc, test_bad_crc_in_first_member_is_ecorrupt, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_bad_zlib_checksum_is_ecorrupt, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_trailing_garbage_after_gzip_is_ecorrupt, 0,
			    NFORMATS * TU_NCHUNKS);
	tcase_add_loop_test(tc, test_partial_member_after_gzip_is_an_error, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_trailing_garbage_after_zlib_is_an_error, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_framer_errors_name_uncompressed_offsets, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_framer_truncation_inside_complete_gzip, 0,
			    TU_NCHUNKS);
	suite_add_tcase(s, tc);

	tc = tcase_create("as_zlib");
	tcase_set_timeout(tc, 300);
	/* Exhaustive (every cut, every byte flipped, at every chunking): too
	 * slow under valgrind, where the cases above cover the same code. */
	tcase_set_tags(tc, "slow");
	tcase_add_loop_test(tc, test_every_cut_is_reported_as_zlib_reports_it,
			    0, NSTREAMS * TU_NCHUNKS);
	tcase_add_loop_test(tc,
			    test_wrapper_errors_are_reported_as_zlib_reports_them,
			    0, NSTREAMS * TU_NCHUNKS);
	tcase_add_loop_test(tc, test_zlib_header_checks_as_zlib, 0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_corrupt_deflate_is_always_caught, 0,
			    NSTREAMS * TU_NCHUNKS);
	tcase_add_loop_test(tc, test_many_empty_members_and_one_record, 0,
			    TU_NCHUNKS);
	suite_add_tcase(s, tc);

	tc = tcase_create("options");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_gzip_on_plain_data_is_ecorrupt_quickly, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_gzip_and_zlib_are_not_mistaken_for_each_other,
			    0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_unknown_compression_is_eoption_naming_it, 0,
			    NELEM(bad_compressions));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(compression_suite());
	int failed;

	fprintf(stderr, "check_compression: the library inflates with %s\n",
		PM_ISAL_INFLATE ? "ISA-L (igzip)" : "zlib");
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
