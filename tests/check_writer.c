/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The writer's RecordIO framing (concat and dmlc), its gzip and zlib output
 * and its errors.  Expected bytes come from encoders written here from the
 * formats (RecordIO: magic, lrec, payload, zero padding; dmlc: a line-by-line
 * transcription of dmlc-core's RecordIOWriter::WriteRecord) and from
 * testutil's TFRecord encoder, never from the library.  Compressed output is
 * inflated with zlib here and by the gzip program.  Records of 2^29 bytes
 * and more live in anonymous mappings (untouched pages cost nothing) and go
 * through a pipe to a child that compares the stream as it arrives.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zlib.h>

#include "testutil.h"

#define KiB ((size_t)1024)
#define MiB (1024 * KiB)
#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

#define RIO_MAGIC 0xced7230au
#define RIO_LIMIT ((size_t)1 << 29)
/* The longest part the writer cuts a large record into (see pipemode.h:
 * parts of at most 2^29 - 4 bytes). */
#define RIO_CUT (RIO_LIMIT - 4)

static const unsigned char magic_bytes[4] = {0x0a, 0x23, 0xd7, 0xce};

/* ------------------------------------------------------------ byte buffer */

typedef struct buf {
	unsigned char *p;
	size_t len, cap;
} buf;

static void
buf_add(buf *b, const void *p, size_t n)
{
	if (b->cap - b->len < n) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap - b->len < n)
			cap *= 2;
		b->p = realloc(b->p, cap);
		ck_assert_ptr_nonnull(b->p);
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
buf_zeros(buf *b, size_t n)
{
	static const unsigned char zeros[8];

	ck_assert_uint_le(n, sizeof(zeros));
	buf_add(b, zeros, n);
}

static void
buf_free(buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* ------------------------------------------------------------ records */

/* A list of records, each a malloc'ed copy. */
typedef struct recset {
	unsigned char **p;
	size_t *len;
	size_t n, cap;
} recset;

static void
rs_add(recset *rs, const void *p, size_t len)
{
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? 2 * rs->cap : 16;
		rs->p = realloc(rs->p, rs->cap * sizeof(*rs->p));
		rs->len = realloc(rs->len, rs->cap * sizeof(*rs->len));
		ck_assert(rs->p != NULL && rs->len != NULL);
	}
	rs->p[rs->n] = malloc(len ? len : 1);
	ck_assert_ptr_nonnull(rs->p[rs->n]);
	if (len > 0)
		memcpy(rs->p[rs->n], p, len);
	rs->len[rs->n++] = len;
}

static void
rs_add_random(recset *rs, size_t len, uint64_t seed)
{
	unsigned char *tmp = malloc(len ? len : 1);

	ck_assert_ptr_nonnull(tmp);
	tu_fill(tmp, len, seed);
	rs_add(rs, tmp, len);
	free(tmp);
}

/* A random record with the magic word written at each offset of at[]. */
static void
rs_add_with_magic(recset *rs, size_t len, uint64_t seed, const size_t *at,
		  size_t nat)
{
	unsigned char *tmp = malloc(len ? len : 1);

	ck_assert_ptr_nonnull(tmp);
	tu_fill(tmp, len, seed);
	for (size_t i = 0; i < nat; i++) {
		ck_assert_uint_le(at[i] + 4, len);
		memcpy(tmp + at[i], magic_bytes, 4);
	}
	rs_add(rs, tmp, len);
	free(tmp);
}

static void
rs_free(recset *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		free(rs->p[i]);
	free(rs->p);
	free(rs->len);
	memset(rs, 0, sizeof(*rs));
}

/* ------------------------------------------------------------ encoders */

static void
put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static void
rio_header(unsigned char h[8], unsigned cflag, size_t len)
{
	put_le32(h, RIO_MAGIC);
	put_le32(h + 4, ((uint32_t)cflag << 29) | (uint32_t)len);
}

/* RecordIO, recordio_multipart=concat, for records under 2^29 bytes: one
 * part with flag 0, padded with zeros to a multiple of 4. */
static void
spec_concat(buf *b, const unsigned char *p, size_t len)
{
	unsigned char h[8];

	ck_assert_uint_lt(len, RIO_LIMIT);
	rio_header(h, 0, len);
	buf_add(b, h, 8);
	buf_add(b, p, len);
	buf_zeros(b, (4 - len % 4) % 4);
}

/*
 * dmlc-core's RecordIOWriter::WriteRecord (src/recordio.cc), transcribed
 * with its own names; stream_->Write becomes buf_add.
 */
static void
spec_dmlc(buf *b, const void *buf_, size_t size)
{
	const unsigned char *magic = magic_bytes;
	const unsigned char *bhead = buf_;
	unsigned len = (unsigned)size;
	unsigned lower_align = (len >> 2U) << 2U;
	unsigned upper_align = ((len + 3U) >> 2U) << 2U;
	unsigned dptr = 0;
	unsigned char lrec[4];

	ck_assert_uint_lt(size, RIO_LIMIT);
	for (unsigned i = 0; i < lower_align; i += 4) {
		if (bhead[i] == magic[0] && bhead[i + 1] == magic[1] &&
		    bhead[i + 2] == magic[2] && bhead[i + 3] == magic[3]) {
			put_le32(lrec, ((dptr == 0 ? 1U : 2U) << 29U) |
					       (i - dptr));
			buf_add(b, magic, 4);
			buf_add(b, lrec, 4);
			if (i != dptr)
				buf_add(b, bhead + dptr, i - dptr);
			dptr = i + 4;
		}
	}
	put_le32(lrec, ((dptr != 0 ? 3U : 0U) << 29U) | (len - dptr));
	buf_add(b, magic, 4);
	buf_add(b, lrec, 4);
	if (len != dptr)
		buf_add(b, bhead + dptr, len - dptr);
	if (upper_align != len)
		buf_zeros(b, upper_align - len);
}

enum { ENC_TFRECORD, ENC_CONCAT, ENC_DMLC };

/* The expected stream of rs[from..to) in one of the encodings. */
static void
spec_stream(buf *b, int enc, const recset *rs, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		if (enc == ENC_CONCAT) {
			spec_concat(b, rs->p[i], rs->len[i]);
		} else if (enc == ENC_DMLC) {
			spec_dmlc(b, rs->p[i], rs->len[i]);
		} else {
			tu_stream s;
			tu_stream_init(&s);
			tu_stream_add(&s, rs->p[i], rs->len[i], 0);
			buf_add(b, s.p, s.len);
			tu_stream_free(&s);
		}
	}
}

/* ------------------------------------------------------------ writing */

static pipemode_writer *
open_writer(int fd, const char *options)
{
	pipemode_writer *w = NULL;
	int rc = pipemode_writer_open_fd(&w, fd, options);

	ck_assert_msg(rc == PIPEMODE_OK, "writer_open_fd(\"%s\"): %d %s",
		      options ? options : "(null)", rc,
		      pipemode_writer_errmsg(w));
	return w;
}

