/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of lib/crc32c.c: every implementation the CPU has (portable,
 * hardware, the dispatcher and the public entry point) against published
 * vectors, against a bit-at-a-time reference written here, and against each
 * other at every length and alignment where the fast paths change gear.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#ifndef PM_TEST_DATA_DIR
#error "PM_TEST_DATA_DIR must name the tests/data directory"
#endif

#define VECTORS_PATH PM_TEST_DATA_DIR "/crc32c_vectors.tsv"

/* Fewer rows than this means the file was cut short or misread, and a test
 * that checked nothing must not pass. */
#define MIN_VECTORS 12

/* The hardware code switches strategy at 3 lanes of 256 and of 8192 bytes. */
#define SHORT_BLOCK (3 * 256)
#define LONG_BLOCK (3 * 8192)
#define BIG_LEN ((size_t)1 << 20)

static SRunner *runner;

/* ---------------------------------------------------------------- helpers */

/* splitmix64: deterministic, so a failure reproduces exactly. */
static uint64_t
rng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static unsigned char *
random_buffer(size_t len, uint64_t seed)
{
	unsigned char *buf = malloc(len ? len : 1);
	size_t i;

	ck_assert_ptr_ne(buf, NULL);
	for (i = 0; i < len; i++)
		buf[i] = (unsigned char)(rng_next(&seed) >> 56);
	return buf;
}

/* The definition itself, one bit at a time and without any table, so that
 * it shares no possible mistake with the code under test. */
static uint32_t
crc32c_bitwise(uint32_t crc, const unsigned char *p, size_t len)
{
	int k;

	crc = ~crc;
	while (len-- > 0) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1)));
	}
	return ~crc;
}

struct impl {
	const char *name;
	pm_crc32c_fn fn;
};

/* Every implementation callable on this CPU; returns how many. */
static size_t
all_impls(struct impl out[4])
{
	size_t n = 0;

	out[n].name = "pm_crc32c_sw";
	out[n++].fn = pm_crc32c_sw;
	if (pm_crc32c_hw() != NULL) {
		out[n].name = "pm_crc32c_hw()";
		out[n++].fn = pm_crc32c_hw();
	}
	out[n].name = "pm_crc32c";
	out[n++].fn = pm_crc32c;
	out[n].name = "pipemode_crc32c";
	out[n++].fn = pipemode_crc32c;
	return n;
}

static int
hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode hex into a new buffer; *len gets its size.  NULL on bad hex. */
static unsigned char *
hex_decode(const char *hex, size_t *len)
{
	size_t n = strlen(hex), i;
	unsigned char *out;

	if (n % 2 != 0)
		return NULL;
	out = malloc(n / 2 + 1);
	if (out == NULL)
		return NULL;
	for (i = 0; i < n / 2; i++) {
		int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			free(out);
			return NULL;
		}
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	*len = n / 2;
	return out;
}

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t
le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* Walk a whole TFRecord file: every length CRC and payload CRC must hold,
 * and the records must end exactly at the end of the file. */
static void
check_tfrecord_file(pm_crc32c_fn fn, const char *impl, const char *id,
		    const unsigned char *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		uint64_t n;

		ck_assert_msg(len - off >= 12, "%s: %s: header cut at %zu",
			      impl, id, off);
		n = le64(buf + off);
		ck_assert_msg(pm_crc32c_mask(fn(0, buf + off, 8)) ==
				      le32(buf + off + 8),
			      "%s: %s: length crc of record at %zu", impl, id,
			      off);
		ck_assert_msg(n <= len - off - 12 && len - off - 12 - n >= 4,
			      "%s: %s: payload cut at %zu", impl, id, off);
		ck_assert_msg(pm_crc32c_mask(fn(0, buf + off + 12, n)) ==
				      le32(buf + off + 12 + n),
			      "%s: %s: data crc of record at %zu", impl, id,
			      off);
		off += 12 + n + 4;
	}
}

/*
 * Check fn against every row of the vectors file; fails when the file is
 * missing or holds fewer than MIN_VECTORS usable rows.  Columns: id,
 * input_hex, input_description, kind, expected_hex, origin.
 */
