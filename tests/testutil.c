/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers for the Check programs; see testutil.h. */
#include "config.h"

#include <ftw.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

const size_t tu_chunks[TU_NCHUNKS] = {1, 7, 4096, TU_WHOLE};

/* ------------------------------------------------------------ encoding */

uint32_t
tu_mask(uint32_t crc)
{
	return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

uint32_t
tu_masked_crc(const void *p, size_t n)
{
	return tu_mask(pipemode_crc32c(0, p, n));
}

void
tu_put_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

void
tu_put_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* ------------------------------------------------------------ PRNG */

uint64_t
tu_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

void
tu_fill(void *buf, size_t n, uint64_t seed)
{
	unsigned char *p = buf;
	uint64_t st = seed, v = 0;

	for (size_t i = 0; i < n; i++) {
		if (i % 8 == 0)
			v = tu_rand(&st);
		p[i] = (unsigned char)(v >> (8 * (i % 8)));
	}
}

/* ------------------------------------------------------------ streams */

static void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL) {
		fprintf(stderr, "testutil: out of memory (%zu bytes)\n", n);
		abort();
	}
	return q;
}

void
tu_stream_init(tu_stream *s)
{
	memset(s, 0, sizeof(*s));
}

void
tu_stream_free(tu_stream *s)
{
	free(s->p);
	free(s->rec);
	memset(s, 0, sizeof(*s));
}

static unsigned char *
stream_grow(tu_stream *s, size_t n)
{
	if (s->cap - s->len < n) {
		size_t cap = s->cap ? s->cap : 256;
		while (cap - s->len < n)
			cap *= 2;
		s->p = xrealloc(s->p, cap);
		s->cap = cap;
	}
	s->len += n;
	return s->p + s->len - n;
}

void
tu_stream_add_raw(tu_stream *s, const void *p, size_t n)
{
	if (n > 0)
		memcpy(stream_grow(s, n), p, n);
}

void
tu_stream_add_header(tu_stream *s, uint64_t len, unsigned flags)
{
	unsigned char *h = stream_grow(s, 12);

	tu_put_le64(h, len);
	tu_put_le32(h + 8, tu_masked_crc(h, 8) ^
				   ((flags & TU_BAD_LEN_CRC) ? 0x00010000u : 0));
}

size_t
tu_stream_add(tu_stream *s, const void *payload, size_t len, unsigned flags)
{
	uint64_t offset = s->len;
	unsigned char *f;

	tu_stream_add_header(s, len, flags);
	tu_stream_add_raw(s, payload, len);
	f = stream_grow(s, 4);
	tu_put_le32(f, tu_masked_crc(s->p + offset + 12, len) ^
			       ((flags & TU_BAD_DATA_CRC) ? 0x80u : 0));
	if (s->nrec == s->reccap) {
		s->reccap = s->reccap ? 2 * s->reccap : 16;
		s->rec = xrealloc(s->rec, s->reccap * sizeof(*s->rec));
	}
	s->rec[s->nrec].offset = offset;
	s->rec[s->nrec].len = len;
	s->rec[s->nrec].flags = flags;
	return s->nrec++;
}

size_t
tu_stream_add_random(tu_stream *s, size_t len, uint64_t seed, unsigned flags)
{
	unsigned char *tmp = xrealloc(NULL, len);
	size_t i;

	tu_fill(tmp, len, seed);
	i = tu_stream_add(s, tmp, len, flags);
	free(tmp);
	return i;
}

const unsigned char *
tu_stream_payload(const tu_stream *s, size_t i)
{
	return s->p + s->rec[i].offset + 12;
}

uint64_t
tu_stream_rec_end(const tu_stream *s, size_t i)
{
	return s->rec[i].offset + 16 + s->rec[i].len;
}

/* ------------------------------------------------------------ memory source */

void
tu_src_init(tu_src *src, const void *p, size_t len, size_t chunk)
{
	memset(src, 0, sizeof(*src));
	src->p = p;
	src->len = len;
	src->chunk = chunk;
	src->fail_at = SIZE_MAX;
	src->fail_errno = EIO;
}

