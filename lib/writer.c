/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The writer: TFRecord or RecordIO, optionally gzip or zlib compressed.
 *
 * Two layers.  Framing (write_tfrecord, write_recordio_*) turns a record into
 * groups of byte ranges: a header built on the stack, the caller's payload,
 * a footer or padding.  emit() gathers small groups in the buffer and lets a
 * group at least as large as the buffer go out straight from the caller's
 * memory, behind what was buffered; nothing is copied twice.  sink() is where
 * bytes leave: writev() on the descriptor, or deflate() into a fixed-size
 * output buffer that is written out each time it fills, so memory stays
 * bounded whatever the record size.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/uio.h>
#include <unistd.h>

#include <zlib.h>

#include "internal.h"

#define DEFAULT_BUFFER_SIZE (256u * 1024)
#define MIN_BUFFER_SIZE (4u * 1024)
#define MAX_BUFFER_SIZE (1024u * 1024 * 1024)

/* RecordIO: the first length that does not fit a part's 29 bits, and the
 * longest part a split record is cut into: a multiple of 4, so that only the
 * last part of a record ever needs padding. */
#define RIO_LIMIT ((size_t)PM_RECORDIO_MAX_PART + 1)
#define RIO_CUT (RIO_LIMIT - 4)
enum { CFLAG_WHOLE = 0, CFLAG_FIRST = 1, CFLAG_MIDDLE = 2, CFLAG_LAST = 3 };

enum { FORMAT_TFRECORD, FORMAT_RECORDIO };
enum { MULTIPART_CONCAT, MULTIPART_DMLC };

/* The most ranges one group of emit() has: header, payload, footer. */
#define GROUP_MAX 3

struct pipemode_writer {
	int fd;
	int owns_fd;
	int error;              /* 0, or the code every call repeats */
	char *name;
	int format;
	int multipart;
	int multipart_set;      /* recordio_multipart was given */
	int compression;
	int level;              /* deflate level */
	int level_set;          /* compression_level was given */
	unsigned char *buf;     /* framed bytes not yet given to the sink */
	size_t cap, len;
	z_stream z;
	int z_ready;            /* deflateInit2 succeeded: deflateEnd owed */
	unsigned char *zbuf;    /* deflate's output, cap bytes */
	size_t zlen;
	uint64_t offset;        /* bytes written out so far */
	uint64_t records;
	char detail[PM_DETAIL_SIZE];
	char msg[PM_MSG_SIZE];
};

/* --------------------------------------------------------------- options */

static int
option_format(pipemode_writer *w, const char *value, char *msg,
	      size_t msgsize)
{
	static const char *const readonly[] = {"lines", "textline"};
	pipemode_framer_ops ops;
	size_t i;

	if (strcasecmp(value, "tfrecord") == 0) {
		w->format = FORMAT_TFRECORD;
		return PIPEMODE_OK;
	}
	if (strcasecmp(value, "recordio") == 0) {
		w->format = FORMAT_RECORDIO;
		return PIPEMODE_OK;
	}
	for (i = 0; i < sizeof(readonly) / sizeof(readonly[0]); i++)
		if (strcasecmp(value, readonly[i]) == 0)
			goto no_writer;
	/* A registered framer reads its format; nothing writes it. */
	if (pm_framer_lookup(value, &ops, msg, msgsize) == PIPEMODE_OK)
		goto no_writer;
	pm_format(msg, msgsize,
		  "option 'format': unknown format '%s' (the writer knows "
		  "tfrecord and recordio)",
		  value);
	return PIPEMODE_EOPTION;
no_writer:
	pm_format(msg, msgsize, "option 'format': no writer for format '%s'",
		  value);
	return PIPEMODE_EUNSUPPORTED;
}

