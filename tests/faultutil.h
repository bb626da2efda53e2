/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers shared by check_fault, check_security and soak: directory trees,
 * the process's open descriptors, waiting on another process's state
 * (bounded polls of a condition, never a sleep that hopes), gzip written
 * and read back with zlib as a reference, and option strings.
 *
 * Functions marked "child-safe" use no Check assertion and may run in a
 * forked child; the others may assert.
 */
#ifndef PIPEMODE_FAULTUTIL_H
#define PIPEMODE_FAULTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FU_PATH_SIZE 4608

/* CLOCK_MONOTONIC in seconds.  Child-safe. */
double fu_now(void);

/* mkdir -p (mode 0700 for what it makes).  0 or -1.  Child-safe. */
int fu_mkdirs(const char *path);
/* buf = a/b; asserts that it fits. */
void fu_join(char *buf, size_t size, const char *a, const char *b);

/* In a forked child: SIGALRM back to its default action (a Check runner
 * leaves a handler that kills the whole process group, the test included),
 * then alarm(secs), so that a child that hangs dies alone.  Child-safe. */
void fu_child_alarm(unsigned secs);

/* The process's open descriptors, sorted, the one used to list them left
 * out; returns how many (at most max are stored).  -1 if /proc/self/fd
 * cannot be read.  Child-safe. */
int fu_list_fds(int *fds, int max);
/* Descriptors above 2 closed (in a child about to exec).  Child-safe. */
void fu_close_from(int lowest);

/* Wait until process pid sleeps in a system call (state S in
 * /proc/PID/stat), polling every 100 us for at most limit_s.  0, or -1 on
 * timeout.  Child-safe. */
int fu_wait_asleep(pid_t pid, double limit_s);
/* Bytes queued in the pipe or FIFO fd (either end), or -1.  Child-safe. */
int fu_pipe_queued(int fd);

/* ---------------------------------------------------------------- gzip */

/* p[0..len) compressed as gzip, one member per segment: segment k is
 * [cuts[k-1], cuts[k]) with cuts[-1] = 0 and the last ending at len (ncuts
 * cut points strictly inside, increasing).  members_end[k] (when not NULL,
 * ncuts + 1 entries) gets the compressed offset where member k ends.
 * Returns a malloc'ed buffer; asserts. */
unsigned char *fu_gzip(const void *p, size_t len, const size_t *cuts,
		       size_t ncuts, size_t *outlen, size_t *members_end);

/* Inflate gz[0..len) as a gzip reader that takes any number of members
 * would: *out (malloc'ed, may be empty) gets every byte zlib can produce
 * from it; returns 1 if the input is one or more complete, valid members
 * with nothing after them, 0 if it ends early, -1 if zlib finds it
 * corrupt (or the bytes after a member do not start another).  Asserts
 * only on out of memory. */
int fu_gunzip(const unsigned char *gz, size_t len, unsigned char **out,
	      size_t *outlen);

/* -------------------------------------------------------------- options */

/* Append ",key=value" to buf (no comma when empty), escaping ',' and '\'
 * in the value.  Asserts that it fits. */
void fu_opt_add(char *buf, size_t size, const char *key, const char *value);

#endif /* PIPEMODE_FAULTUTIL_H */