ssize_t
tu_src_read(void *ctx, void *buf, size_t len)
{
	tu_src *s = ctx;
	size_t n;

	s->calls++;
	/* Not ck_assert: every passing one records a mark point, which is
	 * slow at a million calls. */
	if (len == 0 || buf == NULL)
		ck_abort_msg("the callback was asked for %zu bytes at %p", len,
			     buf);
	if (s->eintr_every && (s->calls - 1) % s->eintr_every == 0) {
		s->eintrs++;
		return -EINTR;
	}
	if (s->fail_at != SIZE_MAX && s->pos >= s->fail_at)
		return -s->fail_errno;
	n = s->len - s->pos;
	if (n > len)
		n = len;
	if (n > s->chunk)
		n = s->chunk;
	if (s->fail_at != SIZE_MAX && n > s->fail_at - s->pos)
		n = s->fail_at - s->pos;
	if (n > SSIZE_MAX)
		n = SSIZE_MAX;
	memcpy(buf, s->p + s->pos, n);
	s->pos += n;
	return (ssize_t)n;
}

pipemode_reader *
tu_open_src(tu_src *src, const char *options)
{
	pipemode_reader *r = NULL;
	int rc = pipemode_open_callback(&r, tu_src_read, src, options);

	ck_assert_msg(rc == PIPEMODE_OK, "open_callback(\"%s\"): %d %s",
		      options ? options : "(null)", rc, pipemode_errmsg(r));
	ck_assert_ptr_nonnull(r);
	return r;
}

/* ------------------------------------------------------------ reading */

static const char tu_sentinel[1];

int
tu_read_all(pipemode_reader *r, tu_result *res)
{
	memset(res, 0, sizeof(*res));
	for (;;) {
		const void *data = tu_sentinel;
		size_t len = 12345;
		int rc = pipemode_next(r, &data, &len);
		pipemode_stats st;

		if (rc != PIPEMODE_OK) {
			ck_assert_msg(data == NULL && len == 0,
				      "rc %d after %zu records but data %p len %zu",
				      rc, res->n, data, len);
			res->rc = rc;
			res->index = pipemode_record_index(r);
			res->offset = pipemode_byte_offset(r);
			snprintf(res->errmsg, sizeof(res->errmsg), "%s",
				 pipemode_errmsg(r));
			if (rc == PIPEMODE_EOF)
				ck_assert_msg(res->errmsg[0] == '\0',
					      "errmsg after EOF: \"%s\"",
					      res->errmsg);
			else
				ck_assert_msg(res->errmsg[0] != '\0',
					      "empty errmsg after rc %d", rc);
			/* The final state sticks. */
			for (int k = 0; k < 2; k++) {
				data = tu_sentinel;
				len = 12345;
				ck_assert_int_eq(pipemode_next(r, &data, &len),
						 rc);
				ck_assert_ptr_null(data);
				ck_assert_uint_eq(len, 0);
				ck_assert_str_eq(pipemode_errmsg(r),
						 res->errmsg);
			}
			return rc;
		}
		ck_assert_msg(data != NULL && data != tu_sentinel,
			      "record %zu: data pointer %p", res->n, data);
		if (res->n == res->cap) {
			res->cap = res->cap ? 2 * res->cap : 16;
			res->v = xrealloc(res->v, res->cap * sizeof(*res->v));
		}
		/* Calls that are not pipemode_next must leave the record's
		 * bytes alone: they are copied only after these. */
		res->v[res->n].index = pipemode_record_index(r);
		res->v[res->n].offset = pipemode_byte_offset(r);
		ck_assert_str_eq(pipemode_errmsg(r), "");
		memset(&st, 0xa5, sizeof(st));
		st.size = sizeof(st);
		ck_assert_int_eq(pipemode_get_stats(r, &st), PIPEMODE_OK);
		ck_assert_uint_eq(st.records, res->n + 1);
		res->v[res->n].data = xrealloc(NULL, len);
		if (len > 0)
			memcpy(res->v[res->n].data, data, len);
		res->v[res->n].len = len;
		res->n++;
	}
}

