/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fault injection, deterministic: what the reader (and writer) do when the
 * world misbehaves.
 *
 *  cut     A writer that dies after exactly K bytes of a known stream, for
 *          K at every record boundary +-1 and across the inside of records,
 *          for each format and for gzip: every whole record before the cut
 *          byte for byte, then PIPEMODE_ETRUNCATED (or a clean end exactly
 *          at a boundary; for lines a cut line is a record) with the right
 *          index and offset.
 *  eintr   Signals, with handlers installed without SA_RESTART, landing
 *          while the reader (or writer, or a channel open) sleeps in a
 *          system call: nothing changes.
 *  nomem   Every allocation of an open, a read and a close made to fail in
 *          turn (failmalloc.h): a clean error each time, and nothing leaks.
 *  state   A state directory that cannot be written (read-only, full) and
 *          state files that are not numbers: clear errors, the counter
 *          unchanged, no descriptor left behind.
 *  flip    Random bytes of a stream flipped: nothing damaged is ever handed
 *          out as good where the format can tell (TFRecord's CRCs, gzip's
 *          CRC32), and framing damage is reported where it cannot.
 *
 * Nothing sleeps to synchronise: a child that must act while the parent
 * blocks polls the parent's state in /proc (bounded), and signal handlers
 * acknowledge through a pipe.  Every tcase has a timeout, every child an
 * alarm.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "failmalloc.h"
#include "faultutil.h"
#include "testutil.h"

#define CHILD_ALARM 60
#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define OPTS_SIZE 16384
#define NOBODY 65534

/* Odd write sizes, so that records straddle the writes. */
static const size_t odd_pieces[] = {1, 7, 13, 4093, 65537, 3, 511, 0};
static const size_t whole_piece[] = {SIZE_MAX, 0};

/* ============================================================ directories */

/* The tcase's root, made and removed by the runner (unchecked fixture),
 * and a fresh directory per test under it. */
static char root[FU_PATH_SIZE];
static char base[FU_PATH_SIZE];
static char pipe_dir[FU_PATH_SIZE];
static char state_dir[FU_PATH_SIZE];
static char config_dir[FU_PATH_SIZE];

static void
root_setup(void)
{
	const char *tmp = getenv("TMPDIR");

	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(root, sizeof(root), "%s/pipemode-fault-XXXXXX", tmp);
	if (mkdtemp(root) == NULL || chmod(root, 0755) != 0) {
		perror(root);
		abort();
	}
	/* tu_tmppath() names FIFOs and files in the same place */
	if (strlen(root) >= sizeof(tu_tmpdir))
		abort();
	memcpy(tu_tmpdir, root, strlen(root) + 1);
}

static void
root_teardown(void)
{
	tu_rm_tree(root);
	root[0] = '\0';
	tu_tmpdir[0] = '\0';
}

static void
test_setup(void)
{
	fu_join(base, sizeof(base), root, "t-XXXXXX");
	ck_assert_msg(mkdtemp(base) != NULL, "mkdtemp: %s", strerror(errno));
	ck_assert_int_eq(chmod(base, 0755), 0);
	fu_join(pipe_dir, sizeof(pipe_dir), base, "pipes");
	fu_join(state_dir, sizeof(state_dir), base, "state");
	fu_join(config_dir, sizeof(config_dir), base, "config");
	ck_assert_int_eq(fu_mkdirs(pipe_dir), 0);
	ck_assert_int_eq(fu_mkdirs(state_dir), 0);
	ck_assert_int_eq(fu_mkdirs(config_dir), 0);
}

static void
test_teardown(void)
{
}

/* pipe_dir, state_dir, config_dir, then extra.  Static buffer. */
static const char *
chan_opts(const char *extra)
{
	static char buf[OPTS_SIZE];

	buf[0] = '\0';
	fu_opt_add(buf, sizeof(buf), "pipe_dir", pipe_dir);
	fu_opt_add(buf, sizeof(buf), "state_dir", state_dir);
	fu_opt_add(buf, sizeof(buf), "config_dir", config_dir);
	if (extra != NULL && *extra != '\0') {
		ck_assert_uint_lt(strlen(buf) + 1 + strlen(extra), sizeof(buf));
		strcat(buf, ",");
		strcat(buf, extra);
	}
	return buf;
}

static void
write_at(const char *dir, const char *rel, const void *p, size_t n)
{
	char path[FU_PATH_SIZE], parent[FU_PATH_SIZE];
	char *slash;

	fu_join(path, sizeof(path), dir, rel);
	snprintf(parent, sizeof(parent), "%s", path);
	slash = strrchr(parent, '/');
	*slash = '\0';
	ck_assert_int_eq(fu_mkdirs(parent), 0);
	tu_write_file(path, p, n);
}

static void
state_path(char *buf, size_t size, const char *ch)
{
	char rel[256];

	snprintf(rel, sizeof(rel), ".%s-pipe_mode-state", ch);
	fu_join(buf, size, state_dir, rel);
}

static void
lock_path(char *buf, size_t size, const char *ch)
{
	char rel[256];

	snprintf(rel, sizeof(rel), ".%s-pipe_mode-lock", ch);
	fu_join(buf, size, state_dir, rel);
}

/* Is the file's content exactly p[0..n)? */
static int
file_is(const char *path, const void *p, size_t n)
{
	size_t len;
	unsigned char *got = tu_read_file(path, &len);
	int same = len == n && memcmp(got, p, n) == 0;

	free(got);
	return same;
}

/* How many entries the directory has (besides . and ..). */
static int
dir_entries(const char *path, char *names, size_t size)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	ck_assert_msg(d != NULL, "%s: %s", path, strerror(errno));
	if (size > 0)
		names[0] = '\0';
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (size > strlen(names) + strlen(e->d_name) + 2) {
			strcat(names, " ");
			strcat(names, e->d_name);
		}
		n++;
	}
	closedir(d);
	return n;
}

static int
wait_status(pid_t pid)
{
	int status;
	pid_t got;

	do
		got = waitpid(pid, &status, 0);
	while (got < 0 && errno == EINTR);
	ck_assert_int_eq(got, pid);
	return status;
}

static void
reap_ok(pid_t pid, const char *who)
{
	int status = wait_status(pid);

	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "%s: %s %d", who, WIFEXITED(status) ? "exit" : "signal",
		      WIFEXITED(status) ? WEXITSTATUS(status)
					: WTERMSIG(status));
}

/* ============================================================= streams */

static void
build_tf(tu_stream *s)
{
	/* 70000 and 200000: more than a pipe holds and than buffer_size=4K */
	static const size_t sizes[] = {0,    1, 3,      100, 70000, 13, 0,
				       4096, 5, 200000, 2,   65536, 7};

	tu_stream_init(s);
	for (int i = 0; i < NELEM(sizes); i++)
		tu_stream_add_random(s, sizes[i], 100 + (uint64_t)i, 0);
}

static void
rio_add_random_parts(tu_rio *s, const size_t *lens, size_t nparts,
		     uint64_t seed)
{
	size_t len = 0;
	unsigned char *p;

	for (size_t k = 0; k < nparts; k++)
		len += lens[k];
	p = malloc(len + 1);
	ck_assert_ptr_nonnull(p);
	tu_fill(p, len, seed);
	tu_rio_add_parts(s, p, len, lens, nparts);
	free(p);
}

/* Whole records of every padding and records cut in parts, empty parts
 * and a part larger than a pipe among them. */
static void
build_rio(tu_rio *s)
{
	static const size_t a[] = {3, 0, 5}, b[] = {0, 0}, c[] = {70000, 1, 2},
			    d[] = {4, 4, 4, 4}, e[] = {1, 100000};

	tu_rio_init(s);
	for (size_t len = 0; len < 6; len++)
		tu_rio_add_random(s, len, 200 + len);
	rio_add_random_parts(s, a, 3, 301);
	tu_rio_add_random(s, 9, 302);
	rio_add_random_parts(s, b, 2, 303);
	rio_add_random_parts(s, c, 3, 304);
	tu_rio_add_random(s, 0, 305);
	rio_add_random_parts(s, d, 4, 306);
	rio_add_random_parts(s, e, 2, 307);
	tu_rio_add_random(s, 65536, 308);
	tu_rio_add_random(s, 1, 309);
}

/* Text lines, each '\n'-ended; where each starts and how long it is. */
#define MAX_LINES 32
typedef struct lines {
	tu_buf b;
	size_t n;
	size_t start[MAX_LINES], len[MAX_LINES];
} lines;

static void
lines_add(lines *l, const char *text, size_t len)
{
	ck_assert_uint_lt(l->n, MAX_LINES);
	l->start[l->n] = l->b.len;
	l->len[l->n] = len;
	tu_buf_add(&l->b, text, len);
	tu_buf_add(&l->b, "\n", 1);
	l->n++;
}

static void
lines_add_random(lines *l, size_t len, uint64_t seed)
{
	char *p = malloc(len + 1);
	uint64_t st = seed;

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < len; i++)
		p[i] = (char)(' ' + tu_rand(&st) % 95); /* printable, no \n */
	lines_add(l, p, len);
	free(p);
}

static void
build_lines(lines *l)
{
	memset(l, 0, sizeof(*l));
	lines_add(l, "alpha", 5);
	lines_add(l, "", 0);
	lines_add(l, "b", 1);
	lines_add(l, "a,b,c\r", 6);
	lines_add_random(l, 100000, 1);
	lines_add(l, "", 0);
	lines_add(l, "x y z", 5);
	lines_add_random(l, 70, 2);
	lines_add_random(l, 5000, 3);
	lines_add(l, "tail", 4);
}

/* ================================================================= cuts */

/* The offsets a stream is cut at, sorted and without repeats. */
typedef struct cuts {
	size_t *k;
	size_t n, cap;
	size_t len; /* of the whole stream: no cut beyond it */
} cuts;

static void
cuts_add(cuts *c, size_t k)
{
	if (k > c->len)
		return;
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 64;
		c->k = realloc(c->k, c->cap * sizeof(*c->k));
		ck_assert_ptr_nonnull(c->k);
	}
	c->k[c->n++] = k;
}

