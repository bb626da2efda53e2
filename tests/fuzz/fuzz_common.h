/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the fuzz harnesses share.  Each harness is one
 * LLVMFuzzerTestOneInput; it is linked either with libFuzzer (make fuzz,
 * clang) or with replay.c (make check, any compiler), which runs the saved
 * inputs of tests/fuzz/corpus/<harness>/ and tests/fuzz/regressions/<harness>/.
 *
 * A reader harness's input is two control bytes, then the stream:
 *   c0 bits 0-2  how the read callback cuts the stream: 0 whole, 1 one byte,
 *                2 seven bytes, 3 4096 bytes, 4..7 random sizes up to 2, 16,
 *                300, 5000 bytes (seeded by c1)
 *   c0 bit 3     read with pipemode_next_batch (up to (c1 & 7) + 1 records)
 *   c0 bit 4     buffer_size left at its default (256K) instead of 4K
 *   c0 bit 5     verify_crc=0
 *   c0 bit 6     skip_corrupt=2
 *   c0 bit 7     the harness's own switch (fz_switch)
 *   c1           seed of the chunk sizes; bits 6-7 the harness's own choice
 *                (fz_choice)
 * Every reader runs with max_record_size=1M, so that no input can make the
 * library allocate more than a few megabytes legitimately.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The largest record a harness lets the reader accept (its
 * max_record_size). */
#define FZ_MAX_RECORD (1024u * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The harness's own switch and 2-bit choice from the control bytes (0 when
 * the input is too short to have them). */
int fz_switch(const uint8_t *data, size_t size);
unsigned fz_choice(const uint8_t *data, size_t size);

/*
 * Read the stream part of data (after the control bytes) with options (the
 * harness's own, e.g. "format=tfrecord") plus those the control bytes
 * choose: once as the control bytes say, once whole with pipemode_next,
 * and abort() unless both give the same records, the same end and the same
 * position.  Every byte of every record is read, so that a sanitizer sees
 * any pointer that is not valid; every documented promise of the API that
 * can be checked from outside is checked (abort() when broken).
 */
void fz_read_input(const uint8_t *data, size_t size, const char *options);

/* As fz_read_input, but the stream comes from a pipe that a thread writes
 * it into, cut as the control bytes say, and the reader gets the pipe's
 * descriptor with pipe_options added (readahead=, which takes descriptors
 * only).  The reference read is from memory, without pipe_options. */
void fz_read_input_pipe(const uint8_t *data, size_t size,
			const char *options, const char *pipe_options);

/* Read stream once with options exactly as given, checking the same
 * promises as fz_read_input; mode and seed as c0 bits 0-2 and c1. */
void fz_read_once(const uint8_t *stream, size_t len, const char *options,
		  unsigned mode, unsigned seed);

/* Report a broken promise and abort(). */
void fz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* FNV-1a, to compare record sequences. */
uint64_t fz_hash(uint64_t h, const void *p, size_t n);
#define FZ_HASH_INIT 0xcbf29ce484222325ull

/* A read callback over memory, cutting it into chunks as c0/c1 say. */
struct fz_source {
	const uint8_t *p;
	size_t len, pos;
	unsigned mode;   /* c0 bits 0-2 */
	uint32_t rng;
};
void fz_source_init(struct fz_source *s, const uint8_t *p, size_t len,
		    unsigned mode, unsigned seed);
ssize_t fz_source_read(void *ctx, void *buf, size_t len);

#endif /* FUZZ_COMMON_H */