void
tu_result_free(tu_result *res)
{
	for (size_t i = 0; i < res->n; i++)
		free(res->v[i].data);
	free(res->v);
	memset(res, 0, sizeof(*res));
}

void
tu_check_records(const tu_result *res, const tu_stream *s, size_t nrec,
		 int skip_bad)
{
	size_t j = 0;

	ck_assert_uint_le(nrec, s->nrec);
	for (size_t i = 0; i < nrec; i++) {
		const tu_got *g;

		if (skip_bad && (s->rec[i].flags & TU_BAD_DATA_CRC))
			continue;
		ck_assert_msg(j < res->n,
			      "record %zu missing: got %zu records (rc %d: %s)",
			      i, res->n, res->rc, res->errmsg);
		g = &res->v[j];
		ck_assert_msg(g->len == s->rec[i].len,
			      "record %zu: length %zu, expected %zu", i, g->len,
			      s->rec[i].len);
		ck_assert_msg(g->len == 0 ||
				      memcmp(g->data, tu_stream_payload(s, i),
					     g->len) == 0,
			      "record %zu (%zu bytes): payload differs", i,
			      g->len);
		ck_assert_msg(g->index == i, "record %zu: index %llu", i,
			      (unsigned long long)g->index);
		ck_assert_msg(g->offset == s->rec[i].offset,
			      "record %zu: offset %llu, expected %llu", i,
			      (unsigned long long)g->offset,
			      (unsigned long long)s->rec[i].offset);
		j++;
	}
	ck_assert_msg(res->n == j, "got %zu records, expected %zu", res->n, j);
}

void
tu_check_error(const tu_result *res, int rc, uint64_t index, uint64_t offset)
{
	ck_assert_msg(res->rc == rc, "rc %d (%s), expected %d (%s); errmsg \"%s\"",
		      res->rc, pipemode_code_name(res->rc), rc,
		      pipemode_code_name(rc), res->errmsg);
	ck_assert_msg(res->index == index, "index %llu, expected %llu (%s)",
		      (unsigned long long)res->index,
		      (unsigned long long)index, res->errmsg);
	ck_assert_msg(res->offset == offset, "offset %llu, expected %llu (%s)",
		      (unsigned long long)res->offset,
		      (unsigned long long)offset, res->errmsg);
}

void
tu_check_stats(pipemode_reader *r, uint64_t records, uint64_t payload_bytes,
	       uint64_t skipped, uint64_t bytes_read)
{
	pipemode_stats st;

	memset(&st, 0xa5, sizeof(st));
	st.size = sizeof(st);
	ck_assert_int_eq(pipemode_get_stats(r, &st), PIPEMODE_OK);
	ck_assert_uint_eq(st.size, sizeof(st));
	ck_assert_uint_eq(st.records, records);
	ck_assert_uint_eq(st.payload_bytes, payload_bytes);
	ck_assert_uint_eq(st.skipped, skipped);
	ck_assert_uint_eq(st.bytes_read, bytes_read);
}

int
tu_contains(const char *haystack, const char *needle)
{
	size_t n = strlen(needle);

	for (; *haystack; haystack++)
		if (strncasecmp(haystack, needle, n) == 0)
			return 1;
	return n == 0;
}

/* ------------------------------------------------------------ recordio */

void
tu_rio_init(tu_rio *s)
{
	memset(s, 0, sizeof(*s));
}

void
tu_rio_free(tu_rio *s)
{
	for (size_t i = 0; i < s->nrec; i++) {
		free(s->rec[i].concat);
		free(s->rec[i].dmlc);
	}
	free(s->rec);
	free(s->part_off);
	free(s->cur.concat);
	free(s->cur.dmlc);
	free(s->p);
	memset(s, 0, sizeof(*s));
}

