/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading real FIFOs and pipes fed by a forked writer, as SageMaker Pipe
 * Mode does.  Nothing sleeps to synchronise: open(2) on a FIFO blocks until
 * the other side opens it, and read(2) until bytes or the writer's close
 * arrive.  Every tcase has a timeout, and every writer child an alarm, so a
 * stuck side fails the test instead of hanging.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* F_SETPIPE_SZ */
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define KiB ((size_t)1024)
#define MiB (1024 * KiB)
#define CHILD_ALARM 60

/* Odd write sizes, so records straddle the writes. */
static const size_t odd_pieces[] = {1, 7, 13, 4093, 65537, 3, 1000003, 511, 0};

static void
make_fifo(char *path, size_t size, const char *name)
{
	tu_tmppath(path, size, name);
	unlink(path); /* left over by an earlier iteration that failed */
	ck_assert_msg(mkfifo(path, 0600) == 0, "mkfifo %s: %s", path,
		      strerror(errno));
}

/* Fork a child that opens path for writing, writes p[0..n) in odd pieces,
 * closes it and exits (a cut stream is a writer dying mid-record). */
static pid_t
spawn_raw_writer(const char *path, const void *p, size_t n)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd;

		alarm(CHILD_ALARM);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			_exit(2);
		if (tu_write_pieces(fd, p, n, odd_pieces) != 0)
			_exit(3);
		_exit(close(fd) == 0 ? 0 : 4);
	}
	return pid;
}

/* Fork a child that writes the records of s to path with the library's
 * writer. */
static pid_t
spawn_library_writer(const char *path, const tu_stream *s,
		     const char *options)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		pipemode_writer *w = NULL;

		alarm(CHILD_ALARM);
		if (pipemode_writer_open_path(&w, path, options) != PIPEMODE_OK)
			_exit(10);
		for (size_t i = 0; i < s->nrec; i++)
			if (pipemode_write(w, tu_stream_payload(s, i),
					   s->rec[i].len) != PIPEMODE_OK)
				_exit(11);
		_exit(pipemode_writer_close(w) == PIPEMODE_OK ? 0 : 12);
	}
	return pid;
}

static void
reap(pid_t pid)
{
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "writer child: status %#x", (unsigned)status);
}

/* Open path for reading (blocks until the writer opens it), read all. */
static void
read_path(const char *path, const char *options, tu_result *res,
	  pipemode_stats *st)
{
	pipemode_reader *r = NULL;
	int rc = pipemode_open_path(&r, path, options);

	ck_assert_msg(rc == PIPEMODE_OK, "open_path %s: %d %s", path, rc,
		      pipemode_errmsg(r));
	tu_read_all(r, res);
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	ck_assert_int_eq(pipemode_get_stats(r, st), PIPEMODE_OK);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
}

static void
expect_whole_stream(const tu_result *res, const pipemode_stats *st,
		    const tu_stream *s)
{
	tu_check_records(res, s, s->nrec, 0);
	ck_assert_msg(res->rc == PIPEMODE_EOF, "rc %d: %s", res->rc,
		      res->errmsg);
	ck_assert_uint_eq(st->records, s->nrec);
	ck_assert_uint_eq(st->payload_bytes, s->len - 16 * s->nrec);
	ck_assert_uint_eq(st->bytes_read, s->len);
}

static void
build_mixed(tu_stream *s)
{
	tu_stream_init(s);
	tu_stream_add(s, "", 0, 0);
	tu_stream_add(s, "hello", 5, 0);
	tu_stream_add_random(s, 3 * MiB, 1, 0); /* more than any pipe holds */
	tu_stream_add(s, "", 0, 0);
	tu_stream_add_random(s, 65536, 2, 0);
	tu_stream_add_random(s, 70001, 3, 0);
	tu_stream_add(s, "last", 4, 0);
}

/* ================================================================= fifo */

START_TEST(test_fifo_delivers_every_record)
{
	static const char *const options[] = {NULL, "pipe_size=0",
					      "buffer_size=4K"};
	tu_stream s;
	char path[4200];
	tu_result res;
	pipemode_stats st;
	pid_t pid;

	build_mixed(&s);
	make_fifo(path, sizeof(path), "mixed.fifo");
	pid = spawn_raw_writer(path, s.p, s.len);
	read_path(path, options[_i], &res, &st);
	reap(pid);
	expect_whole_stream(&res, &st, &s);
	tu_result_free(&res);
	tu_stream_free(&s);
}
END_TEST

