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
/* "avx512-vpclmul", "avx2-vpclmul", "sse4.2", "armv8-crc" or
 * "slicing-by-8": what pm_crc32c uses. */
const char *pm_crc32c_impl_name(void);
/* The implementation of that name, NULL where this build or CPU lacks it:
 * lets tests check each one, not only the one pm_crc32c_hw() picks. */
pm_crc32c_fn pm_crc32c_impl_named(const char *name);

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

/* The framer interface is public (pipemode_framer_ops in pipemode.h): the
 * built-in framers use it exactly as plug-ins do. */
extern const pipemode_framer_ops pm_framer_tfrecord;
extern const pipemode_framer_ops pm_framer_recordio;
extern const pipemode_framer_ops pm_framer_lines;

/* Longest framer name, and how many bytes format=auto sniffs at most. */
#define PM_FRAMER_NAME_MAX 31
#define PM_SNIFF_BYTES 64

/*
 * The framer for a format name (case-insensitive; built-in names and their
 * aliases, then registered framers).  *ops is filled with a full-size copy
 * (fields an older plug-in lacks are NULL).  Returns PIPEMODE_OK, or
 * PIPEMODE_EOPTION for a name nobody knows, with msg saying so.
 */
int pm_framer_lookup(const char *name, pipemode_framer_ops *ops, char *msg,
		     size_t msgsize);

/* Every framer with a sniff function, built-in first: fills up to max
 * entries and returns how many there are. */
size_t pm_framer_sniffers(pipemode_framer_ops *ops, size_t max);

/*
 * A built-in framer's quick path: the common case of pipemode_framer_ops'
 * frame without the generality of its contract.  Given a window holding a
 * whole record at its start and no progress kept from an earlier call, it
 * checks the record as frame would, sets *data and *len and returns the
 * bytes it takes; it returns 0, changing nothing, whenever frame must
 * decide (a partial record, anything wrong, a record cut in parts), and the
 * reader then calls frame, which says why.  The reader calls it directly,
 * before frame, for the built-in framers only: pm_framer_quick gives the
 * one for a framer's ops, or NULL.
 */
typedef size_t (*pm_quick_fn)(void *state, const unsigned char *win,
			      size_t avail, const void **data, size_t *len);
pm_quick_fn pm_framer_quick(const pipemode_framer_ops *ops);
size_t pm_tfrecord_quick(void *state, const unsigned char *win, size_t avail,
			 const void **data, size_t *len);
size_t pm_recordio_quick(void *state, const unsigned char *win, size_t avail,
			 const void **data, size_t *len);

/* TFRecord framing sizes: u64 length, u32 masked length CRC; u32 data CRC. */
#define PM_TFRECORD_HEADER 12
#define PM_TFRECORD_FOOTER 4

/* RecordIO: u32 magic, u32 (3-bit flag << 29 | 29-bit length), payload,
 * padding to 4 bytes. */
#define PM_RECORDIO_MAGIC 0xced7230au
#define PM_RECORDIO_HEADER 8
#define PM_RECORDIO_MAX_PART ((1u << 29) - 1)

/* Whether the bytes start with a TFRecord header whose length CRC holds. */
int pm_tfrecord_header_valid(const unsigned char *buf, size_t len);

/* --------------------------------------------------------------- source */

struct pm_readahead;

/* Where bytes come from: a descriptor (owned or not) or a callback; and
 * what reading them cost. */
typedef struct pm_source {
	int fd;
	int owns_fd;
	pipemode_read_fn read_fn;
	void *ctx;
	struct pm_readahead *ra; /* a thread draining fd ahead, or NULL */
	uint64_t reads;    /* calls made */
	uint64_t bytes;    /* bytes they returned */
	uint64_t wait_ns;  /* time spent in them */
} pm_source;

/* Read up to len bytes: > 0, 0 at the end, or a negative errno.  EINTR is
 * retried here. */
ssize_t pm_source_read(pm_source *src, void *buf, size_t len);

/* On a FIFO, ask for a pipe of at least size bytes; refusals are ignored. */
void pm_source_grow_pipe(int fd, uint64_t size);