static unsigned char *
rio_grow(tu_rio *s, size_t n)
{
	if (s->cap - s->len < n) {
		size_t cap = s->cap ? s->cap : 256;
		while (cap - s->len < n)
			cap *= 2;
		s->p = xrealloc(s->p, cap);
		s->cap = cap;
	}
	s->len += n;
	return s->p + s->len - n;
}

void
tu_rio_raw(tu_rio *s, const void *p, size_t n)
{
	if (n > 0)
		memcpy(rio_grow(s, n), p, n);
}

void
tu_rio_header(tu_rio *s, uint32_t magic, uint32_t lrec)
{
	unsigned char *h = rio_grow(s, TU_RIO_HEADER);

	tu_put_le32(h, magic);
	tu_put_le32(h + 4, lrec);
}

/* dst[0..*len) += p[0..n) */
static void
rio_append(unsigned char **dst, size_t *len, const void *p, size_t n)
{
	*dst = xrealloc(*dst, *len + n);
	if (n > 0)
		memcpy(*dst + *len, p, n);
	*len += n;
}

static void
rio_push(tu_rio *s, const tu_rio_rec *rec)
{
	if (s->nrec == s->reccap) {
		s->reccap = s->reccap ? 2 * s->reccap : 16;
		s->rec = xrealloc(s->rec, s->reccap * sizeof(*s->rec));
	}
	s->rec[s->nrec++] = *rec;
}

size_t
tu_rio_part(tu_rio *s, unsigned cflag, const void *p, size_t len)
{
	static const unsigned char magic[4] = {0x0a, 0x23, 0xd7, 0xce};
	uint64_t off = s->len;
	size_t pad = (4 - len % 4) % 4;
	size_t part = s->nparts;

	if (len >= ((size_t)1 << 29) || cflag > 7) {
		fprintf(stderr, "tu_rio_part: cflag %u length %zu\n", cflag,
			len);
		abort();
	}
	if (s->nparts == s->partcap) {
		s->partcap = s->partcap ? 2 * s->partcap : 64;
		s->part_off = xrealloc(s->part_off,
				       s->partcap * sizeof(*s->part_off));
	}
	s->part_off[s->nparts++] = off;
	tu_rio_header(s, TU_RIO_MAGIC, (uint32_t)cflag << 29 | (uint32_t)len);
	tu_rio_raw(s, p, len);
	memset(rio_grow(s, pad), s->pad_byte, pad);

	if (cflag == TU_RIO_WHOLE && !s->open) {
		tu_rio_rec rec;

		memset(&rec, 0, sizeof(rec));
		rec.offset = off;
		rec.end = s->len;
		rec.first_part = part;
		rec.nparts = 1;
		rio_append(&rec.concat, &rec.concat_len, p, len);
		rio_append(&rec.dmlc, &rec.dmlc_len, p, len);
		rio_push(s, &rec);
	} else if (cflag == TU_RIO_FIRST && !s->open) {
		memset(&s->cur, 0, sizeof(s->cur));
		s->cur.offset = off;
		s->cur.first_part = part;
		s->cur.nparts = 1;
		rio_append(&s->cur.concat, &s->cur.concat_len, p, len);
		rio_append(&s->cur.dmlc, &s->cur.dmlc_len, p, len);
		s->open = 1;
	} else if ((cflag == TU_RIO_MIDDLE || cflag == TU_RIO_LAST) &&
		   s->open) {
		s->cur.nparts++;
		rio_append(&s->cur.concat, &s->cur.concat_len, p, len);
		rio_append(&s->cur.dmlc, &s->cur.dmlc_len, magic, 4);
		rio_append(&s->cur.dmlc, &s->cur.dmlc_len, p, len);
		if (cflag == TU_RIO_LAST) {
			s->cur.end = s->len;
			rio_push(s, &s->cur);
			memset(&s->cur, 0, sizeof(s->cur));
			s->open = 0;
		}
	}
	return part;
}

