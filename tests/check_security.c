/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Security properties.
 *
 *  names   A channel name cannot reach outside the pipe directory: every
 *          name SageMaker's rule refuses is refused before anything is
 *          touched (inotify watches the directories around the pipe
 *          directory: not one event), and the odd names it allows stay
 *          inside.
 *  state   The state files are not world-writable and nothing planted at
 *          their paths (a symlink, a hard link, a FIFO, a directory) is
 *          written through, followed, or hangs the open.
 *  fds     No descriptor the library opens leaks into a child process
 *          (the test execs itself to list what it inherited), and none
 *          outlives pipemode_close.
 *  limits  max_record_size bounds every allocation the input drives: a
 *          TFRecord length of 2^40, RecordIO parts adding up past it, a
 *          line longer than it, a gzip bomb.  The largest allocation is
 *          measured through failmalloc.h, the peak RSS through VmHWM.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "failmalloc.h"
#include "faultutil.h"
#include "testutil.h"

#define CHILD_ALARM 60
#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define OPTS_SIZE 16384
#define MiB ((size_t)1 << 20)

/* ============================================================ directories */

/*
 * root (per tcase) / t-XXXXXX (per test) = outer:
 *   outer/box/pipes    pipe_dir
 *   outer/box/state    state_dir
 *   outer/box/config   config_dir (empty)
 * so that outer and box are the directories an escape would reach.
 */
static char root[FU_PATH_SIZE];
static char outer[FU_PATH_SIZE];
static char box[FU_PATH_SIZE];
static char pipe_dir[FU_PATH_SIZE];
static char state_dir[FU_PATH_SIZE];
static char config_dir[FU_PATH_SIZE];

static void
root_setup(void)
{
	const char *tmp = getenv("TMPDIR");

	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(root, sizeof(root), "%s/pipemode-sec-XXXXXX", tmp);
	if (mkdtemp(root) == NULL) {
		perror(root);
		abort();
	}
}

static void
root_teardown(void)
{
	tu_rm_tree(root);
	root[0] = '\0';
}

static void
test_setup(void)
{
	fu_join(outer, sizeof(outer), root, "t-XXXXXX");
	ck_assert_msg(mkdtemp(outer) != NULL, "mkdtemp: %s", strerror(errno));
	fu_join(box, sizeof(box), outer, "box");
	fu_join(pipe_dir, sizeof(pipe_dir), box, "pipes");
	fu_join(state_dir, sizeof(state_dir), box, "state");
	fu_join(config_dir, sizeof(config_dir), box, "config");
	ck_assert_int_eq(fu_mkdirs(pipe_dir), 0);
	ck_assert_int_eq(fu_mkdirs(state_dir), 0);
	ck_assert_int_eq(fu_mkdirs(config_dir), 0);
}

static void
test_teardown(void)
{
}

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

/* dir/rel holds a TFRecord stream of the one record text. */
static void
write_record_file(const char *dir, const char *rel, const char *text)
{
	char path[FU_PATH_SIZE], parent[FU_PATH_SIZE];
	tu_stream s;

	fu_join(path, sizeof(path), dir, rel);
	snprintf(parent, sizeof(parent), "%s", path);
	*strrchr(parent, '/') = '\0';
	ck_assert_int_eq(fu_mkdirs(parent), 0);
	tu_stream_init(&s);
	tu_stream_add(&s, text, strlen(text), 0);
	tu_write_file(path, s.p, s.len);
	tu_stream_free(&s);
}

static void
write_text(const char *path, const char *text)
{
	tu_write_file(path, text, strlen(text));
}

static int
file_is(const char *path, const char *text)
{
	size_t len;
	unsigned char *got = tu_read_file(path, &len);
	int same = len == strlen(text) && memcmp(got, text, len) == 0;

	free(got);
	return same;
}

static void
special_path(char *buf, size_t size, const char *ch, const char *suffix)
{
	char rel[512];

	snprintf(rel, sizeof(rel), ".%s%s", ch, suffix);
	fu_join(buf, size, state_dir, rel);
}

/* ----------------------------------------------------------- snapshots */

/* Every entry under a directory: path, type, size, mode, mtime. */
static tu_buf snap_buf;

static int
snap_cb(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	char line[FU_PATH_SIZE + 128];
	int n;

	(void)type;
	(void)ftw;
	n = snprintf(line, sizeof(line), "%s %o %lld %lld.%09ld\n", path,
		     (unsigned)sb->st_mode, (long long)sb->st_size,
		     (long long)sb->st_mtim.tv_sec, sb->st_mtim.tv_nsec);
	tu_buf_add(&snap_buf, line, (size_t)n);
	return 0;
}

static char *
snapshot(const char *dir)
{
	char *s;

	memset(&snap_buf, 0, sizeof(snap_buf));
	ck_assert_int_eq(nftw(dir, snap_cb, 16, FTW_PHYS), 0);
	tu_buf_add(&snap_buf, "", 1);
	s = (char *)snap_buf.p;
	memset(&snap_buf, 0, sizeof(snap_buf));
	return s;
}

/* ------------------------------------------------------------- inotify */

typedef struct watch {
	int fd;
	const char *dirs[8];
	int wd[8];
	int n;
} watch;

static void
watch_start(watch *w, const char *const *dirs, int n)
{
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	ck_assert_msg(w->fd >= 0, "inotify_init1: %s", strerror(errno));
	w->n = n;
	for (int i = 0; i < n; i++) {
		w->dirs[i] = dirs[i];
		w->wd[i] = inotify_add_watch(w->fd, dirs[i], IN_ALL_EVENTS);
		ck_assert_msg(w->wd[i] >= 0, "inotify_add_watch %s: %s",
			      dirs[i], strerror(errno));
	}
}

