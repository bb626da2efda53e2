/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The TFRecord reader and writer through the public API.  Streams are built
 * by testutil's encoder (written from the format, not by the library) and
 * fed through pipemode_open_callback in chunks of 1, 7, 4096 bytes and
 * whole: every loop test runs once per split (the Check iteration number is
 * the index into tu_chunks).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define KiB ((size_t)1024)
#define MiB (1024 * KiB)

/* Read the whole stream, expect every record and a clean EOF. */
static void
expect_all(const tu_stream *s, size_t chunk, const char *options)
{
	tu_result res;
	pipemode_stats st = tu_read_mem(s->p, s->len, chunk, options, &res);
	uint64_t payload = 0;

	tu_check_records(&res, s, s->nrec, 0);
	ck_assert_msg(res.rc == PIPEMODE_EOF, "rc %d: %s", res.rc, res.errmsg);
	for (size_t i = 0; i < s->nrec; i++)
		payload += s->rec[i].len;
	ck_assert_uint_eq(st.records, s->nrec);
	ck_assert_uint_eq(st.payload_bytes, payload);
	ck_assert_uint_eq(st.skipped, 0);
	ck_assert_uint_eq(st.bytes_read, s->len);
	tu_result_free(&res);
}

/* The documented message shape: "SOURCE: FRAMER: record N at byte OFF: ". */
static void
check_errmsg_where(const char *msg, const char *source, uint64_t index,
		   uint64_t offset)
{
	char want[512];

	snprintf(want, sizeof(want), "%s: tfrecord: record %llu at byte %llu: ",
		 source, (unsigned long long)index,
		 (unsigned long long)offset);
	ck_assert_msg(strncmp(msg, want, strlen(want)) == 0,
		      "errmsg \"%s\" does not start with \"%s\"", msg, want);
}

/* ============================================================ happy paths */

START_TEST(test_empty_stream_is_eof_at_once)
{
	tu_src src;
	pipemode_reader *r;
	tu_result res;

	tu_src_init(&src, "", 0, TU_CHUNK);
	r = tu_open_src(&src, NULL);
	ck_assert_uint_eq(pipemode_record_index(r), 0);
	ck_assert_uint_eq(pipemode_byte_offset(r), 0);
	ck_assert_int_eq(tu_read_all(r, &res), PIPEMODE_EOF);
	ck_assert_uint_eq(res.n, 0);
	tu_check_stats(r, 0, 0, 0, 0);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	tu_result_free(&res);
}
END_TEST

