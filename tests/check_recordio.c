/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The RecordIO reader through the public API.  Streams are built by
 * testutil's RecordIO encoder (tu_rio: written from the format, not by the
 * library) and fed through pipemode_open_callback in chunks of 1, 7, 4096
 * bytes and whole: every loop test runs once per split (the Check iteration
 * number is the index into tu_chunks).  Tests that read a stream the same
 * way in both multipart modes run both, one after the other.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"

#define KiB ((size_t)1024)
#define MiB (1024 * KiB)
#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* The reader options of each multipart mode; index 1 is dmlc. */
static const char *const modes[2] = {
	"format=recordio",
	"format=recordio,recordio_multipart=dmlc",
};
#define CONCAT 0
#define DMLC 1

static const unsigned char magic_le[4] = {0x0a, 0x23, 0xd7, 0xce};

/* Read the whole stream with options, as mode (CONCAT or DMLC) joins parts;
 * expect every record, a clean EOF and the counters to match. */
static void
expect_all_with(const tu_rio *s, size_t chunk, int mode, const char *options)
{
	tu_result res;
	pipemode_stats st;
	uint64_t payload = 0;

	st = tu_read_mem(s->p, s->len, chunk, options, &res);
	tu_rio_check_records(&res, s, s->nrec, mode == DMLC);
	ck_assert_msg(res.rc == PIPEMODE_EOF, "%s: rc %d: %s", options, res.rc,
		      res.errmsg);
	/* at the end: the number of records and the length of the stream */
	ck_assert_uint_eq(res.index, s->nrec);
	ck_assert_uint_eq(res.offset, s->len);
	for (size_t i = 0; i < s->nrec; i++)
		payload += mode == DMLC ? s->rec[i].dmlc_len :
					  s->rec[i].concat_len;
	ck_assert_uint_eq(st.records, s->nrec);
	ck_assert_uint_eq(st.payload_bytes, payload);
	ck_assert_uint_eq(st.skipped, 0);
	ck_assert_uint_eq(st.bytes_read, s->len);
	tu_result_free(&res);
}

/* The same in mode's options, plus extra (NULL: none). */
static void
expect_all_opts(const tu_rio *s, size_t chunk, int mode, const char *extra)
{
	char options[256];

	snprintf(options, sizeof(options), "%s%s%s", modes[mode],
		 extra ? "," : "", extra ? extra : "");
	expect_all_with(s, chunk, mode, options);
}

static void
expect_all_both(const tu_rio *s, size_t chunk, const char *extra)
{
	expect_all_opts(s, chunk, CONCAT, extra);
	expect_all_opts(s, chunk, DMLC, extra);
}

/* The documented message shape: "SOURCE: recordio: record N at byte OFF: ". */
static void
check_errmsg_where(const char *msg, const char *source, uint64_t index,
		   uint64_t offset)
{
	char want[512];

	snprintf(want, sizeof(want), "%s: recordio: record %llu at byte %llu: ",
		 source, (unsigned long long)index,
		 (unsigned long long)offset);
	ck_assert_msg(strncmp(msg, want, strlen(want)) == 0,
		      "errmsg \"%s\" does not start with \"%s\"", msg, want);
}

/* The framer names the offending part: "part N at byte OFF" (N 1-based). */
static void
check_errmsg_part(const char *msg, const tu_rio *s, size_t part)
{
	char want[128];

	ck_assert_uint_lt(part, s->nparts);
	snprintf(want, sizeof(want), "part %zu at byte %llu", part + 1,
		 (unsigned long long)s->part_off[part]);
	ck_assert_msg(strstr(msg, want) != NULL,
		      "errmsg \"%s\" does not name \"%s\"", msg, want);
}

/* Read s in both modes at chunk and expect nrec records, then rc at record
 * index with offset, the message naming part `part` (SIZE_MAX: no check). */
static void
expect_error_both(const tu_rio *s, size_t chunk, size_t nrec, int rc,
		  uint64_t index, uint64_t offset, size_t part)
{
	for (int mode = 0; mode < 2; mode++) {
		tu_result res;
		pipemode_stats st;

		st = tu_read_mem(s->p, s->len, chunk, modes[mode], &res);
		tu_rio_check_records(&res, s, nrec, mode == DMLC);
		tu_check_error(&res, rc, index, offset);
		check_errmsg_where(res.errmsg, "callback", index, offset);
		if (part != SIZE_MAX)
			check_errmsg_part(res.errmsg, s, part);
		ck_assert_uint_eq(st.records, nrec);
		tu_result_free(&res);
	}
}

/* ============================================================ single part */

START_TEST(test_empty_stream_is_eof_at_once)
{
	for (int mode = 0; mode < 2; mode++) {
		tu_src src;
		pipemode_reader *r;
		tu_result res;

		tu_src_init(&src, "", 0, TU_CHUNK);
		r = tu_open_src(&src, modes[mode]);
		ck_assert_uint_eq(pipemode_record_index(r), 0);
		ck_assert_uint_eq(pipemode_byte_offset(r), 0);
		ck_assert_int_eq(tu_read_all(r, &res), PIPEMODE_EOF);
		ck_assert_uint_eq(res.n, 0);
		ck_assert_uint_eq(res.index, 0);
		ck_assert_uint_eq(res.offset, 0);
		tu_check_stats(r, 0, 0, 0, 0);
		ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
		tu_result_free(&res);
	}
}
END_TEST

/* Every length 0..64 covers each padding (0..3 bytes) many times over. */
START_TEST(test_single_part_records_of_every_length_0_to_64)
{
	tu_rio s;
	uint64_t len = 0;

	tu_rio_init(&s);
	for (size_t n = 0; n <= 64; n++) {
		tu_rio_add_random(&s, n, 1000 + n);
		len += 8 + n + (4 - n % 4) % 4;
	}
	ck_assert_uint_eq(s.len, len);
	expect_all_both(&s, TU_CHUNK, NULL);
	tu_rio_free(&s);
}
END_TEST

START_TEST(test_one_record_hello)
{
	static const unsigned char want[] = {
		0x0a, 0x23, 0xd7, 0xce, 0x05, 0x00, 0x00, 0x00,
		'h', 'e', 'l', 'l', 'o', 0, 0, 0,
	};
	tu_rio s;
	tu_result res;

	tu_rio_init(&s);
	tu_rio_add(&s, "hello", 5);
	/* the encoder agrees with the format, byte for byte */
	ck_assert_uint_eq(s.len, sizeof(want));
	ck_assert_mem_eq(s.p, want, sizeof(want));
	tu_read_mem(want, sizeof(want), TU_CHUNK, "format=recordio", &res);
	ck_assert_int_eq(res.rc, PIPEMODE_EOF);
	ck_assert_uint_eq(res.n, 1);
	ck_assert_uint_eq(res.v[0].len, 5);
	ck_assert_mem_eq(res.v[0].data, "hello", 5);
	tu_result_free(&res);
	tu_rio_free(&s);
}
END_TEST

