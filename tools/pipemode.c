/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pipemode: list, count, print and write record streams from the shell.
 *
 * Only the public API (pipemode.h) is used, so the tool doubles as a check
 * that the API is enough for a real program.  Output is streamed: whatever
 * was printed before an error stays printed, so `pipemode ls` on a damaged
 * stream shows every good record before the damage.
 *
 * The tool is for looking at files, so reading defaults to compression=auto
 * (a .gz just works), unlike the library, whose default stays none.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipemode.h"

/* Exit statuses, documented in --help. */
enum {
	ST_OK = 0,
	ST_ERROR = 1, /* bad data, I/O error, a format this build lacks */
	ST_USAGE = 2  /* the command line is wrong */
};

enum command { CMD_LS, CMD_COUNT, CMD_CAT, CMD_WRITE };

/* The formats the tool knows something about; FMT_OTHER is any other name,
 * left to the library to accept or refuse. */
enum format { FMT_TFRECORD, FMT_RECORDIO, FMT_LINES, FMT_AUTO, FMT_OTHER };

#if defined(__GNUC__)
#define PM_NORETURN __attribute__((noreturn))
#define PM_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define PM_NORETURN
#define PM_PRINTF(f, a)
#endif

static void usage_error(int cmd, const char *fmt, ...) PM_NORETURN
	PM_PRINTF(2, 3);
static void oom(void) PM_NORETURN;

static const struct {
	const char *name;
	const char *synopsis;
	const char *what;
} commands[] = {
	[CMD_LS] = { "ls", "[OPTION]... [PATH|-]",
		     "one line per record: INDEX<TAB>LENGTH<TAB>CRC32C\n"
		     "          (CRC32C of the payload, unmasked, 8 hex digits,\n"
		     "          whatever the format)" },
	[CMD_COUNT] = { "count", "[OPTION]... [PATH|-]",
			"one line: RECORDS<TAB>PAYLOAD_BYTES" },
	[CMD_CAT] = { "cat", "[OPTION]... [PATH|-]",
		      "each payload, followed by a newline" },
	[CMD_WRITE] = { "write", "[OPTION]... [FILE]...",
			"a stream with one record per FILE (its whole content;\n"
			"          - is stdin), or with no FILE one per stdin "
			"line (without\n          its newline)" },
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/* Large enough that cat of a big stream makes few write(2) calls. */
#define OUT_BUFFER_SIZE (1u << 20)

/* Long options without a short form. */
enum {
	OPT_NO_VERIFY = 256,
	OPT_RAW,
	OPT_VERSION,
	OPT_MULTIPART,
	OPT_STRIP_CR
};

static const struct option long_options[] = {
	{ "format", required_argument, NULL, 'f' },
	{ "compression", required_argument, NULL, 'c' },
	{ "multipart", required_argument, NULL, OPT_MULTIPART },
	{ "strip-cr", no_argument, NULL, OPT_STRIP_CR },
	{ "no-verify", no_argument, NULL, OPT_NO_VERIFY },
	{ "option", required_argument, NULL, 'O' },
	{ "output", required_argument, NULL, 'o' },
	{ "raw", no_argument, NULL, OPT_RAW },
	{ "null", no_argument, NULL, '0' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 }
};
/* The leading ':' makes getopt report a missing argument as ':' and keeps it
 * quiet, so that every usage message has the same shape. */
static const char short_options[] = ":f:c:O:o:0h";

/* The library's option string, built from -f, -c, --multipart, --strip-cr,
 * --no-verify and -O, in the order given. */
struct strbuf {
	char *s;
	size_t len, cap;
};

struct cli {
	enum command cmd;
	struct strbuf opts;
	int named;         /* a name= option was given: keep it */
	const char *name;  /* its value, for the tool's own messages */
	const char *format;      /* the last format= given (-f or -O), or NULL */
	int compression_set;     /* a compression= was given (-c or -O) */
	const char *compression; /* its value */
	const char *multipart;   /* --multipart, for the checks after parsing */
	int strip_cr;            /* --strip-cr was given */
	const char *output;
	int separator;     /* byte after each cat payload, or -1 for none */
	int separator_set; /* which option set it, to refuse both */
	char **args;
	int nargs;
};

static void
oom(void)
{
	fputs("pipemode: out of memory\n", stderr);
	exit(ST_ERROR);
}

static void
strbuf_grow(struct strbuf *b, size_t more)
{
	size_t need = b->len + more + 1;
	char *s;

	if (need <= b->cap)
		return;
	if (need < 64)
		need = 64;
	if (need < 2 * b->cap)
		need = 2 * b->cap;
	s = realloc(b->s, need);
	if (s == NULL)
		oom();
	b->s = s;
	b->cap = need;
}

static void
strbuf_addc(struct strbuf *b, char c)
{
	strbuf_grow(b, 1);
	b->s[b->len++] = c;
	b->s[b->len] = '\0';
}

/* Escaped because the library splits options at ',' and treats '\' as an
 * escape: a value such as a path with a comma must stay one value. */
static void
strbuf_add_escaped(struct strbuf *b, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == ',' || s[i] == '\\')
			strbuf_addc(b, '\\');
		strbuf_addc(b, s[i]);
	}
}