START_TEST(test_one_record)
{
	tu_stream s;

	tu_stream_init(&s);
	tu_stream_add(&s, "hello", 5, 0);
	expect_all(&s, TU_CHUNK, NULL);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_empty_records_have_non_null_data)
{
	tu_stream s;
	tu_src src;
	pipemode_reader *r;

	tu_stream_init(&s);
	tu_stream_add(&s, "", 0, 0);
	tu_stream_add(&s, "x", 1, 0);
	tu_stream_add(&s, "", 0, 0);
	tu_stream_add(&s, "", 0, 0);
	tu_src_init(&src, s.p, s.len, TU_CHUNK);
	r = tu_open_src(&src, NULL);
	for (size_t i = 0; i < s.nrec; i++) {
		const void *data = NULL;
		size_t len = 99;

		ck_assert_int_eq(pipemode_next(r, &data, &len), PIPEMODE_OK);
		ck_assert_ptr_nonnull(data);
		ck_assert_uint_eq(len, s.rec[i].len);
		ck_assert_uint_eq(pipemode_record_index(r), i);
		ck_assert_uint_eq(pipemode_byte_offset(r), s.rec[i].offset);
	}
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	expect_all(&s, TU_CHUNK, NULL);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_many_small_records)
{
	tu_stream s;
	uint64_t rng = 42;

	tu_stream_init(&s);
	for (int i = 0; i < 2000; i++)
		tu_stream_add_random(&s, tu_rand(&rng) % 100, (uint64_t)i, 0);
	expect_all(&s, TU_CHUNK, NULL);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_records_larger_than_buffer_grow_it)
{
	tu_stream s;

	tu_stream_init(&s);
	tu_stream_add_random(&s, 10, 1, 0);
	tu_stream_add_random(&s, 100 * KiB, 2, 0);
	tu_stream_add_random(&s, 3, 3, 0);
	tu_stream_add_random(&s, 3 * MiB, 4, 0);
	tu_stream_add_random(&s, 4 * KiB, 5, 0);
	tu_stream_add_random(&s, 4 * KiB + 1, 6, 0);
	tu_stream_add_random(&s, 0, 7, 0);
	/* framed sizes of one byte under, exactly and one over the buffer */
	tu_stream_add_random(&s, 4 * KiB - 17, 8, 0);
	tu_stream_add_random(&s, 4 * KiB - 16, 9, 0);
	tu_stream_add_random(&s, 4 * KiB - 15, 10, 0);
	tu_stream_add_random(&s, 1, 11, 0);
	expect_all(&s, TU_CHUNK, "buffer_size=4K");
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_mixed_sizes_at_default_buffer)
{
	static const size_t sizes[] = {
		0, 1, 2, 3, 4, 11, 12, 13, 15, 16, 17, 4083, 4084, 4095,
		4096, 4097, 65535, 65536, 65537, 256 * KiB - 16,
		256 * KiB - 1, 256 * KiB, 256 * KiB + 1, 1, 0, 700 * KiB, 5,
	};
	tu_stream s;

	tu_stream_init(&s);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		tu_stream_add_random(&s, sizes[i], 100 + i, 0);
	expect_all(&s, TU_CHUNK, NULL);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_record_stays_valid_until_next_call)
{
	static const size_t sizes[] = {5000, 10, 70000, 0, 3, 4090, 4096};
	tu_stream s;
	tu_src src;
	pipemode_reader *r;

	tu_stream_init(&s);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		tu_stream_add_random(&s, sizes[i], 200 + i, 0);
	tu_src_init(&src, s.p, s.len, TU_CHUNK);
	r = tu_open_src(&src, "buffer_size=4K");
	for (size_t i = 0; i < s.nrec; i++) {
		const void *data;
		size_t len;
		pipemode_stats st;

		ck_assert_int_eq(pipemode_next(r, &data, &len), PIPEMODE_OK);
		/* Other calls on the reader do not move or change the bytes. */
		ck_assert_uint_eq(pipemode_record_index(r), i);
		ck_assert_uint_eq(pipemode_byte_offset(r), s.rec[i].offset);
		st.size = sizeof(st);
		ck_assert_int_eq(pipemode_get_stats(r, &st), PIPEMODE_OK);
		ck_assert_str_eq(pipemode_errmsg(r), "");
		ck_assert_uint_eq(len, s.rec[i].len);
		ck_assert_msg(memcmp(data, tu_stream_payload(&s, i), len) == 0,
			      "record %zu changed after returning", i);
	}
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_eof_repeats_after_eof)
{
	tu_stream s;
	tu_src src;
	pipemode_reader *r;
	const void *data;
	size_t len;

	tu_stream_init(&s);
	tu_stream_add(&s, "a", 1, 0);
	tu_src_init(&src, s.p, s.len, TU_CHUNK);
	r = tu_open_src(&src, NULL);
	ck_assert_int_eq(pipemode_next(r, &data, &len), PIPEMODE_OK);
	for (int k = 0; k < 3; k++) {
		data = "x";
		len = 7;
		ck_assert_int_eq(pipemode_next(r, &data, &len), PIPEMODE_EOF);
		ck_assert_ptr_null(data);
		ck_assert_uint_eq(len, 0);
	}
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_index_and_offset_follow_each_record)
{
	tu_stream s;
	tu_src src;
	pipemode_reader *r;
	uint64_t offset = 0;

	tu_stream_init(&s);
	for (int i = 0; i < 50; i++)
		tu_stream_add_random(&s, (size_t)i * 37, (uint64_t)i, 0);
	tu_src_init(&src, s.p, s.len, TU_CHUNK);
	r = tu_open_src(&src, NULL);
	ck_assert_uint_eq(pipemode_record_index(r), 0);
	ck_assert_uint_eq(pipemode_byte_offset(r), 0);
	for (size_t i = 0; i < s.nrec; i++) {
		const void *data;
		size_t len;

		ck_assert_int_eq(pipemode_next(r, &data, &len), PIPEMODE_OK);
		ck_assert_uint_eq(pipemode_record_index(r), i);
		/* 16 bytes of framing per earlier record */
		ck_assert_uint_eq(pipemode_byte_offset(r), offset);
		offset += 16 + len;
	}
	ck_assert_uint_eq(offset, s.len);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_stats_count_records_bytes_and_calls)
{
	tu_stream s;
	tu_src src;
	pipemode_reader *r;
	tu_result res;
	pipemode_stats st;
	uint64_t payload = 0;

	tu_stream_init(&s);
	for (int i = 0; i < 20; i++) {
		tu_stream_add_random(&s, (size_t)i * 300, (uint64_t)i, 0);
		payload += (uint64_t)i * 300;
	}
	tu_src_init(&src, s.p, s.len, TU_CHUNK);
	r = tu_open_src(&src, NULL);
	ck_assert_int_eq(tu_read_all(r, &res), PIPEMODE_EOF);
	tu_check_stats(r, 20, payload, 0, s.len);
	st.size = sizeof(st);
	ck_assert_int_eq(pipemode_get_stats(r, &st), PIPEMODE_OK);
	/* every callback call counted; at most chunk bytes came per call */
	ck_assert_uint_eq(st.read_calls, src.calls);
	if (TU_CHUNK != TU_WHOLE)
		ck_assert_uint_ge(st.read_calls,
				  (s.len + TU_CHUNK - 1) / TU_CHUNK);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	tu_result_free(&res);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_eintr_from_callback_is_retried)
{
	tu_stream s;
	tu_src src;
	pipemode_reader *r;
	tu_result res;

	tu_stream_init(&s);
	for (int i = 0; i < 30; i++)
		tu_stream_add_random(&s, (size_t)i * 500, (uint64_t)i, 0);
	tu_src_init(&src, s.p, s.len, TU_CHUNK);
	src.eintr_every = 3;
	r = tu_open_src(&src, NULL);
	ck_assert_int_eq(tu_read_all(r, &res), PIPEMODE_EOF);
	ck_assert_uint_gt(src.eintrs, 0);
	tu_check_records(&res, &s, s.nrec, 0);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	tu_result_free(&res);
	tu_stream_free(&s);
}
END_TEST

/* ================================================================ writer */

static const char *const writer_options[] = {NULL, "buffer_size=4K"};

/* Write every record of s through a writer on fd; close it. */
static void
write_stream_fd(int fd, const tu_stream *s, const char *options)
{
	pipemode_writer *w = NULL;
	int rc = pipemode_writer_open_fd(&w, fd, options);

	ck_assert_msg(rc == PIPEMODE_OK, "writer_open_fd: %d %s", rc,
		      pipemode_writer_errmsg(w));
	for (size_t i = 0; i < s->nrec; i++) {
		rc = pipemode_write(w, tu_stream_payload(s, i), s->rec[i].len);
		ck_assert_msg(rc == PIPEMODE_OK, "write %zu: %d %s", i, rc,
			      pipemode_writer_errmsg(w));
	}
	ck_assert_int_eq(pipemode_writer_close(w), PIPEMODE_OK);
}

