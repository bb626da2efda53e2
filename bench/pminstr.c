/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pminstr: read one fixed stream from memory through pipemode_open_callback,
 * for `make bench-instructions`, which runs it under callgrind and counts
 * the instructions of pminstr_loop (everything from the first
 * pipemode_next to the end of the stream) per record, less those of the
 * memory source, pminstr_source: its memcpy stands for the kernel's copy
 * out of the pipe, which no reader avoids, and callgrind would count each
 * byte of glibc's "rep movsb" as an instruction.  Instruction counts do not depend on the clock or
 * on the load of the machine, so a change of a few percent is real.
 *
 *   pminstr --list       the scenarios
 *   pminstr SCENARIO     read it; print "SCENARIO RECORDS PAYLOAD_BYTES"
 *
 * The streams are built here, byte by byte, outside the counted function.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <zlib.h>

#include <pipemode.h>

struct scenario {
	const char *name;
	const char *format;  /* tfrecord, recordio, lines */
	int gzip;
	size_t rec;
	size_t records;
	const char *options;
};

static const struct scenario scenarios[] = {
	{"tfrecord-100B-crc", "tfrecord", 0, 100, 100000, "format=tfrecord"},
	{"tfrecord-100B-nocrc", "tfrecord", 0, 100, 100000,
	 "format=tfrecord,verify_crc=0"},
	{"tfrecord-1KiB-crc", "tfrecord", 0, 1024, 20000, "format=tfrecord"},
	{"recordio-100B", "recordio", 0, 100, 100000, "format=recordio"},
	{"lines-100B", "lines", 0, 100, 100000, "format=lines"},
	/* Named by the inflate this build uses: the counts differ. */
#ifdef HAVE_ISAL_INFLATE
	{"tfrecord-1KiB-gzip-crc-isal", "tfrecord", 1, 1024, 5000,
	 "format=tfrecord,compression=gzip"},
#else
	{"tfrecord-1KiB-gzip-crc-zlib", "tfrecord", 1, 1024, 5000,
	 "format=tfrecord,compression=gzip"},
#endif
};

struct mem {
	const unsigned char *p;
	size_t len, pos;
};

/* Out of line and external, as pminstr_loop: callgrind toggles
 * collection off inside it. */
ssize_t pminstr_source(void *ctx, void *buf, size_t len);

__attribute__((noinline)) ssize_t
pminstr_source(void *ctx, void *buf, size_t len)
{
	struct mem *m = ctx;
	size_t n = m->len - m->pos < len ? m->len - m->pos : len;

	memcpy(buf, m->p + m->pos, n);
	m->pos += n;
	return (ssize_t)n;
}

static uint64_t
splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static uint32_t
masked_crc(const void *p, size_t n)
{
	uint32_t c = pipemode_crc32c(0, p, n);

	return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

static void
put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* Payload i: random bytes, or text (lines, and what gzip compresses). */
static void
fill_payload(unsigned char *p, size_t n, int text, uint64_t *st)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t v = splitmix64(st);
		p[i] = text ? (unsigned char)("0123456789,.:abcdef"[v % 19])
			    : (unsigned char)v;
	}
}

static unsigned char *
build(const struct scenario *sc, size_t *lenp)
{
	int tf = strcmp(sc->format, "tfrecord") == 0;
	int rio = strcmp(sc->format, "recordio") == 0;
	size_t frame = tf ? sc->rec + 16
		       : rio ? 8 + ((sc->rec + 3) & ~(size_t)3)
			     : sc->rec + 1;
	size_t len = frame * sc->records, i;
	unsigned char *s = calloc(len, 1), *p = s;
	uint64_t st = 1;

	if (s == NULL)
		return NULL;
	for (i = 0; i < sc->records; i++) {
		if (tf) {
			uint64_t l = sc->rec;
			int b;
			for (b = 0; b < 8; b++)
				p[b] = (unsigned char)(l >> (8 * b));
			put_le32(p + 8, masked_crc(p, 8));
			fill_payload(p + 12, sc->rec, sc->gzip, &st);
			put_le32(p + 12 + sc->rec, masked_crc(p + 12, sc->rec));
		} else if (rio) {
			put_le32(p, 0xced7230au);
			put_le32(p + 4, (uint32_t)sc->rec);
			fill_payload(p + 8, sc->rec, 0, &st);
		} else {
			fill_payload(p, sc->rec, 1, &st);
			p[sc->rec] = '\n';
		}
		p += frame;
	}
	if (sc->gzip) {
		z_stream z;
		size_t cap = len + len / 100 + 1024;
		unsigned char *out = malloc(cap);

		memset(&z, 0, sizeof(z));
		if (out == NULL ||
		    deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8,
				 Z_DEFAULT_STRATEGY) != Z_OK)
			return NULL;
		z.next_in = s;
		z.avail_in = (uInt)len;
		z.next_out = out;
		z.avail_out = (uInt)cap;
		if (deflate(&z, Z_FINISH) != Z_STREAM_END)
			return NULL;
		len = z.total_out;
		deflateEnd(&z);
		free(s);
		s = out;
	}
	*lenp = len;
	return s;
}

/* What callgrind counts (--toggle-collect=pminstr_loop): keep it out of
 * line and external, so that the name survives optimisation. */
int pminstr_loop(pipemode_reader *r, uint64_t *records, uint64_t *payload);

__attribute__((noinline)) int
pminstr_loop(pipemode_reader *r, uint64_t *records, uint64_t *payload)
{
	const void *data;
	size_t len;
	uint64_t n = 0, bytes = 0;
	int rc;

	while ((rc = pipemode_next(r, &data, &len)) == PIPEMODE_OK) {
		n++;
		bytes += len;
	}
	*records = n;
	*payload = bytes;
	return rc;
}

int
main(int argc, char **argv)
{
	const struct scenario *sc = NULL;
	size_t i, nsc = sizeof(scenarios) / sizeof(scenarios[0]);
	struct mem m;
	pipemode_reader *r;
	uint64_t records, payload;
	int rc;

	if (argc == 2 && strcmp(argv[1], "--list") == 0) {
		for (i = 0; i < nsc; i++)
			printf("%s\n", scenarios[i].name);
		return 0;
	}
	for (i = 0; argc == 2 && i < nsc; i++)
		if (strcmp(argv[1], scenarios[i].name) == 0)
			sc = &scenarios[i];
	if (sc == NULL) {
		fprintf(stderr, "usage: pminstr --list | SCENARIO\n");
		return 2;
	}
	m.p = build(sc, &m.len);
	m.pos = 0;
	if (m.p == NULL) {
		fprintf(stderr, "pminstr: cannot build the stream\n");
		return 1;
	}
	rc = pipemode_open_callback(&r, pminstr_source, &m, sc->options);
	if (rc == PIPEMODE_OK)
		rc = pminstr_loop(r, &records, &payload);
	if (rc != PIPEMODE_EOF) {
		fprintf(stderr, "pminstr: %s: %s\n", sc->name,
			pipemode_errmsg(r));
		pipemode_close(r);
		return 1;
	}
	pipemode_close(r);
	if (records != sc->records || payload != sc->records * sc->rec) {
		fprintf(stderr, "pminstr: %s: read %llu records, expected %zu\n",
			sc->name, (unsigned long long)records, sc->records);
		return 1;
	}
	printf("%s %llu %llu\n", sc->name, (unsigned long long)records,
	       (unsigned long long)payload);
	free((void *)m.p);
	return 0;
}
