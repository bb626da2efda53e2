/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Files written by other implementations (tests/data, see README.md and
 * MANIFEST.tsv there): TFRecord, RecordIO (MXNet's, SageMaker's, ml-io's,
 * split in parts and not), gzip, and files that are none of these.  Each is
 * read with pipemode_open_path and through the callback source at chunks of
 * 1, 7, 4096 bytes and whole.  In the loop tests iteration 0 is the path
 * and iteration 1 + k the callback at tu_chunks[k] (modulo NWAYS where a
 * test loops over more than the ways).  Expected contents were derived from
 * the files' bytes with an independent parser, not from the library.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#ifndef PM_TEST_DATA_DIR
#error "PM_TEST_DATA_DIR must name the tests/data directory"
#endif

#define NWAYS (1 + TU_NCHUNKS)

static void
data_path(char *buf, size_t size, const char *name)
{
	int n = snprintf(buf, size, "%s/%s", PM_TEST_DATA_DIR, name);

	ck_assert(n > 0 && (size_t)n < size);
}

enum framing { TFRECORD, RECORDIO };

/* The offset of each record of a RecordIO stream (its first part: cflag 0
 * or 1), found by walking its parts; returns how many (at most max). */
static size_t
recordio_starts(const unsigned char *p, size_t len, uint64_t *starts,
		size_t max)
{
	size_t off = 0, n = 0;

	while (off + 8 <= len) {
		uint32_t lrec = (uint32_t)p[off + 4] | (uint32_t)p[off + 5] << 8 |
				(uint32_t)p[off + 6] << 16 |
				(uint32_t)p[off + 7] << 24;
		size_t plen = lrec & ((1u << 29) - 1);

		if ((lrec >> 29) <= 1 && n < max)
			starts[n++] = off;
		off += 8 + plen + (4 - plen % 4) % 4;
	}
	return n;
}

/*
 * Read the file name in way `way` with options into res (and its stats into
 * *st).  Checks that the records' indices count from 0 and their offsets
 * are where the framing puts them in the stream the framer sees, which is
 * stream_len bytes long (0: the file's length; else the file inflated), and
 * that a clean EOF consumed the whole file.
 */
static void
read_data_as(const char *name, int way, const char *options,
	     enum framing framing, uint64_t stream_len, tu_result *res,
	     pipemode_stats *st)
{
	char path[4096];
	pipemode_reader *r = NULL;
	unsigned char *bytes;
	size_t len;
	tu_src src;
	uint64_t offset = 0;
	uint64_t starts[64];
	size_t nstarts = 0;
	int rc;

	data_path(path, sizeof(path), name);
	bytes = tu_read_file(path, &len);
	if (stream_len == 0)
		stream_len = len;
	if (way == 0) {
		rc = pipemode_open_path(&r, path, options);
		ck_assert_msg(rc == PIPEMODE_OK, "open_path %s: %d %s", path,
			      rc, pipemode_errmsg(r));
	} else {
		tu_src_init(&src, bytes, len, tu_chunks[way - 1]);
		r = tu_open_src(&src, options);
	}
	tu_read_all(r, res);
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	ck_assert_int_eq(pipemode_get_stats(r, st), PIPEMODE_OK);
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	if (framing == RECORDIO)
		nstarts = recordio_starts(bytes, len, starts, 64);
	for (size_t i = 0; i < res->n; i++) {
		ck_assert_uint_eq(res->v[i].index, i);
		if (framing == TFRECORD) {
			ck_assert_uint_eq(res->v[i].offset, offset);
			offset += 16 + res->v[i].len;
		} else {
			ck_assert_uint_lt(i, nstarts);
			ck_assert_uint_eq(res->v[i].offset, starts[i]);
		}
	}
	ck_assert_uint_eq(st->records, res->n);
	if (res->rc == PIPEMODE_EOF) {
		if (framing == TFRECORD)
			ck_assert_uint_eq(offset, stream_len);
		else
			ck_assert_uint_eq(res->n, nstarts);
		/* at the end: the records framed, the stream's length */
		ck_assert_uint_eq(res->index, res->n);
		ck_assert_uint_eq(res->offset, stream_len);
		ck_assert_uint_eq(st->bytes_read, len);
	}
	free(bytes);
}

/* A plain TFRecord file. */
static void
read_data(const char *name, int way, const char *options, tu_result *res,
	  pipemode_stats *st)
{
	read_data_as(name, way, options, TFRECORD, 0, res, st);
}

static void
expect_eof_with(const tu_result *res, size_t n)
{
	ck_assert_msg(res->rc == PIPEMODE_EOF, "rc %d: %s", res->rc,
		      res->errmsg);
	ck_assert_uint_eq(res->n, n);
}