START_TEST(test_records_larger_than_buffer_grow_it)
{
	static const size_t sizes[] = {
		10, 100 * KiB, 3, 3 * MiB, 4 * KiB, 4 * KiB + 1, 0,
		/* framed sizes of one byte under, exactly and one over the
		 * buffer */
		4 * KiB - 9, 4 * KiB - 8, 4 * KiB - 7, 1, 100 * KiB + 3,
	};
	tu_rio s;

	tu_rio_init(&s);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		tu_rio_add_random(&s, sizes[i], 50 + i);
	expect_all_opts(&s, TU_CHUNK, CONCAT, "buffer_size=4K");
	expect_all_opts(&s, TU_CHUNK, DMLC, "buffer_size=4K");
	tu_rio_free(&s);
}
END_TEST

/* A whole (cflag 0) record is its payload in both modes, whatever it holds:
 * the magic word inside it, aligned or not, means nothing. */
START_TEST(test_magic_word_inside_a_whole_record_is_verbatim)
{
	static const size_t at[] = {0, 4, 8, 1, 2, 3, 5, 13, 60};
	unsigned char buf[64];
	tu_rio s;

	tu_rio_init(&s);
	tu_rio_add(&s, magic_le, 4);
	for (size_t k = 0; k < sizeof(at) / sizeof(at[0]); k++) {
		tu_fill(buf, sizeof(buf), 300 + k);
		memcpy(buf + at[k], magic_le, 4);
		tu_rio_add(&s, buf, sizeof(buf));
		/* and a record that ends with it */
		tu_rio_add(&s, buf, at[k] + 4);
	}
	/* only magic words, and a whole part header inside a payload */
	for (size_t k = 0; k < 16; k += 4)
		memcpy(buf + k, magic_le, 4);
	tu_rio_add(&s, buf, 16);
	tu_put_le32(buf + 4, 5);
	tu_rio_add(&s, buf, 13);
	for (size_t i = 0; i < s.nrec; i++)
		ck_assert_uint_eq(s.rec[i].nparts, 1);
	expect_all_both(&s, TU_CHUNK, NULL);
	tu_rio_free(&s);
}
END_TEST

START_TEST(test_index_and_offset_follow_each_record)
{
	static const size_t cuts[] = {3, 0, 5};
	unsigned char buf[8];
	tu_rio s;
	tu_src src;
	pipemode_reader *r;
	const void *data;
	size_t len;

	tu_rio_init(&s);
	for (int i = 0; i < 40; i++) {
		if (i % 5 == 3) {
			tu_fill(buf, 8, (uint64_t)i);
			tu_rio_add_parts(&s, buf, 8, cuts, 3);
		} else {
			tu_rio_add_random(&s, (size_t)i * 37, (uint64_t)i);
		}
	}
	for (int mode = 0; mode < 2; mode++) {
		tu_src_init(&src, s.p, s.len, TU_CHUNK);
		r = tu_open_src(&src, modes[mode]);
		ck_assert_uint_eq(pipemode_record_index(r), 0);
		ck_assert_uint_eq(pipemode_byte_offset(r), 0);
		for (size_t i = 0; i < s.nrec; i++) {
			ck_assert_int_eq(pipemode_next(r, &data, &len),
					 PIPEMODE_OK);
			ck_assert_uint_eq(pipemode_record_index(r), i);
			ck_assert_uint_eq(pipemode_byte_offset(r),
					  s.rec[i].offset);
		}
		ck_assert_int_eq(pipemode_next(r, &data, &len), PIPEMODE_EOF);
		ck_assert_uint_eq(pipemode_record_index(r), s.nrec);
		ck_assert_uint_eq(pipemode_byte_offset(r), s.len);
		ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	}
	tu_rio_free(&s);
}
END_TEST

START_TEST(test_stats_count_records_bytes_and_calls)
{
	static const size_t cuts[] = {100, 200, 1};
	unsigned char buf[301];
	tu_rio s;
	tu_src src;
	pipemode_reader *r;
	tu_result res;
	pipemode_stats st;
	uint64_t payload = 0;

	tu_rio_init(&s);
	for (int i = 0; i < 20; i++) {
		tu_rio_add_random(&s, (size_t)i * 301, (uint64_t)i);
		payload += (uint64_t)i * 301;
	}
	tu_fill(buf, sizeof(buf), 99);
	tu_rio_add_parts(&s, buf, sizeof(buf), cuts, 3);
	for (int mode = 0; mode < 2; mode++) {
		tu_src_init(&src, s.p, s.len, TU_CHUNK);
		r = tu_open_src(&src, modes[mode]);
		ck_assert_int_eq(tu_read_all(r, &res), PIPEMODE_EOF);
		/* the dmlc join counts its two magic words */
		tu_check_stats(r, 21, payload + 301 + (mode == DMLC ? 8 : 0), 0,
			       s.len);
		st.size = sizeof(st);
		ck_assert_int_eq(pipemode_get_stats(r, &st), PIPEMODE_OK);
		ck_assert_uint_eq(st.read_calls, src.calls);
		if (TU_CHUNK != TU_WHOLE)
			ck_assert_uint_ge(st.read_calls,
					  (s.len + TU_CHUNK - 1) / TU_CHUNK);
		ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
		tu_result_free(&res);
	}
	tu_rio_free(&s);
}
END_TEST

START_TEST(test_record_stays_valid_until_next_call)
{
	static const size_t sizes[] = {5000, 10, 70000, 0, 3, 4090, 4096};
	static const size_t cuts[] = {4000, 1, 5000, 2};
	unsigned char *big = malloc(9003);
	tu_rio s;
	tu_src src;
	pipemode_reader *r;

	ck_assert_ptr_nonnull(big);
	tu_fill(big, 9003, 77);
	tu_rio_init(&s);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		tu_rio_add_random(&s, sizes[i], 200 + i);
		tu_rio_add_parts(&s, big, 9003, cuts, 4);
	}
	for (int mode = 0; mode < 2; mode++) {
		char options[128];

		snprintf(options, sizeof(options), "%s,buffer_size=4K",
			 modes[mode]);
		tu_src_init(&src, s.p, s.len, TU_CHUNK);
		r = tu_open_src(&src, options);
		for (size_t i = 0; i < s.nrec; i++) {
			const void *data;
			size_t len;
			pipemode_stats st;
			const unsigned char *want = mode == DMLC ?
							    s.rec[i].dmlc :
							    s.rec[i].concat;

			ck_assert_int_eq(pipemode_next(r, &data, &len),
					 PIPEMODE_OK);
			/* Other calls on the reader do not move or change
			 * the bytes. */
			ck_assert_uint_eq(pipemode_record_index(r), i);
			ck_assert_uint_eq(pipemode_byte_offset(r),
					  s.rec[i].offset);
			st.size = sizeof(st);
			ck_assert_int_eq(pipemode_get_stats(r, &st),
					 PIPEMODE_OK);
			ck_assert_str_eq(pipemode_errmsg(r), "");
			ck_assert_uint_eq(len, mode == DMLC ?
						       s.rec[i].dmlc_len :
						       s.rec[i].concat_len);
			ck_assert_msg(memcmp(data, want, len) == 0,
				      "record %zu changed after returning", i);
		}
		ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	}
	free(big);
	tu_rio_free(&s);
}
END_TEST