static void
write_recs(pipemode_writer *w, const recset *rs, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		int rc = pipemode_write(w, rs->p[i], rs->len[i]);
		ck_assert_msg(rc == PIPEMODE_OK, "write %zu (%zu bytes): %d %s",
			      i, rs->len[i], rc, pipemode_writer_errmsg(w));
	}
}

static int
open_tmp(const char *name, char *path, size_t size)
{
	int fd;

	tu_tmppath(path, size, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	return fd;
}

/* Write all of rs with options; returns the bytes the writer produced. */
static unsigned char *
written(const char *options, const recset *rs, size_t *len)
{
	char path[4200];
	int fd = open_tmp("written", path, sizeof(path));
	pipemode_writer *w = open_writer(fd, options);
	unsigned char *p;

	write_recs(w, rs, 0, rs->n);
	ck_assert_int_eq(pipemode_writer_close(w), PIPEMODE_OK);
	ck_assert_int_eq(close(fd), 0);
	p = tu_read_file(path, len);
	unlink(path);
	return p;
}

/* The first offset where two byte strings differ, for messages. */
static size_t
first_difference(const unsigned char *a, size_t na, const unsigned char *b,
		 size_t nb)
{
	size_t i, n = na < nb ? na : nb;

	for (i = 0; i < n && a[i] == b[i]; i++)
		;
	return i;
}

static void
expect_bytes(const unsigned char *got, size_t ngot, const buf *want,
	     const char *what)
{
	ck_assert_msg(ngot == want->len &&
			      (ngot == 0 || memcmp(got, want->p, ngot) == 0),
		      "%s: %zu bytes written, %zu expected; first difference "
		      "at byte %zu",
		      what, ngot, want->len,
		      first_difference(got, ngot, want->p, want->len));
}

/* ------------------------------------------------------------ reading back */

/* Read p[0..n) with the library's reader and expect exactly rs's records. */
static void
expect_reads_back(const unsigned char *p, size_t n, size_t chunk,
		  const char *options, const recset *rs)
{
	tu_src src;
	tu_result res;
	pipemode_reader *r;

	tu_src_init(&src, p, n, chunk);
	r = tu_open_src(&src, options);
	tu_read_all(r, &res);
	ck_assert_msg(res.rc == PIPEMODE_EOF, "reader (\"%s\"): rc %d: %s",
		      options, res.rc, res.errmsg);
	ck_assert_msg(res.n == rs->n, "read %zu records, wrote %zu", res.n,
		      rs->n);
	for (size_t i = 0; i < rs->n; i++)
		ck_assert_msg(res.v[i].len == rs->len[i] &&
				      (rs->len[i] == 0 ||
				       memcmp(res.v[i].data, rs->p[i],
					      rs->len[i]) == 0),
			      "record %zu: read %zu bytes, wrote %zu (or the "
			      "bytes differ)",
			      i, res.v[i].len, rs->len[i]);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	tu_result_free(&res);
}

/* ------------------------------------------------------------ inflating */

/*
 * Inflate p[0..n) with windowBits bits, calling inflate with flush.  Returns
 * the output (malloc'ed) and its length; *ended says whether the compressed
 * stream ended, *unused how many input bytes were left after it.
 */
static unsigned char *
inflate_bytes(const unsigned char *p, size_t n, int bits, int flush,
	      size_t *outlen, int *ended, size_t *unused)
{
	z_stream z;
	size_t cap = 64 * KiB, len = 0;
	unsigned char *out = malloc(cap);
	int rc;

	ck_assert_ptr_nonnull(out);
	ck_assert_uint_lt(n, UINT_MAX);
	memset(&z, 0, sizeof(z));
	ck_assert_int_eq(inflateInit2(&z, bits), Z_OK);
	z.next_in = (Bytef *)(uintptr_t)p;
	z.avail_in = (uInt)n;
	*ended = 0;
	for (;;) {
		if (len == cap) {
			cap *= 2;
			out = realloc(out, cap);
			ck_assert_ptr_nonnull(out);
		}
		z.next_out = out + len;
		z.avail_out = (uInt)(cap - len);
		rc = inflate(&z, flush);
		len = cap - z.avail_out;
		if (rc == Z_STREAM_END) {
			*ended = 1;
			break;
		}
		ck_assert_msg(rc == Z_OK || rc == Z_BUF_ERROR,
			      "inflate: %d %s after %zu bytes out", rc,
			      z.msg ? z.msg : "", len);
		if (z.avail_out > 0)
			break; /* all the input it could use is used */
	}
	*unused = z.avail_in;
	*outlen = len;
	inflateEnd(&z);
	return out;
}

/* ------------------------------------------------------------ huge records */

/* A stretch of the expected stream: p[0..n), or n zero bytes if p is NULL. */
typedef struct seg {
	const unsigned char *p;
	size_t n;
} seg;

typedef struct cmp {
	const seg *segs;
	size_t nseg, si, so;
	uint64_t off;
} cmp;

/* Compare the next n bytes of a stream with segs; in a child, so no Check
 * assertions: exits with a message on a mismatch. */
static void
cmp_feed(cmp *c, const unsigned char *p, size_t n)
{
	static const unsigned char zeros[64 * 1024];

	while (n > 0) {
		size_t m;
		const seg *s;

		while (c->si < c->nseg && c->so == c->segs[c->si].n) {
			c->si++;
			c->so = 0;
		}
		if (c->si == c->nseg) {
			fprintf(stderr, "verifier: extra bytes at %llu\n",
				(unsigned long long)c->off);
			_exit(3);
		}
		s = &c->segs[c->si];
		m = s->n - c->so;
		if (m > n)
			m = n;
		if (s->p == NULL && m > sizeof(zeros))
			m = sizeof(zeros);
		if (memcmp(p, s->p ? s->p + c->so : zeros, m) != 0) {
			fprintf(stderr,
				"verifier: bytes differ in [%llu, %llu) "
				"(segment %zu)\n",
				(unsigned long long)c->off,
				(unsigned long long)(c->off + m), c->si);
			_exit(1);
		}
		p += m;
		n -= m;
		c->so += m;
		c->off += m;
	}
}

/* Read fd to its end (inflating with windowBits bits unless bits is 0) and
 * compare with segs; exit 0 on an exact match. */
static void
verifier(int fd, const seg *segs, size_t nseg, int bits)
{
	static unsigned char in[1 << 20], out[1 << 20];
	cmp c = {segs, nseg, 0, 0, 0};
	z_stream z;
	int zend = 0;

	memset(&z, 0, sizeof(z));
	if (bits != 0 && inflateInit2(&z, bits) != Z_OK)
		_exit(5);
	for (;;) {
		ssize_t n = read(fd, in, sizeof(in));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			_exit(4);
		if (n == 0)
			break;
		if (bits == 0) {
			cmp_feed(&c, in, (size_t)n);
			continue;
		}
		z.next_in = in;
		z.avail_in = (uInt)n;
		do {
			int rc;

			if (zend) {
				fprintf(stderr, "verifier: data after the "
						"compressed stream\n");
				_exit(3);
			}
			z.next_out = out;
			z.avail_out = sizeof(out);
			rc = inflate(&z, Z_NO_FLUSH);
			if (rc != Z_OK && rc != Z_STREAM_END &&
			    rc != Z_BUF_ERROR) {
				fprintf(stderr, "verifier: inflate %d\n", rc);
				_exit(6);
			}
			cmp_feed(&c, out, sizeof(out) - z.avail_out);
			if (rc == Z_STREAM_END) {
				zend = 1;
				break;
			}
		} while (z.avail_in > 0 || z.avail_out == 0);
		if (zend && z.avail_in > 0) {
			fprintf(stderr, "verifier: data after the compressed "
					"stream\n");
			_exit(3);
		}
	}
	while (c.si < c.nseg && c.so == c.segs[c.si].n) {
		c.si++;
		c.so = 0;
	}
	if (c.si != c.nseg || (bits != 0 && !zend)) {
		fprintf(stderr, "verifier: stream ends early, at %llu\n",
			(unsigned long long)c.off);
		_exit(2);
	}
	_exit(0);
}

/* Fork a verifier reading the pipe whose write end is returned. */
static int
spawn_verifier(const seg *segs, size_t nseg, int bits, pid_t *pid)
{
	int fds[2];

	/* A verifier that stops early leaves the writer an EIO to report,
	 * rather than a SIGPIPE that hides the verifier's message. */
	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(pipe(fds), 0);
	/* Fewer, larger writes; a refusal only makes the test slower. */
	(void)fcntl(fds[1], F_SETPIPE_SZ, (int)MiB);
	*pid = fork();
	ck_assert_int_ge(*pid, 0);
	if (*pid == 0) {
		close(fds[1]);
		verifier(fds[0], segs, nseg, bits);
	}
	close(fds[0]);
	return fds[1];
}

static void
expect_verifier_ok(pid_t pid)
{
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "the verifier found the stream wrong (status %#x; see "
		      "its message above)",
		      status);
}