static void
expect_record(const tu_result *res, size_t i, const void *p, size_t len)
{
	ck_assert_uint_lt(i, res->n);
	ck_assert_msg(res->v[i].len == len, "record %zu: length %zu, not %zu",
		      i, res->v[i].len, len);
	ck_assert_msg(memcmp(res->v[i].data, p, len) == 0,
		      "record %zu: payload differs", i);
}

static void
expect_strings(const tu_result *res, const char *const *want, size_t n)
{
	expect_eof_with(res, n);
	for (size_t i = 0; i < n; i++)
		expect_record(res, i, want[i], strlen(want[i]));
}

/* ============================================================== tfrecord */

START_TEST(test_smtfext_100_is_hello_world_0_to_99)
{
	tu_result res;
	pipemode_stats st;
	char want[32];
	uint64_t payload = 0;

	read_data("smtfext_100.tfrecords", _i, NULL, &res, &st);
	expect_eof_with(&res, 100);
	for (int i = 0; i < 100; i++) {
		snprintf(want, sizeof(want), "hello world %d", i);
		expect_record(&res, (size_t)i, want, strlen(want));
		payload += strlen(want);
	}
	ck_assert_uint_eq(st.payload_bytes, payload);
	ck_assert_uint_eq(st.skipped, 0);
	tu_result_free(&res);
}
END_TEST

START_TEST(test_beam_foo_is_foo)
{
	static const char *const want[] = {"foo"};
	tu_result res;
	pipemode_stats st;

	read_data("beam_foo.tfrecord", _i, NULL, &res, &st);
	expect_strings(&res, want, 1);
	tu_result_free(&res);
}
END_TEST

START_TEST(test_beam_foo_bar_is_foo_bar)
{
	static const char *const want[] = {"foo", "bar"};
	tu_result res;
	pipemode_stats st;

	read_data("beam_foo_bar.tfrecord", _i, NULL, &res, &st);
	expect_strings(&res, want, 2);
	tu_result_free(&res);
}
END_TEST

START_TEST(test_magenta_is_hello_world_12345_success)
{
	static const char *const want[] = {"hello world", "12345", "success"};
	tu_result res;
	pipemode_stats st;

	read_data("magenta_tfrecord_iterator_test.tfrecord", _i, NULL, &res,
		  &st);
	expect_strings(&res, want, 3);
	tu_result_free(&res);
}
END_TEST

/* 4 tf.train.Example: field 1 (features), length-delimited, is tag 0x0a. */
START_TEST(test_torchdata_is_four_examples)
{
	static const size_t lens[] = {108, 115, 118, 118};
	tu_result res;
	pipemode_stats st;

	read_data("torchdata_example.tfrecord", _i, NULL, &res, &st);
	expect_eof_with(&res, 4);
	for (size_t i = 0; i < 4; i++) {
		ck_assert_uint_eq(res.v[i].len, lens[i]);
		ck_assert_uint_eq(res.v[i].data[0], 0x0a);
		ck_assert_ptr_nonnull(memmem(res.v[i].data, res.v[i].len,
					     "test str", 8));
	}
	tu_result_free(&res);
}
END_TEST

/* Two protos with an English and a French sentence each. */
START_TEST(test_lingvo_is_two_sentence_pairs)
{
	static const char *const want[2][2] = {
		{"I love paragliding!", "J'adore le parapente!"},
		{"vol biv paragliding", "vol biv parapente"},
	};
	static const size_t lens[] = {56, 52};
	tu_result res;
	pipemode_stats st;

	read_data("lingvo_en_fr.tfrecord", _i, NULL, &res, &st);
	expect_eof_with(&res, 2);
	for (size_t i = 0; i < 2; i++) {
		ck_assert_uint_eq(res.v[i].len, lens[i]);
		for (size_t k = 0; k < 2; k++)
			ck_assert_msg(memmem(res.v[i].data, res.v[i].len,
					     want[i][k],
					     strlen(want[i][k])) != NULL,
				      "record %zu lacks \"%s\"", i, want[i][k]);
	}
	/* and not the other way round */
	ck_assert_ptr_null(memmem(res.v[0].data, res.v[0].len, "vol biv", 7));
	tu_result_free(&res);
}
END_TEST

/* 5 tf.train.Example {"data": int64_list [i, ...]} from the Java writer,
 * asserted byte for byte (the bytes as the file holds them). */
