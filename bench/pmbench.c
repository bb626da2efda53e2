/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pmbench: how fast libpipemode reads a Pipe Mode stream, next to the
 * physical limit and to the readers people use instead (make bench; the
 * method and the figures are in BENCHMARKS.rst).
 *
 * Every measurement is two processes and a FIFO, as in SageMaker: a writer
 * streams a file generated beforehand in $TMPDIR (so generation is not
 * timed) into the FIFO, with write(2) from memory like a normal producer or
 * with splice(2) from the page cache like a producer that costs nothing;
 * the pipe is 1 MiB (F_SETPIPE_SZ).  The reader is this program again,
 * executed afresh (so its maximum RSS is its own), reading the FIFO with
 * one contender: a plain read() loop (the limit), libpipemode through its
 * public API, dmlc-core's RecordIOReader, or zlib's inflate.  The reader
 * times itself from the moment the FIFO is open to the end of the stream:
 * wall clock, user+sys CPU (getrusage) and malloc calls, and reports to
 * the parent through a pipe.  With two or more CPUs the writer runs on CPU
 * 0 and the reader on CPU 1.
 *
 * Contenders alternate within each round; every figure printed is the
 * median of the rounds.  Targets are reported PASS or MISS and never make
 * the program fail; a reader that returns the wrong records does.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <pipemode.h>

#ifdef PMBENCH_HAVE_ISAL
#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#endif

#include "bench.h"

#define KIB 1024u
#define MIB (1024u * 1024)
#define MAX_ROUNDS 15
#define MAX_CONTENDERS 8
#define MAX_SUMMARIES 128

enum writer_mode { WRITE_COPY, WRITE_SPLICE };
static const char *const writer_names[] = {"write()", "splice()"};

/* ------------------------------------------------------------- options */

static int opt_rounds = 5;
static double opt_scale = 1.0;
static int opt_pin = 1;
static const char *opt_only = NULL; /* tfrecord, recordio, gzip, crc */
static const char *opt_sizes = NULL;  /* record sizes to run, e.g. 100,1024 */
static int opt_writers = 3;           /* bit 0: write(), bit 1: splice() */
static const char *opt_other_lib = NULL; /* --compare-lib DIR */

static char self_path[PATH_MAX];
/* Room for the names made in it. */
static char tmp_dir[PATH_MAX - 16];
static char fifo_path[PATH_MAX];
static char data_path[PATH_MAX];

/* Children of the run in progress, for the timeout and for ^C. */
static volatile pid_t writer_pid = -1, reader_pid = -1;

/* -------------------------------------------------------------- helpers */

/* Set in the forked writer: it must not run the parent's atexit cleanup. */
static int in_child;