/* Assert that nothing happened in the watched directories. */
static void
watch_expect_quiet(watch *w, const char *what)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n = read(w->fd, buf, sizeof(buf));

	if (n > 0) {
		const struct inotify_event *e = (const void *)buf;
		const char *dir = "?";

		for (int i = 0; i < w->n; i++)
			if (w->wd[i] == e->wd)
				dir = w->dirs[i];
		ck_abort_msg("%s: event %#x on %s/%s", what, (unsigned)e->mask,
			     dir, e->len > 0 ? e->name : "");
	}
	ck_assert_msg(n < 0 && errno == EAGAIN, "%s: inotify read: %s", what,
		      n < 0 ? strerror(errno) : "end");
	close(w->fd);
}

/* =================================================================== names */

static char long_name[5001];
static char name_65[66];

static const char *const bad_names[] = {
	"..", ".", "../x", "../box/x", "/x", "a/b", "x/../../x", "", "..\\x",
	"a\n", "a b", "%s%n%x%n", "tr\xd0\xb0in" /* Cyrillic a */, "train\\",
	"train:", "~", "$HOME", "a*", "x\t", "..%2fx", "\xff", "-/..", name_65,
	long_name,
};

/*
 * Refused before anything is touched: EINVAL, at once (no waiting for a
 * FIFO), a message naming the rule, and not one inotify event in the pipe,
 * state and config directories or the two above them.
 */
START_TEST(test_invalid_names_touch_nothing)
{
	const char *name = bad_names[_i];
	const char *dirs[] = {outer, box, pipe_dir, state_dir, config_dir};
	pipemode_reader *r = NULL;
	char *before, *after;
	double t0;
	watch w;
	int rc;

	memset(long_name, 'a', sizeof(long_name) - 1);
	memset(name_65, 'b', sizeof(name_65) - 1);
	/* decoys where an escape would land */
	write_record_file(outer, "x_0", "outside");
	write_record_file(box, "x_0", "outside");
	write_record_file(root, "x_0", "outside");
	before = snapshot(outer);
	watch_start(&w, dirs, NELEM(dirs));
	t0 = fu_now();
	rc = pipemode_open(&r, name, chan_opts("open_timeout=20"));
	ck_assert_msg(rc == PIPEMODE_EINVAL, "channel \"%.100s\": %s (%s)", name,
		      pipemode_code_name(rc), pipemode_errmsg(r));
	ck_assert_msg(fu_now() - t0 < 5, "the refusal waited");
	ck_assert_msg(strstr(pipemode_errmsg(r), "not a channel name") != NULL,
		      "%s", pipemode_errmsg(r));
	ck_assert_uint_lt(strlen(pipemode_errmsg(r)), 400);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	watch_expect_quiet(&w, name);
	after = snapshot(outer);
	ck_assert_msg(strcmp(before, after) == 0, "the tree changed:\n%s\n%s",
		      before, after);
	free(before);
	free(after);
}
END_TEST

static char name_64[65];

static const char *const odd_names[] = {
	"...", "..a", "a..", ".a", "-", "_", "-.", ".-", "....", name_64,
};

/*
 * Names the rule allows, however odd, open <pipe_dir>/<name>_0 and the
 * state files inside the state directory, and nothing else: no event in
 * the directories around, nothing created outside.
 */
START_TEST(test_odd_valid_names_stay_inside)
{
	const char *name = odd_names[_i];
	const char *dirs[] = {outer, box, config_dir};
	char rel[128], path[FU_PATH_SIZE], *before, *after;
	pipemode_reader *r = NULL;
	tu_result res;
	watch w;
	int rc;

	memset(name_64, 'c', sizeof(name_64) - 1);
	snprintf(rel, sizeof(rel), "%s_0", name);
	write_record_file(pipe_dir, rel, "inside");
	write_record_file(outer, "x_0", "outside");
	before = snapshot(outer);
	watch_start(&w, dirs, NELEM(dirs));
	rc = pipemode_open(&r, name, chan_opts("open_timeout=1"));
	ck_assert_msg(rc == PIPEMODE_OK, "channel \"%s\": %s", name,
		      pipemode_errmsg(r));
	ck_assert_int_eq(tu_read_all(r, &res), PIPEMODE_EOF);
	ck_assert_uint_eq(res.n, 1);
	ck_assert(res.v[0].len == 6 && memcmp(res.v[0].data, "inside", 6) == 0);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	watch_expect_quiet(&w, name);
	tu_result_free(&res);
	/* the counter is where it belongs */
	special_path(path, sizeof(path), name, "-pipe_mode-state");
	ck_assert_msg(file_is(path, "1\n"), "%s", path);
	/* outside pipes/ and state/ nothing changed */
	after = snapshot(outer);
	{
		char *a = before, *b = after;

		while (*a != '\0' || *b != '\0') {
			char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');

			if (strncmp(b, state_dir, strlen(state_dir)) == 0) {
				b = eb + 1; /* state files may change */
				continue;
			}
			if (strncmp(a, state_dir, strlen(state_dir)) == 0) {
				a = ea + 1;
				continue;
			}
			ck_assert_msg(ea != NULL && eb != NULL &&
					      ea - a == eb - b &&
					      memcmp(a, b, (size_t)(ea - a)) == 0,
				      "changed: %.*s", (int)(eb ? eb - b : 80),
				      b);
			a = ea + 1;
			b = eb + 1;
		}
	}
	free(before);
	free(after);
}
END_TEST

