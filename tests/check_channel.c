/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pipemode_open(): SageMaker channels as the documentation in pipemode.h
 * describes them.  Epochs shared through the state file, FIFOs fed by
 * forked writers, bounded waits, channel names, the directories and their
 * environment variables, the state files' safety, inputdataconfig.json,
 * File mode and the stats a channel reader adds.
 *
 * Nothing sleeps to synchronise.  A child that must act only once the
 * reader is inside pipemode_open watches for a condition, bounded: the
 * channel's lock file (made before the epoch, hence the FIFO, is known), a
 * reader on the FIFO (a non-blocking open for writing succeeds only then),
 * the reader asleep in its wait (/proc).  Every tcase has a timeout and
 * every child an alarm.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* nftw, mkdtemp, setenv */
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define CHILD_ALARM 60
#define PATH_SIZE 4608
#define OPTS_SIZE 16384
#define MSG_SIZE 8192

/* ============================================================ directories */

/*
 * The tcase's root (unchecked fixture: made and removed in the runner, so
 * it goes away even after a failure), and one fresh directory per test
 * under it (checked fixture):
 *   base/pipes    pipe_dir
 *   base/state    state_dir
 *   base/config   config_dir, empty: no inputdataconfig.json
 */
static char root[PATH_SIZE];
static char base[PATH_SIZE];
static char pipe_dir[PATH_SIZE];
static char state_dir[PATH_SIZE];
static char config_dir[PATH_SIZE];

static void
join(char *buf, size_t size, const char *dir, const char *rel)
{
	int n = snprintf(buf, size, "%s/%s", dir, rel);

	ck_assert_msg(n > 0 && (size_t)n < size, "path too long: %s/%s", dir,
		      rel);
}

/* mkdir -p */
static void
mkdirs(const char *path)
{
	char tmp[PATH_SIZE];
	size_t n = strlen(path);

	ck_assert_uint_lt(n, sizeof(tmp));
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		ck_assert_msg(mkdir(tmp, 0700) == 0 || errno == EEXIST,
			      "mkdir %s: %s", tmp, strerror(errno));
		*p = '/';
	}
	ck_assert_msg(mkdir(tmp, 0700) == 0 || errno == EEXIST, "mkdir %s: %s",
		      tmp, strerror(errno));
}

static void
mkparent(const char *path)
{
	char tmp[PATH_SIZE];
	char *slash;

	ck_assert_uint_lt(strlen(path), sizeof(tmp));
	strcpy(tmp, path);
	slash = strrchr(tmp, '/');
	ck_assert_ptr_nonnull(slash);
	*slash = '\0';
	mkdirs(tmp);
}

static void
root_setup(void)
{
	const char *tmp = getenv("TMPDIR");

	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(root, sizeof(root), "%s/pipemode-chan-XXXXXX", tmp);
	if (mkdtemp(root) == NULL) {
		perror(root);
		abort();
	}
}

static void
root_teardown(void)
{
	if (root[0] != '\0')
		tu_rm_tree(root);
	root[0] = '\0';
}

static void
test_setup(void)
{
	join(base, sizeof(base), root, "t-XXXXXX");
	ck_assert_msg(mkdtemp(base) != NULL, "mkdtemp %s: %s", base,
		      strerror(errno));
	join(pipe_dir, sizeof(pipe_dir), base, "pipes");
	join(state_dir, sizeof(state_dir), base, "state");
	join(config_dir, sizeof(config_dir), base, "config");
	mkdirs(pipe_dir);
	mkdirs(state_dir);
	mkdirs(config_dir);
}

/* =============================================================== options */

/* Append ",key=value" with ',' and '\' in value escaped. */
static void
opt_add(char *buf, size_t size, const char *key, const char *value)
{
	size_t n = strlen(buf);

	if (n > 0) {
		ck_assert_uint_lt(n + 1, size);
		buf[n++] = ',';
	}
	for (const char *p = key; *p != '\0'; p++) {
		ck_assert_uint_lt(n + 1, size);
		buf[n++] = *p;
	}
	ck_assert_uint_lt(n + 1, size);
	buf[n++] = '=';
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == ',' || *p == '\\') {
			ck_assert_uint_lt(n + 1, size);
			buf[n++] = '\\';
		}
		ck_assert_uint_lt(n + 1, size);
		buf[n++] = *p;
	}
	buf[n] = '\0';
}

/* "pipe_dir=...,state_dir=...,config_dir=..." then extra (verbatim) when
 * not NULL.  The buffer is static: use it before the next call. */
static const char *
chan_opts(const char *extra)
{
	static char buf[OPTS_SIZE];

	buf[0] = '\0';
	opt_add(buf, sizeof(buf), "pipe_dir", pipe_dir);
	opt_add(buf, sizeof(buf), "state_dir", state_dir);
	opt_add(buf, sizeof(buf), "config_dir", config_dir);
	if (extra != NULL && *extra != '\0') {
		ck_assert_uint_lt(strlen(buf) + 1 + strlen(extra), sizeof(buf));
		strcat(buf, ",");
		strcat(buf, extra);
	}
	return buf;
}

/* ================================================================= files */

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A TFRecord file (or FIFO content) of the given string records. */
static void
build_strings(tu_stream *s, const char *const *recs, size_t n)
{
	tu_stream_init(s);
	for (size_t i = 0; i < n; i++)
		tu_stream_add(s, recs[i], strlen(recs[i]), 0);
}

static void
write_records(const char *path, const char *const *recs, size_t n)
{
	tu_stream s;

	build_strings(&s, recs, n);
	mkparent(path);
	tu_write_file(path, s.p, s.len);
	tu_stream_free(&s);
}

/* <pipe_dir>/<ch>_<e> as a regular file holding one record, payload. */
static void
write_epoch_file(const char *ch, unsigned e, const char *payload)
{
	char path[PATH_SIZE], rel[512];

	snprintf(rel, sizeof(rel), "%s_%u", ch, e);
	join(path, sizeof(path), pipe_dir, rel);
	write_records(path, &payload, 1);
}

static void
epoch_path(char *buf, size_t size, const char *ch, unsigned e)
{
	char rel[512];

	snprintf(rel, sizeof(rel), "%s_%u", ch, e);
	join(buf, size, pipe_dir, rel);
}

static void
state_path(char *buf, size_t size, const char *dir, const char *ch)
{
	char rel[512];

	snprintf(rel, sizeof(rel), ".%s-pipe_mode-state", ch);
	join(buf, size, dir, rel);
}

static void
lock_path(char *buf, size_t size, const char *dir, const char *ch)
{
	char rel[512];

	snprintf(rel, sizeof(rel), ".%s-pipe_mode-lock", ch);
	join(buf, size, dir, rel);
}

static void
write_text(const char *path, const char *text)
{
	mkparent(path);
	tu_write_file(path, text, strlen(text));
}

/* The file's bytes as a string (NUL-terminated; binary-safe enough for
 * the short texts compared here); 0 if it is missing. */
static int
read_text(const char *path, char *buf, size_t size)
{
	struct stat st;
	unsigned char *p;
	size_t len;

	if (lstat(path, &st) != 0) {
		ck_assert_msg(errno == ENOENT, "lstat %s: %s", path,
			      strerror(errno));
		return 0;
	}
	p = tu_read_file(path, &len);
	ck_assert_msg(len < size, "%s: %zu bytes", path, len);
	memcpy(buf, p, len);
	buf[len] = '\0';
	free(p);
	return 1;
}

/* The channel's counter holds want (written as ASCII decimal, as
 * PipeModeDataset writes it; a final newline is tolerated). */
static void
expect_state(const char *dir, const char *ch, const char *want)
{
	char path[PATH_SIZE], got[256];
	size_t n;

	state_path(path, sizeof(path), dir, ch);
	ck_assert_msg(read_text(path, got, sizeof(got)), "%s is missing",
		      path);
	n = strlen(got);
	if (n > 0 && got[n - 1] == '\n')
		got[n - 1] = '\0';
	ck_assert_msg(strcmp(got, want) == 0, "%s holds \"%s\", expected \"%s\"",
		      path, got, want);
}

static void
write_config(const char *json)
{
	char path[PATH_SIZE];

	join(path, sizeof(path), config_dir, "inputdataconfig.json");
	write_text(path, json);
}

/* ============================================================== reading */

/* Does the message name s in quotes (either kind)? */
static int
names_quoted(const char *msg, const char *s)
{
	char a[512], b[512];

	snprintf(a, sizeof(a), "'%s'", s);
	snprintf(b, sizeof(b), "\"%s\"", s);
	return strstr(msg, a) != NULL || strstr(msg, b) != NULL;
}

static void
get_stats(pipemode_reader *r, pipemode_stats *st)
{
	memset(st, 0xa5, sizeof(*st)); /* every field must be written */
	st->size = sizeof(*st);
	ck_assert_int_eq(pipemode_get_stats(r, st), PIPEMODE_OK);
}