/* The file holds exactly s's bytes, and reads back as s's records. */
static void
expect_file_is_stream(const char *path, const tu_stream *s)
{
	size_t len;
	unsigned char *bytes = tu_read_file(path, &len);
	pipemode_reader *r = NULL;
	tu_result res;
	int rc;

	ck_assert_uint_eq(len, s->len);
	ck_assert_msg(memcmp(bytes, s->p, len) == 0,
		      "written bytes differ from the TFRecord encoding");
	free(bytes);

	rc = pipemode_open_path(&r, path, NULL);
	ck_assert_msg(rc == PIPEMODE_OK, "open_path: %d %s", rc,
		      pipemode_errmsg(r));
	ck_assert_int_eq(tu_read_all(r, &res), PIPEMODE_EOF);
	tu_check_records(&res, s, s->nrec, 0);
	tu_check_stats(r, s->nrec, s->len - 16 * s->nrec, 0, s->len);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	tu_result_free(&res);
}

START_TEST(test_writer_fd_round_trip_is_byte_exact)
{
	tu_stream s;
	char path[4200];
	int fd;

	tu_stream_init(&s);
	tu_stream_add(&s, "", 0, 0);
	tu_stream_add(&s, "hello", 5, 0);
	tu_stream_add_random(&s, 3 * MiB + 5, 1, 0);
	tu_stream_add_random(&s, 100, 2, 0);
	tu_stream_add_random(&s, 4 * KiB, 3, 0);
	tu_stream_add(&s, "", 0, 0);
	tu_tmppath(path, sizeof(path), "writer_fd.tfrecord");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	write_stream_fd(fd, &s, writer_options[_i]);
	/* the descriptor stays the caller's */
	ck_assert_int_ne(fcntl(fd, F_GETFD), -1);
	ck_assert_int_eq(close(fd), 0);
	expect_file_is_stream(path, &s);
	unlink(path);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_writer_many_records_beyond_its_buffer)
{
	tu_stream s;
	char path[4200];
	uint64_t rng = 7;
	int fd;

	tu_stream_init(&s);
	/* about 600 KiB: more than twice the default 256K buffer */
	for (int i = 0; i < 4000; i++)
		tu_stream_add_random(&s, tu_rand(&rng) % 300, (uint64_t)i, 0);
	ck_assert_uint_gt(s.len, 512 * KiB);
	tu_tmppath(path, sizeof(path), "writer_many.tfrecord");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	write_stream_fd(fd, &s, writer_options[_i]);
	ck_assert_int_eq(close(fd), 0);
	expect_file_is_stream(path, &s);
	unlink(path);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_writer_path_round_trip_is_byte_exact)
{
	tu_stream s;
	pipemode_writer *w = NULL;
	char path[4200];
	int rc;

	tu_stream_init(&s);
	tu_stream_add(&s, "foo", 3, 0);
	tu_stream_add_random(&s, 300 * KiB, 11, 0);
	tu_stream_add(&s, "", 0, 0);
	tu_tmppath(path, sizeof(path), "writer_path.tfrecord");
	/* truncates what was there */
	tu_write_file(path, "garbage that must disappear", 27);
	rc = pipemode_writer_open_path(&w, path, writer_options[_i]);
	ck_assert_msg(rc == PIPEMODE_OK, "writer_open_path: %d %s", rc,
		      pipemode_writer_errmsg(w));
	for (size_t i = 0; i < s.nrec; i++)
		ck_assert_int_eq(pipemode_write(w, tu_stream_payload(&s, i),
						s.rec[i].len),
				 PIPEMODE_OK);
	ck_assert_int_eq(pipemode_writer_close(w), PIPEMODE_OK);
	expect_file_is_stream(path, &s);
	unlink(path);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_writer_accepts_null_data_for_empty_record)
{
	tu_stream s;
	pipemode_writer *w = NULL;
	char path[4200];

	tu_stream_init(&s);
	tu_stream_add(&s, "", 0, 0);
	tu_stream_add(&s, "", 0, 0);
	tu_tmppath(path, sizeof(path), "writer_null.tfrecord");
	ck_assert_int_eq(pipemode_writer_open_path(&w, path, NULL),
			 PIPEMODE_OK);
	ck_assert_int_eq(pipemode_write(w, NULL, 0), PIPEMODE_OK);
	ck_assert_int_eq(pipemode_write(w, "unused", 0), PIPEMODE_OK);
	ck_assert_int_eq(pipemode_writer_close(w), PIPEMODE_OK);
	expect_file_is_stream(path, &s);
	unlink(path);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_writer_flush_writes_buffered_records)
{
	tu_stream s;
	pipemode_writer *w = NULL;
	char path[4200];
	unsigned char *bytes;
	size_t len;

	tu_stream_init(&s);
	tu_stream_add(&s, "abc", 3, 0);
	tu_tmppath(path, sizeof(path), "writer_flush.tfrecord");
	ck_assert_int_eq(pipemode_writer_open_path(&w, path, NULL),
			 PIPEMODE_OK);
	ck_assert_int_eq(pipemode_write(w, "abc", 3), PIPEMODE_OK);
	ck_assert_int_eq(pipemode_writer_flush(w), PIPEMODE_OK);
	bytes = tu_read_file(path, &len);
	ck_assert_uint_eq(len, s.len);
	ck_assert_mem_eq(bytes, s.p, len);
	free(bytes);
	tu_stream_add(&s, "defg", 4, 0);
	ck_assert_int_eq(pipemode_write(w, "defg", 4), PIPEMODE_OK);
	ck_assert_int_eq(pipemode_writer_close(w), PIPEMODE_OK);
	expect_file_is_stream(path, &s);
	unlink(path);
	tu_stream_free(&s);
}
END_TEST

