/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reader: handle, options, buffer and the pipemode_next state machine.
 *
 * The buffer holds [pos, end) unconsumed bytes; the framer always sees the
 * window starting at pos, the first byte of the record being framed.  A
 * record is returned as a pointer into the buffer and the buffer is touched
 * again only on the next call, so records are never copied.  On a refill the
 * unconsumed tail moves to the front only when the record would not fit
 * behind it, and the buffer grows only for a record larger than itself.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define DEFAULT_BUFFER_SIZE (256u * 1024)
#define MIN_BUFFER_SIZE (4u * 1024)
#define MAX_BUFFER_SIZE (1024u * 1024 * 1024)
#define DEFAULT_MAX_RECORD ((uint64_t)256 * 1024 * 1024)
#define DEFAULT_PIPE_SIZE (1024u * 1024)
/* One read() of a large record is cut to this, so that its CRC runs over
 * each piece while the piece is still in cache. */
#define LARGE_READ (1024u * 1024)

enum reader_state { READER_OPEN, READER_EOF, READER_FAILED, READER_BROKEN };

struct pipemode_reader {
	enum reader_state state;
	int error;              /* the code every call repeats once failed */

	pm_source src;
	int src_eof;
	char *name;             /* for messages */

	const pm_framer_ops *framer;
	void *framer_state;
	pm_framer_config framer_cfg;

	unsigned char *buf;
	size_t cap, pos, end;
	size_t buffer_size;     /* option: the initial and usual capacity */
	uint64_t pipe_size;
	uint64_t skip_corrupt;
	uint64_t skipped_in_a_row;

	uint64_t next_index;    /* index of the record at pos */
	uint64_t next_offset;   /* stream offset of pos */
	uint64_t cur_index;     /* what pipemode_record_index reports */
	uint64_t cur_offset;

	pipemode_stats stats;
	char detail[PM_DETAIL_SIZE];
	char msg[PM_MSG_SIZE];
};

/* --------------------------------------------------------------- options */

static int
reader_option(void *ctx, const char *key, const char *value, char *msg,
	      size_t msgsize)
{
	pipemode_reader *r = ctx;
	uint64_t v;
	int rc;

	if (strcmp(key, "format") == 0) {
		const pm_framer_ops *ops;
		rc = pm_framer_lookup(value, &ops, msg, msgsize);
		if (rc == PIPEMODE_OK)
			r->framer = ops;
		return rc;
	}
	if (strcmp(key, "verify_crc") == 0)
		return pm_option_bool(key, value, &r->framer_cfg.verify_crc,
				      msg, msgsize);
	if (strcmp(key, "skip_corrupt") == 0)
		return pm_option_uint(key, value, UINT64_MAX, &r->skip_corrupt,
				      msg, msgsize);
	if (strcmp(key, "max_record_size") == 0)
		/* The cap keeps header + payload + footer within size_t. */
		return pm_option_size(key, value, 0,
				      (uint64_t)(SIZE_MAX / 2 < ((uint64_t)1 << 40)
							 ? SIZE_MAX / 2
							 : (uint64_t)1 << 40),
				      &r->framer_cfg.max_record_size, msg,
				      msgsize);
	if (strcmp(key, "buffer_size") == 0) {
		rc = pm_option_size(key, value, MIN_BUFFER_SIZE,
				    MAX_BUFFER_SIZE, &v, msg, msgsize);
		if (rc == PIPEMODE_OK)
			r->buffer_size = (size_t)v;
		return rc;
	}
	if (strcmp(key, "pipe_size") == 0)
		return pm_option_size(key, value, 0, (uint64_t)1 << 30,
				      &r->pipe_size, msg, msgsize);
	if (strcmp(key, "name") == 0)
		return PIPEMODE_OK; /* taken by pm_options_name */
	pm_format(msg, msgsize, "option '%s': unknown option", key);
	return PIPEMODE_EOPTION;
}

/* ------------------------------------------------------------ open/close */

static pipemode_reader *
reader_alloc(void)
{
	pipemode_reader *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->state = READER_BROKEN;
	r->error = PIPEMODE_ESTATE;
	r->src.fd = -1;
	r->framer = &pm_framer_tfrecord;
	r->framer_cfg.verify_crc = 1;
	r->framer_cfg.max_record_size = DEFAULT_MAX_RECORD;
	r->buffer_size = DEFAULT_BUFFER_SIZE;
	r->pipe_size = DEFAULT_PIPE_SIZE;
	r->stats.size = sizeof(r->stats);
	return r;
}