/* pipemode_open(ch, options) must succeed; read everything (to EOF),
 * take the stats, close. */
static void
read_channel(const char *ch, const char *options, tu_result *res,
	     pipemode_stats *st)
{
	pipemode_reader *r = NULL;
	int rc = pipemode_open(&r, ch, options);

	ck_assert_msg(rc == PIPEMODE_OK, "pipemode_open(\"%s\", \"%s\"): %s: %s",
		      ch, options, pipemode_code_name(rc), pipemode_errmsg(r));
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(pipemode_errmsg(r), "");
	tu_read_all(r, res);
	ck_assert_msg(res->rc == PIPEMODE_EOF, "channel %s: %s after %zu "
		      "records: %s", ch, pipemode_code_name(res->rc), res->n,
		      res->errmsg);
	get_stats(r, st);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
}

/*
 * pipemode_open(ch, options) must fail with rc: the handle is set, says
 * why (copied to msg), can only be closed.  Returns the time the call
 * took.
 */
static double
open_fails(const char *ch, const char *options, int rc, char *msg,
	   size_t msgsize)
{
	pipemode_reader *r = NULL;
	const void *data = "x";
	size_t len = 1;
	double t0 = now_s(), dt;
	int got = pipemode_open(&r, ch, options), next, closed;
	int have = r != NULL;

	dt = now_s() - t0;
	snprintf(msg, msgsize, "%s", pipemode_errmsg(r));
	next = r != NULL ? pipemode_next(r, &data, &len) : PIPEMODE_ESTATE;
	closed = pipemode_close(r); /* before any assertion: no leak */
	ck_assert_msg(got == rc, "pipemode_open(\"%s\", \"%s\"): %s (%s), "
		      "expected %s", ch, options, pipemode_code_name(got), msg,
		      pipemode_code_name(rc));
	ck_assert_msg(have, "no handle");
	ck_assert_msg(msg[0] != '\0', "no message for %s",
		      pipemode_code_name(rc));
	ck_assert_int_eq(next, PIPEMODE_ESTATE);
	ck_assert_ptr_null(data);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(closed, PIPEMODE_OK);
	return dt;
}

/* The records of res are exactly want[0..n). */
static void
expect_strings(const tu_result *res, const char *const *want, size_t n)
{
	for (size_t i = 0; i < n && i < res->n; i++) {
		size_t wl = strlen(want[i]);

		ck_assert_msg(res->v[i].len == wl &&
				      memcmp(res->v[i].data, want[i], wl) == 0,
			      "record %zu is \"%.*s\", expected \"%s\"", i,
			      (int)res->v[i].len, (const char *)res->v[i].data,
			      want[i]);
	}
	ck_assert_msg(res->n == n, "%zu records, expected %zu", res->n, n);
}

/* The records of res from *pos on are those of s (one file of a File mode
 * pass): payloads, and indexes and offsets within that file. */
static void
expect_file_records(const tu_result *res, size_t *pos, const tu_stream *s,
		    const char *file)
{
	for (size_t i = 0; i < s->nrec; i++) {
		const tu_got *g;

		ck_assert_msg(*pos < res->n, "%s: record %zu missing (%zu read)",
			      file, i, res->n);
		g = &res->v[*pos];
		ck_assert_msg(g->len == s->rec[i].len &&
				      memcmp(g->data, tu_stream_payload(s, i),
					     g->len) == 0,
			      "%s record %zu: \"%.*s\"", file, i, (int)g->len,
			      (const char *)g->data);
		ck_assert_msg(g->index == i,
			      "%s record %zu: index %llu (not within the file)",
			      file, i, (unsigned long long)g->index);
		ck_assert_msg(g->offset == s->rec[i].offset,
			      "%s record %zu: offset %llu, expected %llu", file,
			      i, (unsigned long long)g->offset,
			      (unsigned long long)s->rec[i].offset);
		(*pos)++;
	}
}

/* ============================================================== children */

static void
reap(pid_t pid)
{
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "child: %s %d",
		      WIFEXITED(status) ? "exit" : "signal",
		      WIFEXITED(status) ? WEXITSTATUS(status) :
					  WTERMSIG(status));
}

/* In a child: wait until path exists (the reader made its lock file, so it
 * is inside pipemode_open).  Polls a condition, bounded; 0 or -1. */
static int
child_wait_for(const char *path, double limit_s)
{
	struct timespec ms = {0, 1000000};
	struct stat st;
	double t0 = now_s();

	while (lstat(path, &st) != 0) {
		if (now_s() - t0 > limit_s)
			return -1;
		nanosleep(&ms, NULL);
	}
	return 0;
}

/* What the feeder writes for epoch e of channel ch: 2 + e records. */
static void
build_epoch(tu_stream *s, const char *ch, unsigned e)
{
	char rec[128];

	tu_stream_init(s);
	for (unsigned k = 0; k < 2 + e; k++) {
		snprintf(rec, sizeof(rec), "%s epoch %u record %u", ch, e, k);
		tu_stream_add(s, rec, strlen(rec), 0);
	}
}

static void
expect_epoch(const tu_result *res, const char *ch, unsigned e)
{
	tu_stream s;

	build_epoch(&s, ch, e);
	tu_check_records(res, &s, s.nrec, 0);
	tu_stream_free(&s);
}

static const size_t odd_pieces[] = {1, 7, 13, 4093, 3, 0};

/*
 * A feeder, as SageMaker's agent is: for each epoch e of first..first+n-1
 * in turn, create the FIFO <pipe_dir>/<ch>_<e> (only once the previous
 * epoch is written and closed, so the reader usually opens before it
 * exists), open it for writing, write the epoch's stream, close.
 */
static pid_t
spawn_feeder(const char *ch, unsigned first, unsigned n)
{
	char path[PATH_SIZE + 64];
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid != 0)
		return pid;
	alarm(CHILD_ALARM);
	for (unsigned e = first; e < first + n; e++) {
		tu_stream s;
		int fd, k;

		k = snprintf(path, sizeof(path), "%s/%s_%u", pipe_dir, ch, e);
		if (k < 0 || (size_t)k >= sizeof(path))
			_exit(6);
		if (mkfifo(path, 0600) != 0)
			_exit(2);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			_exit(3);
		build_epoch(&s, ch, e);
		if (tu_write_pieces(fd, s.p, s.len, odd_pieces) != 0)
			_exit(4);
		if (close(fd) != 0)
			_exit(5);
		tu_stream_free(&s);
	}
	_exit(0);
}

/* ============================================================ FIFO epochs */

#define EPOCHS 4

START_TEST(test_each_open_reads_the_next_epoch_through_fifos)
{
	pid_t pid = spawn_feeder("train", 0, EPOCHS);
	tu_result res;
	pipemode_stats st;

	for (unsigned e = 0; e < EPOCHS; e++) {
		read_channel("train", chan_opts("open_timeout=30"), &res, &st);
		expect_epoch(&res, "train", e);
		ck_assert_int_eq(st.epoch, (int64_t)e);
		ck_assert_uint_eq(st.records, res.n);
		tu_result_free(&res);
	}
	reap(pid);
	expect_state(state_dir, "train", "4");
}
END_TEST

START_TEST(test_two_channels_keep_separate_counters)
{
	static const struct {
		const char *ch;
		unsigned epoch;
	} order[] = {{"eval", 1}, {"train", 1}, {"train", 2}, {"eval", 2}};
	pid_t ptrain = spawn_feeder("train", 0, 3);
	pid_t peval = spawn_feeder("eval", 0, 3);
	pipemode_reader *rt = NULL, *re = NULL;
	tu_result res;
	pipemode_stats st;
	int rc;

	/* epoch 0 of both, open at the same time, read eval first */
	rc = pipemode_open(&rt, "train", chan_opts("open_timeout=30"));
	ck_assert_msg(rc == PIPEMODE_OK, "%s", pipemode_errmsg(rt));
	rc = pipemode_open(&re, "eval", chan_opts("open_timeout=30"));
	ck_assert_msg(rc == PIPEMODE_OK, "%s", pipemode_errmsg(re));
	ck_assert_int_eq(tu_read_all(re, &res), PIPEMODE_EOF);
	expect_epoch(&res, "eval", 0);
	tu_result_free(&res);
	ck_assert_int_eq(tu_read_all(rt, &res), PIPEMODE_EOF);
	expect_epoch(&res, "train", 0);
	tu_result_free(&res);
	get_stats(rt, &st);
	ck_assert_int_eq(st.epoch, 0);
	get_stats(re, &st);
	ck_assert_int_eq(st.epoch, 0);
	ck_assert_int_eq(pipemode_close(rt), PIPEMODE_OK);
	ck_assert_int_eq(pipemode_close(re), PIPEMODE_OK);

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		read_channel(order[i].ch, chan_opts("open_timeout=30"), &res,
			     &st);
		expect_epoch(&res, order[i].ch, order[i].epoch);
		ck_assert_int_eq(st.epoch, (int64_t)order[i].epoch);
		tu_result_free(&res);
	}
	reap(ptrain);
	reap(peval);
	expect_state(state_dir, "train", "3");
	expect_state(state_dir, "eval", "3");
}
END_TEST