/* ================================================================ corrupt */

START_TEST(test_bad_length_crc_is_ecorrupt)
{
	tu_stream s;
	tu_result res;

	tu_stream_init(&s);
	tu_stream_add(&s, "zero", 4, 0);
	tu_stream_add_random(&s, 5000, 1, 0);
	tu_stream_add(&s, "two", 3, TU_BAD_LEN_CRC);
	tu_stream_add(&s, "three", 5, 0);
	tu_read_mem(s.p, s.len, TU_CHUNK, NULL, &res);
	tu_check_records(&res, &s, 2, 0);
	tu_check_error(&res, PIPEMODE_ECORRUPT, 2, s.rec[2].offset);
	check_errmsg_where(res.errmsg, "callback", 2, s.rec[2].offset);
	ck_assert_msg(tu_contains(res.errmsg, "length"), "%s", res.errmsg);
	ck_assert_msg(tu_contains(res.errmsg, "crc"), "%s", res.errmsg);
	tu_result_free(&res);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_bad_length_crc_on_first_record)
{
	tu_stream s;
	tu_result res;

	tu_stream_init(&s);
	tu_stream_add(&s, "zero", 4, TU_BAD_LEN_CRC);
	tu_read_mem(s.p, s.len, TU_CHUNK, NULL, &res);
	ck_assert_uint_eq(res.n, 0);
	tu_check_error(&res, PIPEMODE_ECORRUPT, 0, 0);
	check_errmsg_where(res.errmsg, "callback", 0, 0);
	tu_result_free(&res);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_bad_payload_crc_is_ecrc)
{
	tu_stream s;
	tu_result res;
	pipemode_stats st;

	tu_stream_init(&s);
	tu_stream_add(&s, "zero", 4, 0);
	tu_stream_add_random(&s, 70000, 1, 0);
	tu_stream_add(&s, "", 0, 0);
	tu_stream_add(&s, "three", 5, TU_BAD_DATA_CRC);
	tu_stream_add(&s, "four", 4, 0);
	st = tu_read_mem(s.p, s.len, TU_CHUNK, NULL, &res);
	tu_check_records(&res, &s, 3, 0);
	tu_check_error(&res, PIPEMODE_ECRC, 3, s.rec[3].offset);
	check_errmsg_where(res.errmsg, "callback", 3, s.rec[3].offset);
	ck_assert_msg(tu_contains(res.errmsg, "crc"), "%s", res.errmsg);
	ck_assert_uint_eq(st.records, 3);
	ck_assert_uint_eq(st.skipped, 0);
	tu_result_free(&res);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_bad_crc_of_empty_payload_is_ecrc)
{
	tu_stream s;
	tu_result res;

	tu_stream_init(&s);
	tu_stream_add(&s, "", 0, TU_BAD_DATA_CRC);
	tu_read_mem(s.p, s.len, TU_CHUNK, NULL, &res);
	ck_assert_uint_eq(res.n, 0);
	tu_check_error(&res, PIPEMODE_ECRC, 0, 0);
	tu_result_free(&res);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_verify_crc_off_returns_bad_payload)
{
	tu_stream s;
	tu_result res;

	tu_stream_init(&s);
	tu_stream_add(&s, "zero", 4, 0);
	tu_stream_add_random(&s, 9000, 1, TU_BAD_DATA_CRC);
	tu_stream_add(&s, "two", 3, 0);
	tu_read_mem(s.p, s.len, TU_CHUNK, "verify_crc=0", &res);
	ck_assert_int_eq(res.rc, PIPEMODE_EOF);
	tu_check_records(&res, &s, 3, 0);
	tu_result_free(&res);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_verify_crc_off_still_checks_length_crc)
{
	tu_stream s;
	tu_result res;

	tu_stream_init(&s);
	tu_stream_add(&s, "zero", 4, 0);
	tu_stream_add(&s, "one", 3, TU_BAD_LEN_CRC);
	tu_read_mem(s.p, s.len, TU_CHUNK, "verify_crc=0", &res);
	tu_check_records(&res, &s, 1, 0);
	tu_check_error(&res, PIPEMODE_ECORRUPT, 1, 20);
	tu_result_free(&res);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_skip_corrupt_skips_up_to_n_consecutive)
{
	/* at most 2 bad in a row, 4 bad in all, one bad at the end */
	static const unsigned flags[] = {0, 2, 2, 0, 2, 0, 0, 2};
	tu_stream s;
	tu_result res;
	pipemode_stats st;
	uint64_t payload = 0;

	tu_stream_init(&s);
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		tu_stream_add_random(&s, 10 + 1000 * i, i, flags[i]);
		if (!flags[i])
			payload += 10 + 1000 * i;
	}
	st = tu_read_mem(s.p, s.len, TU_CHUNK, "skip_corrupt=2", &res);
	ck_assert_msg(res.rc == PIPEMODE_EOF, "rc %d: %s", res.rc, res.errmsg);
	/* the good records, keeping their place in the stream */
	tu_check_records(&res, &s, s.nrec, 1);
	ck_assert_uint_eq(st.records, 4);
	ck_assert_uint_eq(st.payload_bytes, payload);
	ck_assert_uint_eq(st.skipped, 4);
	ck_assert_uint_eq(st.bytes_read, s.len);
	tu_result_free(&res);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_skip_corrupt_fails_on_n_plus_one_consecutive)
{
	tu_stream s;
	tu_result res;
	pipemode_stats st;

	tu_stream_init(&s);
	tu_stream_add(&s, "zero", 4, 0);
	tu_stream_add(&s, "one", 3, TU_BAD_DATA_CRC);
	tu_stream_add(&s, "two", 3, TU_BAD_DATA_CRC);
	tu_stream_add(&s, "three", 5, TU_BAD_DATA_CRC);
	tu_stream_add(&s, "four", 4, 0);
	st = tu_read_mem(s.p, s.len, TU_CHUNK, "skip_corrupt=2", &res);
	tu_check_records(&res, &s, 1, 0);
	tu_check_error(&res, PIPEMODE_ECRC, 3, s.rec[3].offset);
	check_errmsg_where(res.errmsg, "callback", 3, s.rec[3].offset);
	ck_assert_uint_eq(st.skipped, 2);
	ck_assert_uint_eq(st.records, 1);
	tu_result_free(&res);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_skip_corrupt_never_skips_bad_length_crc)
{
	tu_stream s;
	tu_result res;
	pipemode_stats st;

	tu_stream_init(&s);
	tu_stream_add(&s, "zero", 4, 0);
	tu_stream_add(&s, "one", 3, TU_BAD_DATA_CRC);
	tu_stream_add(&s, "two", 3, TU_BAD_LEN_CRC);
	tu_stream_add(&s, "three", 5, 0);
	st = tu_read_mem(s.p, s.len, TU_CHUNK, "skip_corrupt=5", &res);
	tu_check_records(&res, &s, 1, 0);
	tu_check_error(&res, PIPEMODE_ECORRUPT, 2, s.rec[2].offset);
	ck_assert_uint_eq(st.skipped, 1);
	tu_result_free(&res);
	tu_stream_free(&s);
}
END_TEST