/* Every record arrives through the readahead thread, whatever the ring's
 * size against the records (smaller than a record, about a pipe, larger
 * than the stream). */
START_TEST(test_fifo_readahead_delivers_every_record)
{
	static const char *const options[] = {
		"readahead=4K", "readahead=4K,buffer_size=4K",
		"readahead=1M", "readahead=64M,compression=auto"};
	tu_stream s;
	char path[4200];
	tu_result res;
	pipemode_stats st;
	pid_t pid;

	build_mixed(&s);
	make_fifo(path, sizeof(path), "readahead.fifo");
	pid = spawn_raw_writer(path, s.p, s.len);
	read_path(path, options[_i], &res, &st);
	reap(pid);
	expect_whole_stream(&res, &st, &s);
	tu_result_free(&res);
	tu_stream_free(&s);
}
END_TEST

/* The point of readahead: the writer gets rid of a stream several times the
 * pipe's size before the program asks for a single record.  Without the
 * thread, waiting for the writer here would never end (the tcase timeout
 * would fail the test). */
START_TEST(test_fifo_readahead_drains_the_pipe_before_next)
{
	tu_stream s;
	char path[4200];
	pipemode_reader *r = NULL;
	tu_result res;
	pid_t pid;

	tu_stream_init(&s);
	for (uint64_t i = 0; i < 64; i++)
		tu_stream_add_random(&s, 65536, i, 0); /* 4 MiB */
	make_fifo(path, sizeof(path), "drain.fifo");
	pid = spawn_raw_writer(path, s.p, s.len);
	ck_assert_int_eq(pipemode_open_path(&r, path, "readahead=8M"),
			 PIPEMODE_OK);
	reap(pid); /* the whole stream is out of the pipe */
	tu_read_all(r, &res);
	tu_check_records(&res, &s, s.nrec, 0);
	ck_assert_int_eq(res.rc, PIPEMODE_EOF);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	tu_result_free(&res);
	tu_stream_free(&s);
}
END_TEST

/* Closing a reader whose thread waits on a writer that sends nothing
 * returns at once: the thread is woken, not left blocked in read(). */
START_TEST(test_fifo_readahead_close_with_a_silent_writer)
{
	char path[4200];
	pipemode_reader *r = NULL;
	int wfd, ready[2];
	pid_t pid;

	make_fifo(path, sizeof(path), "silent.fifo");
	ck_assert_int_eq(pipe(ready), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char c;
		alarm(CHILD_ALARM);
		close(ready[1]);
		wfd = open(path, O_WRONLY | O_CLOEXEC);
		/* Hold the FIFO open, silent, until the parent is done. */
		_exit(wfd >= 0 && read(ready[0], &c, 1) == 0 ? 0 : 2);
	}
	close(ready[0]);
	ck_assert_int_eq(pipemode_open_path(&r, path, "readahead=64K"),
			 PIPEMODE_OK);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	close(ready[1]); /* lets the child go */
	reap(pid);
}
END_TEST

START_TEST(test_fifo_many_small_records)
{
	tu_stream s;
	char path[4200];
	tu_result res;
	pipemode_stats st;
	uint64_t rng = 99;
	pid_t pid;

	tu_stream_init(&s);
	for (int i = 0; i < 20000; i++)
		tu_stream_add_random(&s, tu_rand(&rng) % 64, (uint64_t)i, 0);
	make_fifo(path, sizeof(path), "small.fifo");
	pid = spawn_raw_writer(path, s.p, s.len);
	read_path(path, NULL, &res, &st);
	reap(pid);
	expect_whole_stream(&res, &st, &s);
	tu_result_free(&res);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_fifo_empty_stream_is_eof)
{
	tu_stream s;
	char path[4200];
	tu_result res;
	pipemode_stats st;
	pid_t pid;

	tu_stream_init(&s);
	make_fifo(path, sizeof(path), "empty.fifo");
	pid = spawn_raw_writer(path, "", 0);
	read_path(path, NULL, &res, &st);
	reap(pid);
	expect_whole_stream(&res, &st, &s);
	tu_result_free(&res);
	tu_stream_free(&s);
}
END_TEST