/* b - 1, b, b + 1 */
static void
cuts_around(cuts *c, size_t b)
{
	if (b > 0)
		cuts_add(c, b - 1);
	cuts_add(c, b);
	cuts_add(c, b + 1);
}

/* n offsets spread across the stream, off the round numbers. */
static void
cuts_spread(cuts *c, unsigned n)
{
	for (unsigned i = 1; i < n; i++)
		cuts_add(c, c->len / n * i + (i * 7919u) % 13u);
}

static int
cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return (x > y) - (x < y);
}

static void
cuts_finish(cuts *c)
{
	size_t j = 0;

	qsort(c->k, c->n, sizeof(*c->k), cmp_size);
	for (size_t i = 0; i < c->n; i++)
		if (j == 0 || c->k[i] != c->k[j - 1])
			c->k[j++] = c->k[i];
	c->n = j;
}

enum { CUT_FIFO = 1, CUT_KILL = 2 };

/* The i-th cut: through a FIFO every fifth time, else a pipe; the writer
 * SIGKILLs itself every other time, else it _exits. */
static unsigned
cut_how(size_t i)
{
	return (i % 5 == 0 ? CUT_FIFO : 0) | (i % 2 ? CUT_KILL : 0);
}

/*
 * A child writes p[0..k) (in odd pieces) into a pipe or FIFO and dies;
 * read everything from the other end with options.  The writer's wait
 * status goes to *status for expect_died().
 */
static void
read_cut(const unsigned char *p, size_t k, const char *options, unsigned how,
	 tu_result *res, pipemode_stats *st, int *status)
{
	pipemode_reader *r = NULL;
	char fifo[FU_PATH_SIZE];
	int fds[2] = {-1, -1}, rc;
	pid_t pid;

	if (how & CUT_FIFO) {
		tu_tmppath(fifo, sizeof(fifo), "cut.fifo");
		unlink(fifo);
		ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	} else {
		ck_assert_int_eq(pipe(fds), 0);
	}
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = fds[1];

		fu_child_alarm(CHILD_ALARM);
		if (how & CUT_FIFO)
			fd = open(fifo, O_WRONLY | O_CLOEXEC);
		else
			close(fds[0]);
		if (fd < 0)
			_exit(2);
		if (tu_write_pieces(fd, p, k, odd_pieces) != 0)
			_exit(3);
		if (how & CUT_KILL)
			raise(SIGKILL);
		_exit(0);
	}
	if (how & CUT_FIFO) {
		rc = pipemode_open_path(&r, fifo, options);
	} else {
		close(fds[1]);
		rc = pipemode_open_fd(&r, fds[0], options);
	}
	ck_assert_msg(rc == PIPEMODE_OK, "open (%s): %s", options,
		      pipemode_errmsg(r));
	tu_read_all(r, res);
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	ck_assert_int_eq(pipemode_get_stats(r, st), PIPEMODE_OK);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	if (how & CUT_FIFO)
		unlink(fifo);
	else
		close(fds[0]);
	*status = wait_status(pid);
}

static void
expect_died(int status, unsigned how, size_t k)
{
	if (how & CUT_KILL)
		ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
			      "cut at %zu: writer status %#x", k,
			      (unsigned)status);
	else
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			      "cut at %zu: writer status %#x", k,
			      (unsigned)status);
}

/* The first records of a TFRecord stream cut at k: then the end (exactly
 * at a boundary) or ETRUNCATED naming the first record that is not
 * whole. */
static void
expect_tf_cut(const tu_result *res, const tu_stream *s, size_t k)
{
	size_t n = 0;

	while (n < s->nrec && tu_stream_rec_end(s, n) <= k)
		n++;
	tu_check_records(res, s, n, 0);
	if (k == (n == 0 ? 0 : tu_stream_rec_end(s, n - 1)))
		tu_check_error(res, PIPEMODE_EOF, n, k);
	else
		tu_check_error(res, PIPEMODE_ETRUNCATED, n, s->rec[n].offset);
}

START_TEST(test_tfrecord_writer_dying_anywhere)
{
	static const char *const options[] = {NULL, "buffer_size=4K",
					      "compression=auto"};
	tu_stream s;
	cuts c = {0};
	tu_result res;
	pipemode_stats st;
	int status;

	build_tf(&s);
	c.len = s.len;
	for (size_t i = 0; i < s.nrec; i++) {
		uint64_t off = s.rec[i].offset;

		cuts_around(&c, off);
		cuts_around(&c, off + 8);  /* length | length CRC */
		cuts_around(&c, off + 12); /* header | payload */
		cuts_around(&c, off + 12 + s.rec[i].len); /* payload | CRC */
		cuts_add(&c, off + 12 + s.rec[i].len / 2);
	}
	cuts_around(&c, s.len);
	cuts_spread(&c, 40);
	cuts_finish(&c);
	for (size_t i = 0; i < c.n; i++) {
		size_t k = c.k[i];

		read_cut(s.p, k, options[i % 3], cut_how(i), &res, &st,
			 &status);
		expect_tf_cut(&res, &s, k);
		ck_assert_uint_eq(st.bytes_read, k);
		expect_died(status, cut_how(i), k);
		tu_result_free(&res);
	}
	free(c.k);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_recordio_writer_dying_anywhere)
{
	static const char *const options[] = {
		"format=recordio", "format=recordio,buffer_size=4K",
		"format=RecordIO,recordio_multipart=concat"};
	tu_rio s;
	cuts c = {0};
	tu_result res;
	pipemode_stats st;
	int status;

	build_rio(&s);
	c.len = s.len;
	for (size_t i = 0; i < s.nparts; i++) {
		uint64_t off = s.part_off[i];
		size_t len = (size_t)(
			(uint32_t)(s.p[off + 4] | s.p[off + 5] << 8 |
				   s.p[off + 6] << 16 |
				   (uint32_t)s.p[off + 7] << 24) &
			((1u << 29) - 1));

		cuts_around(&c, off);
		cuts_around(&c, off + 4);       /* magic | length word */
		cuts_around(&c, off + 8);       /* header | payload */
		cuts_around(&c, off + 8 + len); /* payload | padding */
		cuts_add(&c, off + 8 + len / 2);
	}
	cuts_around(&c, s.len);
	cuts_spread(&c, 40);
	cuts_finish(&c);
	for (size_t i = 0; i < c.n; i++) {
		size_t k = c.k[i], n = 0;

		read_cut(s.p, k, options[i % 3], cut_how(i), &res, &st,
			 &status);
		while (n < s.nrec && s.rec[n].end <= k)
			n++;
		tu_rio_check_records(&res, &s, n, 0);
		if (k == (n == 0 ? 0 : s.rec[n - 1].end))
			tu_check_error(&res, PIPEMODE_EOF, n, k);
		else
			tu_check_error(&res, PIPEMODE_ETRUNCATED, n,
				       s.rec[n].offset);
		ck_assert_uint_eq(st.bytes_read, k);
		expect_died(status, cut_how(i), k);
		tu_result_free(&res);
	}
	free(c.k);
	tu_rio_free(&s);
}
END_TEST

/* Lines: a cut line is a record (the format's rule), so every cut is a
 * clean end; the last record is what arrived of the cut line. */
START_TEST(test_lines_writer_dying_anywhere)
{
	static const char *const options[] = {
		"format=lines", "format=lines,buffer_size=4K", "format=TextLine"};
	lines l;
	cuts c = {0};
	tu_result res;
	pipemode_stats st;
	int status;

	build_lines(&l);
	c.len = l.b.len;
	for (size_t i = 0; i < l.n; i++) {
		cuts_around(&c, l.start[i]);
		cuts_around(&c, l.start[i] + l.len[i]); /* just before '\n' */
		cuts_add(&c, l.start[i] + l.len[i] / 2);
	}
	cuts_around(&c, l.b.len);
	cuts_spread(&c, 40);
	cuts_finish(&c);
	for (size_t i = 0; i < c.n; i++) {
		size_t k = c.k[i], full = 0, want;

		read_cut(l.b.p, k, options[i % 3], cut_how(i), &res, &st,
			 &status);
		while (full < l.n && l.start[full] + l.len[full] + 1 <= k)
			full++;
		want = full + (full < l.n && k > l.start[full]);
		ck_assert_msg(res.n == want,
			      "cut at %zu: %zu records, expected %zu (%s)", k,
			      res.n, want, res.errmsg);
		for (size_t j = 0; j < want; j++) {
			size_t len = j < full ? l.len[j] : k - l.start[j];

			ck_assert_msg(res.v[j].len == len &&
					      memcmp(res.v[j].data,
						     l.b.p + l.start[j],
						     len) == 0,
				      "cut at %zu: line %zu differs", k, j);
			ck_assert_uint_eq(res.v[j].index, j);
			ck_assert_uint_eq(res.v[j].offset, l.start[j]);
		}
		tu_check_error(&res, PIPEMODE_EOF, want, k);
		ck_assert_uint_eq(st.bytes_read, k);
		expect_died(status, cut_how(i), k);
		tu_result_free(&res);
	}
	free(c.k);
	tu_buf_free(&l.b);
}
END_TEST

/* The cut offsets of a gzip stream: around each member's end, every byte
 * of the first header and of the last trailer, and across. */
static void
gzip_cuts(cuts *c, size_t len, const size_t *member_end, size_t nmembers)
{
	c->len = len;
	for (size_t i = 0; i < 12; i++)
		cuts_add(c, i);
	for (size_t m = 0; m < nmembers; m++) {
		cuts_around(c, member_end[m]);
		cuts_add(c, member_end[m] + 10); /* in the next header */
	}
	for (size_t i = 1; i <= 10; i++)
		cuts_add(c, len - i);
	cuts_spread(c, 40);
	cuts_finish(c);
}

/*
 * TFRecord in three gzip members (each a run of whole records).  The
 * records that come are those zlib can inflate from the K bytes (the
 * reference inflate says how many bytes that is); then the end when K is
 * exactly at a member's end, else ETRUNCATED, never corruption.
 */
