/* SPDX-License-Identifier: Apache-2.0 */
/* The API's contracts that do not depend on a format: codes, versions,
 * misuse, option syntax, the stats struct. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipemode.h"

/* An empty stream. */
static ssize_t
read_nothing(void *ctx, void *buf, size_t len)
{
	(void)ctx; (void)buf; (void)len;
	return 0;
}

START_TEST(test_code_values_are_pinned)
{
	/* Released values never change: bindings hard-code them. */
	ck_assert_int_eq(PIPEMODE_OK, 0);
	ck_assert_int_eq(PIPEMODE_EOF, 1);
	ck_assert_int_eq(PIPEMODE_EINVAL, -1);
	ck_assert_int_eq(PIPEMODE_ENOMEM, -2);
	ck_assert_int_eq(PIPEMODE_EIO, -3);
	ck_assert_int_eq(PIPEMODE_EOPTION, -4);
	ck_assert_int_eq(PIPEMODE_EUNSUPPORTED, -5);
	ck_assert_int_eq(PIPEMODE_ETRUNCATED, -6);
	ck_assert_int_eq(PIPEMODE_ECORRUPT, -7);
	ck_assert_int_eq(PIPEMODE_ECRC, -8);
	ck_assert_int_eq(PIPEMODE_ETOOBIG, -9);
	ck_assert_int_eq(PIPEMODE_ESTATE, -10);
}
END_TEST

START_TEST(test_every_code_has_a_name_and_a_description)
{
#define XX(name, value, msg)                                                  \
	ck_assert_str_eq(pipemode_code_name(value), #name);                   \
	ck_assert_str_eq(pipemode_strerror(value), msg);                      \
	ck_assert_uint_gt(strlen(msg), 0);
	PIPEMODE_ERRNO_MAP(XX)
#undef XX
}
END_TEST

START_TEST(test_unknown_code_is_described_not_crashed_on)
{
	ck_assert_ptr_null(pipemode_code_name(-999));
	ck_assert_str_eq(pipemode_strerror(-999), "unknown error code");
	ck_assert_str_eq(pipemode_strerror(42), "unknown error code");
}
END_TEST

START_TEST(test_version_functions_match_macros)
{
	ck_assert_uint_eq(pipemode_version_number(), PIPEMODE_VERSION_NUMBER);
	ck_assert_str_eq(pipemode_version_string(), PIPEMODE_VERSION_STRING);
	ck_assert_int_eq(PIPEMODE_VERSION_NUMBER,
			 PIPEMODE_VERSION_MAJOR * 10000 +
				 PIPEMODE_VERSION_MINOR * 100 +
				 PIPEMODE_VERSION_PATCH);
}
END_TEST

START_TEST(test_null_handles_are_clean_errors)
{
	const void *data = (const void *)1;
	size_t len = 7;
	pipemode_stats st;

	ck_assert_int_eq(pipemode_next(NULL, &data, &len), PIPEMODE_EINVAL);
	ck_assert_ptr_null(data);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(pipemode_close(NULL), PIPEMODE_OK);
	ck_assert_str_eq(pipemode_errmsg(NULL), "out of memory");
	ck_assert_uint_eq(pipemode_record_index(NULL), 0);
	ck_assert_uint_eq(pipemode_byte_offset(NULL), 0);
	st.size = sizeof(st);
	ck_assert_int_eq(pipemode_get_stats(NULL, &st), PIPEMODE_EINVAL);
	ck_assert_int_eq(pipemode_open_path(NULL, "x", NULL), PIPEMODE_EINVAL);
	ck_assert_int_eq(pipemode_open_fd(NULL, 0, NULL), PIPEMODE_EINVAL);
	ck_assert_int_eq(pipemode_open_callback(NULL, read_nothing, NULL, NULL),
			 PIPEMODE_EINVAL);
	ck_assert_int_eq(pipemode_write(NULL, "x", 1), PIPEMODE_EINVAL);
	ck_assert_int_eq(pipemode_writer_flush(NULL), PIPEMODE_EINVAL);
	ck_assert_int_eq(pipemode_writer_close(NULL), PIPEMODE_OK);
	ck_assert_str_eq(pipemode_writer_errmsg(NULL), "out of memory");
	ck_assert_int_eq(pipemode_writer_open_path(NULL, "x", NULL),
			 PIPEMODE_EINVAL);
	ck_assert_int_eq(pipemode_writer_open_fd(NULL, 1, NULL), PIPEMODE_EINVAL);
}
END_TEST

START_TEST(test_null_arguments_to_next_are_clean_errors)
{
	pipemode_reader *r;
	const void *data;
	size_t len;

	ck_assert_int_eq(pipemode_open_callback(&r, read_nothing, NULL, NULL),
			 PIPEMODE_OK);
	ck_assert_int_eq(pipemode_next(r, NULL, &len), PIPEMODE_EINVAL);
	ck_assert_int_eq(pipemode_next(r, &data, NULL), PIPEMODE_EINVAL);
	ck_assert_ptr_nonnull(strstr(pipemode_errmsg(r), "NULL"));
	/* The reader is still usable, and the next call that does not fail
	 * leaves no stale message behind. */
	ck_assert_int_eq(pipemode_next(r, &data, &len), PIPEMODE_EOF);
	ck_assert_str_eq(pipemode_errmsg(r), "");
	ck_assert_int_eq(pipemode_next(r, NULL, &len), PIPEMODE_EINVAL);
	ck_assert_int_eq(pipemode_next(r, &data, &len), PIPEMODE_EOF);
	ck_assert_str_eq(pipemode_errmsg(r), "");
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);
}
END_TEST