static void
check_vectors(pm_crc32c_fn fn, const char *impl)
{
	FILE *f = fopen(VECTORS_PATH, "r");
	char *line = NULL;
	size_t cap = 0;
	int checked = 0, lineno = 0;

	ck_assert_msg(f != NULL, "cannot open %s", VECTORS_PATH);
	while (getline(&line, &cap, f) != -1) {
		char *col[6];
		char *s = line;
		int ncol = 0;
		unsigned char *in;
		size_t inlen = 0;

		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (lineno == 1 || line[0] == '\0')
			continue; /* the header row */
		/* strtok would merge the empty input column of "empty". */
		while (ncol < 6) {
			col[ncol++] = s;
			s = strchr(s, '\t');
			if (s == NULL)
				break;
			*s++ = '\0';
		}
		ck_assert_msg(ncol == 6, "line %d: %d columns", lineno, ncol);
		in = hex_decode(col[1], &inlen);
		ck_assert_msg(in != NULL, "line %d: bad input hex", lineno);

		if (strcmp(col[3], "tfrecord_file") == 0) {
			check_tfrecord_file(fn, impl, col[0], in, inlen);
		} else {
			uint32_t want = (uint32_t)strtoul(col[4], NULL, 16);
			uint32_t got = fn(0, in, inlen);

			if (strcmp(col[3], "masked_crc32c") == 0)
				got = pm_crc32c_mask(got);
			else
				ck_assert_msg(strcmp(col[3], "crc32c") == 0,
					      "line %d: unknown kind %s",
					      lineno, col[3]);
			ck_assert_msg(got == want,
				      "%s: vector %s (%s): got %08x, want %08x",
				      impl, col[0], col[3], (unsigned)got,
				      (unsigned)want);
		}
		free(in);
		checked++;
	}
	free(line);
	fclose(f);
	ck_assert_msg(checked >= MIN_VECTORS,
		      "only %d vectors checked in %s (want >= %d)", checked,
		      VECTORS_PATH, MIN_VECTORS);
}

/* hw(crc, buf + align, len) == sw(...) for every alignment 0..15. */
static void
check_hw_matches_sw_at(const unsigned char *buf, size_t len, uint32_t crc)
{
	pm_crc32c_fn hw = pm_crc32c_hw();
	size_t align;

	if (hw == NULL)
		return;
	for (align = 0; align < 16; align++) {
		uint32_t want = pm_crc32c_sw(crc, buf + align, len);
		uint32_t got = hw(crc, buf + align, len);

		ck_assert_msg(got == want,
			      "len %zu align %zu crc %08x: hw %08x, sw %08x",
			      len, align, (unsigned)crc, (unsigned)got,
			      (unsigned)want);
	}
}

/* Each implementation by name, in the order pm_crc32c prefers them; the
 * folding ones are exercised here at every length, unlike through the
 * dispatcher, which only picks the best one the CPU has. */
static const char *const named_impls[] = {
	"avx512-vpclmul", "avx2-vpclmul", "sse4.2", "armv8-crc",
};
#define N_NAMED (sizeof(named_impls) / sizeof(named_impls[0]))

/* Those that fold with carry-less multiplication (x86-64 only). */
static const char *const folding_impls[] = { "avx512-vpclmul",
					     "avx2-vpclmul" };
#define N_FOLDING (sizeof(folding_impls) / sizeof(folding_impls[0]))

/* The implementation called name, or NULL after saying that its tests were
 * skipped: a CPU (or valgrind, which hides AVX-512) without it. */
static pm_crc32c_fn
named_or_skip(const char *name, const char *test)
{
	pm_crc32c_fn fn = pm_crc32c_impl_named(name);

	if (fn == NULL) {
		printf("check_crc32c: %s: %s skipped, not on this CPU/build\n",
		       test, name);
		fflush(stdout);
	}
	return fn;
}

/*
 * fn over the same len bytes at every offset 0..63 of a buffer (copied
 * there), with several initial CRCs, against pm_crc32c_sw computed once
 * per initial CRC (pm_crc32c_sw is itself checked against the bitwise
 * definition above).  buf has room for len + 64 bytes.
 */
