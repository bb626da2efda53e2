/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Soak test: nothing lost, nothing repeated, nothing changed.
 *
 *   soak_test [--seconds N] [--seed S]
 *
 * (defaults: $SOAK_SECONDS or 5, $SOAK_SEED or 1; `make soak` runs it for
 * SOAK_SECONDS=300.)  It links testutil and faultutil but runs no Check
 * suite: only their helpers that assert nothing are used here.  Several SageMaker channels are served round after
 * round, one epoch of each per round, as SageMaker does: a FIFO per channel
 * and epoch, made by the feeder (sometimes only after the reader started
 * waiting for it) and fed by a forked writer.  Each channel has its own
 * framing and writer:
 *
 *   tf    TFRecord framed by the test, written in odd pieces
 *   rio   RecordIO with records cut into random parts (empty parts too),
 *         RecordIO the default through inputdataconfig.json
 *   gz    TFRecord from the library's writer, gzip, compression=auto
 *   zrio  RecordIO from the library's writer, zlib, compression=auto
 *
 * Records are 0 bytes to 3 MiB (more than a pipe holds).  Each record of
 * 48 bytes or more carries where it belongs (channel, epoch, sequence
 * number, length) and a checksum of itself; all of them are also compared
 * byte for byte with what the writer was given.  Readers are this process
 * (several channels open at once, read in turn, record by record or in
 * batches) and forked processes, all taking epochs from the shared
 * counter.  Each epoch must arrive whole, in order, exactly once, and end
 * cleanly; the counters must end where the rounds say.
 *
 * Everything comes from the seed: a failure is replayed with the same
 * --seed (and --seconds at least as long).  SOAK_KEEP=1 leaves the
 * directory (pipes, state, config) behind after a failure.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "faultutil.h"
#include "pipemode.h"
#include "testutil.h"

#define NCHANNELS 4
#define MAX_RECORDS 400
#define EPOCH_BYTES_CAP ((size_t)12 << 20)
#define HEADER 40  /* magic, channel, epoch, sequence, length */
#define TRAILER 8  /* FNV-1a 64 of everything before it */
#define MIN_SELF (HEADER + TRAILER)

static const char magic[8] = {'S', 'O', 'A', 'K', 'R', 'E', 'C', '1'};

enum { FRAME_TF, FRAME_RIO, WRITER_GZIP, WRITER_ZRIO };

static const struct channel {
	const char *name;
	int kind;
	const char *config;  /* its inputdataconfig.json entry */
	const char *options; /* the reader's */
} channels[NCHANNELS] = {
	{"tf", FRAME_TF, "{\"TrainingInputMode\": \"Pipe\"}", NULL},
	{"rio", FRAME_RIO,
	 "{\"TrainingInputMode\": \"Pipe\", \"RecordWrapperType\": \"RecordIO\"}",
	 NULL},
	{"gz", WRITER_GZIP, "{\"TrainingInputMode\": \"Pipe\"}",
	 "compression=auto"},
	{"zrio", WRITER_ZRIO,
	 "{\"TrainingInputMode\": \"Pipe\", \"RecordWrapperType\": \"RecordIO\"}",
	 "compression=auto"},
};

static uint64_t seed = 1;
static char root[FU_PATH_SIZE], pipe_dir[FU_PATH_SIZE];
static char state_dir[FU_PATH_SIZE], config_dir[FU_PATH_SIZE];
static int have_readahead = 1;

/* Totals, for the summary. */
static uint64_t total_records[NCHANNELS], total_bytes[NCHANNELS];
static uint64_t total_epochs[NCHANNELS];

/* The children of the round under way, killed if the run fails. */
static pid_t children[2 * NCHANNELS];
static int nchildren;
static pid_t main_pid;

static void
cleanup(void)
{
	if (getpid() != main_pid)
		return;
	for (int i = 0; i < nchildren; i++)
		if (children[i] > 0)
			kill(children[i], SIGKILL);
	if (root[0] != '\0' && getenv("SOAK_KEEP") == NULL)
		tu_rm_tree(root);
}