START_TEST(test_failed_open_returns_a_handle_that_explains)
{
	pipemode_reader *r = NULL;
	const void *data;
	size_t len;

	ck_assert_int_eq(pipemode_open_path(&r, "/nonexistent/dir/x", NULL),
			 PIPEMODE_EIO);
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(strstr(pipemode_errmsg(r), "/nonexistent/dir/x"));
	ck_assert_ptr_nonnull(strstr(pipemode_errmsg(r), strerror(ENOENT)));
	ck_assert_int_eq(pipemode_next(r, &data, &len), PIPEMODE_ESTATE);
	ck_assert_int_eq(pipemode_next(r, &data, &len), PIPEMODE_ESTATE);
	ck_assert_ptr_nonnull(strstr(pipemode_errmsg(r), "/nonexistent/dir/x"));
	ck_assert_int_eq(pipemode_close(r), PIPEMODE_OK);

	r = NULL;
	ck_assert_int_eq(pipemode_open_path(&r, NULL, NULL), PIPEMODE_EINVAL);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(pipemode_next(r, &data, &len), PIPEMODE_ESTATE);
	pipemode_close(r);

	r = NULL;
	ck_assert_int_eq(pipemode_open_callback(&r, NULL, NULL, NULL),
			 PIPEMODE_EINVAL);
	ck_assert_ptr_nonnull(r);
	pipemode_close(r);
}
END_TEST

START_TEST(test_open_fd_refuses_a_closed_descriptor)
{
	pipemode_reader *r;
	pipemode_writer *w;
	int fds[2];

	ck_assert_int_eq(pipe(fds), 0);
	close(fds[0]);
	close(fds[1]);
	ck_assert_int_eq(pipemode_open_fd(&r, fds[0], NULL), PIPEMODE_EINVAL);
	ck_assert_ptr_nonnull(strstr(pipemode_errmsg(r), "not an open descriptor"));
	pipemode_close(r);
	ck_assert_int_eq(pipemode_open_fd(&r, -1, NULL), PIPEMODE_EINVAL);
	ck_assert_ptr_nonnull(strstr(pipemode_errmsg(r), "fd -1"));
	pipemode_close(r);
	ck_assert_int_eq(pipemode_writer_open_fd(&w, fds[1], NULL),
			 PIPEMODE_EINVAL);
	ck_assert_int_eq(pipemode_write(w, "x", 1), PIPEMODE_ESTATE);
	ck_assert_int_eq(pipemode_writer_close(w), PIPEMODE_OK);
}
END_TEST

/* Open a reader on an empty stream with options; return the open's code and
 * copy the message. */
static int
open_with(const char *options, char *msg, size_t msgsize)
{
	pipemode_reader *r;
	int rc = pipemode_open_callback(&r, read_nothing, NULL, options);

	ck_assert_ptr_nonnull(r);
	strncpy(msg, pipemode_errmsg(r), msgsize - 1);
	msg[msgsize - 1] = '\0';
	pipemode_close(r);
	return rc;
}

START_TEST(test_option_syntax_accepts_blanks_and_escapes)
{
	char msg[512];

	ck_assert_int_eq(open_with(NULL, msg, sizeof(msg)), PIPEMODE_OK);
	ck_assert_int_eq(open_with("", msg, sizeof(msg)), PIPEMODE_OK);
	ck_assert_int_eq(open_with(" verify_crc = 0 , skip_corrupt=3", msg,
				   sizeof(msg)),
			 PIPEMODE_OK);
	ck_assert_int_eq(open_with("buffer_size=64K,max_record_size=1G,"
				   "pipe_size=0",
				   msg, sizeof(msg)),
			 PIPEMODE_OK);
	ck_assert_int_eq(open_with("name=a\\,b\\\\c=d", msg, sizeof(msg)),
			 PIPEMODE_OK);
}
END_TEST