START_TEST(test_gzip_tfrecord_writer_dying_anywhere)
{
	static const char *const options[] = {
		"compression=gzip", "compression=gzip,buffer_size=4K",
		"compression=auto"};
	tu_stream s;
	size_t rcuts[2], mend[3], gzlen;
	unsigned char *gz;
	cuts c = {0};
	tu_result res;
	pipemode_stats st;
	int status;

	build_tf(&s);
	rcuts[0] = (size_t)tu_stream_rec_end(&s, 3);
	rcuts[1] = (size_t)tu_stream_rec_end(&s, 8);
	gz = fu_gzip(s.p, s.len, rcuts, 2, &gzlen, mend);
	gzip_cuts(&c, gzlen, mend, 3);
	for (size_t i = 0; i < c.n; i++) {
		size_t k = c.k[i], outlen, n = 0;
		unsigned char *out;
		int whole = fu_gunzip(gz, k, &out, &outlen);
		/* auto cannot tell gzip from fewer than 4 bytes, nor from
		 * none: those it reads as the TFRecord they are not */
		const char *opt = options[i % 3];

		if (k < 4)
			opt = options[0];
		ck_assert_msg(whole >= 0, "reference inflate: prefix %zu corrupt",
			      k);
		ck_assert_msg(memcmp(out, s.p, outlen) == 0,
			      "reference inflate differs");
		read_cut(gz, k, opt, cut_how(i), &res, &st, &status);
		while (n < s.nrec && tu_stream_rec_end(&s, n) <= outlen)
			n++;
		tu_check_records(&res, &s, n, 0);
		if (whole == 1) {
			ck_assert_uint_eq(outlen, n == 0 ? 0
							 : tu_stream_rec_end(&s, n - 1));
			tu_check_error(&res, PIPEMODE_EOF, n, outlen);
		} else {
			tu_check_error(&res, PIPEMODE_ETRUNCATED, n,
				       n < s.nrec ? s.rec[n].offset : s.len);
		}
		ck_assert_uint_eq(st.bytes_read, k);
		expect_died(status, cut_how(i), k);
		tu_result_free(&res);
		free(out);
	}
	free(c.k);
	free(gz);
	tu_stream_free(&s);
}
END_TEST

/* Lines in gzip: a line cut by a truncated compressed stream is not a
 * record (the stream is broken, not a file that ends without '\n'). */
START_TEST(test_gzip_lines_writer_dying_anywhere)
{
	static const char *const options[] = {
		"format=lines,compression=gzip",
		"format=lines,compression=gzip,buffer_size=4K"};
	lines l;
	size_t rcuts[2], mend[3], gzlen;
	unsigned char *gz;
	cuts c = {0};
	tu_result res;
	pipemode_stats st;
	int status;

	build_lines(&l);
	rcuts[0] = l.start[3];
	rcuts[1] = l.start[7];
	gz = fu_gzip(l.b.p, l.b.len, rcuts, 2, &gzlen, mend);
	gzip_cuts(&c, gzlen, mend, 3);
	for (size_t i = 0; i < c.n; i++) {
		size_t k = c.k[i], outlen, full = 0;
		unsigned char *out;
		int whole = fu_gunzip(gz, k, &out, &outlen);

		ck_assert(whole >= 0);
		read_cut(gz, k, options[i % 2], cut_how(i), &res, &st,
			 &status);
		while (full < l.n && l.start[full] + l.len[full] + 1 <= outlen)
			full++;
		ck_assert_msg(res.n == full, "cut at %zu: %zu lines, expected %zu "
			      "(%s)", k, res.n, full, res.errmsg);
		for (size_t j = 0; j < full; j++)
			ck_assert_msg(res.v[j].len == l.len[j] &&
					      memcmp(res.v[j].data,
						     l.b.p + l.start[j],
						     l.len[j]) == 0,
				      "cut at %zu: line %zu differs", k, j);
		if (whole == 1)
			tu_check_error(&res, PIPEMODE_EOF, full, outlen);
		else
			tu_check_error(&res, PIPEMODE_ETRUNCATED, full,
				       full < l.n ? l.start[full] : l.b.len);
		expect_died(status, cut_how(i), k);
		tu_result_free(&res);
		free(out);
	}
	free(c.k);
	free(gz);
	tu_buf_free(&l.b);
}
END_TEST

/* ================================================================ eintr */

static volatile sig_atomic_t sig_hits;
static int sig_ack_fd = -1;
static struct sigaction old_usr1, old_alrm;

/* No SA_RESTART: a blocking call the signal lands in fails with EINTR. */
static void
on_signal(int sig)
{
	int saved = errno;

	(void)sig;
	sig_hits++;
	if (sig_ack_fd >= 0) {
		ssize_t n = write(sig_ack_fd, "!", 1);
		(void)n;
	}
	errno = saved;
}

static void
install_handlers(int ack_fd)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;
	sig_hits = 0;
	sig_ack_fd = ack_fd;
	ck_assert_int_eq(sigaction(SIGUSR1, &sa, &old_usr1), 0);
	ck_assert_int_eq(sigaction(SIGALRM, &sa, &old_alrm), 0);
}

static void
restore_handlers(void)
{
	sigaction(SIGUSR1, &old_usr1, NULL);
	sigaction(SIGALRM, &old_alrm, NULL);
	sig_ack_fd = -1;
}

/* In a child: signal the parent and wait until its handler has run. */
static int
child_signal(pid_t parent, int i, int ack_rd)
{
	char c;
	ssize_t n;

	if (kill(parent, i % 2 ? SIGALRM : SIGUSR1) != 0)
		return -1;
	do
		n = read(ack_rd, &c, 1);
	while (n < 0 && errno == EINTR);
	return n == 1 ? 0 : -1;
}

/* In a child: wait until the parent took every byte of the pipe fd and
 * sleeps, so that it sleeps in read() wanting more.  Bounded. */
static int
child_wait_reader_blocked(pid_t parent, int fd)
{
	struct timespec pause = {0, 100000};
	double t0 = fu_now();

	for (;;) {
		if (fu_pipe_queued(fd) == 0 && fu_wait_asleep(parent, 0) == 0)
			return 0;
		if (fu_now() - t0 > 20)
			return -1;
		nanosleep(&pause, NULL);
	}
}

static const struct {
	const char *options;
	int gzip;
	int fifo;
} eintr_cases[] = {
	{NULL, 0, 0},
	{"buffer_size=4K", 0, 1},
	{"compression=gzip", 1, 1},
	{"compression=auto,buffer_size=4K", 1, 0},
};

/*
 * The writer sends the stream in pieces; after each it waits until the
 * reader has taken it all and sleeps in read(), then signals it and waits
 * for the handler's acknowledgement.  Every read the signal interrupts
 * fails with EINTR, which must change nothing.
 */
START_TEST(test_signals_during_blocking_reads_change_nothing)
{
	tu_stream s;
	const unsigned char *data;
	unsigned char *gz = NULL;
	size_t len, cut[16], ncut = 0;
	pipemode_reader *r = NULL;
	char fifo[FU_PATH_SIZE];
	int fds[2] = {-1, -1}, ack[2], rc;
	tu_result res;
	pid_t pid, parent = getpid();

	build_tf(&s);
	data = s.p;
	len = s.len;
	if (eintr_cases[_i].gzip)
		gz = fu_gzip(s.p, s.len, NULL, 0, &len, NULL), data = gz;
	/* inside headers, payloads and CRCs, and into the compressed bytes */
	for (size_t i = 1; i < 14 && ncut < 16; i++) {
		size_t k = eintr_cases[_i].gzip ? len / 14 * i
			   : i < s.nrec ? (size_t)s.rec[i].offset + 5 + i % 9
					: 0;
		if (k > 0 && k < len && (ncut == 0 || k > cut[ncut - 1]))
			cut[ncut++] = k;
	}
	ck_assert_int_eq(pipe(ack), 0);
	if (eintr_cases[_i].fifo) {
		tu_tmppath(fifo, sizeof(fifo), "eintr.fifo");
		unlink(fifo);
		ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	} else {
		ck_assert_int_eq(pipe(fds), 0);
	}
	install_handlers(ack[1]);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = fds[1];
		size_t prev = 0;

		fu_child_alarm(CHILD_ALARM);
		signal(SIGUSR1, SIG_DFL);
		close(ack[1]);
		if (eintr_cases[_i].fifo)
			fd = open(fifo, O_WRONLY | O_CLOEXEC);
		else
			close(fds[0]);
		if (fd < 0)
			_exit(2);
		for (size_t i = 0; i < ncut; i++) {
			if (tu_write_pieces(fd, data + prev, cut[i] - prev,
					    whole_piece) != 0)
				_exit(3);
			prev = cut[i];
			if (child_wait_reader_blocked(parent, fd) != 0)
				_exit(4);
			if (child_signal(parent, (int)i, ack[0]) != 0)
				_exit(5);
		}
		if (tu_write_pieces(fd, data + prev, len - prev, whole_piece) !=
		    0)
			_exit(6);
		_exit(close(fd) == 0 ? 0 : 7);
	}
	close(ack[0]);
	if (eintr_cases[_i].fifo) {
		rc = pipemode_open_path(&r, fifo, eintr_cases[_i].options);
	} else {
		close(fds[1]);
		rc = pipemode_open_fd(&r, fds[0], eintr_cases[_i].options);
	}
	ck_assert_msg(rc == PIPEMODE_OK, "%s", pipemode_errmsg(r));
	tu_read_all(r, &res);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	reap_ok(pid, "writer");
	restore_handlers();
	tu_check_records(&res, &s, s.nrec, 0);
	tu_check_error(&res, PIPEMODE_EOF, s.nrec, s.len);
	ck_assert_int_eq((int)sig_hits, (int)ncut);
	if (eintr_cases[_i].fifo)
		unlink(fifo);
	else
		close(fds[0]);
	close(ack[1]);
	tu_result_free(&res);
	free(gz);
	tu_stream_free(&s);
}
END_TEST

/*
 * pipemode_open waits for the channel's FIFO (nanosleep between looks) and
 * then for its writer (poll): signals in both waits, and then in the reads,
 * change nothing.
 */