START_TEST(test_tfeco_is_five_examples)
{
	static const struct {
		const char *p;
		size_t len;
	} want[] = {
#define R(s) {s, sizeof(s) - 1}
		R("\x0a\x19\x0a\x17\x0a\x04\x64\x61\x74\x61\x12\x0f\x1a\x0d"
		  "\x0a\x0b\x00\xd2\xaf\x86\x94\x84\x95\x9a\xc3\xa5\x01"),
		R("\x0a\x19\x0a\x17\x0a\x04\x64\x61\x74\x61\x12\x0f\x1a\x0d"
		  "\x0a\x0b\x01\xf8\xd6\xa3\xe6\xa3\xbb\x8b\xc6\xf3\x01"),
		R("\x0a\x19\x0a\x17\x0a\x04\x64\x61\x74\x61\x12\x0f\x1a\x0d"
		  "\x0a\x0b\x02\xb2\xfe\xc1\x89\xd5\xde\xba\xc5\xdb\x01"),
		R("\x0a\x18\x0a\x16\x0a\x04\x64\x61\x74\x61\x12\x0e\x1a\x0c"
		  "\x0a\x0a\x03\x93\x91\xea\xe5\x98\xe4\xb1\xa7\x75"),
		R("\x0a\x18\x0a\x16\x0a\x04\x64\x61\x74\x61\x12\x0e\x1a\x0c"
		  "\x0a\x0a\x04\xfb\x81\xde\xbd\xb1\xc2\xbe\x80\x56"),
#undef R
	};
	tu_result res;
	pipemode_stats st;

	read_data("tfeco_part-m-00000", _i, NULL, &res, &st);
	expect_eof_with(&res, 5);
	for (size_t i = 0; i < 5; i++)
		expect_record(&res, i, want[i].p, want[i].len);
	ck_assert_uint_eq(st.payload_bytes, 27 + 27 + 27 + 26 + 26);
	tu_result_free(&res);
}
END_TEST

/* ============================================================= negatives */

/* Not a TFRecord: its first 8 bytes read as a length near 1.9e18 whose CRC
 * fails.  Rejected on the length CRC, at record 0 byte 0, before any limit
 * is consulted and without allocating (an attempt would be ENOMEM). */
START_TEST(test_feature_stats_is_ecorrupt_at_byte_0)
{
	tu_result res;
	pipemode_stats st;

	read_data("tfx_FeatureStats_eval.pb", _i, NULL, &res, &st);
	ck_assert_uint_eq(res.n, 0);
	tu_check_error(&res, PIPEMODE_ECORRUPT, 0, 0);
	ck_assert_msg(strstr(res.errmsg, "record 0 at byte 0") != NULL, "%s",
		      res.errmsg);
	ck_assert_msg(tu_contains(res.errmsg, "length") &&
			      tu_contains(res.errmsg, "crc"),
		      "%s", res.errmsg);
	if (_i == 0)
		ck_assert_msg(strstr(res.errmsg, "tfx_FeatureStats_eval.pb") !=
				      NULL,
			      "%s", res.errmsg);
	ck_assert_uint_eq(st.records, 0);
	ck_assert_uint_eq(st.payload_bytes, 0);
	/* the whole file need not even be read */
	ck_assert_uint_le(st.bytes_read, 17863);
	tu_result_free(&res);
}
END_TEST

static const char *const limits[] = {"max_record_size=1K",
				     "max_record_size=4G"};

START_TEST(test_feature_stats_length_crc_beats_any_limit)
{
	tu_result res;
	pipemode_stats st;

	read_data("tfx_FeatureStats_eval.pb", 0, limits[_i], &res, &st);
	tu_check_error(&res, PIPEMODE_ECORRUPT, 0, 0);
	tu_result_free(&res);
}
END_TEST

/* Without compression=gzip a gzip file is not mistaken for records: its
 * first 8 bytes fail the length CRC. */
static const char *const gzip_files[] = {"tfeco_zipped_part-m-00000.gz",
					 "tfx_penguin_eval.gz"};

START_TEST(test_gzip_tfrecord_read_raw_is_ecorrupt_at_byte_0)
{
	for (size_t f = 0; f < sizeof(gzip_files) / sizeof(gzip_files[0]);
	     f++) {
		tu_result res;
		pipemode_stats st;

		read_data(gzip_files[f], _i, NULL, &res, &st);
		ck_assert_msg(res.n == 0, "%s: %zu records", gzip_files[f],
			      res.n);
		tu_check_error(&res, PIPEMODE_ECORRUPT, 0, 0);
		tu_result_free(&res);
	}
}
END_TEST

static const char *const recordio_files[] = {
	"dmlc_sample.rec",         "mlio_complete_records.pr",
	"mlio_split_records.pr",   "mlio_corrupted_split_records.pr",
	"xgb_train.pb",            "xgb_inline_target1.pbr",
	"xgb_inline_target2.pbr",  "xgb_inline_target3.pbr",
};

