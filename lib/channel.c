/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SageMaker channels: pipemode_open(&r, "training", options).
 *
 * Opening a channel is: check the name, read the config, take the epoch
 * from the counter shared by every reader of the channel, then wait (for a
 * bounded time) for <pipe_dir>/<channel>_<epoch> and its writer, and hand
 * the descriptor to the reader.  In File mode the pass is instead the list
 * of files under <pipe_dir>/<channel>/.  Everything after the open is the
 * same reader as for a path.
 *
 * The counter lives where AWS's PipeModeDataset keeps it, so a program that
 * mixes both on one channel stays in step:
 *   <state_dir>/.<channel>-pipe_mode-state   ASCII decimal, the next epoch
 *   <state_dir>/.<channel>-pipe_mode-lock    flock()ed around each update
 * The new value is written to a temporary file and renamed over the old
 * one, so a crash leaves either the old or the new counter, never a torn or
 * reset one.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define CHANNEL_NAME_MAX 64
#define DEFAULT_PIPE_DIR "/opt/ml/input/data"
#define DEFAULT_STATE_DIR "/opt/ml/pipe_state"
#define DEFAULT_CONFIG_DIR "/opt/ml/input/config"
#define CONFIG_FILE "inputdataconfig.json"
/* Longest wait between two looks for a FIFO that is not there yet. */
#define POLL_MAX_NS (50u * 1000 * 1000)

enum input_mode { MODE_PIPE, MODE_FILE };

/* ---------------------------------------------------------------- options */

static int
set_dir(char **dst, const char *key, const char *value, char *msg,
	size_t msgsize)
{
	char *copy;

	if (value[0] == '\0') {
		pm_format(msg, msgsize, "option '%s': empty directory", key);
		return PIPEMODE_EOPTION;
	}
	copy = strdup(value);
	if (copy == NULL) {
		pm_format(msg, msgsize, "out of memory");
		return PIPEMODE_ENOMEM;
	}
	free(*dst);
	*dst = copy;
	return PIPEMODE_OK;
}

int
pm_channel_option(struct pm_channel_options *co, const char *key,
		  const char *value, char *msg, size_t msgsize)
{
	if (strcmp(key, "pipe_dir") == 0)
		return set_dir(&co->pipe_dir, key, value, msg, msgsize);
	if (strcmp(key, "state_dir") == 0)
		return set_dir(&co->state_dir, key, value, msg, msgsize);
	if (strcmp(key, "config_dir") == 0)
		return set_dir(&co->config_dir, key, value, msg, msgsize);
	if (strcmp(key, "epoch") == 0) {
		uint64_t v;
		int rc = pm_option_uint(key, value, INT64_MAX, &v, msg,
					msgsize);
		if (rc == PIPEMODE_OK)
			co->epoch = (int64_t)v;
		return rc;
	}
	if (strcmp(key, "open_timeout") == 0) {
		char *end;
		double v;
		/* strtod alone would take "inf", "nan", hex and blanks. */
		if (value[0] < '0' || value[0] > '9' ||
		    strspn(value, "0123456789.") != strlen(value))
			goto bad;
		errno = 0;
		v = strtod(value, &end);
		if (errno != 0 || *end != '\0' || !(v >= 0) || v > 1e9)
			goto bad;
		co->open_timeout = v;
		return PIPEMODE_OK;
bad:
		pm_format(msg, msgsize,
			  "option 'open_timeout': '%s' is not a number of "
			  "seconds (e.g. 120 or 0.5)",
			  value);
		return PIPEMODE_EOPTION;
	}
	pm_format(msg, msgsize, "option '%s': unknown option", key);
	return PIPEMODE_EOPTION;
}

/* SageMaker's rule, [A-Za-z0-9._-]{1,64}, less "." and ".." (which would
 * name the pipe directory or its parent in File mode). */
static int
valid_channel(const char *name)
{
	size_t i;

	for (i = 0; name[i] != '\0'; i++) {
		char c = name[i];
		if (i >= CHANNEL_NAME_MAX)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		      c == '_'))
			return 0;
	}
	return i > 0 && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/* Option, else environment, else default. */
static const char *
dir_of(const char *opt, const char *env, const char *def)
{
	const char *v;

	if (opt != NULL)
		return opt;
	v = getenv(env);
	return v != NULL && v[0] != '\0' ? v : def;
}

/* "<dir>/<a><b><c>", malloc'd. */
static char *
path_of(const char *dir, const char *a, const char *b, const char *c)
{
	size_t n = strlen(dir) + strlen(a) + strlen(b) + strlen(c) + 2;
	char *p = malloc(n);

	if (p != NULL)
		snprintf(p, n, "%s/%s%s%s", dir, a, b, c);
	return p;
}