/* Fail an open: the handle stays, to carry the message. */
static int
open_failed(pipemode_reader *r, int code)
{
	r->state = READER_BROKEN;
	r->error = PIPEMODE_ESTATE;
	return code;
}

/*
 * Parse options, name the source and set up the framer and buffer.  src must
 * already be in r (so that a failure closes an fd the reader owns).
 */
static int
reader_setup(pipemode_reader *r, const char *options, const char *def_name)
{
	int rc;

	r->name = pm_options_name(options, def_name);
	if (r->name == NULL) {
		pm_format(r->msg, sizeof(r->msg), "out of memory");
		return open_failed(r, PIPEMODE_ENOMEM);
	}
	rc = pm_options_parse(options, reader_option, r, r->detail,
			      sizeof(r->detail));
	if (rc != PIPEMODE_OK) {
		pm_format(r->msg, sizeof(r->msg), "%s: %s", r->name,
			  r->detail);
		return open_failed(r, rc);
	}
	rc = r->framer->create(&r->framer_state, &r->framer_cfg, r->detail,
			       sizeof(r->detail));
	if (rc != PIPEMODE_OK) {
		r->framer_state = NULL;
		pm_format(r->msg, sizeof(r->msg), "%s: %s: %s", r->name,
			  r->framer->name, r->detail);
		return open_failed(r, rc);
	}
	r->buf = malloc(r->buffer_size);
	if (r->buf == NULL) {
		pm_format(r->msg, sizeof(r->msg),
			  "%s: out of memory for a %zu-byte buffer", r->name,
			  r->buffer_size);
		return open_failed(r, PIPEMODE_ENOMEM);
	}
	r->cap = r->buffer_size;
	r->state = READER_OPEN;
	r->error = PIPEMODE_OK;
	return PIPEMODE_OK;
}

int
pipemode_open_path(pipemode_reader **rp, const char *path,
		   const char *options)
{
	pipemode_reader *r;
	int fd, rc;

	if (rp == NULL)
		return PIPEMODE_EINVAL;
	*rp = r = reader_alloc();
	if (r == NULL)
		return PIPEMODE_ENOMEM;
	if (path == NULL) {
		pm_format(r->msg, sizeof(r->msg), "path is NULL");
		return open_failed(r, PIPEMODE_EINVAL);
	}
	/* Options first: a bad option should not wait for a FIFO's writer. */
	rc = reader_setup(r, options, path);
	if (rc != PIPEMODE_OK)
		return rc;
	do
		fd = open(path, O_RDONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		pm_format(r->msg, sizeof(r->msg), "%s: cannot open: %s",
			  r->name, strerror(errno));
		return open_failed(r, PIPEMODE_EIO);
	}
	r->src.fd = fd;
	r->src.owns_fd = 1;
	pm_source_grow_pipe(fd, r->pipe_size);
	return PIPEMODE_OK;
}

int
pipemode_open_fd(pipemode_reader **rp, int fd, const char *options)
{
	pipemode_reader *r;
	char def_name[32];
	int rc;

	if (rp == NULL)
		return PIPEMODE_EINVAL;
	*rp = r = reader_alloc();
	if (r == NULL)
		return PIPEMODE_ENOMEM;
	pm_format(def_name, sizeof(def_name), "fd %d", fd);
	if (fd < 0 || fcntl(fd, F_GETFD) < 0) {
		pm_format(r->msg, sizeof(r->msg), "%s: not an open descriptor",
			  def_name);
		return open_failed(r, PIPEMODE_EINVAL);
	}
	r->src.fd = fd;
	rc = reader_setup(r, options, def_name);
	if (rc == PIPEMODE_OK)
		pm_source_grow_pipe(fd, r->pipe_size);
	return rc;
}

int
pipemode_open_callback(pipemode_reader **rp, pipemode_read_fn read_fn,
		       void *ctx, const char *options)
{
	pipemode_reader *r;

	if (rp == NULL)
		return PIPEMODE_EINVAL;
	*rp = r = reader_alloc();
	if (r == NULL)
		return PIPEMODE_ENOMEM;
	if (read_fn == NULL) {
		pm_format(r->msg, sizeof(r->msg), "read callback is NULL");
		return open_failed(r, PIPEMODE_EINVAL);
	}
	r->src.read_fn = read_fn;
	r->src.ctx = ctx;
	return reader_setup(r, options, "callback");
}