/* Read as TFRecord, a RecordIO file is corrupt framing at byte 0. */
START_TEST(test_recordio_files_read_as_tfrecord_are_ecorrupt)
{
	for (size_t f = 0;
	     f < sizeof(recordio_files) / sizeof(recordio_files[0]); f++) {
		tu_result res;
		pipemode_stats st;

		read_data(recordio_files[f], _i, NULL, &res, &st);
		ck_assert_msg(res.n == 0, "%s: %zu records", recordio_files[f],
			      res.n);
		tu_check_error(&res, PIPEMODE_ECORRUPT, 0, 0);
		tu_result_free(&res);
	}
}
END_TEST

/* ============================================================== recordio */

static const char *const rio_modes[2] = {
	"format=recordio",
	"format=recordio,recordio_multipart=dmlc",
};

static const unsigned char rio_magic[4] = {0x0a, 0x23, 0xd7, 0xce};

/* The source name that starts a message read in way `way`. */
static void
source_name(char *buf, size_t size, const char *name, int way)
{
	if (way == 0)
		data_path(buf, size, name);
	else
		snprintf(buf, size, "callback");
}

/* Record i (1..10) of dmlc_sample.rec: an im2rec IRHeader {u32 flag = 0,
 * float label = i % 2, u64 id = i, u64 id2 = 0}, then "%d\n" % i ten
 * times (dmlc-core test/unittest_inputsplit.cc). */
static size_t
dmlc_sample_record(int i, unsigned char *buf, size_t size)
{
	size_t n = 24;

	ck_assert_uint_ge(size, 24 + 10 * 3 + 1);
	tu_put_le32(buf, 0);
	tu_put_le32(buf + 4, i % 2 ? 0x3f800000u : 0); /* 1.0f, 0.0f */
	tu_put_le64(buf + 8, (uint64_t)i);
	tu_put_le64(buf + 16, 0);
	for (int k = 0; k < 10; k++)
		n += (size_t)snprintf((char *)buf + n, size - n, "%d\n", i);
	return n;
}

/* Whole records: the same in both modes.  _i = mode * NWAYS + way. */
START_TEST(test_dmlc_sample_is_ten_image_records)
{
	unsigned char want[128];
	tu_result res;
	pipemode_stats st;
	uint64_t payload = 0;

	read_data_as("dmlc_sample.rec", _i % NWAYS, rio_modes[_i / NWAYS],
		     RECORDIO, 0, &res, &st);
	expect_eof_with(&res, 10);
	for (int i = 1; i <= 10; i++) {
		size_t n = dmlc_sample_record(i, want, sizeof(want));

		ck_assert_uint_eq(n, i < 10 ? 44 : 54);
		expect_record(&res, (size_t)i - 1, want, n);
		ck_assert_uint_eq(res.v[i - 1].offset, 52 * ((uint64_t)i - 1));
		payload += n;
	}
	ck_assert_uint_eq(st.payload_bytes, payload);
	ck_assert_uint_eq(st.bytes_read, 532);
	tu_result_free(&res);
}
END_TEST

/* The 5 Record protos of ml-io's test data: features "values" and label
 * "values" = 1.0 .. 5.0, 48 bytes each, as the file holds them. */
static const unsigned char mlio_records[5][48] = {
#define MLIO_HEAD                                                             \
	0x0a, 0x1a, 0x0a, 0x06, 'v', 'a', 'l', 'u', 'e', 's', 0x12, 0x10,     \
		0x12, 0x0e, 0x0a, 0x0c
#define MLIO_MID                                                              \
	0x12, 0x12, 0x0a, 0x06, 'v', 'a', 'l', 'u', 'e', 's', 0x12, 0x08,     \
		0x12, 0x06, 0x0a, 0x04
	{MLIO_HEAD, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	 0x00, 0x00, MLIO_MID, 0x00, 0x00, 0x80, 0x3f},
	{MLIO_HEAD, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	 0x00, 0x00, MLIO_MID, 0x00, 0x00, 0x00, 0x40},
	{MLIO_HEAD, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00,
	 0x00, 0x00, MLIO_MID, 0x00, 0x00, 0x40, 0x40},
	{MLIO_HEAD, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00,
	 0x00, 0x00, MLIO_MID, 0x00, 0x00, 0x80, 0x40},
	{MLIO_HEAD, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	 0x00, 0x00, MLIO_MID, 0x00, 0x00, 0xa0, 0x40},
#undef MLIO_HEAD
#undef MLIO_MID
};