/*
 * Start a thread that keeps reading src->fd into a ring of size bytes while
 * the caller is busy, so a writer (SageMaker's) never stalls on a full pipe
 * during a slow training step; pm_source_read then takes from the ring.
 * Returns PIPEMODE_OK or PIPEMODE_ENOMEM (or EIO if the thread cannot
 * start, with errno set).
 */
int pm_source_start_readahead(pm_source *src, size_t size);

/* Stop and join the readahead thread, if any (before closing src->fd). */
void pm_source_stop_readahead(pm_source *src);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t pm_now_ns(void);

/* ------------------------------------------------------------- channels */

#define PM_DEFAULT_OPEN_TIMEOUT 120.0

/* The options only pipemode_open takes; NULL/-1: not given. */
struct pm_channel_options {
	char *pipe_dir;
	char *state_dir;
	char *config_dir;
	int64_t epoch;
	double open_timeout;
};

/* Parse one channel option into co (channel.c). */
int pm_channel_option(struct pm_channel_options *co, const char *key,
		      const char *value, char *msg, size_t msgsize);

/*
 * The reader as channel.c drives it: allocate; allow channel options;
 * parse the options; perhaps change the default format; prepare framers and
 * buffer; then attach a descriptor or a File-mode list of files.  Each
 * failing step leaves the message in the handle and returns the code.
 */
pipemode_reader *pm_reader_alloc(void);
void pm_reader_allow_channel(pipemode_reader *r);
int pm_reader_parse(pipemode_reader *r, const char *options,
		    const char *def_name);
struct pm_channel_options *pm_reader_channel(pipemode_reader *r);
int pm_reader_format_given(const pipemode_reader *r);
int pm_reader_set_format(pipemode_reader *r, const char *name);
int pm_reader_prepare(pipemode_reader *r);
int pm_reader_open_failed(pipemode_reader *r, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
const char *pm_reader_name(const pipemode_reader *r);
/* Name the source in messages, unless the option name did. */
int pm_reader_set_name(pipemode_reader *r, const char *name);
int pm_reader_attach_fd(pipemode_reader *r, int fd, int owns_fd);
/* Takes the array and its strings (malloc'd); opens the first file. */
int pm_reader_set_files(pipemode_reader *r, char **files, size_t nfiles);
void pm_reader_set_epoch(pipemode_reader *r, int64_t epoch,
			 uint64_t wait_ns);

/* ------------------------------------------------------------ filters */

/* A byte-to-byte stage between the source and the framer: zlib or gzip. */
typedef struct pm_filter pm_filter;

enum pm_compression {
	PM_COMPRESSION_NONE,
	PM_COMPRESSION_GZIP,
	PM_COMPRESSION_ZLIB,
	PM_COMPRESSION_AUTO
};

/* "none", "gzip", "zlib", "auto" (case-insensitive) or -1. */
int pm_compression_parse(const char *name);
const char *pm_compression_name(int kind);

/* What the first bytes of a stream say: PM_COMPRESSION_GZIP, _ZLIB or
 * _NONE.  A valid TFRecord header or the RecordIO magic wins over a
 * compression header they happen to resemble. */
int pm_compression_sniff(const unsigned char *buf, size_t len);

/*
 * A filter inflating kind (gzip or zlib) from src.  The first pending_len
 * bytes of its input are pending (already read from src by the caller);
 * src_eof says whether src already ended.  Returns PIPEMODE_OK,
 * PIPEMODE_ENOMEM.
 */
int pm_filter_create(pm_filter **f, int kind, const void *pending,
		     size_t pending_len, int src_eof);
void pm_filter_destroy(pm_filter *f);

/*
 * Up to len inflated bytes into buf: > 0, 0 at the clean end of the
 * compressed stream, or a negative PIPEMODE_E* code with a message in msg
 * (naming the compressed and the uncompressed offset).
 */
ssize_t pm_filter_read(pm_filter *f, pm_source *src, void *buf, size_t len,
		       char *msg, size_t msgsize);

/* "gzip" or "zlib", for messages. */
const char *pm_filter_name(const pm_filter *f);

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
