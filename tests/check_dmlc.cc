// SPDX-License-Identifier: Apache-2.0
/*
 * Conformance with MXNet's own RecordIO: dmlc-core's RecordIOWriter and
 * RecordIOReader (Debian libdmlc-dev), both ways.
 *
 *  - records written by dmlc::RecordIOWriter read back byte-identical with
 *    libpipemode in recordio_multipart=dmlc mode, at chunks of 1, 7, 4096
 *    bytes and whole (the Check iteration number indexes kChunks);
 *  - records written by libpipemode's writer in dmlc mode are the very
 *    bytes dmlc::RecordIOWriter writes, and dmlc::RecordIOReader reads them
 *    back;
 *  - the files of tests/data read the same with either.
 *
 * The records are generated deterministically; many hold the magic word at
 * 4-byte-aligned offsets, which is where dmlc-core cuts a record into
 * parts, and at unaligned ones, where it does not.
 */
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dmlc/memory_io.h>
#include <dmlc/recordio.h>
/* last: check.h defines a macro named fail, which <ios> uses */
#include <check.h>

#include "pipemode.h"

#ifndef PM_TEST_DATA_DIR
#error "PM_TEST_DATA_DIR must name the tests/data directory"
#endif

namespace {

const size_t kWhole = SIZE_MAX;
const size_t kChunks[] = {1, 7, 4096, kWhole};
const int kNChunks = 4;

const char kMagic[4] = {'\x0a', '\x23', '\xd7', '\xce'};
const char *const kDmlcMode = "format=recordio,recordio_multipart=dmlc";

// splitmix64: the same bytes on every platform
uint64_t
next_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

std::string
random_bytes(size_t n, uint64_t seed)
{
	std::string s(n, '\0');
	uint64_t st = seed, v = 0;

	for (size_t i = 0; i < n; i++) {
		if (i % 8 == 0)
			v = next_rand(&st);
		s[i] = static_cast<char>(v >> (8 * (i % 8)));
	}
	return s;
}

void
plant(std::string *s, size_t at)
{
	if (at + 4 <= s->size())
		s->replace(at, 4, kMagic, 4);
}

// How many 4-byte-aligned magic words: dmlc-core cuts there.
size_t
aligned_magics(const std::string &s)
{
	size_t n = 0;

	for (size_t i = 0; i + 4 <= s.size(); i += 4)
		if (std::memcmp(s.data() + i, kMagic, 4) == 0)
			n++;
	return n;
}

// The record without its aligned magic words: what joining dmlc-core's
// parts verbatim (recordio_multipart=concat) gives.
std::string
without_aligned_magics(const std::string &s)
{
	std::string out;
	size_t i = 0;

	for (; i + 4 <= s.size(); i += 4)
		if (std::memcmp(s.data() + i, kMagic, 4) != 0)
			out.append(s, i, 4);
	out.append(s, i, std::string::npos);
	return out;
}

// The test records: every size 0..300 with the magic word planted at
// aligned offsets 0, 4, 8, the middle, the end and unaligned ones in turn;
// records of nothing but magic words (and a few bytes more); some of 100 KiB.
const std::vector<std::string> &
test_records()
{
	static std::vector<std::string> v;

	if (!v.empty())
		return v;
	for (size_t n = 0; n <= 300; n++) {
		std::string s = random_bytes(n, 1000 + n);

		switch (n % 8) {
		case 0: /* none planted */
			break;
		case 1:
			plant(&s, 0);
			break;
		case 2:
			plant(&s, 4);
			plant(&s, 8);
			break;
		case 3:
			plant(&s, (n / 2) & ~static_cast<size_t>(3));
			break;
		case 4:
			if (n >= 4)
				plant(&s, (n - 4) & ~static_cast<size_t>(3));
			break;
		case 5:
			plant(&s, 1);
			plant(&s, n / 2 | 2);
			break;
		case 6:
			plant(&s, 3);
			plant(&s, 8);
			if (n >= 5)
				plant(&s, n - 5);
			break;
		case 7:
			plant(&s, 0);
			plant(&s, 5);
			plant(&s, 12);
			if (n >= 4)
				plant(&s, n - 4);
			break;
		}
		v.push_back(s);
	}
	for (size_t words : {1, 2, 3, 5, 64}) {
		std::string s;

		for (size_t k = 0; k < words; k++)
			s.append(kMagic, 4);
		v.push_back(s);
		for (size_t extra = 1; extra <= 3; extra++)
			v.push_back(s + std::string(extra, 'x'));
		v.push_back(std::string(2, 'y') + s);
	}
	for (size_t k = 0; k < 4; k++) {
		std::string s = random_bytes(100 * 1024 + k, 5000 + k);

		if (k >= 1)
			for (size_t at = 0; at < s.size(); at += 4096 + 4 * k)
				plant(&s, at);
		if (k >= 2)
			for (size_t at = 1; at < s.size(); at += 999)
				plant(&s, at);
		if (k == 3)
			plant(&s, s.size() - 4 - 3);
		v.push_back(s);
	}
	return v;
}

std::string
dmlc_write(const std::vector<std::string> &recs, size_t *except)
{
	std::string out;
	dmlc::MemoryStringStream ms(&out);
	dmlc::RecordIOWriter w(&ms);

	for (const std::string &r : recs)
		w.WriteRecord(r);
	if (except != NULL)
		*except = w.except_counter();
	return out;
}

std::vector<std::string>
dmlc_read(std::string bytes)
{
	std::vector<std::string> recs;
	dmlc::MemoryStringStream ms(&bytes);
	dmlc::RecordIOReader r(&ms);
	std::string rec;

	while (r.NextRecord(&rec))
		recs.push_back(rec);
	return recs;
}

std::string
read_file(const std::string &path)
{
	std::string s;
	FILE *f = std::fopen(path.c_str(), "rb");
	char buf[65536];
	size_t n;

	ck_assert_msg(f != NULL, "%s: %s", path.c_str(), std::strerror(errno));
	while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
		s.append(buf, n);
	ck_assert(!std::ferror(f));
	std::fclose(f);
	return s;
}

std::string
data_path(const char *name)
{
	return std::string(PM_TEST_DATA_DIR) + "/" + name;
}

struct MemSource {
	const std::string *bytes;
	size_t pos;
	size_t chunk;
};

extern "C" ssize_t
mem_read(void *ctx, void *buf, size_t len)
{
	MemSource *s = static_cast<MemSource *>(ctx);
	size_t n = s->bytes->size() - s->pos;

	if (n > len)
		n = len;
	if (n > s->chunk)
		n = s->chunk;
	std::memcpy(buf, s->bytes->data() + s->pos, n);
	s->pos += n;
	return static_cast<ssize_t>(n);
}

struct PmResult {
	std::vector<std::string> recs;
	std::vector<uint64_t> offsets;
	int rc;
	std::string errmsg;
};

// Read every record of an open reader; closes it.
PmResult
pm_drain(pipemode_reader *r)
{
	PmResult res;

	for (;;) {
		const void *data;
		size_t len;
		int rc = pipemode_next(r, &data, &len);

		if (rc != PIPEMODE_OK) {
			res.rc = rc;
			res.errmsg = pipemode_errmsg(r);
			break;
		}
		res.recs.emplace_back(static_cast<const char *>(data), len);
		res.offsets.push_back(pipemode_byte_offset(r));
	}
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
	return res;
}

PmResult
pm_read_mem(const std::string &bytes, size_t chunk, const char *options)
{
	MemSource src = {&bytes, 0, chunk};
	pipemode_reader *r = NULL;
	int rc = pipemode_open_callback(&r, mem_read, &src, options);

	ck_assert_msg(rc == PIPEMODE_OK, "open_callback(\"%s\"): %d %s",
		      options, rc, pipemode_errmsg(r));
	return pm_drain(r);
}

PmResult
pm_read_path(const std::string &path, const char *options)
{
	pipemode_reader *r = NULL;
	int rc = pipemode_open_path(&r, path.c_str(), options);

	ck_assert_msg(rc == PIPEMODE_OK, "open_path(%s, \"%s\"): %d %s",
		      path.c_str(), options, rc, pipemode_errmsg(r));
	return pm_drain(r);
}

void
expect_same(const std::vector<std::string> &got,
	    const std::vector<std::string> &want, const char *what)
{
	ck_assert_msg(got.size() == want.size(), "%s: %zu records, not %zu",
		      what, got.size(), want.size());
	for (size_t i = 0; i < want.size(); i++) {
		ck_assert_msg(got[i].size() == want[i].size(),
			      "%s: record %zu: %zu bytes, not %zu", what, i,
			      got[i].size(), want[i].size());
		ck_assert_msg(got[i] == want[i],
			      "%s: record %zu (%zu bytes) differs", what, i,
			      want[i].size());
	}
}

// A fresh temporary file path (the file exists, empty).
std::string
temp_path(const char *tag)
{
	const char *dir = std::getenv("TMPDIR");
	std::string t = std::string(dir != NULL && *dir ? dir : "/tmp") +
			"/pipemode-dmlc-" + tag + "-XXXXXX";
	std::vector<char> buf(t.begin(), t.end());
	int fd;

	buf.push_back('\0');
	fd = mkstemp(buf.data());
	ck_assert_msg(fd >= 0, "mkstemp: %s", std::strerror(errno));
	close(fd);
	return std::string(buf.data());
}

// Write recs with libpipemode's writer on a descriptor, return the bytes.
std::string
pm_write(const std::vector<std::string> &recs, const char *options)
{
	std::string path = temp_path("w");
	int fd = open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
	pipemode_writer *w = NULL;
	int rc;
	std::string bytes;

	ck_assert_msg(fd >= 0, "%s: %s", path.c_str(), std::strerror(errno));
	rc = pipemode_writer_open_fd(&w, fd, options);
	ck_assert_msg(rc == PIPEMODE_OK, "writer_open_fd(\"%s\"): %d %s",
		      options, rc, pipemode_writer_errmsg(w));
	for (size_t i = 0; i < recs.size(); i++) {
		rc = pipemode_write(w, recs[i].data(), recs[i].size());
		ck_assert_msg(rc == PIPEMODE_OK, "write record %zu: %d %s", i,
			      rc, pipemode_writer_errmsg(w));
	}
	rc = pipemode_writer_flush(w);
	ck_assert_msg(rc == PIPEMODE_OK, "flush: %d %s", rc,
		      pipemode_writer_errmsg(w));
	ck_assert_int_eq(pipemode_writer_close(w), PIPEMODE_OK);
	ck_assert_int_eq(close(fd), 0);
	bytes = read_file(path);
	unlink(path.c_str());
	return bytes;
}

} // namespace