static int
writer_option(void *ctx, const char *key, const char *value, char *msg,
	      size_t msgsize)
{
	pipemode_writer *w = ctx;
	uint64_t v;
	int rc;

	if (strcmp(key, "format") == 0)
		return option_format(w, value, msg, msgsize);
	if (strcmp(key, "recordio_multipart") == 0) {
		if (strcasecmp(value, "concat") == 0)
			w->multipart = MULTIPART_CONCAT;
		else if (strcasecmp(value, "dmlc") == 0)
			w->multipart = MULTIPART_DMLC;
		else {
			pm_format(msg, msgsize,
				  "option '%s': '%s' is not concat or dmlc",
				  key, value);
			return PIPEMODE_EOPTION;
		}
		w->multipart_set = 1;
		return PIPEMODE_OK;
	}
	if (strcmp(key, "compression") == 0) {
		int kind = pm_compression_parse(value);
		/* "auto" is for readers: a writer has nothing to look at. */
		if (kind < 0 || kind == PM_COMPRESSION_AUTO) {
			pm_format(msg, msgsize,
				  "option '%s': '%s' is not none, gzip or "
				  "zlib",
				  key, value);
			return PIPEMODE_EOPTION;
		}
		w->compression = kind;
		return PIPEMODE_OK;
	}
	if (strcmp(key, "compression_level") == 0) {
		rc = pm_option_uint(key, value, 9, &v, msg, msgsize);
		if (rc == PIPEMODE_OK) {
			w->level = (int)v;
			w->level_set = 1;
		}
		return rc;
	}
	if (strcmp(key, "buffer_size") == 0) {
		rc = pm_option_size(key, value, MIN_BUFFER_SIZE,
				    MAX_BUFFER_SIZE, &v, msg, msgsize);
		if (rc == PIPEMODE_OK)
			w->cap = (size_t)v;
		return rc;
	}
	if (strcmp(key, "name") == 0)
		return PIPEMODE_OK; /* taken by pm_options_name */
	pm_format(msg, msgsize, "option '%s': unknown option", key);
	return PIPEMODE_EOPTION;
}

/* Options that only mean something next to another one: checked once all
 * are known, since they may come in any order. */
static int
options_agree(const pipemode_writer *w, char *msg, size_t msgsize)
{
	if (w->multipart_set && w->format != FORMAT_RECORDIO) {
		pm_format(msg, msgsize,
			  "option 'recordio_multipart' applies to format "
			  "recordio");
		return PIPEMODE_EOPTION;
	}
	if (w->level_set && w->compression == PM_COMPRESSION_NONE) {
		pm_format(msg, msgsize,
			  "option 'compression_level' applies to compression "
			  "gzip or zlib");
		return PIPEMODE_EOPTION;
	}
	return PIPEMODE_OK;
}

/* ------------------------------------------------------------ open/close */

static int
writer_failed(pipemode_writer *w, int code)
{
	w->error = code;
	return code;
}

static int
zlib_code(int zrc)
{
	return zrc == Z_MEM_ERROR ? PIPEMODE_ENOMEM : PIPEMODE_EIO;
}

static const char *
zlib_message(const pipemode_writer *w, int zrc)
{
	return w->z.msg != NULL ? w->z.msg : zError(zrc);
}

static int
deflate_setup(pipemode_writer *w)
{
	/* windowBits 15 + 16 asks zlib for a gzip header and trailer. */
	int bits = w->compression == PM_COMPRESSION_GZIP ? 15 + 16 : 15;
	int zrc;

	w->zbuf = malloc(w->cap);
	if (w->zbuf == NULL) {
		pm_format(w->msg, sizeof(w->msg),
			  "%s: out of memory for a %zu-byte buffer", w->name,
			  w->cap);
		return PIPEMODE_ENOMEM;
	}
	zrc = deflateInit2(&w->z, w->level, Z_DEFLATED, bits, 8,
			   Z_DEFAULT_STRATEGY);
	if (zrc != Z_OK) {
		pm_format(w->msg, sizeof(w->msg), "%s: deflateInit2: %s",
			  w->name, zlib_message(w, zrc));
		return zlib_code(zrc);
	}
	w->z_ready = 1;
	return PIPEMODE_OK;
}