size_t
tu_rio_add(tu_rio *s, const void *p, size_t len)
{
	size_t n = s->nrec;

	tu_rio_part(s, TU_RIO_WHOLE, p, len);
	if (s->nrec != n + 1) {
		fprintf(stderr, "tu_rio_add: inside an open record\n");
		abort();
	}
	return n;
}

size_t
tu_rio_add_random(tu_rio *s, size_t len, uint64_t seed)
{
	unsigned char *tmp = xrealloc(NULL, len);
	size_t i;

	tu_fill(tmp, len, seed);
	i = tu_rio_add(s, tmp, len);
	free(tmp);
	return i;
}

size_t
tu_rio_add_parts(tu_rio *s, const void *p, size_t len, const size_t *lens,
		 size_t nparts)
{
	const unsigned char *b = p;
	size_t n = s->nrec, done = 0;

	if (nparts < 2 || s->open) {
		fprintf(stderr, "tu_rio_add_parts: %zu parts\n", nparts);
		abort();
	}
	for (size_t k = 0; k < nparts; k++) {
		unsigned cflag = k == 0 ? TU_RIO_FIRST :
				 k + 1 == nparts ? TU_RIO_LAST :
						   TU_RIO_MIDDLE;

		if (lens[k] > len - done) {
			fprintf(stderr, "tu_rio_add_parts: lengths overrun\n");
			abort();
		}
		tu_rio_part(s, cflag, b + done, lens[k]);
		done += lens[k];
	}
	if (done != len || s->nrec != n + 1) {
		fprintf(stderr, "tu_rio_add_parts: lengths do not add up\n");
		abort();
	}
	return n;
}

size_t
tu_rio_add_dmlc(tu_rio *s, const void *p, size_t len)
{
	static const unsigned char magic[4] = {0x0a, 0x23, 0xd7, 0xce};
	const unsigned char *b = p;
	size_t n = s->nrec, dptr = 0;

	if (s->open) {
		fprintf(stderr, "tu_rio_add_dmlc: inside an open record\n");
		abort();
	}
	/* dmlc-core src/recordio.cc RecordIOWriter::WriteRecord */
	for (size_t i = 0; i + 4 <= len; i += 4) {
		if (memcmp(b + i, magic, 4) == 0) {
			tu_rio_part(s, dptr == 0 ? TU_RIO_FIRST : TU_RIO_MIDDLE,
				    b + dptr, i - dptr);
			dptr = i + 4;
		}
	}
	tu_rio_part(s, dptr != 0 ? TU_RIO_LAST : TU_RIO_WHOLE, b + dptr,
		    len - dptr);
	if (s->nrec != n + 1 || s->rec[n].dmlc_len != len ||
	    (len > 0 && memcmp(s->rec[n].dmlc, p, len) != 0)) {
		fprintf(stderr, "tu_rio_add_dmlc: does not read back\n");
		abort();
	}
	return n;
}

void
tu_rio_check_records(const tu_result *res, const tu_rio *s, size_t nrec,
		     int dmlc)
{
	ck_assert_uint_le(nrec, s->nrec);
	ck_assert_msg(res->n >= nrec,
		      "got %zu records, expected %zu (rc %d: %s)", res->n, nrec,
		      res->rc, res->errmsg);
	for (size_t i = 0; i < nrec; i++) {
		const tu_got *g = &res->v[i];
		const tu_rio_rec *want = &s->rec[i];
		const unsigned char *wp = dmlc ? want->dmlc : want->concat;
		size_t wlen = dmlc ? want->dmlc_len : want->concat_len;

		ck_assert_msg(g->len == wlen,
			      "record %zu (%zu parts, %s): length %zu, "
			      "expected %zu",
			      i, want->nparts, dmlc ? "dmlc" : "concat", g->len,
			      wlen);
		ck_assert_msg(g->len == 0 || memcmp(g->data, wp, g->len) == 0,
			      "record %zu (%zu bytes, %zu parts, %s): payload "
			      "differs",
			      i, g->len, want->nparts,
			      dmlc ? "dmlc" : "concat");
		ck_assert_msg(g->index == i, "record %zu: index %llu", i,
			      (unsigned long long)g->index);
		ck_assert_msg(g->offset == want->offset,
			      "record %zu: offset %llu, expected %llu", i,
			      (unsigned long long)g->offset,
			      (unsigned long long)want->offset);
	}
	ck_assert_msg(res->n == nrec, "got %zu records, expected %zu", res->n,
		      nrec);
}