/* ----------------------------------------------------------------- config */

/*
 * Read <config_dir>/inputdataconfig.json when it exists: the channel must
 * be in it; its TrainingInputMode and RecordWrapperType say how to read.
 */
static int
read_config(pipemode_reader *r, const char *config_dir, const char *channel,
	    int *mode, int *recordio, int *have_config)
{
	json_error_t jerr;
	json_t *root, *ch, *v;
	char *path = path_of(config_dir, CONFIG_FILE, "", "");
	int rc = PIPEMODE_OK;

	*have_config = 0;
	if (path == NULL)
		return pm_reader_open_failed(r, PIPEMODE_ENOMEM,
					     "out of memory");
	if (access(path, F_OK) != 0 && errno == ENOENT) {
		free(path);
		return PIPEMODE_OK;
	}
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
#if JANSSON_VERSION_HEX >= 0x020b00
	if (root == NULL && json_error_code(&jerr) == json_error_out_of_memory) {
		free(path);
		return pm_reader_open_failed(r, PIPEMODE_ENOMEM,
					     "out of memory reading the "
					     "channel config");
	}
#endif
	if (root == NULL) {
		rc = pm_reader_open_failed(r, PIPEMODE_ECONFIG,
					   "%s: line %d, column %d: %s", path,
					   jerr.line, jerr.column, jerr.text);
		free(path);
		return rc;
	}
	*have_config = 1;
	if (!json_is_object(root)) {
		rc = pm_reader_open_failed(r, PIPEMODE_ECONFIG,
					   "%s: not a JSON object of channels",
					   path);
		goto done;
	}
	ch = json_object_get(root, channel);
	if (ch == NULL) {
		char names[512] = "";
		const char *key;
		json_t *val;
		json_object_foreach(root, key, val) {
			size_t used = strlen(names);
			PM_UNUSED(val);
			pm_format(names + used, sizeof(names) - used, "%s%s",
				  used ? ", " : "", key);
		}
		rc = pm_reader_open_failed(r, PIPEMODE_ECONFIG,
					   "%s: no channel '%s' in it "
					   "(channels: %s)",
					   path, channel,
					   names[0] ? names : "none");
		goto done;
	}
	if (!json_is_object(ch)) {
		rc = pm_reader_open_failed(r, PIPEMODE_ECONFIG,
					   "%s: channel '%s' is not a JSON "
					   "object",
					   path, channel);
		goto done;
	}
	v = json_object_get(ch, "TrainingInputMode");
	if (v != NULL) {
		const char *m = json_string_value(v);
		if (m != NULL && strcasecmp(m, "Pipe") == 0)
			*mode = MODE_PIPE;
		else if (m != NULL && (strcasecmp(m, "File") == 0 ||
				       strcasecmp(m, "FastFile") == 0))
			*mode = MODE_FILE;
		else {
			rc = pm_reader_open_failed(
				r, PIPEMODE_ECONFIG,
				"%s: channel '%s': TrainingInputMode is not "
				"Pipe, File or FastFile",
				path, channel);
			goto done;
		}
	}
	v = json_object_get(ch, "RecordWrapperType");
	if (v != NULL) {
		const char *w = json_string_value(v);
		if (w != NULL && strcasecmp(w, "RecordIO") == 0)
			*recordio = 1;
		else if (w == NULL || strcasecmp(w, "None") != 0) {
			rc = pm_reader_open_failed(
				r, PIPEMODE_ECONFIG,
				"%s: channel '%s': RecordWrapperType is not "
				"None or RecordIO",
				path, channel);
			goto done;
		}
	}
done:
	json_decref(root);
	free(path);
	return rc;
}

/* ------------------------------------------------------------ the counter */

