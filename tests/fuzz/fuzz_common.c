/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reading side every reader harness shares: a chunked read callback
 * over the fuzz input, a loop that reads every record and every byte of it,
 * and checks of what include/pipemode.h promises.  The library is used only
 * through its public API, as a program would.
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipemode.h"

#include "fuzz_common.h"

void
fz_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("fuzz: broken promise: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

uint64_t
fz_hash(uint64_t h, const void *p, size_t n)
{
	/* Reading every byte is the point: a sanitizer checks each load. */
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

int
fz_switch(const uint8_t *data, size_t size)
{
	return size >= 2 && (data[0] & 0x80) != 0;
}

unsigned
fz_choice(const uint8_t *data, size_t size)
{
	return size >= 2 ? (unsigned)data[1] >> 6 : 0;
}

/* ----------------------------------------------------------- the source */

void
fz_source_init(struct fz_source *s, const uint8_t *p, size_t len,
	       unsigned mode, unsigned seed)
{
	s->p = p;
	s->len = len;
	s->pos = 0;
	s->mode = mode & 7;
	s->rng = 0x9e3779b9u ^ (seed * 0x01000193u) ^ 1u;
}

static uint32_t
next_rand(struct fz_source *s)
{
	/* xorshift32: the same cuts for the same control bytes, always. */
	uint32_t x = s->rng;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	s->rng = x;
	return x;
}

static size_t
chunk_size(struct fz_source *s)
{
	static const size_t fixed[4] = {(size_t)-1, 1, 7, 4096};
	static const size_t random_max[4] = {2, 16, 300, 5000};

	if (s->mode < 4)
		return fixed[s->mode];
	return 1 + next_rand(s) % random_max[s->mode - 4];
}

ssize_t
fz_source_read(void *ctx, void *buf, size_t len)
{
	struct fz_source *s = ctx;
	size_t n = chunk_size(s);

	if (len == 0)
		fz_fail("the read callback was asked for 0 bytes");
	if (n > s->len - s->pos)
		n = s->len - s->pos;
	if (n > len)
		n = len;
	memcpy(buf, s->p + s->pos, n);
	s->pos += n;
	return (ssize_t)n;
}

/* A thread that writes a stream into a pipe in the source's chunks, as a
 * SageMaker feeder writes a FIFO. */
struct feeder {
	struct fz_source src;
	int fd;
	pthread_t thread;
};

static void *
feed(void *arg)
{
	struct feeder *f = arg;
	unsigned char buf[8192];
	ssize_t n, done, w;

	while ((n = fz_source_read(&f->src, buf, sizeof(buf))) > 0) {
		for (done = 0; done < n; done += w) {
			w = write(f->fd, buf + done, (size_t)(n - done));
			if (w < 0 && errno == EINTR) {
				w = 0;
				continue;
			}
			if (w < 0)
				goto out; /* EPIPE: the reader stopped early */
		}
	}
out:
	close(f->fd);
	return NULL;
}

/* Start feeding stream into a new pipe; returns its read end. */
static int
feeder_start(struct feeder *f, const uint8_t *stream, size_t len,
	     unsigned mode, unsigned seed)
{
	int fds[2];

	/* A write to a pipe whose reader left must fail, not kill. */
	signal(SIGPIPE, SIG_IGN);
	if (pipe2(fds, O_CLOEXEC) != 0)
		fz_fail("pipe2: %s", strerror(errno));
	fz_source_init(&f->src, stream, len, mode, seed);
	f->fd = fds[1];
	if (pthread_create(&f->thread, NULL, feed, f) != 0)
		fz_fail("pthread_create");
	return fds[0];
}

static void
feeder_stop(struct feeder *f, int read_fd)
{
	close(read_fd);
	pthread_join(f->thread, NULL);
}

/* ---------------------------------------------------------- the reading */

/* What one reading of a stream gave. */
struct outcome {
	int code;             /* the last call's: EOF or an error */
	uint64_t records;
	uint64_t payload_bytes;
	uint64_t hash;        /* of every record's length and bytes */
	uint64_t index, offset;
};

static uint64_t
hash_record(uint64_t h, const void *data, size_t len)
{
	uint64_t l = len;

	h = fz_hash(h, &l, sizeof(l));
	return fz_hash(h, data, len);
}

/* A record as pipemode_next or pipemode_next_batch handed it out. */
static void
take_record(struct outcome *o, const void *data, size_t len)
{
	if (data == NULL)
		fz_fail("record %llu: data is NULL",
			(unsigned long long)o->records);
	if (len > FZ_MAX_RECORD)
		fz_fail("record %llu: %zu bytes, above max_record_size",
			(unsigned long long)o->records, len);
	o->hash = hash_record(o->hash, data, len);
	o->records++;
	o->payload_bytes += len;
}

/* After got records (one, or a batch): the index is the last one's, and
 * indexes only grow (skipped records count too). */
static void
check_index(const struct outcome *o, pipemode_reader *r, size_t got,
	    uint64_t *last_index)
{
	uint64_t index = pipemode_record_index(r);
	uint64_t least = o->records == got ? got - 1 : *last_index + got;

	if (index < least)
		fz_fail("record index %llu after %llu records (the last "
			"batch's first at least %llu)",
			(unsigned long long)index,
			(unsigned long long)o->records,
			(unsigned long long)least);
	*last_index = index;
}

static void read_records(size_t len, const char *options,
			 struct fz_source *src, int fd, int batch,
			 size_t batch_max, struct outcome *o);

/* Read stream with options, from memory through a read callback, or
 * (pipe) from a pipe a thread writes it into; either way cut as mode and
 * seed say.  The outcome is what happened. */
static void
read_stream(const uint8_t *stream, size_t len, const char *options,
	    unsigned mode, unsigned seed, int batch, size_t batch_max,
	    int via_pipe, struct outcome *o)
{
	struct fz_source src;
	struct feeder feeder;
	int fd = -1;

	memset(o, 0, sizeof(*o));
	o->hash = FZ_HASH_INIT;
	if (via_pipe)
		fd = feeder_start(&feeder, stream, len, mode, seed);
	else
		fz_source_init(&src, stream, len, mode, seed);
	read_records(len, options, via_pipe ? NULL : &src, fd, batch,
		     batch_max, o);
	if (via_pipe)
		feeder_stop(&feeder, fd);
}

/* Open a reader on src (or, when src is NULL, on fd), read every record
 * and check the promises on the way; len is the stream's length. */
static void
read_records(size_t len, const char *options, struct fz_source *src, int fd,
	     int batch, size_t batch_max, struct outcome *o)
{
	pipemode_reader *r = NULL;
	pipemode_stats st;
	uint64_t last_index = 0;
	const void *data;
	size_t n;
	int rc, again;

	if (src != NULL)
		rc = pipemode_open_callback(&r, fz_source_read, src, options);
	else
		rc = pipemode_open_fd(&r, fd, options);
	if (r == NULL) {
		if (rc != PIPEMODE_ENOMEM)
			fz_fail("open: NULL handle with code %d", rc);
		o->code = rc;
		return;
	}
	if (rc != PIPEMODE_OK) {
		if (rc >= 0)
			fz_fail("open failed with a code >= 0: %d", rc);
		if (pipemode_errmsg(r)[0] == '\0')
			fz_fail("open failed (%d) with no message", rc);
		/* The handle can only be closed. */
		again = pipemode_next(r, &data, &n);
		if (again != PIPEMODE_ESTATE)
			fz_fail("next after a failed open: %d, not ESTATE",
				again);
		pipemode_close(r);
		o->code = rc;
		return;
	}

	for (;;) {
		if (batch) {
			pipemode_record recs[8];
			size_t i, got = (size_t)-1;
			rc = pipemode_next_batch(r, recs, batch_max, &got);
			if (rc == PIPEMODE_OK &&
			    (got == 0 || got > batch_max))
				fz_fail("next_batch: OK with %zu records of "
					"at most %zu",
					got, batch_max);
			if (rc != PIPEMODE_OK && got != 0)
				fz_fail("next_batch: code %d with %zu records",
					rc, got);
			if (rc != PIPEMODE_OK)
				break;
			/* Only now, after the whole batch: every record of
			 * it must still be there. */
			for (i = 0; i < got; i++)
				take_record(o, recs[i].data, recs[i].len);
			check_index(o, r, got, &last_index);
		} else {
			data = (const void *)1;
			n = (size_t)-1;
			rc = pipemode_next(r, &data, &n);
			if (rc != PIPEMODE_OK) {
				if (data != NULL || n != 0)
					fz_fail("next: code %d left data %p, "
						"len %zu",
						rc, data, n);
				break;
			}
			take_record(o, data, n);
			check_index(o, r, 1, &last_index);
		}
	}
	if (rc > 0 && rc != PIPEMODE_EOF)
		fz_fail("unexpected positive code %d", rc);
	if (rc < 0 && pipemode_errmsg(r)[0] == '\0')
		fz_fail("code %d (%s) with no message", rc,
			pipemode_code_name(rc));
	if (pipemode_code_name(rc) == NULL)
		fz_fail("code %d has no name", rc);
	o->code = rc;
	o->index = pipemode_record_index(r);
	o->offset = pipemode_byte_offset(r);

	/* The end, or the failure, is for good. */
	again = pipemode_next(r, &data, &n);
	if (again != rc)
		fz_fail("next after %d returned %d", rc, again);
	if (pipemode_record_index(r) != o->index ||
	    pipemode_byte_offset(r) != o->offset)
		fz_fail("the position moved after the end");

	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	if (pipemode_get_stats(r, &st) != PIPEMODE_OK)
		fz_fail("get_stats failed");
	if (st.records != o->records || st.payload_bytes != o->payload_bytes)
		fz_fail("stats: %llu records of %llu bytes, but %llu of %llu "
			"were returned",
			(unsigned long long)st.records,
			(unsigned long long)st.payload_bytes,
			(unsigned long long)o->records,
			(unsigned long long)o->payload_bytes);
	if (st.bytes_read > len)
		fz_fail("stats: %llu bytes read from a %zu-byte stream",
			(unsigned long long)st.bytes_read, len);
	/* "" only for the empty name=, as the caller asked. */
	if (pipemode_source_name(r) == NULL)
		fz_fail("the source name is NULL");
	pipemode_close(r);
}

static void
same_outcome(const struct outcome *a, const struct outcome *b,
	     const char *options, unsigned mode, int batch)
{
	if (a->code == b->code && a->records == b->records &&
	    a->hash == b->hash && a->index == b->index &&
	    a->offset == b->offset)
		return;
	fz_fail("options \"%s\": read in chunks (mode %u%s) and whole, the "
		"stream gives different results: code %d/%d, records "
		"%llu/%llu, hash %016llx/%016llx, index %llu/%llu, offset "
		"%llu/%llu",
		options, mode, batch ? ", batches" : "", a->code, b->code,
		(unsigned long long)a->records, (unsigned long long)b->records,
		(unsigned long long)a->hash, (unsigned long long)b->hash,
		(unsigned long long)a->index, (unsigned long long)b->index,
		(unsigned long long)a->offset, (unsigned long long)b->offset);
}

void
fz_read_once(const uint8_t *stream, size_t len, const char *options,
	     unsigned mode, unsigned seed)
{
	struct outcome o;

	read_stream(stream, len, options, mode, seed, 0, 1, 0, &o);
}

/* The reader harnesses' common part; pipe_options: read from a pipe, with
 * these options added, instead of from memory. */
static void
read_input(const uint8_t *data, size_t size, const char *options,
	   const char *pipe_options)
{
	unsigned c0 = 0, c1 = 0, mode;
	struct outcome chunked, whole;
	char opts[512], popts[600];
	int batch;

	if (size >= 2) {
		c0 = data[0];
		c1 = data[1];
		data += 2;
		size -= 2;
	}
	mode = c0 & 7;
	batch = (c0 & 0x08) != 0;
	snprintf(opts, sizeof(opts), "%s,max_record_size=1M%s%s%s", options,
		 c0 & 0x10 ? "" : ",buffer_size=4K",
		 c0 & 0x20 ? ",verify_crc=0" : "",
		 c0 & 0x40 ? ",skip_corrupt=2" : "");

	if (pipe_options != NULL) {
		snprintf(popts, sizeof(popts), "%s,%s", opts, pipe_options);
		read_stream(data, size, popts, mode, c1, batch, (c1 & 7) + 1,
			    1, &chunked);
	} else {
		read_stream(data, size, opts, mode, c1, batch, (c1 & 7) + 1,
			    0, &chunked);
		if (mode == 0 && !batch)
			return;
	}
	/* The reference: whole, from memory, one record at a time. */
	read_stream(data, size, opts, 0, 0, 0, 1, 0, &whole);
	same_outcome(&chunked, &whole, pipe_options != NULL ? popts : opts,
		     mode, batch);
}

void
fz_read_input(const uint8_t *data, size_t size, const char *options)
{
	read_input(data, size, options, NULL);
}

void
fz_read_input_pipe(const uint8_t *data, size_t size, const char *options,
		   const char *pipe_options)
{
	read_input(data, size, options, pipe_options);
}
