/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The framer plug-in API: pipemode_register_framer() and the framer
 * contract, through a framer written here from the header alone:
 *
 *   u32len   each record is a u32 little-endian length and that many
 *            payload bytes.  0xffffffff is a corrupt length; a length with
 *            the top bit set marks a bad record of (length & 0x7fffffff)
 *            bytes (PIPEMODE_ECRC, so that skip_corrupt can step over it).
 *            Option u32len_max=N refuses longer records.
 *   mgr      the same behind a "MGR1" magic per record, with a sniff
 *            function, for format=auto.
 *
 * The framers check what the reader hands them (offsets, windows that come
 * again after NEED, message room) and count any breach; tests assert that
 * there was none.  Registration is process-wide: each framer is registered
 * once per process (tests run in forked children, but also work with
 * CK_FORK=no), and tests that register throwaway names use names of their
 * own.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define KiB ((size_t)1024)
#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ------------------------------------------------------------ the framers */

/* What the framers saw, for the tests to assert on. */
static struct {
	int creates, destroys;
	unsigned long frames, needs;
	unsigned long violations;
	char first_violation[256];
	const void *last_data; /* the payload pointer last returned */
	uint64_t cfg_max;
	int cfg_verify_crc;
	size_t cfg_size;
	unsigned long sniff_calls;
	size_t sniff_short_ok; /* a sniff may see fewer than 64 bytes only
				  for a stream of exactly this length */
} seen;

static void
reset_seen(void)
{
	memset(&seen, 0, sizeof(seen));
	seen.sniff_short_ok = SIZE_MAX;
}

static void
violation(const char *what)
{
	if (seen.violations++ == 0)
		snprintf(seen.first_violation, sizeof(seen.first_violation),
			 "%s", what);
}

struct u32 {
	int magic;          /* records start with "MGR1" */
	uint64_t max;
	uint64_t next_off;  /* where the reader should say the window is */
	/* after a NEED: what the window was */
	int after_need;
	size_t need_avail;
	unsigned char head[8];
	size_t head_len;
};

static int
u32_create_common(void **state, const pipemode_framer_config *cfg,
		  char *msg, size_t msgsize, int magic)
{
	struct u32 *u = calloc(1, sizeof(*u));

	if (u == NULL) {
		snprintf(msg, msgsize, "out of memory");
		return PIPEMODE_ENOMEM;
	}
	if (cfg == NULL ||
	    cfg->size < offsetof(pipemode_framer_config, max_record_size) +
				sizeof(cfg->max_record_size))
		violation("config too small");
	else {
		seen.cfg_size = cfg->size;
		seen.cfg_max = cfg->max_record_size;
		seen.cfg_verify_crc = cfg->verify_crc;
		u->max = cfg->max_record_size;
	}
	if (msg == NULL || msgsize == 0)
		violation("create without message room");
	u->magic = magic;
	seen.creates++;
	*state = u;
	return PIPEMODE_OK;
}

static int
u32_create(void **state, const pipemode_framer_config *cfg, char *msg,
	   size_t msgsize)
{
	return u32_create_common(state, cfg, msg, msgsize, 0);
}

static int
mgr_create(void **state, const pipemode_framer_config *cfg, char *msg,
	   size_t msgsize)
{
	return u32_create_common(state, cfg, msg, msgsize, 1);
}

static int
u32_option(void *state, const char *key, const char *value, char *msg,
	   size_t msgsize)
{
	struct u32 *u = state;
	char *end;
	unsigned long long v;

	if (strcmp(key, "u32len_max") != 0)
		return 1;
	errno = 0;
	v = strtoull(value, &end, 10);
	if (value[0] < '0' || value[0] > '9' || *end != '\0' || errno != 0) {
		snprintf(msg, msgsize, "option 'u32len_max': '%s' is not a "
				       "number of bytes",
			 value);
		return PIPEMODE_EOPTION;
	}
	if (v < u->max)
		u->max = v;
	return PIPEMODE_OK;
}

static void
u32_destroy(void *state)
{
	seen.destroys++;
	free(state);
}

static int
u32_frame(void *state, const unsigned char *win, size_t avail, int eof,
	  pipemode_frame *f)
{
	struct u32 *u = state;
	size_t hdr = u->magic ? 8 : 4;
	uint32_t len;
	uint64_t total;

	seen.frames++;
	/* What the reader promises. */
	if (f->size < offsetof(pipemode_frame, msgsize) + sizeof(f->msgsize))
		violation("pipemode_frame too small");
	if (f->msg == NULL || f->msgsize == 0)
		violation("no room for a message");
	if (f->offset != u->next_off)
		violation("window offset is not where the last record ended");
	if (avail > 0 && win == NULL)
		violation("NULL window");
	if (u->after_need) {
		if (avail <= u->need_avail && !eof)
			violation("called again after NEED without more bytes");
		if (avail < u->head_len ||
		    memcmp(win, u->head, u->head_len) != 0)
			violation("the window changed after NEED");
		u->after_need = 0;
	}

	if (avail < hdr) {
		if (!eof)
			goto need_header;
		if (avail == 0)
			return PIPEMODE_EOF;
		snprintf(f->msg, f->msgsize, "stream ends inside a header "
					     "(%zu of %zu bytes)",
			 avail, hdr);
		return PIPEMODE_ETRUNCATED;
	}
	if (u->magic && memcmp(win, "MGR1", 4) != 0) {
		snprintf(f->msg, f->msgsize, "bad magic");
		return PIPEMODE_ECORRUPT;
	}
	len = (uint32_t)win[hdr - 4] | (uint32_t)win[hdr - 3] << 8 |
	      (uint32_t)win[hdr - 2] << 16 | (uint32_t)win[hdr - 1] << 24;
	if (len == 0xffffffffu) {
		snprintf(f->msg, f->msgsize, "length 0xffffffff is reserved");
		return PIPEMODE_ECORRUPT;
	}
	if ((len & 0x7fffffffu) > u->max) {
		/* before anything is asked for it */
		snprintf(f->msg, f->msgsize, "record of %u bytes is over the "
					     "limit of %llu",
			 len & 0x7fffffffu, (unsigned long long)u->max);
		return PIPEMODE_ETOOBIG;
	}
	total = hdr + (len & 0x7fffffffu);
	if (avail < total) {
		if (eof) {
			snprintf(f->msg, f->msgsize,
				 "stream ends inside a record (%zu of %llu "
				 "bytes)",
				 avail, (unsigned long long)total);
			return PIPEMODE_ETRUNCATED;
		}
		f->need = (size_t)total;
		goto need;
	}
	if (len & 0x80000000u) {
		snprintf(f->msg, f->msgsize, "record marked bad");
		f->consumed = (size_t)total;
		u->next_off += total;
		return PIPEMODE_ECRC;
	}
	f->data = win + hdr;
	f->len = len;
	f->consumed = (size_t)total;
	u->next_off += total;
	seen.last_data = f->data;
	return PIPEMODE_FRAME_RECORD;

need_header:
	f->need = hdr;
need:
	seen.needs++;
	u->after_need = 1;
	u->need_avail = avail;
	u->head_len = avail < sizeof(u->head) ? avail : sizeof(u->head);
	memcpy(u->head, win, u->head_len);
	return PIPEMODE_FRAME_NEED;
}