static void
add_option(struct cli *c, const char *key, size_t keylen, const char *value)
{
	if (c->opts.len > 0)
		strbuf_addc(&c->opts, ',');
	strbuf_add_escaped(&c->opts, key, keylen);
	strbuf_addc(&c->opts, '=');
	strbuf_add_escaped(&c->opts, value, strlen(value));
	if (keylen == 4 && memcmp(key, "name", 4) == 0) {
		c->named = 1;
		c->name = value;
	} else if (keylen == 6 && memcmp(key, "format", 6) == 0) {
		c->format = value;
	} else if (keylen == 11 && memcmp(key, "compression", 11) == 0) {
		c->compression_set = 1;
		c->compression = value;
	}
}

/* Compares a value as the library will see it: without surrounding blanks
 * and, for format names, without regard to case. */
static int
value_is(const char *value, const char *name)
{
	size_t n;

	while (*value == ' ' || *value == '\t')
		value++;
	n = strlen(value);
	while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
		n--;
	return n == strlen(name) && strncasecmp(value, name, n) == 0;
}

static enum format
format_of(const char *name)
{
	if (name == NULL || value_is(name, "tfrecord"))
		return FMT_TFRECORD;
	if (value_is(name, "recordio"))
		return FMT_RECORDIO;
	if (value_is(name, "lines") || value_is(name, "textline"))
		return FMT_LINES;
	if (value_is(name, "auto"))
		return FMT_AUTO;
	return FMT_OTHER;
}

/* The options for a source or sink the tool opened itself, named as the user
 * knows it ("stdin") unless the user chose a name.  The name goes first so
 * that it is already in force when a later option is found wrong. */
static const char *
options_named(struct cli *c, const char *name)
{
	struct strbuf b = { NULL, 0, 0 };

	if (!c->named && name != NULL) {
		strbuf_grow(&b, 0);
		strcpy(b.s, "name=");
		b.len = 5;
		strbuf_add_escaped(&b, name, strlen(name));
		if (c->opts.len > 0) {
			strbuf_addc(&b, ',');
			strbuf_grow(&b, c->opts.len);
			memcpy(b.s + b.len, c->opts.s, c->opts.len + 1);
			b.len += c->opts.len;
		}
		free(c->opts.s);
		c->opts = b;
		c->named = 1;
		c->name = name;
	}
	return c->opts.s != NULL ? c->opts.s : "";
}

static void
print_usage_lines(FILE *f, int cmd)
{
	size_t i;
	const char *lead = "Usage:";

	/* After a mistake, one line is enough to show the shape. */
	if (cmd < 0 && f == stderr) {
		fputs("Usage: pipemode ls|count|cat|write [OPTION]... "
		      "[PATH|-]\n",
		      f);
		return;
	}

	for (i = 0; i < N_COMMANDS; i++) {
		if (cmd >= 0 && (size_t)cmd != i)
			continue;
		fprintf(f, "%s pipemode %s %s\n", lead, commands[i].name,
			commands[i].synopsis);
		lead = "      ";
	}
	if (cmd < 0)
		fprintf(f, "%s pipemode help [COMMAND] | --help | --version\n",
			lead);
}