START_TEST(test_signals_during_channel_open_change_nothing)
{
	char lock[FU_PATH_SIZE], fifo[FU_PATH_SIZE];
	tu_stream s;
	pipemode_reader *r = NULL;
	tu_result res;
	pipemode_stats st;
	int ack[2], rc;
	pid_t pid, parent = getpid();

	build_tf(&s);
	lock_path(lock, sizeof(lock), "train");
	fu_join(fifo, sizeof(fifo), pipe_dir, "train_0");
	ck_assert_int_eq(pipe(ack), 0);
	install_handlers(ack[1]);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct timespec pause = {0, 100000};
		double t0 = fu_now();
		struct stat sb;
		size_t half = s.len / 2;
		int fd, i = 0;

		fu_child_alarm(CHILD_ALARM);
		signal(SIGUSR1, SIG_DFL);
		close(ack[1]);
		/* the lock file: the reader is inside pipemode_open */
		while (lstat(lock, &sb) != 0) {
			if (fu_now() - t0 > 20)
				_exit(2);
			nanosleep(&pause, NULL);
		}
		/* waiting for the FIFO to appear */
		for (; i < 3; i++)
			if (fu_wait_asleep(parent, 20) != 0 ||
			    child_signal(parent, i, ack[0]) != 0)
				_exit(3);
		if (mkfifo(fifo, 0600) != 0)
			_exit(4);
		/* blocks until the reader opened it; it then polls */
		fd = open(fifo, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			_exit(5);
		for (; i < 5; i++)
			if (fu_wait_asleep(parent, 20) != 0 ||
			    child_signal(parent, i, ack[0]) != 0)
				_exit(6);
		if (tu_write_pieces(fd, s.p, half, whole_piece) != 0 ||
		    child_wait_reader_blocked(parent, fd) != 0 ||
		    child_signal(parent, i++, ack[0]) != 0)
			_exit(7);
		if (tu_write_pieces(fd, s.p + half, s.len - half,
				    whole_piece) != 0)
			_exit(8);
		_exit(close(fd) == 0 ? 0 : 9);
	}
	close(ack[0]);
	rc = pipemode_open(&r, "train", chan_opts("open_timeout=30"));
	ck_assert_msg(rc == PIPEMODE_OK, "%s", pipemode_errmsg(r));
	tu_read_all(r, &res);
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	ck_assert_int_eq(pipemode_get_stats(r, &st), PIPEMODE_OK);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	reap_ok(pid, "feeder");
	restore_handlers();
	close(ack[1]);
	tu_check_records(&res, &s, s.nrec, 0);
	tu_check_error(&res, PIPEMODE_EOF, s.nrec, s.len);
	ck_assert_int_eq(st.epoch, 0);
	ck_assert_int_eq((int)sig_hits, 6);
	tu_result_free(&res);
	tu_stream_free(&s);
}
END_TEST

/*
 * The writer blocks in write() on a full pipe; the reader signals it there
 * (an interrupted write returns short or fails with EINTR), then drains
 * some.  The bytes that arrive are exactly the stream.
 */
START_TEST(test_signals_during_blocking_writes_change_nothing)
{
	static const char *const options[] = {"buffer_size=4K", NULL,
					      "format=recordio"};
	tu_stream s;
	tu_rio rs;
	const unsigned char *want;
	size_t want_len;
	pipemode_writer *w = NULL;
	int fds[2], ack[2], pipe_sz;
	pid_t pid, parent = getpid();
	const int nsig = 8;

	tu_stream_init(&s);
	tu_rio_init(&rs);
	for (int i = 0; i < 24; i++) {
		size_t len = (size_t)(i % 3 == 0 ? 300000 : 1000 + 37 * i);
		unsigned char *p = malloc(len);

		ck_assert_ptr_nonnull(p);
		tu_fill(p, len, 700 + (uint64_t)i);
		tu_stream_add(&s, p, len, 0);
		tu_rio_add(&rs, p, len);
		free(p);
	}
	want = _i == 2 ? rs.p : s.p;
	want_len = _i == 2 ? rs.len : s.len;
	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(pipe(ack), 0);
	pipe_sz = fcntl(fds[0], F_GETPIPE_SZ);
	ck_assert_int_gt(pipe_sz, 0);
	install_handlers(ack[1]);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct timespec pause = {0, 100000};
		unsigned char *got = malloc(want_len + 1);
		size_t have = 0;
		ssize_t n;

		fu_child_alarm(CHILD_ALARM);
		signal(SIGUSR1, SIG_DFL);
		close(ack[1]);
		close(fds[1]);
		if (got == NULL)
			_exit(2);
		for (int i = 0; i < nsig; i++) {
			double t0 = fu_now();

			/* full pipe and the writer asleep: inside write() */
			while (fu_pipe_queued(fds[0]) < pipe_sz / 2 ||
			       fu_wait_asleep(parent, 0) != 0) {
				if (fu_now() - t0 > 20)
					_exit(3);
				nanosleep(&pause, NULL);
			}
			if (child_signal(parent, i, ack[0]) != 0)
				_exit(4);
			/* drain some, so that the writer goes on */
			n = read(fds[0], got + have,
				 want_len - have < 100000 ? want_len - have
							  : 100000);
			if (n <= 0)
				_exit(5);
			have += (size_t)n;
		}
		while ((n = read(fds[0], got + have, want_len + 1 - have)) > 0)
			have += (size_t)n;
		if (n < 0)
			_exit(6);
		if (have != want_len || memcmp(got, want, want_len) != 0)
			_exit(7);
		_exit(0);
	}
	close(ack[0]);
	close(fds[0]);
	ck_assert_int_eq(pipemode_writer_open_fd(&w, fds[1], options[_i]),
			 PIPEMODE_OK);
	for (size_t i = 0; i < s.nrec; i++)
		ck_assert_msg(pipemode_write(w, tu_stream_payload(&s, i),
					     s.rec[i].len) == PIPEMODE_OK,
			      "record %zu: %s", i, pipemode_writer_errmsg(w));
	ck_assert_int_eq(pipemode_writer_flush(w), PIPEMODE_OK);
	ck_assert_int_eq(pipemode_writer_close(w), PIPEMODE_OK);
	close(fds[1]);
	reap_ok(pid, "reader");
	restore_handlers();
	close(ack[1]);
	ck_assert_int_eq((int)sig_hits, nsig);
	tu_stream_free(&s);
	tu_rio_free(&rs);
}
END_TEST

/* ================================================================ nomem */

typedef struct want_rec {
	const unsigned char *p;
	size_t len;
} want_rec;

typedef struct want {
	want_rec v[64];
	size_t n;
} want;

static void
want_add(want *w, const void *p, size_t len)
{
	ck_assert_uint_lt(w->n, NELEM(w->v));
	w->v[w->n].p = p;
	w->v[w->n].len = len;
	w->n++;
}

static void
want_stream(want *w, const tu_stream *s)
{
	for (size_t i = 0; i < s->nrec; i++)
		want_add(w, tu_stream_payload(s, i), s->rec[i].len);
}

static void
want_rio(want *w, const tu_rio *s)
{
	for (size_t i = 0; i < s->nrec; i++)
		want_add(w, s->rec[i].concat, s->rec[i].concat_len);
}

typedef struct scenario scenario;
struct scenario {
	const char *what;
	int (*open)(pipemode_reader **r, scenario *sc);
	void (*prepare)(scenario *sc); /* before each try, not armed */
	const char *options;
	const unsigned char *data;     /* for the callback */
	size_t len, chunk;
	tu_src src;
	char path[FU_PATH_SIZE];
	want want;
	/* The name the options give the source (NULL: not checked): a
	 * failure may be absorbed, but not by forgetting an option. */
	const char *name;
	/* Besides PIPEMODE_ENOMEM, the code a failed allocation may give
	 * when its message says "memory" (0: none). */
	int alt_code;
};

static int
open_callback(pipemode_reader **r, scenario *sc)
{
	return pipemode_open_callback(r, tu_src_read, &sc->src, sc->options);
}

static void
prepare_callback(scenario *sc)
{
	tu_src_init(&sc->src, sc->data, sc->len, sc->chunk);
}

static int
open_path(pipemode_reader **r, scenario *sc)
{
	return pipemode_open_path(r, sc->path, sc->options);
}

static int
open_channel(pipemode_reader **r, scenario *sc)
{
	return pipemode_open(r, "train", sc->options);
}

/* The counter back at 0 before every try. */
static void
prepare_channel(scenario *sc)
{
	(void)sc;
	write_at(state_dir, ".train-pipe_mode-state", "0\n", 2);
}

