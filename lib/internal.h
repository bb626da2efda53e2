/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal interfaces of libpipemode.  Nothing here is exported: every
 * cross-file helper carries the pm_ prefix, which the version script and
 * -fvisibility=hidden keep out of the dynamic symbol table.
 */
#ifndef PIPEMODE_INTERNAL_H
#define PIPEMODE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pipemode.h"

#define PM_UNUSED(x) ((void)(x))

/* ------------------------------------------------------------------ crc32c */

/* Same contract as pipemode_crc32c(): dispatches to the best implementation. */
uint32_t pm_crc32c(uint32_t crc, const void *data, size_t len);

/* Each implementation, callable directly so tests can check all of those the
 * CPU has.  pm_crc32c_hw is NULL where the CPU has no CRC32C instructions. */
uint32_t pm_crc32c_sw(uint32_t crc, const void *data, size_t len);
typedef uint32_t (*pm_crc32c_fn)(uint32_t crc, const void *data, size_t len);
pm_crc32c_fn pm_crc32c_hw(void);
/* "sse4.2", "armv8-crc" or "slicing-by-8": what pm_crc32c uses. */
const char *pm_crc32c_impl_name(void);

/* TFRecord's masking of a stored CRC (so that CRCs of CRCs stay strong). */
static inline uint32_t
pm_crc32c_mask(uint32_t crc)
{
	return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

static inline uint32_t
pm_crc32c_unmask(uint32_t masked)
{
	uint32_t rot = masked - 0xa282ead8u;
	return (rot >> 17) | (rot << 15);
}

/* ------------------------------------------------------------- messages */

/* Room for a message naming a long path, a framer, a record and an offset. */
#define PM_MSG_SIZE 4608
/* Room for what a framer or the option parser says, before the reader adds
 * where it happened. */
#define PM_DETAIL_SIZE 512

void pm_format(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* -------------------------------------------------------------- options */

/*
 * Called once per "key=value" pair, in order, with the value unescaped.
 * Returns PIPEMODE_OK or an error code after writing a message into msg.
 */
typedef int (*pm_option_fn)(void *ctx, const char *key, const char *value,
			    char *msg, size_t msgsize);

/* Split options ("k=v,k=v", backslash escapes ',' and '\') and call fn for
 * each pair.  Returns PIPEMODE_OK, PIPEMODE_EOPTION (syntax; msg says
 * where), PIPEMODE_ENOMEM, or what fn returned. */
int pm_options_parse(const char *options, pm_option_fn fn, void *ctx,
		     char *msg, size_t msgsize);

/* The value of the last "name" option in options, or a copy of def_name
 * (also when options are malformed); NULL when memory runs out. */
char *pm_options_name(const char *options, const char *def_name);

/* Value parsers: PIPEMODE_OK or PIPEMODE_EOPTION with a message naming key. */
int pm_option_bool(const char *key, const char *value, int *out, char *msg,
		   size_t msgsize);
/* A decimal count, no sign, no suffix, at most max. */
int pm_option_uint(const char *key, const char *value, uint64_t max,
		   uint64_t *out, char *msg, size_t msgsize);
/* A size: decimal with an optional K, M or G suffix (powers of 1024), within
 * [min, max]. */
int pm_option_size(const char *key, const char *value, uint64_t min,
		   uint64_t max, uint64_t *out, char *msg, size_t msgsize);

/* -------------------------------------------------------------- framers */

/*
 * A framer turns a window of bytes into records and never does I/O.  The
 * window always starts at the first byte of the record being framed; the
 * reader guarantees that the bytes it passed before are passed again
 * (possibly at another address) until the framer consumes them.
 *
 * frame() returns one of:
 *   PM_FRAME_RECORD  f->data/f->len is the payload (inside the window or in
 *                    memory the framer owns, valid until its next call),
 *                    f->consumed the window bytes the record spans (> 0);
 *   PM_FRAME_NEED    f->need is the least total window size that lets it go
 *                    on (> avail); never returned when eof is set;
 *   PIPEMODE_EOF     eof is set and the window ends at a record boundary;
 *   a PIPEMODE_E* code, with a message in f->msg.  For PIPEMODE_ECRC,
 *                    f->consumed spans the bad record so that the reader may
 *                    skip it (skip_corrupt).
 */
enum { PM_FRAME_RECORD = 0, PM_FRAME_NEED = 2 };

typedef struct pm_frame {
	const void *data;
	size_t len;
	size_t consumed;
	size_t need;
	uint64_t offset; /* in: stream offset of the window's first byte */
	char *msg;       /* in: where to write an error message */
	size_t msgsize;
} pm_frame;

typedef struct pm_framer_config {
	int verify_crc;
	uint64_t max_record_size;
} pm_framer_config;

typedef struct pm_framer_ops {
	const char *name;
	int (*create)(void **state, const pm_framer_config *cfg, char *msg,
		      size_t msgsize);
	int (*frame)(void *state, const unsigned char *win, size_t avail,
		     int eof, pm_frame *f);
	void (*destroy)(void *state);
} pm_framer_ops;

extern const pm_framer_ops pm_framer_tfrecord;

/*
 * The framer for a format name (case-insensitive).  Returns PIPEMODE_OK,
 * PIPEMODE_EUNSUPPORTED for a known format this build cannot read, or
 * PIPEMODE_EOPTION for a name nobody knows; msg says which.
 */
int pm_framer_lookup(const char *name, const pm_framer_ops **ops, char *msg,
		     size_t msgsize);

/* TFRecord framing sizes: u64 length, u32 masked length CRC; u32 data CRC. */
#define PM_TFRECORD_HEADER 12
#define PM_TFRECORD_FOOTER 4

/* --------------------------------------------------------------- source */

/* Where bytes come from: a descriptor (owned or not) or a callback. */
typedef struct pm_source {
	int fd;
	int owns_fd;
	pipemode_read_fn read_fn;
	void *ctx;
} pm_source;

/* Read up to len bytes: > 0, 0 at the end, or a negative errno.  EINTR is
 * retried here. */
ssize_t pm_source_read(pm_source *src, void *buf, size_t len);

/* On a FIFO, ask for a pipe of at least size bytes; refusals are ignored. */
void pm_source_grow_pipe(int fd, uint64_t size);

/* Little-endian loads and stores, alignment-free. */
static inline uint32_t
pm_load_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t
pm_load_le64(const unsigned char *p)
{
	return (uint64_t)pm_load_le32(p) | (uint64_t)pm_load_le32(p + 4) << 32;
}

static inline void
pm_store_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static inline void
pm_store_le64(unsigned char *p, uint64_t v)
{
	pm_store_le32(p, (uint32_t)v);
	pm_store_le32(p + 4, (uint32_t)(v >> 32));
}

#endif /* PIPEMODE_INTERNAL_H */