static int
writer_setup(pipemode_writer *w, const char *options, const char *def_name)
{
	int rc;

	w->cap = DEFAULT_BUFFER_SIZE;
	w->level = Z_DEFAULT_COMPRESSION;
	w->name = pm_options_name(options, def_name);
	if (w->name == NULL) {
		pm_format(w->msg, sizeof(w->msg), "out of memory");
		writer_failed(w, PIPEMODE_ESTATE);
		return PIPEMODE_ENOMEM;
	}
	rc = pm_options_parse(options, writer_option, w, w->detail,
			      sizeof(w->detail));
	if (rc == PIPEMODE_OK)
		rc = options_agree(w, w->detail, sizeof(w->detail));
	if (rc != PIPEMODE_OK) {
		pm_format(w->msg, sizeof(w->msg), "%s: %s", w->name,
			  w->detail);
		/* A failed open leaves a handle that can only be closed. */
		writer_failed(w, PIPEMODE_ESTATE);
		return rc;
	}
	w->buf = malloc(w->cap);
	if (w->buf == NULL) {
		pm_format(w->msg, sizeof(w->msg),
			  "%s: out of memory for a %zu-byte buffer", w->name,
			  w->cap);
		writer_failed(w, PIPEMODE_ESTATE);
		return PIPEMODE_ENOMEM;
	}
	if (w->compression != PM_COMPRESSION_NONE) {
		rc = deflate_setup(w);
		if (rc != PIPEMODE_OK) {
			writer_failed(w, PIPEMODE_ESTATE);
			return rc;
		}
	}
	return PIPEMODE_OK;
}

static pipemode_writer *
writer_alloc(void)
{
	pipemode_writer *w = calloc(1, sizeof(*w));

	if (w != NULL)
		w->fd = -1;
	return w;
}

int
pipemode_writer_open_path(pipemode_writer **wp, const char *path,
			  const char *options)
{
	pipemode_writer *w;
	int rc;

	if (wp == NULL)
		return PIPEMODE_EINVAL;
	*wp = w = writer_alloc();
	if (w == NULL)
		return PIPEMODE_ENOMEM;
	if (path == NULL) {
		pm_format(w->msg, sizeof(w->msg), "path is NULL");
		writer_failed(w, PIPEMODE_ESTATE);
		return PIPEMODE_EINVAL;
	}
	rc = writer_setup(w, options, path);
	if (rc != PIPEMODE_OK)
		return rc;
	do
		w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			     0666);
	while (w->fd < 0 && errno == EINTR);
	if (w->fd < 0) {
		pm_format(w->msg, sizeof(w->msg), "%s: cannot open: %s",
			  w->name, strerror(errno));
		writer_failed(w, PIPEMODE_ESTATE);
		return PIPEMODE_EIO;
	}
	w->owns_fd = 1;
	return PIPEMODE_OK;
}

int
pipemode_writer_open_fd(pipemode_writer **wp, int fd, const char *options)
{
	pipemode_writer *w;
	char def_name[32];

	if (wp == NULL)
		return PIPEMODE_EINVAL;
	*wp = w = writer_alloc();
	if (w == NULL)
		return PIPEMODE_ENOMEM;
	pm_format(def_name, sizeof(def_name), "fd %d", fd);
	if (fd < 0 || fcntl(fd, F_GETFD) < 0) {
		pm_format(w->msg, sizeof(w->msg), "%s: not an open descriptor",
			  def_name);
		writer_failed(w, PIPEMODE_ESTATE);
		return PIPEMODE_EINVAL;
	}
	w->fd = fd;
	return writer_setup(w, options, def_name);
}

/* ------------------------------------------------------------------ sink */