/* An anonymous mapping of len zero bytes whose pages cost nothing until
 * touched; NULL (after saying why) where the system refuses one. */
static unsigned char *
map_zeros(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED) {
		fprintf(stderr, "skipped: cannot map %zu bytes: %s\n", len,
			strerror(errno));
		return NULL;
	}
	return p;
}

/* Put some non-zero bytes at the start, around each cut and at the end of
 * a large record, so that misplaced pieces do not compare equal. */
static void
mark(unsigned char *p, size_t len)
{
	for (size_t cut = 0; cut < len; cut += RIO_CUT) {
		size_t from = cut < 100 ? 0 : cut - 100;
		size_t to = cut + 100 > len ? len : cut + 100;
		tu_fill(p + from, to - from, cut + 1);
	}
	tu_fill(p + len - (len < 100 ? len : 100), len < 100 ? len : 100, 7);
}

/* ================================================================ recordio */

static const char *const concat_options[] = {
	"format=recordio",
	"format=RecordIO,buffer_size=4K",
	"format=recordio,recordio_multipart=concat",
	"recordio_multipart=concat,format=recordio,buffer_size=4K",
};

static const char *const dmlc_options[] = {
	"format=recordio,recordio_multipart=dmlc",
	"format=recordio,recordio_multipart=dmlc,buffer_size=4K",
	"recordio_multipart=DMLC,format=RecordIO",
};

START_TEST(test_recordio_concat_lengths_0_to_64_are_byte_exact)
{
	recset rs = {0};
	buf want = {0};
	unsigned char *got;
	size_t n;

	for (size_t len = 0; len <= 64; len++)
		rs_add_random(&rs, len, len);
	spec_stream(&want, ENC_CONCAT, &rs, 0, rs.n);
	got = written(concat_options[_i], &rs, &n);
	expect_bytes(got, n, &want, concat_options[_i]);
	free(got);
	buf_free(&want);
	rs_free(&rs);
}
END_TEST

START_TEST(test_recordio_concat_large_records_are_byte_exact)
{
	static const size_t sizes[] = {100 * KiB, 3, 3 * MiB + 1, 0,
				       4 * KiB - 8, 4 * KiB - 9, 4 * KiB,
				       100 * KiB + 2, 5};
	recset rs = {0};
	buf want = {0};
	unsigned char *got;
	size_t n;

	for (int i = 0; i < NELEM(sizes); i++)
		rs_add_random(&rs, sizes[i], (uint64_t)i + 100);
	spec_stream(&want, ENC_CONCAT, &rs, 0, rs.n);
	got = written(concat_options[_i], &rs, &n);
	expect_bytes(got, n, &want, concat_options[_i]);
	free(got);
	buf_free(&want);
	rs_free(&rs);
}
END_TEST

START_TEST(test_recordio_concat_keeps_the_magic_inside_a_record)
{
	static const size_t at[] = {0, 4, 8, 60};
	recset rs = {0};
	buf want = {0};
	unsigned char *got;
	size_t n;

	rs_add_with_magic(&rs, 64, 1, at, 4);
	rs_add(&rs, magic_bytes, 4);
	spec_stream(&want, ENC_CONCAT, &rs, 0, rs.n);
	/* one part each: 8 + 64, 8 + 4 */
	ck_assert_uint_eq(want.len, 84);
	got = written(concat_options[_i], &rs, &n);
	expect_bytes(got, n, &want, concat_options[_i]);
	free(got);
	buf_free(&want);
	rs_free(&rs);
}
END_TEST

START_TEST(test_recordio_concat_round_trip_through_reader)
{
	static const char *const read_options[] = {
		"format=recordio",
		"format=recordio,recordio_multipart=concat",
	};
	static const size_t at[] = {0, 12};
	recset rs = {0};
	unsigned char *got;
	size_t n;

	for (size_t len = 0; len <= 9; len++)
		rs_add_random(&rs, len, len);
	rs_add_with_magic(&rs, 40, 3, at, 2);
	rs_add_random(&rs, 70 * KiB + 3, 4);
	got = written("format=recordio,buffer_size=4K", &rs, &n);
	for (int k = 0; k < NELEM(read_options); k++)
		expect_reads_back(got, n, TU_CHUNK, read_options[k], &rs);
	free(got);
	rs_free(&rs);
}
END_TEST