static void
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "soak (seed %llu): ", (unsigned long long)seed);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (getpid() != main_pid)
		_exit(1);
	exit(1);
}

static pid_t
track_child(pid_t pid)
{
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid > 0 && nchildren < (int)(sizeof(children) / sizeof(children[0])))
		children[nchildren++] = pid;
	return pid;
}

static uint64_t
mix(uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
	uint64_t st = a ^ 0x5851f42d4c957f2dull;

	st = tu_rand(&st) ^ b;
	st = tu_rand(&st) ^ c;
	st = tu_rand(&st) ^ d;
	return tu_rand(&st);
}

static uint64_t
fnv1a(const unsigned char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static void
put64(unsigned char *p, uint64_t v)
{
	tu_put_le64(p, v);
}

static uint64_t
get64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* ---------------------------------------------------------------- epochs */

/* What an epoch of a channel holds: the record lengths. */
typedef struct epoch_spec {
	size_t n;
	size_t len[MAX_RECORDS];
} epoch_spec;

static size_t
random_length(uint64_t *rng)
{
	uint64_t r = tu_rand(rng) % 100;

	if (r < 8)
		return 0;
	if (r < 38)
		return 1 + tu_rand(rng) % 63;
	if (r < 78)
		return 64 + tu_rand(rng) % 4033;
	if (r < 93)
		return 4096 + tu_rand(rng) % (252 * 1024);
	if (r < 98)
		return 256 * 1024 + tu_rand(rng) % (768 * 1024);
	return (1 << 20) + tu_rand(rng) % (2 << 20); /* past any pipe */
}

static void
make_spec(epoch_spec *sp, int ch, uint64_t epoch)
{
	uint64_t rng = mix(seed, (uint64_t)ch, epoch, 1);
	size_t want = tu_rand(&rng) % 100 < 3 ? 0 : 1 + tu_rand(&rng) % 300;
	size_t bytes = 0;

	sp->n = 0;
	while (sp->n < want && bytes < EPOCH_BYTES_CAP) {
		sp->len[sp->n] = random_length(&rng);
		bytes += sp->len[sp->n];
		sp->n++;
	}
}

/* Record k of an epoch, into p (len bytes). */
static void
make_record(unsigned char *p, size_t len, int ch, uint64_t epoch, size_t k)
{
	uint64_t s = mix(seed, (uint64_t)ch, epoch, 1000 + (uint64_t)k);

	if (len < MIN_SELF) {
		tu_fill(p, len, s);
		return;
	}
	memcpy(p, magic, 8);
	put64(p + 8, (uint64_t)ch);
	put64(p + 16, epoch);
	put64(p + 24, (uint64_t)k);
	put64(p + 32, (uint64_t)len);
	tu_fill(p + HEADER, len - MIN_SELF, s);
	put64(p + len - TRAILER, fnv1a(p, len - TRAILER));
}

/* ---------------------------------------------------------------- writers */

static const size_t odd_pieces[] = {1, 7, 13, 4093, 65537, 3, 1000003, 511, 0};

/* The stream of an epoch in the channel's own framing. */
static void
build_stream(int ch, uint64_t epoch, const epoch_spec *sp, tu_buf *out)
{
	uint64_t rng = mix(seed, (uint64_t)ch, epoch, 2);
	unsigned char *rec = NULL;
	size_t cap = 0;
	tu_stream s;
	tu_rio r;

	tu_stream_init(&s);
	tu_rio_init(&r);
	for (size_t k = 0; k < sp->n; k++) {
		size_t len = sp->len[k];

		if (len + 1 > cap) {
			cap = len + 1;
			rec = realloc(rec, cap);
			if (rec == NULL)
				die("out of memory");
		}
		make_record(rec, len, ch, epoch, k);
		if (channels[ch].kind == FRAME_TF) {
			tu_stream_add(&s, rec, len, 0);
		} else if (tu_rand(&rng) % 10 < 6) {
			tu_rio_add(&r, rec, len);
		} else {
			/* 2..6 parts, cut anywhere, empty ones allowed */
			size_t lens[6], nparts = 2 + tu_rand(&rng) % 5, left = len;

			for (size_t i = 0; i + 1 < nparts; i++) {
				lens[i] = left ? tu_rand(&rng) % (left + 1) : 0;
				if (tu_rand(&rng) % 4 == 0)
					lens[i] = 0;
				left -= lens[i];
			}
			lens[nparts - 1] = left;
			tu_rio_add_parts(&r, rec, len, lens, nparts);
		}
	}
	memset(out, 0, sizeof(*out));
	if (channels[ch].kind == FRAME_TF) {
		out->p = s.p, out->len = s.len, out->cap = s.cap;
		s.p = NULL;
	} else {
		out->p = r.p, out->len = r.len, out->cap = r.cap;
		r.p = NULL;
	}
	tu_stream_free(&s);
	tu_rio_free(&r);
	free(rec);
}

/* In the writer child: the records through the library's writer. */
static int
write_with_library(int fd, int ch, uint64_t epoch, const epoch_spec *sp)
{
	const char *opts = channels[ch].kind == WRITER_GZIP
				   ? "compression=gzip,buffer_size=64K"
				   : "format=recordio,compression=zlib";
	pipemode_writer *w = NULL;
	unsigned char *rec = NULL;
	size_t cap = 0;

	if (pipemode_writer_open_fd(&w, fd, opts) != PIPEMODE_OK) {
		fprintf(stderr, "writer: %s\n", pipemode_writer_errmsg(w));
		return 20;
	}
	for (size_t k = 0; k < sp->n; k++) {
		if (sp->len[k] + 1 > cap) {
			cap = sp->len[k] + 1;
			rec = realloc(rec, cap);
			if (rec == NULL)
				return 21;
		}
		make_record(rec, sp->len[k], ch, epoch, k);
		if (pipemode_write(w, rec, sp->len[k]) != PIPEMODE_OK) {
			fprintf(stderr, "writer: %s\n",
				pipemode_writer_errmsg(w));
			return 22;
		}
	}
	free(rec);
	return pipemode_writer_close(w) == PIPEMODE_OK ? 0 : 23;
}

static void
fifo_path(char *buf, size_t size, int ch, uint64_t epoch)
{
	snprintf(buf, size, "%s/%s_%llu", pipe_dir, channels[ch].name,
		 (unsigned long long)epoch);
}

/* The feeder of one epoch: perhaps make the FIFO, open it, write, close. */
static pid_t
spawn_writer(int ch, uint64_t epoch, int make_fifo, unsigned alarm_s)
{
	char path[FU_PATH_SIZE + 64];
	pid_t pid = track_child(fork());

	if (pid != 0)
		return pid;
	fu_child_alarm(alarm_s);
	fifo_path(path, sizeof(path), ch, epoch);
	{
		epoch_spec *sp = malloc(sizeof(*sp));
		tu_buf stream;
		int fd, rc = 0;

		if (sp == NULL)
			_exit(2);
		make_spec(sp, ch, epoch);
		if (make_fifo && mkfifo(path, 0600) != 0)
			_exit(3);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			_exit(4);
		if (channels[ch].kind == FRAME_TF ||
		    channels[ch].kind == FRAME_RIO) {
			build_stream(ch, epoch, sp, &stream);
			if (tu_write_pieces(fd, stream.p, stream.len,
					    odd_pieces) != 0)
				rc = 5;
			free(stream.p);
		} else {
			rc = write_with_library(fd, ch, epoch, sp);
		}
		if (close(fd) != 0 && rc == 0)
			rc = 6;
		_exit(rc);
	}
}

/* ---------------------------------------------------------------- readers */

/* A channel being read: what it must still deliver. */
typedef struct reading {
	int ch;
	uint64_t epoch;
	pipemode_reader *r;
	epoch_spec spec;
	size_t next; /* the record expected next */
	unsigned char *want;
	size_t want_cap;
	int batch;   /* read with pipemode_next_batch */
	int done;
	uint64_t bytes;
} reading;

/* Check one record: where it says it belongs, its checksum, and every
 * byte.  Returns 0, or writes why into msg. */
static int
check_record(reading *rd, const unsigned char *p, size_t len, char *msg,
	     size_t msgsize)
{
	size_t k = rd->next, wl;

	if (k >= rd->spec.n) {
		snprintf(msg, msgsize, "record %zu arrived after the last (%zu)",
			 k, rd->spec.n);
		return -1;
	}
	wl = rd->spec.len[k];
	if (len >= MIN_SELF && memcmp(p, magic, 8) == 0) {
		uint64_t c = get64(p + 8), e = get64(p + 16), q = get64(p + 24),
			 l = get64(p + 32);

		if (c != (uint64_t)rd->ch || e != rd->epoch || q != k ||
		    l != len || fnv1a(p, len - TRAILER) != get64(p + len - TRAILER)) {
			snprintf(msg, msgsize,
				 "record %zu of epoch %llu says channel %llu "
				 "epoch %llu record %llu length %llu (is %zu)%s",
				 k, (unsigned long long)rd->epoch,
				 (unsigned long long)c, (unsigned long long)e,
				 (unsigned long long)q, (unsigned long long)l,
				 len,
				 fnv1a(p, len - TRAILER) ==
						 get64(p + len - TRAILER)
					 ? ""
					 : ", and its checksum fails");
			return -1;
		}
	}
	if (len != wl) {
		snprintf(msg, msgsize, "record %zu: %zu bytes, expected %zu", k,
			 len, wl);
		return -1;
	}
	if (wl + 1 > rd->want_cap) {
		rd->want_cap = wl + 1;
		rd->want = realloc(rd->want, rd->want_cap);
		if (rd->want == NULL)
			die("out of memory");
	}
	make_record(rd->want, wl, rd->ch, rd->epoch, k);
	if (wl > 0 && memcmp(rd->want, p, wl) != 0) {
		size_t i = 0;

		while (rd->want[i] == p[i])
			i++;
		snprintf(msg, msgsize, "record %zu (%zu bytes) differs at byte %zu",
			 k, wl, i);
		return -1;
	}
	rd->next++;
	rd->bytes += len;
	return 0;
}

/* Read a little (a record, or a batch) from rd; 1 when the epoch ended
 * cleanly, 0 to go on, -1 with msg on a failure. */
static int
read_some(reading *rd, char *msg, size_t msgsize)
{
	pipemode_record recs[16];
	const void *data;
	size_t len, n = 0;
	int rc;

	if (rd->batch) {
		rc = pipemode_next_batch(rd->r, recs, 16, &n);
		for (size_t i = 0; rc == PIPEMODE_OK && i < n; i++)
			if (check_record(rd, recs[i].data, recs[i].len, msg,
					 msgsize) != 0)
				return -1;
	} else {
		rc = pipemode_next(rd->r, &data, &len);
		if (rc == PIPEMODE_OK &&
		    check_record(rd, data, len, msg, msgsize) != 0)
			return -1;
	}
	if (rc == PIPEMODE_OK)
		return 0;
	if (rc != PIPEMODE_EOF) {
		snprintf(msg, msgsize, "after %zu of %zu records: %s: %s",
			 rd->next, rd->spec.n, pipemode_code_name(rc),
			 pipemode_errmsg(rd->r));
		return -1;
	}
	if (rd->next != rd->spec.n) {
		snprintf(msg, msgsize, "a clean end after %zu of %zu records",
			 rd->next, rd->spec.n);
		return -1;
	}
	return 1;
}

/* Append ",key=value" with commas and backslashes escaped (fu_opt_add asserts
 * with Check, which this program does not run). */
static void
opt_add(char *buf, size_t size, const char *key, const char *value)
{
	size_t n = strlen(buf);

	if (n + strlen(key) + 2 * strlen(value) + 3 > size)
		die("options too long");
	if (n > 0)
		buf[n++] = ',';
	n += (size_t)sprintf(buf + n, "%s=", key);
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == ',' || *p == '\\')
			buf[n++] = '\\';
		buf[n++] = *p;
	}
	buf[n] = '\0';
}