/* Write all of iov, resuming after short writes and EINTR. */
static int
write_all(pipemode_writer *w, struct iovec *iov, int iovcnt)
{
	while (iovcnt > 0) {
		ssize_t n = writev(w->fd, iov, iovcnt > IOV_MAX ? IOV_MAX
								 : iovcnt);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			pm_format(w->msg, sizeof(w->msg),
				  "%s: write failed at byte %llu: %s",
				  w->name, (unsigned long long)w->offset,
				  strerror(errno));
			return writer_failed(w, PIPEMODE_EIO);
		}
		w->offset += (uint64_t)n;
		while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return PIPEMODE_OK;
}

static int
zbuf_write(pipemode_writer *w)
{
	struct iovec iov;

	iov.iov_base = w->zbuf;
	iov.iov_len = w->zlen;
	w->zlen = 0;
	return write_all(w, &iov, 1);
}

/*
 * Compress p[0..n) with flush (Z_NO_FLUSH, Z_SYNC_FLUSH or Z_FINISH), writing
 * the output buffer out each time it fills.  deflate() leaves room in the
 * output buffer only once it has taken all the input and done the flush, so
 * a full buffer is the one reason to call it again.  Z_BUF_ERROR only says
 * there was nothing to do (a flush repeated with no new input).
 */
static int
deflate_range(pipemode_writer *w, const void *p, size_t n, int flush)
{
	const unsigned char *in = p;
	int rc, zrc;

	do {
		/* avail_in is an unsigned int: larger ranges go in slices */
		uInt slice = n > UINT_MAX ? UINT_MAX : (uInt)n;
		int mode = slice < n ? Z_NO_FLUSH : flush;

		w->z.next_in = (Bytef *)(uintptr_t)in;
		w->z.avail_in = slice;
		for (;;) {
			w->z.next_out = w->zbuf + w->zlen;
			w->z.avail_out = (uInt)(w->cap - w->zlen);
			zrc = deflate(&w->z, mode);
			w->zlen = w->cap - w->z.avail_out;
			if (zrc != Z_OK && zrc != Z_STREAM_END &&
			    zrc != Z_BUF_ERROR) {
				pm_format(w->msg, sizeof(w->msg),
					  "%s: deflate: %s", w->name,
					  zlib_message(w, zrc));
				return writer_failed(w, zlib_code(zrc));
			}
			if (w->zlen < w->cap)
				break;
			rc = zbuf_write(w);
			if (rc != PIPEMODE_OK)
				return rc;
		}
		n -= slice;
		if (n > 0) /* in may be NULL for an empty range */
			in += slice;
	} while (n > 0);
	return PIPEMODE_OK;
}

/*
 * Where bytes leave the writer: iov[0..n) in order, then flush (a zlib flush
 * mode; without compression every write is already out).  iov is consumed.
 */
static int
sink(pipemode_writer *w, struct iovec *iov, int n, int flush)
{
	int i, rc;

	if (w->compression == PM_COMPRESSION_NONE)
		return n > 0 ? write_all(w, iov, n) : PIPEMODE_OK;
	for (i = 0; i < n; i++) {
		if (iov[i].iov_len == 0)
			continue;
		rc = deflate_range(w, iov[i].iov_base, iov[i].iov_len,
				   Z_NO_FLUSH);
		if (rc != PIPEMODE_OK)
			return rc;
	}
	if (flush != Z_NO_FLUSH)
		return deflate_range(w, NULL, 0, flush);
	return PIPEMODE_OK;
}

/* Give the buffered bytes to the sink with flush, and for compression write
 * out what deflate produced, so that everything so far is out. */
static int
drain(pipemode_writer *w, int flush)
{
	struct iovec iov;
	int rc;

	iov.iov_base = w->buf;
	iov.iov_len = w->len;
	w->len = 0;
	rc = sink(w, &iov, iov.iov_len > 0, flush);
	if (rc == PIPEMODE_OK && w->zlen > 0)
		rc = zbuf_write(w);
	return rc;
}

static void
gather(pipemode_writer *w, const struct iovec *v, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (v[i].iov_len == 0)
			continue; /* the base may be NULL */
		memcpy(w->buf + w->len, v[i].iov_base, v[i].iov_len);
		w->len += v[i].iov_len;
	}
}