int
pipemode_close(pipemode_reader *r)
{
	int rc = PIPEMODE_OK;

	if (r == NULL)
		return PIPEMODE_OK;
	if (r->framer_state != NULL)
		r->framer->destroy(r->framer_state);
	if (r->src.owns_fd && r->src.fd >= 0 && close(r->src.fd) != 0 &&
	    errno != EINTR)
		rc = PIPEMODE_EIO;
	free(r->buf);
	free(r->name);
	free(r);
	return rc;
}

/* ------------------------------------------------------------------ next */

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
fail(pipemode_reader *r, int code)
{
	r->state = READER_FAILED;
	r->error = code;
	r->cur_index = r->next_index;
	r->cur_offset = r->next_offset;
	return code;
}

/*
 * Make room for a window of need bytes and read once into it.  One read per
 * call: the framer sees each piece as it arrives (and checksums it while
 * it is hot).
 */
static int
refill(pipemode_reader *r, size_t need)
{
	size_t avail = r->end - r->pos, room;
	ssize_t n;
	uint64_t t0;

	if (avail == 0)
		r->pos = r->end = 0;
	if (need > r->cap) {
		/* Only a record larger than the buffer gets here, and the
		 * framer has checked it against max_record_size. */
		size_t cap = r->cap + r->cap / 2;
		unsigned char *nb;
		if (cap < need || cap - need > need)
			cap = need;
		nb = malloc(cap);
		if (nb == NULL) {
			pm_format(r->msg, sizeof(r->msg),
				  "%s: %s: record %llu at byte %llu: out of "
				  "memory for a %zu-byte buffer",
				  r->name, r->framer->name,
				  (unsigned long long)r->next_index,
				  (unsigned long long)r->next_offset, cap);
			return fail(r, PIPEMODE_ENOMEM);
		}
		memcpy(nb, r->buf + r->pos, avail);
		free(r->buf);
		r->buf = nb;
		r->cap = cap;
		r->pos = 0;
		r->end = avail;
	} else if (r->cap - r->pos < need ||
		   (r->cap - r->end < r->cap / 4 && avail <= r->cap / 4)) {
		/* Move the partial record to the front when it would not fit
		 * where it is, or when so little room is left behind it that
		 * the next read would be a short one. */
		memmove(r->buf, r->buf + r->pos, avail);
		r->pos = 0;
		r->end = avail;
	}

	room = r->cap - r->end;
	if (room > LARGE_READ && room > r->buffer_size)
		room = r->buffer_size > LARGE_READ ? r->buffer_size
						    : LARGE_READ;
	t0 = now_ns();
	n = pm_source_read(&r->src, r->buf + r->end, room);
	r->stats.read_wait_ns += now_ns() - t0;
	r->stats.read_calls++;
	if (n < 0) {
		pm_format(r->msg, sizeof(r->msg),
			  "%s: %s: record %llu at byte %llu: read failed at "
			  "byte %llu: %s",
			  r->name, r->framer->name,
			  (unsigned long long)r->next_index,
			  (unsigned long long)r->next_offset,
			  (unsigned long long)(r->next_offset + avail),
			  strerror((int)-n));
		return fail(r, PIPEMODE_EIO);
	}
	if (n == 0)
		r->src_eof = 1;
	r->end += (size_t)n;
	r->stats.bytes_read += (uint64_t)n;
	return PIPEMODE_OK;
}