static int
mgr_sniff(const unsigned char *buf, size_t len)
{
	seen.sniff_calls++;
	if (len > 64)
		violation("sniff given more than 64 bytes");
	if (len < 64 && len != seen.sniff_short_ok)
		violation("sniff given fewer than 64 bytes of a longer stream");
	if (len < 4)
		return memcmp(buf, "MGR1", len) == 0 ? -1 : 0;
	return memcmp(buf, "MGR1", 4) == 0;
}

static const pipemode_framer_ops u32len_ops = {
	sizeof(pipemode_framer_ops),
	"u32len",
	u32_create,
	u32_option,
	u32_frame,
	u32_destroy,
	NULL,
};

static const pipemode_framer_ops mgr_ops = {
	sizeof(pipemode_framer_ops),
	"mgr",
	mgr_create,
	u32_option,
	u32_frame,
	u32_destroy,
	mgr_sniff,
};

/* Register ops once in this process. */
static void
register_once(const pipemode_framer_ops *ops, int *done)
{
	if (!*done) {
		int rc = pipemode_register_framer(ops);
		ck_assert_msg(rc == PIPEMODE_OK, "register %s: %d", ops->name,
			      rc);
		*done = 1;
	}
	reset_seen();
}

static int u32len_done, mgr_done;
#define USE_U32LEN() register_once(&u32len_ops, &u32len_done)
#define USE_MGR() register_once(&mgr_ops, &mgr_done)

/* ------------------------------------------------------------ streams */

typedef struct ustream {
	unsigned char *p;
	size_t len, cap;
	size_t nrec;
	uint64_t off[64];
	size_t plen[64];
	size_t pay[64];
} ustream;

static void
us_raw(ustream *s, const void *p, size_t n)
{
	if (s->cap - s->len < n) {
		size_t cap = s->cap ? s->cap : 256;
		while (cap - s->len < n)
			cap *= 2;
		s->p = realloc(s->p, cap);
		ck_assert_ptr_nonnull(s->p);
		s->cap = cap;
	}
	if (n > 0)
		memcpy(s->p + s->len, p, n);
	s->len += n;
}

static void
us_le32(ustream *s, uint32_t v)
{
	unsigned char b[4];
	tu_put_le32(b, v);
	us_raw(s, b, 4);
}

/* A record; magic: with "MGR1" before it. */
static void
us_add(ustream *s, const void *p, size_t n, int magic)
{
	ck_assert_uint_lt(s->nrec, 64);
	s->off[s->nrec] = s->len;
	if (magic)
		us_raw(s, "MGR1", 4);
	us_le32(s, (uint32_t)n);
	s->pay[s->nrec] = s->len;
	s->plen[s->nrec] = n;
	s->nrec++;
	us_raw(s, p, n);
}

static void
us_add_random(ustream *s, size_t n, uint64_t seed, int magic)
{
	unsigned char *tmp = malloc(n ? n : 1);

	ck_assert_ptr_nonnull(tmp);
	tu_fill(tmp, n, seed);
	us_add(s, tmp, n, magic);
	free(tmp);
}

static void
us_sample(ustream *s, int magic)
{
	static const size_t sizes[] = {0, 1, 3, 5, 4096, 5000, 100000, 2, 0,
				       65536};

	memset(s, 0, sizeof(*s));
	for (int i = 0; i < NELEM(sizes); i++)
		us_add_random(s, sizes[i], (uint64_t)i + 10, magic);
}

static void
us_check(const tu_result *res, const ustream *s, size_t nrec)
{
	ck_assert_msg(res->n == nrec, "got %zu records, expected %zu (%s)",
		      res->n, nrec, res->errmsg);
	for (size_t i = 0; i < nrec; i++) {
		ck_assert_uint_eq(res->v[i].len, s->plen[i]);
		ck_assert_msg(res->v[i].len == 0 ||
				      memcmp(res->v[i].data, s->p + s->pay[i],
					     s->plen[i]) == 0,
			      "record %zu differs", i);
		ck_assert_uint_eq(res->v[i].index, i);
		ck_assert_uint_eq(res->v[i].offset, s->off[i]);
	}
}

static void
check_no_violation(void)
{
	ck_assert_msg(seen.violations == 0,
		      "%lu breaches of the framer contract, first: %s",
		      seen.violations, seen.first_violation);
	ck_assert_msg(seen.creates == seen.destroys,
		      "%d framers created, %d destroyed", seen.creates,
		      seen.destroys);
}