static void
print_help(int cmd)
{
	size_t i;
	int reads = cmd != CMD_WRITE;

	print_usage_lines(stdout, cmd);
	fputs("Read and write SageMaker Pipe Mode record streams (TFRecord,\n"
	      "RecordIO, text lines; plain, gzip or zlib), checking every "
	      "CRC32C.\nPATH may be a file or a FIFO; - or no PATH means "
	      "stdin.\n\n",
	      stdout);
	if (cmd < 0)
		fputs("Commands:\n", stdout);
	for (i = 0; i < N_COMMANDS; i++)
		if (cmd < 0 || (size_t)cmd == i)
			printf("  %-7s %s\n", commands[i].name,
			       commands[i].what);
	fputs("\nOptions:\n"
	      "  -f, --format NAME       record format (default tfrecord):\n"
	      "                            tfrecord  TensorFlow TFRecord\n"
	      "                            recordio  MXNet/SageMaker "
	      "RecordIO\n",
	      stdout);
	if (reads)
		fputs("                            lines     text, one record "
		      "per line\n"
		      "                            auto      tfrecord or "
		      "recordio, told from\n"
		      "                                      the data\n",
		      stdout);
	if (cmd < 0)
		fputs("                          (lines and auto: reading "
		      "only)\n"
		      "  -c, --compression NAME  none, gzip or zlib; reading "
		      "also takes auto:\n"
		      "                          gzip or zlib told from the "
		      "data, else none.\n"
		      "                          Default: auto when reading, "
		      "none when writing\n",
		      stdout);
	else if (reads)
		fputs("  -c, --compression NAME  none, gzip, zlib or auto "
		      "(default): gzip or\n"
		      "                          zlib told from the data, "
		      "else none\n",
		      stdout);
	else
		fputs("  -c, --compression NAME  none (default), gzip or "
		      "zlib\n",
		      stdout);
	fputs("      --multipart CONV    recordio: how a record's parts "
	      "join: concat\n"
	      "                          (default; SageMaker, AWS ml-io: "
	      "verbatim) or\n"
	      "                          dmlc (MXNet dmlc-core: cut at a "
	      "4-byte-aligned\n"
	      "                          magic word, which goes back between "
	      "parts)\n",
	      stdout);
	if (reads)
		fputs("      --strip-cr          lines: drop a '\\r' before "
		      "each '\\n'\n"
		      "      --no-verify         do not check payload CRC32Cs "
		      "(verify_crc=0)\n",
		      stdout);
	fputs("  -O, --option KEY=VAL    any library option, e.g. "
	      "skip_corrupt=5 or\n"
	      "                          max_record_size=1G; repeatable\n"
	      "  -o, --output FILE       write to FILE instead of stdout\n",
	      stdout);
	if (cmd < 0 || cmd == CMD_CAT)
		fputs("      --raw               cat: nothing after each "
		      "payload\n"
		      "  -0, --null              cat: a NUL byte after each "
		      "payload\n",
		      stdout);
	fputs("  -h, --help              print this help\n"
	      "      --version           print the version\n\n",
	      stdout);
	fputs("Exit status: 0 on success; 1 on bad data, an I/O error or a "
	      "format\nthis build cannot read (records printed before the "
	      "error stay\nprinted); 2 on a usage error, including an option, "
	      "format or\ncompression name the library does not know.\n",
	      stdout);
}

