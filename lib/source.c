/* SPDX-License-Identifier: Apache-2.0 */
/* The only layer that does input: read() or the caller's callback. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

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