/* ======================================================= dmlc -> pipemode */

/* The generator really exercises dmlc-core's multipart path. */
START_TEST(test_test_records_make_dmlc_cut_records)
{
	const std::vector<std::string> &recs = test_records();
	size_t except = 0, expect = 0;
	std::string bytes = dmlc_write(recs, &except);

	for (const std::string &r : recs)
		expect += aligned_magics(r);
	ck_assert_uint_gt(except, 100);
	ck_assert_uint_eq(except, expect);
	/* and dmlc reads its own output back */
	expect_same(dmlc_read(bytes), recs, "dmlc round trip");
}
END_TEST

START_TEST(test_dmlc_written_records_read_identical_in_dmlc_mode)
{
	const std::vector<std::string> &recs = test_records();
	std::string bytes = dmlc_write(recs, NULL);
	PmResult res = pm_read_mem(bytes, kChunks[_i], kDmlcMode);

	ck_assert_msg(res.rc == PIPEMODE_EOF, "rc %d: %s", res.rc,
		      res.errmsg.c_str());
	expect_same(res.recs, recs, "libpipemode dmlc mode");
}
END_TEST

/* Joined verbatim, the parts are the record without the aligned magic
 * words dmlc-core cut at. */
START_TEST(test_dmlc_written_records_in_concat_mode_lack_the_cut_magics)
{
	const std::vector<std::string> &recs = test_records();
	std::string bytes = dmlc_write(recs, NULL);
	std::vector<std::string> want;
	PmResult res = pm_read_mem(bytes, kChunks[_i], "format=recordio");

	for (const std::string &r : recs)
		want.push_back(without_aligned_magics(r));
	ck_assert_msg(res.rc == PIPEMODE_EOF, "rc %d: %s", res.rc,
		      res.errmsg.c_str());
	expect_same(res.recs, want, "libpipemode concat mode");
}
END_TEST