/* Prints the message, a usage line and a hint, and exits with ST_USAGE. */
static void
usage_error(int cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("pipemode: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	print_usage_lines(stderr, cmd);
	if (cmd >= 0)
		fprintf(stderr, "Try 'pipemode %s --help' for more "
				"information.\n",
			commands[cmd].name);
	else
		fputs("Try 'pipemode --help' for more information.\n", stderr);
	exit(ST_USAGE);
}

static int
find_command(const char *name)
{
	size_t i;

	for (i = 0; i < N_COMMANDS; i++)
		if (strcmp(name, commands[i].name) == 0)
			return (int)i;
	return -1;
}

/*
 * A failed close of stdout is how a full disk or a vanished reader shows up
 * when everything fit in the stdio buffer, so it is checked like a write.
 * EPIPE stays quiet: the reader left on purpose (`| head`).
 */
static int
finish_output(FILE *out, const char *name)
{
	int failed = ferror(out) != 0;
	int err = errno;

	if (fclose(out) != 0 && !failed) {
		failed = 1;
		err = errno;
	}
	if (failed && err != EPIPE)
		fprintf(stderr, "pipemode: %s: write error: %s\n", name,
			strerror(err));
	return failed ? ST_ERROR : ST_OK;
}

static void
print_version(void)
{
	printf("pipemode (libpipemode) %s\n", pipemode_version_string());
}

/* The combinations the library would take, or refuse later with a message
 * about its own option names: options of one format with another format,
 * and what only a reader can do asked of a writer.  Checked once all options
 * are in, since the format may come after them. */
static void
check_options(struct cli *c)
{
	enum format fmt = format_of(c->format);

	if (c->cmd == CMD_WRITE) {
		if (fmt == FMT_LINES)
			usage_error(c->cmd,
				    "-f %s: there is no writer for text lines "
				    "(write makes tfrecord or recordio; "
				    "`pipemode cat` prints lines)",
				    c->format);
		if (fmt == FMT_AUTO)
			usage_error(c->cmd, "%s",
				    "-f auto is for reading: say which format "
				    "to write (tfrecord or recordio)");
		if (c->compression_set && value_is(c->compression, "auto"))
			usage_error(c->cmd, "%s",
				    "-c auto is for reading: say which "
				    "compression to write (none, gzip or "
				    "zlib)");
	}
	/* With -f auto the stream may turn out to be RecordIO. */
	if (c->multipart != NULL && fmt != FMT_RECORDIO &&
	    !(fmt == FMT_AUTO && c->cmd != CMD_WRITE))
		usage_error(c->cmd,
			    "--multipart is an option of -f recordio, not of "
			    "-f %s%s",
			    c->format != NULL ? c->format : "tfrecord",
			    c->format != NULL ? "" : " (the default)");
	if (c->strip_cr && fmt != FMT_LINES)
		usage_error(c->cmd,
			    "--strip-cr is an option of -f lines, not of -f "
			    "%s%s",
			    c->format != NULL ? c->format : "tfrecord",
			    c->format != NULL ? "" : " (the default)");
	/* The tool's default, not the library's: see the top of the file. */
	if (c->cmd != CMD_WRITE && !c->compression_set)
		add_option(c, "compression", 11, "auto");
}

static void
parse_options(struct cli *c, int argc, char **argv)
{
	int ch;
	const char *eq;

	/* argv[0] is the command's name, which getopt only uses in messages
	 * it does not print (opterr = 0). */
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, short_options, long_options,
				 NULL)) != -1) {
		switch (ch) {
		case 'f':
			add_option(c, "format", 6, optarg);
			break;
		case 'c':
			add_option(c, "compression", 11, optarg);
			break;
		case OPT_MULTIPART:
			/* Checked here rather than left to the library, to
			 * name the tool's option rather than the library's. */
			if (value_is(optarg, "concat"))
				c->multipart = "concat";
			else if (value_is(optarg, "dmlc"))
				c->multipart = "dmlc";
			else
				usage_error(c->cmd,
					    "--multipart '%s': expected concat "
					    "or dmlc",
					    optarg);
			add_option(c, "recordio_multipart", 18, c->multipart);
			break;
		case OPT_STRIP_CR:
			if (c->cmd == CMD_WRITE)
				usage_error(c->cmd, "%s",
					    "--strip-cr is an option of reading "
					    "lines");
			c->strip_cr = 1;
			add_option(c, "strip_cr", 8, "1");
			break;
		case OPT_NO_VERIFY:
			if (c->cmd == CMD_WRITE)
				usage_error(c->cmd, "%s: a writer verifies "
						    "nothing",
					    "--no-verify");
			add_option(c, "verify_crc", 10, "0");
			break;
		case 'O':
			eq = strchr(optarg, '=');
			if (eq == NULL || eq == optarg)
				usage_error(c->cmd,
					    "-O '%s': expected KEY=VALUE",
					    optarg);
			add_option(c, optarg, (size_t)(eq - optarg), eq + 1);
			break;
		case 'o':
			c->output = optarg;
			break;
		case OPT_RAW:
		case '0':
			if (c->cmd != CMD_CAT)
				usage_error(c->cmd, "%s is an option of cat",
					    ch == '0' ? "-0/--null" : "--raw");
			if (c->separator_set && c->separator_set != ch)
				usage_error(c->cmd, "%s",
					    "--raw and -0/--null exclude each "
					    "other");
			c->separator_set = ch;
			c->separator = ch == '0' ? '\0' : -1;
			break;
		case 'h':
			print_help(c->cmd);
			exit(finish_output(stdout, "stdout"));
		case OPT_VERSION:
			print_version();
			exit(finish_output(stdout, "stdout"));
		case ':':
			/* optopt is the short option, or the long option's val;
			 * argv[optind - 1] names it as the user typed it. */
			usage_error(c->cmd, "option '%s' needs an argument",
				    argv[optind - 1]);
			break;
		default:
			/* optopt is a known option's val when a long option
			 * without an argument was given one (--raw=x), an
			 * unknown short option, or 0 for an unknown long one
			 * (then argv[optind - 1] is it). */
			if (optopt >= OPT_NO_VERIFY ||
			    (optopt > 0 && strchr(short_options, optopt)))
				usage_error(c->cmd,
					    "option '%s' takes no argument",
					    argv[optind - 1]);
			if (optopt > 0) {
				char opt[3] = { '-', (char)optopt, '\0' };
				usage_error(c->cmd, "unknown option '%s'", opt);
			}
			usage_error(c->cmd, "unknown option '%s'",
				    argv[optind - 1]);
		}
	}
	c->args = argv + optind;
	c->nargs = argc - optind;
	if (c->cmd != CMD_WRITE && c->nargs > 1)
		usage_error(c->cmd, "extra operand '%s' (one PATH at most)",
			    c->args[1]);
	check_options(c);
}

