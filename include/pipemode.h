/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libpipemode: read SageMaker Pipe Mode streams (TFRecord, ...) record by
 * record, zero-copy, with every CRC32C verified.
 *
 * Conventions used by every function below:
 *  - Functions returning int return PIPEMODE_OK (0) on success, a small
 *    positive value for a normal condition (PIPEMODE_EOF) and a negative
 *    PIPEMODE_E* code on failure.  Codes are pinned: a released value never
 *    changes meaning.
 *  - Open functions always set *handle, even when they fail (it is NULL only
 *    when memory runs out), so that pipemode_errmsg() can say why.  The
 *    handle must be closed either way; close functions accept NULL.
 *  - Options are one string of "key=value" pairs separated by commas, for
 *    example "format=tfrecord,verify_crc=1,max_record_size=64M".  A value
 *    may contain a comma or a backslash if it is escaped by a backslash.
 *    Unknown keys and bad values are errors naming the key.  NULL or ""
 *    means all defaults.
 *  - A handle is used by one thread at a time; distinct handles are
 *    independent and may be used from different threads concurrently.
 *
 * Reader options (since 1.0):
 *   format=NAME          the framing, matched without regard to case:
 *                        tfrecord (default; alias TFRecord), recordio
 *                        (alias RecordIO: MXNet/SageMaker RecordIO), lines
 *                        (alias TextLine: one record per '\n'-ended line),
 *                        a framer registered with pipemode_register_framer,
 *                        or auto: TFRecord or RecordIO (or a registered
 *                        framer with a sniff function) told from the first
 *                        bytes; PIPEMODE_EFORMAT when they do not say
 *                        exactly one.  Text lines are never guessed.
 *   compression=NAME     none (default), gzip (single or multi-member), zlib,
 *                        or auto: gzip or zlib told from the first bytes,
 *                        else none.  Memory stays bounded whatever the
 *                        compression ratio.
 *   verify_crc=BOOL      verify the CRC32C of each record's payload
 *                        (default 1).  The CRC of a TFRecord length is always
 *                        verified: garbage must never drive an allocation.
 *                        BOOL is 1/0, true/false, yes/no or on/off.
 *   skip_corrupt=N       skip up to N consecutive records whose payload CRC
 *                        fails, counting them (default 0: the first bad
 *                        record is an error).  A record with a bad length CRC
 *                        is never skipped: nothing after it can be trusted.
 *   max_record_size=SIZE largest payload accepted (default 256M); a larger
 *                        one fails with PIPEMODE_ETOOBIG before anything is
 *                        allocated for it.
 *   buffer_size=SIZE     size of the read buffer (default 256K, at least
 *                        4K); it grows only for a record larger than itself.
 *   pipe_size=SIZE       on a FIFO, ask the kernel for a pipe buffer of this
 *                        size with F_SETPIPE_SZ (default 1M; 0 leaves the
 *                        pipe alone).  Refusals are ignored.
 *   name=TEXT            how the source is named in error messages (default:
 *                        the path, "fd N" or "callback").
 *   readahead=SIZE       on a descriptor (path, fd, channel), a background
 *                        thread keeps reading into a ring of SIZE bytes while
 *                        the caller computes, so the writer never stalls on a
 *                        full pipe during a slow training step (default 0:
 *                        off; else at least 4K).  The thread belongs to the
 *                        reader and stops in pipemode_close.  It costs one
 *                        copy of every byte.
 *   timing=BOOL          measure the time spent inside pipemode_next
 *                        (pipemode_stats.library_ns; default 0).
 *   pipemode_open() takes channel options too: see there.
 *   Options of one format (an error with another format):
 *   recordio_multipart=concat|dmlc
 *                        how the parts of a multipart RecordIO record join:
 *                        concat (default) verbatim, as SageMaker and AWS
 *                        ml-io write them; dmlc with the magic word put back
 *                        between parts, as MXNet's dmlc-core writes them.
 *   strip_cr=BOOL        lines: drop a '\r' that ends a line, before its
 *                        '\n' or at the end of the stream (default 0).
 *   SIZE is a decimal number of bytes with an optional K, M or G suffix
 *   (powers of 1024).
 *
 * Writer options (since 1.0):
 *   format=NAME          tfrecord (default) or recordio.
 *   recordio_multipart=concat|dmlc
 *                        concat (default): a record is one part unless it is
 *                        2^29 bytes or more, then it is cut into parts; dmlc:
 *                        cut where the magic word stands at a 4-byte-aligned
 *                        offset, dropping it, as dmlc-core's RecordIOWriter
 *                        does (records of 2^29 bytes or more are refused).
 *   compression=NAME     none (default), gzip or zlib.
 *   compression_level=N  0 (store) to 9 (default: zlib's 6); with gzip or
 *                        zlib only.
 *   buffer_size=SIZE     output buffer (default 256K, at least 4K; with
 *                        compression a second one of the same size holds
 *                        compressed output).
 *   name=TEXT            as for the reader.
 */
#ifndef PIPEMODE_H
#define PIPEMODE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(PIPEMODE_BUILDING_LIBRARY) && defined(__GNUC__)
#define PIPEMODE_API __attribute__((visibility("default")))
#else
#define PIPEMODE_API
#endif

/* ---------------------------------------------------------------- versions */

#define PIPEMODE_VERSION_MAJOR 1
#define PIPEMODE_VERSION_MINOR 0
#define PIPEMODE_VERSION_PATCH 0
/* MAJOR * 10000 + MINOR * 100 + PATCH: 10000 for 1.0.0 */
#define PIPEMODE_VERSION_NUMBER                                               \
	(PIPEMODE_VERSION_MAJOR * 10000 + PIPEMODE_VERSION_MINOR * 100 +       \
	 PIPEMODE_VERSION_PATCH)
#define PIPEMODE_VERSION_STRING "1.0.0"

/* The version of the library loaded at run time, which may be newer than the
 * header a program was compiled with.  Since 1.0. */
PIPEMODE_API unsigned pipemode_version_number(void);
PIPEMODE_API const char *pipemode_version_string(void);

/* ------------------------------------------------------------ error codes */

/*
 * PIPEMODE_ERRNO_MAP(XX) lists every code once: XX(NAME, value, message).
 * Values are pinned; new codes get new values.
 */
#define PIPEMODE_ERRNO_MAP(XX)                                                \
	XX(OK, 0, "success")                                                   \
	XX(EOF, 1, "end of stream")                                            \
	XX(EINVAL, -1, "invalid argument")                                     \
	XX(ENOMEM, -2, "out of memory")                                        \
	XX(EIO, -3, "input/output error")                                      \
	XX(EOPTION, -4, "unknown option or bad option value")                  \
	XX(EUNSUPPORTED, -5, "not supported by this build")                    \
	XX(ETRUNCATED, -6, "stream ends inside a record")                      \
	XX(ECORRUPT, -7, "corrupt framing")                                    \
	XX(ECRC, -8, "record payload crc32c mismatch")                         \
	XX(ETOOBIG, -9, "record larger than max_record_size")                  \
	XX(ESTATE, -10, "the handle failed to open and can only be closed")    \
	XX(EFORMAT, -11, "cannot tell the format or compression of the stream") \
	XX(ETIMEDOUT, -12, "timed out waiting for a channel's FIFO or writer") \
	XX(ECONFIG, -13, "bad channel configuration or state file")

enum pipemode_code {
#define PIPEMODE_XX_ENUM_(name, value, msg) PIPEMODE_##name = value,
	PIPEMODE_ERRNO_MAP(PIPEMODE_XX_ENUM_)
#undef PIPEMODE_XX_ENUM_
	PIPEMODE_CODE_END_ = -1000 /* keeps the enum int-sized; not a code */
};

/* A static English description of code; never NULL (unknown codes give
 * "unknown error code").  Since 1.0. */
PIPEMODE_API const char *pipemode_strerror(int code);

/* The code's name without the prefix, e.g. "ECRC" for PIPEMODE_ECRC; NULL for
 * an unknown code.  Since 1.0. */
PIPEMODE_API const char *pipemode_code_name(int code);

/* ----------------------------------------------------------------- reader */

typedef struct pipemode_reader pipemode_reader;

/*
 * Open the next pass (epoch) over a SageMaker channel, as a training
 * program in Pipe Mode sees it: <pipe_dir>/<channel>_<N>.
 *
 *  - channel must match SageMaker's rule [A-Za-z0-9._-]{1,64} and not be
 *    "." or "..": nothing else can reach outside the pipe directory
 *    (PIPEMODE_EINVAL).
 *  - N comes from a counter shared by every reader of the channel in every
 *    process: the file <state_dir>/.<channel>-pipe_mode-state (ASCII
 *    decimal), read and advanced atomically under flock() on
 *    <state_dir>/.<channel>-pipe_mode-lock.  These are the files AWS's
 *    PipeModeDataset uses, so the two stay in step on one channel.  The state
 *    directory is created if missing; the files are created 0644 (less the
 *    umask) and never followed through symlinks.  Option epoch=N opens epoch
 *    N without touching the counter.
 *  - A FIFO that does not exist yet, and a FIFO whose writer has not come
 *    (or has sent nothing yet), are waited for up to open_timeout seconds;
 *    then PIPEMODE_ETIMEDOUT naming the path.  A regular file in its place
 *    is read like the FIFO.
 *  - File and FastFile mode (the config says so, or <pipe_dir>/<channel> is
 *    a directory): each open is one pass over the files under
 *    <pipe_dir>/<channel>/, recursively, in sorted order (byte order of
 *    their paths), each framed on its own, with compression detected per
 *    file when compression=auto.  Record indexes and byte offsets are then
 *    those within the current file, which messages name.  The epoch counter
 *    advances the same way.
 *  - <config_dir>/inputdataconfig.json, when present, must name the channel
 *    (else PIPEMODE_ECONFIG); its TrainingInputMode chooses Pipe or File
 *    reading, and RecordWrapperType "RecordIO" makes format=recordio the
 *    default.  A malformed file is PIPEMODE_ECONFIG.
 * Options (besides every reader option):
 *   pipe_dir=DIR       default $PIPEMODE_PIPE_DIR, else /opt/ml/input/data
 *   state_dir=DIR      default $PIPEMODE_STATE_DIR, else /opt/ml/pipe_state
 *   config_dir=DIR     default $PIPEMODE_CONFIG_DIR, else /opt/ml/input/config
 *   epoch=N            open this epoch; the counter is left alone
 *   open_timeout=SECS  default 120; fractions allowed; 0 fails at once
 * These options are errors with the other open functions.
 * Returns PIPEMODE_OK, PIPEMODE_EINVAL, PIPEMODE_EOPTION, PIPEMODE_ECONFIG,
 * PIPEMODE_ETIMEDOUT, PIPEMODE_EIO (a state or pipe file could not be
 * used; the message says which and why) or PIPEMODE_ENOMEM.  Since 1.0.
 */
PIPEMODE_API int pipemode_open(pipemode_reader **r, const char *channel,
			       const char *options);

/*
 * Open a reader on a file or FIFO.  The file is opened with O_CLOEXEC and
 * closed by pipemode_close().  Opening a FIFO blocks until a writer opens it,
 * as open(2) does.
 * Returns PIPEMODE_OK, PIPEMODE_EINVAL (r or path NULL), PIPEMODE_EOPTION,
 * PIPEMODE_EUNSUPPORTED, PIPEMODE_EIO (open failed: the message says why)
 * or PIPEMODE_ENOMEM.  Since 1.0.
 */
PIPEMODE_API int pipemode_open_path(pipemode_reader **r, const char *path,
				    const char *options);

/*
 * Open a reader on a file descriptor open for reading.  The descriptor stays
 * the caller's: pipemode_close() does not close it.  Reading starts at its
 * current position.  Returns as pipemode_open_path().  Since 1.0.
 */
PIPEMODE_API int pipemode_open_fd(pipemode_reader **r, int fd,
				  const char *options);

/*
 * A source of bytes for pipemode_open_callback(): copy up to len bytes into
 * buf and return how many (at least 1), 0 at the end of the stream, or a
 * negative errno value on failure (-EINTR is retried).
 */
typedef ssize_t (*pipemode_read_fn)(void *ctx, void *buf, size_t len);

/*
 * Open a reader on a callback, for streams that are neither a file nor a
 * descriptor (memory, a language runtime's file object).  ctx is passed to
 * read unchanged and stays the caller's.  Since 1.0.
 */
PIPEMODE_API int pipemode_open_callback(pipemode_reader **r,
					pipemode_read_fn read, void *ctx,
					const char *options);

/*
 * Read the next record.
 * On PIPEMODE_OK, *data and *len describe the record's payload.  The bytes
 * belong to the reader and stay valid and unchanged until the next call on
 * this reader (pipemode_next or pipemode_close); a record that arrived whole
 * is never copied.  *data is never NULL, even for an empty record.
 * Returns:
 *   PIPEMODE_OK          a record
 *   PIPEMODE_EOF         the stream ended cleanly at a record boundary;
 *                        further calls return PIPEMODE_EOF again
 *   PIPEMODE_ETRUNCATED  the stream ended inside a record
 *   PIPEMODE_ECORRUPT    framing that cannot be trusted (e.g. a bad length
 *                        CRC); reading cannot resume
 *   PIPEMODE_ECRC        a payload CRC mismatch (beyond skip_corrupt)
 *   PIPEMODE_ETOOBIG     a record larger than max_record_size
 *   PIPEMODE_EIO         read failed
 *   PIPEMODE_ENOMEM      a buffer could not be grown
 *   PIPEMODE_EINVAL      r, data or len is NULL
 *   PIPEMODE_EFORMAT     format=auto could not tell the format
 *   PIPEMODE_ESTATE      the open failed; the handle can only be closed
 * After an error the reader is failed: further calls return the same code
 * and pipemode_errmsg() keeps the message.  On any return other than
 * PIPEMODE_OK, *data is set to NULL and *len to 0 (when they are not NULL).
 * Since 1.0.
 */
PIPEMODE_API int pipemode_next(pipemode_reader *r, const void **data,
			       size_t *len);

/* One record of a batch. */
typedef struct pipemode_record {
	const void *data;
	size_t len;
} pipemode_record;

/*
 * Read up to max records at once, for callers that pay per call (bindings
 * through ctypes or a foreign-function layer).  Zero-copy as pipemode_next:
 * every record of the batch stays valid until the next call on this
 * reader.  A batch may hold fewer than max records even mid-stream: it
 * ends where the reader would have to refill or move its buffer, and after
 * a record the framer joined in its own memory.
 * Returns PIPEMODE_OK with *n >= 1 records; PIPEMODE_EOF with *n == 0 at
 * the end; an error code with *n == 0.  Records before an error or the end
 * come first, with PIPEMODE_OK; the next call then returns the error (and
 * pipemode_errmsg, pipemode_record_index and pipemode_byte_offset already
 * describe it) or the end.  PIPEMODE_EINVAL when records or n is NULL or max is 0.  Since 1.0.
 */
PIPEMODE_API int pipemode_next_batch(pipemode_reader *r,
				     pipemode_record *records, size_t max,
				     size_t *n);

/*
 * Close the reader and free everything it owns, including the descriptor it
 * opened itself.  Accepts NULL.  Returns PIPEMODE_OK, or PIPEMODE_EIO if
 * closing a descriptor the reader opened failed; the handle is freed either
 * way.  Since 1.0.
 */
PIPEMODE_API int pipemode_close(pipemode_reader *r);

/*
 * Why the last call on r failed: "SOURCE: FRAMER: record N at byte OFF:
 * what", or "" when nothing failed.  Owned by the reader, valid until the
 * next call on it.  Accepts NULL ("out of memory", since a NULL handle from
 * an open means exactly that).  Since 1.0.
 */
PIPEMODE_API const char *pipemode_errmsg(const pipemode_reader *r);

/*
 * Where the reader is.  The record index counts every record framed in the
 * stream from 0, including records skipped by skip_corrupt.  After
 * PIPEMODE_OK it is the index of the record returned; after an error, the
 * index of the record where the error was found; before the first record, 0.
 * The byte offset is that of the first byte of that record's framing in the
 * stream given to the framer.  At the end of the stream they are the number
 * of records framed and the length of the stream.  Both are 0 for a NULL
 * handle.  Since 1.0.
 */
PIPEMODE_API uint64_t pipemode_record_index(const pipemode_reader *r);
PIPEMODE_API uint64_t pipemode_byte_offset(const pipemode_reader *r);

/*
 * The name of what the reader is reading now, as messages give it: the
 * path, "fd N", "callback", the channel's FIFO, in File mode the current
 * file, or the name option.  So a program that rejects a record can say
 * where it came from.  Owned by the reader, valid until the next call on
 * it; "" for a NULL handle.  Since 1.0.
 */
PIPEMODE_API const char *pipemode_source_name(const pipemode_reader *r);

/*
 * Counters of a reader.  Set size to sizeof(pipemode_stats) before the call:
 * fields added in later releases go at the end, and the library fills only
 * what the caller's size covers.
 */
typedef struct pipemode_stats {
	size_t size;             /* in: sizeof(pipemode_stats) */
	uint64_t records;        /* records returned by pipemode_next */
	uint64_t payload_bytes;  /* their payload bytes */
	uint64_t skipped;        /* records skipped by skip_corrupt */
	uint64_t bytes_read;     /* bytes taken from the source */
	uint64_t read_calls;     /* read() calls (or callback calls) made */
	uint64_t read_wait_ns;   /* time spent inside those calls */
	uint64_t library_ns;     /* time inside pipemode_next other than
				    read_wait_ns; measured only with the
				    option timing=1 (it costs two clock
				    reads a record), else 0 */
	uint64_t open_wait_ns;   /* time pipemode_open waited for the FIFO
				    and its writer */
	int64_t epoch;           /* the channel epoch read; -1 when the
				    reader is not on a channel */
	uint64_t files;          /* files opened so far (File mode: one a
				    file) */
} pipemode_stats;

/* Fill *st (see above).  Returns PIPEMODE_OK, or PIPEMODE_EINVAL if r or st
 * is NULL or st->size is smaller than the 1.0 struct.  Since 1.0. */
PIPEMODE_API int pipemode_get_stats(const pipemode_reader *r,
				    pipemode_stats *st);

/* ----------------------------------------------------------------- writer */

typedef struct pipemode_writer pipemode_writer;

/*
 * Open a writer that creates or truncates path (mode 0666 & ~umask,
 * O_CLOEXEC).  Opening a FIFO blocks until a reader opens it.  Note that a
 * write to a FIFO whose reader left raises SIGPIPE unless the program
 * ignores it; then pipemode_write() returns PIPEMODE_EIO.
 * Returns as pipemode_open_path().  Since 1.0.
 */
PIPEMODE_API int pipemode_writer_open_path(pipemode_writer **w,
					   const char *path,
					   const char *options);

/* Open a writer on a descriptor open for writing; it stays the caller's.
 * Since 1.0. */
PIPEMODE_API int pipemode_writer_open_fd(pipemode_writer **w, int fd,
					 const char *options);

/*
 * Append one record (len may be 0; data may then be NULL).  Output is
 * buffered; records of at least buffer_size bytes go out without a copy.
 * Returns PIPEMODE_OK, PIPEMODE_EINVAL (the writer stays usable),
 * PIPEMODE_ETOOBIG (a RecordIO record the dmlc convention cannot hold; the
 * writer stays usable), PIPEMODE_EIO, PIPEMODE_ENOMEM (zlib ran out of
 * memory), or PIPEMODE_ESTATE when the open failed.  After a failed
 * write every call returns that failure's code again, as the reader does.
 * Since 1.0.
 */
PIPEMODE_API int pipemode_write(pipemode_writer *w, const void *data,
				size_t len);

/* Write out buffered records.  With compression this is a zlib sync flush:
 * everything written so far can be decompressed by a reader (at the cost
 * of a few bytes each time).  Since 1.0. */
PIPEMODE_API int pipemode_writer_flush(pipemode_writer *w);

/*
 * Flush (with compression: finish the stream and write its trailer), close
 * the descriptor the writer opened itself, and free the writer.
 * Accepts NULL.  Returns PIPEMODE_OK or the error that kept the data from
 * being written.  The writer is freed either way, with its message: to
 * report why the last records could not be written, call
 * pipemode_writer_flush() first and read pipemode_writer_errmsg().
 * Since 1.0.
 */
PIPEMODE_API int pipemode_writer_close(pipemode_writer *w);

/* As pipemode_errmsg(), for a writer.  Since 1.0. */
PIPEMODE_API const char *pipemode_writer_errmsg(const pipemode_writer *w);

/* ---------------------------------------------------------------- framers */

/*
 * A framer turns bytes into records.  The built-in framers (tfrecord,
 * recordio, lines) use exactly this interface; programs add their own with
 * pipemode_register_framer() and select it with "format=NAME".
 *
 * The contract:
 *  - A framer never does I/O.  frame() is handed a window of bytes that
 *    starts at the first byte it has not consumed yet, and answers with one
 *    of: a record, "I took these bytes into my own state", "I need a window
 *    of at least N bytes", the end, or an error.  The window may be split
 *    anywhere: after a NEED answer the same bytes come again (possibly at
 *    another address) with more behind them, so a framer may remember
 *    progress as offsets from the window's start (never as pointers).
 *  - A record's payload may point into the window (zero-copy) or into
 *    memory the framer owns; either must stay valid until the next call on
 *    the framer.
 *  - The reader adds the source, the framer's name, the record index and
 *    the byte offset to every message, so messages say only what went wrong.
 *
 * frame(state, win, avail, eof, f) returns:
 *   PIPEMODE_FRAME_RECORD  f->data/f->len: the payload; f->consumed: the
 *                          window bytes the record spans (at least 1)
 *   PIPEMODE_FRAME_TAKEN   the framer copied f->consumed bytes (at least
 *                          1) into its own state, e.g. one part of a record
 *                          it joins from parts; the next window starts after
 *                          them.  The record still counts from its first
 *                          byte: index and offset do not move.
 *   PIPEMODE_FRAME_NEED    f->need: the least window size (> avail) that
 *                          lets it go on.  Not allowed when eof is set.
 *   PIPEMODE_EOF           eof is set and the window is empty at a record
 *                          boundary
 *   a PIPEMODE_E* code     with a message written into f->msg (at most
 *                          f->msgsize bytes, NUL included).  For
 *                          PIPEMODE_ECRC, f->consumed spans the bad record
 *                          so that skip_corrupt can step over it.
 *                          PIPEMODE_ETRUNCATED when eof comes inside a record.
 * eof is set once the source has ended: avail is then all there will be.
 */
#define PIPEMODE_FRAME_RECORD 0
#define PIPEMODE_FRAME_NEED 2
#define PIPEMODE_FRAME_TAKEN 3

typedef struct pipemode_frame {
	size_t size;        /* sizeof(pipemode_frame) of the library */
	/* out */
	const void *data;
	size_t len;
	size_t consumed;
	size_t need;
	/* in */
	uint64_t offset;    /* stream offset of the window's first byte */
	char *msg;          /* where an error message goes */
	size_t msgsize;
} pipemode_frame;

/* What the reader's options say to every framer. */
typedef struct pipemode_framer_config {
	size_t size;              /* sizeof(pipemode_framer_config) */
	int verify_crc;           /* option verify_crc */
	uint64_t max_record_size; /* option max_record_size: refuse larger
				     records with PIPEMODE_ETOOBIG before
				     allocating anything for them */
} pipemode_framer_config;

typedef struct pipemode_framer_ops {
	/* sizeof(pipemode_framer_ops) as the framer was compiled: fields
	 * added in later releases go at the end, and the library uses only
	 * what size covers. */
	size_t size;
	/* The format's name for "format=", matched without regard to case:
	 * letters, digits, '_' and '-', at most 31 characters. */
	const char *name;
	/* Make a framer state.  Returns PIPEMODE_OK, or an error code with a
	 * message in msg. */
	int (*create)(void **state, const pipemode_framer_config *cfg,
		      char *msg, size_t msgsize);
	/* Optional (NULL: the framer takes no options).  Called after create
	 * for each reader option the reader itself does not know: returns
	 * PIPEMODE_OK, 1 for a key that is not this framer's, or
	 * PIPEMODE_EOPTION with a message for a bad value. */
	int (*option)(void *state, const char *key, const char *value,
		      char *msg, size_t msgsize);
	/* See above. */
	int (*frame)(void *state, const unsigned char *win, size_t avail,
		     int eof, pipemode_frame *f);
	/* Free the state. */
	void (*destroy)(void *state);
	/* Optional: for format=auto, whether a stream starting with buf[0..len)
	 * is of this format: 1 yes, 0 no, -1 cannot tell yet (len is at most
	 * 64 bytes; fewer only at the end of a short stream).  A sniff must be
	 * specific: detection fails when two framers say yes. */
	int (*sniff)(const unsigned char *buf, size_t len);
} pipemode_framer_ops;

/*
 * Register a framer for every reader opened afterwards, in any thread.  The
 * library copies *ops (as far as ops->size covers), but keeps the name and
 * function pointers, which must stay valid while the process may open
 * readers.  Returns PIPEMODE_OK; PIPEMODE_EINVAL for NULL or missing
 * create/frame/destroy, a bad name, or a name that is already taken (the
 * built-in names included); PIPEMODE_ENOMEM.  Thread-safe.  Since 1.0.
 */
PIPEMODE_API int pipemode_register_framer(const pipemode_framer_ops *ops);

/* ------------------------------------------------------------------ crc32c */

/*
 * CRC32C (Castagnoli, as in iSCSI, ext4 and TFRecord), extended over
 * data[0..len): start with crc = 0, pass the previous result to continue.
 * pipemode_crc32c(0, "123456789", 9) == 0xe3069283.  The fastest
 * implementation the CPU supports is chosen at run time.  Thread-safe.
 * Since 1.0.
 */
PIPEMODE_API uint32_t pipemode_crc32c(uint32_t crc, const void *data,
				      size_t len);

#ifdef __cplusplus
}
#endif

#endif /* PIPEMODE_H */