/* ------------------------------------------------------------ round trips */

static const char *const u32len_formats[] = {
	"format=u32len", "format=U32LEN", "format=U32Len,buffer_size=4K",
};

START_TEST(test_records_round_trip)
{
	ustream s;

	USE_U32LEN();
	us_sample(&s, 0);
	for (int k = 0; k < NELEM(u32len_formats); k++) {
		tu_result res;
		pipemode_stats st = tu_read_mem(s.p, s.len, TU_CHUNK,
					     u32len_formats[k], &res);

		ck_assert_msg(res.rc == PIPEMODE_EOF, "%s: rc %d: %s",
			      u32len_formats[k], res.rc, res.errmsg);
		us_check(&res, &s, s.nrec);
		ck_assert_uint_eq(st.records, s.nrec);
		ck_assert_uint_eq(st.bytes_read, s.len);
		ck_assert_uint_eq(res.index, s.nrec);
		ck_assert_uint_eq(res.offset, s.len);
		tu_result_free(&res);
	}
	ck_assert_int_eq(seen.creates, NELEM(u32len_formats));
	check_no_violation();
	free(s.p);
}
END_TEST

START_TEST(test_payload_pointers_pass_through_untouched)
{
	/* The framer's payload points into the window; the reader hands that
	 * very pointer to the caller (zero-copy). */
	ustream s;
	tu_src src;
	pipemode_reader *r;
	const unsigned char *prev = NULL;
	size_t prev_len = 0;

	USE_U32LEN();
	memset(&s, 0, sizeof(s));
	for (int i = 0; i < 40; i++)
		us_add_random(&s, (size_t)(i * 7 % 50), (uint64_t)i, 0);
	tu_src_init(&src, s.p, s.len, TU_CHUNK);
	r = tu_open_src(&src, "format=u32len");
	for (size_t i = 0; i < s.nrec; i++) {
		const void *data;
		size_t len;

		ck_assert_int_eq(pipemode_next(r, &data, &len), PIPEMODE_OK);
		ck_assert_ptr_eq(data, seen.last_data);
		ck_assert_uint_eq(len, s.plen[i]);
		ck_assert(memcmp(data, s.p + s.pay[i], len) == 0);
		/* all of it came in one read: records lie one after the
		 * other in the buffer, 4 length bytes apart */
		if (TU_CHUNK == TU_WHOLE && prev != NULL)
			ck_assert_ptr_eq(data, prev + prev_len + 4);
		prev = data;
		prev_len = len;
	}
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	check_no_violation();
	free(s.p);
}
END_TEST

START_TEST(test_need_answers_are_honoured)
{
	ustream s;
	tu_result res;

	USE_U32LEN();
	us_sample(&s, 0);
	tu_read_mem(s.p, s.len, TU_CHUNK, "format=u32len,buffer_size=4K", &res);
	ck_assert_int_eq(res.rc, PIPEMODE_EOF);
	us_check(&res, &s, s.nrec);
	/* the first call sees an empty window; records over 4K need more
	 * whatever the chunk */
	ck_assert_uint_ge(seen.needs, 3);
	if (TU_CHUNK == 1)
		ck_assert_uint_ge(seen.needs, s.len / 2);
	check_no_violation();
	tu_result_free(&res);
	free(s.p);
}
END_TEST

/* ------------------------------------------------------------ errors */

START_TEST(test_framer_errors_get_the_reader_prefix)
{
	ustream s;
	tu_result res;
	char want[256];

	USE_U32LEN();
	memset(&s, 0, sizeof(s));
	us_add(&s, "a", 1, 0);
	us_add(&s, "bb", 2, 0);
	us_le32(&s, 0xffffffffu);
	us_raw(&s, "more bytes", 10);
	tu_read_mem(s.p, s.len, TU_CHUNK, "format=U32LEN", &res);
	us_check(&res, &s, 2);
	tu_check_error(&res, PIPEMODE_ECORRUPT, 2, 11);
	ck_assert_str_eq(res.errmsg, "callback: u32len: record 2 at byte 11: "
				     "length 0xffffffff is reserved");
	tu_result_free(&res);

	tu_read_mem(s.p, s.len, TU_CHUNK, "format=u32len,name=train_0", &res);
	ck_assert_str_eq(res.errmsg, "train_0: u32len: record 2 at byte 11: "
				     "length 0xffffffff is reserved");
	tu_result_free(&res);

	/* ends inside record 1 */
	tu_read_mem(s.p, 10, TU_CHUNK, "format=u32len", &res);
	us_check(&res, &s, 1);
	tu_check_error(&res, PIPEMODE_ETRUNCATED, 1, 5);
	ck_assert_str_eq(res.errmsg, "callback: u32len: record 1 at byte 5: "
				     "stream ends inside a record (5 of 6 "
				     "bytes)");
	tu_result_free(&res);

	/* ends inside the length of record 1 */
	tu_read_mem(s.p, 7, TU_CHUNK, "format=u32len", &res);
	tu_check_error(&res, PIPEMODE_ETRUNCATED, 1, 5);
	snprintf(want, sizeof(want), "callback: u32len: record 1 at byte 5: "
				     "stream ends inside a header (2 of 4 "
				     "bytes)");
	ck_assert_str_eq(res.errmsg, want);
	tu_result_free(&res);
	check_no_violation();
	free(s.p);
}
END_TEST