/* Records that need cutting: 2^29 - 1 bytes is still one part; 2^29 + 5 is
 * two (2^29 - 4 and 9 bytes); 2^30 is three (2^29 - 4, 2^29 - 4, 8). */
START_TEST(test_recordio_concat_cuts_records_of_2_29_bytes_and_more)
{
	static const size_t sizes[] = {RIO_LIMIT - 1, RIO_LIMIT + 5,
				       2 * RIO_LIMIT};
	unsigned char *rec[3], heads[12][8];
	seg segs[32];
	size_t nseg = 0, nhead = 0;
	pipemode_writer *w;
	pid_t pid;
	int fd;

#if SIZE_MAX <= 0xffffffffu
	fprintf(stderr, "skipped: a 32-bit size_t\n");
	return;
#endif
	for (int i = 0; i < 3; i++) {
		rec[i] = map_zeros(sizes[i]);
		if (rec[i] == NULL)
			return;
		mark(rec[i], sizes[i]);
	}
	/* "x" between them, to see that framing goes on right after */
	for (int i = 0; i < 3; i++) {
		size_t left = sizes[i], off = 0;
		unsigned cflag = left < RIO_LIMIT ? 0 : 1;

		while (left > 0) {
			size_t part = cflag == 0 || left <= RIO_CUT ? left
								    : RIO_CUT;
			if (cflag != 0 && part == left)
				cflag = 3;
			rio_header(heads[nhead], cflag, part);
			segs[nseg++] = (seg){heads[nhead++], 8};
			segs[nseg++] = (seg){rec[i] + off, part};
			segs[nseg++] = (seg){NULL, (4 - part % 4) % 4};
			off += part;
			left -= part;
			cflag = 2;
		}
		rio_header(heads[nhead], 0, 1);
		segs[nseg++] = (seg){heads[nhead++], 8};
		segs[nseg++] = (seg){(const unsigned char *)"x", 1};
		segs[nseg++] = (seg){NULL, 3};
	}
	ck_assert_uint_eq(nhead, 9); /* 1 + 2 + 3 parts, 3 "x" */
	fd = spawn_verifier(segs, (size_t)nseg, 0, &pid);
	w = open_writer(fd, "format=recordio");
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(pipemode_write(w, rec[i], sizes[i]),
				 PIPEMODE_OK);
		ck_assert_int_eq(pipemode_write(w, "x", 1), PIPEMODE_OK);
	}
	ck_assert_int_eq(pipemode_writer_close(w), PIPEMODE_OK);
	close(fd);
	expect_verifier_ok(pid);
	for (int i = 0; i < 3; i++)
		munmap(rec[i], sizes[i]);
}
END_TEST

START_TEST(test_recordio_concat_accepts_2_29_zero_bytes)
{
	unsigned char *big = map_zeros(RIO_LIMIT);
	pipemode_writer *w;
	int fd;

	if (big == NULL)
		return;
	fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	w = open_writer(fd, "format=recordio");
	ck_assert_int_eq(pipemode_write(w, big, RIO_LIMIT), PIPEMODE_OK);
	ck_assert_int_eq(pipemode_writer_close(w), PIPEMODE_OK);
	close(fd);
	munmap(big, RIO_LIMIT);
}
END_TEST

/* ---------------------------------------------------------------- dmlc */

START_TEST(test_recordio_dmlc_matches_dmlc_core)
{
	static const size_t at0[] = {0}, at4[] = {4}, mid[] = {48},
			    end[] = {96}, twice[] = {20, 24},
			    unaligned[] = {1, 6, 11}, both[] = {0, 5, 8, 96},
			    ends[] = {0, 96};
	static const unsigned char two_magics[8] = {0x0a, 0x23, 0xd7, 0xce,
						    0x0a, 0x23, 0xd7, 0xce};
	recset rs = {0};
	buf want = {0};
	unsigned char *got, *all;
	size_t n, at_all[25];

	rs_add_with_magic(&rs, 100, 1, at0, 1);
	rs_add_with_magic(&rs, 100, 2, at4, 1);
	rs_add_with_magic(&rs, 100, 3, mid, 1);
	rs_add_with_magic(&rs, 100, 4, end, 1);     /* the last 4 bytes */
	rs_add_with_magic(&rs, 101, 5, end, 1);     /* then 1 more byte */
	rs_add_with_magic(&rs, 99, 6, mid, 1);      /* unaligned length */
	rs_add_with_magic(&rs, 100, 7, twice, 1);
	rs_add_with_magic(&rs, 100, 8, twice + 1, 1);
	rs_add_with_magic(&rs, 100, 9, twice, 2);   /* magic magic */
	rs_add_with_magic(&rs, 100, 10, unaligned, 3);
	rs_add_with_magic(&rs, 100, 11, both, 4);
	rs_add_with_magic(&rs, 100, 12, ends, 2);
	rs_add_with_magic(&rs, 7, 13, unaligned + 1, 0);
	rs_add(&rs, magic_bytes, 4);                /* only the magic */
	rs_add(&rs, two_magics, 8);
	rs_add(&rs, two_magics + 1, 7);             /* unaligned only */
	rs_add(&rs, two_magics, 5);
	for (size_t len = 0; len <= 64; len++)
		rs_add_random(&rs, len, len + 1000);
	/* a record that is nothing but magic words: a part per word */
	all = malloc(4 * KiB);
	for (size_t i = 0; i < 4 * KiB; i += 4)
		memcpy(all + i, magic_bytes, 4);
	rs_add(&rs, all, 4 * KiB);
	free(all);
	/* larger than the small buffer, cut in many places */
	for (size_t i = 0; i < 25; i++)
		at_all[i] = 4 * (i * i * 37 % 25000);
	rs_add_with_magic(&rs, 100 * KiB + 3, 14, at_all, 25);
	rs_add_random(&rs, 3 * MiB, 15);
	spec_stream(&want, ENC_DMLC, &rs, 0, rs.n);
	got = written(dmlc_options[_i], &rs, &n);
	expect_bytes(got, n, &want, dmlc_options[_i]);
	free(got);
	buf_free(&want);
	rs_free(&rs);
}
END_TEST

/* Hand-checked cases, so that a mistake shared by spec_dmlc and the library
 * cannot pass. */
START_TEST(test_recordio_dmlc_record_of_only_the_magic_is_two_empty_parts)
{
	recset rs = {0};
	buf want = {0};
	unsigned char h[8], *got;
	size_t n;

	rs_add(&rs, magic_bytes, 4);
	rio_header(h, 1, 0);
	buf_add(&want, h, 8);
	rio_header(h, 3, 0);
	buf_add(&want, h, 8);
	got = written(dmlc_options[0], &rs, &n);
	expect_bytes(got, n, &want, "magic only");
	free(got);
	buf_free(&want);
	rs_free(&rs);
}
END_TEST