/* Zero-copy: with the whole stream in the reader's buffer, each single-part
 * record's pointer is where its payload stands in that buffer, so pointers
 * advance exactly as offsets do.  (A copy would land elsewhere.) */
START_TEST(test_single_part_records_point_into_the_read_buffer)
{
	tu_rio s;
	tu_src src;
	pipemode_reader *r;
	uintptr_t first = 0;

	tu_rio_init(&s);
	for (size_t i = 0; i < 30; i++)
		tu_rio_add_random(&s, i * 13, 400 + i);
	tu_src_init(&src, s.p, s.len, TU_WHOLE);
	r = tu_open_src(&src, modes[_i]);
	for (size_t i = 0; i < s.nrec; i++) {
		const void *data;
		size_t len;

		ck_assert_int_eq(pipemode_next(r, &data, &len), PIPEMODE_OK);
		if (i == 0)
			first = (uintptr_t)data;
		ck_assert_msg((uintptr_t)data - first ==
				      s.rec[i].offset - s.rec[0].offset,
			      "record %zu at %p, %llu bytes after record 0 "
			      "(expected %llu)",
			      i, data,
			      (unsigned long long)((uintptr_t)data - first),
			      (unsigned long long)(s.rec[i].offset -
						   s.rec[0].offset));
	}
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	tu_rio_free(&s);
}
END_TEST

/* Padding is not checked: a writer may leave anything there. */
START_TEST(test_padding_bytes_are_not_checked)
{
	static const size_t cuts[] = {1, 2, 3};
	tu_rio s;

	tu_rio_init(&s);
	s.pad_byte = 0xff;
	for (size_t n = 0; n < 9; n++)
		tu_rio_add_random(&s, n, 500 + n);
	tu_rio_add_parts(&s, "abcdef", 6, cuts, 3);
	tu_rio_add(&s, "z", 1);
	ck_assert_uint_eq(s.p[s.len - 1], 0xff);
	expect_all_both(&s, TU_CHUNK, NULL);
	tu_rio_free(&s);
}
END_TEST

START_TEST(test_eof_repeats_after_eof)
{
	tu_rio s;
	tu_src src;
	pipemode_reader *r;
	const void *data;
	size_t len;

	tu_rio_init(&s);
	tu_rio_add(&s, "a", 1);
	tu_src_init(&src, s.p, s.len, TU_CHUNK);
	r = tu_open_src(&src, "format=recordio");
	ck_assert_int_eq(pipemode_next(r, &data, &len), PIPEMODE_OK);
	for (int k = 0; k < 3; k++) {
		data = "x";
		len = 7;
		ck_assert_int_eq(pipemode_next(r, &data, &len), PIPEMODE_EOF);
		ck_assert_ptr_null(data);
		ck_assert_uint_eq(len, 0);
		ck_assert_str_eq(pipemode_errmsg(r), "");
	}
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	tu_rio_free(&s);
}
END_TEST

/* ============================================================= multipart */

/* Read s in mode and return record i (asserting a clean EOF after all). */
static void
read_both(const tu_rio *s, size_t chunk, tu_result res[2])
{
	for (int mode = 0; mode < 2; mode++) {
		tu_read_mem(s->p, s->len, chunk, modes[mode], &res[mode]);
		ck_assert_msg(res[mode].rc == PIPEMODE_EOF, "%s: rc %d: %s",
			      modes[mode], res[mode].rc, res[mode].errmsg);
	}
}

static void
expect_got(const tu_result *res, size_t i, const void *p, size_t len)
{
	ck_assert_uint_lt(i, res->n);
	ck_assert_msg(res->v[i].len == len, "record %zu: length %zu, not %zu",
		      i, res->v[i].len, len);
	ck_assert_msg(len == 0 || memcmp(res->v[i].data, p, len) == 0,
		      "record %zu: payload differs", i);
}

START_TEST(test_concat_joins_parts_verbatim)
{
	tu_rio s;
	tu_result res[2];

	tu_rio_init(&s);
	tu_rio_add(&s, "head", 4);
	tu_rio_part(&s, TU_RIO_FIRST, "ab", 2);
	tu_rio_part(&s, TU_RIO_MIDDLE, "cde", 3);
	tu_rio_part(&s, TU_RIO_MIDDLE, "", 0);
	tu_rio_part(&s, TU_RIO_LAST, "fgh", 3);
	tu_rio_add(&s, "tail", 4);
	ck_assert_uint_eq(s.nrec, 3);
	read_both(&s, TU_CHUNK, res);
	ck_assert_uint_eq(res[CONCAT].n, 3);
	expect_got(&res[CONCAT], 0, "head", 4);
	expect_got(&res[CONCAT], 1, "abcdefgh", 8);
	expect_got(&res[CONCAT], 2, "tail", 4);
	ck_assert_uint_eq(res[CONCAT].v[1].offset, 12);
	ck_assert_uint_eq(res[CONCAT].v[2].offset, 12 + 12 + 12 + 8 + 12);
	ck_assert_uint_eq(res[DMLC].n, 3);
	expect_got(&res[DMLC], 1,
		   "ab\x0a\x23\xd7\xce" "cde\x0a\x23\xd7\xce"
		   "\x0a\x23\xd7\xce" "fgh",
		   20);
	tu_rio_check_records(&res[CONCAT], &s, 3, 0);
	tu_rio_check_records(&res[DMLC], &s, 3, 1);
	tu_result_free(&res[0]);
	tu_result_free(&res[1]);
	tu_rio_free(&s);
}
END_TEST

/* The example of the format: [1:"ab"],[3:"cd"] is "abcd" joined verbatim
 * and "ab" magic "cd" the dmlc way. */
START_TEST(test_dmlc_puts_the_magic_back_between_parts)
{
	static const unsigned char stream[] = {
		0x0a, 0x23, 0xd7, 0xce, 0x02, 0x00, 0x00, 0x20, 'a', 'b', 0, 0,
		0x0a, 0x23, 0xd7, 0xce, 0x02, 0x00, 0x00, 0x60, 'c', 'd', 0, 0,
	};
	tu_result res[2];

	for (int mode = 0; mode < 2; mode++) {
		tu_read_mem(stream, sizeof(stream), TU_CHUNK, modes[mode],
			 &res[mode]);
		ck_assert_int_eq(res[mode].rc, PIPEMODE_EOF);
		ck_assert_uint_eq(res[mode].n, 1);
		ck_assert_uint_eq(res[mode].v[0].offset, 0);
	}
	expect_got(&res[CONCAT], 0, "abcd", 4);
	expect_got(&res[DMLC], 0, "ab\x0a\x23\xd7\xce" "cd", 8);
	tu_result_free(&res[0]);
	tu_result_free(&res[1]);
}
END_TEST