/* The writer dies inside the last record: in its header, its payload or
 * its footer.  Every whole record arrives, then ETRUNCATED (never EOF). */
START_TEST(test_fifo_writer_dying_mid_record_is_etruncated)
{
	tu_stream s;
	char path[4200];
	tu_result res;
	pipemode_stats st;
	size_t last, cut;
	pid_t pid;

	build_mixed(&s);
	last = tu_stream_add_random(&s, 100000, 4, 0);
	switch (_i) {
	case 0: /* inside the length */
		cut = (size_t)s.rec[last].offset + 5;
		break;
	case 1: /* inside the length CRC */
		cut = (size_t)s.rec[last].offset + 10;
		break;
	case 2: /* inside the payload */
		cut = (size_t)s.rec[last].offset + 12 + 50000;
		break;
	default: /* inside the payload CRC */
		cut = (size_t)s.rec[last].offset + 12 + 100000 + 2;
		break;
	}
	make_fifo(path, sizeof(path), "cut.fifo");
	pid = spawn_raw_writer(path, s.p, cut);
	read_path(path, NULL, &res, &st);
	reap(pid);
	tu_check_records(&res, &s, last, 0);
	tu_check_error(&res, PIPEMODE_ETRUNCATED, last, s.rec[last].offset);
	ck_assert_uint_eq(st.bytes_read, cut);
	tu_result_free(&res);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_fifo_writer_dying_at_record_boundary_is_eof)
{
	tu_stream s, whole;
	char path[4200];
	tu_result res;
	pipemode_stats st;
	pid_t pid;

	build_mixed(&s);
	/* the child writes only the first 3 records */
	tu_stream_init(&whole);
	for (size_t i = 0; i < 3; i++)
		tu_stream_add(&whole, tu_stream_payload(&s, i), s.rec[i].len,
			      0);
	make_fifo(path, sizeof(path), "boundary.fifo");
	pid = spawn_raw_writer(path, s.p, (size_t)tu_stream_rec_end(&s, 2));
	read_path(path, NULL, &res, &st);
	reap(pid);
	expect_whole_stream(&res, &st, &whole);
	tu_result_free(&res);
	tu_stream_free(&whole);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_fifo_library_writer_to_library_reader)
{
	static const char *const options[] = {NULL, "buffer_size=4K"};
	tu_stream s;
	char path[4200];
	tu_result res;
	pipemode_stats st;
	pid_t pid;

	build_mixed(&s);
	for (int i = 0; i < 1000; i++)
		tu_stream_add_random(&s, (size_t)i % 200, 1000 + (uint64_t)i,
				     0);
	make_fifo(path, sizeof(path), "lib.fifo");
	pid = spawn_library_writer(path, &s, options[_i]);
	read_path(path, NULL, &res, &st);
	reap(pid);
	expect_whole_stream(&res, &st, &s);
	tu_result_free(&res);
	tu_stream_free(&s);
}
END_TEST

/* Options are checked before the open, which would block with no writer. */
START_TEST(test_fifo_bad_option_fails_without_waiting_for_writer)
{
	pipemode_reader *r = NULL;
	char path[4200];

	make_fifo(path, sizeof(path), "nowriter.fifo");
	ck_assert_int_eq(pipemode_open_path(&r, path, "verify_crc=maybe"),
			 PIPEMODE_EOPTION);
	ck_assert_ptr_nonnull(r);
	ck_assert_msg(strstr(pipemode_errmsg(r), "verify_crc") != NULL, "%s",
		      pipemode_errmsg(r));
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
}
END_TEST

/* ================================================================= pipe */

START_TEST(test_open_fd_on_pipe_reads_and_leaves_fd_open)
{
	tu_stream s;
	pipemode_reader *r = NULL;
	tu_result res;
	int p[2];
	pid_t pid;

	build_mixed(&s);
	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		alarm(CHILD_ALARM);
		close(p[0]);
		if (tu_write_pieces(p[1], s.p, s.len, odd_pieces) != 0)
			_exit(3);
		_exit(close(p[1]) == 0 ? 0 : 4);
	}
	ck_assert_int_eq(close(p[1]), 0);
	ck_assert_int_eq(pipemode_open_fd(&r, p[0], NULL), PIPEMODE_OK);
	ck_assert_int_eq(tu_read_all(r, &res), PIPEMODE_EOF);
	tu_check_records(&res, &s, s.nrec, 0);
	tu_check_stats(r, s.nrec, s.len - 16 * s.nrec, 0, s.len);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	reap(pid);
	/* the descriptor is still ours */
	ck_assert_int_ne(fcntl(p[0], F_GETFD), -1);
	ck_assert_int_eq(close(p[0]), 0);
	tu_result_free(&res);
	tu_stream_free(&s);
}
END_TEST

