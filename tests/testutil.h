/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers shared by check_tfrecord, check_fifo and check_data: an in-memory
 * TFRecord encoder written from the format description (independent of the
 * library's writer), a RecordIO one (used by check_recordio), a chunked
 * memory source for pipemode_open_callback(), a record collector, a
 * temporary directory and a deterministic PRNG.
 *
 * Helpers that take a Check assertion (tu_open_src, tu_check_*) must be
 * called from inside a test.
 */
#ifndef PIPEMODE_TESTUTIL_H
#define PIPEMODE_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <check.h>

#include "pipemode.h"

/* The splits every framer test is run at (use with tcase_add_loop_test and
 * TU_CHUNK): a byte at a time, an odd size, a page, and the whole stream in
 * one call. */
#define TU_NCHUNKS 4
#define TU_WHOLE SIZE_MAX
extern const size_t tu_chunks[TU_NCHUNKS];
#define TU_CHUNK (tu_chunks[_i])

/* ------------------------------------------------------------ encoding */

uint32_t tu_mask(uint32_t crc);
/* mask(crc32c(p[0..n))) as stored in a TFRecord */
uint32_t tu_masked_crc(const void *p, size_t n);
void tu_put_le32(unsigned char *p, uint32_t v);
void tu_put_le64(unsigned char *p, uint64_t v);

/* ------------------------------------------------------------ buffers */

/* A growable byte buffer; allocation failures fail the test. */
typedef struct tu_buf {
	unsigned char *p;
	size_t len, cap;
} tu_buf;

void tu_buf_reserve(tu_buf *b, size_t n);
void tu_buf_add(tu_buf *b, const void *p, size_t n);
void tu_buf_free(tu_buf *b);

/* ------------------------------------------------------------ PRNG */

/* splitmix64: fixed seeds give the same bytes on every platform */
uint64_t tu_rand(uint64_t *state);
void tu_fill(void *buf, size_t n, uint64_t seed);

/* ------------------------------------------------------------ streams */

enum {
	TU_BAD_LEN_CRC = 1,  /* flip a bit of the stored length CRC */
	TU_BAD_DATA_CRC = 2  /* flip a bit of the stored payload CRC */
};

typedef struct tu_rec_info {
	uint64_t offset;     /* of the record's first framing byte */
	size_t len;          /* payload length */
	unsigned flags;
} tu_rec_info;

/* A TFRecord stream being built in memory, with where each record is. */
typedef struct tu_stream {
	unsigned char *p;
	size_t len, cap;
	tu_rec_info *rec;
	size_t nrec, reccap;
} tu_stream;

void tu_stream_init(tu_stream *s);
void tu_stream_free(tu_stream *s);
/* Append a record; returns its index. */
size_t tu_stream_add(tu_stream *s, const void *payload, size_t len,
		     unsigned flags);
/* Append a record of len bytes from tu_fill(seed). */
size_t tu_stream_add_random(tu_stream *s, size_t len, uint64_t seed,
			    unsigned flags);
/* Append only a 12-byte header (length + length CRC), not a record. */
void tu_stream_add_header(tu_stream *s, uint64_t len, unsigned flags);
void tu_stream_add_raw(tu_stream *s, const void *p, size_t n);
const unsigned char *tu_stream_payload(const tu_stream *s, size_t i);
/* Offset just past record i (16 + len after its start). */
uint64_t tu_stream_rec_end(const tu_stream *s, size_t i);

/* ------------------------------------------------------------ memory source */

typedef struct tu_src {
	const unsigned char *p;
	size_t len, pos;
	size_t chunk;        /* most bytes handed out per call */
	size_t fail_at;      /* SIZE_MAX: never; else -fail_errno once pos
				reaches it (and on every call after) */
	int fail_errno;
	unsigned eintr_every;/* 0: never; n: calls 1, 1 + n, 1 + 2n, ...
				return -EINTR */
	unsigned long calls, eintrs;
} tu_src;

void tu_src_init(tu_src *src, const void *p, size_t len, size_t chunk);
ssize_t tu_src_read(void *ctx, void *buf, size_t len);
/* pipemode_open_callback on src, asserting success. */
pipemode_reader *tu_open_src(tu_src *src, const char *options);

/* ------------------------------------------------------------ reading */

typedef struct tu_got {
	unsigned char *data; /* a copy */
	size_t len;
	uint64_t index, offset;
} tu_got;

typedef struct tu_result {
	tu_got *v;
	size_t n, cap;
	int rc;              /* the first return other than PIPEMODE_OK */
	uint64_t index, offset; /* after rc */
	char errmsg[1024];   /* after rc */
} tu_result;

/*
 * Read records until pipemode_next returns something other than OK; copy
 * each with its index and offset.  Checks along the way what every call
 * must satisfy: data non-NULL on OK, data NULL and len 0 otherwise, errmsg
 * empty after OK, and that the final code (and errmsg) repeat on two more
 * calls.  Returns res->rc.
 */
int tu_read_all(pipemode_reader *r, tu_result *res);

/* Read all of p[0..n) at chunk (a tu_src) with options into res; returns
 * the reader's stats, taken before it is closed. */
pipemode_stats tu_read_mem(const void *p, size_t n, size_t chunk,
			   const char *options, tu_result *res);
void tu_result_free(tu_result *res);

/*
 * Assert that res holds the first nrec records of s (leaving out those with
 * TU_BAD_DATA_CRC when skip_bad), bytes, indices and offsets.
 */
void tu_check_records(const tu_result *res, const tu_stream *s, size_t nrec,
		      int skip_bad);
/* Assert the final code, and the index and offset reported with it. */
void tu_check_error(const tu_result *res, int rc, uint64_t index,
		    uint64_t offset);
/* Assert r's counters. */
void tu_check_stats(pipemode_reader *r, uint64_t records,
		    uint64_t payload_bytes, uint64_t skipped,
		    uint64_t bytes_read);
/* Case-insensitive substring test. */
int tu_contains(const char *haystack, const char *needle);

/* ------------------------------------------------------------ recordio */

/* RecordIO framing, from the format: u32 magic, u32 (cflag << 29 | length),
 * payload, zero padding to a multiple of 4, all little-endian. */
#define TU_RIO_MAGIC 0xced7230au
#define TU_RIO_HEADER 8
enum {
	TU_RIO_WHOLE = 0,  /* cflag 0: a record in one part */
	TU_RIO_FIRST = 1,
	TU_RIO_MIDDLE = 2,
	TU_RIO_LAST = 3
};

/* A record of a RecordIO stream as tu_rio built it. */
typedef struct tu_rio_rec {
	uint64_t offset;     /* of its first part's magic */
	uint64_t end;        /* just past its last part's padding */
	size_t first_part;   /* 0-based number of its first part */
	size_t nparts;
	/* The payload as each join gives it (malloc'ed, never NULL):
	 * concat joins the parts verbatim, dmlc puts the magic word back
	 * between parts. */
	unsigned char *concat, *dmlc;
	size_t concat_len, dmlc_len;
} tu_rio_rec;

/*
 * A RecordIO stream being built in memory part by part, remembering where
 * each part is and what each complete record reads as.  Records are
 * tracked by the parts' flags as the format defines them; parts that break
 * the sequence are written as asked and leave the tracking alone (a record
 * left open is not in rec[]).
 */
typedef struct tu_rio {
	unsigned char *p;
	size_t len, cap;
	uint64_t *part_off;  /* offset of each part */
	size_t nparts, partcap;
	tu_rio_rec *rec;
	size_t nrec, reccap;
	unsigned char pad_byte; /* what padding is made of (default 0) */
	int open;            /* a record is being assembled */
	tu_rio_rec cur;      /* ... this one */
} tu_rio;

void tu_rio_init(tu_rio *s);
void tu_rio_free(tu_rio *s);
/* Append one part: magic, lrec = cflag << 29 | len, payload, padding.
 * Returns its 0-based number. */
size_t tu_rio_part(tu_rio *s, unsigned cflag, const void *p, size_t len);
/* Append a part header with any magic and lrec word, and nothing else. */
void tu_rio_header(tu_rio *s, uint32_t magic, uint32_t lrec);
void tu_rio_raw(tu_rio *s, const void *p, size_t n);
/* A record in one part (cflag 0); returns its index. */
size_t tu_rio_add(tu_rio *s, const void *p, size_t len);
size_t tu_rio_add_random(tu_rio *s, size_t len, uint64_t seed);
/* A record cut into nparts parts of the given lengths (which must add up
 * to len; nparts >= 2), flagged first, middle..., last; returns its
 * index. */
size_t tu_rio_add_parts(tu_rio *s, const void *p, size_t len,
			const size_t *lens, size_t nparts);
/* A record written as dmlc-core's RecordIOWriter does: cut where the magic
 * word stands at a 4-byte-aligned offset, dropping it.  In dmlc mode it
 * reads back as p[0..len); in concat mode without those magic words. */
size_t tu_rio_add_dmlc(tu_rio *s, const void *p, size_t len);

/* Assert that res holds the first nrec records of s, as read in dmlc mode
 * (dmlc != 0) or concat mode: bytes, indices and offsets. */
void tu_rio_check_records(const tu_result *res, const tu_rio *s, size_t nrec,
			  int dmlc);

/* ------------------------------------------------------------ files */

/* Unchecked fixture pair: a fresh directory under $TMPDIR (or /tmp) in
 * tu_tmpdir, created before a tcase's tests and removed after them, even
 * when some failed. */
extern char tu_tmpdir[4096];
void tu_tmpdir_setup(void);
void tu_tmpdir_teardown(void);
/* rm -rf, links not followed, opening up read-only directories first.
 * Child-safe. */
void tu_rm_tree(const char *path);
/* buf = tu_tmpdir/name (asserts that it fits) */
void tu_tmppath(char *buf, size_t size, const char *name);

/* Whole-file helpers (abort the test on failure).  Returned buffer is
 * malloc'ed, at least one byte even for an empty file. */
unsigned char *tu_read_file(const char *path, size_t *len);
void tu_write_file(const char *path, const void *p, size_t n);
/* write(2) all of p[0..n) in pieces whose sizes cycle through sizes[]
 * (0 ends the list); returns 0 or -1 with errno.  Safe in a child. */
int tu_write_pieces(int fd, const void *p, size_t n, const size_t *sizes);

#endif /* PIPEMODE_TESTUTIL_H */
