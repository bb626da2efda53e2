/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pmreadahead: what readahead=SIZE buys a writer when the consumer is slow
 * (make bench runs it after pmbench; BENCHMARKS.rst has the figures).
 *
 * SageMaker's writer blocks on a full pipe while the training step runs;
 * the stream then takes as long as the training, and the writer's own
 * pace (S3 download) is wasted.  Here a writer process streams 1 KiB
 * TFRecord records into a FIFO with write(), as fast as it can, and
 * reports when it has written the last byte; the reader, this process,
 * takes them in batches with pipemode_next_batch and spends STEP_US per
 * batch off the CPU (nanosleep: a GPU step), like a training loop.  For
 * readahead=0 and readahead=SIZE the program prints how long the writer
 * took to hand over the whole stream, and how long the training took.
 * Medians of ROUNDS runs, alternating.
 *
 *   pmreadahead [--rounds N] [--mib M] [--step-us U] [--batch B]
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <pipemode.h>

#define REC 1024u
#define MAX_ROUNDS 15

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint32_t
masked(uint32_t crc)
{
	return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

static void
put_le(unsigned char *p, uint64_t v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* The writer: the stream in memory, then write() in 1 MiB pieces; the
 * time from open to the last byte written goes to report_fd. */
static void
writer(const char *fifo, size_t mib, int report_fd)
{
	size_t rec_total = REC + 16, n = mib * 1024 * 1024 / rec_total, i;
	size_t len = n * rec_total, off = 0;
	unsigned char *s = malloc(len);
	uint64_t t0, dt;
	int fd;

	if (s == NULL)
		_exit(1);
	for (i = 0; i < n; i++) {
		unsigned char *p = s + i * rec_total;
		put_le(p, REC, 8);
		put_le(p + 8, masked(pipemode_crc32c(0, p, 8)), 4);
		memset(p + 12, (int)(i & 0xff), REC);
		put_le(p + 12 + REC, masked(pipemode_crc32c(0, p + 12, REC)),
		       4);
	}
	fd = open(fifo, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		_exit(1);
	(void)fcntl(fd, F_SETPIPE_SZ, 1024 * 1024);
	t0 = now_ns();
	while (off < len) {
		size_t chunk = len - off < 1024 * 1024 ? len - off : 1024 * 1024;
		ssize_t w = write(fd, s + off, chunk);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(1);
		off += (size_t)w;
	}
	dt = now_ns() - t0;
	close(fd);
	if (write(report_fd, &dt, sizeof(dt)) != (ssize_t)sizeof(dt))
		_exit(1);
	_exit(0);
}

/* One run: writer's time to hand over the stream, and the training's. */
static int
run(const char *fifo, size_t mib, const char *options, long step_us,
    size_t batch, double *writer_s, double *train_s, uint64_t *records)
{
	int rep[2], status, rc;
	pid_t pid;
	pipemode_reader *r = NULL;
	pipemode_record recs[1024];
	struct timespec step = {step_us / 1000000, (step_us % 1000000) * 1000};
	uint64_t t0, dt = 0, count = 0;
	size_t got;

	if (pipe(rep) != 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(rep[0]);
		writer(fifo, mib, rep[1]);
	}
	close(rep[1]);
	t0 = now_ns();
	rc = pipemode_open_path(&r, fifo, options);
	while (rc == PIPEMODE_OK) {
		rc = pipemode_next_batch(r, recs, batch, &got);
		if (rc != PIPEMODE_OK)
			break;
		count += got;
		while (nanosleep(&step, &step) != 0 && errno == EINTR)
			;
		step.tv_sec = step_us / 1000000;
		step.tv_nsec = (step_us % 1000000) * 1000;
	}
	*train_s = (double)(now_ns() - t0) / 1e9;
	if (rc != PIPEMODE_EOF)
		fprintf(stderr, "pmreadahead: %s\n", pipemode_errmsg(r));
	pipemode_close(r);
	if (read(rep[0], &dt, sizeof(dt)) != (ssize_t)sizeof(dt))
		rc = -1;
	close(rep[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		rc = -1;
	*writer_s = (double)dt / 1e9;
	*records = count;
	return rc == PIPEMODE_EOF ? 0 : -1;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int
main(int argc, char **argv)
{
	int rounds = 5, i, k;
	size_t mib = 32, batch = 256;
	long step_us = 2000;
	char dir[] = "/tmp/pmreadahead.XXXXXX", fifo[64], opts[2][64];
	double w[2][MAX_ROUNDS], t[2][MAX_ROUNDS];
	uint64_t records = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else if (strcmp(argv[i], "--mib") == 0 && i + 1 < argc)
			mib = (size_t)atol(argv[++i]);
		else if (strcmp(argv[i], "--step-us") == 0 && i + 1 < argc)
			step_us = atol(argv[++i]);
		else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
			batch = (size_t)atol(argv[++i]);
		else {
			fprintf(stderr, "usage: pmreadahead [--rounds N] "
					"[--mib M] [--step-us U] [--batch B]\n");
			return 2;
		}
	}
	if (rounds < 1 || rounds > MAX_ROUNDS || mib < 1 || mib > 4096 ||
	    step_us < 0 || batch < 1 || batch > 1024) {
		fprintf(stderr, "pmreadahead: rounds 1..%d, mib 1..4096, "
				"batch 1..1024\n", MAX_ROUNDS);
		return 2;
	}
	if (mkdtemp(dir) == NULL) {
		perror("pmreadahead: mkdtemp");
		return 1;
	}
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	if (mkfifo(fifo, 0600) != 0) {
		perror("pmreadahead: mkfifo");
		rmdir(dir);
		return 1;
	}
	snprintf(opts[0], sizeof(opts[0]), "readahead=0");
	snprintf(opts[1], sizeof(opts[1]), "readahead=%zuM", mib + 1);
	alarm(600); /* a bound on the whole program */
	printf("pmreadahead: %zu MiB of 1 KiB TFRecord records, write() "
	       "writer, batches of %zu, %ld us per batch off the CPU, "
	       "%d rounds, medians\n",
	       mib, batch, step_us, rounds);
	for (k = 0; k < rounds; k++)
		for (i = 0; i < 2; i++) {
			int j = (k % 2) ? 1 - i : i; /* alternate who starts */
			if (run(fifo, mib, opts[j], step_us, batch, &w[j][k],
				&t[j][k], &records) != 0) {
				fprintf(stderr, "pmreadahead: run failed\n");
				unlink(fifo);
				rmdir(dir);
				return 1;
			}
		}
	unlink(fifo);
	rmdir(dir);
	{
		double w0 = median(w[0], rounds), w1 = median(w[1], rounds);
		double t0 = median(t[0], rounds), t1 = median(t[1], rounds);
		printf("%-22s %16s %16s\n", "reader options", "writer done (s)",
		       "training (s)");
		printf("%-22s %16.3f %16.3f\n", opts[0], w0, t0);
		printf("%-22s %16.3f %16.3f\n", opts[1], w1, t1);
		printf("%" PRIu64 " records; with readahead the writer hands "
		       "over the stream %.1fx sooner, the training takes "
		       "%.2fx as long\n",
		       records, w1 > 0 ? w0 / w1 : 0.0, t0 > 0 ? t1 / t0 : 0.0);
	}
	return 0;
}