static void
check_every_alignment(pm_crc32c_fn fn, const char *name,
		      const unsigned char *src, unsigned char *buf, size_t len)
{
	static const uint32_t crcs[] = { 0, 0xffffffffu, 0x9e3779b9u };
	uint32_t want[3];
	size_t align, k;

	for (k = 0; k < 3; k++)
		want[k] = pm_crc32c_sw(crcs[k], src, len);
	for (align = 0; align < 64; align++) {
		memcpy(buf + align, src, len);
		for (k = 0; k < 3; k++) {
			uint32_t got = fn(crcs[k], buf + align, len);

			ck_assert_msg(got == want[k],
				      "%s: len %zu align %zu crc %08x: got "
				      "%08x, want %08x",
				      name, len, align, (unsigned)crcs[k],
				      (unsigned)got, (unsigned)want[k]);
		}
	}
}

/* ---------------------------------------------------------------- vectors */

START_TEST(test_vectors_match_sw)
{
	check_vectors(pm_crc32c_sw, "pm_crc32c_sw");
}
END_TEST

START_TEST(test_vectors_match_hw)
{
	pm_crc32c_fn hw = pm_crc32c_hw();

	/* Still read the file: a missing file must fail on every CPU. */
	check_vectors(hw != NULL ? hw : pm_crc32c_sw,
		      hw != NULL ? "pm_crc32c_hw()" : "pm_crc32c_sw (no hw)");
}
END_TEST

START_TEST(test_vectors_match_dispatch)
{
	check_vectors(pm_crc32c, "pm_crc32c");
}
END_TEST

START_TEST(test_vectors_match_public_api)
{
	check_vectors(pipemode_crc32c, "pipemode_crc32c");
}
END_TEST

START_TEST(test_check_value_of_123456789)
{
	struct impl impls[4];
	size_t n = all_impls(impls), i;

	for (i = 0; i < n; i++)
		ck_assert_msg(impls[i].fn(0, "123456789", 9) == 0xe3069283u,
			      "%s", impls[i].name);
}
END_TEST

START_TEST(test_empty_input_returns_crc_and_accepts_null)
{
	static const uint32_t crcs[] = { 0, 1, 0xe3069283u, 0xffffffffu };
	struct impl impls[4];
	size_t n = all_impls(impls), i, k;

	for (i = 0; i < n; i++)
		for (k = 0; k < sizeof(crcs) / sizeof(crcs[0]); k++)
			ck_assert_msg(impls[i].fn(crcs[k], NULL, 0) == crcs[k],
				      "%s: crc %08x", impls[i].name,
				      (unsigned)crcs[k]);
}
END_TEST

/* ------------------------------------------------------ cross-checks */

START_TEST(test_sw_matches_bitwise_reference)
{
	unsigned char *buf = random_buffer(1024 + 16, 1);
	size_t len, align;

	for (len = 0; len <= 1024; len++)
		for (align = 0; align < 16; align += (len < 64 ? 1 : 5)) {
			uint32_t crc = (uint32_t)(len * 0x9e3779b9u);

			ck_assert_msg(pm_crc32c_sw(crc, buf + align, len) ==
					      crc32c_bitwise(crc, buf + align,
							     len),
				      "len %zu align %zu", len, align);
		}
	free(buf);
}
END_TEST

START_TEST(test_hw_matches_sw_for_lengths_0_to_1024)
{
	unsigned char *buf = random_buffer(1024 + 16, 2);
	size_t len;

	for (len = 0; len <= 1024; len++) {
		check_hw_matches_sw_at(buf, len, 0);
		check_hw_matches_sw_at(buf, len, (uint32_t)len * 2654435761u);
	}
	free(buf);
}
END_TEST

START_TEST(test_hw_matches_sw_around_lane_thresholds)
{
	static const size_t bases[] = {
		SHORT_BLOCK, 2 * SHORT_BLOCK, LONG_BLOCK,
		LONG_BLOCK + SHORT_BLOCK, 2 * LONG_BLOCK,
		2 * LONG_BLOCK + 3 * SHORT_BLOCK, 65536,
	};
	unsigned char *buf = random_buffer(BIG_LEN + 3 + 16, 3);
	size_t b, len;

	/* Every length within 17 bytes of each threshold, either side. */
	for (b = 0; b < sizeof(bases) / sizeof(bases[0]); b++)
		for (len = bases[b] - 17; len <= bases[b] + 17; len++)
			check_hw_matches_sw_at(buf, len, 0x12345678u);
	check_hw_matches_sw_at(buf, BIG_LEN, 0);
	check_hw_matches_sw_at(buf, BIG_LEN + 3, 0);
	free(buf);
}
END_TEST