START_TEST(test_recordio_dmlc_cuts_at_aligned_magic_and_drops_it)
{
	/* "ab" "cd" MAGIC "efgh" MAGIC MAGIC "ij" */
	static const unsigned char rec[] = {
		'a', 'b', 'c', 'd', 0x0a, 0x23, 0xd7, 0xce, 'e', 'f', 'g',
		'h', 0x0a, 0x23, 0xd7, 0xce, 0x0a, 0x23, 0xd7, 0xce, 'i', 'j'};
	recset rs = {0};
	buf want = {0};
	unsigned char h[8], *got;
	size_t n;

	rs_add(&rs, rec, sizeof(rec));
	rio_header(h, 1, 4);
	buf_add(&want, h, 8);
	buf_add(&want, "abcd", 4);
	rio_header(h, 2, 4);
	buf_add(&want, h, 8);
	buf_add(&want, "efgh", 4);
	rio_header(h, 2, 0);
	buf_add(&want, h, 8);
	rio_header(h, 3, 2);
	buf_add(&want, h, 8);
	buf_add(&want, "ij\0\0", 4);
	got = written(dmlc_options[0], &rs, &n);
	expect_bytes(got, n, &want, "cut record");
	free(got);
	buf_free(&want);
	rs_free(&rs);
}
END_TEST

START_TEST(test_recordio_dmlc_unaligned_magic_is_not_cut)
{
	static const size_t at[] = {1, 6, 11};
	recset rs = {0};
	buf want = {0};
	unsigned char h[8], *got;
	size_t n;

	rs_add_with_magic(&rs, 17, 5, at, 3);
	rio_header(h, 0, 17);
	buf_add(&want, h, 8);
	buf_add(&want, rs.p[0], 17);
	buf_zeros(&want, 3);
	got = written(dmlc_options[0], &rs, &n);
	expect_bytes(got, n, &want, "unaligned magic");
	free(got);
	buf_free(&want);
	rs_free(&rs);
}
END_TEST

START_TEST(test_recordio_dmlc_round_trip_through_reader)
{
	static const size_t at[] = {0, 4, 12, 16, 36}, un[] = {2, 9};
	recset rs = {0};
	unsigned char *got;
	size_t n;

	rs_add_with_magic(&rs, 40, 1, at, 5);
	rs_add_with_magic(&rs, 43, 2, at + 2, 3);
	rs_add_with_magic(&rs, 15, 3, un, 2);
	rs_add(&rs, magic_bytes, 4);
	rs_add(&rs, "", 0);
	rs_add_random(&rs, 9, 4);
	rs_add_with_magic(&rs, 9 * KiB + 1, 5, at, 5);
	got = written("format=recordio,recordio_multipart=dmlc,buffer_size=4K",
		      &rs, &n);
	expect_reads_back(got, n, TU_CHUNK,
			  "format=recordio,recordio_multipart=dmlc", &rs);
	free(got);
	rs_free(&rs);
}
END_TEST

START_TEST(test_recordio_dmlc_refuses_2_29_bytes_and_stays_usable)
{
	unsigned char *big = map_zeros(RIO_LIMIT), *got;
	recset rs = {0};
	buf want = {0};
	pipemode_writer *w;
	char path[4200], size[32];
	size_t n;
	int fd;

	if (big == NULL)
		return;
	rs_add(&rs, "before", 6);
	rs_add(&rs, "after", 5);
	spec_stream(&want, ENC_DMLC, &rs, 0, rs.n);
	fd = open_tmp("dmlc_big", path, sizeof(path));
	w = open_writer(fd, "format=recordio,recordio_multipart=dmlc");
	write_recs(w, &rs, 0, 1);
	ck_assert_int_eq(pipemode_write(w, big, RIO_LIMIT), PIPEMODE_ETOOBIG);
	snprintf(size, sizeof(size), "%zu", RIO_LIMIT);
	ck_assert_msg(strstr(pipemode_writer_errmsg(w), size) != NULL,
		      "message does not name the size: %s",
		      pipemode_writer_errmsg(w));
	/* nothing of it was written; the next record goes out */
	write_recs(w, &rs, 1, 2);
	ck_assert_int_eq(pipemode_writer_close(w), PIPEMODE_OK);
	close(fd);
	got = tu_read_file(path, &n);
	expect_bytes(got, n, &want, "around the refused record");
	free(got);
	buf_free(&want);
	rs_free(&rs);
	munmap(big, RIO_LIMIT);
}
END_TEST

START_TEST(test_recordio_dmlc_accepts_2_29_minus_1_bytes)
{
	unsigned char *big = map_zeros(RIO_LIMIT - 1), h[8];
	seg segs[3];
	pipemode_writer *w;
	pid_t pid;
	int fd;

	if (big == NULL)
		return;
	mark(big, RIO_LIMIT - 1);
	rio_header(h, 0, RIO_LIMIT - 1);
	segs[0] = (seg){h, 8};
	segs[1] = (seg){big, RIO_LIMIT - 1};
	segs[2] = (seg){NULL, 1};
	fd = spawn_verifier(segs, 3, 0, &pid);
	w = open_writer(fd, "format=recordio,recordio_multipart=dmlc");
	ck_assert_int_eq(pipemode_write(w, big, RIO_LIMIT - 1), PIPEMODE_OK);
	ck_assert_int_eq(pipemode_writer_close(w), PIPEMODE_OK);
	close(fd);
	expect_verifier_ok(pid);
	munmap(big, RIO_LIMIT - 1);
}
END_TEST

/* ================================================================ compression */

static const struct {
	const char *options;
	int enc;
	int bits;      /* windowBits for inflateInit2 */
	const char *read_options;
} zcases[] = {
	{"compression=gzip", ENC_TFRECORD, 15 + 16, "compression=gzip"},
	{"compression=zlib", ENC_TFRECORD, 15, "compression=zlib"},
	{"format=recordio,compression=gzip,buffer_size=4K", ENC_CONCAT, 15 + 16,
	 "format=recordio,compression=gzip"},
	{"format=recordio,compression=zlib,compression_level=9", ENC_CONCAT,
	 15, "format=recordio,compression=zlib"},
	{"format=recordio,recordio_multipart=dmlc,compression=gzip,"
	 "compression_level=1",
	 ENC_DMLC, 15 + 16,
	 "format=recordio,recordio_multipart=dmlc,compression=gzip"},
	{"compression=GZIP,buffer_size=4K,compression_level=0", ENC_TFRECORD,
	 15 + 16, "compression=gzip"},
};