START_TEST(test_framer_ecrc_can_be_skipped)
{
	ustream s;
	tu_result res;
	pipemode_stats st;

	USE_U32LEN();
	memset(&s, 0, sizeof(s));
	us_add(&s, "one", 3, 0);
	us_le32(&s, 0x80000000u | 5); /* record 1: bad, 5 bytes */
	us_raw(&s, "xxxxx", 5);
	us_add(&s, "three", 5, 0); /* index 2, at byte 16 */

	tu_read_mem(s.p, s.len, TU_CHUNK, "format=u32len", &res);
	ck_assert_uint_eq(res.n, 1);
	tu_check_error(&res, PIPEMODE_ECRC, 1, 7);
	ck_assert_str_eq(res.errmsg, "callback: u32len: record 1 at byte 7: "
				     "record marked bad");
	tu_result_free(&res);

	st = tu_read_mem(s.p, s.len, TU_CHUNK, "format=u32len,skip_corrupt=1",
		      &res);
	ck_assert_int_eq(res.rc, PIPEMODE_EOF);
	ck_assert_uint_eq(res.n, 2);
	ck_assert_uint_eq(res.v[1].len, 5);
	ck_assert(memcmp(res.v[1].data, "three", 5) == 0);
	ck_assert_uint_eq(res.v[1].index, 2);
	ck_assert_uint_eq(res.v[1].offset, 16);
	ck_assert_uint_eq(st.skipped, 1);
	check_no_violation();
	tu_result_free(&res);
	free(s.p);
}
END_TEST

/* ------------------------------------------------------------ options */

START_TEST(test_framer_option_is_applied)
{
	static const char *const options[] = {
		"format=u32len,u32len_max=10",
		"u32len_max=10,format=u32len",
		"format=u32len,u32len_max=50,u32len_max=10",
	};
	ustream s;

	USE_U32LEN();
	memset(&s, 0, sizeof(s));
	us_add(&s, "0123456789", 10, 0);
	us_add(&s, "", 0, 0);
	us_add(&s, "0123456789a", 11, 0);
	for (int k = 0; k < NELEM(options); k++) {
		tu_result res;

		tu_read_mem(s.p, s.len, TU_CHUNK, options[k], &res);
		us_check(&res, &s, 2);
		tu_check_error(&res, PIPEMODE_ETOOBIG, 2, 18);
		ck_assert_str_eq(res.errmsg,
				 "callback: u32len: record 2 at byte 18: "
				 "record of 11 bytes is over the limit of 10");
		tu_result_free(&res);
	}
	check_no_violation();
	free(s.p);
}
END_TEST

static const char *const bad_framer_options[] = {
	"format=u32len,u32len_max=abc",    /* the framer says EOPTION */
	"format=u32len,u32len_max=",       /* likewise */
	"format=u32len,u32len_other=1",    /* the framer says: not mine */
	"format=u32len,bogus=1",           /* nobody's */
	"format=tfrecord,u32len_max=10",   /* not this format's */
	"u32len_max=10",                   /* the default format's? no */
	"format=u32len,strip_cr=1",        /* another framer's */
	"format=u32len,recordio_multipart=dmlc",
};

START_TEST(test_bad_framer_options_are_eoption)
{
	pipemode_reader *r = NULL;
	tu_src src;
	const void *data;
	size_t len;
	int rc;
	const char *key;
	char keybuf[64];

	USE_U32LEN();
	tu_src_init(&src, "", 0, TU_WHOLE);
	rc = pipemode_open_callback(&r, tu_src_read, &src,
				    bad_framer_options[_i]);
	ck_assert_msg(rc == PIPEMODE_EOPTION, "\"%s\": rc %d (%s)",
		      bad_framer_options[_i], rc, pipemode_errmsg(r));
	/* the message names the key */
	key = strrchr(bad_framer_options[_i], ',');
	key = key != NULL ? key + 1 : bad_framer_options[_i];
	snprintf(keybuf, sizeof(keybuf), "%.*s", (int)strcspn(key, "="), key);
	ck_assert_msg(tu_contains(pipemode_errmsg(r), keybuf),
		      "\"%s\": errmsg \"%s\" does not name %s",
		      bad_framer_options[_i], pipemode_errmsg(r), keybuf);
	ck_assert_int_eq(pipemode_next(r, &data, &len), PIPEMODE_ESTATE);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	ck_assert_uint_eq(src.calls, 0);
	/* a framer made before the option failed is freed with the handle */
	ck_assert_int_eq(seen.creates, seen.destroys);
}
END_TEST

START_TEST(test_framer_gets_the_reader_config)
{
	ustream s;
	tu_result res;

	USE_U32LEN();
	memset(&s, 0, sizeof(s));
	us_add_random(&s, 1024, 1, 0);
	us_add_random(&s, 1025, 2, 0);
	tu_read_mem(s.p, s.len, TU_CHUNK,
		 "format=u32len,max_record_size=1K,verify_crc=0", &res);
	ck_assert_uint_eq(seen.cfg_max, 1024);
	ck_assert_int_eq(seen.cfg_verify_crc, 0);
	ck_assert_uint_ge(seen.cfg_size, sizeof(pipemode_framer_config));
	us_check(&res, &s, 1);
	tu_check_error(&res, PIPEMODE_ETOOBIG, 1, 1028);
	tu_result_free(&res);

	tu_read_mem(s.p, s.len, TU_CHUNK, "format=u32len", &res);
	ck_assert_uint_eq(seen.cfg_max, (uint64_t)256 * 1024 * 1024);
	ck_assert_int_eq(seen.cfg_verify_crc, 1);
	ck_assert_int_eq(res.rc, PIPEMODE_EOF);
	tu_result_free(&res);
	check_no_violation();
	free(s.p);
}
END_TEST

/* A framer without an option function takes no options. */
static const pipemode_framer_ops noopt_ops = {
	sizeof(pipemode_framer_ops), "noopt", u32_create, NULL, u32_frame,
	u32_destroy, NULL,
};
static int noopt_done;