/* Record offsets: where dmlc's writer started each record. */
START_TEST(test_dmlc_written_record_offsets)
{
	const std::vector<std::string> &recs = test_records();
	std::string bytes;
	dmlc::MemoryStringStream ms(&bytes);
	dmlc::RecordIOWriter w(&ms);
	std::vector<uint64_t> starts;
	PmResult res;

	for (const std::string &r : recs) {
		starts.push_back(bytes.size());
		w.WriteRecord(r);
	}
	res = pm_read_mem(bytes, kChunks[_i], kDmlcMode);
	ck_assert_int_eq(res.rc, PIPEMODE_EOF);
	ck_assert_uint_eq(res.offsets.size(), starts.size());
	for (size_t i = 0; i < starts.size(); i++)
		ck_assert_msg(res.offsets[i] == starts[i],
			      "record %zu: offset %llu, not %llu", i,
			      (unsigned long long)res.offsets[i],
			      (unsigned long long)starts[i]);
}
END_TEST

/* ======================================================= pipemode -> dmlc */

/* libpipemode's dmlc mode writes exactly what dmlc-core writes. */
START_TEST(test_pipemode_dmlc_writer_bytes_equal_dmlc_writer_bytes)
{
	const std::vector<std::string> &recs = test_records();
	std::string want = dmlc_write(recs, NULL);
	std::string got = pm_write(recs, kDmlcMode);

	ck_assert_uint_eq(got.size(), want.size());
	if (got != want) {
		size_t i = 0;

		while (got[i] == want[i])
			i++;
		ck_abort_msg("written bytes differ from dmlc-core's from byte "
			     "%zu on",
			     i);
	}
}
END_TEST