/* Pass one group of byte ranges (a record or a RecordIO part: framing and
 * payload) to the sink, through the buffer when the group fits in it. */
static int
emit(pipemode_writer *w, const struct iovec *v, int n)
{
	struct iovec iov[1 + GROUP_MAX];
	size_t total = 0;
	int i, k = 0, rc;

	for (i = 0; i < n; i++)
		total += v[i].iov_len;
	if (total <= w->cap - w->len) {
		gather(w, v, n);
		return PIPEMODE_OK;
	}
	if (w->len > 0) {
		iov[k].iov_base = w->buf;
		iov[k++].iov_len = w->len;
		w->len = 0;
	}
	if (total < w->cap) {
		rc = sink(w, iov, k, Z_NO_FLUSH);
		if (rc == PIPEMODE_OK)
			gather(w, v, n);
		return rc;
	}
	/* At least a buffer's worth: no copy, one writev with what was
	 * buffered in front. */
	memcpy(iov + k, v, (size_t)n * sizeof(*v));
	return sink(w, iov, k + n, Z_NO_FLUSH);
}

/* -------------------------------------------------------------- framing */

static void
set_range(struct iovec *v, const void *p, size_t n)
{
	v->iov_base = (void *)(uintptr_t)p;
	v->iov_len = n;
}

/* TFRecord: u64 length, u32 masked CRC32C of the length, payload, u32
 * masked CRC32C of the payload. */
static int
write_tfrecord(pipemode_writer *w, const void *data, size_t len)
{
	unsigned char head[PM_TFRECORD_HEADER], foot[PM_TFRECORD_FOOTER];
	struct iovec v[3];

	pm_store_le64(head, (uint64_t)len);
	pm_store_le32(head + 8, pm_crc32c_mask(pm_crc32c(0, head, 8)));
	pm_store_le32(foot, pm_crc32c_mask(pm_crc32c(0, data, len)));
	set_range(&v[0], head, sizeof(head));
	set_range(&v[1], data, len);
	set_range(&v[2], foot, sizeof(foot));
	return emit(w, v, 3);
}

/* One RecordIO part: header, n payload bytes, pad zero bytes. */
static int
write_part(pipemode_writer *w, unsigned cflag, const unsigned char *p,
	   size_t n, size_t pad)
{
	static const unsigned char zeros[3];
	unsigned char head[PM_RECORDIO_HEADER];
	struct iovec v[3];

	pm_store_le32(head, PM_RECORDIO_MAGIC);
	pm_store_le32(head + 4, ((uint32_t)cflag << 29) | (uint32_t)n);
	set_range(&v[0], head, sizeof(head));
	set_range(&v[1], p, n);
	set_range(&v[2], zeros, pad);
	return emit(w, v, 3);
}

static size_t
pad4(size_t n)
{
	return (4 - (n & 3)) & 3;
}

/*
 * recordio_multipart=concat, as SageMaker and AWS ml-io read it: one part,
 * unless the length does not fit 29 bits; then parts that readers join
 * verbatim.
 */
static int
write_recordio_concat(pipemode_writer *w, const unsigned char *p, size_t len)
{
	unsigned cflag = CFLAG_FIRST;
	int rc;

	if (len < RIO_LIMIT)
		return write_part(w, CFLAG_WHOLE, p, len, pad4(len));
	/* len >= RIO_LIMIT > RIO_CUT: at least two parts, and the last
	 * one holds at least a byte. */
	while (len > RIO_CUT) {
		rc = write_part(w, cflag, p, RIO_CUT, 0);
		if (rc != PIPEMODE_OK)
			return rc;
		cflag = CFLAG_MIDDLE;
		p += RIO_CUT;
		len -= RIO_CUT;
	}
	return write_part(w, CFLAG_LAST, p, len, pad4(len));
}