START_TEST(test_first_and_last_without_middle)
{
	static const size_t cuts[][2] = {{1, 1}, {0, 5}, {5, 0}, {4, 4},
					 {3, 6}};
	unsigned char buf[16];
	tu_rio s;

	tu_rio_init(&s);
	for (size_t k = 0; k < sizeof(cuts) / sizeof(cuts[0]); k++) {
		tu_fill(buf, sizeof(buf), 600 + k);
		tu_rio_add(&s, "x", 1);
		tu_rio_add_parts(&s, buf, cuts[k][0] + cuts[k][1], cuts[k], 2);
	}
	expect_all_both(&s, TU_CHUNK, NULL);
	tu_rio_free(&s);
}
END_TEST

/* Empty parts: [1:""],[3:""] is an empty record joined verbatim, one magic
 * word the dmlc way; three empty parts are two magic words. */
START_TEST(test_empty_parts)
{
	static const size_t cuts[] = {0, 0, 0};
	tu_rio s;
	tu_result res[2];

	tu_rio_init(&s);
	tu_rio_add_parts(&s, "", 0, cuts, 2);
	tu_rio_add_parts(&s, "", 0, cuts, 3);
	tu_rio_add(&s, "", 0);
	read_both(&s, TU_CHUNK, res);
	ck_assert_uint_eq(res[CONCAT].n, 3);
	ck_assert_uint_eq(res[DMLC].n, 3);
	expect_got(&res[CONCAT], 0, "", 0);
	expect_got(&res[CONCAT], 1, "", 0);
	expect_got(&res[DMLC], 0, magic_le, 4);
	expect_got(&res[DMLC], 1, "\x0a\x23\xd7\xce\x0a\x23\xd7\xce", 8);
	expect_got(&res[DMLC], 2, "", 0);
	tu_rio_check_records(&res[CONCAT], &s, 3, 0);
	tu_rio_check_records(&res[DMLC], &s, 3, 1);
	tu_result_free(&res[0]);
	tu_result_free(&res[1]);
	tu_rio_free(&s);
}
END_TEST

/* Parts of 1, 2 and 3 bytes, each padded differently. */
START_TEST(test_record_cut_into_many_tiny_parts)
{
	size_t cuts[300];
	unsigned char buf[600];
	tu_rio s;

	for (size_t k = 0; k < 300; k++)
		cuts[k] = 1 + k % 3;
	tu_fill(buf, sizeof(buf), 700);
	tu_rio_init(&s);
	tu_rio_add(&s, "before", 6);
	tu_rio_add_parts(&s, buf, 600, cuts, 300);
	tu_rio_add_parts(&s, buf, 6, cuts, 3);
	tu_rio_add(&s, "after", 5);
	ck_assert_uint_eq(s.rec[1].nparts, 300);
	expect_all_both(&s, TU_CHUNK, NULL);
	tu_rio_free(&s);
}
END_TEST

/* max_record_size bounds the payload, not the framing: a record of many
 * tiny parts whose framing is far larger than the limit still reads. */
START_TEST(test_many_tiny_parts_within_max_record_size)
{
	static size_t ones[1000];
	unsigned char buf[1000];
	tu_rio s;

	for (size_t k = 0; k < 1000; k++)
		ones[k] = 1;
	tu_fill(buf, sizeof(buf), 710);

	/* 1000 bytes in 12000 bytes of framing */
	tu_rio_init(&s);
	tu_rio_add_parts(&s, buf, 1000, ones, 1000);
	tu_rio_add(&s, "x", 1);
	expect_all_opts(&s, TU_CHUNK, CONCAT,
			"max_record_size=1000,buffer_size=4K");
	tu_rio_free(&s);

	/* dmlc: 200 bytes and 199 magic words, 996 bytes in 2400 */
	tu_rio_init(&s);
	tu_rio_add_parts(&s, buf, 200, ones, 200);
	tu_rio_add(&s, "x", 1);
	ck_assert_uint_eq(s.rec[0].dmlc_len, 996);
	expect_all_opts(&s, TU_CHUNK, DMLC,
			"max_record_size=1000,buffer_size=4K");
	tu_rio_free(&s);
}
END_TEST

START_TEST(test_multipart_records_larger_than_buffer)
{
	size_t cuts[100];
	unsigned char *big = malloc(3 * MiB);
	tu_rio s;
	size_t n = 0, done = 0;

	ck_assert_ptr_nonnull(big);
	tu_fill(big, 3 * MiB, 800);
	/* parts of 100 KiB and odd sizes around the 4K buffer */
	while (done < 3 * MiB) {
		size_t c = n % 3 == 0 ? 100 * KiB : n % 3 == 1 ? 4 * KiB - 7 :
								  4 * KiB + 1;
		if (c > 3 * MiB - done)
			c = 3 * MiB - done;
		cuts[n++] = c;
		done += c;
		ck_assert_uint_lt(n, 100);
	}
	tu_rio_init(&s);
	tu_rio_add(&s, "small", 5);
	tu_rio_add_parts(&s, big, 3 * MiB, cuts, n);
	tu_rio_add_random(&s, 4 * KiB, 801);
	tu_rio_add_parts(&s, big, 100 * KiB + 4 * KiB - 7, cuts, 2);
	tu_rio_add(&s, "end", 3);
	expect_all_opts(&s, TU_CHUNK, CONCAT, "buffer_size=4K");
	expect_all_opts(&s, TU_CHUNK, DMLC, "buffer_size=4K");
	free(big);
	tu_rio_free(&s);
}
END_TEST

START_TEST(test_mixed_whole_and_multipart_records)
{
	unsigned char buf[400];
	size_t cuts[8];
	uint64_t rng = 4242;
	tu_rio s;

	tu_rio_init(&s);
	for (int i = 0; i < 300; i++) {
		size_t len = tu_rand(&rng) % 400;

		tu_fill(buf, len, 900 + (uint64_t)i);
		if (i % 3 == 1) {
			size_t nparts = 2 + tu_rand(&rng) % 6, left = len;

			for (size_t k = 0; k + 1 < nparts; k++) {
				cuts[k] = left ? tu_rand(&rng) % (left + 1) : 0;
				left -= cuts[k];
			}
			cuts[nparts - 1] = left;
			tu_rio_add_parts(&s, buf, len, cuts, nparts);
		} else {
			tu_rio_add(&s, buf, len);
		}
	}
	expect_all_both(&s, TU_CHUNK, NULL);
	tu_rio_free(&s);
}
END_TEST

