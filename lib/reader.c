/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reader: handle, options, buffer and the pipemode_next state machine.
 *
 *   source (source.c) -> [filter: gzip/zlib] -> buffer -> framer -> caller
 *
 * The buffer holds [pos, end) unconsumed bytes; the framer always sees the
 * window starting at pos, the first byte of the record being framed.  A
 * record is returned as a pointer into the buffer (or into the framer's own
 * memory for a record it had to assemble) and the buffer is touched again
 * only on the next call, so records are never copied.  On a refill the
 * unconsumed tail moves to the front only when the record would not fit
 * behind it, and the buffer grows only for a record larger than itself.
 *
 * With compression=auto or format=auto nothing is decided at open: the
 * first call reads the stream's first bytes, decides, and goes on from
 * there without reading anything twice.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "internal.h"

#define DEFAULT_BUFFER_SIZE (256u * 1024)
#define MIN_BUFFER_SIZE (4u * 1024)
#define MAX_BUFFER_SIZE (1024u * 1024 * 1024)
#define DEFAULT_MAX_RECORD ((uint64_t)256 * 1024 * 1024)
#define DEFAULT_PIPE_SIZE (1024u * 1024)
/* One read() is at most the larger of this and buffer_size, also while a
 * record larger than the buffer is read into its grown buffer: its CRC
 * then runs over each piece while the piece is in cache, and the pipe
 * is drained in pieces near a quarter of L2.  Measured with pmbench on a
 * 1 MiB pipe: 1 MiB RecordIO records went from 9.2 to 11.5 GB/s with a
 * splice() writer (read() loop: 7.0) against 1 MiB reads, which emptied
 * the pipe and then waited on the writer. */
#define LARGE_READ (256u * 1024)
/* Framers format=auto can choose among. */
#define MAX_CANDIDATES 16

enum reader_state { READER_OPEN, READER_EOF, READER_FAILED, READER_BROKEN };

/* A framer with its state. */
struct framer {
	pipemode_framer_ops ops;
	void *state;
	pm_quick_fn quick; /* a built-in framer's quick path, or NULL */
};

/* A key=value the reader does not know: it belongs to a framer. */
struct framer_option {
	char *key;
	char *value;
};

struct pipemode_reader {
	enum reader_state state;
	int error;              /* the code every call repeats once failed */

	pm_source src;
	pm_filter *filter;      /* NULL: no compression */
	int src_eof;            /* no more bytes will come into the buffer */
	char *name;             /* for messages */

	int compression_opt;    /* option compression, for every new file */
	int compression;        /* this file's; AUTO until decided */
	int format_auto_opt;    /* option format=auto */
	pipemode_framer_ops format_ops; /* option format, unless auto */
	int format_given;       /* an option named the format */
	int format_auto;        /* framer still to be chosen from the bytes */
	struct framer framer;   /* ops.name NULL until chosen */
	struct framer candidates[MAX_CANDIDATES];
	size_t ncandidates;
	pipemode_framer_config framer_cfg;
	struct framer_option *fopts;
	size_t nfopts;

	unsigned char *buf;
	size_t cap, pos, end;
	size_t buffer_size;     /* option: the initial and usual capacity */
	uint64_t pipe_size;
	uint64_t readahead;     /* option: ring size of the readahead thread */
	uint64_t skip_corrupt;
	uint64_t skipped_in_a_row;

	uint64_t next_index;    /* index of the record being framed */
	uint64_t next_offset;   /* stream offset of its first byte */
	uint64_t pos_offset;    /* stream offset of pos (further on when the
				   framer took parts of the record) */
	uint64_t cur_index;     /* what pipemode_record_index reports */
	uint64_t cur_offset;

	/* Channels (pipemode_open) and File mode. */
	int is_channel;         /* channel options are allowed */
	int name_given;         /* option name: messages keep it */
	struct pm_channel_options chan;
	char **files;           /* File mode: the pass's files, in order */
	size_t nfiles, next_file;

	int timing;             /* option timing: measure library_ns */
	uint64_t records, payload_bytes, skipped, library_ns;
	uint64_t open_wait_ns, nfiles_opened;
	int64_t epoch;
	char detail[PM_DETAIL_SIZE];
	char msg[PM_MSG_SIZE];
};

/* --------------------------------------------------------------- options */