int
pipemode_next(pipemode_reader *r, const void **data, size_t *len)
{
	pm_frame f;
	int rc;

	if (data != NULL)
		*data = NULL;
	if (len != NULL)
		*len = 0;
	if (r == NULL)
		return PIPEMODE_EINVAL;
	if (data == NULL || len == NULL) {
		pm_format(r->msg, sizeof(r->msg), "%s: data or len is NULL",
			  r->name != NULL ? r->name : "reader");
		return PIPEMODE_EINVAL;
	}
	if (r->state != READER_OPEN)
		return r->state == READER_EOF ? PIPEMODE_EOF : r->error;

	for (;;) {
		f.msg = r->detail;
		f.msgsize = sizeof(r->detail);
		f.consumed = 0;
		f.offset = r->next_offset;
		rc = r->framer->frame(r->framer_state, r->buf + r->pos,
				      r->end - r->pos, r->src_eof, &f);
		if (rc == PM_FRAME_RECORD) {
			r->cur_index = r->next_index++;
			r->cur_offset = r->next_offset;
			r->next_offset += f.consumed;
			r->pos += f.consumed;
			r->skipped_in_a_row = 0;
			r->stats.records++;
			r->stats.payload_bytes += f.len;
			*data = f.data;
			*len = f.len;
			return PIPEMODE_OK;
		}
		if (rc == PM_FRAME_NEED && !r->src_eof) {
			rc = refill(r, f.need);
			if (rc != PIPEMODE_OK)
				return rc;
			continue;
		}
		if (rc == PIPEMODE_EOF) {
			r->state = READER_EOF;
			r->cur_index = r->next_index;
			r->cur_offset = r->next_offset;
			return PIPEMODE_EOF;
		}
		if (rc == PIPEMODE_ECRC && r->skipped_in_a_row < r->skip_corrupt &&
		    f.consumed > 0) {
			r->skipped_in_a_row++;
			r->stats.skipped++;
			r->next_index++;
			r->next_offset += f.consumed;
			r->pos += f.consumed;
			continue;
		}
		if (rc == PM_FRAME_NEED) {
			/* A framer asking for more after the end would loop. */
			rc = PIPEMODE_ETRUNCATED;
			pm_format(r->detail, sizeof(r->detail),
				  "stream ends inside a record");
		}
		if (rc == PIPEMODE_ECRC && r->skip_corrupt > 0)
			pm_format(r->msg, sizeof(r->msg),
				  "%s: %s: record %llu at byte %llu: %s "
				  "(after skipping %llu corrupt record%s in a "
				  "row; skip_corrupt=%llu)",
				  r->name, r->framer->name,
				  (unsigned long long)r->next_index,
				  (unsigned long long)r->next_offset,
				  r->detail,
				  (unsigned long long)r->skipped_in_a_row,
				  r->skipped_in_a_row == 1 ? "" : "s",
				  (unsigned long long)r->skip_corrupt);
		else
			pm_format(r->msg, sizeof(r->msg),
				  "%s: %s: record %llu at byte %llu: %s",
				  r->name, r->framer->name,
				  (unsigned long long)r->next_index,
				  (unsigned long long)r->next_offset,
				  r->detail);
		return fail(r, rc);
	}
}

/* ------------------------------------------------------------ accessors */

const char *
pipemode_errmsg(const pipemode_reader *r)
{
	if (r == NULL)
		return "out of memory";
	return r->msg;
}

uint64_t
pipemode_record_index(const pipemode_reader *r)
{
	return r != NULL ? r->cur_index : 0;
}

uint64_t
pipemode_byte_offset(const pipemode_reader *r)
{
	return r != NULL ? r->cur_offset : 0;
}

int
pipemode_get_stats(const pipemode_reader *r, pipemode_stats *st)
{
	size_t n;

	if (r == NULL || st == NULL || st->size < sizeof(pipemode_stats))
		return PIPEMODE_EINVAL;
	/* A caller built against a later, larger struct gets what this
	 * release knows and the rest stays as the caller set it; one built
	 * against an earlier, smaller struct gets only what it has room for. */
	n = st->size < sizeof(r->stats) ? st->size : sizeof(r->stats);
	memcpy((char *)st + sizeof(st->size), (const char *)&r->stats +
	       sizeof(st->size), n - sizeof(st->size));
	return PIPEMODE_OK;
}

/* ------------------------------------------------------------- framers */

int
pm_framer_lookup(const char *name, const pm_framer_ops **ops, char *msg,
		 size_t msgsize)
{
	static const char *const later[] = {"recordio", "lines", "textline"};
	size_t i;

	if (strcasecmp(name, "tfrecord") == 0) {
		*ops = &pm_framer_tfrecord;
		return PIPEMODE_OK;
	}
	for (i = 0; i < sizeof(later) / sizeof(later[0]); i++) {
		if (strcasecmp(name, later[i]) == 0) {
			pm_format(msg, msgsize,
				  "option 'format': format '%s' is not "
				  "supported by this version of libpipemode "
				  "(%s)",
				  name, PIPEMODE_VERSION_STRING);
			return PIPEMODE_EUNSUPPORTED;
		}
	}
	pm_format(msg, msgsize,
		  "option 'format': unknown format '%s' (known: tfrecord)",
		  name);
	return PIPEMODE_EOPTION;
}