/* Records as dmlc-core writes them (cut at aligned magic words): dmlc mode
 * gives the original back, concat mode the original without those words. */
START_TEST(test_records_written_the_dmlc_way)
{
	unsigned char buf[64];
	tu_rio s;
	tu_result res[2];

	tu_rio_init(&s);
	/* "ab" magic "cd": two parts */
	tu_rio_add_dmlc(&s, "ab\x0a\x23\xd7\xce" "cd", 8);
	ck_assert_uint_eq(s.rec[0].nparts, 1); /* unaligned: one part */
	tu_rio_add_dmlc(&s, "abcd\x0a\x23\xd7\xce" "ef", 10);
	ck_assert_uint_eq(s.rec[1].nparts, 2);
	tu_rio_add_dmlc(&s, magic_le, 4);
	ck_assert_uint_eq(s.rec[2].nparts, 2);
	for (size_t k = 0; k < 64; k += 4)
		memcpy(buf + k, magic_le, 4);
	tu_rio_add_dmlc(&s, buf, 64);
	ck_assert_uint_eq(s.rec[3].nparts, 17);
	tu_fill(buf, 64, 1);
	memcpy(buf + 0, magic_le, 4);
	memcpy(buf + 9, magic_le, 4);
	memcpy(buf + 20, magic_le, 4);
	memcpy(buf + 60, magic_le, 4);
	tu_rio_add_dmlc(&s, buf, 64);
	tu_rio_add_dmlc(&s, buf, 63);
	read_both(&s, TU_CHUNK, res);
	expect_got(&res[DMLC], 1, "abcd\x0a\x23\xd7\xce" "ef", 10);
	expect_got(&res[CONCAT], 1, "abcdef", 6);
	expect_got(&res[DMLC], 2, magic_le, 4);
	expect_got(&res[CONCAT], 2, "", 0);
	tu_rio_check_records(&res[CONCAT], &s, s.nrec, 0);
	tu_rio_check_records(&res[DMLC], &s, s.nrec, 1);
	tu_result_free(&res[0]);
	tu_result_free(&res[1]);
	tu_rio_free(&s);
}
END_TEST

/* ================================================================ errors */

/* The part number counts every part of the stream, those of earlier
 * records cut in parts too. */
START_TEST(test_middle_part_without_open_record_is_ecorrupt)
{
	static const size_t cuts[] = {1, 1, 1};
	tu_rio s;

	tu_rio_init(&s);
	tu_rio_add(&s, "r0", 2);
	tu_rio_add_parts(&s, "r1!", 3, cuts, 3);
	tu_rio_part(&s, TU_RIO_MIDDLE, "xx", 2);
	tu_rio_add(&s, "r3", 2);
	expect_error_both(&s, TU_CHUNK, 2, PIPEMODE_ECORRUPT, 2,
			  s.part_off[4], 4);
	tu_rio_free(&s);
}
END_TEST

START_TEST(test_last_part_without_open_record_is_ecorrupt)
{
	tu_rio s;

	tu_rio_init(&s);
	tu_rio_add(&s, "r0", 2);
	tu_rio_part(&s, TU_RIO_LAST, "xxxxx", 5);
	tu_rio_add(&s, "r2", 2);
	expect_error_both(&s, TU_CHUNK, 1, PIPEMODE_ECORRUPT, 1,
			  s.part_off[1], 1);
	tu_rio_free(&s);
}
END_TEST

START_TEST(test_stream_starting_with_a_middle_or_last_part_is_ecorrupt)
{
	for (unsigned cflag = TU_RIO_MIDDLE; cflag <= TU_RIO_LAST; cflag++) {
		tu_rio s;

		tu_rio_init(&s);
		tu_rio_part(&s, cflag, "", 0);
		tu_rio_add(&s, "r", 1);
		expect_error_both(&s, TU_CHUNK, 0, PIPEMODE_ECORRUPT, 0, 0, 0);
		tu_rio_free(&s);
	}
}
END_TEST

/* Reported at the open record (index and offset of its first part), the
 * message naming the part that broke it. */
START_TEST(test_first_part_inside_open_record_is_ecorrupt)
{
	tu_rio s;

	tu_rio_init(&s);
	tu_rio_add(&s, "r0", 2);
	tu_rio_part(&s, TU_RIO_FIRST, "a", 1);
	tu_rio_part(&s, TU_RIO_MIDDLE, "b", 1);
	tu_rio_part(&s, TU_RIO_FIRST, "c", 1);
	tu_rio_part(&s, TU_RIO_LAST, "d", 1);
	tu_rio_add(&s, "r2", 2);
	expect_error_both(&s, TU_CHUNK, 1, PIPEMODE_ECORRUPT, 1,
			  s.part_off[1], 3);
	tu_rio_free(&s);
}
END_TEST

START_TEST(test_whole_part_inside_open_record_is_ecorrupt)
{
	tu_rio s;

	tu_rio_init(&s);
	tu_rio_add(&s, "r0", 2);
	tu_rio_part(&s, TU_RIO_FIRST, "a", 1);
	tu_rio_part(&s, TU_RIO_WHOLE, "whole", 5);
	tu_rio_part(&s, TU_RIO_LAST, "d", 1);
	expect_error_both(&s, TU_CHUNK, 1, PIPEMODE_ECORRUPT, 1,
			  s.part_off[1], 2);
	tu_rio_free(&s);
}
END_TEST

START_TEST(test_end_inside_open_record_is_etruncated)
{
	tu_rio s;

	tu_rio_init(&s);
	tu_rio_add(&s, "r0", 2);
	tu_rio_part(&s, TU_RIO_FIRST, "a", 1);
	tu_rio_part(&s, TU_RIO_MIDDLE, "bcde", 4);
	expect_error_both(&s, TU_CHUNK, 1, PIPEMODE_ETRUNCATED, 1,
			  s.part_off[1], SIZE_MAX);
	tu_rio_free(&s);
}
END_TEST

/* A stream cut at every byte: at a record boundary it is a clean EOF after
 * the whole records; anywhere else (inside a header, payload, padding, or
 * between the parts of a record) ETRUNCATED naming the cut record. */
