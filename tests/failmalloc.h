/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Allocation accounting and failure injection for the test programs that
 * link the static convenience library (lib/libpipemode-internal.la) with
 *
 *   -Wl,--wrap=malloc -Wl,--wrap=calloc -Wl,--wrap=realloc -Wl,--wrap=free
 *   -Wl,--wrap=strdup -Wl,--wrap=opendir -Wl,--wrap=closedir
 *   -Wl,--wrap=inflateInit2_ -Wl,--wrap=deflateInit2_
 *
 * (FM_WRAP_LDFLAGS in tests/Makefile.am).  --wrap rewrites only the calls
 * made by objects linked statically into the program: the library's own,
 * the test's and Check's (libcheck_pic.a), never those made inside shared
 * libraries.  Two more sources are reached on purpose:
 *  - zlib: the wrapped inflateInit2_/deflateInit2_ hand zlib this
 *    allocator (z_stream.zalloc/zfree) before calling the real one, so the
 *    inflate state, its lazily allocated window and the deflate buffers are
 *    counted and can fail too;
 *  - jansson: fm_init() routes its allocations here with
 *    json_set_alloc_funcs(), to be tracked (a JSON value left unreleased
 *    is a leak) but never failed: jansson itself does not survive that
 *    cleanly (see j_malloc in failmalloc.c).
 * What stays out of reach are allocations made inside libc itself (the
 * FILE jansson's json_load_file opens, qsort's scratch), which the library
 * cannot handle anyway.
 *
 * Nothing is counted or failed unless armed, so Check, testutil and the
 * test's own bookkeeping run as usual between library calls.  Keep Check
 * assertions out of an armed region.  Single-threaded.
 */
#ifndef PIPEMODE_FAILMALLOC_H
#define PIPEMODE_FAILMALLOC_H

#include <stddef.h>

/* Route jansson's allocations here; call once from main(). */
void fm_init(void);

/* Start counting allocation steps (malloc, calloc, realloc, strdup,
 * opendir, and zlib's allocations) from 1; step fail_at fails (NULL,
 * errno ENOMEM), and only that one (0: none fails). */
void fm_arm(unsigned long fail_at);
/* Stop counting and failing; what was allocated stays tracked. */
void fm_disarm(void);
/* Forget every tracked allocation (before a new scenario). */
void fm_reset(void);

/* Steps counted since fm_arm, and whether the step fail_at was reached. */
unsigned long fm_steps(void);
int fm_failed(void);

/* Allocations made while armed and not freed yet, and their bytes. */
size_t fm_live(void);
size_t fm_live_bytes(void);
/* The largest single request and the most bytes live at once while
 * armed (since fm_reset). */
size_t fm_max_request(void);
size_t fm_peak_bytes(void);
/* "step N: SIZE bytes" for up to a few live allocations, for messages. */
void fm_describe_live(char *buf, size_t size);

#endif /* PIPEMODE_FAILMALLOC_H */
