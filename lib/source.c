/* SPDX-License-Identifier: Apache-2.0 */
/* The only layer that does input: read() or the caller's callback. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

static ssize_t readahead_read(struct pm_readahead *ra, void *buf, size_t len);

uint64_t
pm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static ssize_t
source_read_once(pm_source *src, void *buf, size_t len)
{
	ssize_t n;

	if (src->ra != NULL)
		return readahead_read(src->ra, buf, len);
	for (;;) {
		if (src->read_fn != NULL) {
			n = src->read_fn(src->ctx, buf, len);
			if (n == -EINTR)
				continue;
			if (n < 0)
				return n < -4095 ? -EIO : n;
			/* A callback that claims more than it was given would
			 * have written past the buffer; refuse to go on. */
			if ((size_t)n > len)
				return -EOVERFLOW;
			return n;
		}
		n = read(src->fd, buf, len);
		if (n >= 0)
			return n;
		if (errno != EINTR)
			return -errno;
	}
}

ssize_t
pm_source_read(pm_source *src, void *buf, size_t len)
{
	/* Timed per call, not per record: a refill is at least a page and
	 * the clock costs tens of nanoseconds. */
	uint64_t t0 = pm_now_ns();
	ssize_t n = source_read_once(src, buf, len);

	src->wait_ns += pm_now_ns() - t0;
	src->reads++;
	if (n > 0)
		src->bytes += (uint64_t)n;
	return n;
}

void
pm_source_grow_pipe(int fd, uint64_t size)
{
#ifdef F_SETPIPE_SZ
	struct stat st;
	int cur;

	if (size == 0 || size > (uint64_t)INT32_MAX)
		return;
	if (fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode))
		return;
	cur = fcntl(fd, F_GETPIPE_SZ);
	if (cur >= 0 && (uint64_t)cur >= size)
		return;
	/* Unprivileged processes are capped by /proc/sys/fs/pipe-max-size;
	 * a refusal leaves the pipe as it was, which still works. */
	(void)fcntl(fd, F_SETPIPE_SZ, (int)size);
#else
	PM_UNUSED(fd);
	PM_UNUSED(size);
#endif
}

/* ------------------------------------------------------------ readahead */

/*
 * The ring is filled by the thread and drained by pm_source_read under one
 * mutex; the thread waits in poll() on the descriptor and on a pipe that
 * pm_source_stop_readahead writes to, so stopping never depends on the
 * writer sending more data.
 */
struct pm_readahead {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t has_data, has_room;
	unsigned char *ring;
	size_t cap, head, len;  /* bytes [head, head + len) mod cap */
	int fd;
	int eof;
	int err;                /* errno of a failed read, or 0 */
	int stop;
	int wake[2];            /* stop pipe */
};

static void *
readahead_main(void *arg)
{
	struct pm_readahead *ra = arg;

	for (;;) {
		struct pollfd p[2];
		size_t tail, room;
		ssize_t n;
		int err = 0;

		pthread_mutex_lock(&ra->mu);
		while (ra->len == ra->cap && !ra->stop)
			pthread_cond_wait(&ra->has_room, &ra->mu);
		if (ra->stop) {
			pthread_mutex_unlock(&ra->mu);
			return NULL;
		}
		tail = (ra->head + ra->len) % ra->cap;
		room = ra->cap - ra->len;
		if (room > ra->cap - tail)
			room = ra->cap - tail;
		pthread_mutex_unlock(&ra->mu);

		p[0].fd = ra->fd;
		p[0].events = POLLIN;
		p[1].fd = ra->wake[0];
		p[1].events = POLLIN;
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			n = -1;
			err = errno;
		} else if (p[1].revents != 0) {
			return NULL;
		} else {
			/* Only this thread writes past the tail, so the
			 * bytes are filled without the lock. */
			do
				n = read(ra->fd, ra->ring + tail, room);
			while (n < 0 && errno == EINTR);
			err = errno;
			if (n < 0 && err == EAGAIN)
				continue;
		}

		pthread_mutex_lock(&ra->mu);
		if (n > 0)
			ra->len += (size_t)n;
		else if (n == 0)
			ra->eof = 1;
		else
			ra->err = err != 0 ? err : EIO;
		pthread_cond_signal(&ra->has_data);
		pthread_mutex_unlock(&ra->mu);
		if (n <= 0)
			return NULL;
	}
}

int
pm_source_start_readahead(pm_source *src, size_t size)
{
	struct pm_readahead *ra = calloc(1, sizeof(*ra));
	int err;

	if (ra == NULL)
		return PIPEMODE_ENOMEM;
	ra->ring = malloc(size);
	if (ra->ring == NULL) {
		free(ra);
		return PIPEMODE_ENOMEM;
	}
	ra->cap = size;
	ra->fd = src->fd;
	if (pipe2(ra->wake, O_CLOEXEC) != 0) {
		err = errno;
		goto fail_ring;
	}
	pthread_mutex_init(&ra->mu, NULL);
	pthread_cond_init(&ra->has_data, NULL);
	pthread_cond_init(&ra->has_room, NULL);
	err = pthread_create(&ra->thread, NULL, readahead_main, ra);
	if (err != 0) {
		pthread_mutex_destroy(&ra->mu);
		pthread_cond_destroy(&ra->has_data);
		pthread_cond_destroy(&ra->has_room);
		close(ra->wake[0]);
		close(ra->wake[1]);
		goto fail_ring;
	}
	src->ra = ra;
	return PIPEMODE_OK;
fail_ring:
	free(ra->ring);
	free(ra);
	errno = err;
	return err == ENOMEM || err == EAGAIN ? PIPEMODE_ENOMEM : PIPEMODE_EIO;
}

void
pm_source_stop_readahead(pm_source *src)
{
	struct pm_readahead *ra = src->ra;
	ssize_t n;

	if (ra == NULL)
		return;
	pthread_mutex_lock(&ra->mu);
	ra->stop = 1;
	pthread_cond_signal(&ra->has_room);
	pthread_mutex_unlock(&ra->mu);
	do
		n = write(ra->wake[1], "x", 1);
	while (n < 0 && errno == EINTR);
	pthread_join(ra->thread, NULL);
	pthread_mutex_destroy(&ra->mu);
	pthread_cond_destroy(&ra->has_data);
	pthread_cond_destroy(&ra->has_room);
	close(ra->wake[0]);
	close(ra->wake[1]);
	free(ra->ring);
	free(ra);
	src->ra = NULL;
}

/* Take up to len bytes from the ring, waiting for the thread if empty. */
static ssize_t
readahead_read(struct pm_readahead *ra, void *buf, size_t len)
{
	ssize_t n;

	pthread_mutex_lock(&ra->mu);
	while (ra->len == 0 && !ra->eof && ra->err == 0)
		pthread_cond_wait(&ra->has_data, &ra->mu);
	if (ra->len > 0) {
		size_t take = len < ra->len ? len : ra->len;
		size_t first = ra->cap - ra->head;
		if (first > take)
			first = take;
		memcpy(buf, ra->ring + ra->head, first);
		memcpy((unsigned char *)buf + first, ra->ring, take - first);
		ra->head = (ra->head + take) % ra->cap;
		ra->len -= take;
		pthread_cond_signal(&ra->has_room);
		n = (ssize_t)take;
	} else {
		n = ra->err != 0 ? -ra->err : 0;
	}
	pthread_mutex_unlock(&ra->mu);
	return n;
}