START_TEST(test_framer_without_options_refuses_unknown_keys)
{
	pipemode_reader *r = NULL;
	tu_src src;
	tu_result res;
	ustream s;

	register_once(&noopt_ops, &noopt_done);
	memset(&s, 0, sizeof(s));
	us_add(&s, "abc", 3, 0);
	tu_src_init(&src, s.p, s.len, TU_WHOLE);
	ck_assert_int_eq(pipemode_open_callback(&r, tu_src_read, &src,
						"format=noopt,u32len_max=1"),
			 PIPEMODE_EOPTION);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	tu_read_mem(s.p, s.len, TU_CHUNK, "format=NoOpt", &res);
	ck_assert_int_eq(res.rc, PIPEMODE_EOF);
	us_check(&res, &s, 1);
	tu_result_free(&res);
	check_no_violation();
	free(s.p);
}
END_TEST

/* A framer whose create fails. */
static int
refusing_create(void **state, const pipemode_framer_config *cfg, char *msg,
		size_t msgsize)
{
	(void)cfg;
	*state = NULL;
	snprintf(msg, msgsize, "refusing to start: test");
	return PIPEMODE_EOPTION;
}

static const pipemode_framer_ops refusing_ops = {
	sizeof(pipemode_framer_ops), "refusing", refusing_create, NULL,
	u32_frame, u32_destroy, NULL,
};
static int refusing_done;

START_TEST(test_create_failure_fails_the_open)
{
	pipemode_reader *r = NULL;
	tu_src src;
	const void *data;
	size_t len;

	register_once(&refusing_ops, &refusing_done);
	tu_src_init(&src, "", 0, TU_WHOLE);
	ck_assert_int_eq(pipemode_open_callback(&r, tu_src_read, &src,
						"format=refusing"),
			 PIPEMODE_EOPTION);
	ck_assert_ptr_nonnull(r);
	ck_assert_msg(strstr(pipemode_errmsg(r), "refusing to start: test") !=
			      NULL,
		      "errmsg \"%s\"", pipemode_errmsg(r));
	ck_assert_int_eq(pipemode_next(r, &data, &len), PIPEMODE_ESTATE);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	ck_assert_int_eq(seen.destroys, 0);
}
END_TEST

/* ------------------------------------------------------------ contract breaches */

/* A framer that breaks the contract in the way its option says: the reader
 * must fail cleanly (an error, not a hang or an overrun). */
static int bad_mode;

static int
bad_frame(void *state, const unsigned char *win, size_t avail, int eof,
	  pipemode_frame *f)
{
	(void)state;
	switch (bad_mode) {
	case 0: /* NEED no more than it has */
		f->need = avail;
		return PIPEMODE_FRAME_NEED;
	case 1: /* a record spanning nothing */
		if (avail == 0 && !eof) {
			f->need = 1;
			return PIPEMODE_FRAME_NEED;
		}
		f->data = win;
		f->len = 0;
		f->consumed = 0;
		return PIPEMODE_FRAME_RECORD;
	case 2: /* a record spanning more than the window */
		if (avail == 0 && !eof) {
			f->need = 1;
			return PIPEMODE_FRAME_NEED;
		}
		f->data = win;
		f->len = avail;
		f->consumed = avail + 100;
		return PIPEMODE_FRAME_RECORD;
	case 3: /* NEED after the end */
		f->need = avail + 1;
		return PIPEMODE_FRAME_NEED;
	default: /* an answer that means nothing */
		return 7;
	}
}

static const pipemode_framer_ops breach_ops = {
	sizeof(pipemode_framer_ops), "breach", u32_create, NULL, bad_frame,
	u32_destroy, NULL,
};
static int breach_done;

START_TEST(test_contract_breaches_fail_cleanly)
{
	tu_result res;

	register_once(&breach_ops, &breach_done);
	bad_mode = _i / TU_NCHUNKS;
	tu_read_mem("0123456789", 10, tu_chunks[_i % TU_NCHUNKS],
		 "format=breach", &res);
	ck_assert_msg(res.rc < 0 && res.rc != PIPEMODE_EOF,
		      "breach %d: rc %d: %s", bad_mode, res.rc, res.errmsg);
	ck_assert_uint_eq(res.n, 0);
	ck_assert_msg(strncmp(res.errmsg, "callback: breach: record 0 at byte "
					  "0: ",
			      35) == 0,
		      "errmsg \"%s\"", res.errmsg);
	tu_result_free(&res);
}
END_TEST

/* ------------------------------------------------------------ registration */

static int
count_create(void **state, const pipemode_framer_config *cfg, char *msg,
	     size_t msgsize)
{
	return u32_create(state, cfg, msg, msgsize);
}

