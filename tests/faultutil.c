/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers for check_fault, check_security and soak; see faultutil.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* FIONREAD */
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <zlib.h>

#include "faultutil.h"

double
fu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
fu_mkdirs(const char *path)
{
	char tmp[FU_PATH_SIZE];
	size_t n = strlen(path);

	if (n >= sizeof(tmp))
		return -1;
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

void
fu_join(char *buf, size_t size, const char *a, const char *b)
{
	int n = snprintf(buf, size, "%s/%s", a, b);

	ck_assert_msg(n > 0 && (size_t)n < size, "path too long: %s/%s", a, b);
}

void
fu_child_alarm(unsigned secs)
{
	signal(SIGALRM, SIG_DFL);
	alarm(secs);
}

static int
cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

int
fu_list_fds(int *fds, int max)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0, self;

	if (d == NULL)
		return -1;
	self = dirfd(d);
	while ((e = readdir(d)) != NULL) {
		char *end;
		long v;

		if (e->d_name[0] == '.')
			continue;
		v = strtol(e->d_name, &end, 10);
		if (*end != '\0' || v == self)
			continue;
		if (n < max)
			fds[n] = (int)v;
		n++;
	}
	closedir(d);
	qsort(fds, (size_t)(n < max ? n : max), sizeof(*fds), cmp_int);
	return n;
}

void
fu_close_from(int lowest)
{
	int fds[1024];
	int n = fu_list_fds(fds, 1024);

	if (n < 0) {
		for (int fd = lowest; fd < 4096; fd++)
			close(fd);
		return;
	}
	for (int i = 0; i < n && i < 1024; i++)
		if (fds[i] >= lowest)
			close(fds[i]);
}

int
fu_wait_asleep(pid_t pid, double limit_s)
{
	struct timespec pause = {0, 100000};
	char path[64], buf[512];
	double t0 = fu_now();

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	for (;;) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n;
		char *paren;

		if (fd < 0)
			return -1;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			return -1;
		buf[n] = '\0';
		paren = strrchr(buf, ')');
		if (paren != NULL && paren[1] == ' ' && paren[2] == 'S')
			return 0;
		if (fu_now() - t0 > limit_s)
			return -1;
		nanosleep(&pause, NULL);
	}
}

int
fu_pipe_queued(int fd)
{
	int n = 0;

	if (ioctl(fd, FIONREAD, &n) != 0)
		return -1;
	return n;
}

/* ---------------------------------------------------------------- gzip */

static void
z_check(int zrc, const char *what)
{
	ck_assert_msg(zrc == Z_OK || zrc == Z_STREAM_END, "%s: zlib %d", what,
		      zrc);
}

unsigned char *
fu_gzip(const void *p, size_t len, const size_t *cuts, size_t ncuts,
	size_t *outlen, size_t *members_end)
{
	const unsigned char *in = p;
	size_t cap = len + len / 8 + 64 * (ncuts + 1) + 1024, used = 0;
	unsigned char *out = malloc(cap);

	ck_assert_ptr_nonnull(out);
	for (size_t k = 0; k <= ncuts; k++) {
		size_t from = k == 0 ? 0 : cuts[k - 1];
		size_t to = k == ncuts ? len : cuts[k];
		z_stream z;
		int zrc;

		ck_assert_uint_le(from, to);
		memset(&z, 0, sizeof(z));
		z_check(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8,
				     Z_DEFAULT_STRATEGY),
			"deflateInit2");
		z.next_in = (Bytef *)(uintptr_t)(in + from);
		z.avail_in = (uInt)(to - from);
		z.next_out = out + used;
		z.avail_out = (uInt)(cap - used);
		zrc = deflate(&z, Z_FINISH);
		ck_assert_msg(zrc == Z_STREAM_END, "deflate: %d", zrc);
		used = cap - z.avail_out;
		deflateEnd(&z);
		if (members_end != NULL)
			members_end[k] = used;
	}
	*outlen = used;
	return out;
}

int
fu_gunzip(const unsigned char *gz, size_t len, unsigned char **out,
	  size_t *outlen)
{
	size_t cap = 4096, used = 0;
	unsigned char *buf = malloc(cap);
	z_stream z;
	int result = 0, zrc;

	ck_assert_ptr_nonnull(buf);
	memset(&z, 0, sizeof(z));
	ck_assert_int_eq(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (Bytef *)(uintptr_t)gz;
	z.avail_in = (uInt)len;
	if (len == 0)
		goto done;
	for (;;) {
		if (cap - used < 65536) {
			cap *= 2;
			buf = realloc(buf, cap);
			ck_assert_ptr_nonnull(buf);
		}
		z.next_out = buf + used;
		z.avail_out = (uInt)(cap - used);
		zrc = inflate(&z, Z_NO_FLUSH);
		used = cap - z.avail_out;
		if (zrc == Z_STREAM_END) {
			if (z.avail_in == 0) {
				result = 1;
				break;
			}
			/* As the library: another member must follow. */
			if (z.next_in[0] != 0x1f) {
				result = -1;
				break;
			}
			ck_assert_int_eq(inflateReset(&z), Z_OK);
			continue;
		}
		if (zrc == Z_OK)
			continue;
		if (zrc == Z_BUF_ERROR && z.avail_out == 0)
			continue; /* more room needed */
		if (zrc == Z_BUF_ERROR) {
			/* no progress with room left: the input ran out */
			result = z.avail_in == 0 ? 0 : -1;
			break;
		}
		result = -1;
		break;
	}
done:
	inflateEnd(&z);
	*out = buf;
	*outlen = used;
	return result;
}

/* -------------------------------------------------------------- options */

void
fu_opt_add(char *buf, size_t size, const char *key, const char *value)
{
	size_t n = strlen(buf);

#define PUT(c)                                                                 \
	do {                                                                   \
		ck_assert_uint_lt(n + 1, size);                                \
		buf[n++] = (c);                                                \
	} while (0)
	if (n > 0)
		PUT(',');
	for (const char *p = key; *p != '\0'; p++)
		PUT(*p);
	PUT('=');
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == ',' || *p == '\\')
			PUT('\\');
		PUT(*p);
	}
#undef PUT
	buf[n] = '\0';
}