/* Small and large records, compressible and not. */
static void
mixed_records(recset *rs)
{
	static const size_t at[] = {0, 8};
	unsigned char text[5000];

	for (size_t i = 0; i < sizeof(text); i++)
		text[i] = (unsigned char)("pipe mode "[i % 10]);
	rs_add(rs, "", 0);
	rs_add(rs, "hello", 5);
	rs_add(rs, text, sizeof(text));
	rs_add_random(rs, 3 * MiB + 1, 1);
	for (size_t len = 0; len < 40; len++)
		rs_add_random(rs, len, len + 50);
	rs_add_with_magic(rs, 30, 2, at, 2);
	rs_add_random(rs, 100 * KiB, 3);
	rs_add(rs, text, 1000);
}

START_TEST(test_compressed_output_inflates_to_the_plain_stream)
{
	recset rs = {0};
	buf want = {0};
	unsigned char *got, *plain;
	size_t n, nplain, unused;
	int ended;

	mixed_records(&rs);
	spec_stream(&want, zcases[_i].enc, &rs, 0, rs.n);
	got = written(zcases[_i].options, &rs, &n);
	plain = inflate_bytes(got, n, zcases[_i].bits, Z_NO_FLUSH, &nplain,
			      &ended, &unused);
	ck_assert_msg(ended, "%s: the compressed stream does not end",
		      zcases[_i].options);
	ck_assert_uint_eq(unused, 0);
	expect_bytes(plain, nplain, &want, zcases[_i].options);
	free(plain);
	free(got);
	buf_free(&want);
	rs_free(&rs);
}
END_TEST

START_TEST(test_compressed_flush_makes_everything_so_far_inflatable)
{
	recset rs = {0};
	buf want = {0};
	pipemode_writer *w;
	char path[4200];
	unsigned char *got, *plain;
	size_t n, nplain, unused, half;
	int fd, ended;

	mixed_records(&rs);
	half = rs.n / 2;
	fd = open_tmp("flushed", path, sizeof(path));
	w = open_writer(fd, zcases[_i].options);
	for (int round = 0; round < 2; round++) {
		size_t upto = round == 0 ? half : rs.n;

		write_recs(w, &rs, round == 0 ? 0 : half, upto);
		ck_assert_int_eq(pipemode_writer_flush(w), PIPEMODE_OK);
		/* a second flush with nothing new is harmless */
		ck_assert_int_eq(pipemode_writer_flush(w), PIPEMODE_OK);
		got = tu_read_file(path, &n);
		/* a sync flush ends with an empty stored block */
		ck_assert_uint_ge(n, 4);
		ck_assert_msg(memcmp(got + n - 4, "\0\0\xff\xff", 4) == 0,
			      "no sync marker at the end of the flushed "
			      "bytes");
		plain = inflate_bytes(got, n, zcases[_i].bits, Z_SYNC_FLUSH,
				      &nplain, &ended, &unused);
		ck_assert_msg(!ended, "the stream ended at a flush");
		ck_assert_uint_eq(unused, 0);
		buf_free(&want);
		spec_stream(&want, zcases[_i].enc, &rs, 0, upto);
		expect_bytes(plain, nplain, &want, "after flush");
		free(plain);
		free(got);
	}
	ck_assert_int_eq(pipemode_writer_close(w), PIPEMODE_OK);
	close(fd);
	got = tu_read_file(path, &n);
	plain = inflate_bytes(got, n, zcases[_i].bits, Z_NO_FLUSH, &nplain,
			      &ended, &unused);
	ck_assert_msg(ended, "the stream does not end after close");
	ck_assert_uint_eq(unused, 0);
	expect_bytes(plain, nplain, &want, "after close");
	free(plain);
	free(got);
	buf_free(&want);
	rs_free(&rs);
}
END_TEST

START_TEST(test_compressed_round_trip_through_reader)
{
	recset rs = {0};
	unsigned char *got;
	size_t n;

	mixed_records(&rs);
	got = written(zcases[_i].options, &rs, &n);
	expect_reads_back(got, n, 4096, zcases[_i].read_options, &rs);
	expect_reads_back(got, n, TU_WHOLE, zcases[_i].read_options, &rs);
	free(got);
	rs_free(&rs);
}
END_TEST

START_TEST(test_compressed_empty_stream_is_complete)
{
	recset rs = {0};
	unsigned char *got, *plain;
	size_t n, nplain, unused;
	int ended;

	got = written(zcases[_i].options, &rs, &n);
	ck_assert_uint_gt(n, 0); /* header and trailer */
	plain = inflate_bytes(got, n, zcases[_i].bits, Z_NO_FLUSH, &nplain,
			      &ended, &unused);
	ck_assert(ended);
	ck_assert_uint_eq(unused, 0);
	ck_assert_uint_eq(nplain, 0);
	free(plain);
	free(got);
}
END_TEST

START_TEST(test_gzip_output_is_read_by_the_gzip_program)
{
	recset rs = {0};
	buf want = {0}, out = {0};
	pipemode_writer *w = NULL;
	char path[4200], cmd[4300], chunk[65536];
	FILE *f;
	size_t n;

	if (system("command -v gzip >/dev/null 2>&1") != 0) {
		fprintf(stderr, "skipped: no gzip program on PATH\n");
		return;
	}
	mixed_records(&rs);
	spec_stream(&want, ENC_CONCAT, &rs, 0, rs.n);
	tu_tmppath(path, sizeof(path), "out.gz");
	ck_assert_int_eq(pipemode_writer_open_path(
				 &w, path, "format=recordio,compression=gzip"),
			 PIPEMODE_OK);
	write_recs(w, &rs, 0, rs.n);
	ck_assert_int_eq(pipemode_writer_close(w), PIPEMODE_OK);
	snprintf(cmd, sizeof(cmd), "gzip -dc '%s'", path);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&out, chunk, n);
	ck_assert_int_eq(pclose(f), 0);
	expect_bytes(out.p, out.len, &want, "gzip -dc");
	unlink(path);
	buf_free(&out);
	buf_free(&want);
	rs_free(&rs);
}
END_TEST

START_TEST(test_compression_level_is_applied)
{
	unsigned char text[64 * 1024];
	recset rs = {0};
	unsigned char *stored, *best;
	size_t nstored, nbest;

	for (size_t i = 0; i < sizeof(text); i++)
		text[i] = (unsigned char)("abcdefgh"[i % 8]);
	rs_add(&rs, text, sizeof(text));
	stored = written("compression=zlib,compression_level=0", &rs, &nstored);
	best = written("compression=zlib,compression_level=9", &rs, &nbest);
	/* level 0 stores: the 16 framing bytes and more */
	ck_assert_uint_gt(nstored, sizeof(text) + 16);
	ck_assert_uint_lt(nbest, 1024);
	free(stored);
	free(best);
	rs_free(&rs);
}
END_TEST