/* The FIFO does not exist when pipemode_open starts: the feeder creates it
 * only once the reader's lock file shows the reader is inside the call. */
START_TEST(test_fifo_created_after_open_started_is_waited_for)
{
	char lock[PATH_SIZE], fifo[PATH_SIZE];
	tu_result res;
	pipemode_stats st;
	pid_t pid;

	lock_path(lock, sizeof(lock), state_dir, "train");
	epoch_path(fifo, sizeof(fifo), "train", 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		tu_stream s;
		int fd;

		alarm(CHILD_ALARM);
		if (child_wait_for(lock, 10) != 0)
			_exit(20); /* no lock file: see the report */
		if (mkfifo(fifo, 0600) != 0)
			_exit(21);
		fd = open(fifo, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			_exit(22);
		build_epoch(&s, "train", 0);
		if (tu_write_pieces(fd, s.p, s.len, odd_pieces) != 0)
			_exit(23);
		_exit(close(fd) == 0 ? 0 : 24);
	}
	read_channel("train", chan_opts("open_timeout=20"), &res, &st);
	reap(pid);
	expect_epoch(&res, "train", 0);
	ck_assert_int_eq(st.epoch, 0);
	ck_assert_uint_gt(st.open_wait_ns, 0);
	tu_result_free(&res);
}
END_TEST

/* The FIFO exists but its writer comes only once the reader is inside
 * pipemode_open: every record arrives, never a clean empty stream. */
START_TEST(test_late_writer_is_waited_for)
{
	char lock[PATH_SIZE], fifo[PATH_SIZE];
	tu_result res;
	pipemode_stats st;
	double t0, dt;
	pid_t pid;

	lock_path(lock, sizeof(lock), state_dir, "train");
	epoch_path(fifo, sizeof(fifo), "train", 0);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		tu_stream s;
		int fd;

		alarm(CHILD_ALARM);
		if (child_wait_for(lock, 10) != 0)
			_exit(20);
		fd = open(fifo, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			_exit(22);
		build_epoch(&s, "train", 0);
		if (tu_write_pieces(fd, s.p, s.len, odd_pieces) != 0)
			_exit(23);
		_exit(close(fd) == 0 ? 0 : 24);
	}
	t0 = now_s();
	read_channel("train", chan_opts("open_timeout=20"), &res, &st);
	dt = now_s() - t0;
	reap(pid);
	expect_epoch(&res, "train", 0);
	ck_assert_uint_gt(st.open_wait_ns, 0);
	ck_assert_msg(st.open_wait_ns <= (uint64_t)(dt * 1e9) + 1000000,
		      "open_wait_ns %llu > the %.3f s the whole read took",
		      (unsigned long long)st.open_wait_ns, dt);
	tu_result_free(&res);
}
END_TEST

/* In a child: wait until process pid is asleep (state S in /proc/pid/stat),
 * bounded.  0, or -1 after limit_s; 0 at once without /proc (the test is
 * then less sharp, never wrong). */
static int
child_wait_asleep(pid_t pid, double limit_s)
{
	struct timespec ms = {0, 1000000};
	char path[64], buf[512];
	double t0 = now_s();

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	for (;;) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n;
		char *paren;

		if (fd < 0)
			return 0;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			return 0;
		buf[n] = '\0';
		paren = strrchr(buf, ')');
		if (paren == NULL || paren[1] == '\0')
			return 0;
		if (paren[2] == 'S')
			return 0;
		if (now_s() - t0 > limit_s)
			return -1;
		nanosleep(&ms, NULL);
	}
}

/*
 * A writer that connects but sends nothing yet must be waited for, never
 * read as a clean empty stream.  The child connects as soon as the reader
 * has the FIFO open (a non-blocking open for writing succeeds only then),
 * waits until the reader is asleep waiting, and only then sends.
 */
START_TEST(test_writer_that_sends_late_is_waited_for)
{
	char fifo[PATH_SIZE];
	tu_result res;
	pipemode_stats st;
	pid_t pid, parent = getpid();

	epoch_path(fifo, sizeof(fifo), "train", 0);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct timespec ms = {0, 1000000};
		double t0 = now_s();
		tu_stream s;
		int wfd;

		alarm(CHILD_ALARM);
		while ((wfd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) <
		       0) {
			if (errno != ENXIO && errno != EINTR)
				_exit(21);
			if (now_s() - t0 > 10)
				_exit(20); /* the reader never opened it */
			nanosleep(&ms, NULL);
		}
		if (fcntl(wfd, F_SETFL, fcntl(wfd, F_GETFL) & ~O_NONBLOCK) != 0)
			_exit(25);
		if (child_wait_asleep(parent, 10) != 0)
			_exit(26);
		build_epoch(&s, "train", 3);
		if (tu_write_pieces(wfd, s.p, s.len, odd_pieces) != 0)
			_exit(23);
		_exit(close(wfd) == 0 ? 0 : 24);
	}
	read_channel("train", chan_opts("open_timeout=20"), &res, &st);
	reap(pid);
	expect_epoch(&res, "train", 3);
	ck_assert_int_eq(st.epoch, 0);
	ck_assert_uint_gt(st.open_wait_ns, 0);
	tu_result_free(&res);
}
END_TEST

/* ============================================================== counter */

#define PROCS 4
#define OPENS_EACH 25

/* In a child: OPENS_EACH opens of "shared", each one record "N" that must
 * agree with stats.epoch; each epoch goes to fd as an int. */
static int
shared_child(int fd, const char *options)
{
	for (int i = 0; i < OPENS_EACH; i++) {
		pipemode_reader *r = NULL;
		pipemode_stats st;
		const void *data;
		size_t len;
		char buf[32];
		int n;

		if (pipemode_open(&r, "shared", options) != PIPEMODE_OK) {
			fprintf(stderr, "child: %s\n", pipemode_errmsg(r));
			return 30;
		}
		if (pipemode_next(r, &data, &len) != PIPEMODE_OK ||
		    len == 0 || len >= sizeof(buf))
			return 31;
		memcpy(buf, data, len);
		buf[len] = '\0';
		n = atoi(buf);
		memset(&st, 0, sizeof(st));
		st.size = sizeof(st);
		if (pipemode_get_stats(r, &st) != PIPEMODE_OK ||
		    st.epoch != n)
			return 32;
		if (pipemode_next(r, &data, &len) != PIPEMODE_EOF)
			return 33;
		if (pipemode_close(r) != PIPEMODE_OK)
			return 34;
		if (write(fd, &n, sizeof(n)) != (ssize_t)sizeof(n))
			return 35;
	}
	return 0;
}

START_TEST(test_processes_share_the_counter_without_duplicates)
{
	int seen[PROCS * OPENS_EACH] = {0};
	pid_t pids[PROCS];
	int p[2], n, count = 0;
	char rec[16];
	ssize_t got;

	for (unsigned e = 0; e < PROCS * OPENS_EACH; e++) {
		snprintf(rec, sizeof(rec), "%u", e);
		write_epoch_file("shared", e, rec);
	}
	ck_assert_int_eq(pipe(p), 0);
	for (int i = 0; i < PROCS; i++) {
		pids[i] = fork();
		ck_assert_int_ge(pids[i], 0);
		if (pids[i] == 0) {
			alarm(CHILD_ALARM);
			close(p[0]);
			_exit(shared_child(p[1], chan_opts("open_timeout=5")));
		}
	}
	ck_assert_int_eq(close(p[1]), 0);
	/* ints are written whole (less than PIPE_BUF) */
	while ((got = read(p[0], &n, sizeof(n))) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		ck_assert_int_eq(got, sizeof(n));
		ck_assert_msg(n >= 0 && n < PROCS * OPENS_EACH,
			      "epoch %d out of range", n);
		ck_assert_msg(seen[n] == 0, "epoch %d read twice", n);
		seen[n] = 1;
		count++;
	}
	close(p[0]);
	for (int i = 0; i < PROCS; i++)
		reap(pids[i]);
	ck_assert_int_eq(count, PROCS * OPENS_EACH);
	expect_state(state_dir, "shared", "100");
}
END_TEST

START_TEST(test_state_file_left_at_n_opens_epoch_n)
{
	char path[PATH_SIZE];
	static const char *const want[] = {"seven"};
	tu_result res;
	pipemode_stats st;

	write_epoch_file("train", 0, "zero");
	write_epoch_file("train", 7, "seven");
	state_path(path, sizeof(path), state_dir, "train");
	write_text(path, "7");
	read_channel("train", chan_opts("open_timeout=1"), &res, &st);
	expect_strings(&res, want, 1);
	ck_assert_int_eq(st.epoch, 7);
	expect_state(state_dir, "train", "8");
	tu_result_free(&res);
}
END_TEST