/* File mode for a name of dots: the directory <pipe_dir>/... and only
 * it. */
START_TEST(test_file_mode_with_dotted_name_stays_inside)
{
	const char *dirs[] = {outer, box, config_dir};
	pipemode_reader *r = NULL;
	tu_result res;
	watch w;
	int rc;

	write_record_file(pipe_dir, ".../a.tfrecord", "inside a");
	write_record_file(pipe_dir, ".../b/c.tfrecord", "inside c");
	write_record_file(box, "a.tfrecord", "outside");
	watch_start(&w, dirs, NELEM(dirs));
	rc = pipemode_open(&r, "...", chan_opts("open_timeout=1"));
	ck_assert_msg(rc == PIPEMODE_OK, "%s", pipemode_errmsg(r));
	ck_assert_int_eq(tu_read_all(r, &res), PIPEMODE_EOF);
	ck_assert_uint_eq(res.n, 2);
	ck_assert(memcmp(res.v[0].data, "inside a", 8) == 0);
	ck_assert(memcmp(res.v[1].data, "inside c", 8) == 0);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	watch_expect_quiet(&w, "...");
	tu_result_free(&res);
}
END_TEST

/* A pipe directory near PATH_MAX and the longest name: a clean error, no
 * overflow of any buffer (run under ASan or valgrind to see it). */
START_TEST(test_very_long_pipe_dir_is_a_clean_error)
{
	char dir[FU_PATH_SIZE + 64], opts[OPTS_SIZE];
	pipemode_reader *r = NULL;
	int rc;

	memset(name_64, 'c', sizeof(name_64) - 1);
	snprintf(dir, sizeof(dir), "%s/", outer);
	while (strlen(dir) + 11 < 4150)
		strcat(dir, "0123456789");
	opts[0] = '\0';
	fu_opt_add(opts, sizeof(opts), "pipe_dir", dir);
	fu_opt_add(opts, sizeof(opts), "state_dir", state_dir);
	fu_opt_add(opts, sizeof(opts), "config_dir", config_dir);
	fu_opt_add(opts, sizeof(opts), "open_timeout", "0");
	rc = pipemode_open(&r, name_64, opts);
	ck_assert_msg(rc == PIPEMODE_EIO || rc == PIPEMODE_ETIMEDOUT, "%s: %s",
		      pipemode_code_name(rc), pipemode_errmsg(r));
	ck_assert_str_ne(pipemode_errmsg(r), "");
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
}
END_TEST

/* =================================================================== state */

/* Created 0644 less the umask: with umask 0 still not world-writable, and
 * a state file someone left world-writable is replaced, not kept. */
START_TEST(test_state_files_are_never_world_writable)
{
	char sp[FU_PATH_SIZE], lp[FU_PATH_SIZE], dir[FU_PATH_SIZE];
	char opts[OPTS_SIZE];
	struct stat ss, ls, ds;
	pipemode_reader *r = NULL;
	mode_t old;
	int rc;

	write_record_file(pipe_dir, "train_0", "zero");
	write_record_file(pipe_dir, "train_2", "two");
	special_path(sp, sizeof(sp), "train", "-pipe_mode-state");
	special_path(lp, sizeof(lp), "train", "-pipe_mode-lock");
	write_text(sp, "2");
	ck_assert_int_eq(chmod(sp, 0666), 0);
	old = umask(0);
	rc = pipemode_open(&r, "train", chan_opts("open_timeout=1"));
	umask(old);
	ck_assert_msg(rc == PIPEMODE_OK, "%s", pipemode_errmsg(r));
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	ck_assert_int_eq(lstat(sp, &ss), 0);
	ck_assert_int_eq(lstat(lp, &ls), 0);
	ck_assert_msg(file_is(sp, "3\n"), "the counter did not advance");
	ck_assert_msg(S_ISREG(ss.st_mode) && (ss.st_mode & 0022) == 0,
		      "state file mode %o", (unsigned)ss.st_mode & 07777);
	ck_assert_msg(S_ISREG(ls.st_mode) && (ls.st_mode & 0022) == 0,
		      "lock file mode %o", (unsigned)ls.st_mode & 07777);

	/* a state directory the open makes, under umask 0 */
	fu_join(dir, sizeof(dir), box, "made/by/open");
	opts[0] = '\0';
	fu_opt_add(opts, sizeof(opts), "pipe_dir", pipe_dir);
	fu_opt_add(opts, sizeof(opts), "state_dir", dir);
	fu_opt_add(opts, sizeof(opts), "config_dir", config_dir);
	fu_opt_add(opts, sizeof(opts), "open_timeout", "1");
	old = umask(0);
	r = NULL;
	rc = pipemode_open(&r, "train", opts);
	umask(old);
	ck_assert_msg(rc == PIPEMODE_OK, "%s", pipemode_errmsg(r));
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	ck_assert_int_eq(stat(dir, &ds), 0);
	ck_assert_msg((ds.st_mode & 0022) == 0, "state directory mode %o",
		      (unsigned)ds.st_mode & 07777);
	fu_join(dir, sizeof(dir), box, "made/by");
	ck_assert_int_eq(stat(dir, &ds), 0);
	ck_assert_msg((ds.st_mode & 0022) == 0, "its parent's mode %o",
		      (unsigned)ds.st_mode & 07777);
}
END_TEST