START_TEST(test_mlio_complete_records_are_five_protos)
{
	tu_result res;
	pipemode_stats st;

	read_data_as("mlio_complete_records.pr", _i % NWAYS,
		     rio_modes[_i / NWAYS], RECORDIO, 0, &res, &st);
	expect_eof_with(&res, 5);
	for (size_t i = 0; i < 5; i++) {
		expect_record(&res, i, mlio_records[i], 48);
		ck_assert_uint_eq(res.v[i].offset, 56 * i);
	}
	ck_assert_uint_eq(st.payload_bytes, 5 * 48);
	tu_result_free(&res);
}
END_TEST

/* Each record in 4 parts (8, 10, 1, 29 bytes): joined verbatim they are
 * the complete records, byte for byte, as ml-io reads them. */
START_TEST(test_mlio_split_records_concat_are_the_complete_records)
{
	tu_result res, whole;
	pipemode_stats st;

	read_data_as("mlio_complete_records.pr", _i, "format=recordio",
		     RECORDIO, 0, &whole, &st);
	read_data_as("mlio_split_records.pr", _i, "format=recordio", RECORDIO,
		     0, &res, &st);
	expect_eof_with(&res, 5);
	expect_eof_with(&whole, 5);
	for (size_t i = 0; i < 5; i++) {
		expect_record(&res, i, whole.v[i].data, whole.v[i].len);
		expect_record(&res, i, mlio_records[i], 48);
		ck_assert_uint_eq(res.v[i].offset, 88 * i);
	}
	ck_assert_uint_eq(st.payload_bytes, 5 * 48);
	ck_assert_uint_eq(st.bytes_read, 440);
	tu_result_free(&res);
	tu_result_free(&whole);
}
END_TEST

/* Read the dmlc way the same parts get the magic word back between them:
 * 48 + 3 * 4 = 60 bytes, no longer the protos. */
START_TEST(test_mlio_split_records_dmlc_are_60_bytes)
{
	static const size_t cuts[] = {8, 18, 19};
	tu_result res;
	pipemode_stats st;
	unsigned char want[60];

	read_data_as("mlio_split_records.pr", _i,
		     "format=recordio,recordio_multipart=dmlc", RECORDIO, 0,
		     &res, &st);
	expect_eof_with(&res, 5);
	for (size_t i = 0; i < 5; i++) {
		size_t n = 0, from = 0;

		for (size_t k = 0; k < 3; k++) {
			memcpy(want + n, mlio_records[i] + from,
			       cuts[k] - from);
			n += cuts[k] - from;
			memcpy(want + n, rio_magic, 4);
			n += 4;
			from = cuts[k];
		}
		memcpy(want + n, mlio_records[i] + from, 48 - from);
		n += 48 - from;
		ck_assert_uint_eq(n, 60);
		expect_record(&res, i, want, 60);
		ck_assert_uint_eq(res.v[i].offset, 88 * i);
	}
	ck_assert_uint_eq(st.payload_bytes, 5 * 60);
	tu_result_free(&res);
}
END_TEST

/* Part 13 (1-based; byte 264) is flagged "last" where record 3 should
 * begin: the first 3 records, then ECORRUPT at record 3 and byte 264, the
 * message naming the part as ml-io does ("record #13"). */
START_TEST(test_mlio_corrupted_split_records_fail_at_part_13)
{
	tu_result res;
	pipemode_stats st;
	char where[4200], source[4096];
	int way = _i % NWAYS, mode = _i / NWAYS;

	read_data_as("mlio_corrupted_split_records.pr", way, rio_modes[mode],
		     RECORDIO, 0, &res, &st);
	ck_assert_uint_eq(res.n, 3);
	if (mode == 0)
		for (size_t i = 0; i < 3; i++)
			expect_record(&res, i, mlio_records[i], 48);
	else
		for (size_t i = 0; i < 3; i++)
			ck_assert_uint_eq(res.v[i].len, 60);
	tu_check_error(&res, PIPEMODE_ECORRUPT, 3, 264);
	source_name(source, sizeof(source), "mlio_corrupted_split_records.pr",
		    way);
	snprintf(where, sizeof(where), "%s: recordio: record 3 at byte 264: ",
		 source);
	ck_assert_msg(strncmp(res.errmsg, where, strlen(where)) == 0,
		      "errmsg \"%s\" does not start with \"%s\"", res.errmsg,
		      where);
	ck_assert_msg(strstr(res.errmsg, "part 13 at byte 264") != NULL,
		      "errmsg \"%s\" does not name part 13", res.errmsg);
	ck_assert_uint_eq(st.records, 3);
	tu_result_free(&res);
}
END_TEST

/* SageMaker's RecordIO-protobuf: a 5x5 matrix, one row per record, each 38
 * bytes and 2 bytes of padding. */