/* Reader options for channel ch in round e: the channel's, with a buffer
 * size and sometimes a readahead thread. */
static void
reader_options(char *buf, size_t size, int ch, uint64_t epoch)
{
	static const char *const bufs[] = {NULL, "buffer_size=4K",
					   "buffer_size=64K", "buffer_size=1M"};
	uint64_t rng = mix(seed, (uint64_t)ch, epoch, 3);
	const char *b = bufs[tu_rand(&rng) % 4];
	int ra = have_readahead && tu_rand(&rng) % 4 == 0;

	buf[0] = '\0';
	opt_add(buf, size, "pipe_dir", pipe_dir);
	opt_add(buf, size, "state_dir", state_dir);
	opt_add(buf, size, "config_dir", config_dir);
	opt_add(buf, size, "open_timeout", "60");
	if (channels[ch].options != NULL) {
		strcat(buf, ",");
		strcat(buf, channels[ch].options);
	}
	if (b != NULL) {
		strcat(buf, ",");
		strcat(buf, b);
	}
	if (ra)
		strcat(buf, ",readahead=256K");
}

/* Open the channel's next epoch, which must be epoch; 0 or -1 with msg. */
static int
open_reading(reading *rd, int ch, uint64_t epoch, char *msg, size_t msgsize)
{
	char opts[FU_PATH_SIZE * 4];
	pipemode_stats st;
	int rc;

	memset(rd, 0, sizeof(*rd));
	rd->ch = ch;
	rd->epoch = epoch;
	make_spec(&rd->spec, ch, epoch);
	rd->batch = mix(seed, (uint64_t)ch, epoch, 4) % 3 == 0;
	reader_options(opts, sizeof(opts), ch, epoch);
	rc = pipemode_open(&rd->r, channels[ch].name, opts);
	if (rc != PIPEMODE_OK) {
		snprintf(msg, msgsize, "open: %s: %s", pipemode_code_name(rc),
			 pipemode_errmsg(rd->r));
		return -1;
	}
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	if (pipemode_get_stats(rd->r, &st) != PIPEMODE_OK ||
	    st.epoch != (int64_t)epoch) {
		snprintf(msg, msgsize, "opened epoch %lld, expected %llu",
			 (long long)st.epoch, (unsigned long long)epoch);
		return -1;
	}
	return 0;
}