static int
mkdirs(char *path, mode_t mode)
{
	char *p;

	for (p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, mode) != 0 && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	if (mkdir(path, mode) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* Parse the counter: digits only, an optional final newline. */
static int
parse_counter(const char *buf, size_t n, int64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		uint64_t d = (uint64_t)(buf[i] - '0');
		if (buf[i] < '0' || buf[i] > '9')
			return -1;
		/* v stays below INT64_MAX, so the next epoch fits too. */
		if (v > ((uint64_t)INT64_MAX - 1 - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = (int64_t)v;
	return 0;
}

/*
 * Open one of the channel's state files, refusing anything but a regular
 * file: O_NOFOLLOW makes a planted symlink an error, and O_NONBLOCK keeps a
 * FIFO planted there from blocking the open (while the lock is held).
 */
static int
open_state_file(pipemode_reader *r, const char *path, int flags,
		const char *what, int *fdp)
{
	struct stat st;
	int fd;

	do
		fd = open(path, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
			  0644);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		*fdp = -1;
		if (errno == ENOENT && !(flags & O_CREAT))
			return PIPEMODE_OK;
		return pm_reader_open_failed(r, PIPEMODE_EIO,
					     "%s: cannot open the %s: %s", path,
					     what, strerror(errno));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		*fdp = -1;
		return pm_reader_open_failed(r, PIPEMODE_ECONFIG,
					     "%s: the %s is not a regular file",
					     path, what);
	}
	*fdp = fd;
	return PIPEMODE_OK;
}

/* Write the counter to a new file beside the state file and rename it
 * over, so that a crash leaves the old or the new value, never a torn or
 * empty one.  mkostemp's O_EXCL and random name make a planted link at the
 * temporary path useless. */
static int
write_counter(pipemode_reader *r, const char *state, const char *tmpl,
	      int64_t value)
{
	char out[32];
	char *tmp = strdup(tmpl);
	int len, fd, err = 0;

	if (tmp == NULL)
		return pm_reader_open_failed(r, PIPEMODE_ENOMEM,
					     "out of memory");
	len = snprintf(out, sizeof(out), "%lld\n", (long long)value);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		err = errno;
	} else {
		ssize_t n;
		do
			n = write(fd, out, (size_t)len);
		while (n < 0 && errno == EINTR);
		if (n != len)
			err = n < 0 ? errno : ENOSPC;
		else if (fchmod(fd, 0644) != 0)
			err = errno;
		if (close(fd) != 0 && err == 0)
			err = errno;
		if (err == 0 && rename(tmp, state) != 0)
			err = errno;
		if (err != 0)
			unlink(tmp);
	}
	free(tmp);
	if (err != 0)
		return pm_reader_open_failed(r, PIPEMODE_EIO,
					     "%s: cannot update the epoch "
					     "counter: %s",
					     state, strerror(err));
	return PIPEMODE_OK;
}

/*
 * Read the channel's counter and advance it, under the lock.  A counter
 * that is not a number is an error, never reset: a wrong epoch silently
 * repeats or skips data.
 */
static int
take_epoch(pipemode_reader *r, const char *state_dir, const char *channel,
	   int64_t *epoch)
{
	char *dir = strdup(state_dir);
	/* The names AWS's PipeModeDataset uses. */
	char *lock = path_of(state_dir, ".", channel, "-pipe_mode-lock");
	char *state = path_of(state_dir, ".", channel, "-pipe_mode-state");
	char *tmpl = path_of(state_dir, ".", channel,
			     "-pipe_mode-state.XXXXXX");
	char buf[64];
	int lockfd = -1, fd = -1, rc;
	ssize_t n;

	if (dir == NULL || lock == NULL || state == NULL || tmpl == NULL) {
		rc = pm_reader_open_failed(r, PIPEMODE_ENOMEM, "out of memory");
		goto out;
	}
	if (mkdirs(dir, 0755) != 0) {
		rc = pm_reader_open_failed(r, PIPEMODE_EIO,
					   "%s: cannot create the state "
					   "directory: %s",
					   state_dir, strerror(errno));
		goto out;
	}
	rc = open_state_file(r, lock, O_RDWR | O_CREAT, "lock file", &lockfd);
	if (rc != PIPEMODE_OK)
		goto out;
	while (flock(lockfd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			rc = pm_reader_open_failed(r, PIPEMODE_EIO,
						   "%s: cannot lock: %s", lock,
						   strerror(errno));
			goto out;
		}
	}

	rc = open_state_file(r, state, O_RDONLY, "state file", &fd);
	if (rc != PIPEMODE_OK)
		goto out;
	*epoch = 0;
	if (fd >= 0) {
		do
			n = read(fd, buf, sizeof(buf));
		while (n < 0 && errno == EINTR);
		if (n < 0)
			rc = pm_reader_open_failed(r, PIPEMODE_EIO,
						   "%s: cannot read: %s", state,
						   strerror(errno));
		/* A full buffer means more than any counter: not one. */
		else if ((size_t)n == sizeof(buf) ||
			 parse_counter(buf, (size_t)n, epoch) != 0)
			rc = pm_reader_open_failed(
				r, PIPEMODE_ECONFIG,
				"%s: the epoch counter is not a number; fix "
				"or remove the file",
				state);
		close(fd);
		if (rc != PIPEMODE_OK)
			goto out;
	}
	rc = write_counter(r, state, tmpl, *epoch + 1);
out:
	if (lockfd >= 0)
		close(lockfd); /* drops the lock */
	free(dir);
	free(lock);
	free(state);
	free(tmpl);
	return rc;
}

/* ------------------------------------------------------------ the pipe */

static void
sleep_ns(uint64_t ns)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ns / 1000000000u);
	ts.tv_nsec = (long)(ns % 1000000000u);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/*
 * Wait until path exists and, for a FIFO, until its writer has sent
 * something (or came and closed: an empty epoch).  Opening a FIFO
 * O_NONBLOCK never blocks; poll() then waits for the writer.  Linux reports
 * POLLHUP on a FIFO only after a writer has come, so a late writer is
 * waited for rather than read as a clean empty stream.
 */
static int
wait_and_open(pipemode_reader *r, const char *path, double timeout,
	      int *fdp, uint64_t *waited)
{
	uint64_t start = pm_now_ns();
	uint64_t limit = (uint64_t)(timeout * 1e9);
	uint64_t pause = 1000000; /* 1 ms, doubling */
	struct stat st;
	int fd;

	for (;;) {
		uint64_t spent;
		if (stat(path, &st) == 0)
			break;
		if (errno != ENOENT)
			return pm_reader_open_failed(r, PIPEMODE_EIO,
						     "%s: %s", path,
						     strerror(errno));
		spent = pm_now_ns() - start;
		if (spent >= limit)
			return pm_reader_open_failed(
				r, PIPEMODE_ETIMEDOUT,
				"%s: timed out after %g s (open_timeout) "
				"waiting for the FIFO to appear: is the "
				"channel in Pipe mode, and is SageMaker (or "
				"pipemode feed) writing it?",
				path, timeout);
		sleep_ns(pause < limit - spent ? pause : limit - spent);
		if (pause < POLL_MAX_NS)
			pause *= 2;
	}
	if (S_ISDIR(st.st_mode))
		return pm_reader_open_failed(r, PIPEMODE_EIO,
					     "%s: is a directory", path);

	do
		fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return pm_reader_open_failed(r, PIPEMODE_EIO,
					     "%s: cannot open: %s", path,
					     strerror(errno));
	if (S_ISFIFO(st.st_mode)) {
		for (;;) {
			struct pollfd p = {fd, POLLIN, 0};
			uint64_t spent = pm_now_ns() - start;
			int ms, n;
			if (spent >= limit)
				ms = 0;
			else
				ms = (int)((limit - spent + 999999) / 1000000);
			n = poll(&p, 1, ms);
			if (n > 0)
				break;
			if (n < 0 && errno == EINTR)
				continue;
			if (n == 0 && pm_now_ns() - start < limit)
				continue;
			close(fd);
			if (n < 0)
				return pm_reader_open_failed(
					r, PIPEMODE_EIO, "%s: poll: %s", path,
					strerror(errno));
			return pm_reader_open_failed(
				r, PIPEMODE_ETIMEDOUT,
				"%s: timed out after %g s (open_timeout) "
				"waiting for the FIFO's writer",
				path, timeout);
		}
	}
	/* Reads block from here on, as for any file. */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
		int err = errno;
		close(fd);
		return pm_reader_open_failed(r, PIPEMODE_EIO, "%s: fcntl: %s",
					     path, strerror(err));
	}
	*fdp = fd;
	*waited = pm_now_ns() - start;
	return PIPEMODE_OK;
}