START_TEST(test_option_syntax_errors_name_what_is_wrong)
{
	static const struct {
		const char *options;
		const char *says;
	} cases[] = {
		{"verify_crc", "verify_crc"},          /* no '=' */
		{"=1", "empty key"},
		{"verify_crc=1,", "empty option"},
		{",verify_crc=1", "empty option"},
		{"name=x\\", "trailing backslash"},
		{"colour=blue", "'colour': unknown option"},
		{"verify_crc=maybe", "'verify_crc'"},
		{"verify_crc=", "'verify_crc'"},
		{"skip_corrupt=-1", "'skip_corrupt'"},
		{"skip_corrupt=1.5", "'skip_corrupt'"},
		{"skip_corrupt=99999999999999999999999", "'skip_corrupt'"},
		{"max_record_size=12Q", "'max_record_size'"},
		{"max_record_size=1KK", "'max_record_size'"},
		{"max_record_size=+5", "'max_record_size'"},
		{"max_record_size=99999999999G", "'max_record_size'"},
		{"buffer_size=1", "'buffer_size'"},
		{"buffer_size=2G", "'buffer_size'"},
		{"pipe_size=2G", "'pipe_size'"},
		{"format=parquet", "unknown format 'parquet'"},
		{"compression=bzip2", "'compression'"},
		{"strip_cr=1", "'strip_cr': unknown option"},
		{"format=recordio,recordio_multipart=both",
		 "'recordio_multipart'"},
		{"format=auto,colour=1", "'colour': unknown option"},
	};
	char msg[512];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = open_with(cases[i].options, msg, sizeof(msg));
		ck_assert_msg(rc == PIPEMODE_EOPTION, "%s: rc %d",
			      cases[i].options, rc);
		ck_assert_msg(strstr(msg, cases[i].says) != NULL,
			      "%s: message '%s' lacks '%s'", cases[i].options,
			      msg, cases[i].says);
	}
}
END_TEST

START_TEST(test_format_names_are_case_insensitive)
{
	char msg[512];

	ck_assert_int_eq(open_with("format=TFRecord", msg, sizeof(msg)),
			 PIPEMODE_OK);
	ck_assert_int_eq(open_with("format=TFRECORD", msg, sizeof(msg)),
			 PIPEMODE_OK);
	ck_assert_int_eq(open_with("format=RecordIO", msg, sizeof(msg)),
			 PIPEMODE_OK);
	ck_assert_int_eq(open_with("format=TextLine", msg, sizeof(msg)),
			 PIPEMODE_OK);
	ck_assert_int_eq(open_with("format=LINES", msg, sizeof(msg)),
			 PIPEMODE_OK);
	ck_assert_int_eq(open_with("format=Auto", msg, sizeof(msg)),
			 PIPEMODE_OK);
	ck_assert_int_eq(open_with("compression=GZIP", msg, sizeof(msg)),
			 PIPEMODE_OK);
}
END_TEST

START_TEST(test_name_option_names_the_source_in_messages)
{
	char msg[512];

	ck_assert_int_eq(open_with("name=my\\,stream,colour=1", msg,
				   sizeof(msg)),
			 PIPEMODE_EOPTION);
	ck_assert_msg(strncmp(msg, "my,stream: ", 11) == 0, "%s", msg);
	ck_assert_int_eq(open_with("colour=1", msg, sizeof(msg)),
			 PIPEMODE_EOPTION);
	ck_assert_msg(strncmp(msg, "callback: ", 10) == 0, "%s", msg);
	/* The name applies whatever its place in the string. */
	ck_assert_int_eq(open_with("colour=1,name=late", msg, sizeof(msg)),
			 PIPEMODE_EOPTION);
	ck_assert_msg(strncmp(msg, "late: ", 6) == 0, "%s", msg);
}
END_TEST

START_TEST(test_stats_respect_the_callers_struct_size)
{
	pipemode_reader *r;
	pipemode_stats st;
	struct {
		pipemode_stats v1;
		uint64_t later_field;
	} bigger;
	const void *data;
	size_t len;

	ck_assert_int_eq(pipemode_open_callback(&r, read_nothing, NULL, NULL),
			 PIPEMODE_OK);
	ck_assert_int_eq(pipemode_next(r, &data, &len), PIPEMODE_EOF);

	memset(&st, 0xff, sizeof(st));
	st.size = sizeof(st) - 1;
	ck_assert_int_eq(pipemode_get_stats(r, &st), PIPEMODE_EINVAL);

	memset(&st, 0xff, sizeof(st));
	st.size = sizeof(st);
	ck_assert_int_eq(pipemode_get_stats(r, &st), PIPEMODE_OK);
	ck_assert_uint_eq(st.size, sizeof(st));
	ck_assert_uint_eq(st.records, 0);
	ck_assert_uint_eq(st.payload_bytes, 0);
	ck_assert_uint_eq(st.skipped, 0);
	ck_assert_uint_eq(st.bytes_read, 0);
	ck_assert_uint_eq(st.read_calls, 1);

	/* A caller compiled against a later header: its extra field is left
	 * alone. */
	memset(&bigger, 0xab, sizeof(bigger));
	bigger.v1.size = sizeof(bigger);
	ck_assert_int_eq(pipemode_get_stats(r, &bigger.v1), PIPEMODE_OK);
	ck_assert_uint_eq(bigger.v1.records, 0);
	ck_assert_uint_eq(bigger.later_field, 0xababababababababull);
	pipemode_close(r);
}
END_TEST