START_TEST(test_truncation_at_every_byte)
{
	static const size_t c3[] = {2, 1, 4}, c2[] = {1, 0};
	tu_rio s;

	tu_rio_init(&s);
	tu_rio_add(&s, "abc", 3);
	tu_rio_add_parts(&s, "defghij", 7, c3, 3);
	tu_rio_add(&s, "", 0);
	tu_rio_add_parts(&s, "k", 1, c2, 2);
	tu_rio_add(&s, "lmnopq", 6);
	for (size_t cut = 0; cut <= s.len; cut++) {
		for (int mode = 0; mode < 2; mode++) {
			tu_result res;
			pipemode_stats st;
			size_t whole = 0;

			while (whole < s.nrec && s.rec[whole].end <= cut)
				whole++;
			st = tu_read_mem(s.p, cut, TU_CHUNK, modes[mode], &res);
			tu_rio_check_records(&res, &s, whole, mode == DMLC);
			if (whole == s.nrec || s.rec[whole].offset == cut) {
				ck_assert_msg(res.rc == PIPEMODE_EOF,
					      "cut %zu: rc %d (%s)", cut,
					      res.rc, res.errmsg);
				ck_assert_uint_eq(res.index, whole);
				ck_assert_uint_eq(res.offset, cut);
			} else {
				ck_assert_msg(res.rc == PIPEMODE_ETRUNCATED,
					      "cut %zu (%s): rc %d (%s)", cut,
					      modes[mode], res.rc, res.errmsg);
				tu_check_error(&res, PIPEMODE_ETRUNCATED, whole,
					       s.rec[whole].offset);
				check_errmsg_where(res.errmsg, "callback",
						   whole, s.rec[whole].offset);
			}
			ck_assert_uint_eq(st.records, whole);
			ck_assert_uint_eq(st.bytes_read, cut);
			tu_result_free(&res);
		}
	}
	tu_rio_free(&s);
}
END_TEST

START_TEST(test_truncation_inside_large_multipart_record)
{
	static const size_t cuts[] = {60 * KiB, 40 * KiB};
	unsigned char *big = malloc(100 * KiB);
	tu_rio s;
	tu_result res;

	ck_assert_ptr_nonnull(big);
	tu_fill(big, 100 * KiB, 3);
	tu_rio_init(&s);
	tu_rio_add(&s, "zero", 4);
	tu_rio_add_parts(&s, big, 100 * KiB, cuts, 2);
	/* inside the second part */
	tu_read_mem(s.p, s.len - 10 * KiB, TU_CHUNK,
		 "format=recordio,buffer_size=4K", &res);
	tu_rio_check_records(&res, &s, 1, 0);
	tu_check_error(&res, PIPEMODE_ETRUNCATED, 1, 12);
	tu_result_free(&res);
	free(big);
	tu_rio_free(&s);
}
END_TEST

START_TEST(test_bad_magic_at_record_2_is_ecorrupt)
{
	tu_rio s;

	tu_rio_init(&s);
	tu_rio_add(&s, "r0", 2);
	tu_rio_add(&s, "r1!", 3);
	tu_rio_add(&s, "r2", 2);
	tu_rio_add(&s, "r3", 2);
	s.p[s.rec[2].offset] ^= 0x01;
	expect_error_both(&s, TU_CHUNK, 2, PIPEMODE_ECORRUPT, 2,
			  s.rec[2].offset, 2);
	tu_rio_free(&s);
}
END_TEST

/* Each byte of the magic matters, at the first part of a stream too. */
START_TEST(test_bad_magic_in_any_byte_is_ecorrupt)
{
	for (size_t b = 0; b < 4; b++) {
		tu_rio s;
		tu_result res;

		tu_rio_init(&s);
		tu_rio_add(&s, "r0", 2);
		s.p[b] ^= 0x80;
		tu_read_mem(s.p, s.len, TU_CHUNK, "format=recordio", &res);
		ck_assert_uint_eq(res.n, 0);
		tu_check_error(&res, PIPEMODE_ECORRUPT, 0, 0);
		ck_assert_msg(tu_contains(res.errmsg, "magic"), "%s",
			      res.errmsg);
		tu_result_free(&res);
		tu_rio_free(&s);
	}
}
END_TEST

/* A bad magic in a later part of a multipart record: reported at the record,
 * naming the part. */
START_TEST(test_bad_magic_inside_multipart_record_is_ecorrupt)
{
	static const size_t cuts[] = {2, 2, 2};
	tu_rio s;

	tu_rio_init(&s);
	tu_rio_add(&s, "r0", 2);
	tu_rio_add(&s, "r1", 2);
	tu_rio_add_parts(&s, "abcdef", 6, cuts, 3);
	tu_rio_add(&s, "r3", 2);
	s.p[s.part_off[4] + 3] = 0x00;
	expect_error_both(&s, TU_CHUNK, 2, PIPEMODE_ECORRUPT, 2,
			  s.rec[2].offset, 4);
	tu_rio_free(&s);
}
END_TEST

/* cflag 4..7 mean nothing: corrupt framing (so is the magic word read as a
 * header word, since its cflag is 6). */
START_TEST(test_cflag_4_to_7_is_ecorrupt)
{
	for (unsigned cflag = 4; cflag <= 7; cflag++) {
		tu_rio s;

		tu_rio_init(&s);
		tu_rio_add(&s, "r0", 2);
		tu_rio_part(&s, cflag, "bad", 3);
		tu_rio_add(&s, "r2", 2);
		expect_error_both(&s, TU_CHUNK, 1, PIPEMODE_ECORRUPT, 1,
				  s.part_off[1], 1);
		tu_rio_free(&s);

		/* inside an open record */
		tu_rio_init(&s);
		tu_rio_part(&s, TU_RIO_FIRST, "a", 1);
		tu_rio_part(&s, cflag, "bad", 3);
		tu_rio_part(&s, TU_RIO_LAST, "b", 1);
		expect_error_both(&s, TU_CHUNK, 0, PIPEMODE_ECORRUPT, 0, 0, 1);
		tu_rio_free(&s);
	}
}
END_TEST

START_TEST(test_part_at_max_size_ok_one_more_is_etoobig)
{
	tu_rio s;
	tu_result res;
	pipemode_stats st;

	tu_rio_init(&s);
	tu_rio_add_random(&s, 1000, 1);
	tu_rio_add_random(&s, 1001, 2);
	tu_rio_add_random(&s, 3, 3);
	for (int mode = 0; mode < 2; mode++) {
		char options[128];

		snprintf(options, sizeof(options), "%s,max_record_size=1000",
			 modes[mode]);
		st = tu_read_mem(s.p, s.len, TU_CHUNK, options, &res);
		tu_rio_check_records(&res, &s, 1, mode == DMLC);
		tu_check_error(&res, PIPEMODE_ETOOBIG, 1, 1008);
		check_errmsg_where(res.errmsg, "callback", 1, 1008);
		ck_assert_uint_eq(st.records, 1);
		tu_result_free(&res);
	}
	tu_rio_free(&s);
}
END_TEST

/*
 * The limit holds for the record as assembled, parts each well under it:
 *   record 0: parts 400 + 596 = 996 bytes; dmlc 1000
 *   record 1: parts 400 + 597 = 997 bytes; dmlc 1001
 *   record 2: parts 400 + 400 + 201 = 1001 bytes
 * With max_record_size=1000, concat fails at record 2 and dmlc, counting
 * the magic word it puts back, at record 1.
 */