static void
close_reading(reading *rd)
{
	pipemode_close(rd->r);
	free(rd->want);
	rd->r = NULL;
	rd->want = NULL;
}

/* A forked reader of one channel's epoch. */
static pid_t
spawn_reader(int ch, uint64_t epoch, unsigned alarm_s)
{
	pid_t pid = track_child(fork());

	if (pid == 0) {
		reading *rd = malloc(sizeof(*rd));
		char msg[1024];
		int rc = 0;

		fu_child_alarm(alarm_s);
		if (rd == NULL)
			_exit(2);
		if (open_reading(rd, ch, epoch, msg, sizeof(msg)) != 0)
			rc = -1;
		while (rc == 0)
			rc = read_some(rd, msg, sizeof(msg));
		if (rc < 0) {
			fprintf(stderr,
				"soak (seed %llu): reader process: %s epoch "
				"%llu: %s\n",
				(unsigned long long)seed, channels[ch].name,
				(unsigned long long)epoch, msg);
			_exit(3);
		}
		close_reading(rd);
		_exit(0);
	}
	return pid;
}

/* ----------------------------------------------------------------- rounds */

static void
reap(pid_t pid, const char *what, int ch, uint64_t epoch)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("%s of %s epoch %llu: %s %d", what, channels[ch].name,
		    (unsigned long long)epoch,
		    WIFEXITED(status) ? "exit" : "signal",
		    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

/* One epoch of every channel. */
static void
run_round(uint64_t round, unsigned alarm_s)
{
	uint64_t rng = mix(seed, 99, round, 5);
	pid_t writers[NCHANNELS], readers[NCHANNELS];
	reading *rd = calloc(NCHANNELS, sizeof(*rd));
	int mine[NCHANNELS], nmine = 0, left;
	char msg[1024];

	if (rd == NULL)
		die("out of memory");
	nchildren = 0;
	for (int ch = 0; ch < NCHANNELS; ch++) {
		char path[FU_PATH_SIZE + 64];
		/* a third of the FIFOs appear only once the writer runs,
		 * often after the reader started waiting */
		int late = tu_rand(&rng) % 3 == 0;

		fifo_path(path, sizeof(path), ch, round);
		if (!late && mkfifo(path, 0600) != 0)
			die("mkfifo %s: %s", path, strerror(errno));
		writers[ch] = spawn_writer(ch, round, late, alarm_s);
		/* one channel in three read by another process */
		readers[ch] = tu_rand(&rng) % 3 == 0
				      ? spawn_reader(ch, round, alarm_s)
				      : 0;
		if (readers[ch] == 0)
			mine[nmine++] = ch;
	}
	/* this process: all its channels open at once, read in turn */
	for (int i = 0; i < nmine; i++)
		if (open_reading(&rd[i], mine[i], round, msg, sizeof(msg)) != 0)
			die("%s epoch %llu: %s", channels[mine[i]].name,
			    (unsigned long long)round, msg);
	left = nmine;
	while (left > 0) {
		for (int i = 0; i < nmine; i++) {
			int rc;

			if (rd[i].done)
				continue;
			rc = read_some(&rd[i], msg, sizeof(msg));
			if (rc < 0)
				die("%s epoch %llu: %s", channels[rd[i].ch].name,
				    (unsigned long long)round, msg);
			if (rc == 1) {
				rd[i].done = 1;
				left--;
				total_records[rd[i].ch] += rd[i].next;
				total_bytes[rd[i].ch] += rd[i].bytes;
			}
		}
	}
	for (int i = 0; i < nmine; i++)
		close_reading(&rd[i]);
	for (int ch = 0; ch < NCHANNELS; ch++) {
		char path[FU_PATH_SIZE + 64];

		reap(writers[ch], "writer", ch, round);
		if (readers[ch] != 0) {
			epoch_spec *sp = malloc(sizeof(*sp));

			reap(readers[ch], "reader process", ch, round);
			if (sp == NULL)
				die("out of memory");
			make_spec(sp, ch, round);
			total_records[ch] += sp->n;
			for (size_t k = 0; k < sp->n; k++)
				total_bytes[ch] += sp->len[k];
			free(sp);
		}
		total_epochs[ch]++;
		fifo_path(path, sizeof(path), ch, round);
		if (unlink(path) != 0)
			die("unlink %s: %s", path, strerror(errno));
	}
	free(rd);
	nchildren = 0;
}

/* Every channel's counter says how many rounds were served. */
static void
check_counters(uint64_t rounds)
{
	for (int ch = 0; ch < NCHANNELS; ch++) {
		char path[FU_PATH_SIZE + 64], buf[64], want[32];
		int fd;
		ssize_t n;

		snprintf(path, sizeof(path), "%s/.%s-pipe_mode-state",
			 state_dir, channels[ch].name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			die("%s: %s", path, strerror(errno));
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n < 0)
			die("%s: %s", path, strerror(errno));
		buf[n] = '\0';
		snprintf(want, sizeof(want), "%llu\n",
			 (unsigned long long)rounds);
		if (strcmp(buf, want) != 0)
			die("%s holds \"%s\", expected %llu", path, buf,
			    (unsigned long long)rounds);
	}
}

static void
write_config(void)
{
	char path[FU_PATH_SIZE + 64], json[2048];
	size_t n = 0;
	FILE *f;

	n += (size_t)snprintf(json, sizeof(json), "{");
	for (int ch = 0; ch < NCHANNELS; ch++)
		n += (size_t)snprintf(json + n, sizeof(json) - n, "%s\"%s\": %s",
				      ch ? ", " : "", channels[ch].name,
				      channels[ch].config);
	snprintf(json + n, sizeof(json) - n, "}\n");
	snprintf(path, sizeof(path), "%s/inputdataconfig.json", config_dir);
	f = fopen(path, "w");
	if (f == NULL || fputs(json, f) == EOF || fclose(f) != 0)
		die("%s: %s", path, strerror(errno));
}

/* Whether this build knows readahead=; the probe opens nothing. */
static int
probe_readahead(void)
{
	pipemode_reader *r = NULL;
	int p[2], rc;

	if (pipe(p) != 0)
		die("pipe: %s", strerror(errno));
	close(p[1]);
	rc = pipemode_open_fd(&r, p[0], "readahead=256K");
	pipemode_close(r);
	close(p[0]);
	return rc == PIPEMODE_OK;
}

static void
usage(void)
{
	fprintf(stderr, "usage: soak_test [--seconds N] [--seed S]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *env = getenv("SOAK_SECONDS");
	double seconds = env != NULL && *env != '\0' ? atof(env) : 5;
	double t0, elapsed;
	uint64_t rounds = 0;
	unsigned alarm_s;
	int fds0[256], fds1[256], nfd0, nfd1;
	const char *tmp = getenv("TMPDIR");

	env = getenv("SOAK_SEED");
	if (env != NULL && *env != '\0')
		seed = strtoull(env, NULL, 10);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
			seed = strtoull(argv[++i], NULL, 10);
		else
			usage();
	}
	if (!(seconds >= 0))
		usage();
	/* a watchdog: whatever hangs, the run ends */
	alarm_s = (unsigned)seconds + 300;
	signal(SIGPIPE, SIG_IGN);
	fu_child_alarm(alarm_s);

	main_pid = getpid();
	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(root, sizeof(root), "%s/pipemode-soak-XXXXXX", tmp);
	if (mkdtemp(root) == NULL) {
		root[0] = '\0';
		die("mkdtemp: %s", strerror(errno));
	}
	atexit(cleanup);
	snprintf(pipe_dir, sizeof(pipe_dir), "%.4000s/pipes", root);
	snprintf(state_dir, sizeof(state_dir), "%.4000s/state", root);
	snprintf(config_dir, sizeof(config_dir), "%.4000s/config", root);
	if (fu_mkdirs(pipe_dir) != 0 || fu_mkdirs(config_dir) != 0)
		die("mkdir: %s", strerror(errno));
	write_config(); /* the state directory is made by the first open */
	have_readahead = probe_readahead();

	printf("soak: seed %llu, %g s, channels:", (unsigned long long)seed,
	       seconds);
	for (int ch = 0; ch < NCHANNELS; ch++)
		printf(" %s", channels[ch].name);
	printf("%s\n", have_readahead ? " (readahead on some epochs)" : "");
	fflush(stdout);

	nfd0 = fu_list_fds(fds0, 256);
	t0 = fu_now();
	do {
		run_round(rounds++, alarm_s);
		check_counters(rounds);
		nfd1 = fu_list_fds(fds1, 256);
		if (nfd1 != nfd0)
			die("after round %llu: %d descriptors open, %d at the "
			    "start",
			    (unsigned long long)rounds, nfd1, nfd0);
	} while (fu_now() - t0 < seconds || rounds < 2);
	elapsed = fu_now() - t0;

	for (int ch = 0; ch < NCHANNELS; ch++)
		printf("soak: %-5s %llu epochs, %llu records, %.1f MiB\n",
		       channels[ch].name, (unsigned long long)total_epochs[ch],
		       (unsigned long long)total_records[ch],
		       (double)total_bytes[ch] / (1 << 20));
	printf("soak: %llu rounds in %.1f s: every record arrived once, in "
	       "order, intact\n",
	       (unsigned long long)rounds, elapsed);
	return 0;
}
