/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runs a fuzz harness's LLVMFuzzerTestOneInput on saved inputs, without
 * libFuzzer or clang: `make check` builds one replay program per harness,
 * so that every input in tests/fuzz/corpus/<harness>/ and
 * tests/fuzz/regressions/<harness>/ is run on every machine, by every
 * compiler (and under the sanitizers with --enable-sanitizers).
 *
 * Usage: replay_<harness> [FILE|DIR]...  Without arguments, the harness's
 * corpus and regression directories in the source tree.  A crash (abort()
 * or a sanitizer report) fails the test; the input's name is printed first.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"

#ifndef FZ_HARNESS
#error "FZ_HARNESS (the harness's name) must be defined"
#endif
#ifndef FZ_SRCDIR
#error "FZ_SRCDIR (tests/fuzz in the source tree) must be defined"
#endif

static int
run_file(const char *path)
{
	unsigned char *buf;
	FILE *f;
	long size;
	size_t n;

	f = fopen(path, "rb");
	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		if (f != NULL)
			fclose(f);
		return -1;
	}
	/* The input gets a buffer of exactly its size, as libFuzzer gives
	 * it, so that reading past its end is caught. */
	buf = malloc(size > 0 ? (size_t)size : 1);
	if (buf == NULL) {
		fclose(f);
		return -1;
	}
	n = fread(buf, 1, (size_t)size, f);
	fclose(f);
	if (n != (size_t)size) {
		fprintf(stderr, "replay: %s: short read\n", path);
		free(buf);
		return -1;
	}
	fprintf(stderr, "replay: %s (%zu bytes)\n", path, n);
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return 0;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every file of dir, in name order; a missing directory has no inputs. */
static int
run_dir(const char *dir, size_t *count)
{
	char **names = NULL, path[4096];
	size_t n = 0, cap = 0, i;
	struct dirent *e;
	DIR *d;
	int rc = 0;

	d = opendir(dir);
	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **grown;
			cap = cap ? cap * 2 : 64;
			grown = realloc(names, cap * sizeof(*names));
			if (grown == NULL) {
				rc = -1;
				break;
			}
			names = grown;
		}
		names[n] = strdup(e->d_name);
		if (names[n] == NULL) {
			rc = -1;
			break;
		}
		n++;
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), by_name);
	for (i = 0; i < n; i++) {
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (rc == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (run_file(path) != 0)
				rc = -1;
			else
				(*count)++;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

static int
run_arg(const char *arg, size_t *count)
{
	struct stat st;

	if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode))
		return run_dir(arg, count);
	if (run_file(arg) != 0)
		return -1;
	(*count)++;
	return 0;
}

int
main(int argc, char **argv)
{
	size_t count = 0;
	int i, rc = 0;

	if (argc > 1) {
		for (i = 1; i < argc; i++)
			if (run_arg(argv[i], &count) != 0)
				rc = 1;
	} else {
		static const char *const kinds[] = {"corpus", "regressions"};
		char dir[4096];
		for (i = 0; i < 2; i++) {
			snprintf(dir, sizeof(dir), "%s/%s/%s", FZ_SRCDIR,
				 kinds[i], FZ_HARNESS);
			if (run_dir(dir, &count) != 0) {
				fprintf(stderr, "replay: cannot read %s\n", dir);
				rc = 1;
			}
		}
	}
	printf("%s %s: %zu saved inputs replayed\n", rc ? "FAIL" : "ok",
	       FZ_HARNESS, count);
	return rc;
}