/* ------------------------------------------------------------- reading */

static FILE *
open_output(const struct cli *c, const char **name)
{
	static char buffer[OUT_BUFFER_SIZE];
	FILE *out = stdout;

	*name = "stdout";
	if (c->output != NULL && strcmp(c->output, "-") != 0) {
		out = fopen(c->output, "w");
		if (out == NULL) {
			fprintf(stderr, "pipemode: %s: %s\n", c->output,
				strerror(errno));
			return NULL;
		}
		*name = c->output;
	}
	/* Someone watching a slow FIFO on a terminal wants each line as it
	 * comes; everywhere else, throughput. */
	if (isatty(fileno(out)))
		setvbuf(out, NULL, _IOLBF, 0);
	else
		setvbuf(out, buffer, _IOFBF, sizeof(buffer));
	return out;
}

static int
reader_error(const pipemode_reader *r, int rc)
{
	const char *msg = pipemode_errmsg(r);

	if (msg == NULL || *msg == '\0')
		msg = pipemode_strerror(rc);
	fprintf(stderr, "pipemode: %s\n", msg);
	/* An option the library does not know is a mistake on the command
	 * line, not in the data. */
	return rc == PIPEMODE_EOPTION ? ST_USAGE : ST_ERROR;
}

static int
emit(const struct cli *c, FILE *out, pipemode_reader *r, const void *data,
     size_t len, uint64_t *records, uint64_t *bytes)
{
	switch (c->cmd) {
	case CMD_LS:
		return fprintf(out, "%" PRIu64 "\t%zu\t%08" PRIx32 "\n",
			       pipemode_record_index(r), len,
			       pipemode_crc32c(0, data, len)) < 0;
	case CMD_CAT:
		if (len > 0 && fwrite(data, 1, len, out) != len)
			return 1;
		return c->separator >= 0 && putc(c->separator, out) == EOF;
	case CMD_COUNT:
	case CMD_WRITE:
		break;
	}
	(*records)++;
	*bytes += len;
	return 0;
}