/* epoch=N reads _N and leaves the counter alone: unchanged when present,
 * still missing when missing. */
START_TEST(test_epoch_option_leaves_the_counter_alone)
{
	char path[PATH_SIZE], text[64];
	static const char *const want[] = {"five"};
	tu_result res;
	pipemode_stats st;

	write_epoch_file("train", 0, "zero");
	write_epoch_file("train", 2, "two");
	write_epoch_file("train", 5, "five");
	state_path(path, sizeof(path), state_dir, "train");

	read_channel("train", chan_opts("epoch=5,open_timeout=1"), &res, &st);
	expect_strings(&res, want, 1);
	ck_assert_int_eq(st.epoch, 5);
	tu_result_free(&res);
	ck_assert_msg(!read_text(path, text, sizeof(text)),
		      "epoch=5 created the state file (\"%s\")", text);

	write_text(path, "2");
	read_channel("train", chan_opts("epoch=5,open_timeout=1"), &res, &st);
	expect_strings(&res, want, 1);
	ck_assert_int_eq(st.epoch, 5);
	tu_result_free(&res);
	ck_assert(read_text(path, text, sizeof(text)));
	ck_assert_str_eq(text, "2");
}
END_TEST

/* The counter the library writes must be one it reads back, also where
 * the number of digits grows past 18. */
START_TEST(test_counter_reads_back_what_it_wrote)
{
	static const char *const big[] = {"999999999999999999",
					  "1000000000000000000"};
	char path[PATH_SIZE], rel[64];
	tu_result res;
	pipemode_stats st;

	for (int i = 0; i < 2; i++) {
		snprintf(rel, sizeof(rel), "train_%s", big[i]);
		join(path, sizeof(path), pipe_dir, rel);
		write_records(path, &big[i], 1);
	}
	state_path(path, sizeof(path), state_dir, "train");
	write_text(path, big[0]);
	for (int i = 0; i < 2; i++) {
		read_channel("train", chan_opts("open_timeout=1"), &res, &st);
		expect_strings(&res, &big[i], 1);
		ck_assert_int_eq(st.epoch, 999999999999999999LL + i);
		tu_result_free(&res);
	}
	expect_state(state_dir, "train", "1000000000000000001");
}
END_TEST

START_TEST(test_reader_off_channel_reports_epoch_minus_one)
{
	char path[PATH_SIZE];
	static const char *const recs[] = {"a"};
	pipemode_reader *r = NULL;
	pipemode_stats st;

	join(path, sizeof(path), base, "plain.tfrecord");
	write_records(path, recs, 1);
	ck_assert_int_eq(pipemode_open_path(&r, path, NULL), PIPEMODE_OK);
	get_stats(r, &st);
	ck_assert_int_eq(st.epoch, -1);
	ck_assert_uint_eq(st.open_wait_ns, 0);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
}
END_TEST

START_TEST(test_missing_state_dir_is_created)
{
	char nested[PATH_SIZE], opts[OPTS_SIZE];
	struct stat st_dir;
	tu_result res;
	pipemode_stats st;

	join(nested, sizeof(nested), base, "deep/er/state");
	write_epoch_file("train", 0, "zero");
	opts[0] = '\0';
	opt_add(opts, sizeof(opts), "pipe_dir", pipe_dir);
	opt_add(opts, sizeof(opts), "state_dir", nested);
	opt_add(opts, sizeof(opts), "config_dir", config_dir);
	opt_add(opts, sizeof(opts), "open_timeout", "1");
	read_channel("train", opts, &res, &st);
	tu_result_free(&res);
	ck_assert_int_eq(stat(nested, &st_dir), 0);
	ck_assert(S_ISDIR(st_dir.st_mode));
	ck_assert_msg((st_dir.st_mode & 0002) == 0,
		      "state dir is world-writable: %o",
		      (unsigned)st_dir.st_mode & 07777);
	expect_state(nested, "train", "1");
}
END_TEST

/* Created 0644 less the umask: with umask 0, exactly 0644. */
START_TEST(test_state_and_lock_files_are_not_world_writable)
{
	char sp[PATH_SIZE], lp[PATH_SIZE];
	struct stat ss, ls;
	tu_result res;
	pipemode_stats st;
	mode_t old = umask(0);

	write_epoch_file("train", 0, "zero");
	read_channel("train", chan_opts("open_timeout=1"), &res, &st);
	umask(old);
	tu_result_free(&res);
	state_path(sp, sizeof(sp), state_dir, "train");
	lock_path(lp, sizeof(lp), state_dir, "train");
	ck_assert_int_eq(lstat(sp, &ss), 0);
	ck_assert_int_eq(lstat(lp, &ls), 0);
	ck_assert(S_ISREG(ss.st_mode));
	ck_assert(S_ISREG(ls.st_mode));
	ck_assert_msg((ss.st_mode & 0022) == 0, "state file mode %o",
		      (unsigned)ss.st_mode & 07777);
	ck_assert_msg((ls.st_mode & 0022) == 0, "lock file mode %o",
		      (unsigned)ls.st_mode & 07777);
	ck_assert_msg((ss.st_mode & 07777) == 0644,
		      "state file mode %o, documented 0644 less the umask",
		      (unsigned)ss.st_mode & 07777);
	ck_assert_msg((ls.st_mode & 07777) == 0644,
		      "lock file mode %o, documented 0644 less the umask",
		      (unsigned)ls.st_mode & 07777);
}
END_TEST

/* A symlink planted where the state or lock file goes is not followed:
 * the open fails, the target keeps its bytes (or is not created). */
static const struct {
	int lock;      /* plant at the lock file, else the state file */
	int dangling;  /* the target does not exist */
} planted[] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};

START_TEST(test_symlink_at_state_files_is_not_followed)
{
	char link[PATH_SIZE], target[PATH_SIZE], text[64], msg[MSG_SIZE];
	struct stat st;
	int rc;

	write_epoch_file("train", 0, "zero");
	write_epoch_file("train", 5, "five");
	join(target, sizeof(target), base, "target");
	if (!planted[_i].dangling)
		write_text(target, "5");
	if (planted[_i].lock)
		lock_path(link, sizeof(link), state_dir, "train");
	else
		state_path(link, sizeof(link), state_dir, "train");
	ck_assert_int_eq(symlink(target, link), 0);
	{
		pipemode_reader *r = NULL;

		rc = pipemode_open(&r, "train", chan_opts("open_timeout=0.5"));
		snprintf(msg, sizeof(msg), "%s", pipemode_errmsg(r));
		pipemode_close(r);
	}
	ck_assert_msg(rc == PIPEMODE_EIO || rc == PIPEMODE_ECONFIG,
		      "%s link %s: %s (%s), expected EIO or ECONFIG",
		      planted[_i].lock ? "lock" : "state",
		      planted[_i].dangling ? "dangling" : "to a file",
		      pipemode_code_name(rc), msg);
	ck_assert_int_eq(lstat(link, &st), 0);
	ck_assert_msg(S_ISLNK(st.st_mode), "the symlink was replaced");
	if (planted[_i].dangling) {
		ck_assert_msg(lstat(target, &st) != 0 && errno == ENOENT,
			      "the symlink's target was created");
	} else {
		ck_assert(read_text(target, text, sizeof(text)));
		ck_assert_str_eq(text, "5");
	}
}
END_TEST

#define Z10 "0000000000"
static const char *const bad_states[] = {
	"abc", "", "12x", "-1", " ", "0x10", "1 2",
	"99999999999999999999999999", /* overflows any integer */
	"9223372036854775807",        /* INT64_MAX: no next epoch */
	/* longer than a small read buffer: the "x" is past it */
	Z10 Z10 Z10 Z10 Z10 Z10 Z10 "x",
};

START_TEST(test_bad_state_file_is_econfig_and_left_alone)
{
	char path[PATH_SIZE], text[256], msg[MSG_SIZE];

	write_epoch_file("train", 0, "zero");
	write_epoch_file("train", 1, "one");
	write_epoch_file("train", 12, "twelve");
	state_path(path, sizeof(path), state_dir, "train");
	write_text(path, bad_states[_i]);
	open_fails("train", chan_opts("open_timeout=0.5"), PIPEMODE_ECONFIG,
		   msg, sizeof(msg));
	ck_assert_msg(strstr(msg, ".train-pipe_mode-state") != NULL,
		      "the message does not name the state file: %s", msg);
	ck_assert(read_text(path, text, sizeof(text)));
	ck_assert_msg(strcmp(text, bad_states[_i]) == 0,
		      "state file \"%s\" became \"%s\"", bad_states[_i], text);
}
END_TEST