START_TEST(test_registration_errors_are_einval)
{
	static const char *const bad_names[] = {
		"",
		"a b",
		"a/b",
		"dot.ted",
		"colon:x",
		"comma,x",
		"eq=x",
		"caf\xc3\xa9",
		"0123456789012345678901234567890x", /* 32 characters */
		"tfrecord", "TFRecord", "TFRECORD",
		"recordio", "RecordIO",
		"lines", "LINES", "TextLine", "textline",
		"auto", "AUTO",
	};
	pipemode_framer_ops ops;

	ck_assert_int_eq(pipemode_register_framer(NULL), PIPEMODE_EINVAL);

	/* missing functions */
	ops = u32len_ops;
	ops.name = "missing-create";
	ops.create = NULL;
	ck_assert_int_eq(pipemode_register_framer(&ops), PIPEMODE_EINVAL);
	ops = u32len_ops;
	ops.name = "missing-frame";
	ops.frame = NULL;
	ck_assert_int_eq(pipemode_register_framer(&ops), PIPEMODE_EINVAL);
	ops = u32len_ops;
	ops.name = "missing-destroy";
	ops.destroy = NULL;
	ck_assert_int_eq(pipemode_register_framer(&ops), PIPEMODE_EINVAL);
	ops = u32len_ops;
	ops.name = NULL;
	ck_assert_int_eq(pipemode_register_framer(&ops), PIPEMODE_EINVAL);
	/* a size that does not even cover destroy, or nothing at all */
	ops = u32len_ops;
	ops.name = "too-small";
	ops.size = offsetof(pipemode_framer_ops, destroy);
	ck_assert_int_eq(pipemode_register_framer(&ops), PIPEMODE_EINVAL);
	ops.size = 0;
	ck_assert_int_eq(pipemode_register_framer(&ops), PIPEMODE_EINVAL);

	for (int k = 0; k < NELEM(bad_names); k++) {
		ops = u32len_ops;
		ops.name = bad_names[k];
		ck_assert_msg(pipemode_register_framer(&ops) ==
				      PIPEMODE_EINVAL,
			      "name \"%s\" was accepted", bad_names[k]);
	}
	/* none of them got registered on the way */
	for (int k = 0; k < 6; k++) {
		pipemode_reader *r = NULL;
		char o[64];
		tu_src src;

		tu_src_init(&src, "", 0, TU_WHOLE);
		snprintf(o, sizeof(o), "format=%s", bad_names[k + 1]);
		ck_assert_int_ne(pipemode_open_callback(&r, tu_src_read, &src,
							o),
				 PIPEMODE_OK);
		pipemode_close(r);
	}
	for (const char *const *n = (const char *const[]){
		     "missing-create", "missing-frame", "missing-destroy",
		     "too-small", NULL};
	     *n != NULL; n++) {
		pipemode_reader *r = NULL;
		char o[64];
		tu_src src;

		tu_src_init(&src, "", 0, TU_WHOLE);
		snprintf(o, sizeof(o), "format=%s", *n);
		ck_assert_msg(pipemode_open_callback(&r, tu_src_read, &src,
						     o) == PIPEMODE_EOPTION,
			      "%s got registered", *n);
		pipemode_close(r);
	}
}
END_TEST

START_TEST(test_good_names_register_once)
{
	pipemode_framer_ops ops = u32len_ops;

	ops.create = count_create;
	ops.name = "My-fmt_2";
	ck_assert_int_eq(pipemode_register_framer(&ops), PIPEMODE_OK);
	/* taken, whatever the case */
	ck_assert_int_eq(pipemode_register_framer(&ops), PIPEMODE_EINVAL);
	ops.name = "my-FMT_2";
	ck_assert_int_eq(pipemode_register_framer(&ops), PIPEMODE_EINVAL);
	/* 31 characters is the longest name */
	ops.name = "a123456789012345678901234567890";
	ck_assert_uint_eq(strlen(ops.name), 31);
	ck_assert_int_eq(pipemode_register_framer(&ops), PIPEMODE_OK);
	ops.name = "Z";
	ck_assert_int_eq(pipemode_register_framer(&ops), PIPEMODE_OK);
	{
		pipemode_reader *r = NULL;
		tu_src src;
		tu_result res;

		tu_src_init(&src, "\3\0\0\0abc", 7, TU_WHOLE);
		r = tu_open_src(&src,
				"format=A123456789012345678901234567890");
		ck_assert_int_eq(tu_read_all(r, &res), PIPEMODE_EOF);
		ck_assert_uint_eq(res.n, 1);
		pipemode_close(r);
		tu_result_free(&res);
		tu_src_init(&src, "\3\0\0\0abc", 7, TU_WHOLE);
		r = tu_open_src(&src, "format=z");
		ck_assert_int_eq(tu_read_all(r, &res), PIPEMODE_EOF);
		pipemode_close(r);
		tu_result_free(&res);
	}
}
END_TEST

START_TEST(test_ops_struct_is_copied)
{
	/* The library copies *ops: the caller's struct may go away (the
	 * name and the functions must stay). */
	static int done; /* once per process, for CK_FORK=no */
	ustream s;
	tu_result res;

	if (!done) {
		pipemode_framer_ops *ops = malloc(sizeof(*ops));

		ck_assert_ptr_nonnull(ops);
		*ops = u32len_ops;
		ops->name = "copied";
		ck_assert_int_eq(pipemode_register_framer(ops), PIPEMODE_OK);
		memset(ops, 0xa5, sizeof(*ops));
		free(ops);
		done = 1;
	}
	reset_seen();
	memset(&s, 0, sizeof(s));
	us_add(&s, "kept", 4, 0);
	tu_read_mem(s.p, s.len, TU_CHUNK, "format=copied", &res);
	ck_assert_int_eq(res.rc, PIPEMODE_EOF);
	us_check(&res, &s, 1);
	tu_result_free(&res);
	check_no_violation();
	free(s.p);
}
END_TEST

/* An older plug-in: compiled before sniff existed.  What lies where sniff
 * would be must never be called. */
static unsigned long old_sniff_calls;

static int
old_sniff(const unsigned char *buf, size_t len)
{
	(void)buf;
	(void)len;
	old_sniff_calls++;
	return 1;
}

START_TEST(test_older_ops_size_works_and_is_never_sniffed)
{
	static int done;
	pipemode_framer_ops ops = u32len_ops;
	tu_stream tf;
	ustream s;
	tu_result res;

	ops.name = "oldabi";
	ops.sniff = old_sniff; /* beyond ops.size: garbage to the library */
	ops.size = offsetof(pipemode_framer_ops, sniff);
	register_once(&ops, &done);
	old_sniff_calls = 0;

	memset(&s, 0, sizeof(s));
	us_add(&s, "old", 3, 0);
	us_add(&s, "abi", 3, 0);
	us_add_random(&s, 60, 3, 0); /* 64 bytes and more to sniff */
	tu_read_mem(s.p, s.len, TU_CHUNK, "format=oldabi", &res);
	ck_assert_int_eq(res.rc, PIPEMODE_EOF);
	us_check(&res, &s, 3);
	tu_result_free(&res);

	/* format=auto: a TFRecord stream is a TFRecord stream (had oldabi
	 * been asked, it would have said yes too: EFORMAT) */
	tu_stream_init(&tf);
	tu_stream_add(&tf, "tf", 2, 0);
	tu_read_mem(tf.p, tf.len, TU_CHUNK, "format=auto", &res);
	ck_assert_msg(res.rc == PIPEMODE_EOF, "rc %d: %s", res.rc, res.errmsg);
	tu_check_records(&res, &tf, 1, 0);
	tu_result_free(&res);
	/* and bytes nobody knows are EFORMAT, not oldabi */
	tu_read_mem(s.p, s.len, TU_CHUNK, "format=auto", &res);
	ck_assert_int_eq(res.rc, PIPEMODE_EFORMAT);
	tu_result_free(&res);
	ck_assert_uint_eq(old_sniff_calls, 0);
	check_no_violation();
	tu_stream_free(&tf);
	free(s.p);
}
END_TEST