/* A stream cut at every byte: at a record boundary it is a clean EOF after
 * the whole records; anywhere else ETRUNCATED naming the cut record. */
START_TEST(test_truncation_at_every_byte)
{
	static const size_t sizes[] = {0, 3, 20, 1};
	tu_stream s;

	tu_stream_init(&s);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		tu_stream_add_random(&s, sizes[i], i, 0);
	for (size_t cut = 0; cut <= s.len; cut++) {
		tu_result res;
		pipemode_stats st;
		size_t whole = 0;

		while (whole < s.nrec && tu_stream_rec_end(&s, whole) <= cut)
			whole++;
		st = tu_read_mem(s.p, cut, TU_CHUNK, NULL, &res);
		tu_check_records(&res, &s, whole, 0);
		if (whole == s.nrec || s.rec[whole].offset == cut) {
			ck_assert_msg(res.rc == PIPEMODE_EOF,
				      "cut %zu: rc %d (%s)", cut, res.rc,
				      res.errmsg);
		} else {
			tu_check_error(&res, PIPEMODE_ETRUNCATED, whole,
				       s.rec[whole].offset);
			check_errmsg_where(res.errmsg, "callback", whole,
					   s.rec[whole].offset);
		}
		ck_assert_uint_eq(st.records, whole);
		ck_assert_uint_eq(st.bytes_read, cut);
		tu_result_free(&res);
	}
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_truncation_inside_large_record)
{
	tu_stream s;
	tu_result res;

	tu_stream_init(&s);
	tu_stream_add(&s, "zero", 4, 0);
	tu_stream_add_random(&s, 100 * KiB, 1, 0);
	tu_read_mem(s.p, s.len - 50 * KiB, TU_CHUNK, "buffer_size=4K", &res);
	tu_check_records(&res, &s, 1, 0);
	tu_check_error(&res, PIPEMODE_ETRUNCATED, 1, 20);
	tu_result_free(&res);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_record_at_max_size_ok_one_more_is_etoobig)
{
	tu_stream s;
	tu_result res;
	pipemode_stats st;

	tu_stream_init(&s);
	tu_stream_add_random(&s, 1000, 1, 0);
	tu_stream_add_random(&s, 1001, 2, 0);
	tu_stream_add_random(&s, 3, 3, 0);
	st = tu_read_mem(s.p, s.len, TU_CHUNK, "max_record_size=1000", &res);
	tu_check_records(&res, &s, 1, 0);
	tu_check_error(&res, PIPEMODE_ETOOBIG, 1, 1016);
	check_errmsg_where(res.errmsg, "callback", 1, 1016);
	ck_assert_uint_eq(st.records, 1);
	tu_result_free(&res);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_max_record_size_k_suffix_is_1024)
{
	tu_stream s;
	tu_result res;

	tu_stream_init(&s);
	tu_stream_add_random(&s, 1024, 1, 0);
	tu_stream_add_random(&s, 1025, 2, 0);
	tu_read_mem(s.p, s.len, TU_CHUNK, "max_record_size=1K", &res);
	tu_check_records(&res, &s, 1, 0);
	tu_check_error(&res, PIPEMODE_ETOOBIG, 1, 1040);
	tu_result_free(&res);
	tu_stream_free(&s);
}
END_TEST

/* 2^60 bytes declared with a valid length CRC: refused on the header alone,
 * before reading on or allocating (an attempt to allocate would give ENOMEM
 * and waiting for the payload ETRUNCATED). */