START_TEST(test_unwritable_state_dir_is_an_error)
{
	char msg[MSG_SIZE], sp[PATH_SIZE];
	struct stat st;

	if (geteuid() == 0)
		return; /* root writes anywhere: nothing to test */
	write_epoch_file("train", 0, "zero");
	ck_assert_int_eq(chmod(state_dir, 0500), 0);
	open_fails("train", chan_opts("open_timeout=0.5"), PIPEMODE_EIO, msg,
		   sizeof(msg));
	ck_assert_int_eq(chmod(state_dir, 0700), 0);
	ck_assert_msg(strstr(msg, state_dir) != NULL,
		      "the message does not say which file: %s", msg);
	state_path(sp, sizeof(sp), state_dir, "train");
	ck_assert(lstat(sp, &st) != 0);
}
END_TEST

/* ============================================================== timeouts */

START_TEST(test_missing_fifo_times_out)
{
	char fifo[PATH_SIZE], msg[MSG_SIZE];
	double dt;

	epoch_path(fifo, sizeof(fifo), "train", 0);
	dt = open_fails("train", chan_opts("open_timeout=0.3"),
			PIPEMODE_ETIMEDOUT, msg, sizeof(msg));
	ck_assert_msg(dt >= 0.25 && dt < 5, "gave up after %.3f s", dt);
	ck_assert_msg(strstr(msg, fifo) != NULL, "path %s not in \"%s\"", fifo,
		      msg);
}
END_TEST

START_TEST(test_fifo_without_writer_times_out)
{
	char fifo[PATH_SIZE], msg[MSG_SIZE];
	double dt;

	epoch_path(fifo, sizeof(fifo), "train", 0);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	dt = open_fails("train", chan_opts("open_timeout=0.3"),
			PIPEMODE_ETIMEDOUT, msg, sizeof(msg));
	ck_assert_msg(dt >= 0.25 && dt < 5, "gave up after %.3f s", dt);
	ck_assert_msg(strstr(msg, fifo) != NULL, "path %s not in \"%s\"", fifo,
		      msg);
}
END_TEST

/* A writer that opened the FIFO but never sends and never closes: the
 * reader must not block in read() for ever. */
START_TEST(test_silent_writer_times_out)
{
	char fifo[PATH_SIZE], msg[MSG_SIZE];
	double dt;
	int fd;

	epoch_path(fifo, sizeof(fifo), "train", 0);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	fd = open(fifo, O_RDWR | O_CLOEXEC); /* a writer that stays silent */
	ck_assert_int_ge(fd, 0);
	dt = open_fails("train", chan_opts("open_timeout=0.3"),
			PIPEMODE_ETIMEDOUT, msg, sizeof(msg));
	close(fd);
	ck_assert_msg(dt >= 0.25 && dt < 5, "gave up after %.3f s", dt);
	ck_assert_msg(strstr(msg, fifo) != NULL, "path %s not in \"%s\"", fifo,
		      msg);
}
END_TEST

START_TEST(test_open_timeout_zero_fails_at_once)
{
	char fifo[PATH_SIZE], msg[MSG_SIZE];
	static const char *const want[] = {"here"};
	tu_result res;
	pipemode_stats st;
	double dt;

	/* missing */
	epoch_path(fifo, sizeof(fifo), "train", 0);
	dt = open_fails("train", chan_opts("epoch=0,open_timeout=0"),
			PIPEMODE_ETIMEDOUT, msg, sizeof(msg));
	ck_assert_msg(dt < 1, "took %.3f s", dt);
	ck_assert_msg(strstr(msg, fifo) != NULL, "%s", msg);
	/* a FIFO with no writer */
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	dt = open_fails("train", chan_opts("epoch=0,open_timeout=0"),
			PIPEMODE_ETIMEDOUT, msg, sizeof(msg));
	ck_assert_msg(dt < 1, "took %.3f s", dt);
	ck_assert_msg(strstr(msg, fifo) != NULL, "%s", msg);
	/* a regular file needs no wait */
	write_epoch_file("other", 0, "here");
	read_channel("other", chan_opts("open_timeout=0"), &res, &st);
	expect_strings(&res, want, 1);
	tu_result_free(&res);
}
END_TEST

/* Bad channel option values fail before the counter is touched. */
static const char *const bad_channel_opts[] = {
	"open_timeout=abc", "open_timeout=-1", "open_timeout=",
	"open_timeout=1x",  "epoch=abc",       "epoch=-1",
	"epoch=",           "epoch=1.5",
	/* known only once the framer is: still before the counter */
	"strip_cr=1",       "nosuchkey=1",     "format=nosuch",
	"compression=bogus",
};

START_TEST(test_bad_channel_option_is_eoption)
{
	char msg[MSG_SIZE], sp[PATH_SIZE], key[32], text[64];
	const char *eq = strchr(bad_channel_opts[_i], '=');

	write_epoch_file("train", 0, "zero");
	write_epoch_file("train", 1, "one");
	snprintf(key, sizeof(key), "%.*s", (int)(eq - bad_channel_opts[_i]),
		 bad_channel_opts[_i]);
	open_fails("train", chan_opts(bad_channel_opts[_i]), PIPEMODE_EOPTION,
		   msg, sizeof(msg));
	ck_assert_msg(strstr(msg, key) != NULL, "\"%s\" does not name %s", msg,
		      key);
	state_path(sp, sizeof(sp), state_dir, "train");
	ck_assert_msg(!read_text(sp, text, sizeof(text)),
		      "a bad option advanced the counter to \"%s\"", text);
}
END_TEST

/* ================================================================= names */

#define NAME64 "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._"

static const char *const good_names[] = {"train", "a.b-c_d", NAME64, "..a",
					 "-", "_0"};

START_TEST(test_valid_channel_names_are_accepted)
{
	const char *ch = good_names[_i];
	const char *const want[] = {ch};
	tu_result res;
	pipemode_stats st;

	ck_assert_uint_le(strlen(ch), 64);
	write_epoch_file(ch, 0, ch);
	read_channel(ch, chan_opts("open_timeout=1"), &res, &st);
	expect_strings(&res, want, 1);
	expect_state(state_dir, ch, "1");
	tu_result_free(&res);
}
END_TEST

static const struct {
	const char *name;
	const char *shown; /* what the message must contain, quoted */
} bad_names[] = {
	{"", ""},
	{NAME64 "x", NAME64 "x"},
	{"a/b", "a/b"},
	{"../x", "../x"},
	{"/abs", "/abs"},
	{"a b", "a b"},
	{".", "."},
	{"..", ".."},
	{"tab\t", NULL},
	{"caf\xc3\xa9", NULL},
	{"new\nline", NULL},
	{"semi;colon", "semi;colon"},
};

static char **snap_v;
static size_t snap_n, snap_cap, snap_root;