#ifdef F_SETPIPE_SZ
static const struct {
	const char *options;
	int size; /* expected pipe buffer; 0: as the kernel made it */
} pipe_sizes[] = {
	{NULL, 1024 * 1024},
	{"pipe_size=256K", 256 * 1024},
	{"pipe_size=0", 0},
};

/* pipe_size asks the kernel for a bigger pipe (when the kernel allows this
 * process that size: probed on a pipe of our own first). */
START_TEST(test_open_fd_applies_pipe_size)
{
	pipemode_reader *r = NULL;
	int p[2], probe[2], initial, want = pipe_sizes[_i].size;

	ck_assert_int_eq(pipe(p), 0);
	initial = fcntl(p[0], F_GETPIPE_SZ);
	ck_assert_int_gt(initial, 0);
	if (want != 0) {
		ck_assert_int_gt(want, initial);
		ck_assert_int_eq(pipe(probe), 0);
		if (fcntl(probe[0], F_SETPIPE_SZ, want) < 0)
			want = initial; /* refused to us: the library too */
		close(probe[0]);
		close(probe[1]);
	} else {
		want = initial;
	}
	ck_assert_int_eq(pipemode_open_fd(&r, p[0], pipe_sizes[_i].options),
			 PIPEMODE_OK);
	ck_assert_int_eq(fcntl(p[0], F_GETPIPE_SZ), want);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	close(p[0]);
	close(p[1]);
}
END_TEST
#endif

START_TEST(test_open_fd_default_name_is_fd_number)
{
	tu_stream s;
	pipemode_reader *r = NULL;
	tu_result res;
	char want[64];
	int p[2];

	/* small enough for the pipe buffer: no second process needed */
	tu_stream_init(&s);
	tu_stream_add(&s, "zero", 4, 0);
	tu_stream_add(&s, "one", 3, TU_BAD_DATA_CRC);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(tu_write_pieces(p[1], s.p, s.len, odd_pieces), 0);
	ck_assert_int_eq(close(p[1]), 0);
	ck_assert_int_eq(pipemode_open_fd(&r, p[0], NULL), PIPEMODE_OK);
	tu_read_all(r, &res);
	tu_check_error(&res, PIPEMODE_ECRC, 1, 20);
	snprintf(want, sizeof(want), "fd %d: ", p[0]);
	ck_assert_msg(strncmp(res.errmsg, want, strlen(want)) == 0,
		      "errmsg \"%s\" does not start with \"%s\"", res.errmsg,
		      want);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	ck_assert_int_eq(close(p[0]), 0);
	tu_result_free(&res);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_writer_open_fd_on_pipe_round_trip)
{
	tu_stream s;
	pipemode_reader *r = NULL;
	tu_result res;
	int p[2];
	pid_t pid;

	build_mixed(&s);
	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		pipemode_writer *w = NULL;

		alarm(CHILD_ALARM);
		close(p[0]);
		if (pipemode_writer_open_fd(&w, p[1], NULL) != PIPEMODE_OK)
			_exit(10);
		for (size_t i = 0; i < s.nrec; i++)
			if (pipemode_write(w, tu_stream_payload(&s, i),
					   s.rec[i].len) != PIPEMODE_OK)
				_exit(11);
		if (pipemode_writer_close(w) != PIPEMODE_OK)
			_exit(12);
		/* the writer left the descriptor open */
		if (fcntl(p[1], F_GETFD) == -1)
			_exit(13);
		_exit(close(p[1]) == 0 ? 0 : 14);
	}
	ck_assert_int_eq(close(p[1]), 0);
	ck_assert_int_eq(pipemode_open_fd(&r, p[0], NULL), PIPEMODE_OK);
	ck_assert_int_eq(tu_read_all(r, &res), PIPEMODE_EOF);
	tu_check_records(&res, &s, s.nrec, 0);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	reap(pid);
	ck_assert_int_eq(close(p[0]), 0);
	tu_result_free(&res);
	tu_stream_free(&s);
}
END_TEST