/* Copy without allocating (inside an armed region). */
static void
copy_msg(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/*
 * For n = 1, 2, ...: fail the n-th allocation of open + read all + close.
 * Each try ends in success with every record, or in a clean error (the
 * right code, a message, a handle that only closes); nothing is ever
 * wrong in a record handed out; nothing the library allocated is left
 * after the close.  Until a try never reaches its n-th allocation.
 */
static void
run_nomem(scenario *sc)
{
	unsigned long n, survived = 0;
	char msg[1024], live[512], name[256];

	for (n = 1; n < 5000; n++) {
		pipemode_reader *r = NULL;
		const void *data;
		size_t len, got = 0, bad = SIZE_MAX;
		int rc_open, rc = PIPEMODE_OK, rc_state = PIPEMODE_ESTATE;
		int rc_close, null_handle;

		if (sc->prepare != NULL)
			sc->prepare(sc);
		fm_reset();
		fm_arm(n);
		rc_open = sc->open(&r, sc);
		name[0] = '\0';
		if (rc_open == PIPEMODE_OK)
			copy_msg(name, sizeof(name), pipemode_source_name(r));
		if (rc_open == PIPEMODE_OK) {
			while ((rc = pipemode_next(r, &data, &len)) ==
			       PIPEMODE_OK) {
				if (bad == SIZE_MAX &&
				    (got >= sc->want.n ||
				     len != sc->want.v[got].len ||
				     (len > 0 &&
				      memcmp(data, sc->want.v[got].p, len) != 0)))
					bad = got;
				got++;
			}
		} else if (r != NULL) {
			rc_state = pipemode_next(r, &data, &len);
		}
		copy_msg(msg, sizeof(msg), pipemode_errmsg(r));
		null_handle = r == NULL;
		rc_close = pipemode_close(r);
		fm_disarm();

		fm_describe_live(live, sizeof(live));
		ck_assert_msg(fm_live() == 0,
			      "%s: allocation %lu failed: %zu allocations "
			      "(%zu bytes) leaked: %s; open %s, next %s: %s",
			      sc->what, n, fm_live(), fm_live_bytes(), live,
			      pipemode_code_name(rc_open),
			      pipemode_code_name(rc), msg);
		ck_assert_msg(bad == SIZE_MAX,
			      "%s: allocation %lu failed: record %zu is wrong",
			      sc->what, n, bad);
		ck_assert_int_eq(rc_close, PIPEMODE_OK);
		ck_assert_msg(rc_open != PIPEMODE_OK || sc->name == NULL ||
				      strcmp(name, sc->name) == 0,
			      "%s: allocation %lu failed: the source is named "
			      "\"%s\", not \"%s\" as the options say",
			      sc->what, n, name, sc->name);
		if (!fm_failed()) {
			/* The whole run took fewer than n allocations. */
			ck_assert_msg(rc_open == PIPEMODE_OK && rc == PIPEMODE_EOF &&
					      got == sc->want.n,
				      "%s without a failure: open %s, next %s "
				      "after %zu records: %s",
				      sc->what, pipemode_code_name(rc_open),
				      pipemode_code_name(rc), got, msg);
			ck_assert_msg(n > 1, "%s: no allocation was counted: "
				      "is the program linked with --wrap?",
				      sc->what);
			break;
		}
		if (rc_open != PIPEMODE_OK) {
			ck_assert_msg(rc_open == PIPEMODE_ENOMEM ||
					      (sc->alt_code != 0 &&
					       rc_open == sc->alt_code &&
					       tu_contains(msg, "memory")),
				      "%s: allocation %lu failed: open returned "
				      "%s: %s",
				      sc->what, n, pipemode_code_name(rc_open),
				      msg);
			if (null_handle) {
				ck_assert_int_eq(rc_open, PIPEMODE_ENOMEM);
			} else {
				ck_assert_msg(msg[0] != '\0',
					      "%s: allocation %lu: no message",
					      sc->what, n);
				ck_assert_int_eq(rc_state, PIPEMODE_ESTATE);
			}
		} else if (rc == PIPEMODE_EOF) {
			/* the failure was absorbed: every record came */
			ck_assert_msg(got == sc->want.n,
				      "%s: allocation %lu failed: a clean end "
				      "after %zu of %zu records",
				      sc->what, n, got, sc->want.n);
			survived++;
		} else {
			ck_assert_msg(rc == PIPEMODE_ENOMEM ||
					      (sc->alt_code != 0 &&
					       rc == sc->alt_code &&
					       tu_contains(msg, "memory")),
				      "%s: allocation %lu failed: next returned "
				      "%s after %zu records: %s",
				      sc->what, n, pipemode_code_name(rc), got,
				      msg);
			ck_assert_msg(msg[0] != '\0', "%s: allocation %lu: no "
				      "message", sc->what, n);
		}
	}
	ck_assert_msg(n < 5000, "%s: still failing after %lu allocations",
		      sc->what, n);
	printf("nomem: %s: %lu allocations, each failed in turn (%lu "
	       "absorbed)\n",
	       sc->what, n - 1, survived);
}

static scenario *
new_scenario(const char *what)
{
	scenario *sc = calloc(1, sizeof(*sc));

	ck_assert_ptr_nonnull(sc);
	sc->what = what;
	sc->open = open_callback;
	sc->prepare = prepare_callback;
	sc->chunk = 4096;
	return sc;
}

START_TEST(test_nomem_callback_tfrecord)
{
	scenario *sc = new_scenario("callback tfrecord");
	tu_stream s;

	build_tf(&s);
	sc->options = "buffer_size=4K,name=nomem";
	sc->name = "nomem";
	sc->data = s.p;
	sc->len = s.len;
	want_stream(&sc->want, &s);
	run_nomem(sc);
	free(sc);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_nomem_callback_recordio_multipart)
{
	scenario *sc = new_scenario("callback recordio multipart");
	tu_rio s;

	build_rio(&s);
	sc->options = "format=recordio,recordio_multipart=concat";
	sc->data = s.p;
	sc->len = s.len;
	want_rio(&sc->want, &s);
	run_nomem(sc);
	free(sc);
	tu_rio_free(&s);
}
END_TEST

START_TEST(test_nomem_callback_lines)
{
	scenario *sc = new_scenario("callback lines");
	lines l;

	build_lines(&l);
	sc->options = "format=lines,buffer_size=4K,strip_cr=1";
	sc->data = l.b.p;
	sc->len = l.b.len;
	for (size_t i = 0; i < l.n; i++)
		want_add(&sc->want, l.b.p + l.start[i],
			 l.len[i] - (l.len[i] > 0 &&
				     l.b.p[l.start[i] + l.len[i] - 1] == '\r'));
	run_nomem(sc);
	free(sc);
	tu_buf_free(&l.b);
}
END_TEST

START_TEST(test_nomem_callback_gzip_auto)
{
	scenario *sc = new_scenario("callback gzip, compression=auto");
	size_t cut[1], gzlen;
	unsigned char *gz;
	tu_stream s;

	build_tf(&s);
	cut[0] = (size_t)tu_stream_rec_end(&s, 5);
	gz = fu_gzip(s.p, s.len, cut, 1, &gzlen, NULL);
	sc->options = "compression=auto";
	sc->data = gz;
	sc->len = gzlen;
	want_stream(&sc->want, &s);
	run_nomem(sc);
	free(sc);
	free(gz);
	tu_stream_free(&s);
}
END_TEST

/* Lines have no CRC: a wrong guess would hand out compressed bytes. */
START_TEST(test_nomem_callback_lines_gzip_auto)
{
	scenario *sc = new_scenario("callback lines in gzip, compression=auto");
	size_t gzlen;
	unsigned char *gz;
	lines l;

	build_lines(&l);
	gz = fu_gzip(l.b.p, l.b.len, NULL, 0, &gzlen, NULL);
	sc->options = "format=lines,compression=auto";
	sc->data = gz;
	sc->len = gzlen;
	for (size_t i = 0; i < l.n; i++)
		want_add(&sc->want, l.b.p + l.start[i], l.len[i]);
	run_nomem(sc);
	free(sc);
	free(gz);
	tu_buf_free(&l.b);
}
END_TEST

START_TEST(test_nomem_callback_format_auto)
{
	scenario *sc = new_scenario("callback format=auto");
	tu_rio s;

	build_rio(&s);
	/* a framer option given to every candidate */
	sc->options = "format=auto,recordio_multipart=concat,buffer_size=4K";
	sc->data = s.p;
	sc->len = s.len;
	want_rio(&sc->want, &s);
	run_nomem(sc);
	free(sc);
	tu_rio_free(&s);
}
END_TEST

START_TEST(test_nomem_path)
{
	scenario *sc = new_scenario("open_path");
	tu_stream s;

	build_tf(&s);
	fu_join(sc->path, sizeof(sc->path), base, "data.tfrecord");
	tu_write_file(sc->path, s.p, s.len);
	sc->open = open_path;
	sc->prepare = NULL;
	want_stream(&sc->want, &s);
	run_nomem(sc);
	free(sc);
	tu_stream_free(&s);
}
END_TEST

/* A channel in Pipe mode, a regular file in place of the FIFO, a config
 * that makes RecordIO the default, the counter advanced every time. */
START_TEST(test_nomem_channel_pipe_mode)
{
	static const char config[] =
		"{\"train\": {\"TrainingInputMode\": \"Pipe\", "
		"\"RecordWrapperType\": \"RecordIO\"}, \"eval\": {}}";
	scenario *sc = new_scenario("channel, a file in place of the FIFO");
	tu_rio s;

	build_rio(&s);
	write_at(pipe_dir, "train_0", s.p, s.len);
	write_at(config_dir, "inputdataconfig.json", config, strlen(config));
	sc->open = open_channel;
	sc->prepare = prepare_channel;
	sc->options = chan_opts("open_timeout=1");
	want_rio(&sc->want, &s);
	run_nomem(sc);
	free(sc);
	tu_rio_free(&s);
}
END_TEST

/* File mode: three files in sorted order, one of them gzip. */
START_TEST(test_nomem_channel_file_mode)
{
	static const char config[] =
		"{\"train\": {\"TrainingInputMode\": \"File\"}}";
	scenario *sc = new_scenario("channel, File mode");
	tu_stream a, c, d;
	unsigned char *gz;
	size_t gzlen;

	tu_stream_init(&a);
	tu_stream_init(&c);
	tu_stream_init(&d);
	tu_stream_add(&a, "a0", 2, 0);
	tu_stream_add_random(&a, 9000, 1, 0);
	tu_stream_add(&c, "c0 (gzip)", 9, 0);
	tu_stream_add_random(&c, 5000, 2, 0);
	tu_stream_add(&d, "", 0, 0);
	tu_stream_add(&d, "d1", 2, 0);
	write_at(pipe_dir, "train/a.tfrecord", a.p, a.len);
	gz = fu_gzip(c.p, c.len, NULL, 0, &gzlen, NULL);
	write_at(pipe_dir, "train/b/c.tfrecord.gz", gz, gzlen);
	write_at(pipe_dir, "train/d.tfrecord", d.p, d.len);
	write_at(config_dir, "inputdataconfig.json", config, strlen(config));
	want_stream(&sc->want, &a);
	want_stream(&sc->want, &c);
	want_stream(&sc->want, &d);
	sc->open = open_channel;
	sc->prepare = prepare_channel;
	sc->options = chan_opts("compression=auto,open_timeout=1");
	/* listing the files: EIO "cannot list the channel's files: Cannot
	 * allocate memory" */
	sc->alt_code = PIPEMODE_EIO;
	run_nomem(sc);
	free(sc);
	free(gz);
	tu_stream_free(&a);
	tu_stream_free(&c);
	tu_stream_free(&d);
}
END_TEST

static const struct {
	const char *options;
	int recordio;
	const char *name; /* NULL: "fd N" */
} writer_cases[] = {
	{"name=out", 0, "out"},
	{"format=recordio,buffer_size=4K", 1, NULL},
	{"compression=gzip", 0, NULL},
	{"format=recordio,compression=zlib,compression_level=1,name=z", 1, "z"},
};

/* The writer: open, write every record, close, with each allocation
 * failing in turn; what a successful run wrote reads back whole. */
START_TEST(test_nomem_writer)
{
	const char *options = writer_cases[_i].options;
	char path[FU_PATH_SIZE], msg[1024], live[512], named[1024];
	tu_stream s;
	unsigned long n;

	build_tf(&s);
	fu_join(path, sizeof(path), base, "written");
	for (n = 1; n < 5000; n++) {
		pipemode_writer *w = NULL;
		int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
			      0600);
		int rc_open, rc = PIPEMODE_OK, rc_close, null_handle;
		int rc_inval = PIPEMODE_EINVAL;
		size_t done = 0;
		char want_name[64];

		ck_assert_int_ge(fd, 0);
		fm_reset();
		fm_arm(n);
		rc_open = pipemode_writer_open_fd(&w, fd, options);
		if (rc_open == PIPEMODE_OK) {
			for (; done < s.nrec; done++) {
				rc = pipemode_write(w, tu_stream_payload(&s, done),
						    s.rec[done].len);
				if (rc != PIPEMODE_OK)
					break;
			}
			if (rc == PIPEMODE_OK)
				rc = pipemode_writer_flush(w);
			/* a bad call says the writer's name, and changes
			 * nothing */
			named[0] = '\0';
			if (rc == PIPEMODE_OK) {
				rc_inval = pipemode_write(w, NULL, 1);
				copy_msg(named, sizeof(named),
					 pipemode_writer_errmsg(w));
			}
		}
		copy_msg(msg, sizeof(msg), pipemode_writer_errmsg(w));
		null_handle = w == NULL;
		rc_close = pipemode_writer_close(w);
		fm_disarm();
		close(fd);

		fm_describe_live(live, sizeof(live));
		ck_assert_msg(fm_live() == 0,
			      "writer %s: allocation %lu failed: %zu "
			      "allocations leaked: %s",
			      options, n, fm_live(), live);
		if (writer_cases[_i].name != NULL)
			snprintf(want_name, sizeof(want_name), "%s: ",
				 writer_cases[_i].name);
		else
			snprintf(want_name, sizeof(want_name), "fd %d: ", fd);
		if (rc_open == PIPEMODE_OK && rc == PIPEMODE_OK) {
			/* success, perhaps with the failure absorbed: but
			 * not by forgetting an option */
			ck_assert_int_eq(rc_inval, PIPEMODE_EINVAL);
			ck_assert_msg(strncmp(named, want_name,
					      strlen(want_name)) == 0,
				      "writer %s: allocation %lu failed: the "
				      "writer is not named as the options say: "
				      "%s",
				      options, n, named);
		}
		if (!fm_failed()) {
			tu_result res;
			size_t len;
			unsigned char *p = tu_read_file(path, &len);
			char ropts[128];

			ck_assert_msg(rc_open == PIPEMODE_OK && rc == PIPEMODE_OK &&
					      rc_close == PIPEMODE_OK,
				      "writer %s: %s", options, msg);
			ck_assert(n > 1);
			snprintf(ropts, sizeof(ropts), "format=%s,compression=auto",
				 writer_cases[_i].recordio ? "recordio"
							   : "tfrecord");
			tu_read_mem(p, len, TU_WHOLE, ropts, &res);
			tu_check_error(&res, PIPEMODE_EOF, s.nrec, res.offset);
			for (size_t i = 0; i < s.nrec; i++)
				ck_assert(res.v[i].len == s.rec[i].len &&
					  memcmp(res.v[i].data,
						 tu_stream_payload(&s, i),
						 s.rec[i].len) == 0);
			tu_result_free(&res);
			free(p);
			break;
		}
		if (rc_open != PIPEMODE_OK) {
			ck_assert_msg(rc_open == PIPEMODE_ENOMEM,
				      "writer %s: allocation %lu failed: open "
				      "returned %s: %s",
				      options, n, pipemode_code_name(rc_open),
				      msg);
			ck_assert(null_handle || msg[0] != '\0');
		} else if (rc != PIPEMODE_OK) {
			ck_assert_msg(rc == PIPEMODE_ENOMEM && msg[0] != '\0',
				      "writer %s: allocation %lu failed: record "
				      "%zu: %s: %s",
				      options, n, done, pipemode_code_name(rc),
				      msg);
		}
	}
	printf("nomem: writer %s: %lu allocations, each failed in turn\n",
	       options, n - 1);
	tu_stream_free(&s);
}
END_TEST