START_TEST(test_assembled_record_over_max_size_is_etoobig)
{
	static const size_t c0[] = {400, 596}, c1[] = {400, 597},
			    c2[] = {400, 400, 201};
	unsigned char buf[1001];
	tu_rio s;
	tu_result res;

	tu_fill(buf, sizeof(buf), 5);
	tu_rio_init(&s);
	tu_rio_add_parts(&s, buf, 996, c0, 2);
	tu_rio_add_parts(&s, buf, 997, c1, 2);
	tu_rio_add_parts(&s, buf, 1001, c2, 3);
	tu_rio_add(&s, "end", 3);

	tu_read_mem(s.p, s.len, TU_CHUNK,
		 "format=recordio,max_record_size=1000", &res);
	tu_rio_check_records(&res, &s, 2, 0);
	tu_check_error(&res, PIPEMODE_ETOOBIG, 2, s.rec[2].offset);
	check_errmsg_where(res.errmsg, "callback", 2, s.rec[2].offset);
	tu_result_free(&res);

	tu_read_mem(s.p, s.len, TU_CHUNK,
		 "format=recordio,recordio_multipart=dmlc,"
		 "max_record_size=1000",
		 &res);
	tu_rio_check_records(&res, &s, 1, 1);
	ck_assert_uint_eq(res.v[0].len, 1000);
	tu_check_error(&res, PIPEMODE_ETOOBIG, 1, s.rec[1].offset);
	check_errmsg_where(res.errmsg, "callback", 1, s.rec[1].offset);
	tu_result_free(&res);

	/* and one byte more of limit lets the dmlc record 1 through */
	tu_read_mem(s.p, s.len, TU_CHUNK,
		 "format=recordio,recordio_multipart=dmlc,"
		 "max_record_size=1001",
		 &res);
	tu_rio_check_records(&res, &s, 2, 1);
	tu_check_error(&res, PIPEMODE_ETOOBIG, 2, s.rec[2].offset);
	tu_result_free(&res);
	tu_rio_free(&s);
}
END_TEST

/* A part declaring 2^29 - 1 bytes (over the default 256M) with only a few
 * bytes behind it: refused on the header alone, before reading on or
 * allocating (waiting for the payload would give ETRUNCATED). */
START_TEST(test_huge_declared_part_is_etoobig_without_reading_it)
{
	static const uint32_t flags[] = {TU_RIO_WHOLE, TU_RIO_FIRST};

	for (size_t k = 0; k < 2; k++) {
		tu_rio s;
		tu_result res;
		struct timespec t0, t1;
		double secs;

		tu_rio_init(&s);
		tu_rio_add(&s, "zero", 4);
		tu_rio_header(&s, TU_RIO_MAGIC,
			      flags[k] << 29 | ((1u << 29) - 1));
		tu_rio_raw(&s, "some bytes that follow", 22);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		tu_read_mem(s.p, s.len, TU_CHUNK, "format=recordio", &res);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		secs = (double)(t1.tv_sec - t0.tv_sec) +
		       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		tu_rio_check_records(&res, &s, 1, 0);
		tu_check_error(&res, PIPEMODE_ETOOBIG, 1, 12);
		check_errmsg_where(res.errmsg, "callback", 1, 12);
		ck_assert_msg(secs < 2.0, "took %.3f s", secs);
		tu_result_free(&res);
		tu_rio_free(&s);
	}
}
END_TEST

/* A later part whose declared length alone exceeds the limit. */
START_TEST(test_large_declared_later_part_is_etoobig)
{
	tu_rio s;
	tu_result res;

	tu_rio_init(&s);
	tu_rio_part(&s, TU_RIO_FIRST, "ab", 2);
	tu_rio_header(&s, TU_RIO_MAGIC, (uint32_t)TU_RIO_LAST << 29 | 5000);
	tu_rio_raw(&s, "only a little", 13);
	tu_read_mem(s.p, s.len, TU_CHUNK, "format=recordio,max_record_size=4K",
		 &res);
	ck_assert_uint_eq(res.n, 0);
	tu_check_error(&res, PIPEMODE_ETOOBIG, 0, 0);
	tu_result_free(&res);
	tu_rio_free(&s);
}
END_TEST

START_TEST(test_error_repeats_and_keeps_message)
{
	tu_rio s;
	tu_src src;
	pipemode_reader *r;
	const void *data;
	size_t len;
	char first[1024];

	tu_rio_init(&s);
	tu_rio_add(&s, "zero", 4);
	tu_rio_part(&s, TU_RIO_LAST, "one", 3);
	tu_rio_add(&s, "two", 3);
	tu_src_init(&src, s.p, s.len, TU_CHUNK);
	r = tu_open_src(&src, "format=recordio");
	ck_assert_int_eq(pipemode_next(r, &data, &len), PIPEMODE_OK);
	ck_assert_int_eq(pipemode_next(r, &data, &len), PIPEMODE_ECORRUPT);
	snprintf(first, sizeof(first), "%s", pipemode_errmsg(r));
	ck_assert_str_ne(first, "");
	for (int k = 0; k < 3; k++) {
		data = "x";
		len = 1;
		ck_assert_int_eq(pipemode_next(r, &data, &len),
				 PIPEMODE_ECORRUPT);
		ck_assert_ptr_null(data);
		ck_assert_uint_eq(len, 0);
		ck_assert_str_eq(pipemode_errmsg(r), first);
		ck_assert_uint_eq(pipemode_record_index(r), 1);
		ck_assert_uint_eq(pipemode_byte_offset(r), 12);
	}
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	tu_rio_free(&s);
}
END_TEST

START_TEST(test_message_names_the_source)
{
	tu_rio s;
	tu_result res;

	tu_rio_init(&s);
	tu_rio_add(&s, "zero", 4);
	tu_rio_part(&s, TU_RIO_MIDDLE, "one", 3);
	tu_read_mem(s.p, s.len, TU_CHUNK,
		 "format=recordio,name=/opt/ml/input/data/train_0", &res);
	tu_check_error(&res, PIPEMODE_ECORRUPT, 1, 12);
	check_errmsg_where(res.errmsg, "/opt/ml/input/data/train_0", 1, 12);
	check_errmsg_part(res.errmsg, &s, 1);
	tu_result_free(&res);
	tu_rio_free(&s);
}
END_TEST

/* A TFRecord stream is not RecordIO: bad magic at byte 0. */
START_TEST(test_tfrecord_read_as_recordio_is_ecorrupt)
{
	tu_stream t;
	tu_result res;

	tu_stream_init(&t);
	tu_stream_add(&t, "hello", 5, 0);
	tu_read_mem(t.p, t.len, TU_CHUNK, "format=recordio", &res);
	ck_assert_uint_eq(res.n, 0);
	tu_check_error(&res, PIPEMODE_ECORRUPT, 0, 0);
	tu_result_free(&res);
	tu_stream_free(&t);
}
END_TEST

/* =============================================================== options */