/* With SIGPIPE ignored, writing to a pipe whose reader left is EIO: from
 * the flush of a buffered record, and the writer is failed after it. */
START_TEST(test_writer_to_closed_pipe_flush_is_eio)
{
	pipemode_writer *w = NULL;
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(close(p[0]), 0);
	ck_assert_int_eq(pipemode_writer_open_fd(&w, p[1], NULL), PIPEMODE_OK);
	ck_assert_int_eq(pipemode_write(w, "abc", 3), PIPEMODE_OK);
	ck_assert_int_eq(pipemode_writer_flush(w), PIPEMODE_EIO);
	ck_assert_str_ne(pipemode_writer_errmsg(w), "");
	/* The failure sticks: the same code again, as the reader does. */
	ck_assert_int_eq(pipemode_write(w, "x", 1), PIPEMODE_EIO);
	ck_assert_int_eq(pipemode_writer_close(w), PIPEMODE_EIO);
	ck_assert_int_eq(close(p[1]), 0);
	signal(SIGPIPE, old);
}
END_TEST

/* A record of at least buffer_size goes out at once, so its failure is
 * reported by pipemode_write itself. */
START_TEST(test_writer_to_closed_pipe_large_record_is_eio)
{
	pipemode_writer *w = NULL;
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	unsigned char big[8192];
	int p[2];

	tu_fill(big, sizeof(big), 5);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(close(p[0]), 0);
	ck_assert_int_eq(pipemode_writer_open_fd(&w, p[1], "buffer_size=4K"),
			 PIPEMODE_OK);
	ck_assert_int_eq(pipemode_write(w, big, sizeof(big)), PIPEMODE_EIO);
	ck_assert_str_ne(pipemode_writer_errmsg(w), "");
	ck_assert_int_ne(pipemode_writer_close(w), PIPEMODE_OK);
	ck_assert_int_eq(close(p[1]), 0);
	signal(SIGPIPE, old);
}
END_TEST

/* ================================================================== main */

static Suite *
fifo_suite(void)
{
	Suite *s = suite_create("fifo");
	TCase *tc;

	tc = tcase_create("fifo");
	tcase_set_timeout(tc, 30);
	tcase_add_unchecked_fixture(tc, tu_tmpdir_setup, tu_tmpdir_teardown);
	tcase_add_loop_test(tc, test_fifo_delivers_every_record, 0, 3);
	tcase_add_test(tc, test_fifo_many_small_records);
	tcase_add_loop_test(tc, test_fifo_readahead_delivers_every_record, 0,
			    4);
	tcase_add_test(tc, test_fifo_readahead_drains_the_pipe_before_next);
	tcase_add_test(tc, test_fifo_readahead_close_with_a_silent_writer);
	tcase_add_test(tc, test_fifo_empty_stream_is_eof);
	tcase_add_loop_test(tc, test_fifo_writer_dying_mid_record_is_etruncated,
			    0, 4);
	tcase_add_test(tc, test_fifo_writer_dying_at_record_boundary_is_eof);
	tcase_add_loop_test(tc, test_fifo_library_writer_to_library_reader, 0,
			    2);
	tcase_add_test(tc, test_fifo_bad_option_fails_without_waiting_for_writer);
	suite_add_tcase(s, tc);

	tc = tcase_create("pipe");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_open_fd_on_pipe_reads_and_leaves_fd_open);
	tcase_add_test(tc, test_open_fd_default_name_is_fd_number);
#ifdef F_SETPIPE_SZ
	tcase_add_loop_test(tc, test_open_fd_applies_pipe_size, 0,
			    (int)(sizeof(pipe_sizes) / sizeof(pipe_sizes[0])));
#endif
	tcase_add_test(tc, test_writer_open_fd_on_pipe_round_trip);
	tcase_add_test(tc, test_writer_to_closed_pipe_flush_is_eio);
	tcase_add_test(tc, test_writer_to_closed_pipe_large_record_is_eio);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(fifo_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