/* ================================================================ state */

/* The channel's counter at "3\n", epoch 3 a file, the lock file made
 * unless told. */
static void
state_fixture(int with_lock)
{
	static const char *const recs[] = {"three"};
	char path[FU_PATH_SIZE];
	tu_stream s;

	tu_stream_init(&s);
	tu_stream_add(&s, recs[0], 5, 0);
	write_at(pipe_dir, "train_3", s.p, s.len);
	tu_stream_free(&s);
	write_at(state_dir, ".train-pipe_mode-state", "3\n", 2);
	if (with_lock) {
		lock_path(path, sizeof(path), "train");
		tu_write_file(path, "", 0);
	}
}

/* In a child, after it dropped what it needed to: pipemode_open must fail
 * with code and a message naming the state file; no descriptor may be
 * left open by the failed call.  Exit status 0 or says what went wrong. */
static int
child_open_fails(int code, const char *needle)
{
	int before[256], after[256], nb, na;
	pipemode_reader *r = NULL;
	int rc;

	nb = fu_list_fds(before, 256);
	rc = pipemode_open(&r, "train", chan_opts("open_timeout=1"));
	if (rc != code) {
		fprintf(stderr, "pipemode_open: %s (%s), expected %s\n",
			pipemode_code_name(rc), pipemode_errmsg(r),
			pipemode_code_name(code));
		return 10;
	}
	if (strstr(pipemode_errmsg(r), needle) == NULL) {
		fprintf(stderr, "message \"%s\" does not name %s\n",
			pipemode_errmsg(r), needle);
		return 11;
	}
	fprintf(stderr, "as expected: %s\n", pipemode_errmsg(r));
	pipemode_close(r);
	na = fu_list_fds(after, 256);
	if (na != nb || memcmp(before, after, (size_t)nb * sizeof(int)) != 0) {
		fprintf(stderr, "descriptors: %d before the failed open, %d "
			"after:", nb, na);
		for (int i = 0; i < na && i < 256; i++)
			fprintf(stderr, " %d", after[i]);
		fprintf(stderr, "\n");
		return 12;
	}
	return 0;
}

/* What child_open_fails() returned (-1: the child died of a signal). */
static const char *
open_fails_reason(int code)
{
	switch (code) {
	case -1:
		return "the child died of a signal";
	case 0:
		return "as expected";
	case 10:
		return "the wrong code (see stderr)";
	case 11:
		return "a message that does not name the file (see stderr)";
	case 12:
		return "a descriptor left open by the failed open (see stderr)";
	default:
		return "the child could not set up";
	}
}

static void
expect_open_fails(pid_t pid, const char *what)
{
	int status = wait_status(pid);

	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "%s: %s (status %#x)", what,
		      open_fails_reason(WIFEXITED(status) ? WEXITSTATUS(status)
							  : -1),
		      (unsigned)status);
}

static int
chown_cb(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return lchown(path, NOBODY, NOBODY) == 0 ? 0 : -1;
}

/* chown -R nobody:nobody */
static void
chown_tree(const char *path)
{
	ck_assert_msg(nftw(path, chown_cb, 16, FTW_PHYS) == 0, "chown %s: %s",
		      path, strerror(errno));
}

/* The state files as they were: "3\n", and nothing else in the directory
 * but the lock file (no temporary file left behind). */
static void
expect_state_untouched(int with_lock)
{
	char path[FU_PATH_SIZE], names[1024];
	int n;

	state_path(path, sizeof(path), "train");
	ck_assert_msg(file_is(path, "3\n", 2), "the counter changed");
	n = dir_entries(state_dir, names, sizeof(names));
	ck_assert_msg(n == 1 + with_lock, "state directory holds:%s", names);
}

/*
 * A read-only state directory: EIO naming the file, the counter left as
 * it was.  Root ignores permissions, so as root the child drops to
 * nobody first (the tree is handed to nobody, then made read-only).
 */
START_TEST(test_read_only_state_dir_is_eio_and_counter_unchanged)
{
	int with_lock = _i == 0;
	pid_t pid;

	state_fixture(with_lock);
	if (geteuid() == 0)
		chown_tree(base);
	ck_assert_int_eq(chmod(state_dir, 0555), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		fu_child_alarm(CHILD_ALARM);
		if (geteuid() == 0 &&
		    (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 ||
		     setuid(NOBODY) != 0))
			_exit(2);
		_exit(child_open_fails(PIPEMODE_EIO,
				       with_lock ? ".train-pipe_mode-state"
						 : ".train-pipe_mode-lock"));
	}
	expect_open_fails(pid, "a read-only state directory");
	ck_assert_int_eq(chmod(state_dir, 0755), 0);
	expect_state_untouched(with_lock);
}
END_TEST

/*
 * A full disk: RLIMIT_FSIZE 0 makes every write to a file fail (EFBIG, as
 * ENOSPC would), without privileges.  The new counter cannot be written:
 * EIO, the old one stays, no temporary file and no descriptor left.
 * In a child: the limit would also stop Check writing its results.
 */
START_TEST(test_full_state_dir_is_eio_and_counter_unchanged)
{
	pid_t pid;

	state_fixture(1);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct rlimit rl = {0, 0};

		fu_child_alarm(CHILD_ALARM);
		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
			_exit(2);
		_exit(child_open_fails(PIPEMODE_EIO, ".train-pipe_mode-state"));
	}
	expect_open_fails(pid, "a full state directory (RLIMIT_FSIZE)");
	expect_state_untouched(1);
}
END_TEST