START_TEST(test_huge_declared_length_is_etoobig_without_allocating)
{
	tu_stream s;
	tu_result res;
	struct timespec t0, t1;
	double secs;

	tu_stream_init(&s);
	tu_stream_add(&s, "zero", 4, 0);
	tu_stream_add_header(&s, (uint64_t)1 << 60, 0);
	tu_stream_add_raw(&s, "some bytes that follow", 22);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	tu_read_mem(s.p, s.len, TU_CHUNK, NULL, &res);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	tu_check_records(&res, &s, 1, 0);
	tu_check_error(&res, PIPEMODE_ETOOBIG, 1, 20);
	check_errmsg_where(res.errmsg, "callback", 1, 20);
	ck_assert_msg(secs < 2.0, "took %.3f s", secs);
	tu_result_free(&res);
	tu_stream_free(&s);
}
END_TEST

/* The length CRC is checked before the limit: a garbage length is corrupt
 * framing, not a record that is too big. */
START_TEST(test_huge_length_with_bad_crc_is_ecorrupt_not_etoobig)
{
	tu_stream s;
	tu_result res;

	tu_stream_init(&s);
	tu_stream_add_header(&s, (uint64_t)1 << 60, TU_BAD_LEN_CRC);
	tu_stream_add_raw(&s, "tail", 4);
	tu_read_mem(s.p, s.len, TU_CHUNK, "max_record_size=1K", &res);
	ck_assert_uint_eq(res.n, 0);
	tu_check_error(&res, PIPEMODE_ECORRUPT, 0, 0);
	tu_result_free(&res);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_error_repeats_and_keeps_message)
{
	tu_stream s;
	tu_src src;
	pipemode_reader *r;
	const void *data;
	size_t len;
	char first[1024];

	tu_stream_init(&s);
	tu_stream_add(&s, "zero", 4, 0);
	tu_stream_add(&s, "one", 3, TU_BAD_DATA_CRC);
	tu_stream_add(&s, "two", 3, 0);
	tu_src_init(&src, s.p, s.len, TU_CHUNK);
	r = tu_open_src(&src, NULL);
	ck_assert_int_eq(pipemode_next(r, &data, &len), PIPEMODE_OK);
	ck_assert_int_eq(pipemode_next(r, &data, &len), PIPEMODE_ECRC);
	snprintf(first, sizeof(first), "%s", pipemode_errmsg(r));
	ck_assert_str_ne(first, "");
	for (int k = 0; k < 3; k++) {
		data = "x";
		len = 1;
		ck_assert_int_eq(pipemode_next(r, &data, &len), PIPEMODE_ECRC);
		ck_assert_ptr_null(data);
		ck_assert_uint_eq(len, 0);
		ck_assert_str_eq(pipemode_errmsg(r), first);
		ck_assert_uint_eq(pipemode_record_index(r), 1);
		ck_assert_uint_eq(pipemode_byte_offset(r), 20);
	}
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_callback_error_is_eio)
{
	tu_stream s;
	tu_src src;
	pipemode_reader *r;
	tu_result res;

	tu_stream_init(&s);
	tu_stream_add(&s, "zero", 4, 0);
	tu_stream_add_random(&s, 6000, 1, 0);
	tu_stream_add(&s, "two", 3, 0);
	tu_src_init(&src, s.p, s.len, TU_CHUNK);
	/* inside record 1's payload */
	src.fail_at = (size_t)s.rec[1].offset + 12 + 3000;
	r = tu_open_src(&src, NULL);
	tu_read_all(r, &res);
	/* the whole record that came before the failure is delivered */
	tu_check_records(&res, &s, 1, 0);
	tu_check_error(&res, PIPEMODE_EIO, 1, s.rec[1].offset);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	tu_result_free(&res);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_callback_error_at_record_boundary_is_eio)
{
	tu_stream s;
	tu_src src;
	pipemode_reader *r;
	tu_result res;

	tu_stream_init(&s);
	tu_stream_add(&s, "zero", 4, 0);
	tu_stream_add(&s, "one", 3, 0);
	tu_src_init(&src, s.p, s.len, TU_CHUNK);
	src.fail_at = (size_t)s.rec[1].offset;
	r = tu_open_src(&src, NULL);
	tu_read_all(r, &res);
	tu_check_records(&res, &s, 1, 0);
	/* not EOF: a failed read is not the end of the stream */
	tu_check_error(&res, PIPEMODE_EIO, 1, s.rec[1].offset);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	tu_result_free(&res);
	tu_stream_free(&s);
}
END_TEST

START_TEST(test_callback_error_before_any_byte_is_eio)
{
	tu_src src;
	pipemode_reader *r;
	tu_result res;

	tu_src_init(&src, "0123456789abcdef", 16, TU_CHUNK);
	src.fail_at = 0;
	src.fail_errno = EBADF;
	r = tu_open_src(&src, NULL);
	tu_read_all(r, &res);
	ck_assert_uint_eq(res.n, 0);
	tu_check_error(&res, PIPEMODE_EIO, 0, 0);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	tu_result_free(&res);
}
END_TEST

/* A read failure is reported like any other: where (the record being
 * read and its offset, in the documented shape) and why (the errno text). */
START_TEST(test_callback_error_message_says_where_and_why)
{
	tu_stream s;
	tu_src src;
	pipemode_reader *r;
	tu_result res;

	tu_stream_init(&s);
	tu_stream_add(&s, "zero", 4, 0);
	tu_stream_add_random(&s, 6000, 1, 0);
	tu_src_init(&src, s.p, s.len, TU_CHUNK);
	src.fail_at = (size_t)s.rec[1].offset + 12 + 3000;
	r = tu_open_src(&src, NULL);
	tu_read_all(r, &res);
	tu_check_error(&res, PIPEMODE_EIO, 1, 20);
	ck_assert_msg(strstr(res.errmsg, strerror(EIO)) != NULL, "%s",
		      res.errmsg);
	check_errmsg_where(res.errmsg, "callback", 1, 20);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	tu_result_free(&res);
	tu_stream_free(&s);
}
END_TEST

