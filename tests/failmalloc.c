/* SPDX-License-Identifier: Apache-2.0 */
/* Allocation accounting and failure injection; see failmalloc.h. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <zlib.h>

#include "failmalloc.h"

/* The real functions (the linker's --wrap provides __real_X for X). */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
char *__real_strdup(const char *s);
DIR *__real_opendir(const char *name);
int __real_closedir(DIR *d);
int __real_inflateInit2_(z_streamp strm, int window_bits, const char *version,
			 int stream_size);
int __real_deflateInit2_(z_streamp strm, int level, int method,
			 int window_bits, int mem_level, int strategy,
			 const char *version, int stream_size);

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
char *__wrap_strdup(const char *s);
DIR *__wrap_opendir(const char *name);
int __wrap_closedir(DIR *d);
int __wrap_inflateInit2_(z_streamp strm, int window_bits, const char *version,
			 int stream_size);
int __wrap_deflateInit2_(z_streamp strm, int level, int method,
			 int window_bits, int mem_level, int strategy,
			 const char *version, int stream_size);

/* ------------------------------------------------------------ tracking */

/* Open addressing over the pointers allocated while armed. */
#define SLOTS (1u << 15)
#define TOMBSTONE ((void *)(uintptr_t)1)

struct slot {
	void *p;
	size_t size;
	unsigned long step;
};

static struct slot table[SLOTS];
static size_t live, live_bytes, peak_bytes, max_request;
static int armed;
static unsigned long steps, fail_at;
static int failed;

static size_t
hash(const void *p)
{
	uintptr_t v = (uintptr_t)p;

	v ^= v >> 17;
	v *= 0x9e3779b97f4a7c15u;
	return (size_t)(v >> 20) & (SLOTS - 1);
}

static void
track(void *p, size_t size, unsigned long step)
{
	size_t i = hash(p);

	if (live >= SLOTS / 2) {
		fputs("failmalloc: too many live allocations\n", stderr);
		abort();
	}
	while (table[i].p != NULL && table[i].p != TOMBSTONE)
		i = (i + 1) & (SLOTS - 1);
	table[i].p = p;
	table[i].size = size;
	table[i].step = step;
	live++;
	live_bytes += size;
	if (live_bytes > peak_bytes)
		peak_bytes = live_bytes;
}

/* Forget p if it is tracked; returns whether it was. */
static int
untrack(void *p)
{
	size_t i = hash(p);

	if (p == NULL || live == 0)
		return 0;
	while (table[i].p != NULL) {
		if (table[i].p == p) {
			table[i].p = TOMBSTONE;
			live--;
			live_bytes -= table[i].size;
			return 1;
		}
		i = (i + 1) & (SLOTS - 1);
	}
	return 0;
}

/* One allocation step: 1 to go ahead (and track the result), 0 to fail. */
static int
step(size_t size, unsigned long *which)
{
	if (!armed)
		return 1;
	*which = ++steps;
	if (size > max_request)
		max_request = size;
	if (steps == fail_at) {
		failed = 1;
		errno = ENOMEM;
		return 0;
	}
	return 1;
}

/* ---------------------------------------------------------------- API */

void
fm_arm(unsigned long n)
{
	steps = 0;
	failed = 0;
	fail_at = n;
	armed = 1;
}

void
fm_disarm(void)
{
	armed = 0;
}

void
fm_reset(void)
{
	memset(table, 0, sizeof(table));
	live = live_bytes = peak_bytes = max_request = 0;
	steps = 0;
	failed = 0;
	fail_at = 0;
	armed = 0;
}

unsigned long
fm_steps(void)
{
	return steps;
}

int
fm_failed(void)
{
	return failed;
}

size_t
fm_live(void)
{
	return live;
}

size_t
fm_live_bytes(void)
{
	return live_bytes;
}

size_t
fm_max_request(void)
{
	return max_request;
}

size_t
fm_peak_bytes(void)
{
	return peak_bytes;
}