static int
snap_cb(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	char line[PATH_SIZE + 64];

	(void)type;
	(void)ftw;
	snprintf(line, sizeof(line), "%s %o %lld", path + snap_root,
		 (unsigned)sb->st_mode,
		 S_ISREG(sb->st_mode) ? (long long)sb->st_size : 0LL);
	if (snap_n == snap_cap) {
		snap_cap = snap_cap ? 2 * snap_cap : 64;
		snap_v = realloc(snap_v, snap_cap * sizeof(*snap_v));
		if (snap_v == NULL)
			abort();
	}
	snap_v[snap_n] = strdup(line);
	if (snap_v[snap_n] == NULL)
		abort();
	snap_n++;
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every path under dir with its mode and size, sorted, one a line. */
static char *
tree_snapshot(const char *dir)
{
	size_t total = 1;
	char *out;

	snap_n = 0;
	snap_root = strlen(dir);
	ck_assert_int_eq(nftw(dir, snap_cb, 16, FTW_PHYS), 0);
	qsort(snap_v, snap_n, sizeof(*snap_v), cmp_str);
	for (size_t i = 0; i < snap_n; i++)
		total += strlen(snap_v[i]) + 1;
	out = malloc(total);
	ck_assert_ptr_nonnull(out);
	out[0] = '\0';
	for (size_t i = 0; i < snap_n; i++) {
		strcat(out, snap_v[i]);
		strcat(out, "\n");
		free(snap_v[i]);
	}
	return out;
}

/* Refused before anything is looked at: even with a file planted where a
 * naive join of pipe_dir and the name would find one, nothing anywhere
 * under the test directory changes. */
START_TEST(test_invalid_channel_names_are_einval)
{
	const char *ch = bad_names[_i].name;
	char plant[PATH_SIZE], rel[512], msg[MSG_SIZE];
	char *before, *after;

	snprintf(rel, sizeof(rel), "%s_0", ch);
	join(plant, sizeof(plant), pipe_dir, rel);
	write_text(plant, "planted"); /* not even TFRecord */
	before = tree_snapshot(base);
	open_fails(ch, chan_opts("open_timeout=0.2"), PIPEMODE_EINVAL, msg,
		   sizeof(msg));
	after = tree_snapshot(base);
	ck_assert_msg(strcmp(before, after) == 0,
		      "the filesystem changed:\nbefore:\n%s\nafter:\n%s",
		      before, after);
	if (bad_names[_i].shown != NULL)
		ck_assert_msg(names_quoted(msg, bad_names[_i].shown),
			      "\"%s\" does not quote the channel name", msg);
	else
		ck_assert_msg(tu_contains(msg, "channel"),
			      "\"%s\" does not say it is the channel", msg);
	free(before);
	free(after);
}
END_TEST

START_TEST(test_null_arguments_are_einval)
{
	pipemode_reader *r = NULL;

	ck_assert_int_eq(pipemode_open(NULL, "train", chan_opts(NULL)),
			 PIPEMODE_EINVAL);
	ck_assert_int_eq(pipemode_open(&r, NULL, chan_opts(NULL)),
			 PIPEMODE_EINVAL);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_ne(pipemode_errmsg(r), "");
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
}
END_TEST

/* =========================================================== environment */

static const char *const env_names[] = {"PIPEMODE_PIPE_DIR",
					"PIPEMODE_STATE_DIR",
					"PIPEMODE_CONFIG_DIR"};
#define NENV (sizeof(env_names) / sizeof(env_names[0]))
static char *env_saved[NENV];

static void
env_save(void)
{
	for (size_t i = 0; i < NENV; i++) {
		const char *v = getenv(env_names[i]);

		env_saved[i] = v != NULL ? strdup(v) : NULL;
	}
}

static void
env_restore(void)
{
	for (size_t i = 0; i < NENV; i++) {
		if (env_saved[i] != NULL) {
			setenv(env_names[i], env_saved[i], 1);
			free(env_saved[i]);
			env_saved[i] = NULL;
		} else {
			unsetenv(env_names[i]);
		}
	}
}

START_TEST(test_env_dirs_are_used_without_options)
{
	char envstate[PATH_SIZE], msg[MSG_SIZE];
	static const char *const want[] = {"from env"};
	tu_result res;
	pipemode_stats st;

	join(envstate, sizeof(envstate), base, "envstate/nested");
	write_epoch_file("train", 0, "from env");
	env_save();
	setenv("PIPEMODE_PIPE_DIR", pipe_dir, 1);
	setenv("PIPEMODE_STATE_DIR", envstate, 1);
	setenv("PIPEMODE_CONFIG_DIR", config_dir, 1);
	read_channel("train", "open_timeout=1", &res, &st);
	expect_strings(&res, want, 1);
	tu_result_free(&res);
	expect_state(envstate, "train", "1");

	/* the config directory comes from the environment too */
	write_config("{\"other\": {\"TrainingInputMode\": \"Pipe\"}}");
	open_fails("train", "open_timeout=1", PIPEMODE_ECONFIG, msg,
		   sizeof(msg));
	env_restore();
}
END_TEST

START_TEST(test_options_win_over_env)
{
	char envpipes[PATH_SIZE], envstate[PATH_SIZE], envconfig[PATH_SIZE];
	char path[PATH_SIZE], text[64];
	static const char *const want[] = {"from options"};
	tu_result res;
	pipemode_stats st;

	join(envpipes, sizeof(envpipes), base, "envpipes");
	join(envstate, sizeof(envstate), base, "envstate");
	join(envconfig, sizeof(envconfig), base, "envconfig");
	mkdirs(envstate);
	join(path, sizeof(path), envpipes, "train_0");
	write_records(path, (const char *const[]){"from env"}, 1);
	join(path, sizeof(path), envconfig, "inputdataconfig.json");
	write_text(path, "{\"other\": {\"TrainingInputMode\": \"Pipe\"}}");
	write_epoch_file("train", 0, "from options");

	env_save();
	setenv("PIPEMODE_PIPE_DIR", envpipes, 1);
	setenv("PIPEMODE_STATE_DIR", envstate, 1);
	setenv("PIPEMODE_CONFIG_DIR", envconfig, 1);
	read_channel("train", chan_opts("open_timeout=1"), &res, &st);
	env_restore();
	expect_strings(&res, want, 1);
	tu_result_free(&res);
	expect_state(state_dir, "train", "1");
	state_path(path, sizeof(path), envstate, "train");
	ck_assert_msg(!read_text(path, text, sizeof(text)),
		      "the env state dir was used");
}
END_TEST

/* With neither option nor variable, the pipe directory is SageMaker's. */
START_TEST(test_default_pipe_dir_is_sagemakers)
{
	char opts[OPTS_SIZE], msg[MSG_SIZE];
	const char *ch = "pipemode-test-no-such-channel";

	env_save();
	unsetenv("PIPEMODE_PIPE_DIR");
	opts[0] = '\0';
	opt_add(opts, sizeof(opts), "state_dir", state_dir);
	opt_add(opts, sizeof(opts), "config_dir", config_dir);
	opt_add(opts, sizeof(opts), "open_timeout", "0");
	open_fails(ch, opts, PIPEMODE_ETIMEDOUT, msg, sizeof(msg));
	env_restore();
	ck_assert_msg(strstr(msg, "/opt/ml/input/data/"
				  "pipemode-test-no-such-channel_0") != NULL,
		      "%s", msg);
}
END_TEST

/* ================================================================ config */

START_TEST(test_config_without_the_channel_is_econfig)
{
	char msg[MSG_SIZE];

	write_epoch_file("train", 0, "zero");
	write_config("{\"eval\": {\"TrainingInputMode\": \"Pipe\"}}");
	open_fails("train", chan_opts("open_timeout=1"), PIPEMODE_ECONFIG, msg,
		   sizeof(msg));
	ck_assert_msg(names_quoted(msg, "train"),
		      "\"%s\" does not name the channel", msg);
}
END_TEST

/* A realistic config with other channels, nested values and escapes. */
START_TEST(test_config_naming_the_channel_in_pipe_mode_is_read)
{
	static const char *const want[] = {"zero"};
	tu_result res;
	pipemode_stats st;

	write_epoch_file("train", 0, "zero");
	write_config(
		"{\n"
		"  \"eval\": {\"TrainingInputMode\": \"File\",\n"
		"           \"X\": [1, -2.5e3, true, false, null,\n"
		"                   {\"y\": \"a\\\"b\\\\c\\u00e9\"}]},\n"
		"  \"train\" : {\n"
		"    \"ContentType\": \"application/x-tfrecord\",\n"
		"    \"TrainingInputMode\": \"Pipe\",\n"
		"    \"S3DistributionType\": \"FullyReplicated\",\n"
		"    \"RecordWrapperType\": \"None\"\n"
		"  }\n"
		"}\n");
	read_channel("train", chan_opts("open_timeout=1"), &res, &st);
	expect_strings(&res, want, 1);
	ck_assert_int_eq(st.epoch, 0);
	tu_result_free(&res);
}
END_TEST

static const char *const input_modes[] = {"File", "FastFile"};

/* Files under <pipe_dir>/train/ in byte order of their paths, each framed
 * on its own; every pass advances the counter. */
START_TEST(test_file_mode_reads_files_recursively_sorted)
{
	static const char *const ra[] = {"a r0"};
	static const char *const rb1[] = {"b/1 r0", "b/1 r1", "b/1 r2"};
	static const char *const rb2[] = {"b/2 r0", "b/2 r1"};
	char json[256], path[PATH_SIZE];
	tu_stream sa, sb1, sb2;
	tu_result res;
	pipemode_stats st;

	build_strings(&sa, ra, 1);
	build_strings(&sb1, rb1, 3);
	build_strings(&sb2, rb2, 2);
	join(path, sizeof(path), pipe_dir, "train/b/2.tfrecord");
	write_records(path, rb2, 2);
	join(path, sizeof(path), pipe_dir, "train/a.tfrecord");
	write_records(path, ra, 1);
	join(path, sizeof(path), pipe_dir, "train/b/1.tfrecord");
	write_records(path, rb1, 3);
	snprintf(json, sizeof(json),
		 "{\"train\": {\"TrainingInputMode\": \"%s\", "
		 "\"RecordWrapperType\": \"None\"}}",
		 input_modes[_i]);
	write_config(json);

	for (int pass = 0; pass < 2; pass++) {
		size_t pos = 0;

		read_channel("train", chan_opts("open_timeout=1"), &res, &st);
		expect_file_records(&res, &pos, &sa, "a.tfrecord");
		expect_file_records(&res, &pos, &sb1, "b/1.tfrecord");
		expect_file_records(&res, &pos, &sb2, "b/2.tfrecord");
		ck_assert_uint_eq(res.n, pos);
		ck_assert_int_eq(st.epoch, pass);
		ck_assert_uint_eq(st.files, 3);
		ck_assert_uint_eq(st.records, 6);
		ck_assert_uint_eq(st.bytes_read, sa.len + sb1.len + sb2.len);
		tu_result_free(&res);
	}
	expect_state(state_dir, "train", "2");
	tu_stream_free(&sa);
	tu_stream_free(&sb1);
	tu_stream_free(&sb2);
}
END_TEST

/* No config, <pipe_dir>/<ch> a directory: File mode.  Byte order of the
 * whole paths: "b.x" comes before "b/1.x" ('.' < '/'), and "Z" before
 * "a". */
START_TEST(test_directory_without_config_is_file_mode_in_path_order)
{
	static const char *const names[] = {"b/1.x", "a.x", "b.x", "Z.x",
					    "b/c/0.x"};
	static const char *const want[] = {"Z.x", "a.x", "b.x", "b/1.x",
					   "b/c/0.x"};
	char path[PATH_SIZE], rel[64];
	tu_result res;
	pipemode_stats st;

	for (size_t i = 0; i < 5; i++) {
		snprintf(rel, sizeof(rel), "train/%s", names[i]);
		join(path, sizeof(path), pipe_dir, rel);
		write_records(path, &names[i], 1);
	}
	read_channel("train", chan_opts("open_timeout=1"), &res, &st);
	expect_strings(&res, want, 5);
	ck_assert_uint_eq(st.files, 5);
	ck_assert_int_eq(st.epoch, 0);
	tu_result_free(&res);
	expect_state(state_dir, "train", "1");
}
END_TEST

/* An empty channel directory is a pass with no records, still an epoch. */
START_TEST(test_file_mode_empty_directory_is_an_empty_pass)
{
	char path[PATH_SIZE];
	tu_result res;
	pipemode_stats st;

	join(path, sizeof(path), pipe_dir, "train/sub");
	mkdirs(path);
	read_channel("train", chan_opts("open_timeout=1"), &res, &st);
	ck_assert_uint_eq(res.n, 0);
	ck_assert_uint_eq(st.files, 0);
	ck_assert_int_eq(st.epoch, 0);
	tu_result_free(&res);
	expect_state(state_dir, "train", "1");
}
END_TEST

/* An error in the second file names that file, with the index and offset
 * within it. */
START_TEST(test_file_mode_error_names_the_file)
{
	static const char *const r1[] = {"one r0", "one r1"};
	tu_stream s1, s2;
	char path[PATH_SIZE];
	pipemode_reader *r = NULL;
	tu_result res;
	size_t pos = 0;
	int rc;

	build_strings(&s1, r1, 2);
	tu_stream_init(&s2);
	tu_stream_add(&s2, "two r0", 6, 0);
	tu_stream_add(&s2, "two r1", 6, TU_BAD_DATA_CRC);
	join(path, sizeof(path), pipe_dir, "train/1.tfrecord");
	write_records(path, r1, 2);
	join(path, sizeof(path), pipe_dir, "train/2.tfrecord");
	mkparent(path);
	tu_write_file(path, s2.p, s2.len);

	rc = pipemode_open(&r, "train", chan_opts("open_timeout=1"));
	ck_assert_msg(rc == PIPEMODE_OK, "%s", pipemode_errmsg(r));
	ck_assert_int_eq(tu_read_all(r, &res), PIPEMODE_ECRC);
	expect_file_records(&res, &pos, &s1, "1.tfrecord");
	ck_assert_uint_eq(res.n, 3);
	ck_assert_uint_eq(res.v[2].index, 0);
	ck_assert_uint_eq(res.v[2].offset, 0);
	ck_assert_uint_eq(res.index, 1);
	ck_assert_uint_eq(res.offset, s2.rec[1].offset);
	ck_assert_msg(strstr(res.errmsg, "2.tfrecord") != NULL,
		      "\"%s\" does not name the file", res.errmsg);
	ck_assert_msg(strstr(res.errmsg, "1.tfrecord") == NULL,
		      "\"%s\" names the previous file", res.errmsg);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	tu_result_free(&res);
	tu_stream_free(&s1);
	tu_stream_free(&s2);
}
END_TEST

/* Each file framed on its own: a last line without '\n' ends at the end
 * of its file. */
START_TEST(test_file_mode_lines_do_not_merge_across_files)
{
	static const char *const want[] = {"x", "y", "z"};
	char path[PATH_SIZE];
	tu_result res;
	pipemode_stats st;

	join(path, sizeof(path), pipe_dir, "train/1.txt");
	write_text(path, "x\ny");
	join(path, sizeof(path), pipe_dir, "train/2.txt");
	write_text(path, "z\n");
	write_config("{\"train\": {\"TrainingInputMode\": \"File\"}}");
	read_channel("train", chan_opts("format=lines,open_timeout=1"), &res,
		     &st);
	expect_strings(&res, want, 3);
	ck_assert_uint_eq(st.files, 2);
	tu_result_free(&res);
}
END_TEST

/* IEEE CRC-32, for the gzip trailer. */
static uint32_t
crc32_ieee(const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
	}
	return ~c;
}