/* ------------------------------------------------------------ files */

char tu_tmpdir[4096];

void
tu_tmpdir_setup(void)
{
	const char *base = getenv("TMPDIR");

	if (base == NULL || *base == '\0')
		base = "/tmp";
	snprintf(tu_tmpdir, sizeof(tu_tmpdir), "%s/pipemode-test-XXXXXX",
		 base);
	if (mkdtemp(tu_tmpdir) == NULL) {
		perror(tu_tmpdir);
		abort();
	}
}

static int
open_up_cb(const char *path, const struct stat *sb, int type,
	   struct FTW *ftw)
{
	(void)ftw;
	if (type == FTW_D || type == FTW_DNR)
		chmod(path, (sb->st_mode & 07777) | 0700);
	return 0;
}

static int
remove_cb(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	remove(path);
	return 0;
}

void
tu_rm_tree(const char *path)
{
	if (path == NULL || path[0] == '\0')
		return;
	nftw(path, open_up_cb, 16, FTW_PHYS);
	nftw(path, remove_cb, 16, FTW_PHYS | FTW_DEPTH);
}

void
tu_tmpdir_teardown(void)
{
	if (tu_tmpdir[0] == '\0')
		return;
	/* What tests made below it goes too, directories (a File-mode
	 * channel) included. */
	tu_rm_tree(tu_tmpdir);
	tu_tmpdir[0] = '\0';
}

void
tu_tmppath(char *buf, size_t size, const char *name)
{
	int n;

	ck_assert_msg(tu_tmpdir[0] != '\0', "no temporary directory");
	n = snprintf(buf, size, "%s/%s", tu_tmpdir, name);
	ck_assert(n > 0 && (size_t)n < size);
}

unsigned char *
tu_read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	unsigned char *p;
	size_t got = 0;

	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(fstat(fd, &st), 0);
	p = xrealloc(NULL, (size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, p + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		ck_assert_msg(n > 0, "%s: read: %s", path,
			      n < 0 ? strerror(errno) : "unexpected end");
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return p;
}

void
tu_write_file(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	static const size_t whole[] = {SIZE_MAX, 0};

	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	ck_assert_msg(tu_write_pieces(fd, p, n, whole) == 0, "%s: write: %s",
		      path, strerror(errno));
	ck_assert_int_eq(close(fd), 0);
}

int
tu_write_pieces(int fd, const void *p, size_t n, const size_t *sizes)
{
	const unsigned char *b = p;
	size_t k = 0;

	while (n > 0) {
		size_t want = sizes[k] < n ? sizes[k] : n;
		ssize_t w = write(fd, b, want);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
		if (sizes[++k] == 0)
			k = 0;
	}
	return 0;
}

pipemode_stats
tu_read_mem(const void *p, size_t n, size_t chunk, const char *options,
	    tu_result *res)
{
	tu_src src;
	pipemode_reader *r;
	pipemode_stats st;

	tu_src_init(&src, p, n, chunk);
	r = tu_open_src(&src, options);
	tu_read_all(r, res);
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	ck_assert_int_eq(pipemode_get_stats(r, &st), PIPEMODE_OK);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	return st;
}

void
tu_buf_reserve(tu_buf *b, size_t n)
{
	if (b->cap - b->len < n) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap - b->len < n)
			cap *= 2;
		b->p = realloc(b->p, cap);
		ck_assert_ptr_nonnull(b->p);
		b->cap = cap;
	}
}

void
tu_buf_add(tu_buf *b, const void *p, size_t n)
{
	tu_buf_reserve(b, n);
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

void
tu_buf_free(tu_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}