/*
 * recordio_multipart=dmlc: dmlc-core's RecordIOWriter::WriteRecord, so that
 * MXNet reads the record back byte for byte.  A magic word at a 4-byte-aligned
 * offset of the payload would look like the start of a part to a reader
 * that resynchronises on it, so the record is cut there and the magic
 * dropped; dmlc's reader puts it back between parts.  Cuts are aligned, so
 * only the last part can need padding.
 */
static int
write_recordio_dmlc(pipemode_writer *w, const unsigned char *p, size_t len)
{
	size_t end = len & ~(size_t)3, dptr = 0, i;
	int rc;

	if (len >= RIO_LIMIT) {
		/* dmlc's own check lets 2^29..2^30-1 through, where the
		 * length then runs into the flag bits: refuse it here. */
		pm_format(w->msg, sizeof(w->msg),
			  "%s: record %llu: %zu bytes; RecordIO with "
			  "recordio_multipart=dmlc takes records of less than "
			  "2^29 (%zu) bytes",
			  w->name, (unsigned long long)w->records, len,
			  RIO_LIMIT);
		return PIPEMODE_ETOOBIG;
	}
	for (i = 0; i < end; i += 4) {
		if (pm_load_le32(p + i) != PM_RECORDIO_MAGIC)
			continue;
		rc = write_part(w, dptr == 0 ? CFLAG_FIRST : CFLAG_MIDDLE,
				p + dptr, i - dptr, 0);
		if (rc != PIPEMODE_OK)
			return rc;
		dptr = i + 4;
	}
	return write_part(w, dptr != 0 ? CFLAG_LAST : CFLAG_WHOLE, p + dptr,
			  len - dptr, pad4(len));
}

/* ------------------------------------------------------------------- API */

static int
writer_usable(pipemode_writer *w)
{
	if (w == NULL)
		return PIPEMODE_EINVAL;
	return w->error != 0 ? w->error : PIPEMODE_OK;
}

int
pipemode_writer_flush(pipemode_writer *w)
{
	int rc = writer_usable(w);

	if (rc != PIPEMODE_OK)
		return rc;
	/* A sync flush ends the deflate stream's output at a byte boundary:
	 * a reader can decompress all of it without the rest. */
	return drain(w, Z_SYNC_FLUSH);
}

int
pipemode_write(pipemode_writer *w, const void *data, size_t len)
{
	int rc = writer_usable(w);

	if (rc != PIPEMODE_OK)
		return rc;
	if (data == NULL && len > 0) {
		pm_format(w->msg, sizeof(w->msg),
			  "%s: record %llu: data is NULL", w->name,
			  (unsigned long long)w->records);
		return PIPEMODE_EINVAL;
	}
	if (data == NULL)
		data = ""; /* an empty record: no arithmetic on NULL below */
	if (w->format == FORMAT_TFRECORD)
		rc = write_tfrecord(w, data, len);
	else if (w->multipart == MULTIPART_DMLC)
		rc = write_recordio_dmlc(w, data, len);
	else
		rc = write_recordio_concat(w, data, len);
	if (rc == PIPEMODE_OK)
		w->records++;
	return rc;
}

int
pipemode_writer_close(pipemode_writer *w)
{
	int rc;

	if (w == NULL)
		return PIPEMODE_OK;
	rc = writer_usable(w);
	if (rc == PIPEMODE_OK)
		rc = drain(w, Z_FINISH); /* the gzip or zlib trailer */
	else if (rc == PIPEMODE_ESTATE)
		rc = PIPEMODE_OK; /* a failed open: nothing was to be written */
	if (w->z_ready)
		deflateEnd(&w->z);
	if (w->owns_fd && w->fd >= 0 && close(w->fd) != 0 && errno != EINTR &&
	    rc == PIPEMODE_OK)
		rc = PIPEMODE_EIO;
	free(w->zbuf);
	free(w->buf);
	free(w->name);
	free(w);
	return rc;
}

const char *
pipemode_writer_errmsg(const pipemode_writer *w)
{
	if (w == NULL)
		return "out of memory";
	return w->msg;
}