/* What is planted where: a symlink (to a file, dangling, to a directory)
 * at the state file, the lock file or the temporary file the new counter
 * is written to (named after the process, so predictable). */
enum { AT_STATE, AT_LOCK, AT_TMP };
enum { TO_FILE, TO_NOTHING, TO_DIR };

static const struct {
	int at, to;
} planted[] = {
	{AT_STATE, TO_FILE}, {AT_STATE, TO_NOTHING}, {AT_STATE, TO_DIR},
	{AT_LOCK, TO_FILE},  {AT_LOCK, TO_NOTHING},  {AT_TMP, TO_FILE},
	{AT_TMP, TO_NOTHING},
};

static void
planted_path(char *buf, size_t size, int at)
{
	char suffix[128];

	if (at == AT_STATE)
		special_path(buf, size, "train", "-pipe_mode-state");
	else if (at == AT_LOCK)
		special_path(buf, size, "train", "-pipe_mode-lock");
	else {
		snprintf(suffix, sizeof(suffix), "-pipe_mode-state.%ld.tmp",
			 (long)getpid());
		special_path(buf, size, "train", suffix);
	}
}

START_TEST(test_symlinks_planted_are_not_followed)
{
	char link[FU_PATH_SIZE], target[FU_PATH_SIZE], sp[FU_PATH_SIZE];
	pipemode_reader *r = NULL;
	struct stat st;
	int rc;

	write_record_file(pipe_dir, "train_0", "zero");
	write_record_file(pipe_dir, "train_5", "five");
	fu_join(target, sizeof(target), outer, "target");
	if (planted[_i].to == TO_FILE)
		write_text(target, "5");
	else if (planted[_i].to == TO_DIR)
		ck_assert_int_eq(mkdir(target, 0700), 0);
	planted_path(link, sizeof(link), planted[_i].at);
	ck_assert_int_eq(symlink(target, link), 0);
	if (planted[_i].at == AT_TMP) {
		special_path(sp, sizeof(sp), "train", "-pipe_mode-state");
		write_text(sp, "0");
	}
	rc = pipemode_open(&r, "train", chan_opts("open_timeout=0.5"));
	if (planted[_i].at == AT_TMP) {
		/* The temporary file has a fresh random name (mkostemp), so
		 * a link at any name guessed in advance is simply not used:
		 * the open goes on and the counter advances. */
		ck_assert_msg(rc == PIPEMODE_OK, "%s: %s",
			      pipemode_code_name(rc), pipemode_errmsg(r));
	} else {
		ck_assert_msg(rc == PIPEMODE_EIO || rc == PIPEMODE_ECONFIG,
			      "%s: %s", pipemode_code_name(rc),
			      pipemode_errmsg(r));
		ck_assert_str_ne(pipemode_errmsg(r), "");
	}
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	ck_assert_int_eq(lstat(link, &st), 0);
	ck_assert_msg(S_ISLNK(st.st_mode), "the symlink was replaced");
	if (planted[_i].to == TO_FILE)
		ck_assert_msg(file_is(target, "5"), "the target was written");
	else if (planted[_i].to == TO_NOTHING)
		ck_assert_msg(lstat(target, &st) != 0 && errno == ENOENT,
			      "the target was created");
	else
		ck_assert_msg(lstat(target, &st) == 0 && S_ISDIR(st.st_mode),
			      "the target directory changed");
	if (planted[_i].at == AT_TMP)
		ck_assert_msg(file_is(sp, "1\n"), "the counter did not advance");
}
END_TEST

/*
 * A hard link to a file elsewhere, planted at the temporary file's
 * predictable name: the new counter must not be written into that file
 * (an O_EXCL create, or a fresh name, keeps it apart).  Either the open
 * fails or it succeeds; the other file keeps its bytes.
 */
START_TEST(test_hard_link_at_temp_file_is_not_written_through)
{
	char lnk[FU_PATH_SIZE], victim[FU_PATH_SIZE], sp[FU_PATH_SIZE];
	pipemode_reader *r = NULL;
	int rc;

	write_record_file(pipe_dir, "train_0", "zero");
	special_path(sp, sizeof(sp), "train", "-pipe_mode-state");
	write_text(sp, "0");
	fu_join(victim, sizeof(victim), outer, "victim");
	write_text(victim, "precious\n");
	planted_path(lnk, sizeof(lnk), AT_TMP);
	ck_assert_int_eq(link(victim, lnk), 0);
	rc = pipemode_open(&r, "train", chan_opts("open_timeout=0.5"));
	ck_assert_msg(rc == PIPEMODE_OK || rc == PIPEMODE_EIO, "%s: %s",
		      pipemode_code_name(rc), pipemode_errmsg(r));
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	ck_assert_msg(file_is(victim, "precious\n"),
		      "a file hard-linked at the temporary name was "
		      "overwritten with the counter");
}
END_TEST

/* A hard link at the state file itself is read, then replaced by the new
 * counter: the other file is left as it was. */
