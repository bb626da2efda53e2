/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The TFRecord writer.  Small records are gathered in a buffer and written
 * with one write(); a record at least as large as the buffer goes out with
 * writev() straight from the caller's memory, behind what was buffered.
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

#include "internal.h"

#define DEFAULT_BUFFER_SIZE (256u * 1024)
#define MIN_BUFFER_SIZE (4u * 1024)
#define MAX_BUFFER_SIZE (1024u * 1024 * 1024)

struct pipemode_writer {
	int fd;
	int owns_fd;
	int error;              /* 0, or the code every call repeats */
	char *name;
	unsigned char *buf;
	size_t cap, len;
	uint64_t offset;        /* bytes written out so far */
	uint64_t records;
	char detail[PM_DETAIL_SIZE];
	char msg[PM_MSG_SIZE];
};

static int
writer_option(void *ctx, const char *key, const char *value, char *msg,
	      size_t msgsize)
{
	pipemode_writer *w = ctx;
	uint64_t v;
	int rc;

	if (strcmp(key, "format") == 0) {
		const pm_framer_ops *ops;
		rc = pm_framer_lookup(value, &ops, msg, msgsize);
		/* Only TFRecord has a writer so far; the lookup already
		 * refused every other name. */
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

static int
writer_failed(pipemode_writer *w, int code)
{
	w->error = code;
	return code;
}

static int
writer_setup(pipemode_writer *w, const char *options, const char *def_name)
{
	int rc;

	w->cap = DEFAULT_BUFFER_SIZE;
	w->name = pm_options_name(options, def_name);
	if (w->name == NULL) {
		pm_format(w->msg, sizeof(w->msg), "out of memory");
		writer_failed(w, PIPEMODE_ESTATE);
		return PIPEMODE_ENOMEM;
	}
	rc = pm_options_parse(options, writer_option, w, w->detail,
			      sizeof(w->detail));
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
writer_usable(pipemode_writer *w)
{
	if (w == NULL)
		return PIPEMODE_EINVAL;
	return w->error != 0 ? w->error : PIPEMODE_OK;
}

int
pipemode_writer_flush(pipemode_writer *w)
{
	struct iovec iov;
	int rc = writer_usable(w);

	if (rc != PIPEMODE_OK || w->len == 0)
		return rc;
	iov.iov_base = w->buf;
	iov.iov_len = w->len;
	w->len = 0;
	return write_all(w, &iov, 1);
}

int
pipemode_write(pipemode_writer *w, const void *data, size_t len)
{
	unsigned char head[PM_TFRECORD_HEADER], foot[PM_TFRECORD_FOOTER];
	int rc = writer_usable(w);

	if (rc != PIPEMODE_OK)
		return rc;
	if (data == NULL && len > 0) {
		pm_format(w->msg, sizeof(w->msg),
			  "%s: record %llu: data is NULL", w->name,
			  (unsigned long long)w->records);
		return PIPEMODE_EINVAL;
	}
	pm_store_le64(head, (uint64_t)len);
	pm_store_le32(head + 8, pm_crc32c_mask(pm_crc32c(0, head, 8)));
	pm_store_le32(foot, pm_crc32c_mask(pm_crc32c(0, data, len)));

	if (len >= w->cap) {
		struct iovec iov[4];
		int n = 0;
		if (w->len > 0) {
			iov[n].iov_base = w->buf;
			iov[n++].iov_len = w->len;
		}
		iov[n].iov_base = head;
		iov[n++].iov_len = sizeof(head);
		iov[n].iov_base = (void *)(uintptr_t)data;
		iov[n++].iov_len = len;
		iov[n].iov_base = foot;
		iov[n++].iov_len = sizeof(foot);
		w->len = 0;
		rc = write_all(w, iov, n);
	} else {
		size_t total = sizeof(head) + len + sizeof(foot);
		if (w->cap - w->len < total) {
			rc = pipemode_writer_flush(w);
			if (rc != PIPEMODE_OK)
				return rc;
		}
		/* A record smaller than the buffer (checked above) plus its
		 * 16 framing bytes may still not fit an empty buffer. */
		if (w->cap - w->len < total) {
			struct iovec iov[3] = {
				{head, sizeof(head)},
				{(void *)(uintptr_t)data, len},
				{foot, sizeof(foot)},
			};
			rc = write_all(w, iov, 3);
		} else {
			memcpy(w->buf + w->len, head, sizeof(head));
			if (len > 0)
				memcpy(w->buf + w->len + sizeof(head), data,
				       len);
			memcpy(w->buf + w->len + sizeof(head) + len, foot,
			       sizeof(foot));
			w->len += total;
		}
	}
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
	rc = pipemode_writer_flush(w);
	if (rc == PIPEMODE_ESTATE)
		rc = PIPEMODE_OK; /* a failed open: nothing was to be written */
	if (w->owns_fd && w->fd >= 0 && close(w->fd) != 0 && errno != EINTR &&
	    rc == PIPEMODE_OK)
		rc = PIPEMODE_EIO;
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