/* Each lane block joins its lanes through the zero-shift tables; many
 * random blocks reach (almost surely) every entry of those tables. */
START_TEST(test_hw_matches_sw_on_many_random_lane_blocks)
{
	pm_crc32c_fn hw = pm_crc32c_hw();
	unsigned char *buf = random_buffer(LONG_BLOCK + 8, 4);
	uint64_t seed = 5;
	int i;
	size_t j;

	if (hw == NULL) {
		free(buf);
		return;
	}
	for (i = 0; i < 3000; i++) {
		size_t len = i % 3 == 0 ? LONG_BLOCK : SHORT_BLOCK;
		uint32_t crc = (uint32_t)rng_next(&seed);

		/* Fresh bytes where the lanes meet keep the sums moving. */
		for (j = 0; j < 64; j++)
			buf[rng_next(&seed) % len] = (unsigned char)j;
		ck_assert_msg(hw(crc, buf, len) == pm_crc32c_sw(crc, buf, len),
			      "block %d len %zu", i, len);
	}
	free(buf);
}
END_TEST

START_TEST(test_dispatch_matches_sw)
{
	static const size_t lens[] = { 1, 7, 8, 100, SHORT_BLOCK + 5,
				       LONG_BLOCK + 1, 65536, BIG_LEN + 3 };
	unsigned char *buf = random_buffer(BIG_LEN + 3 + 1, 6);
	size_t i;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		uint32_t want = pm_crc32c_sw(7, buf + 1, lens[i]);

		ck_assert_msg(pm_crc32c(7, buf + 1, lens[i]) == want,
			      "pm_crc32c len %zu", lens[i]);
		ck_assert_msg(pipemode_crc32c(7, buf + 1, lens[i]) == want,
			      "pipemode_crc32c len %zu", lens[i]);
	}
	free(buf);
}
END_TEST

/* ----------------------------------------------------------------- extend */

START_TEST(test_extend_equals_whole_for_every_split_of_4k)
{
	const size_t len = 4096;
	unsigned char *buf = random_buffer(len, 7);
	struct impl impls[4];
	size_t n = all_impls(impls), i, split;

	for (i = 0; i < n; i++) {
		uint32_t whole = impls[i].fn(0, buf, len);

		for (split = 0; split <= len; split++) {
			uint32_t a = impls[i].fn(0, buf, split);

			ck_assert_msg(impls[i].fn(a, buf + split,
						  len - split) == whole,
				      "%s: split %zu", impls[i].name, split);
		}
	}
	free(buf);
}
END_TEST

START_TEST(test_extend_equals_whole_across_lane_blocks)
{
	const size_t len = BIG_LEN + 3;
	static const size_t splits[] = {
		0, 1, 3, 8, SHORT_BLOCK - 1, SHORT_BLOCK, SHORT_BLOCK + 1,
		LONG_BLOCK - 1, LONG_BLOCK, LONG_BLOCK + 7, 65536,
		BIG_LEN / 2 + 5, BIG_LEN - LONG_BLOCK, BIG_LEN, BIG_LEN + 2,
		BIG_LEN + 3,
	};
	unsigned char *buf = random_buffer(len, 8);
	struct impl impls[4];
	size_t n = all_impls(impls), i, k;

	for (i = 0; i < n; i++) {
		uint32_t whole = impls[i].fn(0, buf, len);

		for (k = 0; k < sizeof(splits) / sizeof(splits[0]); k++) {
			size_t s = splits[k];
			uint32_t a = impls[i].fn(0, buf, s);

			ck_assert_msg(impls[i].fn(a, buf + s, len - s) == whole,
				      "%s: split %zu", impls[i].name, s);
		}
	}
	free(buf);
}
END_TEST

/* ------------------------------------------------------- each by name */

START_TEST(test_vectors_match_each_named_impl)
{
	size_t i;

	check_vectors(pm_crc32c_impl_named("slicing-by-8"), "slicing-by-8");
	for (i = 0; i < N_NAMED; i++) {
		pm_crc32c_fn fn = named_or_skip(named_impls[i], "vectors");

		if (fn != NULL)
			check_vectors(fn, named_impls[i]);
	}
	ck_assert_ptr_eq(pm_crc32c_impl_named("slicing-by-8"), pm_crc32c_sw);
	ck_assert_ptr_eq(pm_crc32c_impl_named("no-such-impl"), NULL);
}
END_TEST