/* A record over 4 GiB goes to deflate in slices: avail_in is 32 bits. */
START_TEST(test_gzip_record_over_4_gib)
{
#if SIZE_MAX <= 0xffffffffu
	fprintf(stderr, "skipped: a 32-bit size_t\n");
#else
	size_t len = ((size_t)4 << 30) + 5;
	unsigned char *big, head[12], foot[4];
	seg segs[3];
	pipemode_writer *w;
	pid_t pid;
	int fd;

	big = map_zeros(len);
	if (big == NULL)
		return;
	tu_fill(big, 64, 1);
	tu_fill(big + UINT_MAX - 32, 64, 2);
	tu_fill(big + len - 64, 64, 3);
	/* TFRecord framing, from its definition */
	tu_put_le64(head, len);
	tu_put_le32(head + 8, tu_masked_crc(head, 8));
	tu_put_le32(foot, tu_masked_crc(big, len));
	segs[0] = (seg){head, 12};
	segs[1] = (seg){big, len};
	segs[2] = (seg){foot, 4};
	fd = spawn_verifier(segs, 3, 15 + 16, &pid);
	w = open_writer(fd, "compression=gzip,compression_level=1");
	ck_assert_int_eq(pipemode_write(w, big, len), PIPEMODE_OK);
	ck_assert_int_eq(pipemode_writer_close(w), PIPEMODE_OK);
	close(fd);
	expect_verifier_ok(pid);
	munmap(big, len);
#endif
}
END_TEST

/* ================================================================ errors */

/* Open a writer with options on /dev/null, expect rc and a message holding
 * each of the needles, and a handle that can only be closed. */
static void
expect_open_fails(const char *options, int rc, const char *needle)
{
	pipemode_writer *w = NULL;
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	int got;

	ck_assert_int_ge(fd, 0);
	got = pipemode_writer_open_fd(&w, fd, options);
	ck_assert_msg(got == rc, "\"%s\": %d (%s), expected %s: %s", options,
		      got, pipemode_code_name(got), pipemode_code_name(rc),
		      pipemode_writer_errmsg(w));
	ck_assert_ptr_nonnull(w);
	ck_assert_msg(tu_contains(pipemode_writer_errmsg(w), needle),
		      "\"%s\": message \"%s\" lacks \"%s\"", options,
		      pipemode_writer_errmsg(w), needle);
	ck_assert_int_eq(pipemode_write(w, "x", 1), PIPEMODE_ESTATE);
	ck_assert_int_eq(pipemode_writer_flush(w), PIPEMODE_ESTATE);
	ck_assert_int_eq(pipemode_writer_close(w), PIPEMODE_OK);
	close(fd);
}

START_TEST(test_format_lines_has_no_writer)
{
	expect_open_fails("format=lines", PIPEMODE_EUNSUPPORTED,
			  "no writer for format 'lines'");
	expect_open_fails("format=TextLine", PIPEMODE_EUNSUPPORTED,
			  "no writer for format 'TextLine'");
}
END_TEST

static int
dummy_create(void **state, const pipemode_framer_config *cfg, char *msg,
	     size_t msgsize)
{
	(void)cfg;
	(void)msg;
	(void)msgsize;
	*state = NULL;
	return PIPEMODE_OK;
}

static int
dummy_frame(void *state, const unsigned char *win, size_t avail, int eof,
	    pipemode_frame *f)
{
	(void)state;
	(void)win;
	(void)avail;
	(void)eof;
	(void)f;
	return PIPEMODE_EOF;
}

static void
dummy_destroy(void *state)
{
	(void)state;
}

START_TEST(test_format_of_a_registered_framer_has_no_writer)
{
	pipemode_framer_ops ops;

	memset(&ops, 0, sizeof(ops));
	ops.size = sizeof(ops);
	ops.name = "writer-test-fmt";
	ops.create = dummy_create;
	ops.frame = dummy_frame;
	ops.destroy = dummy_destroy;
	ck_assert_int_eq(pipemode_register_framer(&ops), PIPEMODE_OK);
	expect_open_fails("format=Writer-Test-Fmt", PIPEMODE_EUNSUPPORTED,
			  "no writer for format 'Writer-Test-Fmt'");
}
END_TEST

START_TEST(test_unknown_format_is_eoption)
{
	expect_open_fails("format=parquet", PIPEMODE_EOPTION, "'format'");
	expect_open_fails("format=auto", PIPEMODE_EOPTION, "'format'");
	expect_open_fails("format=", PIPEMODE_EOPTION, "'format'");
}
END_TEST

START_TEST(test_bad_recordio_multipart_is_eoption)
{
	expect_open_fails("format=recordio,recordio_multipart=foo",
			  PIPEMODE_EOPTION, "'recordio_multipart'");
	expect_open_fails("format=recordio,recordio_multipart=",
			  PIPEMODE_EOPTION, "'recordio_multipart'");
}
END_TEST

START_TEST(test_recordio_multipart_with_tfrecord_is_eoption)
{
	expect_open_fails("recordio_multipart=dmlc", PIPEMODE_EOPTION,
			  "option 'recordio_multipart' applies to format "
			  "recordio");
	expect_open_fails("format=tfrecord,recordio_multipart=concat",
			  PIPEMODE_EOPTION, "applies to format recordio");
	/* the last format counts */
	expect_open_fails("format=recordio,recordio_multipart=dmlc,"
			  "format=tfrecord",
			  PIPEMODE_EOPTION, "applies to format recordio");
}
END_TEST

START_TEST(test_bad_compression_is_eoption)
{
	expect_open_fails("compression=bzip2", PIPEMODE_EOPTION,
			  "'compression'");
	expect_open_fails("compression=auto", PIPEMODE_EOPTION,
			  "'compression'");
	expect_open_fails("compression=gzip,compression_level=10",
			  PIPEMODE_EOPTION, "'compression_level'");
	expect_open_fails("compression=gzip,compression_level=-1",
			  PIPEMODE_EOPTION, "'compression_level'");
	expect_open_fails("compression_level=5", PIPEMODE_EOPTION,
			  "'compression_level'");
}
END_TEST

/* Ignore SIGPIPE, as a server would, and give a pipe whose reader left. */
static void
closed_pipe(int fds[2])
{
	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(pipe(fds), 0);
	close(fds[0]);
}

static void
expect_sticky_eio(pipemode_writer *w, const char *at)
{
	ck_assert_msg(strstr(pipemode_writer_errmsg(w), strerror(EPIPE)) != NULL,
		      "%s", pipemode_writer_errmsg(w));
	ck_assert_msg(strstr(pipemode_writer_errmsg(w), at) != NULL,
		      "\"%s\" lacks \"%s\"", pipemode_writer_errmsg(w), at);
	ck_assert_int_eq(pipemode_write(w, "x", 1), PIPEMODE_EIO);
	ck_assert_int_eq(pipemode_write(w, NULL, 0), PIPEMODE_EIO);
	ck_assert_int_eq(pipemode_writer_flush(w), PIPEMODE_EIO);
	ck_assert_int_eq(pipemode_writer_close(w), PIPEMODE_EIO);
}