static int
run_reader(struct cli *c)
{
	pipemode_reader *r = NULL;
	pipemode_stats st;
	const char *path = c->nargs > 0 ? c->args[0] : "-";
	const char *outname;
	const void *data;
	size_t len;
	uint64_t records = 0, bytes = 0;
	FILE *out;
	int rc, status = ST_OK;

	if (strcmp(path, "-") == 0)
		rc = pipemode_open_fd(&r, STDIN_FILENO,
				      options_named(c, "stdin"));
	else
		rc = pipemode_open_path(&r, path, options_named(c, NULL));
	if (rc != PIPEMODE_OK) {
		status = reader_error(r, rc);
		pipemode_close(r);
		return status;
	}
	/* Opened after the input so that a bad input does not truncate the
	 * output file. */
	out = open_output(c, &outname);
	if (out == NULL) {
		pipemode_close(r);
		return ST_ERROR;
	}

	while ((rc = pipemode_next(r, &data, &len)) == PIPEMODE_OK) {
		if (emit(c, out, r, data, len, &records, &bytes))
			break;
	}
	if (rc == PIPEMODE_OK) {
		/* Stopped by a write error, reported by finish_output. */
		status = ST_ERROR;
	} else if (rc != PIPEMODE_EOF) {
		/* What was printed goes out before the complaint, so the
		 * two read in order on a terminal. */
		fflush(out);
		status = reader_error(r, rc);
	} else {
		if (c->cmd == CMD_COUNT)
			fprintf(out, "%" PRIu64 "\t%" PRIu64 "\n", records,
				bytes);
		memset(&st, 0, sizeof(st));
		st.size = sizeof(st);
		/* Data was dropped on request; still worth a word, since
		 * the exit status says nothing about it. */
		if (pipemode_get_stats(r, &st) == PIPEMODE_OK && st.skipped)
			fprintf(stderr,
				"pipemode: %s: skipped %" PRIu64
				" corrupt record%s\n",
				c->name != NULL ? c->name : path, st.skipped,
				st.skipped == 1 ? "" : "s");
	}
	if (finish_output(out, outname) != ST_OK && status == ST_OK)
		status = ST_ERROR;
	rc = pipemode_close(r);
	if (rc < 0 && status == ST_OK) {
		fprintf(stderr, "pipemode: %s: close: %s\n", path,
			pipemode_strerror(rc));
		status = ST_ERROR;
	}
	return status;
}

/* ------------------------------------------------------------- writing */

static int
writer_error(const pipemode_writer *w, int rc)
{
	const char *msg = pipemode_writer_errmsg(w);

	if (msg == NULL || *msg == '\0')
		msg = pipemode_strerror(rc);
	fprintf(stderr, "pipemode: %s\n", msg);
	return rc == PIPEMODE_EOPTION ? ST_USAGE : ST_ERROR;
}

/* Reads all of fd into *buf (grown as needed); the size of a regular file
 * sizes the buffer up front so a large file is read without copies. */
static int
slurp(int fd, char **buf, size_t *cap, size_t *len)
{
	struct stat sb;
	size_t want = 0;
	ssize_t n;
	char *p;

	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0)
		want = (size_t)sb.st_size + 1;
	*len = 0;
	for (;;) {
		if (*len == *cap || want > *cap) {
			size_t ncap = *cap < 65536 ? 65536 : 2 * *cap;

			if (ncap < want)
				ncap = want;
			p = realloc(*buf, ncap);
			if (p == NULL)
				oom();
			*buf = p;
			*cap = ncap;
			want = 0;
		}
		n = read(fd, *buf + *len, *cap - *len);
		if (n > 0)
			*len += (size_t)n;
		else if (n == 0)
			return 0;
		else if (errno != EINTR)
			return -1;
	}
}