static void
die(const char *what)
{
	fprintf(stderr, "pmbench: %s: %s\n", what, strerror(errno));
	if (in_child)
		_exit(1);
	exit(1);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t
cpu_ns(const struct rusage *ru)
{
	return ((uint64_t)ru->ru_utime.tv_sec + (uint64_t)ru->ru_stime.tv_sec) *
		       1000000000u +
	       ((uint64_t)ru->ru_utime.tv_usec + (uint64_t)ru->ru_stime.tv_usec) *
		       1000u;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(const double *v, int n)
{
	double s[MAX_ROUNDS];

	memcpy(s, v, (size_t)n * sizeof(*s));
	qsort(s, (size_t)n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* (max - min) / median: how much the rounds disagree. */
static double
spread(const double *v, int n)
{
	double lo = v[0], hi = v[0];
	int i;

	for (i = 1; i < n; i++) {
		lo = v[i] < lo ? v[i] : lo;
		hi = v[i] > hi ? v[i] : hi;
	}
	return (hi - lo) / median(v, n);
}

/* The 1-minute load average: other work on the machine shows in it, and
 * in the figures. */
static double
loadavg(void)
{
	FILE *f = fopen("/proc/loadavg", "r");
	double l = -1;

	if (f != NULL) {
		if (fscanf(f, "%lf", &l) != 1)
			l = -1;
		fclose(f);
	}
	return l;
}

static void
pin_to(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	(void)sched_setaffinity(0, sizeof(set), &set);
}

static void
size_name(size_t n, char *buf, size_t bufsize)
{
	if (n >= MIB && n % MIB == 0)
		snprintf(buf, bufsize, "%zu MiB", n / MIB);
	else if (n >= KIB && n % KIB == 0)
		snprintf(buf, bufsize, "%zu KiB", n / KIB);
	else
		snprintf(buf, bufsize, "%zu B", n);
}

static uint64_t
splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* ----------------------------------------------------- reader (child) */

static uint64_t mark_t0, mark_cpu0;
static long mark_m0 = -1, mark_m1 = -1;

void
pmbench_mark_start(void)
{
	struct rusage ru;

	mark_m0 = pmbench_malloc_calls();
	getrusage(RUSAGE_SELF, &ru);
	mark_cpu0 = cpu_ns(&ru);
	mark_t0 = now_ns();
}

void
pmbench_mark_first(void)
{
	mark_m1 = pmbench_malloc_calls();
}

static int
read_raw(int fd, uint64_t *bytes, uint64_t *reads)
{
	unsigned char *buf = malloc(PMBENCH_BUFFER);
	uint64_t total = 0, calls = 0;
	ssize_t n;
	int first = 1;

	if (buf == NULL)
		return -1;
	pmbench_mark_start();
	for (;;) {
		n = read(fd, buf, PMBENCH_BUFFER);
		calls++;
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			break;
		}
		total += (uint64_t)n;
		if (first) {
			pmbench_mark_first();
			first = 0;
		}
	}
	free(buf);
	*bytes = total;
	*reads = calls;
	return n < 0 ? -1 : 0;
}

static int
read_pm(int fd, const char *options, int batch, uint64_t *records,
	uint64_t *payload, uint64_t *reads)
{
	pipemode_stats st;
	pipemode_reader *r;
	pipemode_record recs[64];
	const void *data;
	size_t len, n, i;
	uint64_t count = 0, bytes = 0;
	int rc;

	pmbench_mark_start();
	rc = pipemode_open_fd(&r, fd, options);
	if (rc != PIPEMODE_OK) {
		fprintf(stderr, "pmbench: pipemode_open_fd: %s\n",
			pipemode_errmsg(r));
		pipemode_close(r);
		return -1;
	}
	rc = pipemode_next(r, &data, &len);
	if (rc == PIPEMODE_OK) {
		count++;
		bytes += len;
	}
	pmbench_mark_first();
	if (batch) {
		while (rc == PIPEMODE_OK &&
		       (rc = pipemode_next_batch(r, recs, 64, &n)) ==
			       PIPEMODE_OK) {
			count += n;
			for (i = 0; i < n; i++)
				bytes += recs[i].len;
		}
	} else {
		while (rc == PIPEMODE_OK &&
		       (rc = pipemode_next(r, &data, &len)) == PIPEMODE_OK) {
			count++;
			bytes += len;
		}
	}
	if (rc != PIPEMODE_EOF) {
		fprintf(stderr, "pmbench: pipemode_next: %s\n",
			pipemode_errmsg(r));
		pipemode_close(r);
		return -1;
	}
	st.size = sizeof(st);
	*reads = pipemode_get_stats(r, &st) == PIPEMODE_OK ? st.read_calls
							   : UINT64_MAX;
	pipemode_close(r);
	*records = count;
	*payload = bytes;
	return 0;
}

/* Bare zlib: inflate the FIFO's gzip stream into a buffer and drop it,
 * with libpipemode's buffer sizes (128 KiB in, 256 KiB out). */
static int
read_zlib(int fd, uint64_t *out_bytes, uint64_t *reads)
{
	unsigned char *in = malloc(128 * KIB), *out = malloc(PMBENCH_BUFFER);
	uint64_t total = 0, calls = 0;
	z_stream z;
	int zrc = Z_OK, first = 1;
	ssize_t n;

	if (in == NULL || out == NULL)
		return -1;
	memset(&z, 0, sizeof(z));
	pmbench_mark_start();
	if (inflateInit2(&z, 15 + 16) != Z_OK)
		return -1;
	for (;;) {
		if (z.avail_in == 0) {
			n = read(fd, in, 128 * KIB);
			calls++;
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			z.next_in = in;
			z.avail_in = (uInt)n;
		}
		if (zrc == Z_STREAM_END) /* another gzip member */
			inflateReset(&z);
		z.next_out = out;
		z.avail_out = PMBENCH_BUFFER;
		zrc = inflate(&z, Z_NO_FLUSH);
		if (zrc != Z_OK && zrc != Z_STREAM_END && zrc != Z_BUF_ERROR) {
			fprintf(stderr, "pmbench: inflate: %d\n", zrc);
			return -1;
		}
		total += PMBENCH_BUFFER - z.avail_out;
		if (first) {
			pmbench_mark_first();
			first = 0;
		}
	}
	inflateEnd(&z);
	free(in);
	free(out);
	*out_bytes = total;
	*reads = calls;
	return zrc == Z_STREAM_END ? 0 : -1;
}

#ifdef PMBENCH_HAVE_ISAL
/* Bare ISA-L: the same with igzip's isal_inflate (it reads the gzip header
 * and checks the trailer itself), member after member. */
static int
read_isal(int fd, uint64_t *out_bytes, uint64_t *reads)
{
	unsigned char *in = malloc(128 * KIB), *out = malloc(PMBENCH_BUFFER);
	struct inflate_state *st = malloc(sizeof(*st));
	uint64_t total = 0, calls = 0;
	int rc = ISAL_DECOMP_OK, first = 1, ended = 0;
	ssize_t n;

	if (in == NULL || out == NULL || st == NULL)
		return -1;
	pmbench_mark_start();
	isal_inflate_init(st);
	st->crc_flag = ISAL_GZIP;
	for (;;) {
		if (st->avail_in == 0) {
			n = read(fd, in, 128 * KIB);
			calls++;
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			st->next_in = in;
			st->avail_in = (uint32_t)n;
		}
		if (ended) { /* another gzip member */
			isal_inflate_reset(st);
			st->crc_flag = ISAL_GZIP;
			ended = 0;
		}
		st->next_out = out;
		st->avail_out = PMBENCH_BUFFER;
		rc = isal_inflate(st);
		if (rc != ISAL_DECOMP_OK) {
			fprintf(stderr, "pmbench: isal_inflate: %d\n", rc);
			return -1;
		}
		total += PMBENCH_BUFFER - st->avail_out;
		ended = st->block_state == ISAL_BLOCK_FINISH;
		if (first) {
			pmbench_mark_first();
			first = 0;
		}
	}
	free(st);
	free(in);
	free(out);
	*out_bytes = total;
	*reads = calls;
	return ended ? 0 : -1;
}
#endif

/*
 * The peak resident set of this process image, in KiB: VmHWM, which starts
 * afresh at exec.  getrusage's ru_maxrss does not: Linux carries into it the
 * peak of the image before exec, here the forked copy of the parent.
 */
static long
peak_rss_kb(const struct rusage *ru)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[128];
	long kb = -1;

	if (f != NULL) {
		while (fgets(line, sizeof(line), f) != NULL)
			if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
				break;
		fclose(f);
	}
	return kb >= 0 ? kb : ru->ru_maxrss;
}

/*
 * pmbench --reader KIND FIFO OPTIONS CPU: read the FIFO with one contender
 * and print "records payload wall_ns cpu_ns maxrss_kb mallocs_first
 * mallocs_steady reads" (records and payload are those the reader saw; -1
 * where it does not frame records; reads: read(2) calls, -1 unknown).
 */
static int
reader_main(int argc, char **argv)
{
	const char *kind, *fifo, *options;
	uint64_t records = UINT64_MAX, payload = UINT64_MAX, wall, cpu;
	uint64_t reads = UINT64_MAX;
	long m_end;
	struct rusage ru;
	int fd = -1, rc = -1, size = PMBENCH_PIPE_SIZE;

	if (argc != 6)
		return 2;
	kind = argv[2];
	fifo = argv[3];
	options = argv[4];
	pin_to(atoi(argv[5]));

	if (strcmp(kind, "dmlc-stdio") != 0) {
		fd = open(fifo, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			die(fifo);
		/* The writer sets it too; whoever comes first. */
		(void)fcntl(fd, F_SETPIPE_SZ, size);
	}
	if (strcmp(kind, "raw") == 0)
		rc = read_raw(fd, &payload, &reads);
	else if (strcmp(kind, "pm") == 0 || strcmp(kind, "pm-other") == 0)
		rc = read_pm(fd, options, 0, &records, &payload, &reads);
	else if (strcmp(kind, "pmbatch") == 0)
		rc = read_pm(fd, options, 1, &records, &payload, &reads);
	else if (strcmp(kind, "zlib") == 0)
		rc = read_zlib(fd, &payload, &reads);
#ifdef PMBENCH_HAVE_ISAL
	else if (strcmp(kind, "isal") == 0)
		rc = read_isal(fd, &payload, &reads);
#endif
#ifdef PMBENCH_HAVE_DMLC
	else if (strcmp(kind, "dmlc") == 0)
		rc = pmbench_dmlc_read(fd, fifo, 0, &records, &payload, &reads);
	else if (strcmp(kind, "dmlc-stdio") == 0)
		rc = pmbench_dmlc_read(-1, fifo, 1, &records, &payload, &reads);
#endif
	else
		fprintf(stderr, "pmbench: unknown reader %s\n", kind);
	wall = now_ns() - mark_t0;
	m_end = pmbench_malloc_calls();
	getrusage(RUSAGE_SELF, &ru);
	cpu = cpu_ns(&ru) - mark_cpu0;
	if (rc != 0)
		return 1;
	printf("%" PRId64 " %" PRId64 " %" PRIu64 " %" PRIu64 " %ld %ld %ld "
	       "%" PRId64 "\n",
	       records == UINT64_MAX ? (int64_t)-1 : (int64_t)records,
	       payload == UINT64_MAX ? (int64_t)-1 : (int64_t)payload, wall, cpu,
	       peak_rss_kb(&ru), mark_m0 < 0 ? -1 : mark_m1 - mark_m0,
	       mark_m0 < 0 ? -1 : m_end - mark_m1,
	       reads == UINT64_MAX ? (int64_t)-1 : (int64_t)reads);
	return 0;
}

/* ----------------------------------------------------- writer (child) */

static void
writer_main(const char *path, enum writer_mode mode)
{
	int in, out;
	struct stat st;
	unsigned char *map = NULL;
	off_t off = 0;
	ssize_t n;

	in_child = 1;
	pin_to(opt_pin ? 0 : -1);
	in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0 || fstat(in, &st) != 0)
		die(path);
	if (mode == WRITE_COPY && st.st_size > 0) {
		/* The producer's records are in memory before it starts. */
		map = mmap(NULL, (size_t)st.st_size, PROT_READ,
			   MAP_PRIVATE | MAP_POPULATE, in, 0);
		if (map == MAP_FAILED)
			die("mmap");
	}
	out = open(fifo_path, O_WRONLY | O_CLOEXEC);
	if (out < 0)
		die(fifo_path);
	(void)fcntl(out, F_SETPIPE_SZ, (int)PMBENCH_PIPE_SIZE);
	while (off < st.st_size) {
		size_t chunk = (size_t)(st.st_size - off) < MIB
				       ? (size_t)(st.st_size - off)
				       : MIB;
		if (mode == WRITE_COPY)
			n = write(out, map + off, chunk);
		else
			n = splice(in, &off, out, NULL, chunk,
				   SPLICE_F_MOVE | SPLICE_F_MORE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("writer");
		if (mode == WRITE_COPY)
			off += n;
	}
	close(out);
	_exit(0);
}

/* ------------------------------------------------------------ a run */

struct run_result {
	int64_t records, payload, reads;
	double wall_s, cpu_s;
	long maxrss_kb, mallocs_first, mallocs_steady;
};

static void
kill_children(void)
{
	if (reader_pid > 0)
		kill(reader_pid, SIGKILL);
	if (writer_pid > 0)
		kill(writer_pid, SIGKILL);
}

static void
on_alarm(int sig)
{
	(void)sig;
	kill_children();
}

static void
cleanup_files(void)
{
	if (fifo_path[0])
		unlink(fifo_path);
	if (data_path[0])
		unlink(data_path);
	if (tmp_dir[0])
		rmdir(tmp_dir);
}

static void
on_signal(int sig)
{
	kill_children();
	cleanup_files();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
run_one(enum writer_mode mode, const char *kind, const char *options,
	struct run_result *res)
{
	int res_pipe[2], status, ok;
	char cpu[16], line[256];
	char *args[7];
	FILE *f;
	pid_t w, r;

	if (pipe(res_pipe) != 0)
		die("pipe");
	fflush(stdout);
	w = fork();
	if (w < 0)
		die("fork");
	if (w == 0) {
		close(res_pipe[0]);
		close(res_pipe[1]);
		writer_main(data_path, mode);
	}
	writer_pid = w;
	snprintf(cpu, sizeof(cpu), "%d", opt_pin ? 1 : -1);
	args[0] = self_path;
	args[1] = (char *)"--reader";
	args[2] = (char *)kind;
	args[3] = fifo_path;
	args[4] = (char *)(options != NULL ? options : "");
	args[5] = cpu;
	args[6] = NULL;
	r = fork();
	if (r < 0)
		die("fork");
	if (r == 0) {
		close(res_pipe[0]);
		if (dup2(res_pipe[1], 1) < 0)
			_exit(1);
		/* The other build of the library comes first in the search
		 * (before pmbench's own RUNPATH). */
		if (strcmp(kind, "pm-other") == 0 &&
		    setenv("LD_LIBRARY_PATH", opt_other_lib, 1) != 0)
			_exit(1);
		execv(self_path, args);
		_exit(127);
	}
	reader_pid = r;
	close(res_pipe[1]);
	alarm(600);
	f = fdopen(res_pipe[0], "r");
	ok = f != NULL && fgets(line, sizeof(line), f) != NULL &&
	     sscanf(line,
		    "%" SCNd64 " %" SCNd64 " %lf %lf %ld %ld %ld %" SCNd64,
		    &res->records, &res->payload, &res->wall_s, &res->cpu_s,
		    &res->maxrss_kb, &res->mallocs_first, &res->mallocs_steady,
		    &res->reads) == 8;
	if (f != NULL)
		fclose(f);
	else
		close(res_pipe[0]);
	waitpid(r, &status, 0);
	reader_pid = -1;
	ok = ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (!ok)
		kill(w, SIGKILL); /* it may wait for a reader that is gone */
	waitpid(w, &status, 0);
	writer_pid = -1;
	alarm(0);
	ok = ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (!ok) {
		fprintf(stderr, "pmbench: the %s reader or its %s writer failed\n",
			kind, writer_names[mode]);
		exit(1);
	}
	res->wall_s /= 1e9;
	res->cpu_s /= 1e9;
}

/* -------------------------------------------------------- data sets */

struct stream {
	const char *format;  /* tfrecord or recordio */
	int gzip;
	size_t rec;          /* payload bytes of every record */
	uint64_t records;
	uint64_t payload;    /* payload bytes in all */
	uint64_t bytes;      /* framed (uncompressed) stream bytes */
	uint64_t file_bytes; /* what goes through the FIFO */
};

#define POOL_SIZE (4 * MIB)

/*
 * Payloads come from a pool of 5 MiB at a moving offset.  Random bytes,
 * except for the gzip streams, which get text (numbers and separators,
 * like CSV features) that gzip -6 compresses about 2.3:1.
 */
static unsigned char *
make_pool(int text)
{
	unsigned char *pool = malloc(POOL_SIZE + MIB);
	uint64_t st = 42;
	size_t i = 0;

	if (pool == NULL)
		die("malloc");
	if (!text) {
		for (i = 0; i + 8 <= POOL_SIZE + MIB; i += 8) {
			uint64_t v = splitmix64(&st);
			memcpy(pool + i, &v, 8);
		}
		return pool;
	}
	while (i < POOL_SIZE + MIB) {
		char item[64];
		uint64_t v = splitmix64(&st);
		int n = snprintf(item, sizeof(item), "%s%u:%u.%03u",
				 (v >> 60) == 0 ? "\n" : ",",
				 (unsigned)(v % 1000),
				 (unsigned)((v >> 10) % 10),
				 (unsigned)((v >> 20) % 1000));
		if ((size_t)n > POOL_SIZE + MIB - i)
			n = (int)(POOL_SIZE + MIB - i);
		memcpy(pool + i, item, (size_t)n);
		i += (size_t)n;
	}
	return pool;
}

static void
make_stream(struct stream *s, uint64_t target)
{
	unsigned char *pool = make_pool(s->gzip);
	char opts[64];
	pipemode_writer *w;
	size_t frame = s->rec + (strcmp(s->format, "tfrecord") == 0
					 ? 16
					 : 8 + ((4 - s->rec % 4) % 4));
	uint64_t i, off = 0;
	struct stat st;

	s->records = target / frame ? target / frame : 1;
	s->payload = s->records * s->rec;
	s->bytes = s->records * frame;
	snprintf(opts, sizeof(opts), "format=%s%s", s->format,
		 s->gzip ? ",compression=gzip" : "");
	if (pipemode_writer_open_path(&w, data_path, opts) != PIPEMODE_OK) {
		fprintf(stderr, "pmbench: %s\n", pipemode_writer_errmsg(w));
		exit(1);
	}
	for (i = 0; i < s->records; i++) {
		if (pipemode_write(w, pool + off, s->rec) != PIPEMODE_OK) {
			fprintf(stderr, "pmbench: %s\n",
				pipemode_writer_errmsg(w));
			exit(1);
		}
		off = (off + 4099 * 8 + s->rec) % POOL_SIZE;
	}
	if (pipemode_writer_flush(w) != PIPEMODE_OK) {
		fprintf(stderr, "pmbench: %s\n", pipemode_writer_errmsg(w));
		exit(1);
	}
	pipemode_writer_close(w);
	free(pool);
	/* Written back before anything is timed: writeback running under
	 * the first measurements slowed them threefold. */
	{
		int fd = open(data_path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fsync(fd) != 0)
			die(data_path);
		close(fd);
	}
	if (stat(data_path, &st) != 0)
		die(data_path);
	s->file_bytes = (uint64_t)st.st_size;
	if (!s->gzip && s->file_bytes != s->bytes) {
		fprintf(stderr, "pmbench: %s: %" PRIu64 " bytes, expected %" PRIu64
				"\n",
			data_path, s->file_bytes, s->bytes);
		exit(1);
	}
}

/* ------------------------------------------------------- contenders */

struct contender {
	const char *label;
	const char *kind;    /* the reader child's KIND */
	const char *options; /* libpipemode's */
};

static const struct contender tfrecord_contenders[] = {
	{"read() loop", "raw", NULL},
	{"libpipemode, crc", "pm", "format=tfrecord"},
	{"libpipemode, no crc", "pm", "format=tfrecord,verify_crc=0"},
	{"libpipemode, crc, batch", "pmbatch", "format=tfrecord"},
};

static const struct contender recordio_contenders[] = {
	{"read() loop", "raw", NULL},
	{"libpipemode", "pm", "format=recordio"},
#ifdef PMBENCH_HAVE_DMLC
	{"dmlc-core, 256K buffer", "dmlc", NULL},
	{"dmlc-core, stdio stream", "dmlc-stdio", NULL},
#endif
};

/* What this build's libpipemode inflates with (configure --with-isal). */
#ifdef HAVE_ISAL_INFLATE
#define PMBENCH_INFLATE "ISA-L"
#else
#define PMBENCH_INFLATE "zlib"
#endif

/* libpipemode inflates with whichever of zlib and ISA-L it was built with
 * (the header line says which; --compare-lib adds the other build). */
static const struct contender gzip_contenders[] = {
	{"zlib inflate", "zlib", NULL},
#ifdef PMBENCH_HAVE_ISAL
	{"ISA-L inflate", "isal", NULL},
#endif
	{"libpipemode, gzip, crc", "pm", "format=tfrecord,compression=gzip"},
};

/* The medians of one contender on one stream and writer. */
struct summary {
	const char *section; /* tfrecord, recordio, gzip */
	size_t rec;
	enum writer_mode mode;
	const char *kind, *options, *label;
	double mbps, mrecs, cpu_per_gb, ratio, spread;
	double kib_per_read; /* median; < 0 unknown */
	long maxrss_kb, mallocs_first, mallocs_steady;
};

static struct summary summaries[MAX_SUMMARIES];
static int nsummaries;

static const struct summary *
find_summary(const char *section, size_t rec, enum writer_mode mode,
	     const char *kind, const char *options)
{
	int i;

	for (i = 0; i < nsummaries; i++) {
		const struct summary *s = &summaries[i];
		if (strcmp(s->section, section) == 0 && s->rec == rec &&
		    s->mode == mode && strcmp(s->kind, kind) == 0 &&
		    ((s->options == NULL && options == NULL) ||
		     (s->options != NULL && options != NULL &&
		      strcmp(s->options, options) == 0)))
			return s;
	}
	return NULL;
}

static void
print_table_head(const char *first)
{
	printf("%-9s %-8s %-25s %6s %7s %7s %8s %6s %6s %7s %6s\n", first,
	       "writer", "reader", "MB/s", "Mrec/s", "vs ref", "CPU s/GB",
	       "KiB/rd", "RSS MB", "mallocs", "spread");
}

/* Run every contender on one stream with one writer, opt_rounds times in
 * turn, and print the medians. */
static void
measure(const char *section, const struct stream *s, enum writer_mode mode,
	const struct contender *cs, int nc)
{
	static double wall[MAX_CONTENDERS][MAX_ROUNDS];
	static double cpu[MAX_CONTENDERS][MAX_ROUNDS];
	static double rd[MAX_CONTENDERS][MAX_ROUNDS];
	static struct run_result last[MAX_CONTENDERS];
	char sz[32];
	int round, c;

	for (round = 0; round < opt_rounds; round++) {
		for (c = 0; c < nc; c++) {
			struct run_result rr;
			/* Alternate the order too, so that no contender
			 * always follows the same one. */
			int k = round % 2 ? nc - 1 - c : c;

			run_one(mode, cs[k].kind, cs[k].options, &rr);
			if (rr.records >= 0 &&
			    ((uint64_t)rr.records != s->records ||
			     (uint64_t)rr.payload != s->payload)) {
				fprintf(stderr,
					"pmbench: %s read %" PRId64
					" records of %" PRId64
					" bytes; the stream has %" PRIu64
					" of %" PRIu64 "\n",
					cs[k].label, rr.records, rr.payload,
					s->records, s->payload);
				exit(1);
			}
			if (strcmp(cs[k].kind, "raw") == 0 &&
			    (uint64_t)rr.payload != s->file_bytes) {
				fprintf(stderr,
					"pmbench: read() loop got %" PRId64
					" bytes, expected %" PRIu64 "\n",
					rr.payload, s->file_bytes);
				exit(1);
			}
			if (rr.records < 0 && (strcmp(cs[k].kind, "zlib") == 0 ||
					       strcmp(cs[k].kind, "isal") == 0) &&
			    (uint64_t)rr.payload != s->bytes) {
				fprintf(stderr,
					"pmbench: %s inflated %" PRId64
					" bytes, expected %" PRIu64 "\n",
					cs[k].label, rr.payload, s->bytes);
				exit(1);
			}
			wall[k][round] = rr.wall_s;
			cpu[k][round] = rr.cpu_s;
			rd[k][round] = rr.reads > 0 ? (double)s->file_bytes /
							      (double)rr.reads /
							      KIB
						    : -1;
			last[k] = rr;
		}
	}
	size_name(s->rec, sz, sizeof(sz));
	for (c = 0; c < nc; c++) {
		struct summary *sm = &summaries[nsummaries++];
		double t = median(wall[c], opt_rounds);

		sm->section = section;
		sm->rec = s->rec;
		sm->mode = mode;
		sm->kind = cs[c].kind;
		sm->options = cs[c].options;
		sm->label = cs[c].label;
		sm->mbps = (double)s->bytes / t / 1e6;
		sm->mrecs = (double)s->records / t / 1e6;
		sm->cpu_per_gb = median(cpu[c], opt_rounds) /
				 ((double)s->bytes / 1e9);
		sm->spread = spread(wall[c], opt_rounds);
		sm->kib_per_read = median(rd[c], opt_rounds);
		sm->maxrss_kb = last[c].maxrss_kb;
		sm->mallocs_first = last[c].mallocs_first;
		sm->mallocs_steady = last[c].mallocs_steady;
		/* The ratio of each round's pair of runs, which ran seconds
		 * apart, then their median: steadier than a ratio of medians
		 * when the machine's load drifts. */
		{
			double rs[MAX_ROUNDS];
			for (round = 0; round < opt_rounds; round++)
				rs[round] = wall[0][round] / wall[c][round];
			sm->ratio = median(rs, opt_rounds);
		}
		printf("%-9s %-8s %-25s %6.0f %7.2f %6.1f%% %8.3f %6.0f %6.1f "
		       "%3ld/%-3ld %5.1f%%\n",
		       c == 0 ? sz : "", c == 0 ? writer_names[mode] : "",
		       cs[c].label, sm->mbps, sm->mrecs, 100 * sm->ratio,
		       sm->cpu_per_gb, sm->kib_per_read,
		       (double)sm->maxrss_kb / 1024, sm->mallocs_first,
		       sm->mallocs_steady, 100 * sm->spread);
	}
	fflush(stdout);
}

static const size_t record_sizes[] = {100, KIB, 100 * KIB, MIB};

static uint64_t
stream_target(size_t rec, int gzip)
{
	double mib = gzip ? 64 : 256;

	(void)rec;
	return (uint64_t)(mib * opt_scale * MIB);
}

/* Whether --sizes lets record size rec run. */
static int
size_wanted(size_t rec)
{
	const char *p = opt_sizes;

	while (p != NULL && *p) {
		char *end;
		unsigned long long v = strtoull(p, &end, 10);
		if (end == p)
			break;
		if (v == rec)
			return 1;
		p = *end == ',' ? end + 1 : end;
	}
	return opt_sizes == NULL;
}

/*
 * The contenders of a section, and with --compare-lib a copy of each
 * libpipemode contender reading through the other build of the library.
 */
static int
with_other(const struct contender *cs, int nc, struct contender *out)
{
	static char labels[MAX_CONTENDERS][64];
	int i, n = 0;

	for (i = 0; i < nc && n < MAX_CONTENDERS; i++)
		out[n++] = cs[i];
	for (i = 0; opt_other_lib != NULL && i < nc && n < MAX_CONTENDERS;
	     i++) {
		if (strcmp(cs[i].kind, "pm") != 0)
			continue;
		snprintf(labels[n], sizeof(labels[n]), "%s [other]",
			 cs[i].label);
		out[n] = cs[i];
		out[n].label = labels[n];
		out[n].kind = "pm-other";
		n++;
	}
	return n;
}

static void
section_framed(const char *format, const struct contender *cs0, int nc0)
{
	struct contender cs[MAX_CONTENDERS];
	int nc = with_other(cs0, nc0, cs);
	size_t i;
	int mode;

	printf("\n%s, %d contenders, %d rounds, medians; vs ref = median over "
	       "rounds of the speed ratio to the read() loop\n",
	       strcmp(format, "tfrecord") == 0 ? "TFRecord" : "RecordIO", nc,
	       opt_rounds);
	print_table_head("record");
	for (i = 0; i < sizeof(record_sizes) / sizeof(record_sizes[0]); i++) {
		struct stream s;

		if (!size_wanted(record_sizes[i]))
			continue;
		memset(&s, 0, sizeof(s));
		s.format = format;
		s.rec = record_sizes[i];
		make_stream(&s, stream_target(s.rec, 0));
		for (mode = WRITE_COPY; mode <= WRITE_SPLICE; mode++)
			if (opt_writers & (1 << mode))
				measure(format, &s, (enum writer_mode)mode, cs,
					nc);
		unlink(data_path);
	}
}

static void
section_gzip(void)
{
	static const size_t sizes[] = {100, KIB, 100 * KIB};
	struct contender cs[MAX_CONTENDERS];
	int nc = with_other(gzip_contenders,
			    (int)(sizeof(gzip_contenders) /
				  sizeof(gzip_contenders[0])),
			    cs);
	size_t i;

	printf("\nTFRecord, gzip (level 6, text about 2.3:1), splice() writer, "
	       "%d rounds; MB/s of the uncompressed stream;\nvs ref = median "
	       "over rounds of the speed ratio to bare zlib inflate; "
	       "libpipemode built to inflate with %s\n",
	       opt_rounds, PMBENCH_INFLATE);
	print_table_head("record");
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct stream s;

		if (!size_wanted(sizes[i]))
			continue;
		memset(&s, 0, sizeof(s));
		s.format = "tfrecord";
		s.gzip = 1;
		s.rec = sizes[i];
		make_stream(&s, stream_target(s.rec, 1));
		printf("          (%" PRIu64 " MiB compressed to %.1f MiB, "
		       "ratio %.2f)\n",
		       s.bytes / MIB, (double)s.file_bytes / MIB,
		       (double)s.bytes / (double)s.file_bytes);
		measure("gzip", &s, WRITE_SPLICE, cs, nc);
		unlink(data_path);
	}
}

/* -------------------------------------------------------------- crc32c */

static double crc_gbps[2][4];
static const size_t crc_sizes[] = {100, KIB, 64 * KIB, MIB};
static int have_isal;

#ifdef PMBENCH_HAVE_ISAL
/* ISA-L neither inverts the seed nor the result: CRC32C is
 * ~crc32_iscsi(data, len, 0xffffffff). */
static uint32_t
isal_crc32c(const void *p, size_t n)
{
	return ~crc32_iscsi((unsigned char *)p, (int)n, 0xffffffffu);
}
#endif

/* Independent CRCs of len bytes at successive offsets of buf (unaligned
 * for 100 B), as a reader checks record after record; bytes per second. */
#define CRC_LOOP(EXPR)                                                         \
	do {                                                                   \
		uint64_t t0 = now_ns();                                        \
		for (i = 0; i < calls; i++) {                                  \
			const unsigned char *p = buf + off;                    \
			acc ^= (EXPR);                                         \
			off += len;                                            \
			if (off + len > bufsize)                               \
				off = 0;                                       \
		}                                                              \
		secs = (double)(now_ns() - t0) / 1e9;                          \
	} while (0)

static volatile uint32_t crc_sink;

static double
crc_rate(int impl, const unsigned char *buf, size_t bufsize, size_t len,
	 uint64_t calls)
{
	uint64_t i;
	size_t off = 0;
	uint32_t acc = 0;
	double secs = 0;

	if (impl == 0)
		CRC_LOOP(pipemode_crc32c(0, p, len));
#ifdef PMBENCH_HAVE_ISAL
	else
		CRC_LOOP(isal_crc32c(p, len));
#endif
	crc_sink = acc;
	return (double)calls * (double)len / secs;
}

static void
section_crc(void)
{
	size_t bufsize = 2 * MIB, i;
	unsigned char *buf = malloc(bufsize);
	uint64_t st = 7;
	int impl, nimpl, round;

	if (buf == NULL)
		die("malloc");
	for (i = 0; i < bufsize; i++)
		buf[i] = (unsigned char)splitmix64(&st);
	if (pipemode_crc32c(0, "123456789", 9) != 0xe3069283u) {
		fprintf(stderr, "pmbench: pipemode_crc32c is wrong\n");
		exit(1);
	}
#ifdef PMBENCH_HAVE_ISAL
	have_isal = 1;
	/* The two must agree before either is timed. */
	for (i = 0; i < 4096; i++) {
		size_t len = i < 2048 ? i : (size_t)(splitmix64(&st) % MIB);
		size_t at = (size_t)(splitmix64(&st) % (bufsize - len));
		if (pipemode_crc32c(0, buf + at, len) !=
		    isal_crc32c(buf + at, len)) {
			fprintf(stderr,
				"pmbench: pipemode_crc32c and ISA-L "
				"crc32_iscsi disagree at %zu bytes\n",
				len);
			exit(1);
		}
	}
#endif
	nimpl = have_isal ? 2 : 1;
	printf("\nCRC32C, %d rounds alternating, medians, data in cache%s\n",
	       opt_rounds,
	       have_isal ? "; ISA-L crc32_iscsi checked equal first (4096 "
			   "lengths)"
			 : "; ISA-L not found at configure time: no comparison");
	printf("%-9s %14s %14s %9s %7s\n", "length", "libpipemode",
	       have_isal ? "ISA-L" : "-", "ratio", "spread");
	for (i = 0; i < sizeof(crc_sizes) / sizeof(crc_sizes[0]); i++) {
		double v[2][MAX_ROUNDS];
		size_t len = crc_sizes[i];
		size_t area = len >= 64 * KIB ? bufsize : 64 * KIB;
		uint64_t calls = (uint64_t)((len >= 64 * KIB ? 4e9 : 1e9) *
					    opt_scale / (double)len) + 1;
		char sz[32];

		for (round = 0; round < opt_rounds; round++)
			for (impl = 0; impl < nimpl; impl++) {
				int k = round % 2 ? nimpl - 1 - impl : impl;
				v[k][round] = crc_rate(k, buf, area, len, calls);
			}
		size_name(len, sz, sizeof(sz));
		for (impl = 0; impl < nimpl; impl++)
			crc_gbps[impl][i] = median(v[impl], opt_rounds) / 1e9;
		if (have_isal)
			printf("%-9s %9.2f GB/s %9.2f GB/s %8.2fx %6.1f%%\n", sz,
			       crc_gbps[0][i], crc_gbps[1][i],
			       crc_gbps[0][i] / crc_gbps[1][i],
			       100 * spread(v[0], opt_rounds));
		else
			printf("%-9s %9.2f GB/s %14s %9s %6.1f%%\n", sz,
			       crc_gbps[0][i], "-", "-",
			       100 * spread(v[0], opt_rounds));
	}
	free(buf);
}

/* -------------------------------------------------------------- targets */

static int misses, passes;

static void
verdict(int pass, const char *fmt_what, const char *detail)
{
	printf("  %-4s  %-58s %s\n", pass ? "PASS" : "MISS", fmt_what, detail);
	if (pass)
		passes++;
	else
		misses++;
}

static int
ran(const char *section)
{
	return opt_only == NULL || strcmp(opt_only, section) == 0;
}

static void
targets(void)
{
	char what[128], detail[160];
	size_t i;
	int mode, j;

	printf("\nTargets (PASS/MISS; never a failure of the build)\n");
	if (ran("tfrecord")) {
		for (mode = WRITE_COPY; mode <= WRITE_SPLICE; mode++) {
			for (i = 0; i < 4; i++) {
				size_t rec = record_sizes[i];
				const struct summary *pm = find_summary(
					"tfrecord", rec, (enum writer_mode)mode,
					"pm", "format=tfrecord");
				const struct summary *raw = find_summary(
					"tfrecord", rec, (enum writer_mode)mode,
					"raw", NULL);
				double need;
				char sz[32];

				if (pm == NULL || raw == NULL)
					continue;
				size_name(rec, sz, sizeof(sz));
				if (mode == WRITE_SPLICE && rec == 100) {
					snprintf(what, sizeof(what),
						 "TFRecord+crc, splice, %s: >= 25 "
						 "M records/s",
						 sz);
					snprintf(detail, sizeof(detail),
						 "%.1f M records/s (%.1f%% of raw)",
						 pm->mrecs, 100 * pm->ratio);
					verdict(pm->mrecs >= 25, what, detail);
					continue;
				}
				need = mode == WRITE_COPY ? 0.95
				       : rec == MIB	  ? 0.80
							  : 0.90;
				snprintf(what, sizeof(what),
					 "TFRecord+crc, %s, %s: >= %.0f%% of raw",
					 writer_names[mode], sz, 100 * need);
				snprintf(detail, sizeof(detail),
					 "%.1f%% (%.0f vs %.0f MB/s)",
					 100 * pm->ratio, pm->mbps, raw->mbps);
				verdict(pm->ratio >= need, what, detail);
			}
		}
		for (mode = WRITE_COPY; mode <= WRITE_SPLICE; mode++) {
			double worst = 0;
			size_t worst_rec = 0;
			char sz[32];

			for (i = 0; i < 4; i++) {
				const struct summary *pm = find_summary(
					"tfrecord", record_sizes[i],
					(enum writer_mode)mode, "pm",
					"format=tfrecord");
				const struct summary *raw = find_summary(
					"tfrecord", record_sizes[i],
					(enum writer_mode)mode, "raw", NULL);
				if (pm == NULL || raw == NULL)
					continue;
				if (pm->cpu_per_gb / raw->cpu_per_gb > worst) {
					worst = pm->cpu_per_gb / raw->cpu_per_gb;
					worst_rec = record_sizes[i];
				}
			}
			if (worst_rec == 0)
				continue; /* that writer did not run */
			size_name(worst_rec, sz, sizeof(sz));
			snprintf(what, sizeof(what),
				 "TFRecord+crc CPU/GB, %s: <= 1.5x raw, every "
				 "size",
				 writer_names[mode]);
			snprintf(detail, sizeof(detail), "worst %.2fx (at %s)",
				 worst, sz);
			verdict(worst <= 1.5, what, detail);
		}
	}
	if (ran("recordio")) {
		for (mode = WRITE_COPY; mode <= WRITE_SPLICE; mode++) {
			for (i = 0; i < 4; i++) {
				size_t rec = record_sizes[i];
				const struct summary *pm = find_summary(
					"recordio", rec, (enum writer_mode)mode,
					"pm", "format=recordio");
				const struct summary *d1 = find_summary(
					"recordio", rec, (enum writer_mode)mode,
					"dmlc", NULL);
				const struct summary *d2 = find_summary(
					"recordio", rec, (enum writer_mode)mode,
					"dmlc-stdio", NULL);
				const struct summary *raw = find_summary(
					"recordio", rec, (enum writer_mode)mode,
					"raw", NULL);
				const struct summary *d = d1;
				double need = rec <= KIB ? 3.0 : 1.0;
				char sz[32], ceiling[64] = "";

				if (d2 != NULL && (d == NULL || d2->mrecs > d->mrecs))
					d = d2;
				if (pm == NULL || d == NULL)
					continue;
				/* No reader beats the read() loop over the same
				 * pipe: when it is not need times dmlc-core, say
				 * so, or the MISS reads as a defect of ours. */
				if (raw != NULL && raw->mbps > 0 && d->mbps > 0)
					snprintf(ceiling, sizeof(ceiling),
						 "; read() loop %.2fx",
						 raw->mbps / d->mbps);
				size_name(rec, sz, sizeof(sz));
				snprintf(what, sizeof(what),
					 "RecordIO, %s, %s: >= %.0fx dmlc-core's "
					 "best",
					 writer_names[mode], sz, need);
				snprintf(detail, sizeof(detail),
					 "%.2fx (%.2f vs %.2f M records/s%s)",
					 pm->mrecs / d->mrecs, pm->mrecs,
					 d->mrecs, ceiling);
				verdict(pm->mrecs >= need * d->mrecs, what,
					detail);
			}
		}
	}
	if (ran("crc")) {
		for (i = 0; i < 4; i++) {
			char sz[32];
			double gb = crc_gbps[0][i];

			size_name(crc_sizes[i], sz, sizeof(sz));
			if (crc_sizes[i] == KIB)
				continue;
			if (crc_sizes[i] == 100) {
				snprintf(what, sizeof(what),
					 "CRC32C, %s: >= 5 GB/s", sz);
				snprintf(detail, sizeof(detail), "%.2f GB/s", gb);
				verdict(gb >= 5, what, detail);
				continue;
			}
			snprintf(what, sizeof(what), "CRC32C, %s: >= 20 GB/s", sz);
			snprintf(detail, sizeof(detail), "%.2f GB/s", gb);
			verdict(gb >= 20, what, detail);
			if (have_isal) {
				snprintf(what, sizeof(what),
					 "CRC32C, %s: within 5%% of ISA-L", sz);
				snprintf(detail, sizeof(detail),
					 "%.1f%% of ISA-L (%.2f GB/s)",
					 100 * gb / crc_gbps[1][i],
					 crc_gbps[1][i]);
				verdict(gb >= 0.95 * crc_gbps[1][i], what,
					detail);
			} else {
				printf("  ----  CRC32C, %s: within 5%% of ISA-L: "
				       "not measured (no ISA-L)\n",
				       sz);
			}
		}
	}
	if (ran("gzip")) {
		double worst = 10;
		size_t worst_rec = 0;
		char sz[32];

		for (j = 0; j < nsummaries; j++) {
			const struct summary *s = &summaries[j], *z;
			if (strcmp(s->section, "gzip") != 0 ||
			    strcmp(s->kind, "pm") != 0)
				continue;
			z = find_summary("gzip", s->rec, s->mode, "zlib", NULL);
			if (z != NULL && s->ratio < worst) {
				worst = s->ratio;
				worst_rec = s->rec;
			}
		}
		size_name(worst_rec, sz, sizeof(sz));
		snprintf(detail, sizeof(detail), "worst %.1f%% (at %s)",
			 100 * worst, sz);
		if (worst_rec != 0)
			verdict(worst >= 0.95,
				"gzip TFRecord: >= 95% of bare zlib inflate, "
				"every size",
				detail);
	}
	{
		/* Memory: nothing allocated per record once the first is
		 * out, and no more resident than the reference reader (the
		 * read() loop, or bare zlib) plus the buffer plus the largest
		 * record plus 256 KiB for libpipemode's own code and state,
		 * which the reference never touches (its text alone is
		 * about 80 KiB). */
		long steady = 0, worst_over = LONG_MIN;
		int n = 0, any = 0;
		const struct summary *worst = NULL;

		for (j = 0; j < nsummaries; j++) {
			const struct summary *s = &summaries[j], *raw;
			long bound, over;
			/* Only this build: another one maps another copy of
			 * the library. */
			if (strncmp(s->kind, "pm", 2) != 0 ||
			    strcmp(s->kind, "pm-other") == 0)
				continue;
			any = 1;
			if (s->mallocs_steady < 0) {
				steady = -1;
				break;
			}
			steady += s->mallocs_steady;
			n++;
			raw = find_summary(s->section, s->rec, s->mode,
					   strcmp(s->section, "gzip") == 0
						   ? "zlib"
						   : "raw",
					   NULL);
			if (raw == NULL)
				continue;
			bound = raw->maxrss_kb +
				(long)(PMBENCH_BUFFER + s->rec + 256 * KIB) / 1024;
			over = s->maxrss_kb - bound;
			if (over > worst_over) {
				worst_over = over;
				worst = s;
			}
		}
		if (any && steady >= 0) {
			snprintf(detail, sizeof(detail),
				 "%ld malloc calls after the first record, "
				 "in %d runs",
				 steady, n);
			verdict(steady == 0,
				"memory: no allocation per record (libpipemode)",
				detail);
		} else if (any) {
			printf("  ----  memory: malloc calls not counted (not "
			       "glibc)\n");
		}
		if (worst != NULL) {
			char sz[32];
			size_name(worst->rec, sz, sizeof(sz));
			snprintf(detail, sizeof(detail),
				 "worst %s %s %s: %.1f MiB, %ld KiB %s the bound",
				 worst->section, sz, worst->label,
				 (double)worst->maxrss_kb / 1024,
				 worst_over > 0 ? worst_over : -worst_over,
				 worst_over > 0 ? "over" : "under");
			verdict(worst_over <= 0,
				"memory: max RSS <= ref + buffer + record + 256K",
				detail);
		}
	}
	printf("\n%d PASS, %d MISS (load average at the end %.2f: other work on "
	       "the machine lowers the figures)\n",
	       passes, misses, loadavg());
}

/* ---------------------------------------------------------------- main */


static void
print_machine(void)
{
	char line[256], model[256] = "unknown";
	struct utsname u;
	FILE *f = fopen("/proc/cpuinfo", "r");
	long pipe_max = -1;

	if (f != NULL) {
		while (fgets(line, sizeof(line), f) != NULL)
			if (strncmp(line, "model name", 10) == 0) {
				char *p = strchr(line, ':');
				if (p != NULL) {
					snprintf(model, sizeof(model), "%s",
						 p + 2);
					model[strcspn(model, "\n")] = 0;
				}
				break;
			}
		fclose(f);
	}
	f = fopen("/proc/sys/fs/pipe-max-size", "r");
	if (f != NULL) {
		if (fscanf(f, "%ld", &pipe_max) != 1)
			pipe_max = -1;
		fclose(f);
	}
	uname(&u);
	printf("pmbench: libpipemode %s, zlib %s, dmlc-core %s, ISA-L %s\n",
	       pipemode_version_string(), zlibVersion(),
#ifdef PMBENCH_HAVE_DMLC
	       "yes",
#else
	       "not found (RecordIO is compared with the read() loop only)",
#endif
#ifdef PMBENCH_HAVE_ISAL
	       "yes"
#else
	       "not found (no CRC32C comparison)"
#endif
	);
	printf("machine: %s, %ld CPUs online, %s %s, pipe-max-size %ld, "
	       "load average %.2f\n",
	       model, sysconf(_SC_NPROCESSORS_ONLN), u.sysname, u.release,
	       pipe_max, loadavg());
	printf("streams: %.0f MiB each (gzip: %.0f MiB uncompressed), pipe %u "
	       "KiB, read buffer %u KiB, writer chunks 1 MiB, %d rounds, %s\n",
	       256 * opt_scale, 64 * opt_scale, PMBENCH_PIPE_SIZE / KIB,
	       PMBENCH_BUFFER / KIB, opt_rounds,
	       opt_pin ? "writer on CPU 0, reader on CPU 1"
		       : "processes not pinned");
	if (opt_other_lib != NULL)
		printf("[other]: libpipemode from %s\n", opt_other_lib);
	printf("columns: MB/s and Mrec/s of the (uncompressed) stream; CPU s/GB "
	       "= reader user+sys per GB;\n         KiB/rd = FIFO bytes per "
	       "read() call (-1: unknown); RSS MB = reader max RSS in MiB;\n"
	       "         mallocs = calls up to the first record / after it; "
	       "spread = (max-min)/median of times\n");
}

static void
usage(void)
{
	fprintf(stderr,
		"usage: pmbench [--rounds N] [--scale F] [--no-pin]\n"
		"               [--only tfrecord|recordio|gzip|crc]\n"
		"               [--sizes BYTES,...] [--writers write|splice|both]\n"
		"               [--compare-lib DIR]\n"
		"  --rounds N   rounds of every contender (default 5, at most 15)\n"
		"  --scale F    stream sizes times F (default 1: 256 MiB, gzip "
		"64 MiB)\n"
		"  --no-pin     do not pin the writer to CPU 0, the reader to "
		"CPU 1\n"
		"  --only S     one section\n"
		"  --sizes L    only these record sizes (of 100,1024,102400,"
		"1048576)\n"
		"  --writers W  only this writer (default both; gzip always "
		"splice)\n"
		"  --compare-lib DIR  also run every libpipemode reader with the "
		"libpipemode.so.1\n"
		"               in DIR (another build), marked [other]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *tmp = getenv("TMPDIR");
	ssize_t n;
	int i;

	if (argc > 1 && strcmp(argv[1], "--reader") == 0)
		return reader_main(argc, argv);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
			opt_rounds = atoi(argv[++i]);
		else if (strcmp(argv[i], "--scale") == 0 && i + 1 < argc)
			opt_scale = atof(argv[++i]);
		else if (strcmp(argv[i], "--no-pin") == 0)
			opt_pin = 0;
		else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
			opt_only = argv[++i];
		else if (strcmp(argv[i], "--compare-lib") == 0 && i + 1 < argc)
			opt_other_lib = argv[++i];
		else if (strcmp(argv[i], "--sizes") == 0 && i + 1 < argc)
			opt_sizes = argv[++i];
		else if (strcmp(argv[i], "--writers") == 0 && i + 1 < argc) {
			const char *w = argv[++i];
			opt_writers = strcmp(w, "write") == 0	 ? 1
				      : strcmp(w, "splice") == 0 ? 2
				      : strcmp(w, "both") == 0	 ? 3
								 : 0;
			if (opt_writers == 0)
				usage();
		}
		else
			usage();
	}
	if (opt_rounds < 1 || opt_rounds > MAX_ROUNDS || opt_scale <= 0)
		usage();
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		opt_pin = 0;

	n = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);
	if (n <= 0)
		die("/proc/self/exe");
	self_path[n] = 0;
	snprintf(tmp_dir, sizeof(tmp_dir), "%s/pmbench.XXXXXX",
		 tmp != NULL && *tmp ? tmp : "/tmp");
	if (mkdtemp(tmp_dir) == NULL) {
		tmp_dir[0] = 0;
		die("mkdtemp");
	}
	atexit(cleanup_files);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGALRM, on_alarm);
	signal(SIGPIPE, SIG_IGN);
	snprintf(fifo_path, sizeof(fifo_path), "%s/fifo", tmp_dir);
	snprintf(data_path, sizeof(data_path), "%s/stream", tmp_dir);
	if (mkfifo(fifo_path, 0600) != 0)
		die("mkfifo");

	print_machine();
	if (ran("tfrecord"))
		section_framed("tfrecord", tfrecord_contenders,
			       (int)(sizeof(tfrecord_contenders) /
				     sizeof(tfrecord_contenders[0])));
	if (ran("recordio"))
		section_framed("recordio", recordio_contenders,
			       (int)(sizeof(recordio_contenders) /
				     sizeof(recordio_contenders[0])));
	if (ran("gzip"))
		section_gzip();
	if (ran("crc"))
		section_crc();
	targets();
	return 0;
}