static int
reader_option(void *ctx, const char *key, const char *value, char *msg,
	      size_t msgsize)
{
	pipemode_reader *r = ctx;
	struct framer_option *grown;
	uint64_t v;
	int rc;

	if (strcmp(key, "format") == 0) {
		r->format_given = 1;
		if (strcasecmp(value, "auto") == 0) {
			r->format_auto_opt = 1;
			return PIPEMODE_OK;
		}
		rc = pm_framer_lookup(value, &r->format_ops, msg, msgsize);
		if (rc == PIPEMODE_OK)
			r->format_auto_opt = 0;
		return rc;
	}
	if (strcmp(key, "compression") == 0) {
		int kind = pm_compression_parse(value);
		if (kind < 0) {
			pm_format(msg, msgsize,
				  "option 'compression': '%s' is not none, "
				  "gzip, zlib or auto",
				  value);
			return PIPEMODE_EOPTION;
		}
		r->compression_opt = kind;
		return PIPEMODE_OK;
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
	if (strcmp(key, "readahead") == 0) {
		rc = pm_option_size(key, value, 0, MAX_BUFFER_SIZE, &v, msg,
				    msgsize);
		if (rc == PIPEMODE_OK && v != 0 && v < MIN_BUFFER_SIZE) {
			pm_format(msg, msgsize,
				  "option 'readahead': 0 (off) or at least "
				  "%u bytes",
				  MIN_BUFFER_SIZE);
			rc = PIPEMODE_EOPTION;
		}
		if (rc == PIPEMODE_OK)
			r->readahead = v;
		return rc;
	}
	if (strcmp(key, "name") == 0) {
		r->name_given = 1;
		return PIPEMODE_OK; /* taken by pm_options_name */
	}
	if (strcmp(key, "timing") == 0)
		return pm_option_bool(key, value, &r->timing, msg, msgsize);
	if (strcmp(key, "pipe_dir") == 0 || strcmp(key, "state_dir") == 0 ||
	    strcmp(key, "config_dir") == 0 || strcmp(key, "epoch") == 0 ||
	    strcmp(key, "open_timeout") == 0) {
		if (!r->is_channel) {
			pm_format(msg, msgsize,
				  "option '%s': applies to channels "
				  "(pipemode_open), not to a path or "
				  "descriptor",
				  key);
			return PIPEMODE_EOPTION;
		}
		return pm_channel_option(&r->chan, key, value, msg, msgsize);
	}

	/* Not the reader's: keep it for the framer, which is known only once
	 * every option is read. */
	grown = realloc(r->fopts, (r->nfopts + 1) * sizeof(*grown));
	if (grown == NULL) {
		pm_format(msg, msgsize, "out of memory");
		return PIPEMODE_ENOMEM;
	}
	r->fopts = grown;
	grown[r->nfopts].key = strdup(key);
	grown[r->nfopts].value = strdup(value);
	r->nfopts++;
	if (grown[r->nfopts - 1].key == NULL ||
	    grown[r->nfopts - 1].value == NULL) {
		pm_format(msg, msgsize, "out of memory");
		return PIPEMODE_ENOMEM;
	}
	return PIPEMODE_OK;
}

static void
framer_destroy(struct framer *fr)
{
	if (fr->state != NULL)
		fr->ops.destroy(fr->state);
	fr->state = NULL;
}

static int
framer_create(pipemode_reader *r, struct framer *fr)
{
	int rc = fr->ops.create(&fr->state, &r->framer_cfg, r->detail,
				sizeof(r->detail));

	if (rc != PIPEMODE_OK && (rc > 0 || pipemode_code_name(rc) == NULL)) {
		/* A plug-in's own code would mean nothing to the caller. */
		pm_format(r->detail, sizeof(r->detail),
			  "create failed with code %d, not a PIPEMODE_E* code",
			  rc);
		rc = PIPEMODE_EINVAL;
	}
	if (rc != PIPEMODE_OK) {
		fr->state = NULL;
		pm_format(r->msg, sizeof(r->msg), "%s: %s: %s", r->name,
			  fr->ops.name, r->detail);
	}
	fr->quick = rc == PIPEMODE_OK ? pm_framer_quick(&fr->ops) : NULL;
	return rc;
}

/*
 * Give each framer option to the framers that may read the stream (one, or
 * every candidate of format=auto).  A key must be taken by at least one of
 * them; a bad value is an error whichever framer says so.
 */
static int
apply_framer_options(pipemode_reader *r, struct framer *frs, size_t n)
{
	size_t i, j;

	for (i = 0; i < r->nfopts; i++) {
		const char *key = r->fopts[i].key;
		int taken = 0;

		for (j = 0; j < n; j++) {
			int rc = 1;
			if (frs[j].ops.option != NULL)
				rc = frs[j].ops.option(frs[j].state, key,
						       r->fopts[i].value,
						       r->detail,
						       sizeof(r->detail));
			if (rc < 0) {
				pm_format(r->msg, sizeof(r->msg), "%s: %s",
					  r->name, r->detail);
				return pipemode_code_name(rc) != NULL
					       ? rc
					       : PIPEMODE_EOPTION;
			}
			if (rc == PIPEMODE_OK)
				taken = 1;
		}
		if (!taken) {
			if (n == 1)
				pm_format(r->msg, sizeof(r->msg),
					  "%s: option '%s': unknown option "
					  "(not one of the reader's, nor of "
					  "format %s)",
					  r->name, key, frs[0].ops.name);
			else
				pm_format(r->msg, sizeof(r->msg),
					  "%s: option '%s': unknown option",
					  r->name, key);
			return PIPEMODE_EOPTION;
		}
	}
	return PIPEMODE_OK;
}

/* ------------------------------------------------------------ open/close */

pipemode_reader *
pm_reader_alloc(void)
{
	pipemode_reader *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->state = READER_BROKEN;
	r->error = PIPEMODE_ESTATE;
	r->src.fd = -1;
	r->compression_opt = PM_COMPRESSION_NONE;
	r->framer_cfg.size = sizeof(r->framer_cfg);
	r->framer_cfg.verify_crc = 1;
	r->framer_cfg.max_record_size = DEFAULT_MAX_RECORD;
	r->buffer_size = DEFAULT_BUFFER_SIZE;
	r->pipe_size = DEFAULT_PIPE_SIZE;
	r->chan.epoch = -1;
	r->chan.open_timeout = PM_DEFAULT_OPEN_TIMEOUT;
	r->epoch = -1;
	return r;
}

void
pm_reader_allow_channel(pipemode_reader *r)
{
	r->is_channel = 1;
}

struct pm_channel_options *
pm_reader_channel(pipemode_reader *r)
{
	return &r->chan;
}

/* Fail an open: the handle stays, to carry the message. */
static int
open_failed(pipemode_reader *r, int code)
{
	r->state = READER_BROKEN;
	r->error = PIPEMODE_ESTATE;
	return code;
}

int
pm_reader_open_failed(pipemode_reader *r, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
	return open_failed(r, code);
}

const char *
pm_reader_name(const pipemode_reader *r)
{
	return r->name;
}

int
pm_reader_set_name(pipemode_reader *r, const char *name)
{
	char *copy;

	if (r->name_given)
		return PIPEMODE_OK;
	copy = strdup(name);
	if (copy == NULL)
		return PIPEMODE_ENOMEM;
	free(r->name);
	r->name = copy;
	return PIPEMODE_OK;
}

int
pm_reader_parse(pipemode_reader *r, const char *options, const char *def_name)
{
	int rc;

	r->name = pm_options_name(options, def_name);
	if (r->name == NULL) {
		pm_format(r->msg, sizeof(r->msg), "out of memory");
		return open_failed(r, PIPEMODE_ENOMEM);
	}
	rc = pm_framer_lookup("tfrecord", &r->format_ops, r->detail,
			      sizeof(r->detail));
	if (rc == PIPEMODE_OK)
		rc = pm_options_parse(options, reader_option, r, r->detail,
				      sizeof(r->detail));
	if (rc != PIPEMODE_OK) {
		pm_format(r->msg, sizeof(r->msg), "%s: %s", r->name,
			  r->detail);
		return open_failed(r, rc);
	}
	return PIPEMODE_OK;
}

int
pm_reader_format_given(const pipemode_reader *r)
{
	return r->format_given;
}

int
pm_reader_set_format(pipemode_reader *r, const char *name)
{
	int rc = pm_framer_lookup(name, &r->format_ops, r->detail,
				  sizeof(r->detail));

	if (rc != PIPEMODE_OK) {
		pm_format(r->msg, sizeof(r->msg), "%s: %s", r->name,
			  r->detail);
		return open_failed(r, rc);
	}
	r->format_auto_opt = 0;
	return PIPEMODE_OK;
}

/*
 * The framer (or the candidates of format=auto) for a stream about to
 * start, with the framer options applied.  At open, and again for each file
 * of a File-mode pass: each file is framed on its own.
 */
static int
make_framers(pipemode_reader *r)
{
	size_t i;
	int rc;

	framer_destroy(&r->framer);
	for (i = 0; i < r->ncandidates; i++)
		framer_destroy(&r->candidates[i]);
	r->ncandidates = 0;
	memset(&r->framer, 0, sizeof(r->framer));

	r->format_auto = r->format_auto_opt;
	if (r->format_auto) {
		pipemode_framer_ops ops[MAX_CANDIDATES];
		size_t n = pm_framer_sniffers(ops, MAX_CANDIDATES);
		n = n < MAX_CANDIDATES ? n : MAX_CANDIDATES;
		for (i = 0; i < n; i++) {
			r->candidates[i].ops = ops[i];
			rc = framer_create(r, &r->candidates[i]);
			if (rc != PIPEMODE_OK)
				return rc;
			r->ncandidates++;
		}
		return apply_framer_options(r, r->candidates, r->ncandidates);
	}
	r->framer.ops = r->format_ops;
	rc = framer_create(r, &r->framer);
	if (rc == PIPEMODE_OK)
		rc = apply_framer_options(r, &r->framer, 1);
	return rc;
}

int
pm_reader_prepare(pipemode_reader *r)
{
	int rc = make_framers(r);

	if (rc != PIPEMODE_OK)
		return open_failed(r, rc);
	r->buf = malloc(r->buffer_size);
	if (r->buf == NULL) {
		pm_format(r->msg, sizeof(r->msg),
			  "%s: out of memory for a %zu-byte buffer", r->name,
			  r->buffer_size);
		return open_failed(r, PIPEMODE_ENOMEM);
	}
	r->cap = r->buffer_size;
	r->compression = r->compression_opt;
	r->state = READER_OPEN;
	r->error = PIPEMODE_OK;
	return PIPEMODE_OK;
}

static int
reader_setup(pipemode_reader *r, const char *options, const char *def_name)
{
	int rc = pm_reader_parse(r, options, def_name);

	return rc != PIPEMODE_OK ? rc : pm_reader_prepare(r);
}

int
pm_reader_attach_fd(pipemode_reader *r, int fd, int owns_fd)
{
	int rc;

	r->src.fd = fd;
	r->src.owns_fd = owns_fd;
	r->nfiles_opened++;
	pm_source_grow_pipe(fd, r->pipe_size);
	if (r->readahead == 0)
		return PIPEMODE_OK;
	rc = pm_source_start_readahead(&r->src, (size_t)r->readahead);
	if (rc != PIPEMODE_OK)
		return pm_reader_open_failed(r, rc,
					     "%s: cannot start the readahead "
					     "thread: %s",
					     r->name, strerror(errno));
	return PIPEMODE_OK;
}

void
pm_reader_set_epoch(pipemode_reader *r, int64_t epoch, uint64_t wait_ns)
{
	r->epoch = epoch;
	r->open_wait_ns = wait_ns;
}

/* Start reading the next file of a File-mode pass: a stream of its own. */
static int
open_next_file(pipemode_reader *r)
{
	const char *path = r->files[r->next_file++];
	int fd, rc;

	pm_source_stop_readahead(&r->src);
	if (r->src.owns_fd && r->src.fd >= 0)
		close(r->src.fd);
	r->src.fd = -1;
	pm_filter_destroy(r->filter);
	r->filter = NULL;
	r->compression = r->compression_opt;
	r->pos = r->end = 0;
	r->src_eof = 0;
	r->next_index = r->next_offset = r->pos_offset = 0;
	r->cur_index = r->cur_offset = 0;
	if (pm_reader_set_name(r, path) != PIPEMODE_OK) {
		pm_format(r->msg, sizeof(r->msg), "out of memory");
		return PIPEMODE_ENOMEM;
	}
	rc = make_framers(r);
	if (rc != PIPEMODE_OK)
		return rc; /* make_framers wrote the message */
	do
		fd = open(path, O_RDONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		pm_format(r->msg, sizeof(r->msg), "%s: cannot open: %s",
			  r->name, strerror(errno));
		return PIPEMODE_EIO;
	}
	return pm_reader_attach_fd(r, fd, 1);
}

int
pm_reader_set_files(pipemode_reader *r, char **files, size_t nfiles)
{
	int rc;

	r->files = files;
	r->nfiles = nfiles;
	r->next_file = 0;
	if (nfiles == 0) {
		/* An empty pass is a clean end, not an error. */
		r->state = READER_EOF;
		return PIPEMODE_OK;
	}
	rc = open_next_file(r);
	return rc == PIPEMODE_OK ? rc : open_failed(r, rc);
}

int
pipemode_open_path(pipemode_reader **rp, const char *path,
		   const char *options)
{
	pipemode_reader *r;
	int fd, rc;

	if (rp == NULL)
		return PIPEMODE_EINVAL;
	*rp = r = pm_reader_alloc();
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
	return pm_reader_attach_fd(r, fd, 1);
}

int
pipemode_open_fd(pipemode_reader **rp, int fd, const char *options)
{
	pipemode_reader *r;
	char def_name[32];
	int rc;

	if (rp == NULL)
		return PIPEMODE_EINVAL;
	*rp = r = pm_reader_alloc();
	if (r == NULL)
		return PIPEMODE_ENOMEM;
	pm_format(def_name, sizeof(def_name), "fd %d", fd);
	if (fd < 0 || fcntl(fd, F_GETFD) < 0) {
		pm_format(r->msg, sizeof(r->msg), "%s: not an open descriptor",
			  def_name);
		return open_failed(r, PIPEMODE_EINVAL);
	}
	rc = reader_setup(r, options, def_name);
	if (rc == PIPEMODE_OK)
		rc = pm_reader_attach_fd(r, fd, 0);
	return rc;
}

int
pipemode_open_callback(pipemode_reader **rp, pipemode_read_fn read_fn,
		       void *ctx, const char *options)
{
	pipemode_reader *r;
	int rc;

	if (rp == NULL)
		return PIPEMODE_EINVAL;
	*rp = r = pm_reader_alloc();
	if (r == NULL)
		return PIPEMODE_ENOMEM;
	if (read_fn == NULL) {
		pm_format(r->msg, sizeof(r->msg), "read callback is NULL");
		return open_failed(r, PIPEMODE_EINVAL);
	}
	r->src.read_fn = read_fn;
	r->src.ctx = ctx;
	rc = reader_setup(r, options, "callback");
	if (rc == PIPEMODE_OK)
		r->nfiles_opened = 1;
	return rc;
}

int
pipemode_close(pipemode_reader *r)
{
	int rc = PIPEMODE_OK;
	size_t i;

	if (r == NULL)
		return PIPEMODE_OK;
	framer_destroy(&r->framer);
	for (i = 0; i < r->ncandidates; i++)
		framer_destroy(&r->candidates[i]);
	for (i = 0; i < r->nfopts; i++) {
		free(r->fopts[i].key);
		free(r->fopts[i].value);
	}
	free(r->fopts);
	for (i = 0; i < r->nfiles; i++)
		free(r->files[i]);
	free(r->files);
	free(r->chan.pipe_dir);
	free(r->chan.state_dir);
	free(r->chan.config_dir);
	pm_filter_destroy(r->filter);
	pm_source_stop_readahead(&r->src);
	if (r->src.owns_fd && r->src.fd >= 0 && close(r->src.fd) != 0 &&
	    errno != EINTR)
		rc = PIPEMODE_EIO;
	free(r->buf);
	free(r->name);
	free(r);
	return rc;
}

/* ------------------------------------------------------------------ next */

/* What failed, where: "SOURCE: WHO: record N at byte OFF: detail". */
static int
fail(pipemode_reader *r, int code, const char *who)
{
	pm_format(r->msg, sizeof(r->msg), "%s: %s: record %llu at byte %llu: %s",
		  r->name, who, (unsigned long long)r->next_index,
		  (unsigned long long)r->next_offset, r->detail);
	r->state = READER_FAILED;
	r->error = code;
	r->cur_index = r->next_index;
	r->cur_offset = r->next_offset;
	return code;
}

/* The name errors before the framer is chosen go by. */
static const char *
stage_name(const pipemode_reader *r)
{
	if (r->framer.ops.name != NULL)
		return r->framer.ops.name;
	return r->format_auto ? "auto" : "reader";
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
			pm_format(r->detail, sizeof(r->detail),
				  "out of memory for a %zu-byte buffer", cap);
			return fail(r, PIPEMODE_ENOMEM, stage_name(r));
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
	if (r->filter != NULL) {
		n = pm_filter_read(r->filter, &r->src, r->buf + r->end, room,
				   r->detail, sizeof(r->detail));
		if (n < 0)
			return fail(r, (int)n, pm_filter_name(r->filter));
	} else {
		n = pm_source_read(&r->src, r->buf + r->end, room);
		if (n < 0) {
			pm_format(r->detail, sizeof(r->detail),
				  "read failed at byte %llu: %s",
				  (unsigned long long)(r->pos_offset + avail),
				  strerror((int)-n));
			return fail(r, PIPEMODE_EIO, stage_name(r));
		}
	}
	if (n == 0)
		r->src_eof = 1;
	r->end += (size_t)n;
	return PIPEMODE_OK;
}

/* Read until the window holds want bytes or the input ends. */
static int
fill_to(pipemode_reader *r, size_t want)
{
	while (r->end - r->pos < want && !r->src_eof) {
		int rc = refill(r, want);
		if (rc != PIPEMODE_OK)
			return rc;
	}
	return PIPEMODE_OK;
}

/*
 * compression=auto: look at the raw first bytes; if they are compressed,
 * hand them to a new filter as its first input and read through it.
 */
static int
detect_compression(pipemode_reader *r)
{
	int rc = fill_to(r, PM_SNIFF_BYTES);
	size_t avail;

	if (rc != PIPEMODE_OK)
		return rc;
	/* Exactly the first PM_SNIFF_BYTES (or the whole stream when it is
	 * shorter), however the reads fell: the decision must not depend on
	 * how the bytes arrived. */
	avail = r->end - r->pos;
	r->compression = pm_compression_sniff(
		r->buf + r->pos, avail < PM_SNIFF_BYTES ? avail : PM_SNIFF_BYTES);
	return PIPEMODE_OK;
}

static int
start_filter(pipemode_reader *r)
{
	int rc = pm_filter_create(&r->filter, r->compression, r->buf + r->pos,
				  r->end - r->pos, r->src_eof);

	if (rc != PIPEMODE_OK) {
		pm_format(r->detail, sizeof(r->detail),
			  "cannot start %s decompression",
			  pm_compression_name(r->compression));
		return fail(r, rc, "reader");
	}
	/* The raw bytes now belong to the filter: the window starts over
	 * with inflated ones. */
	r->pos = r->end = 0;
	r->src_eof = 0;
	return PIPEMODE_OK;
}

/*
 * format=auto: the one candidate whose sniff says yes.  An empty stream
 * needs no framer: it is a clean end whatever the format.
 */
static int
detect_format(pipemode_reader *r)
{
	size_t i, avail, yes = 0, pick = 0;
	int rc = fill_to(r, PM_SNIFF_BYTES);

	if (rc != PIPEMODE_OK)
		return rc;
	avail = r->end - r->pos;
	if (avail > PM_SNIFF_BYTES)
		avail = PM_SNIFF_BYTES;
	if (avail == 0)
		return PIPEMODE_EOF;
	for (i = 0; i < r->ncandidates; i++) {
		if (r->candidates[i].ops.sniff(r->buf + r->pos, avail) == 1) {
			if (yes++ == 0)
				pick = i;
		}
	}
	if (yes != 1) {
		char names[256] = "";
		for (i = 0; i < r->ncandidates; i++) {
			size_t used = strlen(names);
			if (yes > 1 && r->candidates[i].ops.sniff(
					       r->buf + r->pos, avail) != 1)
				continue;
			pm_format(names + used, sizeof(names) - used, "%s%s",
				  used ? ", " : "", r->candidates[i].ops.name);
		}
		if (yes == 0)
			pm_format(r->detail, sizeof(r->detail),
				  "the first %zu bytes are none "
				  "of %s (first bytes %02x %02x %02x %02x); "
				  "name the format with format=",
				  avail, names, r->buf[r->pos],
				  avail > 1 ? r->buf[r->pos + 1] : 0,
				  avail > 2 ? r->buf[r->pos + 2] : 0,
				  avail > 3 ? r->buf[r->pos + 3] : 0);
		else
			pm_format(r->detail, sizeof(r->detail),
				  "the first bytes fit more than "
				  "one format (%s); name it with format=",
				  names);
		return fail(r, PIPEMODE_EFORMAT, "auto");
	}
	r->framer = r->candidates[pick];
	r->candidates[pick].state = NULL;
	for (i = 0; i < r->ncandidates; i++)
		framer_destroy(&r->candidates[i]);
	r->ncandidates = 0;
	r->format_auto = 0;
	return PIPEMODE_OK;
}

/* Decide what open left to the first bytes.  PIPEMODE_EOF for an empty
 * stream under format=auto. */
static int
start(pipemode_reader *r)
{
	int rc;

	if (r->compression == PM_COMPRESSION_AUTO) {
		rc = detect_compression(r);
		if (rc != PIPEMODE_OK)
			return rc;
	}
	if (r->compression != PM_COMPRESSION_NONE && r->filter == NULL) {
		rc = start_filter(r);
		if (rc != PIPEMODE_OK)
			return rc;
	}
	if (r->framer.ops.name == NULL)
		return detect_format(r);
	return PIPEMODE_OK;
}

/* The framer took a record of consumed bytes at the start of the window. */
static inline void
took_record(pipemode_reader *r, size_t consumed, size_t len)
{
	r->pos += consumed;
	r->pos_offset += consumed;
	r->cur_index = r->next_index++;
	r->cur_offset = r->next_offset;
	r->next_offset = r->pos_offset;
	r->skipped_in_a_row = 0;
	r->records++;
	r->payload_bytes += len;
}

/*
 * The common case first, in a few instructions: a whole, good record of a
 * built-in framer at the start of the window (see pm_quick_fn).  1 with
 * the record taken, 0 when next_record must decide.
 */
static inline int
quick_record(pipemode_reader *r, const void **data, size_t *len)
{
	size_t used;

	if (r->framer.quick == NULL ||
	    (r->compression != PM_COMPRESSION_NONE && r->filter == NULL))
		return 0;
	used = r->framer.quick(r->framer.state, r->buf + r->pos,
			       r->end - r->pos, data, len);
	if (used == 0)
		return 0;
	took_record(r, used, *len);
	return 1;
}

/* next_record's answer when the next record needs the buffer moved or
 * refilled, which a batch must not do under records it handed out. */
#define WOULD_REFILL 100

static int next_record(pipemode_reader *r, const void **data, size_t *len,
		       int may_refill);

int
pipemode_next(pipemode_reader *r, const void **data, size_t *len)
{
	uint64_t t0, wait0;
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
	if (r->state == READER_FAILED || r->state == READER_BROKEN)
		return r->error;
	r->msg[0] = '\0'; /* this call has not failed (yet) */
	if (r->state == READER_EOF)
		return PIPEMODE_EOF;
	if (!r->timing)
		return quick_record(r, data, len) ? PIPEMODE_OK
						  : next_record(r, data, len, 1);
	/* Only on request: two clock reads a record cost as much as framing
	 * a small one. */
	t0 = pm_now_ns();
	wait0 = r->src.wait_ns;
	rc = next_record(r, data, len, 1);
	r->library_ns += pm_now_ns() - t0 - (r->src.wait_ns - wait0);
	return rc;
}

/*
 * Records for as long as they can all stay valid together: up to max, and
 * only as far as the buffer holds them without a refill (which may move
 * it), and no further than a record in the framer's own memory (which the
 * framer's next call may overwrite).
 */
static int
next_batch(pipemode_reader *r, pipemode_record *records, size_t max,
	   size_t *n)
{
	while (*n < max) {
		const void *data;
		size_t len;
		int rc;

		/* A quick record is in the window: it never ends a batch. */
		if (quick_record(r, &records[*n].data, &records[*n].len)) {
			(*n)++;
			continue;
		}
		rc = next_record(r, &data, &len, *n == 0);

		if (rc == WOULD_REFILL)
			return PIPEMODE_OK;
		if (rc != PIPEMODE_OK)
			/* An end or an error after some records: those come
			 * first; the next call returns the end or error. */
			return *n > 0 ? PIPEMODE_OK : rc;
		records[*n].data = data;
		records[*n].len = len;
		(*n)++;
		if ((const unsigned char *)data < r->buf ||
		    (const unsigned char *)data >= r->buf + r->cap)
			break;
	}
	return PIPEMODE_OK;
}

int
pipemode_next_batch(pipemode_reader *r, pipemode_record *records,
		    size_t max, size_t *n)
{
	uint64_t t0, wait0;
	int rc;

	if (n != NULL)
		*n = 0;
	if (r == NULL)
		return PIPEMODE_EINVAL;
	if (records == NULL || n == NULL || max == 0) {
		pm_format(r->msg, sizeof(r->msg),
			  "%s: records or n is NULL, or max is 0",
			  r->name != NULL ? r->name : "reader");
		return PIPEMODE_EINVAL;
	}
	if (r->state == READER_FAILED || r->state == READER_BROKEN)
		return r->error;
	r->msg[0] = '\0';
	if (r->state == READER_EOF)
		return PIPEMODE_EOF;
	if (!r->timing)
		return next_batch(r, records, max, n);
	t0 = pm_now_ns();
	wait0 = r->src.wait_ns;
	rc = next_batch(r, records, max, n);
	r->library_ns += pm_now_ns() - t0 - (r->src.wait_ns - wait0);
	return rc;
}

/* The stream (or the File-mode pass) ended cleanly. */
static int
reached_end(pipemode_reader *r)
{
	r->state = READER_EOF;
	r->cur_index = r->next_index;
	r->cur_offset = r->next_offset;
	return PIPEMODE_EOF;
}

/* Move on to the next file of a File-mode pass. */
static int
next_file(pipemode_reader *r)
{
	int rc = open_next_file(r);

	if (rc != PIPEMODE_OK) {
		/* open_next_file wrote the message. */
		r->state = READER_FAILED;
		r->error = rc;
	}
	return rc;
}

static int
next_record(pipemode_reader *r, const void **data, size_t *len,
	    int may_refill)
{
	pipemode_frame f;
	int rc;

	for (;;) {
		if (r->framer.ops.name == NULL ||
		    (r->compression != PM_COMPRESSION_NONE &&
		     r->filter == NULL)) {
			if (!may_refill)
				return WOULD_REFILL;
			rc = start(r);
			if (rc == PIPEMODE_EOF) {
				/* An empty stream under format=auto. */
				if (r->next_file < r->nfiles) {
					rc = next_file(r);
					if (rc != PIPEMODE_OK)
						return rc;
					continue;
				}
				return reached_end(r);
			}
			if (rc != PIPEMODE_OK)
				return rc;
		}

		/* Again after a refill or a skipped record. */
		if (quick_record(r, data, len))
			return PIPEMODE_OK;
		f.size = sizeof(f);
		f.msg = r->detail;
		f.msgsize = sizeof(r->detail);
		f.consumed = 0;
		f.need = 0; /* a framer breaking the contract may not set it */
		f.offset = r->pos_offset;
		rc = r->framer.ops.frame(r->framer.state, r->buf + r->pos,
					 r->end - r->pos, r->src_eof, &f);
		if ((rc == PIPEMODE_FRAME_RECORD || rc == PIPEMODE_FRAME_TAKEN) &&
		    f.consumed > 0 && f.consumed <= r->end - r->pos) {
			if (rc == PIPEMODE_FRAME_TAKEN) {
				r->pos += f.consumed;
				r->pos_offset += f.consumed;
				continue;
			}
			took_record(r, f.consumed, f.len);
			*data = f.data;
			*len = f.len;
			return PIPEMODE_OK;
		}
		if (rc == PIPEMODE_FRAME_NEED && !r->src_eof &&
		    f.need > r->end - r->pos) {
			if (!may_refill)
				return WOULD_REFILL;
			rc = refill(r, f.need);
			if (rc != PIPEMODE_OK)
				return rc;
			continue;
		}
		if (rc == PIPEMODE_EOF && r->src_eof) {
			if (r->next_file < r->nfiles) {
				if (!may_refill)
					return WOULD_REFILL;
				rc = next_file(r);
				if (rc != PIPEMODE_OK)
					return rc;
				continue;
			}
			return reached_end(r);
		}
		if (rc == PIPEMODE_ECRC && r->skipped_in_a_row < r->skip_corrupt &&
		    f.consumed > 0 && f.consumed <= r->end - r->pos) {
			r->skipped_in_a_row++;
			r->skipped++;
			r->next_index++;
			r->pos += f.consumed;
			r->pos_offset += f.consumed;
			r->next_offset = r->pos_offset;
			continue;
		}
		if (rc >= 0 || pipemode_code_name(rc) == NULL) {
			/* A framer that breaks the contract (asks for less
			 * than it has, or for more after the end, claims
			 * bytes it was not given, or answers a code that is
			 * not in the list) would loop, overrun or hand the
			 * caller a code it cannot know: stop it here. */
			pm_format(r->detail, sizeof(r->detail),
				  "the framer broke its contract (answer %d, "
				  "consumed %zu, need %zu, window %zu%s)",
				  rc, f.consumed, f.need, r->end - r->pos,
				  r->src_eof ? ", at the end" : "");
			rc = PIPEMODE_ECORRUPT;
		} else if (rc == PIPEMODE_ECRC && r->skip_corrupt > 0) {
			size_t n = strlen(r->detail);
			pm_format(r->detail + n, sizeof(r->detail) - n,
				  " (after skipping %llu corrupt record%s in "
				  "a row; skip_corrupt=%llu)",
				  (unsigned long long)r->skipped_in_a_row,
				  r->skipped_in_a_row == 1 ? "" : "s",
				  (unsigned long long)r->skip_corrupt);
		}
		return fail(r, rc, r->framer.ops.name);
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

const char *
pipemode_source_name(const pipemode_reader *r)
{
	return r != NULL && r->name != NULL ? r->name : "";
}

int
pipemode_get_stats(const pipemode_reader *r, pipemode_stats *st)
{
	pipemode_stats now;
	size_t n;

	if (r == NULL || st == NULL || st->size < sizeof(pipemode_stats))
		return PIPEMODE_EINVAL;
	now.size = st->size;
	now.records = r->records;
	now.payload_bytes = r->payload_bytes;
	now.skipped = r->skipped;
	now.bytes_read = r->src.bytes;
	now.read_calls = r->src.reads;
	now.read_wait_ns = r->src.wait_ns;
	now.library_ns = r->library_ns;
	now.open_wait_ns = r->open_wait_ns;
	now.epoch = r->epoch;
	now.files = r->nfiles_opened;
	/* A caller built against a later, larger struct gets what this
	 * release knows and the rest stays as the caller set it; one built
	 * against an earlier, smaller struct gets only what it has room for. */
	n = st->size < sizeof(now) ? st->size : sizeof(now);
	memcpy(st, &now, n);
	return PIPEMODE_OK;
}