/* A gzip member holding p[0..n) in one stored deflate block (n < 64K):
 * written from RFC 1951/1952, without zlib. */
static void
write_gzip(const char *path, const void *p, size_t n)
{
	unsigned char *out = malloc(10 + 5 + n + 8);
	static const unsigned char head[10] = {0x1f, 0x8b, 8, 0, 0,
					       0,    0,    0, 0, 0xff};
	size_t k = 0;

	ck_assert_ptr_nonnull(out);
	ck_assert_uint_lt(n, 65536);
	memcpy(out, head, 10);
	k = 10;
	out[k++] = 1; /* BFINAL, stored */
	out[k++] = (unsigned char)n;
	out[k++] = (unsigned char)(n >> 8);
	out[k++] = (unsigned char)~n;
	out[k++] = (unsigned char)(~n >> 8);
	memcpy(out + k, p, n);
	k += n;
	tu_put_le32(out + k, crc32_ieee(p, n));
	tu_put_le32(out + k + 4, (uint32_t)n);
	k += 8;
	mkparent(path);
	tu_write_file(path, out, k);
	free(out);
}

/* compression=auto looks at each file: gzip, plain, gzip. */
START_TEST(test_file_mode_detects_compression_per_file)
{
	static const char *const r1[] = {"gz one", "gz two"};
	static const char *const r2[] = {"plain"};
	static const char *const r3[] = {"gz three"};
	static const char *const want[] = {"gz one", "gz two", "plain",
					   "gz three"};
	char path[PATH_SIZE];
	tu_stream s;
	tu_result res;
	pipemode_stats st;

	build_strings(&s, r1, 2);
	join(path, sizeof(path), pipe_dir, "train/1.tfrecord.gz");
	write_gzip(path, s.p, s.len);
	tu_stream_free(&s);
	join(path, sizeof(path), pipe_dir, "train/2.tfrecord");
	write_records(path, r2, 1);
	build_strings(&s, r3, 1);
	join(path, sizeof(path), pipe_dir, "train/3.tfrecord.gz");
	write_gzip(path, s.p, s.len);
	tu_stream_free(&s);
	read_channel("train", chan_opts("compression=auto,open_timeout=1"),
		     &res, &st);
	expect_strings(&res, want, 4);
	ck_assert_uint_eq(st.files, 3);
	tu_result_free(&res);
}
END_TEST

static void
write_recordio_epoch(unsigned e, const char *const *recs, size_t n)
{
	char path[PATH_SIZE];
	tu_rio s;

	tu_rio_init(&s);
	for (size_t i = 0; i < n; i++)
		tu_rio_add(&s, recs[i], strlen(recs[i]));
	epoch_path(path, sizeof(path), "train", e);
	tu_write_file(path, s.p, s.len);
	tu_rio_free(&s);
}

START_TEST(test_recordio_wrapper_makes_recordio_the_default)
{
	/* lengths 5, 6, 7, 8: every padding */
	static const char *const recs[] = {"rio 0", "rio 01", "rio 012",
					   "rio 0123"};
	tu_result res;
	pipemode_stats st;

	write_recordio_epoch(0, recs, 4);
	write_config("{\"train\": {\"TrainingInputMode\": \"Pipe\", "
		     "\"RecordWrapperType\": \"RecordIO\"}}");
	read_channel("train", chan_opts("open_timeout=1"), &res, &st);
	expect_strings(&res, recs, 4);
	tu_result_free(&res);
}
END_TEST

START_TEST(test_explicit_format_wins_over_record_wrapper)
{
	static const char *const recs[] = {"tf 0", "tf 1"};
	char path[PATH_SIZE];
	tu_result res;
	pipemode_stats st;

	epoch_path(path, sizeof(path), "train", 0);
	write_records(path, recs, 2);
	write_config("{\"train\": {\"TrainingInputMode\": \"Pipe\", "
		     "\"RecordWrapperType\": \"RecordIO\"}}");
	read_channel("train", chan_opts("format=tfrecord,open_timeout=1"),
		     &res, &st);
	expect_strings(&res, recs, 2);
	tu_result_free(&res);
}
END_TEST