START_TEST(test_xgb_train_is_five_rows)
{
	static const unsigned char row[38] = {
		0x0a, 0x13, 0x0a, 0x06, 'v', 'a', 'l', 'u', 'e', 's',
		0x12, 0x09, 0x3a, 0x07, 0x0a, 0x05, 0x01, 0x00, 0x00, 0x00,
		0x00, 0x12, 0x0f, 0x0a, 0x06, 'v', 'a', 'l', 'u', 'e',
		's', 0x12, 0x05, 0x3a, 0x03, 0x0a, 0x01, 0x00,
	};
	static const unsigned char last[38] = {
		0x0a, 0x13, 0x0a, 0x06, 'v', 'a', 'l', 'u', 'e', 's',
		0x12, 0x09, 0x3a, 0x07, 0x0a, 0x05, 0x00, 0x01, 0x00, 0x00,
		0x00, 0x12, 0x0f, 0x0a, 0x06, 'v', 'a', 'l', 'u', 'e',
		's', 0x12, 0x05, 0x3a, 0x03, 0x0a, 0x01, 0x01,
	};
	tu_result res;
	pipemode_stats st;

	read_data_as("xgb_train.pb", _i, "format=recordio", RECORDIO, 0, &res,
		     &st);
	expect_eof_with(&res, 5);
	for (size_t i = 0; i < 4; i++) {
		expect_record(&res, i, row, 38);
		ck_assert_uint_eq(res.v[i].offset, 48 * i);
	}
	expect_record(&res, 4, last, 38);
	ck_assert_uint_eq(st.payload_bytes, 5 * 38);
	tu_result_free(&res);
}
END_TEST

/* One record each, of 19, 40 and 25 bytes: padding of 1, 0 and 3 bytes. */
START_TEST(test_xgb_inline_targets_are_one_record_each)
{
	static const unsigned char t1[] = {
		0x0a, 0x11, 0x0a, 0x06, 'v', 'a', 'l', 'u', 'e', 's',
		0x12, 0x07, 0x3a, 0x05, 0x0a, 0x03, 0x2a, 0x06, 0x09,
	};
	static const unsigned char t2[] = {
		0x0a, 0x26, 0x0a, 0x06, 'v',  'a',  'l',  'u',  'e',  's',
		0x12, 0x1c, 0x1a, 0x1a, 0x0a, 0x18, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x45, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x18, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x22, 0x40,
	};
	static const unsigned char t3[] = {
		0x0a, 0x17, 0x0a, 0x06, 'v',  'a',  'l',  'u',  'e',
		's',  0x12, 0x0d, 0x3a, 0x0b, 0x0a, 0x02, 0x01, 0x01,
		0x12, 0x02, 0x00, 0x05, 0x1a, 0x01, 0x06,
	};
	static const struct {
		const char *name;
		const unsigned char *p;
		size_t len, file_len;
	} want[] = {
		{"xgb_inline_target1.pbr", t1, sizeof(t1), 28},
		{"xgb_inline_target2.pbr", t2, sizeof(t2), 48},
		{"xgb_inline_target3.pbr", t3, sizeof(t3), 36},
	};

	ck_assert_uint_eq(want[0].len, 19);
	ck_assert_uint_eq(want[1].len, 40);
	ck_assert_uint_eq(want[2].len, 25);
	for (size_t f = 0; f < 3; f++) {
		tu_result res;
		pipemode_stats st;

		read_data_as(want[f].name, _i, "format=recordio", RECORDIO, 0,
			     &res, &st);
		expect_eof_with(&res, 1);
		expect_record(&res, 0, want[f].p, want[f].len);
		ck_assert_uint_eq(res.offset, want[f].file_len);
		tu_result_free(&res);
	}
}
END_TEST

/* ================================================================== gzip */

/* compression=gzip and auto; the stream the framer sees is the inflated one,
 * its offsets are counted there. */
static const char *const gzip_options[] = {"compression=gzip",
					   "compression=auto"};

/* The Java writer's gzip file holds the very records of its plain twin. */
START_TEST(test_tfeco_gzip_is_its_plain_twin)
{
	for (size_t k = 0; k < 2; k++) {
		tu_result res, plain;
		pipemode_stats st;

		read_data("tfeco_part-m-00000", _i, NULL, &plain, &st);
		read_data_as("tfeco_zipped_part-m-00000.gz", _i,
			     gzip_options[k], TFRECORD, 213, &res, &st);
		expect_eof_with(&plain, 5);
		expect_eof_with(&res, 5);
		for (size_t i = 0; i < 5; i++)
			expect_record(&res, i, plain.v[i].data,
				      plain.v[i].len);
		ck_assert_uint_eq(st.payload_bytes, 27 + 27 + 27 + 26 + 26);
		ck_assert_uint_eq(st.bytes_read, 148);
		tu_result_free(&res);
		tu_result_free(&plain);
	}
}
END_TEST