/* ------------------------------------------------------------ sniffing */

START_TEST(test_sniffing_framer_is_picked_by_auto)
{
	ustream s;
	tu_result res;

	USE_MGR();
	us_sample(&s, 1);
	tu_read_mem(s.p, s.len, TU_CHUNK, "format=auto", &res);
	ck_assert_msg(res.rc == PIPEMODE_EOF, "rc %d: %s", res.rc, res.errmsg);
	us_check(&res, &s, s.nrec);
	ck_assert_uint_ge(seen.sniff_calls, 1);
	tu_result_free(&res);
	/* its options pass through format=auto too */
	tu_read_mem(s.p, s.len, TU_CHUNK, "format=auto,u32len_max=4096", &res);
	us_check(&res, &s, 5);
	tu_check_error(&res, PIPEMODE_ETOOBIG, 5, s.off[5]);
	ck_assert_msg(strncmp(res.errmsg, "callback: mgr: record 5 at byte ",
			      32) == 0,
		      "errmsg \"%s\"", res.errmsg);
	tu_result_free(&res);
	check_no_violation();
	free(s.p);
}
END_TEST

START_TEST(test_sniff_of_a_short_stream)
{
	ustream s;
	tu_result res;

	USE_MGR();
	memset(&s, 0, sizeof(s));
	us_add(&s, "hi", 2, 1);
	ck_assert_uint_eq(s.len, 10);
	seen.sniff_short_ok = 10;
	tu_read_mem(s.p, s.len, TU_CHUNK, "format=auto", &res);
	ck_assert_msg(res.rc == PIPEMODE_EOF, "rc %d: %s", res.rc, res.errmsg);
	us_check(&res, &s, 1);
	tu_result_free(&res);
	check_no_violation();
	free(s.p);
}
END_TEST

START_TEST(test_sniffing_framer_leaves_other_formats_alone)
{
	tu_stream tf;
	tu_result res;

	USE_MGR();
	tu_stream_init(&tf);
	for (int i = 0; i < 10; i++)
		tu_stream_add_random(&tf, (size_t)i * 30, (uint64_t)i, 0);
	tu_read_mem(tf.p, tf.len, TU_CHUNK, "format=auto", &res);
	ck_assert_msg(res.rc == PIPEMODE_EOF, "rc %d: %s", res.rc, res.errmsg);
	tu_check_records(&res, &tf, tf.nrec, 0);
	ck_assert_uint_ge(seen.sniff_calls, 1);
	tu_result_free(&res);
	check_no_violation();
	tu_stream_free(&tf);
}
END_TEST

static int
dup_sniff(const unsigned char *buf, size_t len)
{
	return len >= 4 && memcmp(buf, "DUPX", 4) == 0;
}

START_TEST(test_two_framers_saying_yes_is_eformat)
{
	static int done_a, done_b;
	pipemode_framer_ops a = u32len_ops, b = u32len_ops;
	static const char stream[] = "DUPX and whatever follows it, which "
				     "is more than sixty-four bytes long..";
	tu_result res;

	a.name = "dup-a";
	a.sniff = dup_sniff;
	b.name = "dup-b";
	b.sniff = dup_sniff;
	register_once(&a, &done_a);
	register_once(&b, &done_b);
	tu_read_mem(stream, sizeof(stream) - 1, TU_CHUNK, "format=auto", &res);
	ck_assert_msg(res.rc == PIPEMODE_EFORMAT, "rc %d: %s", res.rc,
		      res.errmsg);
	ck_assert_uint_eq(res.n, 0);
	ck_assert_msg(strstr(res.errmsg, "dup-a") != NULL &&
			      strstr(res.errmsg, "dup-b") != NULL,
		      "errmsg \"%s\" does not name both", res.errmsg);
	tu_result_free(&res);
	check_no_violation();
}
END_TEST

/* ------------------------------------------------------------ threads */

#define NTHREADS 8
#define NAMES_PER_THREAD 16

static pthread_barrier_t barrier;

struct reg_job {
	int id;
	int rc[NAMES_PER_THREAD];
	char names[NAMES_PER_THREAD][32];
	int same_rc;
};

static void *
register_many(void *arg)
{
	struct reg_job *job = arg;
	pipemode_framer_ops ops = u32len_ops;

	for (int k = 0; k < NAMES_PER_THREAD; k++)
		snprintf(job->names[k], sizeof(job->names[k]), "thr%d_%d",
			 job->id, k);
	pthread_barrier_wait(&barrier);
	for (int k = 0; k < NAMES_PER_THREAD; k++) {
		ops.name = job->names[k];
		job->rc[k] = pipemode_register_framer(&ops);
	}
	/* and all at once on the same name: only one may win */
	ops.name = "contested";
	pthread_barrier_wait(&barrier);
	job->same_rc = pipemode_register_framer(&ops);
	return NULL;
}