static void
expect_open_fails(const char *options, int rc, const char *key)
{
	pipemode_reader *r = NULL;
	tu_src src;
	const void *data = "x";
	size_t len = 1;
	int got;

	tu_src_init(&src, "", 0, 1);
	got = pipemode_open_callback(&r, tu_src_read, &src, options);
	ck_assert_msg(got == rc, "\"%s\": rc %d (%s), expected %d: %s",
		      options, got, pipemode_code_name(got), rc,
		      pipemode_errmsg(r));
	ck_assert_ptr_nonnull(r);
	if (key != NULL)
		ck_assert_msg(strstr(pipemode_errmsg(r), key) != NULL,
			      "\"%s\": errmsg \"%s\" does not name %s",
			      options, pipemode_errmsg(r), key);
	ck_assert_int_eq(pipemode_next(r, &data, &len), PIPEMODE_ESTATE);
	ck_assert_ptr_null(data);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
}

static const char *const bad_multipart_options[] = {
	"format=recordio,recordio_multipart=foo",
	"format=recordio,recordio_multipart=",
	"format=recordio,recordio_multipart",
	"recordio_multipart=foo,format=recordio",
	"format=recordio,recordio_multipart=dmlc2",
};

START_TEST(test_bad_multipart_value_is_eoption_naming_it)
{
	expect_open_fails(bad_multipart_options[_i], PIPEMODE_EOPTION,
			  "recordio_multipart");
}
END_TEST

/* recordio_multipart belongs to RecordIO: with another format it is an
 * error naming the key, not silently ignored. */
static const char *const foreign_multipart_options[] = {
	"format=tfrecord,recordio_multipart=dmlc",
	"recordio_multipart=dmlc,format=tfrecord",
	"recordio_multipart=dmlc", /* the default format is tfrecord */
	"format=tfrecord,recordio_multipart=concat",
};

START_TEST(test_multipart_option_with_tfrecord_is_eoption)
{
	expect_open_fails(foreign_multipart_options[_i], PIPEMODE_EOPTION,
			  "recordio_multipart");
}
END_TEST

/* Options that open a RecordIO reader, each with the mode it selects. */
static const struct {
	const char *options;
	int mode;
} good_options[] = {
	{"format=recordio", CONCAT},
	{"format=RecordIO", CONCAT},
	{"format=RECORDIO", CONCAT},
	{"format=recordio,recordio_multipart=concat", CONCAT},
	{"format=recordio,recordio_multipart=dmlc", DMLC},
	{"format=RecordIO,recordio_multipart=dmlc", DMLC},
	{"recordio_multipart=dmlc,format=recordio", DMLC},
	{"recordio_multipart=concat,format=recordio", CONCAT},
	{"format=recordio,recordio_multipart=dmlc,recordio_multipart=concat",
	 CONCAT},
	/* RecordIO has no CRC; the common option is still accepted */
	{"format=recordio,verify_crc=0", CONCAT},
	{"format=recordio,verify_crc=1", CONCAT},
	{"format=recordio,verify_crc=0,recordio_multipart=dmlc", DMLC},
	{"format=recordio,max_record_size=64M,buffer_size=8K", CONCAT},
	{"format=recordio,name=x,pipe_size=0", CONCAT},
};

START_TEST(test_good_options_are_accepted)
{
	static const size_t cuts[] = {1, 2};
	tu_rio s;

	tu_rio_init(&s);
	tu_rio_add(&s, "abc", 3);
	tu_rio_add_parts(&s, "xyz", 3, cuts, 2);
	tu_rio_add(&s, "", 0);
	expect_all_with(&s, 7, good_options[_i].mode,
			good_options[_i].options);
	tu_rio_free(&s);
}
END_TEST

/* ================================================================== main */

static Suite *
recordio_suite(void)
{
	Suite *s = suite_create("recordio");
	TCase *tc;

	tc = tcase_create("single");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_empty_stream_is_eof_at_once, 0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_single_part_records_of_every_length_0_to_64,
			    0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_one_record_hello, 0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_records_larger_than_buffer_grow_it, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_magic_word_inside_a_whole_record_is_verbatim,
			    0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_index_and_offset_follow_each_record, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_stats_count_records_bytes_and_calls, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_record_stays_valid_until_next_call, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc,
			    test_single_part_records_point_into_the_read_buffer,
			    0, 2);
	tcase_add_loop_test(tc, test_padding_bytes_are_not_checked, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_eof_repeats_after_eof, 0, TU_NCHUNKS);
	suite_add_tcase(s, tc);

	tc = tcase_create("multipart");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_concat_joins_parts_verbatim, 0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_dmlc_puts_the_magic_back_between_parts, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_first_and_last_without_middle, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_empty_parts, 0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_record_cut_into_many_tiny_parts, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_many_tiny_parts_within_max_record_size, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_multipart_records_larger_than_buffer, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_mixed_whole_and_multipart_records, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_records_written_the_dmlc_way, 0,
			    TU_NCHUNKS);
	suite_add_tcase(s, tc);

	tc = tcase_create("corrupt");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_middle_part_without_open_record_is_ecorrupt,
			    0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_last_part_without_open_record_is_ecorrupt,
			    0, TU_NCHUNKS);
	tcase_add_loop_test(
		tc, test_stream_starting_with_a_middle_or_last_part_is_ecorrupt,
		0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_first_part_inside_open_record_is_ecorrupt,
			    0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_whole_part_inside_open_record_is_ecorrupt,
			    0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_end_inside_open_record_is_etruncated, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_truncation_at_every_byte, 0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_truncation_inside_large_multipart_record,
			    0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_bad_magic_at_record_2_is_ecorrupt, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_bad_magic_in_any_byte_is_ecorrupt, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc,
			    test_bad_magic_inside_multipart_record_is_ecorrupt,
			    0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_cflag_4_to_7_is_ecorrupt, 0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_part_at_max_size_ok_one_more_is_etoobig, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_assembled_record_over_max_size_is_etoobig,
			    0, TU_NCHUNKS);
	tcase_add_loop_test(tc,
			    test_huge_declared_part_is_etoobig_without_reading_it,
			    0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_large_declared_later_part_is_etoobig, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_error_repeats_and_keeps_message, 0,
			    TU_NCHUNKS);
	tcase_add_loop_test(tc, test_message_names_the_source, 0, TU_NCHUNKS);
	tcase_add_loop_test(tc, test_tfrecord_read_as_recordio_is_ecorrupt, 0,
			    TU_NCHUNKS);
	suite_add_tcase(s, tc);

	tc = tcase_create("options");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_bad_multipart_value_is_eoption_naming_it, 0,
			    NELEM(bad_multipart_options));
	tcase_add_loop_test(tc, test_multipart_option_with_tfrecord_is_eoption,
			    0, NELEM(foreign_multipart_options));
	tcase_add_loop_test(tc, test_good_options_are_accepted, 0,
			    NELEM(good_options));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(recordio_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
