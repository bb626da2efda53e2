/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the pieces of pmbench share: the C driver (pmbench.c), the malloc
 * counter (malloc_count.c) and the dmlc-core reader (dmlc_reader.cc).
 */
#ifndef PMBENCH_H
#define PMBENCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Calls of malloc, calloc and realloc (and so of operator new) made by the
 * process so far, or -1 where they cannot be counted (not glibc). */
long pmbench_malloc_calls(void);

/* A reader calls these around its loop: the clock, the CPU time and the
 * malloc count start at pmbench_mark_start() (after the FIFO is open), and
 * pmbench_mark_first() after the first record separates the allocations
 * of warming up from those of the steady state. */
void pmbench_mark_start(void);
void pmbench_mark_first(void);

/* The read buffer every reader that has one uses (libpipemode's default
 * buffer_size), and the FIFO's pipe size. */
#define PMBENCH_BUFFER (256u * 1024)
#define PMBENCH_PIPE_SIZE (1024u * 1024)

/*
 * dmlc-core's RecordIOReader (MXNet's reader) over the FIFO: through a
 * dmlc::Stream on fd with a PMBENCH_BUFFER read buffer (use_stdio == 0), or
 * through dmlc::Stream::Create(path, "r"), the stdio-backed stream MXNet's
 * MXRecordIO uses (use_stdio == 1; fd is not used).  Counts the records,
 * their payload bytes and the read(2) calls made (UINT64_MAX for stdio,
 * which does its own).  Returns 0, or -1 after printing why.
 */
int pmbench_dmlc_read(int fd, const char *path, int use_stdio,
		      uint64_t *records, uint64_t *payload, uint64_t *reads);

#ifdef __cplusplus
}
#endif

#endif /* PMBENCH_H */