START_TEST(test_hard_link_at_state_file_is_replaced_not_written)
{
	char sp[FU_PATH_SIZE], victim[FU_PATH_SIZE];
	pipemode_reader *r = NULL;
	tu_result res;
	int rc;

	write_record_file(pipe_dir, "train_4", "four");
	fu_join(victim, sizeof(victim), outer, "victim");
	write_text(victim, "4\n");
	special_path(sp, sizeof(sp), "train", "-pipe_mode-state");
	ck_assert_int_eq(link(victim, sp), 0);
	rc = pipemode_open(&r, "train", chan_opts("open_timeout=1"));
	ck_assert_msg(rc == PIPEMODE_OK, "%s", pipemode_errmsg(r));
	ck_assert_int_eq(tu_read_all(r, &res), PIPEMODE_EOF);
	ck_assert_uint_eq(res.n, 1);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	tu_result_free(&res);
	ck_assert(file_is(sp, "5\n"));
	ck_assert_msg(file_is(victim, "4\n"), "the linked file was written");
}
END_TEST

/* Special files where the state or lock file goes: an error or a
 * success, at once; never a hang (a FIFO opened for reading blocks until
 * someone writes it).  In a child with an alarm. */
static const struct {
	int at;
	int fifo; /* else a directory */
} specials[] = {
	{AT_STATE, 1},
	{AT_STATE, 0},
	{AT_LOCK, 1},
	{AT_LOCK, 0},
};

START_TEST(test_special_files_at_state_paths_do_not_hang)
{
	char path[FU_PATH_SIZE];
	int status;
	pid_t pid;

	write_record_file(pipe_dir, "train_0", "zero");
	planted_path(path, sizeof(path), specials[_i].at);
	if (specials[_i].fifo)
		ck_assert_int_eq(mkfifo(path, 0600), 0);
	else
		ck_assert_int_eq(mkdir(path, 0700), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		pipemode_reader *r = NULL;
		int rc;

		fu_child_alarm(2);
		rc = pipemode_open(&r, "train", chan_opts("open_timeout=1"));
		fprintf(stderr, "%s %s: %s: %s\n",
			specials[_i].fifo ? "FIFO" : "directory",
			specials[_i].at == AT_STATE ? "at the state file"
						    : "at the lock file",
			pipemode_code_name(rc), pipemode_errmsg(r));
		_exit(rc == PIPEMODE_OK || rc == PIPEMODE_EIO ||
				      rc == PIPEMODE_ECONFIG
			      ? 0
			      : 10);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(!(WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM),
		      "pipemode_open hangs on a %s at the %s path",
		      specials[_i].fifo ? "FIFO" : "directory",
		      specials[_i].at == AT_STATE ? "state" : "lock");
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "status %#x", (unsigned)status);
}
END_TEST

/* ===================================================================== fds */

/* This program, for the fd tests to exec (found in main: under valgrind
 * /proc/self/exe is valgrind's, but readlink of it says the program). */
static char self_exe[FU_PATH_SIZE];

/* The helper the fd tests exec: print the descriptors it was given. */
static int
list_fds_main(void)
{
	int fds[256];
	int n = fu_list_fds(fds, 256);

	if (n < 0)
		return 2;
	for (int i = 0; i < n && i < 256; i++)
		printf("%s%d", i ? " " : "", fds[i]);
	printf("\n");
	return 0;
}

enum {
	FD_PATH,
	FD_FIFO,
	FD_GZIP,
	FD_CHANNEL,
	FD_FILE_MODE,
	FD_WRITER_PATH,
	FD_WRITER_GZIP,
	FD_READAHEAD,
};

static const char *const fd_kinds[] = {
	"path", "FIFO", "gzip file", "channel FIFO", "File mode",
	"writer", "gzip writer", "readahead",
};

static void
fd_fixture(void)
{
	char path[FU_PATH_SIZE];
	unsigned char *gz;
	size_t gzlen;
	tu_stream s;

	tu_stream_init(&s);
	tu_stream_add(&s, "one", 3, 0);
	tu_stream_add(&s, "two", 3, 0);
	fu_join(path, sizeof(path), box, "plain.tfrecord");
	tu_write_file(path, s.p, s.len);
	gz = fu_gzip(s.p, s.len, NULL, 0, &gzlen, NULL);
	fu_join(path, sizeof(path), box, "plain.tfrecord.gz");
	tu_write_file(path, gz, gzlen);
	free(gz);
	write_record_file(pipe_dir, "files/a.tfrecord", "a");
	write_record_file(pipe_dir, "files/b.tfrecord", "b");
	fu_join(path, sizeof(path), box, "x.fifo");
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	fu_join(path, sizeof(path), pipe_dir, "train_0");
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	tu_stream_free(&s);
}

/* In a child: open a handle of the kind (and read a record where there
 * are records), leaving it open.  0, or an exit status. */