static int
write_files(struct cli *c, pipemode_writer *w)
{
	char *buf = NULL;
	size_t cap = 0, len;
	int i, fd, rc, failed, status = ST_OK;

	for (i = 0; i < c->nargs && status == ST_OK; i++) {
		const char *name = c->args[i];
		int is_stdin = strcmp(name, "-") == 0;

		fd = is_stdin ? STDIN_FILENO : open(name, O_RDONLY);
		if (fd < 0) {
			fprintf(stderr, "pipemode: %s: %s\n", name,
				strerror(errno));
			status = ST_ERROR;
			break;
		}
		failed = slurp(fd, &buf, &cap, &len) != 0;
		if (failed)
			fprintf(stderr, "pipemode: %s: %s\n",
				is_stdin ? "stdin" : name, strerror(errno));
		if (!is_stdin)
			close(fd);
		if (failed) {
			status = ST_ERROR;
			break;
		}
		rc = pipemode_write(w, buf, len);
		if (rc != PIPEMODE_OK)
			status = writer_error(w, rc);
	}
	free(buf);
	return status;
}

static int
write_lines(pipemode_writer *w)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc, status = ST_OK;

	while ((n = getline(&line, &cap, stdin)) != -1) {
		if (n > 0 && line[n - 1] == '\n')
			n--;
		rc = pipemode_write(w, line, (size_t)n);
		if (rc != PIPEMODE_OK) {
			status = writer_error(w, rc);
			break;
		}
	}
	if (status == ST_OK && ferror(stdin)) {
		fprintf(stderr, "pipemode: stdin: %s\n", strerror(errno));
		status = ST_ERROR;
	}
	free(line);
	return status;
}

static int
run_writer(struct cli *c)
{
	pipemode_writer *w = NULL;
	int rc, status;
	int to_stdout = c->output == NULL || strcmp(c->output, "-") == 0;

	if (to_stdout)
		rc = pipemode_writer_open_fd(&w, STDOUT_FILENO,
					     options_named(c, "stdout"));
	else
		rc = pipemode_writer_open_path(&w, c->output,
					       options_named(c, NULL));
	if (rc != PIPEMODE_OK) {
		status = writer_error(w, rc);
		pipemode_writer_close(w);
		return status;
	}
	status = c->nargs > 0 ? write_files(c, w) : write_lines(w);
	/* Flushed here rather than by close: close frees the writer, and
	 * with it the message that says why the data did not get out. */
	if (status == ST_OK) {
		rc = pipemode_writer_flush(w);
		if (rc != PIPEMODE_OK)
			status = writer_error(w, rc);
	}
	rc = pipemode_writer_close(w);
	if (rc != PIPEMODE_OK && status == ST_OK) {
		fprintf(stderr, "pipemode: %s: %s\n",
			to_stdout ? "stdout" : c->output, pipemode_strerror(rc));
		status = ST_ERROR;
	}
	return status;
}

int
main(int argc, char **argv)
{
	struct cli c;
	int cmd;

	/* A reader that goes away must give EPIPE, an error message and
	 * status 1, not a silent death by signal. */
	signal(SIGPIPE, SIG_IGN);

	if (argc < 2)
		usage_error(-1, "%s", "missing command");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		print_help(-1);
		return finish_output(stdout, "stdout");
	}
	if (strcmp(argv[1], "--version") == 0) {
		print_version();
		return finish_output(stdout, "stdout");
	}
	if (strcmp(argv[1], "help") == 0) {
		if (argc > 3)
			usage_error(-1, "%s", "help takes one COMMAND at most");
		cmd = -1;
		if (argc == 3 && (cmd = find_command(argv[2])) < 0)
			usage_error(-1, "unknown command '%s'", argv[2]);
		print_help(cmd);
		return finish_output(stdout, "stdout");
	}
	cmd = find_command(argv[1]);
	if (cmd < 0)
		usage_error(-1, argv[1][0] == '-' ? "unknown option '%s'"
						  : "unknown command '%s'",
			    argv[1]);

	memset(&c, 0, sizeof(c));
	c.cmd = (enum command)cmd;
	c.separator = '\n';
	parse_options(&c, argc - 1, argv + 1);

	cmd = c.cmd == CMD_WRITE ? run_writer(&c) : run_reader(&c);
	free(c.opts.s);
	return cmd;
}