START_TEST(test_folding_matches_sw_at_every_length_and_alignment)
{
	const size_t max = 2048;
	unsigned char *src = random_buffer(max, 11);
	unsigned char *buf = malloc(max + 64);
	size_t i, len;

	ck_assert_ptr_ne(buf, NULL);
	for (i = 0; i < N_FOLDING; i++) {
		pm_crc32c_fn fn = named_or_skip(folding_impls[i],
						"lengths 0..2048");

		if (fn == NULL)
			continue;
		for (len = 0; len <= max; len++)
			check_every_alignment(fn, folding_impls[i], src, buf,
					      len);
	}
	free(buf);
	free(src);
}
END_TEST

START_TEST(test_folding_matches_sw_on_large_inputs)
{
	static const size_t lens[] = { 65536, 65536 + 63, BIG_LEN + 13 };
	unsigned char *src = random_buffer(BIG_LEN + 13, 12);
	unsigned char *buf = malloc(BIG_LEN + 13 + 64);
	size_t i, k;

	ck_assert_ptr_ne(buf, NULL);
	for (i = 0; i < N_FOLDING; i++) {
		pm_crc32c_fn fn = named_or_skip(folding_impls[i],
						"large inputs");

		if (fn == NULL)
			continue;
		for (k = 0; k < sizeof(lens) / sizeof(lens[0]); k++)
			check_every_alignment(fn, folding_impls[i], src, buf,
					      lens[k]);
	}
	free(buf);
	free(src);
}
END_TEST

/* Folding puts the initial CRC into the first 4 bytes: those bytes, and
 * every bit of the CRC, must matter, in each lane of each accumulator. */
START_TEST(test_folding_sees_every_bit_of_crc_and_data)
{
	const size_t len = 1024 + 37;
	unsigned char *buf = random_buffer(len, 13);
	size_t i, bit;

	for (i = 0; i < N_FOLDING; i++) {
		pm_crc32c_fn fn = named_or_skip(folding_impls[i], "bit flips");

		if (fn == NULL)
			continue;
		for (bit = 0; bit < 32; bit++) {
			uint32_t crc = (uint32_t)1 << bit;

			ck_assert_msg(fn(crc, buf, len) ==
					      pm_crc32c_sw(crc, buf, len),
				      "%s: crc bit %zu", folding_impls[i], bit);
		}
		for (bit = 0; bit < 8 * len; bit += 7) {
			buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
			ck_assert_msg(fn(0x1234u, buf, len) ==
					      pm_crc32c_sw(0x1234u, buf, len),
				      "%s: data bit %zu", folding_impls[i],
				      bit);
			buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		}
	}
	free(buf);
}
END_TEST

/* crc(a) then crc(b) == crc(a || b), cut at random points into up to six
 * pieces, each piece by a randomly chosen implementation: the register
 * passed between calls must mean the same to all of them. */
START_TEST(test_extend_at_random_splits_across_impls)
{
	const size_t max = 70000;
	unsigned char *buf = random_buffer(max, 14);
	pm_crc32c_fn fns[N_NAMED + 1];
	const char *names[N_NAMED + 1];
	size_t nfn = 0, i;
	uint64_t seed = 15;
	int round;

	fns[nfn] = pm_crc32c_sw;
	names[nfn++] = "slicing-by-8";
	for (i = 0; i < N_NAMED; i++)
		if ((fns[nfn] = pm_crc32c_impl_named(named_impls[i])) != NULL)
			names[nfn++] = named_impls[i];
	for (round = 0; round < 2000; round++) {
		/* Mostly short inputs, where the pieces straddle blocks. */
		size_t len = (size_t)rng_next(&seed) %
			     (round % 4 == 0 ? max : 3000);
		size_t start = (size_t)rng_next(&seed) % (max - len + 1);
		uint32_t init = (uint32_t)rng_next(&seed);
		uint32_t want = crc32c_bitwise(init, buf + start, len);
		uint32_t c = init;
		size_t off = 0;
		char trail[128] = "";
		int pieces = 1 + (int)(rng_next(&seed) % 6);

		while (off < len || pieces > 0) {
			size_t n = pieces <= 1 ? len - off
					       : (size_t)rng_next(&seed) %
							 (len - off + 1);
			size_t f = (size_t)rng_next(&seed) % nfn;
			size_t used = strlen(trail);

			c = fns[f](c, buf + start + off, n);
			snprintf(trail + used, sizeof(trail) - used, " %s:%zu",
				 names[f], n);
			off += n;
			pieces--;
		}
		ck_assert_msg(c == want, "len %zu at %zu, pieces%s", len,
			      start, trail);
	}
	free(buf);
}
END_TEST