static int
open_kind(int kind, pipemode_reader **r, pipemode_writer **w)
{
	char path[FU_PATH_SIZE + 64];
	const void *data;
	size_t len;
	int rc, fd;
	tu_stream s;

	switch (kind) {
	case FD_PATH:
	case FD_READAHEAD:
		snprintf(path, sizeof(path), "%s/plain.tfrecord", box);
		rc = pipemode_open_path(r, path,
					kind == FD_READAHEAD ? "readahead=64K"
							     : NULL);
		if (kind == FD_READAHEAD && rc == PIPEMODE_EOPTION)
			return 77; /* no readahead in this build */
		break;
	case FD_GZIP:
		snprintf(path, sizeof(path), "%s/plain.tfrecord.gz", box);
		rc = pipemode_open_path(r, path, "compression=gzip");
		break;
	case FD_FIFO:
	case FD_CHANNEL:
		/* a write end of our own (close-on-exec), with a record in
		 * it, so that neither open waits */
		if (kind == FD_FIFO)
			snprintf(path, sizeof(path), "%s/x.fifo", box);
		else
			snprintf(path, sizeof(path), "%s/train_0", pipe_dir);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return 3;
		tu_stream_init(&s);
		tu_stream_add(&s, "fifo", 4, 0);
		if (write(fd, s.p, s.len) != (ssize_t)s.len)
			return 4;
		tu_stream_free(&s);
		if (kind == FD_FIFO)
			rc = pipemode_open_path(r, path, NULL);
		else
			rc = pipemode_open(r, "train",
					   chan_opts("open_timeout=5"));
		break;
	case FD_FILE_MODE:
		rc = pipemode_open(r, "files", chan_opts("open_timeout=1"));
		break;
	case FD_WRITER_PATH:
	case FD_WRITER_GZIP:
		snprintf(path, sizeof(path), "%s/out%d", box, kind);
		rc = pipemode_writer_open_path(w, path,
					       kind == FD_WRITER_GZIP
						       ? "compression=gzip"
						       : NULL);
		if (rc == PIPEMODE_OK)
			rc = pipemode_write(*w, "x", 1);
		if (rc == PIPEMODE_OK)
			rc = pipemode_writer_flush(*w);
		if (rc != PIPEMODE_OK)
			fprintf(stderr, "%s\n", pipemode_writer_errmsg(*w));
		return rc == PIPEMODE_OK ? 0 : 5;
	default:
		return 6;
	}
	if (rc != PIPEMODE_OK) {
		fprintf(stderr, "%s: %s\n", fd_kinds[kind], pipemode_errmsg(*r));
		return 7;
	}
	if (pipemode_next(*r, &data, &len) != PIPEMODE_OK) {
		fprintf(stderr, "%s: %s\n", fd_kinds[kind], pipemode_errmsg(*r));
		return 8;
	}
	return 0;
}

/*
 * A child closes every descriptor above 2, opens a handle of the kind
 * (and reads a record), then execs this program to list what it
 * inherited: only 0, 1 and 2 may come through.
 */
START_TEST(test_no_descriptor_leaks_into_exec)
{
	char out[1024];
	int p[2], status;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	fd_fixture();
	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		pipemode_reader *r = NULL;
		pipemode_writer *w = NULL;
		char *argv[] = {(char *)"check_security", (char *)"--list-fds",
				NULL};
		int rc;

		fu_child_alarm(CHILD_ALARM);
		if (dup2(p[1], 1) != 1)
			_exit(2);
		fu_close_from(3);
		rc = open_kind(_i, &r, &w);
		if (rc != 0)
			_exit(rc);
		execv(self_exe, argv);
		_exit(9);
	}
	close(p[1]);
	while ((n = read(p[0], out + got, sizeof(out) - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
		printf("%s: skipped: the reader has no readahead option\n",
		       fd_kinds[_i]);
		return;
	}
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "%s: child status %#x", fd_kinds[_i], (unsigned)status);
	ck_assert_msg(strcmp(out, "0 1 2\n") == 0,
		      "%s: the exec'd program inherited descriptors: %s",
		      fd_kinds[_i], out);
}
END_TEST

/* Whatever pipemode_open and friends open, pipemode_close closes. */
START_TEST(test_close_leaves_no_descriptor)
{
	int before[256], after[256], nb, na, status;
	pid_t pid;

	fd_fixture();
	/* in a child: the FIFO kinds hold a write end of their own */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		pipemode_reader *r = NULL;
		pipemode_writer *w = NULL;
		int rc;

		fu_child_alarm(CHILD_ALARM);
		nb = fu_list_fds(before, 256);
		rc = open_kind(_i, &r, &w);
		if (rc != 0)
			_exit(rc);
		if (pipemode_close(r) != PIPEMODE_OK ||
		    pipemode_writer_close(w) != PIPEMODE_OK)
			_exit(10);
		na = fu_list_fds(after, 256);
		/* the FIFO kinds keep their own write end: one more */
		if (_i == FD_FIFO || _i == FD_CHANNEL)
			na--;
		if (na != nb) {
			fprintf(stderr, "%s: %d descriptors before, %d after\n",
				fd_kinds[_i], nb, na);
			_exit(11);
		}
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
		return;
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "%s: child status %#x", fd_kinds[_i], (unsigned)status);
}
END_TEST

/* ================================================================== limits */

/* Peak RSS since the last reset, in bytes (0 when /proc cannot say). */
static size_t
vm_hwm(void)
{
	char buf[4096], *p;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strstr(buf, "VmHWM:");
	return p != NULL ? (size_t)strtoull(p + 6, NULL, 10) * 1024 : 0;
}

/* Reset the peak RSS to the current RSS (Linux 4.0+); 0 or -1. */
static int
reset_hwm(void)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	int ok;

	if (fd < 0)
		return -1;
	ok = write(fd, "5", 1) == 1;
	close(fd);
	return ok ? 0 : -1;
}

/*
 * Read p[0..n) with options while measuring: the largest allocation the
 * library asked for, the most it held at once, and the growth of the peak
 * RSS.  Returns the final code; the index where it stopped goes to *index.
 */
typedef struct measured {
	int rc;
	uint64_t index;
	size_t records;
	size_t max_request, peak_bytes, rss_growth;
	char msg[1024];
} measured;