void
fm_describe_live(char *buf, size_t size)
{
	size_t used = 0, shown = 0;

	if (size == 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < SLOTS && shown < 8; i++) {
		int n;

		if (table[i].p == NULL || table[i].p == TOMBSTONE)
			continue;
		n = snprintf(buf + used, size - used, "%sstep %lu: %zu bytes",
			     shown ? ", " : "", table[i].step, table[i].size);
		if (n < 0 || (size_t)n >= size - used)
			break;
		used += (size_t)n;
		shown++;
	}
}

/* ------------------------------------------------------------ wrappers */

void *
__wrap_malloc(size_t n)
{
	unsigned long which = 0;
	void *p;

	if (!step(n, &which))
		return NULL;
	p = __real_malloc(n);
	if (p != NULL && which != 0)
		track(p, n, which);
	return p;
}

void *
__wrap_calloc(size_t n, size_t size)
{
	unsigned long which = 0;
	void *p;

	if (!step(size != 0 && n > SIZE_MAX / size ? SIZE_MAX : n * size,
		  &which))
		return NULL;
	p = __real_calloc(n, size);
	if (p != NULL && which != 0)
		track(p, n * size, which);
	return p;
}

void *
__wrap_realloc(void *p, size_t n)
{
	unsigned long which = 0;
	int was_tracked;
	void *q;

	if (!step(n, &which))
		return NULL; /* p stays allocated, as realloc leaves it */
	q = __real_realloc(p, n);
	if (q == NULL && n != 0)
		return NULL;
	was_tracked = untrack(p);
	if (q != NULL && (which != 0 || was_tracked))
		track(q, n, which);
	return q;
}

void
__wrap_free(void *p)
{
	untrack(p);
	__real_free(p);
}

char *
__wrap_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	unsigned long which = 0;
	char *p;

	if (!step(n, &which))
		return NULL;
	p = __real_malloc(n);
	if (p == NULL)
		return NULL;
	memcpy(p, s, n);
	if (which != 0)
		track(p, n, which);
	return p;
}

/* A DIR holds memory of its own: an allocation step, freed by closedir. */
DIR *
__wrap_opendir(const char *name)
{
	unsigned long which = 0;
	DIR *d;

	if (!step(sizeof(void *), &which))
		return NULL;
	d = __real_opendir(name);
	if (d != NULL && which != 0)
		track(d, sizeof(void *), which);
	return d;
}

int
__wrap_closedir(DIR *d)
{
	untrack(d);
	return __real_closedir(d);
}

/* zlib's allocator for streams the library sets up. */
static voidpf
z_alloc(voidpf opaque, uInt items, uInt size)
{
	(void)opaque;
	return __wrap_calloc(items, size);
}

static void
z_free(voidpf opaque, voidpf p)
{
	(void)opaque;
	__wrap_free(p);
}

int
__wrap_inflateInit2_(z_streamp strm, int window_bits, const char *version,
		     int stream_size)
{
	if (strm != NULL && strm->zalloc == Z_NULL && strm->zfree == Z_NULL) {
		strm->zalloc = z_alloc;
		strm->zfree = z_free;
		strm->opaque = Z_NULL;
	}
	return __real_inflateInit2_(strm, window_bits, version, stream_size);
}

int
__wrap_deflateInit2_(z_streamp strm, int level, int method, int window_bits,
		     int mem_level, int strategy, const char *version,
		     int stream_size)
{
	if (strm != NULL && strm->zalloc == Z_NULL && strm->zfree == Z_NULL) {
		strm->zalloc = z_alloc;
		strm->zfree = z_free;
		strm->opaque = Z_NULL;
	}
	return __real_deflateInit2_(strm, level, method, window_bits,
				    mem_level, strategy, version, stream_size);
}

/*
 * jansson: tracked, so that a JSON value the library forgets to release
 * shows as a leak, but never failed.  jansson does not survive a failed
 * allocation cleanly: when its string buffer cannot grow it drops the
 * character and parses on (a key "TrainingInputMode" comes out shorter and
 * is not found), and failed parses carry no error text; failing those
 * allocations would test jansson, not libpipemode.
 */
static void *
j_malloc(size_t n)
{
	void *p = __real_malloc(n);

	if (p != NULL && armed)
		track(p, n, 0);
	return p;
}

static void
j_free(void *p)
{
	__wrap_free(p);
}

void
fm_init(void)
{
	json_set_alloc_funcs(j_malloc, j_free);
}