/* 100 tf.Examples of 136 bytes (counted from the inflated file by a
 * TFRecord parser of its own), each starting with field 1's tag 0x0a. */
START_TEST(test_penguin_gzip_is_100_examples)
{
	for (size_t k = 0; k < 2; k++) {
		tu_result res;
		pipemode_stats st;

		read_data_as("tfx_penguin_eval.gz", _i, gzip_options[k],
			     TFRECORD, 15200, &res, &st);
		expect_eof_with(&res, 100);
		for (size_t i = 0; i < 100; i++) {
			ck_assert_uint_eq(res.v[i].len, 136);
			ck_assert_uint_eq(res.v[i].data[0], 0x0a);
			ck_assert_uint_eq(res.v[i].offset, 152 * i);
		}
		ck_assert_uint_eq(st.payload_bytes, 13600);
		ck_assert_uint_eq(st.bytes_read, 2434);
		tu_result_free(&res);
	}
}
END_TEST

/* ================================================================== auto */

/* Each file read with format=auto behaves as read with its real format. */
static const struct {
	const char *name;
	const char *real;       /* options naming the format */
	const char *autos[2];   /* options leaving it to the reader */
	enum framing framing;
	uint64_t stream_len;
} auto_files[] = {
#define PLAIN {"format=auto", "format=auto,compression=auto"}
	{"smtfext_100.tfrecords", "format=tfrecord", PLAIN, TFRECORD, 0},
	{"beam_foo.tfrecord", "format=tfrecord", PLAIN, TFRECORD, 0},
	{"beam_foo_bar.tfrecord", "format=tfrecord", PLAIN, TFRECORD, 0},
	{"magenta_tfrecord_iterator_test.tfrecord", "format=tfrecord", PLAIN,
	 TFRECORD, 0},
	{"torchdata_example.tfrecord", "format=tfrecord", PLAIN, TFRECORD, 0},
	{"lingvo_en_fr.tfrecord", "format=tfrecord", PLAIN, TFRECORD, 0},
	{"tfeco_part-m-00000", "format=tfrecord", PLAIN, TFRECORD, 0},
	{"dmlc_sample.rec", "format=recordio", PLAIN, RECORDIO, 0},
	{"mlio_complete_records.pr", "format=recordio", PLAIN, RECORDIO, 0},
	{"mlio_split_records.pr", "format=recordio", PLAIN, RECORDIO, 0},
	{"mlio_corrupted_split_records.pr", "format=recordio", PLAIN, RECORDIO,
	 0},
	{"xgb_train.pb", "format=recordio", PLAIN, RECORDIO, 0},
	{"xgb_inline_target1.pbr", "format=recordio", PLAIN, RECORDIO, 0},
	{"xgb_inline_target2.pbr", "format=recordio", PLAIN, RECORDIO, 0},
	{"xgb_inline_target3.pbr", "format=recordio", PLAIN, RECORDIO, 0},
	{"tfeco_zipped_part-m-00000.gz", "format=tfrecord,compression=gzip",
	 {"format=auto,compression=auto", "format=auto,compression=gzip"},
	 TFRECORD, 213},
	{"tfx_penguin_eval.gz", "format=tfrecord,compression=gzip",
	 {"format=auto,compression=auto", "format=auto,compression=gzip"},
	 TFRECORD, 15200},
#undef PLAIN
};
#define NAUTO ((int)(sizeof(auto_files) / sizeof(auto_files[0])))

/* _i = file * NWAYS + way */
START_TEST(test_format_auto_picks_the_real_format)
{
	int f = _i / NWAYS, way = _i % NWAYS;

	for (size_t k = 0; k < 2; k++) {
		tu_result res, real;
		pipemode_stats st;

		read_data_as(auto_files[f].name, way, auto_files[f].real,
			     auto_files[f].framing, auto_files[f].stream_len,
			     &real, &st);
		read_data_as(auto_files[f].name, way, auto_files[f].autos[k],
			     auto_files[f].framing, auto_files[f].stream_len,
			     &res, &st);
		ck_assert_msg(res.rc == real.rc, "%s (%s): rc %d (%s), "
			      "with %s rc %d",
			      auto_files[f].name, auto_files[f].autos[k],
			      res.rc, res.errmsg, auto_files[f].real, real.rc);
		ck_assert_msg(res.n == real.n, "%s (%s): %zu records, not %zu",
			      auto_files[f].name, auto_files[f].autos[k],
			      res.n, real.n);
		ck_assert_uint_gt(real.n, 0);
		for (size_t i = 0; i < real.n; i++)
			expect_record(&res, i, real.v[i].data, real.v[i].len);
		ck_assert_uint_eq(res.index, real.index);
		ck_assert_uint_eq(res.offset, real.offset);
		tu_result_free(&res);
		tu_result_free(&real);
	}
}
END_TEST