/* ------------------------------------------------------------------ mask */

START_TEST(test_mask_unmask_round_trip)
{
	static const uint32_t edges[] = { 0, 1, 0x80000000u, 0xffffffffu,
					  0xa282ead8u, 0x5d7d1527u };
	uint64_t seed = 9;
	size_t i;

	for (i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		ck_assert_uint_eq(pm_crc32c_unmask(pm_crc32c_mask(edges[i])),
				  edges[i]);
		ck_assert_uint_eq(pm_crc32c_mask(pm_crc32c_unmask(edges[i])),
				  edges[i]);
	}
	for (i = 0; i < 100000; i++) {
		uint32_t v = (uint32_t)rng_next(&seed);

		ck_assert_uint_eq(pm_crc32c_unmask(pm_crc32c_mask(v)), v);
	}
}
END_TEST

/* Beam's tfrecordio_test values, also in the vectors file; here without
 * the file so the masking itself is pinned even if the file goes. */
START_TEST(test_mask_matches_beam_known_values)
{
	static const unsigned char zeros[32];
	static const unsigned char len3[8] = { 3 };

	ck_assert_uint_eq(pm_crc32c_mask(0x8a9136aau), 0x0fd7fffau);
	ck_assert_uint_eq(pm_crc32c_mask(pm_crc32c(0, zeros, 32)),
			  0x0fd7fffau);
	ck_assert_uint_eq(pm_crc32c_mask(pm_crc32c(0, "foo", 3)), 0xfebe8a61u);
	ck_assert_uint_eq(pm_crc32c_mask(pm_crc32c(0, len3, 8)), 0x0e4999b0u);
	ck_assert_uint_eq(pm_crc32c_unmask(0x0fd7fffau), 0x8a9136aau);
}
END_TEST

/* -------------------------------------------------------------- dispatch */

START_TEST(test_impl_name_names_the_implementation_in_use)
{
	const char *name = pm_crc32c_impl_name();
	const char *env = getenv("PIPEMODE_CRC32C");
	int forced_sw = env != NULL && strcmp(env, "sw") == 0;

	ck_assert_ptr_ne(name, NULL);
	if (forced_sw || pm_crc32c_hw() == NULL) {
		ck_assert_str_eq(name, "slicing-by-8");
	} else if (env != NULL && pm_crc32c_impl_named(env) != NULL) {
		ck_assert_str_eq(name, env);
	} else {
#if defined(__x86_64__) || defined(__i386__)
		/* The first of those the CPU has, in order of preference. */
		size_t i;

		for (i = 0; i < N_NAMED; i++)
			if (pm_crc32c_impl_named(named_impls[i]) != NULL)
				break;
		ck_assert_uint_lt(i, N_NAMED);
		ck_assert_str_eq(name, named_impls[i]);
		ck_assert_ptr_eq(pm_crc32c_hw(),
				 pm_crc32c_impl_named(named_impls[i]));
#elif defined(__aarch64__)
		ck_assert_str_eq(name, "armv8-crc");
#else
		ck_assert_str_ne(name, "slicing-by-8");
#endif
	}
}
END_TEST

START_TEST(test_env_sw_forces_portable_path)
{
	/* The choice is made once per process: only a forked test starts
	 * with it unmade. */
	if (srunner_fork_status(runner) == CK_NOFORK)
		return;
	ck_assert_int_eq(setenv("PIPEMODE_CRC32C", "sw", 1), 0);
	ck_assert_str_eq(pm_crc32c_impl_name(), "slicing-by-8");
	ck_assert_uint_eq(pm_crc32c(0, "123456789", 9), 0xe3069283u);
}
END_TEST