START_TEST(test_pipemode_dmlc_writer_output_reads_back_with_dmlc)
{
	const std::vector<std::string> &recs = test_records();
	std::string bytes = pm_write(recs, kDmlcMode);

	expect_same(dmlc_read(bytes), recs, "dmlc reading libpipemode");
	/* and with libpipemode itself */
	PmResult res = pm_read_mem(bytes, 4096, kDmlcMode);
	ck_assert_int_eq(res.rc, PIPEMODE_EOF);
	expect_same(res.recs, recs, "libpipemode reading libpipemode");
}
END_TEST

/* In concat mode every record under 2^29 bytes is one whole part, which
 * dmlc-core reads back as it is, magic words and all. */
START_TEST(test_pipemode_concat_writer_output_reads_back_with_dmlc)
{
	const std::vector<std::string> &recs = test_records();
	std::string bytes = pm_write(recs, "format=recordio");
	size_t framed = 0;

	for (const std::string &r : recs)
		framed += 8 + r.size() + (4 - r.size() % 4) % 4;
	ck_assert_uint_eq(bytes.size(), framed);
	expect_same(dmlc_read(bytes), recs, "dmlc reading concat output");
	PmResult res = pm_read_mem(bytes, 4096, "format=recordio");
	ck_assert_int_eq(res.rc, PIPEMODE_EOF);
	expect_same(res.recs, recs, "libpipemode reading concat output");
}
END_TEST

/* =========================================================== tests/data */

static const char *const read_modes[] = {"format=recordio", kDmlcMode};

/* MXNet's sample file, single-part records: the same in either mode, by
 * path and through the callback. */
START_TEST(test_dmlc_sample_reads_the_same_with_both)
{
	std::string path = data_path("dmlc_sample.rec");
	std::string bytes = read_file(path);
	std::vector<std::string> want = dmlc_read(bytes);

	ck_assert_uint_eq(want.size(), 10);
	for (const char *mode : read_modes) {
		PmResult res = pm_read_path(path, mode);

		ck_assert_int_eq(res.rc, PIPEMODE_EOF);
		expect_same(res.recs, want, "dmlc_sample.rec by path");
		res = pm_read_mem(bytes, kChunks[_i], mode);
		ck_assert_int_eq(res.rc, PIPEMODE_EOF);
		expect_same(res.recs, want, "dmlc_sample.rec by callback");
	}
}
END_TEST

/* ml-io's split records (parts not cut at magic words): dmlc-core puts the
 * magic word back between parts, and so does dmlc mode. */
START_TEST(test_mlio_split_records_dmlc_mode_reads_as_dmlc_reads)
{
	std::string path = data_path("mlio_split_records.pr");
	std::string bytes = read_file(path);
	std::vector<std::string> want = dmlc_read(bytes);
	PmResult res;

	ck_assert_uint_eq(want.size(), 5);
	for (const std::string &r : want)
		ck_assert_uint_eq(r.size(), 60);
	res = pm_read_path(path, kDmlcMode);
	ck_assert_int_eq(res.rc, PIPEMODE_EOF);
	expect_same(res.recs, want, "mlio_split_records.pr by path");
	res = pm_read_mem(bytes, kChunks[_i], kDmlcMode);
	ck_assert_int_eq(res.rc, PIPEMODE_EOF);
	expect_same(res.recs, want, "mlio_split_records.pr by callback");
}
END_TEST

/* ================================================================== main */

static Suite *
dmlc_suite(void)
{
	Suite *s = suite_create("dmlc");
	TCase *tc;

	tc = tcase_create("dmlc_to_pipemode");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_test_records_make_dmlc_cut_records);
	tcase_add_loop_test(tc,
			    test_dmlc_written_records_read_identical_in_dmlc_mode,
			    0, kNChunks);
	tcase_add_loop_test(
		tc, test_dmlc_written_records_in_concat_mode_lack_the_cut_magics,
		0, kNChunks);
	tcase_add_loop_test(tc, test_dmlc_written_record_offsets, 0, kNChunks);
	suite_add_tcase(s, tc);

	tc = tcase_create("pipemode_to_dmlc");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc,
		       test_pipemode_dmlc_writer_bytes_equal_dmlc_writer_bytes);
	tcase_add_test(tc, test_pipemode_dmlc_writer_output_reads_back_with_dmlc);
	tcase_add_test(tc,
		       test_pipemode_concat_writer_output_reads_back_with_dmlc);
	suite_add_tcase(s, tc);

	tc = tcase_create("data");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_dmlc_sample_reads_the_same_with_both, 0,
			    kNChunks);
	tcase_add_loop_test(tc,
			    test_mlio_split_records_dmlc_mode_reads_as_dmlc_reads,
			    0, kNChunks);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(dmlc_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