START_TEST(test_compressed_write_to_closed_pipe_is_sticky_eio)
{
	size_t len = 256 * KiB;
	unsigned char *big = malloc(len);
	pipemode_writer *w;
	int fds[2];

	closed_pipe(fds);
	/* Random bytes do not compress: deflate gives out blocks before it
	 * has taken all of them, and they fill the 4K output buffer. */
	ck_assert_ptr_nonnull(big);
	tu_fill(big, len, 1);
	w = open_writer(fds[1], "compression=gzip,buffer_size=4K");
	ck_assert_int_eq(pipemode_write(w, big, len), PIPEMODE_EIO);
	expect_sticky_eio(w, "write failed at byte 0:");
	close(fds[1]);
	free(big);
}
END_TEST

START_TEST(test_compressed_flush_to_closed_pipe_is_sticky_eio)
{
	pipemode_writer *w;
	int fds[2];

	closed_pipe(fds);
	w = open_writer(fds[1], "format=recordio,compression=zlib");
	ck_assert_int_eq(pipemode_write(w, "abc", 3), PIPEMODE_OK);
	ck_assert_int_eq(pipemode_writer_flush(w), PIPEMODE_EIO);
	expect_sticky_eio(w, "write failed at byte 0:");
	close(fds[1]);
}
END_TEST

START_TEST(test_compressed_close_to_closed_pipe_is_eio)
{
	pipemode_writer *w;
	int fds[2];

	closed_pipe(fds);
	w = open_writer(fds[1], "compression=gzip");
	ck_assert_int_eq(pipemode_write(w, "abc", 3), PIPEMODE_OK);
	ck_assert_int_eq(pipemode_writer_close(w), PIPEMODE_EIO);
	close(fds[1]);
}
END_TEST

/* The message counts the bytes that did get out, compressed. */
START_TEST(test_write_failure_names_the_bytes_written)
{
	pipemode_writer *w;
	char at[64], drain[65536];
	ssize_t got;
	int fds[2];

	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(pipe(fds), 0);
	w = open_writer(fds[1], "compression=gzip,name=the-pipe");
	ck_assert_int_eq(pipemode_write(w, "abc", 3), PIPEMODE_OK);
	ck_assert_int_eq(pipemode_writer_flush(w), PIPEMODE_OK);
	/* no blocking: a flush that wrote nothing must fail, not hang */
	ck_assert_int_eq(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
	got = read(fds[0], drain, sizeof(drain));
	ck_assert_int_gt(got, 0);
	close(fds[0]);
	ck_assert_int_eq(pipemode_write(w, "defg", 4), PIPEMODE_OK);
	ck_assert_int_eq(pipemode_writer_flush(w), PIPEMODE_EIO);
	snprintf(at, sizeof(at), "the-pipe: write failed at byte %zd:", got);
	ck_assert_msg(strncmp(pipemode_writer_errmsg(w), at, strlen(at)) == 0,
		      "\"%s\" does not start with \"%s\"",
		      pipemode_writer_errmsg(w), at);
	ck_assert_int_eq(pipemode_writer_close(w), PIPEMODE_EIO);
	close(fds[1]);
}
END_TEST

static Suite *
writer_suite(void)
{
	Suite *s = suite_create("writer");
	TCase *tc;

	tc = tcase_create("recordio");
	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, tu_tmpdir_setup, tu_tmpdir_teardown);
	tcase_add_loop_test(tc, test_recordio_concat_lengths_0_to_64_are_byte_exact,
			    0, NELEM(concat_options));
	tcase_add_loop_test(tc, test_recordio_concat_large_records_are_byte_exact,
			    0, NELEM(concat_options));
	tcase_add_loop_test(tc, test_recordio_concat_keeps_the_magic_inside_a_record,
			    0, NELEM(concat_options));
	tcase_add_loop_test(tc, test_recordio_concat_round_trip_through_reader,
			    0, TU_NCHUNKS);
	tcase_add_test(tc, test_recordio_concat_accepts_2_29_zero_bytes);
	tcase_add_loop_test(tc, test_recordio_dmlc_matches_dmlc_core, 0,
			    NELEM(dmlc_options));
	tcase_add_test(tc,
		       test_recordio_dmlc_record_of_only_the_magic_is_two_empty_parts);
	tcase_add_test(tc, test_recordio_dmlc_cuts_at_aligned_magic_and_drops_it);
	tcase_add_test(tc, test_recordio_dmlc_unaligned_magic_is_not_cut);
	tcase_add_loop_test(tc, test_recordio_dmlc_round_trip_through_reader,
			    0, TU_NCHUNKS);
	tcase_add_test(tc,
		       test_recordio_dmlc_refuses_2_29_bytes_and_stays_usable);
	suite_add_tcase(s, tc);

	/* Gigabytes through a pipe: seconds, not milliseconds. */
	tc = tcase_create("huge");
	tcase_set_tags(tc, "slow"); /* gigabytes: not under valgrind */
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_recordio_concat_cuts_records_of_2_29_bytes_and_more);
	tcase_add_test(tc, test_recordio_dmlc_accepts_2_29_minus_1_bytes);
	tcase_add_test(tc, test_gzip_record_over_4_gib);
	suite_add_tcase(s, tc);

	tc = tcase_create("compression");
	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, tu_tmpdir_setup, tu_tmpdir_teardown);
	tcase_add_loop_test(tc, test_compressed_output_inflates_to_the_plain_stream,
			    0, NELEM(zcases));
	tcase_add_loop_test(tc,
			    test_compressed_flush_makes_everything_so_far_inflatable,
			    0, NELEM(zcases));
	tcase_add_loop_test(tc, test_compressed_round_trip_through_reader, 0,
			    NELEM(zcases));
	tcase_add_loop_test(tc, test_compressed_empty_stream_is_complete, 0,
			    NELEM(zcases));
	tcase_add_test(tc, test_gzip_output_is_read_by_the_gzip_program);
	tcase_add_test(tc, test_compression_level_is_applied);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_format_lines_has_no_writer);
	tcase_add_test(tc, test_format_of_a_registered_framer_has_no_writer);
	tcase_add_test(tc, test_unknown_format_is_eoption);
	tcase_add_test(tc, test_bad_recordio_multipart_is_eoption);
	tcase_add_test(tc, test_recordio_multipart_with_tfrecord_is_eoption);
	tcase_add_test(tc, test_bad_compression_is_eoption);
	tcase_add_test(tc, test_compressed_write_to_closed_pipe_is_sticky_eio);
	tcase_add_test(tc, test_compressed_flush_to_closed_pipe_is_sticky_eio);
	tcase_add_test(tc, test_compressed_close_to_closed_pipe_is_eio);
	tcase_add_test(tc, test_write_failure_names_the_bytes_written);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(writer_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