/* =============================================================== options */

START_TEST(test_unknown_key_is_eoption_naming_it)
{
	pipemode_reader *r = NULL;
	tu_src src;

	tu_src_init(&src, "", 0, 1);
	ck_assert_int_eq(pipemode_open_callback(&r, tu_src_read, &src,
						"verify_crc=1,colour=blue"),
			 PIPEMODE_EOPTION);
	ck_assert_ptr_nonnull(r);
	ck_assert_msg(strstr(pipemode_errmsg(r), "colour") != NULL, "%s",
		      pipemode_errmsg(r));
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
}
END_TEST

static const struct {
	const char *options;
	const char *key; /* that the message must name; NULL: any */
} bad_options[] = {
	{"verify_crc=maybe", "verify_crc"},
	{"verify_crc=", "verify_crc"},
	{"verify_crc=2", "verify_crc"},
	{"skip_corrupt=-1", "skip_corrupt"},
	{"skip_corrupt=abc", "skip_corrupt"},
	{"buffer_size=1", "buffer_size"},
	{"buffer_size=4095", "buffer_size"},
	{"max_record_size=12Q", "max_record_size"},
	{"max_record_size=-5", "max_record_size"},
	{"max_record_size=1KK", "max_record_size"},
	{"max_record_size=99999999999999999999999", "max_record_size"},
	{"pipe_size=lots", "pipe_size"},
	{"=1", NULL},
	{"name=abc\\", NULL}, /* a trailing backslash escapes nothing */
	{"verify_crc", "verify_crc"}, /* no value */
	{"format=parquet", "format"},
	{"format=", "format"},
	{"verify_crc=1,skip_corrupt=x", "skip_corrupt"},
};

START_TEST(test_bad_option_value_is_eoption_naming_key)
{
	pipemode_reader *r = NULL;
	tu_src src;
	const void *data;
	size_t len;
	int rc;

	tu_src_init(&src, "", 0, 1);
	rc = pipemode_open_callback(&r, tu_src_read, &src,
				    bad_options[_i].options);
	ck_assert_msg(rc == PIPEMODE_EOPTION, "\"%s\": rc %d",
		      bad_options[_i].options, rc);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_ne(pipemode_errmsg(r), "");
	if (bad_options[_i].key != NULL)
		ck_assert_msg(strstr(pipemode_errmsg(r),
				     bad_options[_i].key) != NULL,
			      "\"%s\": errmsg \"%s\"", bad_options[_i].options,
			      pipemode_errmsg(r));
	ck_assert_int_eq(pipemode_next(r, &data, &len), PIPEMODE_ESTATE);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
}
END_TEST

static const char *const good_options[] = {
	NULL, "", "verify_crc=1", "verify_crc=0", "verify_crc=true",
	"verify_crc=false", "verify_crc=yes", "verify_crc=no",
	"verify_crc=on", "verify_crc=off", "skip_corrupt=0",
	"skip_corrupt=1000", "buffer_size=4K", "buffer_size=4096",
	"buffer_size=1M", "max_record_size=64M", "max_record_size=1G",
	"max_record_size=123", "pipe_size=0", "pipe_size=64K",
	"name=x", "format=tfrecord", "format=TFRecord", "format=TFRECORD",
	"format=tfrecord,verify_crc=1,max_record_size=64M,buffer_size=8K",
};

START_TEST(test_good_option_values_are_accepted)
{
	tu_stream s;

	tu_stream_init(&s);
	tu_stream_add(&s, "abc", 3, 0);
	tu_stream_add(&s, "", 0, 0);
	expect_all(&s, 7, good_options[_i]);
	tu_stream_free(&s);
}
END_TEST

static const char *const other_formats[] = {
	"format=recordio", "format=RecordIO", "format=RECORDIO",
	"format=lines", "format=Lines", "format=TextLine", "format=textline",
	"format=auto", "format=AUTO",
};

/* Every format name opens, whatever its case, and an empty stream is a clean
 * end in each. */
START_TEST(test_other_format_names_open_any_case)
{
	pipemode_reader *r = NULL;
	tu_src src;
	const void *data = "x";
	size_t len = 1;
	int rc;

	tu_src_init(&src, "", 0, 1);
	rc = pipemode_open_callback(&r, tu_src_read, &src, other_formats[_i]);
	ck_assert_msg(rc == PIPEMODE_OK, "\"%s\": rc %d %s",
		      other_formats[_i], rc, pipemode_errmsg(r));
	ck_assert_int_eq(pipemode_next(r, &data, &len), PIPEMODE_EOF);
	ck_assert_ptr_null(data);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
}
END_TEST

START_TEST(test_failed_open_gives_handle_that_only_closes)
{
	pipemode_reader *r = NULL;
	tu_src src;
	const void *data = "x";
	size_t len = 1;
	char msg[1024];

	tu_src_init(&src, "", 0, 1);
	ck_assert_int_eq(pipemode_open_callback(&r, tu_src_read, &src,
						"skip_corrupt=-1"),
			 PIPEMODE_EOPTION);
	ck_assert_ptr_nonnull(r);
	snprintf(msg, sizeof(msg), "%s", pipemode_errmsg(r));
	ck_assert_str_ne(msg, "");
	ck_assert_int_eq(pipemode_next(r, &data, &len), PIPEMODE_ESTATE);
	ck_assert_ptr_null(data);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(pipemode_next(r, &data, &len), PIPEMODE_ESTATE);
	ck_assert_str_ne(pipemode_errmsg(r), "");
	/* the source was never read */
	ck_assert_uint_eq(src.calls, 0);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
}
END_TEST