static void
read_measured(const void *p, size_t n, const char *options, measured *m)
{
	tu_src src;
	pipemode_reader *r = NULL;
	const void *data;
	size_t len, rss0;
	int rc;

	memset(m, 0, sizeof(*m));
	tu_src_init(&src, p, n, 65536);
	rss0 = reset_hwm() == 0 ? vm_hwm() : 0;
	fm_reset();
	fm_arm(0);
	rc = pipemode_open_callback(&r, tu_src_read, &src, options);
	if (rc == PIPEMODE_OK)
		while ((rc = pipemode_next(r, &data, &len)) == PIPEMODE_OK)
			m->records++;
	fm_disarm();
	m->rc = rc;
	m->index = pipemode_record_index(r);
	snprintf(m->msg, sizeof(m->msg), "%s", pipemode_errmsg(r));
	m->max_request = fm_max_request();
	m->peak_bytes = fm_peak_bytes();
	m->rss_growth = rss0 != 0 && vm_hwm() > rss0 ? vm_hwm() - rss0 : 0;
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
}

/*
 * Bounded by max_record_size, not by what the input declares or how much
 * of it there is: one allocation at most 2 x max (buffers grow
 * geometrically: the reader's by half, RecordIO's join buffer to the next
 * power of 2) and 3 x max held at once (a growing buffer and the one it
 * replaces), plus the fixed buffers (the reader's 256K, the inflater's
 * 128K input, 32K window and state).
 */
static void
expect_bounded(const measured *m, size_t max, const char *what)
{
	printf("%s: %s; largest allocation %zu, at most %zu live, peak RSS "
	       "+%zu (max_record_size %zu)\n",
	       what, pipemode_code_name(m->rc), m->max_request, m->peak_bytes,
	       m->rss_growth, max);
	ck_assert_msg(m->max_request <= 2 * max + 512 * 1024,
		      "%s: an allocation of %zu bytes with max_record_size "
		      "%zu", what, m->max_request, max);
	ck_assert_msg(m->peak_bytes <= 3 * max + MiB,
		      "%s: %zu bytes held at once with max_record_size %zu",
		      what, m->peak_bytes, max);
	ck_assert_msg(m->rss_growth <= 3 * max + 16 * MiB,
		      "%s: peak RSS grew by %zu bytes", what, m->rss_growth);
}

static const struct {
	uint64_t length;
	const char *options;
	size_t max;
} huge_lengths[] = {
	{(uint64_t)1 << 40, "max_record_size=1M", MiB},
	{UINT64_MAX, "max_record_size=1M", MiB},
	{MiB + 1, "max_record_size=1M", MiB},
	{(uint64_t)1 << 40, NULL, 256 * MiB},
	{(uint64_t)1 << 40, "max_record_size=1M,format=auto", MiB},
	{(uint64_t)1 << 40, "max_record_size=1M,compression=auto", MiB},
};

/* A header whose length CRC is right declares more than max_record_size:
 * ETOOBIG at record 1 before anything is allocated for it. */
START_TEST(test_tfrecord_huge_length_is_etoobig_without_allocating)
{
	tu_stream s;
	measured m;
	unsigned char *gz = NULL;
	const unsigned char *p;
	size_t n;

	tu_stream_init(&s);
	tu_stream_add(&s, "first", 5, 0);
	tu_stream_add_header(&s, huge_lengths[_i].length, 0);
	tu_stream_add_random(&s, 4096, 1, 0); /* what follows the header */
	p = s.p;
	n = s.len;
	if (_i == NELEM(huge_lengths) - 1) {
		gz = fu_gzip(s.p, s.len, NULL, 0, &n, NULL);
		p = gz;
	}
	read_measured(p, n, huge_lengths[_i].options, &m);
	ck_assert_msg(m.rc == PIPEMODE_ETOOBIG && m.index == 1,
		      "%s at %llu: %s", pipemode_code_name(m.rc),
		      (unsigned long long)m.index, m.msg);
	ck_assert_uint_eq(m.records, 1);
	/* far below the declared length, whatever the limit */
	expect_bounded(&m, huge_lengths[_i].max <= MiB ? huge_lengths[_i].max
						       : MiB,
		       "TFRecord length beyond max_record_size");
	free(gz);
	tu_stream_free(&s);
}
END_TEST

/* RecordIO parts, each small, whose sum passes max_record_size: ETOOBIG
 * at the part that passes it, memory bounded by the limit, not by the
 * number of parts. */
START_TEST(test_recordio_parts_beyond_max_are_etoobig)
{
	static const size_t part = 64 * 1024;
	/* and limits that are not powers of 2 */
	static const size_t maxes[] = {MiB, 1000000, MiB + 64 * 1024};
	const size_t max = maxes[_i];
	unsigned char *payload = malloc(part);
	char opts[128];
	tu_rio s;
	measured m;

	ck_assert_ptr_nonnull(payload);
	tu_fill(payload, part, 5);
	tu_rio_init(&s);
	tu_rio_add(&s, "ok", 2);
	tu_rio_part(&s, TU_RIO_FIRST, payload, part);
	for (int i = 0; i < 40; i++) /* 2.6 MB in all */
		tu_rio_part(&s, TU_RIO_MIDDLE, payload, part);
	tu_rio_part(&s, TU_RIO_LAST, payload, part);
	snprintf(opts, sizeof(opts), "format=recordio,max_record_size=%zu",
		 max);
	read_measured(s.p, s.len, opts, &m);
	ck_assert_msg(m.rc == PIPEMODE_ETOOBIG && m.index == 1, "%s at %llu: %s",
		      pipemode_code_name(m.rc), (unsigned long long)m.index,
		      m.msg);
	expect_bounded(&m, max, "RecordIO parts beyond max_record_size");
	free(payload);
	tu_rio_free(&s);
}
END_TEST