/* ----------------------------------------------------------- File mode */

struct file_list {
	char **paths;
	size_t n, cap;
};

static int
list_add(struct file_list *l, char *path)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **grown = realloc(l->paths, cap * sizeof(*grown));
		if (grown == NULL)
			return -1;
		l->paths = grown;
		l->cap = cap;
	}
	l->paths[l->n++] = path;
	return 0;
}

static void
list_free(struct file_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->paths[i]);
	free(l->paths);
}

/* Regular files under dir, recursively; directories reached through
 * symlinks are not followed (no loops). */
static int
walk(const char *dir, struct file_list *l, int depth)
{
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (depth > 64) {
		errno = ELOOP;
		return -1;
	}
	d = opendir(dir);
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		char *path;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		path = path_of(dir, e->d_name, "", "");
		if (path == NULL) {
			rc = -1;
			break;
		}
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			rc = walk(path, l, depth + 1);
			free(path);
			if (rc != 0)
				break;
			continue;
		}
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
			free(path);
			continue;
		}
		if (list_add(l, path) != 0) {
			free(path);
			rc = -1;
			break;
		}
	}
	closedir(d);
	return rc;
}

static int
cmp_paths(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ------------------------------------------------------------- the open */

int
pipemode_open(pipemode_reader **rp, const char *channel, const char *options)
{
	pipemode_reader *r;
	struct pm_channel_options *co;
	const char *pipe_dir, *state_dir, *config_dir;
	int mode = MODE_PIPE, recordio = 0, have_config = 0, rc, fd = -1;
	char *dir_path = NULL, *path = NULL, suffix[32];
	struct stat st;
	int64_t epoch = 0;
	uint64_t waited = 0;

	if (rp == NULL)
		return PIPEMODE_EINVAL;
	*rp = r = pm_reader_alloc();
	if (r == NULL)
		return PIPEMODE_ENOMEM;
	pm_reader_allow_channel(r);
	if (channel == NULL)
		return pm_reader_open_failed(r, PIPEMODE_EINVAL,
					     "channel name is NULL");
	if (!valid_channel(channel))
		return pm_reader_open_failed(
			r, PIPEMODE_EINVAL,
			"channel '%.80s%s': not a channel name (1 to 64 of "
			"A-Z a-z 0-9 . - _, not '.' or '..')",
			channel, strlen(channel) > 80 ? "..." : "");
	rc = pm_reader_parse(r, options, channel);
	if (rc != PIPEMODE_OK)
		return rc;
	co = pm_reader_channel(r);
	pipe_dir = dir_of(co->pipe_dir, "PIPEMODE_PIPE_DIR", DEFAULT_PIPE_DIR);
	state_dir = dir_of(co->state_dir, "PIPEMODE_STATE_DIR",
			   DEFAULT_STATE_DIR);
	config_dir = dir_of(co->config_dir, "PIPEMODE_CONFIG_DIR",
			    DEFAULT_CONFIG_DIR);

	rc = read_config(r, config_dir, channel, &mode, &recordio,
			 &have_config);
	if (rc != PIPEMODE_OK)
		return rc;
	dir_path = path_of(pipe_dir, channel, "", "");
	if (dir_path == NULL)
		return pm_reader_open_failed(r, PIPEMODE_ENOMEM,
					     "out of memory");
	/* Without a config, a directory where the FIFOs would be says File
	 * mode, as SageMaker lays it out. */
	if (!have_config && stat(dir_path, &st) == 0 && S_ISDIR(st.st_mode))
		mode = MODE_FILE;
	if (recordio && !pm_reader_format_given(r)) {
		rc = pm_reader_set_format(r, "recordio");
		if (rc != PIPEMODE_OK)
			goto out;
	}
	rc = pm_reader_prepare(r);
	if (rc != PIPEMODE_OK)
		goto out;

	if (co->epoch >= 0) {
		epoch = co->epoch;
	} else {
		rc = take_epoch(r, state_dir, channel, &epoch);
		if (rc != PIPEMODE_OK)
			goto out;
	}

	if (mode == MODE_FILE) {
		struct file_list l = {NULL, 0, 0};
		if (walk(dir_path, &l, 0) != 0) {
			int err = errno;
			list_free(&l);
			rc = pm_reader_open_failed(r, PIPEMODE_EIO,
						   "%s: cannot list the "
						   "channel's files: %s",
						   dir_path, strerror(err));
			goto out;
		}
		if (l.n > 1)
			qsort(l.paths, l.n, sizeof(*l.paths), cmp_paths);
		pm_reader_set_epoch(r, epoch, 0);
		rc = pm_reader_set_files(r, l.paths, l.n);
		goto out;
	}

	snprintf(suffix, sizeof(suffix), "_%lld", (long long)epoch);
	path = path_of(pipe_dir, channel, suffix, "");
	if (path == NULL) {
		rc = pm_reader_open_failed(r, PIPEMODE_ENOMEM, "out of memory");
		goto out;
	}
	if (pm_reader_set_name(r, path) != PIPEMODE_OK) {
		rc = pm_reader_open_failed(r, PIPEMODE_ENOMEM, "out of memory");
		goto out;
	}
	rc = wait_and_open(r, path, co->open_timeout, &fd, &waited);
	if (rc != PIPEMODE_OK)
		goto out;
	pm_reader_set_epoch(r, epoch, waited);
	rc = pm_reader_attach_fd(r, fd, 1);
out:
	free(dir_path);
	free(path);
	return rc;
}