START_TEST(test_writer_refuses_null_data_with_length)
{
	pipemode_writer *w;
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pipemode_writer_open_fd(&w, fd, NULL), PIPEMODE_OK);
	ck_assert_int_eq(pipemode_write(w, NULL, 1), PIPEMODE_EINVAL);
	ck_assert_ptr_nonnull(strstr(pipemode_writer_errmsg(w), "NULL"));
	/* Not fatal: the next good record goes out. */
	ck_assert_int_eq(pipemode_write(w, NULL, 0), PIPEMODE_OK);
	ck_assert_int_eq(pipemode_writer_close(w), PIPEMODE_OK);
	/* The descriptor was the caller's. */
	ck_assert_int_eq(close(fd), 0);
}
END_TEST

START_TEST(test_writer_options_are_checked)
{
	pipemode_writer *w;
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

	ck_assert_int_eq(pipemode_writer_open_fd(&w, fd, "colour=1"),
			 PIPEMODE_EOPTION);
	ck_assert_ptr_nonnull(strstr(pipemode_writer_errmsg(w), "'colour'"));
	ck_assert_int_eq(pipemode_write(w, "x", 1), PIPEMODE_ESTATE);
	pipemode_writer_close(w);
	ck_assert_int_eq(pipemode_writer_open_fd(&w, fd, "format=lines"),
			 PIPEMODE_EUNSUPPORTED);
	pipemode_writer_close(w);
	ck_assert_int_eq(pipemode_writer_open_fd(&w, fd,
						 "format=TFRecord,buffer_size=4K"),
			 PIPEMODE_OK);
	pipemode_writer_close(w);
	close(fd);
}
END_TEST

START_TEST(test_writer_reports_a_closed_pipe)
{
	pipemode_writer *w;
	int fds[2];
	char big[8192];
	int rc;

	ck_assert_int_eq(pipe(fds), 0);
	close(fds[0]);
	/* A closed pipe raises SIGPIPE; the test ignores it like a server
	 * would, so the error comes back as EIO. */
	signal(SIGPIPE, SIG_IGN);
	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(pipemode_writer_open_fd(&w, fds[1], "buffer_size=4K"),
			 PIPEMODE_OK);
	rc = pipemode_write(w, big, sizeof(big));
	ck_assert_int_eq(rc, PIPEMODE_EIO);
	ck_assert_ptr_nonnull(strstr(pipemode_writer_errmsg(w), strerror(EPIPE)));
	ck_assert_int_eq(pipemode_write(w, "x", 1), PIPEMODE_EIO);
	ck_assert_int_eq(pipemode_writer_close(w), PIPEMODE_EIO);
	close(fds[1]);
}
END_TEST

static Suite *
api_suite(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("codes");

	tcase_add_test(tc, test_code_values_are_pinned);
	tcase_add_test(tc, test_every_code_has_a_name_and_a_description);
	tcase_add_test(tc, test_unknown_code_is_described_not_crashed_on);
	tcase_add_test(tc, test_version_functions_match_macros);
	suite_add_tcase(s, tc);

	tc = tcase_create("misuse");
	tcase_add_test(tc, test_null_handles_are_clean_errors);
	tcase_add_test(tc, test_null_arguments_to_next_are_clean_errors);
	tcase_add_test(tc, test_failed_open_returns_a_handle_that_explains);
	tcase_add_test(tc, test_open_fd_refuses_a_closed_descriptor);
	tcase_add_test(tc, test_stats_respect_the_callers_struct_size);
	suite_add_tcase(s, tc);

	tc = tcase_create("options");
	tcase_add_test(tc, test_option_syntax_accepts_blanks_and_escapes);
	tcase_add_test(tc, test_option_syntax_errors_name_what_is_wrong);
	tcase_add_test(tc, test_format_names_are_case_insensitive);
	tcase_add_test(tc, test_name_option_names_the_source_in_messages);
	suite_add_tcase(s, tc);

	tc = tcase_create("writer");
	tcase_add_test(tc, test_writer_refuses_null_data_with_length);
	tcase_add_test(tc, test_writer_options_are_checked);
	tcase_add_test(tc, test_writer_reports_a_closed_pipe);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(api_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