/* Not a number in the counter: ECONFIG, the bytes left exactly as they
 * were (never a silent reset to 0). */
static const struct {
	const char *text;
	size_t len;
} bad_counters[] = {
	{"7\0\n", 3},
	{"\n\n", 2},
	{"7\n8\n", 4},
	{"\xff", 1},
	{"\xd9\xa3", 2}, /* ARABIC-INDIC DIGIT THREE */
	{"7\r\n", 3},
	/* 64 zeros then 7: a reader of the first 64 bytes sees 0 */
	{"0000000000000000000000000000000000000000000000000000000000000000"
	 "7\n",
	 66},
};

START_TEST(test_bad_counter_is_econfig_and_left_alone)
{
	char path[FU_PATH_SIZE];
	tu_stream s;
	pid_t pid;

	tu_stream_init(&s);
	tu_stream_add(&s, "zero", 4, 0);
	write_at(pipe_dir, "train_0", s.p, s.len);
	write_at(pipe_dir, "train_7", s.p, s.len);
	tu_stream_free(&s);
	state_path(path, sizeof(path), "train");
	write_at(state_dir, ".train-pipe_mode-state", bad_counters[_i].text,
		 bad_counters[_i].len);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		fu_child_alarm(CHILD_ALARM);
		_exit(child_open_fails(PIPEMODE_ECONFIG,
				       ".train-pipe_mode-state"));
	}
	expect_open_fails(pid, "a counter that is not a number");
	ck_assert_msg(file_is(path, bad_counters[_i].text, bad_counters[_i].len),
		      "the counter file changed");
}
END_TEST

/* ================================================================= flip */

/* The read size of the seed-th try: every split matters, but a byte at a
 * time is slow, so only now and then. */
static size_t
flip_chunk(uint64_t seed)
{
	static const size_t sizes[] = {7, 4096, TU_WHOLE, 13, 1};

	return sizes[seed % 16 == 0 ? 4 : seed % 4];
}

/* The record of s whose bytes hold offset pos. */
static size_t
tf_record_at(const tu_stream *s, size_t pos)
{
	size_t j = 0;

	while (j + 1 < s->nrec && s->rec[j + 1].offset <= pos)
		j++;
	return j;
}

static void
build_flip_tf(tu_stream *s)
{
	uint64_t rng = 42;

	tu_stream_init(s);
	for (int i = 0; i < 24; i++)
		tu_stream_add_random(s, i == 11 ? 5000 : tu_rand(&rng) % 300,
				     500 + (uint64_t)i, 0);
}

/*
 * One byte flipped anywhere in a TFRecord stream: the CRCs catch every
 * one at its record (ECORRUPT in the 12 header bytes, ECRC in the payload
 * and its CRC); every record before it arrives intact.
 */
START_TEST(test_tfrecord_single_flip_is_caught_at_its_record)
{
	tu_stream s;
	unsigned char *p;
	tu_result res;

	build_flip_tf(&s);
	p = malloc(s.len);
	ck_assert_ptr_nonnull(p);
	for (uint64_t seed = 0; seed < 1000; seed++) {
		uint64_t rng = seed * 0x9e3779b97f4a7c15u + 1;
		size_t pos = tu_rand(&rng) % s.len, j;
		unsigned char x = (unsigned char)(1 + tu_rand(&rng) % 255);

		memcpy(p, s.p, s.len);
		p[pos] ^= x;
		j = tf_record_at(&s, pos);
		tu_read_mem(p, s.len, flip_chunk(seed),
			    seed % 3 == 0 ? "buffer_size=4K" : NULL, &res);
		tu_check_records(&res, &s, j, 0);
		tu_check_error(&res,
			       pos - s.rec[j].offset < 12 ? PIPEMODE_ECORRUPT
							  : PIPEMODE_ECRC,
			       j, s.rec[j].offset);
		tu_result_free(&res);
	}
	free(p);
	tu_stream_free(&s);
}
END_TEST

/* A few bytes flipped: the first damaged record is where it stops. */
START_TEST(test_tfrecord_several_flips_never_pass_as_good)
{
	tu_stream s;
	unsigned char *p;
	tu_result res;

	build_flip_tf(&s);
	p = malloc(s.len);
	ck_assert_ptr_nonnull(p);
	for (uint64_t seed = 0; seed < 800; seed++) {
		uint64_t rng = seed + 77777;
		int nflip = 2 + (int)(tu_rand(&rng) % 4);
		size_t first = s.len;
		int header = 0;

		memcpy(p, s.p, s.len);
		for (int f = 0; f < nflip; f++) {
			size_t pos = tu_rand(&rng) % s.len;

			p[pos] ^= (unsigned char)(1 + tu_rand(&rng) % 255);
			if (pos < first)
				first = pos;
		}
		if (memcmp(p, s.p, s.len) == 0)
			continue; /* two flips undid each other */
		/* the first damaged record (a byte flipped back is no
		 * damage) */
		first = 0;
		while (p[first] == s.p[first])
			first++;
		{
			size_t j = tf_record_at(&s, first);

			for (uint64_t b = s.rec[j].offset;
			     b < s.rec[j].offset + 12; b++)
				header |= p[b] != s.p[b];
			tu_read_mem(p, s.len, flip_chunk(seed), NULL,
				    &res);
			tu_check_records(&res, &s, j, 0);
			tu_check_error(&res,
				       header ? PIPEMODE_ECORRUPT : PIPEMODE_ECRC,
				       j, s.rec[j].offset);
		}
		tu_result_free(&res);
	}
	free(p);
	tu_stream_free(&s);
}
END_TEST

/* With skip_corrupt, damaged payloads are skipped and counted: what
 * arrives is exactly the undamaged records, at their own indexes. */
START_TEST(test_tfrecord_flips_skipped_are_exactly_the_damaged)
{
	tu_stream s;
	unsigned char *p;
	tu_result res;
	pipemode_stats st;

	build_flip_tf(&s);
	p = malloc(s.len);
	ck_assert_ptr_nonnull(p);
	for (uint64_t seed = 0; seed < 300; seed++) {
		uint64_t rng = seed + 31337;
		int damaged[64] = {0}, ndamaged = 0;
		size_t k = 0;

		memcpy(p, s.p, s.len);
		for (int f = 0; f < 3; f++) {
			size_t j = tu_rand(&rng) % s.nrec;
			size_t span = s.rec[j].len + 4; /* payload and CRC */
			size_t pos = (size_t)s.rec[j].offset + 12 +
				     tu_rand(&rng) % span;

			p[pos] ^= (unsigned char)(1 + tu_rand(&rng) % 255);
		}
		for (size_t j = 0; j < s.nrec; j++) {
			damaged[j] = memcmp(p + s.rec[j].offset, s.p + s.rec[j].offset,
					    (size_t)(tu_stream_rec_end(&s, j) -
						     s.rec[j].offset)) != 0;
			ndamaged += damaged[j];
		}
		st = tu_read_mem(p, s.len, flip_chunk(seed),
				 "skip_corrupt=100", &res);
		ck_assert_msg(res.rc == PIPEMODE_EOF, "seed %llu: %s",
			      (unsigned long long)seed, res.errmsg);
		for (size_t j = 0; j < s.nrec; j++) {
			if (damaged[j])
				continue;
			ck_assert_msg(k < res.n, "record %zu missing", j);
			ck_assert_uint_eq(res.v[k].index, j);
			ck_assert(res.v[k].len == s.rec[j].len &&
				  memcmp(res.v[k].data, tu_stream_payload(&s, j),
					 s.rec[j].len) == 0);
			k++;
		}
		ck_assert_uint_eq(res.n, k);
		ck_assert_uint_eq(st.skipped, (uint64_t)ndamaged);
		tu_result_free(&res);
	}
	free(p);
	tu_stream_free(&s);
}
END_TEST

/* ------------------------------------------------------- recordio flips */

/* A RecordIO reader from the format's description (README "Formats"):
 * the records and final code (with its index) a stream gives in concat
 * mode.  The checks come in the documented order: magic, flag, sequence,
 * size, then whether the part is all there. */
typedef struct ref_rec {
	size_t start, len; /* into joined */
} ref_rec;

typedef struct ref_out {
	tu_buf joined;
	ref_rec rec[128];
	size_t n;
	int rc;
	size_t index;
} ref_out;

static void
ref_recordio(const unsigned char *p, size_t len, uint64_t max, ref_out *o)
{
	size_t pos = 0, start = 0;
	int open = 0;

	memset(o, 0, sizeof(*o));
	for (;;) {
		uint32_t lrec, plen, flag;
		size_t padded;

		if (len - pos < 8) {
			o->rc = len == pos && !open ? PIPEMODE_EOF
						    : PIPEMODE_ETRUNCATED;
			break;
		}
		if ((uint32_t)(p[pos] | p[pos + 1] << 8 | p[pos + 2] << 16 |
			       (uint32_t)p[pos + 3] << 24) != TU_RIO_MAGIC) {
			o->rc = PIPEMODE_ECORRUPT;
			break;
		}
		lrec = (uint32_t)(p[pos + 4] | p[pos + 5] << 8 |
				  p[pos + 6] << 16 |
				  (uint32_t)p[pos + 7] << 24);
		flag = lrec >> 29;
		plen = lrec & ((1u << 29) - 1);
		if (flag > 3 || (open && flag < 2) || (!open && flag >= 2)) {
			o->rc = PIPEMODE_ECORRUPT;
			break;
		}
		if (!open)
			start = o->joined.len;
		if ((uint64_t)(o->joined.len - start) + plen > max) {
			o->rc = PIPEMODE_ETOOBIG;
			break;
		}
		padded = ((size_t)plen + 3) & ~(size_t)3;
		if (len - pos - 8 < padded) {
			o->rc = PIPEMODE_ETRUNCATED;
			break;
		}
		tu_buf_add(&o->joined, p + pos + 8, plen);
		pos += 8 + padded;
		open = flag == 1 || flag == 2;
		if (!open) {
			ck_assert_uint_lt(o->n, NELEM(o->rec));
			o->rec[o->n].start = start;
			o->rec[o->n].len = o->joined.len - start;
			o->n++;
		}
	}
	o->index = o->n;
}