START_TEST(test_concurrent_registration)
{
	static struct reg_job jobs[NTHREADS];
	pthread_t t[NTHREADS];
	int winners = 0;

	ck_assert_int_eq(pthread_barrier_init(&barrier, NULL, NTHREADS), 0);
	for (int i = 0; i < NTHREADS; i++) {
		jobs[i].id = i;
		ck_assert_int_eq(pthread_create(&t[i], NULL, register_many,
						&jobs[i]),
				 0);
	}
	for (int i = 0; i < NTHREADS; i++)
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
	pthread_barrier_destroy(&barrier);
	for (int i = 0; i < NTHREADS; i++) {
		for (int k = 0; k < NAMES_PER_THREAD; k++)
			ck_assert_msg(jobs[i].rc[k] == PIPEMODE_OK,
				      "%s: rc %d", jobs[i].names[k],
				      jobs[i].rc[k]);
		ck_assert(jobs[i].same_rc == PIPEMODE_OK ||
			  jobs[i].same_rc == PIPEMODE_EINVAL);
		winners += jobs[i].same_rc == PIPEMODE_OK;
	}
	ck_assert_int_eq(winners, 1);
	/* every one of them is there */
	reset_seen();
	for (int i = 0; i < NTHREADS; i++) {
		for (int k = 0; k < NAMES_PER_THREAD; k++) {
			char o[64];
			tu_src src;
			pipemode_reader *r;
			tu_result res;

			snprintf(o, sizeof(o), "format=%s", jobs[i].names[k]);
			tu_src_init(&src, "\1\0\0\0x", 5, TU_WHOLE);
			r = tu_open_src(&src, o);
			ck_assert_int_eq(tu_read_all(r, &res), PIPEMODE_EOF);
			ck_assert_uint_eq(res.n, 1);
			tu_result_free(&res);
			pipemode_close(r);
		}
	}
	check_no_violation();
}
END_TEST

struct open_job {
	int rc, n;
};

static void *
open_and_read(void *arg)
{
	struct open_job *job = arg;
	pipemode_reader *r = NULL;
	tu_src src;
	const void *data;
	size_t len;

	pthread_barrier_wait(&barrier);
	tu_src_init(&src, "\2\0\0\0ab\0\0\0\0", 10, 3);
	job->rc = pipemode_open_callback(&r, tu_src_read, &src,
					 "format=u32len");
	while (job->rc == PIPEMODE_OK &&
	       pipemode_next(r, &data, &len) == PIPEMODE_OK)
		job->n++;
	pipemode_close(r);
	return NULL;
}

START_TEST(test_readers_open_while_others_register)
{
	/* lookups in some threads, registrations in others */
	struct open_job ojobs[NTHREADS / 2];
	static struct reg_job rjobs[NTHREADS / 2];
	pthread_t t[NTHREADS];

	USE_U32LEN();
	ck_assert_int_eq(pthread_barrier_init(&barrier, NULL, NTHREADS), 0);
	for (int i = 0; i < NTHREADS / 2; i++) {
		ojobs[i].rc = -100;
		ojobs[i].n = 0;
		rjobs[i].id = 100 + i;
		ck_assert_int_eq(pthread_create(&t[2 * i], NULL, open_and_read,
						&ojobs[i]),
				 0);
		ck_assert_int_eq(pthread_create(&t[2 * i + 1], NULL,
						register_many, &rjobs[i]),
				 0);
	}
	/* register_many waits twice; the readers once */
	for (int i = 0; i < NTHREADS / 2; i++)
		ck_assert_int_eq(pthread_join(t[2 * i], NULL), 0);
	for (int i = 0; i < NTHREADS / 2; i++)
		ck_assert_int_eq(pthread_create(&t[2 * i], NULL,
						open_and_read, &ojobs[i]),
				 0);
	for (int i = 0; i < NTHREADS; i++)
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
	pthread_barrier_destroy(&barrier);
	for (int i = 0; i < NTHREADS / 2; i++) {
		ck_assert_int_eq(ojobs[i].rc, PIPEMODE_OK);
		ck_assert_int_eq(ojobs[i].n, 4); /* 2 rounds of 2 records */
		for (int k = 0; k < NAMES_PER_THREAD; k++)
			ck_assert_int_eq(rjobs[i].rc[k], PIPEMODE_OK);
	}
}
END_TEST

/* ------------------------------------------------------------ suite */

static Suite *
plugin_suite(void)
{
	Suite *s = suite_create("plugin");
	TCase *tc;

	tc = tcase_create("framing");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_records_round_trip, 0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_payload_pointers_pass_through_untouched,
			    0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_need_answers_are_honoured, 0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_framer_errors_get_the_reader_prefix, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_framer_ecrc_can_be_skipped, 0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_contract_breaches_fail_cleanly, 0,
			    5 * TU_NCHUNKS);
	suite_add_tcase(s, tc);

	tc = tcase_create("options");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_framer_option_is_applied, 0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_bad_framer_options_are_eoption, 0,
			    NELEM(bad_framer_options));
	tcase_add_loop_test(tc, test_framer_gets_the_reader_config, 0,
			    TU_NCHUNKS);
	tcase_add_test(tc, test_framer_without_options_refuses_unknown_keys);
	tcase_add_test(tc, test_create_failure_fails_the_open);
	suite_add_tcase(s, tc);

	tc = tcase_create("registration");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_registration_errors_are_einval);
	tcase_add_test(tc, test_good_names_register_once);
	tcase_add_loop_test(tc, test_ops_struct_is_copied, 0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_older_ops_size_works_and_is_never_sniffed,
			    0, TU_NCHUNKS);
	tcase_add_test(tc, test_concurrent_registration);
	tcase_add_test(tc, test_readers_open_while_others_register);
	suite_add_tcase(s, tc);

	tc = tcase_create("sniff");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_sniffing_framer_is_picked_by_auto, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_sniff_of_a_short_stream, 0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_sniffing_framer_leaves_other_formats_alone,
			    0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_two_framers_saying_yes_is_eformat, 0,
			    TU_NCHUNKS);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(plugin_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