static const char *const bad_configs[] = {
	"{",
	"[]",
	"",
	"{\"train\": 5}",
	"{\"train\": \"File\"}",
	"{\"train\": [\"File\"]}",
	"{\"train\": {\"TrainingInputMode\": \"Pipe\"}} x",
	"{\"train\": {\"TrainingInputMode\": \"Pipe\"},}",
	"{\"train\": {\"TrainingInputMode\": \"Pipe\"}",
	"{\"train\": {\"TrainingInputMode\": \"Pi",
	"{'train': {}}",
	"null",
};

START_TEST(test_malformed_config_is_econfig_naming_it)
{
	char msg[MSG_SIZE], path[PATH_SIZE];
	struct stat st;

	write_epoch_file("train", 0, "zero");
	write_config(bad_configs[_i]);
	join(path, sizeof(path), config_dir, "inputdataconfig.json");
	open_fails("train", chan_opts("open_timeout=0.5"), PIPEMODE_ECONFIG,
		   msg, sizeof(msg));
	ck_assert_msg(strstr(msg, path) != NULL,
		      "\"%s\" does not name %s", msg, path);
	state_path(path, sizeof(path), state_dir, "train");
	ck_assert_msg(lstat(path, &st) != 0,
		      "a bad config advanced the counter");
}
END_TEST

/* A mode that is neither Pipe, File nor FastFile cannot choose. */
static const char *const bad_modes[] = {
	"{\"train\": {\"TrainingInputMode\": \"Bogus\"}}",
	"{\"train\": {\"TrainingInputMode\": 3}}",
};

START_TEST(test_unknown_input_mode_is_econfig)
{
	char msg[MSG_SIZE];

	write_epoch_file("train", 0, "zero");
	write_config(bad_modes[_i]);
	open_fails("train", chan_opts("open_timeout=0.5"), PIPEMODE_ECONFIG,
		   msg, sizeof(msg));
}
END_TEST

/* ====================================================== other open calls */

static const char *const channel_only[] = {
	"epoch=1", "pipe_dir=/tmp", "state_dir=/tmp", "config_dir=/tmp",
	"open_timeout=1",
};

START_TEST(test_channel_options_are_errors_elsewhere)
{
	static const char *const recs[] = {"a"};
	char path[PATH_SIZE], key[32];
	const char *eq = strchr(channel_only[_i], '=');
	pipemode_reader *r = NULL;
	int p[2];

	snprintf(key, sizeof(key), "%.*s", (int)(eq - channel_only[_i]),
		 channel_only[_i]);
	join(path, sizeof(path), base, "plain.tfrecord");
	write_records(path, recs, 1);
	ck_assert_int_eq(pipemode_open_path(&r, path, channel_only[_i]),
			 PIPEMODE_EOPTION);
	ck_assert_msg(strstr(pipemode_errmsg(r), key) != NULL, "%s",
		      pipemode_errmsg(r));
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);

	ck_assert_int_eq(pipe(p), 0);
	r = NULL;
	ck_assert_int_eq(pipemode_open_fd(&r, p[0], channel_only[_i]),
			 PIPEMODE_EOPTION);
	ck_assert_msg(strstr(pipemode_errmsg(r), key) != NULL, "%s",
		      pipemode_errmsg(r));
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* ================================================================= stats */

START_TEST(test_library_ns_is_measured_only_with_timing)
{
	char path[PATH_SIZE];
	tu_stream s;
	tu_result res;
	pipemode_stats st;

	tu_stream_init(&s);
	for (int i = 0; i < 5000; i++)
		tu_stream_add_random(&s, 64, (uint64_t)i, 0);
	epoch_path(path, sizeof(path), "train", 0);
	tu_write_file(path, s.p, s.len);
	epoch_path(path, sizeof(path), "train", 1);
	tu_write_file(path, s.p, s.len);

	read_channel("train", chan_opts("timing=1,open_timeout=1"), &res,
		     &st);
	ck_assert_uint_eq(res.n, s.nrec);
	ck_assert_uint_gt(st.library_ns, 0);
	ck_assert_int_eq(st.epoch, 0);
	tu_result_free(&res);

	read_channel("train", chan_opts("open_timeout=1"), &res, &st);
	ck_assert_uint_eq(res.n, s.nrec);
	ck_assert_uint_eq(st.library_ns, 0);
	ck_assert_int_eq(st.epoch, 1);
	tu_result_free(&res);
	tu_stream_free(&s);
}
END_TEST

/* ================================================================== main */

static TCase *
new_tcase(const char *name, int timeout)
{
	TCase *tc = tcase_create(name);

	tcase_set_timeout(tc, timeout);
	tcase_add_unchecked_fixture(tc, root_setup, root_teardown);
	tcase_add_checked_fixture(tc, test_setup, NULL);
	return tc;
}

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *
channel_suite(void)
{
	Suite *s = suite_create("channel");
	TCase *tc;

	tc = new_tcase("fifo", 60);
	tcase_add_test(tc, test_each_open_reads_the_next_epoch_through_fifos);
	tcase_add_test(tc, test_two_channels_keep_separate_counters);
	tcase_add_test(tc, test_fifo_created_after_open_started_is_waited_for);
	tcase_add_test(tc, test_late_writer_is_waited_for);
	tcase_add_test(tc, test_writer_that_sends_late_is_waited_for);
	suite_add_tcase(s, tc);

	tc = new_tcase("counter", 60);
	tcase_add_test(tc, test_processes_share_the_counter_without_duplicates);
	tcase_add_test(tc, test_state_file_left_at_n_opens_epoch_n);
	tcase_add_test(tc, test_epoch_option_leaves_the_counter_alone);
	tcase_add_test(tc, test_counter_reads_back_what_it_wrote);
	tcase_add_test(tc, test_reader_off_channel_reports_epoch_minus_one);
	tcase_add_test(tc, test_missing_state_dir_is_created);
	tcase_add_test(tc, test_state_and_lock_files_are_not_world_writable);
	tcase_add_loop_test(tc, test_symlink_at_state_files_is_not_followed, 0,
			    NELEM(planted));
	tcase_add_loop_test(tc, test_bad_state_file_is_econfig_and_left_alone,
			    0, NELEM(bad_states));
	tcase_add_test(tc, test_unwritable_state_dir_is_an_error);
	suite_add_tcase(s, tc);

	tc = new_tcase("timeout", 30);
	tcase_add_test(tc, test_missing_fifo_times_out);
	tcase_add_test(tc, test_fifo_without_writer_times_out);
	tcase_add_test(tc, test_silent_writer_times_out);
	tcase_add_test(tc, test_open_timeout_zero_fails_at_once);
	tcase_add_loop_test(tc, test_bad_channel_option_is_eoption, 0,
			    NELEM(bad_channel_opts));
	suite_add_tcase(s, tc);

	tc = new_tcase("names", 30);
	tcase_add_loop_test(tc, test_valid_channel_names_are_accepted, 0,
			    NELEM(good_names));
	tcase_add_loop_test(tc, test_invalid_channel_names_are_einval, 0,
			    NELEM(bad_names));
	tcase_add_test(tc, test_null_arguments_are_einval);
	suite_add_tcase(s, tc);

	tc = new_tcase("env", 30);
	tcase_add_test(tc, test_env_dirs_are_used_without_options);
	tcase_add_test(tc, test_options_win_over_env);
	tcase_add_test(tc, test_default_pipe_dir_is_sagemakers);
	suite_add_tcase(s, tc);

	tc = new_tcase("config", 30);
	tcase_add_test(tc, test_config_without_the_channel_is_econfig);
	tcase_add_test(tc, test_config_naming_the_channel_in_pipe_mode_is_read);
	tcase_add_loop_test(tc, test_file_mode_reads_files_recursively_sorted, 0,
			    NELEM(input_modes));
	tcase_add_test(tc,
		       test_directory_without_config_is_file_mode_in_path_order);
	tcase_add_test(tc, test_file_mode_empty_directory_is_an_empty_pass);
	tcase_add_test(tc, test_file_mode_error_names_the_file);
	tcase_add_test(tc, test_file_mode_lines_do_not_merge_across_files);
	tcase_add_test(tc, test_file_mode_detects_compression_per_file);
	tcase_add_test(tc, test_recordio_wrapper_makes_recordio_the_default);
	tcase_add_test(tc, test_explicit_format_wins_over_record_wrapper);
	tcase_add_loop_test(tc, test_malformed_config_is_econfig_naming_it, 0,
			    NELEM(bad_configs));
	tcase_add_loop_test(tc, test_unknown_input_mode_is_econfig, 0,
			    NELEM(bad_modes));
	suite_add_tcase(s, tc);

	tc = new_tcase("other", 30);
	tcase_add_loop_test(tc, test_channel_options_are_errors_elsewhere, 0,
			    NELEM(channel_only));
	tcase_add_test(tc, test_library_ns_is_measured_only_with_timing);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(channel_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