START_TEST(test_env_names_an_implementation)
{
	/* As above; sse4.2 is what rules the folding code out. */
	if (srunner_fork_status(runner) == CK_NOFORK ||
	    pm_crc32c_impl_named("sse4.2") == NULL)
		return;
	ck_assert_int_eq(setenv("PIPEMODE_CRC32C", "sse4.2", 1), 0);
	ck_assert_str_eq(pm_crc32c_impl_name(), "sse4.2");
	ck_assert_uint_eq(pm_crc32c(0, "123456789", 9), 0xe3069283u);
}
END_TEST

#define RACE_THREADS 8

struct race {
	pthread_barrier_t *start;
	const unsigned char *buf;
	size_t len;
	uint32_t got;
};

static void *
race_thread(void *arg)
{
	struct race *r = arg;

	pthread_barrier_wait(r->start);
	r->got = pm_crc32c(0, r->buf, r->len);
	return NULL;
}

START_TEST(test_concurrent_first_calls_agree)
{
	const size_t len = LONG_BLOCK + 123;
	unsigned char *buf = random_buffer(len, 10);
	uint32_t want = crc32c_bitwise(0, buf, len);
	pthread_barrier_t start;
	pthread_t tid[RACE_THREADS];
	struct race r[RACE_THREADS];
	int i;

	/* In a forked test this is the process's first CRC, so the threads
	 * race through the choice of implementation. */
	ck_assert_int_eq(pthread_barrier_init(&start, NULL, RACE_THREADS), 0);
	for (i = 0; i < RACE_THREADS; i++) {
		r[i].start = &start;
		r[i].buf = buf;
		r[i].len = len;
		ck_assert_int_eq(
			pthread_create(&tid[i], NULL, race_thread, &r[i]), 0);
	}
	for (i = 0; i < RACE_THREADS; i++) {
		ck_assert_int_eq(pthread_join(tid[i], NULL), 0);
		ck_assert_uint_eq(r[i].got, want);
	}
	pthread_barrier_destroy(&start);
	free(buf);
}
END_TEST

/* ------------------------------------------------------------------ main */

static Suite *
crc32c_suite(void)
{
	Suite *s = suite_create("crc32c");
	TCase *tc;

	tc = tcase_create("vectors");
	tcase_add_test(tc, test_vectors_match_sw);
	tcase_add_test(tc, test_vectors_match_hw);
	tcase_add_test(tc, test_vectors_match_dispatch);
	tcase_add_test(tc, test_vectors_match_public_api);
	tcase_add_test(tc, test_check_value_of_123456789);
	tcase_add_test(tc, test_empty_input_returns_crc_and_accepts_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("cross-check");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_sw_matches_bitwise_reference);
	tcase_add_test(tc, test_hw_matches_sw_for_lengths_0_to_1024);
	tcase_add_test(tc, test_hw_matches_sw_around_lane_thresholds);
	tcase_add_test(tc, test_hw_matches_sw_on_many_random_lane_blocks);
	tcase_add_test(tc, test_dispatch_matches_sw);
	suite_add_tcase(s, tc);

	tc = tcase_create("extend");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_extend_equals_whole_for_every_split_of_4k);
	tcase_add_test(tc, test_extend_equals_whole_across_lane_blocks);
	suite_add_tcase(s, tc);

	tc = tcase_create("by-name");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_vectors_match_each_named_impl);
	tcase_add_test(tc, test_folding_matches_sw_at_every_length_and_alignment);
	tcase_add_test(tc, test_folding_matches_sw_on_large_inputs);
	tcase_add_test(tc, test_folding_sees_every_bit_of_crc_and_data);
	tcase_add_test(tc, test_extend_at_random_splits_across_impls);
	suite_add_tcase(s, tc);

	tc = tcase_create("mask");
	tcase_add_test(tc, test_mask_unmask_round_trip);
	tcase_add_test(tc, test_mask_matches_beam_known_values);
	suite_add_tcase(s, tc);

	tc = tcase_create("dispatch");
	tcase_add_test(tc, test_impl_name_names_the_implementation_in_use);
	tcase_add_test(tc, test_env_sw_forces_portable_path);
	tcase_add_test(tc, test_env_names_an_implementation);
	tcase_add_test(tc, test_concurrent_first_calls_agree);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	int failed;

	runner = srunner_create(crc32c_suite());
	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