/*
 * One byte flipped in a RecordIO stream.  RecordIO has no CRC: a flip in
 * a payload comes out as a different payload, by design.  What the
 * library must do is what the format says: exactly the records and the
 * error (code and index) the reference reader gives, which reports every
 * damaged magic and every impossible sequence of parts.  Damage in a
 * magic word is always reported at its record.
 */
/* Small records of every padding, and records in parts. */
static void
build_flip_rio(tu_rio *s)
{
	static const size_t a[] = {3, 0, 5}, b[] = {0, 0}, c[] = {70, 1, 2},
			    d[] = {4, 4, 4, 4};
	uint64_t rng = 9;

	tu_rio_init(s);
	for (int i = 0; i < 40; i++) {
		switch (i % 8) {
		case 1:
			rio_add_random_parts(s, a, 3, 900 + (uint64_t)i);
			break;
		case 3:
			rio_add_random_parts(s, b, 2, 900 + (uint64_t)i);
			break;
		case 5:
			rio_add_random_parts(s, c, 3, 900 + (uint64_t)i);
			break;
		case 7:
			rio_add_random_parts(s, d, 4, 900 + (uint64_t)i);
			break;
		default:
			tu_rio_add_random(s, tu_rand(&rng) % 200,
					  900 + (uint64_t)i);
		}
	}
}

START_TEST(test_recordio_flips_are_read_as_the_format_says)
{
	tu_rio s;
	unsigned char *p;
	tu_result res;
	ref_out *ref = malloc(sizeof(*ref));
	int reported = 0, payload = 0;

	ck_assert_ptr_nonnull(ref);
	build_flip_rio(&s);
	p = malloc(s.len);
	ck_assert_ptr_nonnull(p);
	for (uint64_t seed = 0; seed < 1000; seed++) {
		uint64_t rng = seed * 7 + 3;
		size_t pos, part = 0, rec = 0;

		/* most flips in the framing, some anywhere */
		if (seed % 4 == 0) {
			pos = tu_rand(&rng) % s.len;
		} else {
			part = tu_rand(&rng) % s.nparts;
			pos = (size_t)s.part_off[part] + tu_rand(&rng) % 8;
		}
		memcpy(p, s.p, s.len);
		p[pos] ^= (unsigned char)(1 + tu_rand(&rng) % 255);
		ref_recordio(p, s.len, (uint64_t)256 << 20, ref);
		tu_read_mem(p, s.len, flip_chunk(seed),
			    "format=recordio", &res);
		ck_assert_msg(res.n == ref->n,
			      "flip at %zu: %zu records, the format says %zu "
			      "(%s)", pos, res.n, ref->n, res.errmsg);
		for (size_t i = 0; i < ref->n; i++)
			ck_assert_msg(res.v[i].len == ref->rec[i].len &&
					      memcmp(res.v[i].data,
						     ref->joined.p +
							     ref->rec[i].start,
						     res.v[i].len) == 0,
				      "flip at %zu: record %zu differs from "
				      "what the format says", pos, i);
		ck_assert_msg(res.rc == ref->rc && res.index == ref->index,
			      "flip at %zu: %s at record %llu, the format "
			      "says %s at %zu (%s)", pos,
			      pipemode_code_name(res.rc),
			      (unsigned long long)res.index,
			      pipemode_code_name(ref->rc), ref->index,
			      res.errmsg);
		/* a damaged magic: reported at the record it belongs to */
		while (part + 1 < s.nparts && s.part_off[part + 1] <= pos)
			part++;
		while (rec + 1 < s.nrec && s.rec[rec + 1].offset <= pos)
			rec++;
		if (pos - s.part_off[part] < 4) {
			tu_rio_check_records(&res, &s, rec, 0);
			tu_check_error(&res, PIPEMODE_ECORRUPT, rec,
				       s.rec[rec].offset);
		}
		reported += res.rc != PIPEMODE_EOF;
		payload += res.rc == PIPEMODE_EOF;
		tu_result_free(&res);
		tu_buf_free(&ref->joined);
	}
	printf("recordio flips: %d reported, %d read as different payloads "
	       "(undetectable by design)\n", reported, payload);
	free(p);
	free(ref);
	tu_rio_free(&s);
}
END_TEST

/* ----------------------------------------------------------- gzip flips */

/*
 * One byte flipped in a gzip stream: unless zlib (the reference) inflates
 * the damaged stream to exactly the original bytes (a flip in the header's
 * MTIME, XFL or OS, or in unused bits), the reader must report an error,
 * at the gzip CRC32 trailer at the latest.  Inside, TFRecord's own CRCs
 * keep a damaged record from ever being handed out; lines have none, so
 * for them only the final error is asserted.
 */
#define NGZFLIPS 600

START_TEST(test_gzip_flips_are_reported_by_the_end)
{
	int is_lines = _i == 1;
	tu_stream s;
	lines l;
	const unsigned char *plain;
	size_t plain_len, gzlen, harmless = 0;
	unsigned char *gz, *p;
	tu_result res;

	build_flip_tf(&s);
	build_lines(&l);
	plain = is_lines ? l.b.p : s.p;
	plain_len = is_lines ? l.b.len : s.len;
	gz = fu_gzip(plain, plain_len, NULL, 0, &gzlen, NULL);
	p = malloc(gzlen);
	ck_assert_ptr_nonnull(p);
	for (uint64_t seed = 0; seed < NGZFLIPS; seed++) {
		uint64_t rng = seed * 13 + 5;
		/* a third of the flips in the header and trailer */
		size_t pos = seed % 3 == 0 ? (seed % 2 ? tu_rand(&rng) % 10
						       : gzlen - 1 -
								 tu_rand(&rng) % 8)
					   : tu_rand(&rng) % gzlen;
		unsigned char *out;
		size_t outlen;
		int whole;

		memcpy(p, gz, gzlen);
		p[pos] ^= (unsigned char)(1 + tu_rand(&rng) % 255);
		whole = fu_gunzip(p, gzlen, &out, &outlen);
		tu_read_mem(p, gzlen, flip_chunk(seed),
			    is_lines ? "format=lines,compression=gzip"
				     : "compression=gzip",
			    &res);
		if (whole == 1 && outlen == plain_len &&
		    memcmp(out, plain, plain_len) == 0) {
			harmless++;
			ck_assert_msg(res.rc == PIPEMODE_EOF,
				      "harmless flip at %zu: %s", pos,
				      res.errmsg);
		} else {
			ck_assert_msg(whole != 1,
				      "flip at %zu passes zlib's checks", pos);
			ck_assert_msg(res.rc != PIPEMODE_EOF,
				      "flip at %zu of %zu: not reported (%zu "
				      "records)", pos, gzlen, res.n);
		}
		if (!is_lines) {
			/* whatever came is intact, at its index */
			tu_check_records(&res, &s, res.n, 0);
		}
		tu_result_free(&res);
		free(out);
	}
	printf("gzip %s flips: %zu harmless of %d\n",
	       is_lines ? "lines" : "tfrecord", harmless, NGZFLIPS);
	free(p);
	free(gz);
	tu_buf_free(&l.b);
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
	tcase_add_checked_fixture(tc, test_setup, test_teardown);
	return tc;
}

static Suite *
fault_suite(void)
{
	Suite *s = suite_create("fault");
	TCase *tc;

	tc = new_tcase("cut", 120);
	tcase_add_test(tc, test_tfrecord_writer_dying_anywhere);
	tcase_add_test(tc, test_recordio_writer_dying_anywhere);
	tcase_add_test(tc, test_lines_writer_dying_anywhere);
	tcase_add_test(tc, test_gzip_tfrecord_writer_dying_anywhere);
	tcase_add_test(tc, test_gzip_lines_writer_dying_anywhere);
	suite_add_tcase(s, tc);

	tc = new_tcase("eintr", 60);
	tcase_add_loop_test(tc, test_signals_during_blocking_reads_change_nothing,
			    0, NELEM(eintr_cases));
	tcase_add_test(tc, test_signals_during_channel_open_change_nothing);
	tcase_add_loop_test(tc,
			    test_signals_during_blocking_writes_change_nothing,
			    0, 3);
	suite_add_tcase(s, tc);

	tc = new_tcase("nomem", 120);
	tcase_add_test(tc, test_nomem_callback_tfrecord);
	tcase_add_test(tc, test_nomem_callback_recordio_multipart);
	tcase_add_test(tc, test_nomem_callback_lines);
	tcase_add_test(tc, test_nomem_callback_gzip_auto);
	tcase_add_test(tc, test_nomem_callback_lines_gzip_auto);
	tcase_add_test(tc, test_nomem_callback_format_auto);
	tcase_add_test(tc, test_nomem_path);
	tcase_add_test(tc, test_nomem_channel_pipe_mode);
	tcase_add_test(tc, test_nomem_channel_file_mode);
	tcase_add_loop_test(tc, test_nomem_writer, 0, NELEM(writer_cases));
	suite_add_tcase(s, tc);

	tc = new_tcase("state", 60);
	tcase_add_loop_test(tc,
			    test_read_only_state_dir_is_eio_and_counter_unchanged,
			    0, 2);
	tcase_add_test(tc, test_full_state_dir_is_eio_and_counter_unchanged);
	tcase_add_loop_test(tc, test_bad_counter_is_econfig_and_left_alone, 0,
			    NELEM(bad_counters));
	suite_add_tcase(s, tc);

	tc = new_tcase("flip", 120);
	tcase_add_test(tc, test_tfrecord_single_flip_is_caught_at_its_record);
	tcase_add_test(tc, test_tfrecord_several_flips_never_pass_as_good);
	tcase_add_test(tc, test_tfrecord_flips_skipped_are_exactly_the_damaged);
	tcase_add_test(tc, test_recordio_flips_are_read_as_the_format_says);
	tcase_add_loop_test(tc, test_gzip_flips_are_reported_by_the_end, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	fm_init();
	sr = srunner_create(fault_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