/* A raw protobuf is neither: format=auto cannot tell, and says so. */
START_TEST(test_feature_stats_format_auto_is_eformat)
{
	static const char *const opts[] = {"format=auto",
					   "format=auto,compression=auto"};

	for (size_t k = 0; k < 2; k++) {
		tu_result res;
		pipemode_stats st;

		read_data_as("tfx_FeatureStats_eval.pb", _i, opts[k], TFRECORD,
			     0, &res, &st);
		ck_assert_uint_eq(res.n, 0);
		tu_check_error(&res, PIPEMODE_EFORMAT, 0, 0);
		ck_assert_uint_eq(st.records, 0);
		tu_result_free(&res);
	}
}
END_TEST

/* Nor does format=auto look through gzip unless asked to inflate. */
START_TEST(test_gzip_file_format_auto_uncompressed_is_eformat)
{
	for (size_t f = 0; f < sizeof(gzip_files) / sizeof(gzip_files[0]);
	     f++) {
		tu_result res;
		pipemode_stats st;

		read_data_as(gzip_files[f], _i, "format=auto", TFRECORD, 0,
			     &res, &st);
		ck_assert_uint_eq(res.n, 0);
		tu_check_error(&res, PIPEMODE_EFORMAT, 0, 0);
		tu_result_free(&res);
	}
}
END_TEST

/* ================================================================== main */

static Suite *
data_suite(void)
{
	Suite *s = suite_create("data");
	TCase *tc;

	tc = tcase_create("tfrecord");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_smtfext_100_is_hello_world_0_to_99, 0,
			    NWAYS);
	tcase_add_loop_test(tc, test_beam_foo_is_foo, 0, NWAYS);
	tcase_add_loop_test(tc, test_beam_foo_bar_is_foo_bar, 0, NWAYS);
	tcase_add_loop_test(tc, test_magenta_is_hello_world_12345_success, 0,
			    NWAYS);
	tcase_add_loop_test(tc, test_torchdata_is_four_examples, 0, NWAYS);
	tcase_add_loop_test(tc, test_lingvo_is_two_sentence_pairs, 0, NWAYS);
	tcase_add_loop_test(tc, test_tfeco_is_five_examples, 0, NWAYS);
	suite_add_tcase(s, tc);

	tc = tcase_create("negative");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_feature_stats_is_ecorrupt_at_byte_0, 0,
			    NWAYS);
	tcase_add_loop_test(tc, test_feature_stats_length_crc_beats_any_limit,
			    0, 2);
	tcase_add_loop_test(tc, test_gzip_tfrecord_read_raw_is_ecorrupt_at_byte_0,
			    0, NWAYS);
	tcase_add_loop_test(tc,
			    test_recordio_files_read_as_tfrecord_are_ecorrupt,
			    0, NWAYS);
	suite_add_tcase(s, tc);

	tc = tcase_create("recordio");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_dmlc_sample_is_ten_image_records, 0,
			    2 * NWAYS);
	tcase_add_loop_test(tc, test_mlio_complete_records_are_five_protos, 0,
			    2 * NWAYS);
	tcase_add_loop_test(tc,
			    test_mlio_split_records_concat_are_the_complete_records,
			    0, NWAYS);
	tcase_add_loop_test(tc, test_mlio_split_records_dmlc_are_60_bytes, 0,
			    NWAYS);
	tcase_add_loop_test(tc, test_mlio_corrupted_split_records_fail_at_part_13,
			    0, 2 * NWAYS);
	tcase_add_loop_test(tc, test_xgb_train_is_five_rows, 0, NWAYS);
	tcase_add_loop_test(tc, test_xgb_inline_targets_are_one_record_each, 0,
			    NWAYS);
	suite_add_tcase(s, tc);

	tc = tcase_create("gzip");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_tfeco_gzip_is_its_plain_twin, 0, NWAYS);
	tcase_add_loop_test(tc, test_penguin_gzip_is_100_examples, 0, NWAYS);
	suite_add_tcase(s, tc);

	tc = tcase_create("auto");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_format_auto_picks_the_real_format, 0,
			    NAUTO * NWAYS);
	tcase_add_loop_test(tc, test_feature_stats_format_auto_is_eformat, 0,
			    NWAYS);
	tcase_add_loop_test(tc, test_gzip_file_format_auto_uncompressed_is_eformat,
			    0, NWAYS);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(data_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