/* Any number of empty parts costs nothing. */
START_TEST(test_recordio_many_empty_parts_take_no_memory)
{
	tu_rio s;
	measured m;

	tu_rio_init(&s);
	tu_rio_part(&s, TU_RIO_FIRST, "a", 1);
	/* bare headers: tu_rio_part's bookkeeping grows by a realloc per
	 * part, quadratic under ASan */
	for (int i = 0; i < 200000; i++)
		tu_rio_header(&s, TU_RIO_MAGIC, (uint32_t)TU_RIO_MIDDLE << 29);
	tu_rio_part(&s, TU_RIO_LAST, "b", 1);
	read_measured(s.p, s.len, "format=recordio,max_record_size=1M", &m);
	ck_assert_msg(m.rc == PIPEMODE_EOF && m.records == 1, "%s: %s",
		      pipemode_code_name(m.rc), m.msg);
	expect_bounded(&m, 0, "200000 empty parts");
	tu_rio_free(&s);
}
END_TEST

/* A line longer than max_record_size, arriving without end: ETOOBIG once
 * the limit is passed, not an ever-growing buffer. */
START_TEST(test_line_longer_than_max_is_etoobig)
{
	size_t n = 10 * MiB;
	unsigned char *p = malloc(n);
	measured m;

	ck_assert_ptr_nonnull(p);
	memcpy(p, "short\n", 6);
	memset(p + 6, 'a', n - 6);
	read_measured(p, n,
		      _i == 0 ? "format=lines,max_record_size=1M"
			      : "format=lines,max_record_size=1M,strip_cr=1,"
				"buffer_size=4K",
		      &m);
	ck_assert_msg(m.rc == PIPEMODE_ETOOBIG && m.index == 1, "%s at %llu: %s",
		      pipemode_code_name(m.rc), (unsigned long long)m.index,
		      m.msg);
	expect_bounded(&m, MiB, "a line longer than max_record_size");
	free(p);
}
END_TEST

/* 64 MiB of zeros in 64 KB of gzip, read as one line, and as a TFRecord
 * stream (where the zeros are a length of 0 with a wrong CRC): memory
 * stays bounded whatever the ratio. */
START_TEST(test_gzip_bomb_is_bounded)
{
	size_t n = 64 * MiB, gzlen;
	unsigned char *zeros = calloc(1, n), *gz;
	measured m;

	ck_assert_ptr_nonnull(zeros);
	memcpy(zeros, "head\n", 5);
	gz = fu_gzip(zeros, n, NULL, 0, &gzlen, NULL);
	free(zeros);
	ck_assert_uint_lt(gzlen, MiB);
	read_measured(gz, gzlen,
		      "format=lines,compression=auto,max_record_size=1M", &m);
	ck_assert_msg(m.rc == PIPEMODE_ETOOBIG && m.index == 1, "%s at %llu: %s",
		      pipemode_code_name(m.rc), (unsigned long long)m.index,
		      m.msg);
	expect_bounded(&m, MiB, "a gzip bomb of one line");
	free(gz);
}
END_TEST

/* ==================================================================== main */

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
security_suite(void)
{
	Suite *s = suite_create("security");
	TCase *tc;

	tc = new_tcase("names", 60);
	tcase_add_loop_test(tc, test_invalid_names_touch_nothing, 0,
			    NELEM(bad_names));
	tcase_add_loop_test(tc, test_odd_valid_names_stay_inside, 0,
			    NELEM(odd_names));
	tcase_add_test(tc, test_file_mode_with_dotted_name_stays_inside);
	tcase_add_test(tc, test_very_long_pipe_dir_is_a_clean_error);
	suite_add_tcase(s, tc);

	tc = new_tcase("state", 60);
	tcase_add_test(tc, test_state_files_are_never_world_writable);
	tcase_add_loop_test(tc, test_symlinks_planted_are_not_followed, 0,
			    NELEM(planted));
	tcase_add_test(tc, test_hard_link_at_temp_file_is_not_written_through);
	tcase_add_test(tc, test_hard_link_at_state_file_is_replaced_not_written);
	tcase_add_loop_test(tc, test_special_files_at_state_paths_do_not_hang,
			    0, NELEM(specials));
	suite_add_tcase(s, tc);

	tc = new_tcase("fds", 60);
	tcase_add_loop_test(tc, test_no_descriptor_leaks_into_exec, 0,
			    NELEM(fd_kinds));
	tcase_add_loop_test(tc, test_close_leaves_no_descriptor, 0,
			    NELEM(fd_kinds));
	suite_add_tcase(s, tc);

	tc = new_tcase("limits", 60);
	tcase_add_loop_test(tc,
			    test_tfrecord_huge_length_is_etoobig_without_allocating,
			    0, NELEM(huge_lengths));
	tcase_add_loop_test(tc, test_recordio_parts_beyond_max_are_etoobig, 0,
			    3);
	tcase_add_test(tc, test_recordio_many_empty_parts_take_no_memory);
	tcase_add_loop_test(tc, test_line_longer_than_max_is_etoobig, 0, 2);
	tcase_add_test(tc, test_gzip_bomb_is_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int
main(int argc, char **argv)
{
	SRunner *sr;
	int failed;

	ssize_t n;

	if (argc == 2 && strcmp(argv[1], "--list-fds") == 0)
		return list_fds_main();
	n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (n > 0)
		self_exe[n] = '\0';
	else
		snprintf(self_exe, sizeof(self_exe), "%s", argv[0]);
	fm_init();
	sr = srunner_create(security_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
