/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A malloc-counting interposer, to show that reading allocates nothing per
 * record.  The program's own malloc, calloc and realloc take precedence
 * over libc's for every library it loads (libpipemode, libstdc++, dmlc),
 * count the call and forward to glibc's __libc_* entry points, so memory
 * still comes from, and goes back to, the one glibc allocator (free is not
 * replaced).  Elsewhere nothing is replaced and the count is unknown (-1).
 *
 * The counter is a plain long: every reader is single-threaded.
 */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>

#include "bench.h"

#if defined(__GLIBC__) && defined(__linux__)

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t nmemb, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);

static long malloc_calls;

void *
malloc(size_t size)
{
	malloc_calls++;
	return __libc_malloc(size);
}

void *
calloc(size_t nmemb, size_t size)
{
	malloc_calls++;
	return __libc_calloc(nmemb, size);
}

void *
realloc(void *ptr, size_t size)
{
	malloc_calls++;
	return __libc_realloc(ptr, size);
}

long
pmbench_malloc_calls(void)
{
	return malloc_calls;
}

#else

long
pmbench_malloc_calls(void)
{
	return -1;
}

#endif