/* Trigger a payload CRC error with options and return the message. */
static void
crc_error_message(const char *options, char *msg, size_t size)
{
	tu_stream s;
	tu_result res;

	tu_stream_init(&s);
	tu_stream_add(&s, "zero", 4, 0);
	tu_stream_add(&s, "one", 3, TU_BAD_DATA_CRC);
	tu_read_mem(s.p, s.len, 7, options, &res);
	tu_check_error(&res, PIPEMODE_ECRC, 1, 20);
	snprintf(msg, size, "%s", res.errmsg);
	tu_result_free(&res);
	tu_stream_free(&s);
}

START_TEST(test_default_source_name_is_callback)
{
	char msg[1024];

	crc_error_message(NULL, msg, sizeof(msg));
	check_errmsg_where(msg, "callback", 1, 20);
}
END_TEST

START_TEST(test_name_option_unescapes_comma)
{
	char msg[1024];

	crc_error_message("name=my\\,file,verify_crc=1", msg, sizeof(msg));
	check_errmsg_where(msg, "my,file", 1, 20);
}
END_TEST

START_TEST(test_name_option_unescapes_backslash)
{
	char msg[1024];

	crc_error_message("name=a\\\\b", msg, sizeof(msg));
	check_errmsg_where(msg, "a\\b", 1, 20);
}
END_TEST

START_TEST(test_open_path_on_missing_file_is_eio_saying_why)
{
	pipemode_reader *r = NULL;
	const void *data;
	size_t len;
	const char *path = "/nonexistent-pipemode-dir/no-such-file";

	ck_assert_int_eq(pipemode_open_path(&r, path, NULL), PIPEMODE_EIO);
	ck_assert_ptr_nonnull(r);
	ck_assert_msg(strstr(pipemode_errmsg(r), path) != NULL, "%s",
		      pipemode_errmsg(r));
	ck_assert_msg(strstr(pipemode_errmsg(r), strerror(ENOENT)) != NULL,
		      "%s", pipemode_errmsg(r));
	ck_assert_int_eq(pipemode_next(r, &data, &len), PIPEMODE_ESTATE);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
}
END_TEST

/* ================================================================== main */

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *
tfrecord_suite(void)
{
	Suite *s = suite_create("tfrecord");
	TCase *tc;

	tc = tcase_create("happy");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_empty_stream_is_eof_at_once, 0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_one_record, 0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_empty_records_have_non_null_data, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_many_small_records, 0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_records_larger_than_buffer_grow_it, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_mixed_sizes_at_default_buffer, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_record_stays_valid_until_next_call, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_eof_repeats_after_eof, 0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_index_and_offset_follow_each_record, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_stats_count_records_bytes_and_calls, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_eintr_from_callback_is_retried, 0,
			    TU_NCHUNKS);
	suite_add_tcase(s, tc);

	tc = tcase_create("writer");
	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, tu_tmpdir_setup, tu_tmpdir_teardown);
	tcase_add_loop_test(tc, test_writer_fd_round_trip_is_byte_exact, 0,
			    NELEM(writer_options));
	tcase_add_loop_test(tc, test_writer_many_records_beyond_its_buffer, 0,
			    NELEM(writer_options));
	tcase_add_loop_test(tc, test_writer_path_round_trip_is_byte_exact, 0,
			    NELEM(writer_options));
	tcase_add_test(tc, test_writer_accepts_null_data_for_empty_record);
	tcase_add_test(tc, test_writer_flush_writes_buffered_records);
	suite_add_tcase(s, tc);

	tc = tcase_create("corrupt");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_bad_length_crc_is_ecorrupt, 0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_bad_length_crc_on_first_record, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_bad_payload_crc_is_ecrc, 0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_bad_crc_of_empty_payload_is_ecrc, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_verify_crc_off_returns_bad_payload, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_verify_crc_off_still_checks_length_crc, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_skip_corrupt_skips_up_to_n_consecutive, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_skip_corrupt_fails_on_n_plus_one_consecutive,
			    0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_skip_corrupt_never_skips_bad_length_crc, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_truncation_at_every_byte, 0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_truncation_inside_large_record, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_record_at_max_size_ok_one_more_is_etoobig,
			    0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_max_record_size_k_suffix_is_1024, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc,
			    test_huge_declared_length_is_etoobig_without_allocating,
			    0, TU_NCHUNKS);
	tcase_add_loop_test(tc,
			    test_huge_length_with_bad_crc_is_ecorrupt_not_etoobig,
			    0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_error_repeats_and_keeps_message, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_callback_error_is_eio, 0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_callback_error_at_record_boundary_is_eio,
			    0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_callback_error_before_any_byte_is_eio, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_callback_error_message_says_where_and_why,
			    0, TU_NCHUNKS);
	suite_add_tcase(s, tc);

	tc = tcase_create("options");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_unknown_key_is_eoption_naming_it);
	tcase_add_loop_test(tc, test_bad_option_value_is_eoption_naming_key, 0,
			    NELEM(bad_options));
	tcase_add_loop_test(tc, test_good_option_values_are_accepted, 0,
			    NELEM(good_options));
	tcase_add_loop_test(tc, test_other_format_names_open_any_case, 0,
			    NELEM(other_formats));
	tcase_add_test(tc, test_failed_open_gives_handle_that_only_closes);
	tcase_add_test(tc, test_default_source_name_is_callback);
	tcase_add_test(tc, test_name_option_unescapes_comma);
	tcase_add_test(tc, test_name_option_unescapes_backslash);
	tcase_add_test(tc, test_open_path_on_missing_file_is_eio_saying_why);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(tfrecord_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
