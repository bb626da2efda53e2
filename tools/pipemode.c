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
 *
 * `pipemode feed` plays SageMaker's part on a laptop: it serves files through
 * the FIFOs a training program reads in Pipe Mode, one per epoch, so that
 * the program (and pipemode_open) can be tried without a training job.
 */
#define _GNU_SOURCE /* splice(2) */
#include "config.h"

#include <dirent.h>
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
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "pipemode.h"

/* Exit statuses, documented in --help. */
enum {
	ST_OK = 0,
	ST_ERROR = 1, /* bad data, I/O error, a format this build lacks */
	ST_USAGE = 2  /* the command line is wrong */
};

enum command { CMD_LS, CMD_COUNT, CMD_CAT, CMD_WRITE, CMD_FEED };

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
	[CMD_LS] = { "ls", "[OPTION]... [PATH|-|--channel NAME]",
		     "one line per record: INDEX<TAB>LENGTH<TAB>CRC32C\n"
		     "          (CRC32C of the payload, unmasked, 8 hex digits,\n"
		     "          whatever the format)" },
	[CMD_COUNT] = { "count", "[OPTION]... [PATH|-|--channel NAME]",
			"one line: RECORDS<TAB>PAYLOAD_BYTES" },
	[CMD_CAT] = { "cat", "[OPTION]... [PATH|-|--channel NAME]",
		      "each payload, followed by a newline" },
	[CMD_WRITE] = { "write", "[OPTION]... [FILE]...",
			"a stream with one record per FILE (its whole content;\n"
			"          - is stdin), or with no FILE one per stdin "
			"line (without\n          its newline)" },
	[CMD_FEED] = { "feed", "--pipe-dir DIR --channel NAME [OPTION]... "
			       "FILE|DIR...",
		       "serve the FILEs to a Pipe Mode reader, as SageMaker "
		       "does: for each\n          epoch E, the FIFO "
		       "DIR/NAME_E streams them all, in order" },
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
	OPT_STRIP_CR,
	OPT_CHANNEL,
	OPT_PIPE_DIR,
	OPT_STATE_DIR,
	OPT_CONFIG_DIR,
	OPT_EPOCH,
	OPT_EPOCHS,
	OPT_RECORD_WRAPPER,
	OPT_SHUFFLE_SEED,
	OPT_CONTENT_TYPE,
	OPT_READER_TIMEOUT
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
	{ "channel", required_argument, NULL, OPT_CHANNEL },
	{ "pipe-dir", required_argument, NULL, OPT_PIPE_DIR },
	{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
	{ "config-dir", required_argument, NULL, OPT_CONFIG_DIR },
	{ "epoch", required_argument, NULL, OPT_EPOCH },
	{ "epochs", required_argument, NULL, OPT_EPOCHS },
	{ "record-wrapper", required_argument, NULL, OPT_RECORD_WRAPPER },
	{ "shuffle-seed", required_argument, NULL, OPT_SHUFFLE_SEED },
	{ "content-type", required_argument, NULL, OPT_CONTENT_TYPE },
	{ "reader-timeout", required_argument, NULL, OPT_READER_TIMEOUT },
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
	/* A channel (ls, count, cat, feed) and where its files live. */
	const char *channel;
	const char *pipe_dir;
	const char *state_dir;
	const char *config_dir;
	const char *epoch;       /* --epoch, left to the library to check */
	/* feed */
	unsigned long epochs;    /* --epochs, default 1 */
	int recordio;            /* --record-wrapper recordio */
	int shuffle;             /* --shuffle-seed was given */
	uint64_t shuffle_seed;
	const char *content_type;
	unsigned long reader_timeout; /* --reader-timeout, 0: none */
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
		fputs("Usage: pipemode ls|count|cat|write|feed [OPTION]... "
		      "[ARG]...\n",
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
print_channel_help(void)
{
	fputs("\nReading a channel, as a training program in Pipe Mode "
	      "does (ls, count, cat):\n"
	      "      --channel NAME      read the channel's next epoch E, "
	      "the FIFO\n"
	      "                          DIR/NAME_E, instead of a PATH; E "
	      "comes from a\n"
	      "                          counter that every reader of the "
	      "channel shares\n"
	      "      --pipe-dir DIR      where the FIFOs are (default "
	      "$PIPEMODE_PIPE_DIR,\n"
	      "                          else /opt/ml/input/data)\n"
	      "      --state-dir DIR     where the epoch counter is (default\n"
	      "                          $PIPEMODE_STATE_DIR, else "
	      "/opt/ml/pipe_state)\n"
	      "      --config-dir DIR    where inputdataconfig.json is "
	      "(default\n"
	      "                          $PIPEMODE_CONFIG_DIR, else "
	      "/opt/ml/input/config)\n"
	      "      --epoch N           read epoch N; the counter is left "
	      "alone\n"
	      "  -O open_timeout=SECS    how long to wait for the FIFO and "
	      "its writer\n"
	      "                          (default 120)\n",
	      stdout);
}

static void
print_feed_help(int alone)
{
	fputs(alone ? "\nOptions:\n" : "\nFeed options:\n", stdout);
	fputs("      --channel NAME      the channel (required): the FIFOs "
	      "are NAME_0,\n"
	      "                          NAME_1, ...\n"
	      "      --pipe-dir DIR      where to make them (required; made "
	      "if missing)\n"
	      "      --epochs N          how many epochs to serve (default "
	      "1)\n"
	      "      --record-wrapper none|recordio\n"
	      "                          none (default): the files' bytes "
	      "unchanged;\n"
	      "                          recordio: each file as one RecordIO "
	      "record\n"
	      "      --shuffle-seed S    another file order each epoch, the "
	      "same for the\n"
	      "                          same S (SplitMix64 seeded with S "
	      "and the epoch,\n"
	      "                          Fisher-Yates; README.rst has the "
	      "details)\n"
	      "      --config-dir DIR    also describe the channel in\n"
	      "                          DIR/inputdataconfig.json, keeping "
	      "the other\n"
	      "                          channels there\n"
	      "      --content-type TYPE the channel's ContentType in that "
	      "file\n"
	      "      --reader-timeout S  give up (exit 1) when no reader "
	      "opens an epoch's\n"
	      "                          FIFO within S seconds (default: "
	      "wait for ever)\n",
	      stdout);
	if (!alone)
		return;
	fputs("  -h, --help              print this help\n"
	      "      --version           print the version\n\n"
	      "A DIR stands for its regular files, recursively, in byte "
	      "order of their\npaths; FILEs go in the order given.  Each "
	      "epoch's FIFO waits for a reader\nto open it and is removed "
	      "once the reader has had everything.  A reader\nthat leaves "
	      "early is reported, and the next epoch is served.  Progress\n"
	      "goes to stderr when it is a terminal.\n\n"
	      "Exit status: 0 once every epoch was served; 1 if an input "
	      "cannot be read,\na FIFO cannot be made or no reader came in time; 2 on a usage error; "
	      "130 on SIGINT and 143 on\nSIGTERM, after removing the FIFO.\n",
	      stdout);
}

static void
print_help(int cmd)
{
	size_t i;
	int reads = cmd != CMD_WRITE;

	print_usage_lines(stdout, cmd);
	if (cmd == CMD_FEED) {
		printf("Serve files through FIFOs as SageMaker does in Pipe "
		       "Mode: for each epoch E,\nmake the FIFO DIR/NAME_E, "
		       "wait for a reader and stream every FILE into it.\n");
		print_feed_help(1);
		return;
	}
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
	      "      --version           print the version\n",
	      stdout);
	if (reads)
		print_channel_help();
	if (cmd < 0)
		print_feed_help(0);
	fputs("\nExit status: 0 on success; 1 on bad data, an I/O error, a "
	      "channel's FIFO\nthat did not come in time or a format this "
	      "build cannot read (records\nprinted before the error stay "
	      "printed); 2 on a usage error, including an\noption, format or "
	      "compression name the library does not know.\n",
	      stdout);
	if (cmd < 0)
		fputs("feed's exit statuses: see 'pipemode feed --help'.\n",
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
	/* As this tree was configured: the library it runs with is the one
	 * built beside it, or one installed from the same build. */
#ifdef HAVE_ISAL_INFLATE
	printf("inflate: ISA-L igzip (configure --with-isal)\n");
#else
	printf("inflate: zlib\n");
#endif
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
	/* With -f auto the stream may turn out to be RecordIO, and so may
	 * a channel's when its config says RecordIO. */
	if (c->multipart != NULL && fmt != FMT_RECORDIO &&
	    !(fmt == FMT_AUTO && c->cmd != CMD_WRITE) &&
	    !(c->channel != NULL && c->format == NULL))
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

/* Which command takes which option.  feed shares only --channel,
 * --pipe-dir, --config-dir, --help and --version with the others: it
 * serves files and reads no records. */
static int
option_applies(enum command cmd, int ch)
{
	switch (ch) {
	case 'h':
	case OPT_VERSION:
	case ':':
	case '?':
		return 1;
	case OPT_CHANNEL:
	case OPT_PIPE_DIR:
	case OPT_CONFIG_DIR:
		return cmd != CMD_WRITE;
	case OPT_STATE_DIR:
	case OPT_EPOCH:
		return cmd != CMD_WRITE && cmd != CMD_FEED;
	case OPT_EPOCHS:
	case OPT_RECORD_WRAPPER:
	case OPT_SHUFFLE_SEED:
	case OPT_CONTENT_TYPE:
	case OPT_READER_TIMEOUT:
		return cmd == CMD_FEED;
	default:
		return cmd != CMD_FEED;
	}
}

static const char *
option_name(int ch)
{
	const struct option *o;
	static char buf[64];

	for (o = long_options; o->name != NULL; o++)
		if (o->val == ch) {
			snprintf(buf, sizeof(buf), "--%s", o->name);
			return buf;
		}
	snprintf(buf, sizeof(buf), "-%c", ch);
	return buf;
}

/* A decimal number without sign or blanks, as strtoull alone would not
 * insist. */
static int
parse_u64(const char *s, uint64_t *v)
{
	char *end;
	unsigned long long n;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*v = (uint64_t)n;
	return 0;
}

/* SageMaker's rule for channel names; the library checks it too, but a
 * name that could reach outside the pipe directory is a mistake on the
 * command line, and feed makes files with it. */
static int
channel_name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 64 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		      s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

static void
check_channel(struct cli *c)
{
	if (!channel_name_ok(c->channel))
		usage_error(c->cmd,
			    "--channel '%s': a channel name is 1 to 64 of "
			    "A-Z a-z 0-9 . _ - (and not . or ..)",
			    c->channel);
}

/* The command line of feed, once parsed. */
static void
check_feed(struct cli *c)
{
	if (c->channel == NULL)
		usage_error(c->cmd, "%s", "feed needs --channel NAME");
	check_channel(c);
	if (c->pipe_dir == NULL)
		usage_error(c->cmd, "%s",
			    "feed needs --pipe-dir DIR (where the FIFOs go)");
	if (c->nargs == 0)
		usage_error(c->cmd, "%s",
			    "feed needs a FILE or DIR to serve");
	if (c->content_type != NULL && c->config_dir == NULL)
		usage_error(c->cmd, "%s",
			    "--content-type goes into inputdataconfig.json: "
			    "it needs --config-dir");
}

/* --channel for ls, count and cat: the channel options become library
 * options, escaped like any other. */
static void
check_reader_channel(struct cli *c)
{
	const char *lone = c->pipe_dir != NULL	  ? "--pipe-dir"
			   : c->state_dir != NULL ? "--state-dir"
			   : c->config_dir != NULL ? "--config-dir"
			   : c->epoch != NULL	  ? "--epoch"
						  : NULL;

	if (c->channel == NULL) {
		if (lone != NULL)
			usage_error(c->cmd, "%s is an option of --channel",
				    lone);
		return;
	}
	check_channel(c);
	if (c->nargs > 0)
		usage_error(c->cmd,
			    "'%s': --channel reads the channel's FIFO, not "
			    "a PATH",
			    c->args[0]);
	if (c->pipe_dir != NULL)
		add_option(c, "pipe_dir", 8, c->pipe_dir);
	if (c->state_dir != NULL)
		add_option(c, "state_dir", 9, c->state_dir);
	if (c->config_dir != NULL)
		add_option(c, "config_dir", 10, c->config_dir);
	if (c->epoch != NULL)
		add_option(c, "epoch", 5, c->epoch);
}

static void
parse_options(struct cli *c, int argc, char **argv)
{
	int ch;
	const char *eq;
	uint64_t n;

	/* argv[0] is the command's name, which getopt only uses in messages
	 * it does not print (opterr = 0). */
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, short_options, long_options,
				 NULL)) != -1) {
		if (!option_applies(c->cmd, ch))
			usage_error(c->cmd, "%s does not take %s",
				    commands[c->cmd].name, option_name(ch));
		switch (ch) {
		case OPT_CHANNEL:
			c->channel = optarg;
			break;
		case OPT_PIPE_DIR:
			c->pipe_dir = optarg;
			break;
		case OPT_STATE_DIR:
			c->state_dir = optarg;
			break;
		case OPT_CONFIG_DIR:
			c->config_dir = optarg;
			break;
		case OPT_EPOCH:
			c->epoch = optarg;
			break;
		case OPT_EPOCHS:
			if (parse_u64(optarg, &n) != 0 || n == 0 ||
			    n > 1000000000)
				usage_error(c->cmd,
					    "--epochs '%s': expected a number "
					    "of epochs from 1",
					    optarg);
			c->epochs = (unsigned long)n;
			break;
		case OPT_RECORD_WRAPPER:
			/* SageMaker spells them None and RecordIO. */
			if (value_is(optarg, "none"))
				c->recordio = 0;
			else if (value_is(optarg, "recordio"))
				c->recordio = 1;
			else
				usage_error(c->cmd,
					    "--record-wrapper '%s': expected "
					    "none or recordio",
					    optarg);
			break;
		case OPT_SHUFFLE_SEED:
			if (parse_u64(optarg, &c->shuffle_seed) != 0)
				usage_error(c->cmd,
					    "--shuffle-seed '%s': expected a "
					    "number from 0 to 2^64-1",
					    optarg);
			c->shuffle = 1;
			break;
		case OPT_READER_TIMEOUT:
			if (parse_u64(optarg, &n) != 0 || n == 0 ||
			    n > 86400 * 365)
				usage_error(c->cmd,
					    "--reader-timeout '%s': expected "
					    "whole seconds from 1",
					    optarg);
			c->reader_timeout = (unsigned long)n;
			break;
		case OPT_CONTENT_TYPE:
			c->content_type = optarg;
			break;
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
	if (c->cmd == CMD_FEED) {
		check_feed(c);
		return;
	}
	if (c->cmd != CMD_WRITE) {
		check_reader_channel(c);
		if (c->nargs > 1)
			usage_error(c->cmd,
				    "extra operand '%s' (one PATH at most)",
				    c->args[1]);
	}
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
	case CMD_FEED:
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

	if (c->channel != NULL) {
		/* The library names the FIFO (or file) it opened. */
		path = c->channel;
		rc = pipemode_open(&r, c->channel, options_named(c, NULL));
	} else if (strcmp(path, "-") == 0)
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
		if (pipemode_get_stats(r, &st) == PIPEMODE_OK && st.skipped) {
			if (c->channel != NULL && !c->named)
				fprintf(stderr,
					"pipemode: channel %s, epoch %" PRId64
					": ",
					c->channel, st.epoch);
			else
				fprintf(stderr, "pipemode: %s: ",
					c->name != NULL ? c->name : path);
			fprintf(stderr, "skipped %" PRIu64
					" corrupt record%s\n",
				st.skipped, st.skipped == 1 ? "" : "s");
		}
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

/* ------------------------------------------------------------- feeding */

/*
 * `pipemode feed` does what SageMaker does for a channel in Pipe Mode: for
 * epoch E it makes the FIFO <pipe_dir>/<channel>_E, waits for a reader to
 * open it, streams every input into it and closes it (the reader's EOF),
 * then removes it and goes on with E + 1.
 */

/* Splice and read/write move this much at a time: a whole enlarged pipe. */
#define FEED_CHUNK (1u << 20)

/* RecordIO, as the library's writer cuts a record in concat mode: a length
 * must fit 29 bits, and a record of 2^29 bytes or more goes out in parts of
 * 2^29 - 4 bytes (a multiple of 4, so only the last part is padded). */
#define RIO_MAGIC 0xced7230aU
#define RIO_LIMIT ((uint64_t)1 << 29)
#define RIO_CUT (RIO_LIMIT - 4)

/* What a signal handler must clean up: the FIFO being served, or the
 * temporary config file being written.  The path is complete before the
 * flag is set. */
static char cleanup_path[4096];
static volatile sig_atomic_t cleanup_armed;
static volatile sig_atomic_t progress_shown;

static void
on_signal(int sig)
{
	int saved = errno;

	if (cleanup_armed)
		(void)unlink(cleanup_path);
	/* Leave the terminal on a fresh line after the progress line. */
	if (progress_shown)
		(void)!write(STDERR_FILENO, "\n", 1);
	errno = saved;
	_exit(128 + sig);
}

static void
arm_cleanup(const char *path)
{
	cleanup_armed = 0;
	snprintf(cleanup_path, sizeof(cleanup_path), "%s", path);
	cleanup_armed = 1;
}

/* --reader-timeout: SIGALRM cuts the blocking open of the FIFO short. */
static volatile sig_atomic_t reader_timed_out;

static void
on_alarm(int sig)
{
	(void)sig;
	reader_timed_out = 1;
}

/* SIGALRM after seconds, then every 100 ms; 0 disarms it. */
static void
set_reader_alarm(unsigned long seconds)
{
	static int caught;
	struct itimerval it;

	if (!caught) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_alarm; /* no SA_RESTART: open() fails
					     with EINTR */
		sigemptyset(&sa.sa_mask);
		sigaction(SIGALRM, &sa, NULL);
		caught = 1;
	}
	memset(&it, 0, sizeof(it));
	if (seconds > 0) {
		it.it_value.tv_sec = (time_t)seconds;
		it.it_interval.tv_usec = 100000;
	}
	setitimer(ITIMER_REAL, &it, NULL);
}

static void
catch_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa, old;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		/* A signal ignored by whoever started us (e.g. SIGINT for a
		 * background job of a script) stays ignored. */
		if (sigaction(sigs[i], NULL, &old) == 0 &&
		    old.sa_handler == SIG_IGN)
			continue;
		sigaction(sigs[i], &sa, NULL);
	}
}

struct file_list {
	char **v;
	size_t n, cap;
};

static void
list_add(struct file_list *l, const char *path)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap < 16 ? 16 : 2 * l->cap;
		char **v = realloc(l->v, ncap * sizeof(*v));

		if (v == NULL)
			oom();
		l->v = v;
		l->cap = ncap;
	}
	if ((l->v[l->n] = strdup(path)) == NULL)
		oom();
	l->n++;
}

static void
list_free(struct file_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* strcmp compares as unsigned char: the byte order in which S3 lists
 * keys. */
static int
cmp_paths(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *
join_path(const char *dir, const char *name)
{
	size_t n = strlen(dir);
	char *p = malloc(n + strlen(name) + 2);

	if (p == NULL)
		oom();
	/* "dir/" + "x" gives "dir/x", not "dir//x". */
	sprintf(p, "%s%s%s", dir, n > 0 && dir[n - 1] == '/' ? "" : "/",
		name);
	return p;
}

/* An input must be readable before any FIFO is made: a missing file found
 * in the middle of epoch 3 would leave a reader with a cut stream. */
static int
check_readable(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "pipemode feed: %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

/* Adds the regular files under dir, recursively, unsorted.  Symbolic links
 * to files count as files; links to directories are not followed, so that
 * a loop cannot make the list endless. */
static int
walk_dir(struct file_list *l, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct stat sb;
	int rc = 0;

	if (d == NULL) {
		fprintf(stderr, "pipemode feed: %s: %s\n", dir,
			strerror(errno));
		return -1;
	}
	while (rc == 0) {
		char *path;

		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0) {
				fprintf(stderr, "pipemode feed: %s: %s\n", dir,
					strerror(errno));
				rc = -1;
			}
			break;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		path = join_path(dir, de->d_name);
		if (lstat(path, &sb) != 0) {
			fprintf(stderr, "pipemode feed: %s: %s\n", path,
				strerror(errno));
			rc = -1;
		} else if (S_ISDIR(sb.st_mode)) {
			rc = walk_dir(l, path);
		} else if (S_ISLNK(sb.st_mode)) {
			if (stat(path, &sb) != 0) {
				fprintf(stderr, "pipemode feed: %s: %s\n",
					path, strerror(errno));
				rc = -1;
			} else if (S_ISREG(sb.st_mode)) {
				list_add(l, path);
			}
		} else if (S_ISREG(sb.st_mode)) {
			list_add(l, path);
		}
		free(path);
	}
	closedir(d);
	return rc;
}

/* The inputs, in the order of the first epoch without a shuffle. */
static int
collect_inputs(const struct cli *c, struct file_list *files)
{
	struct file_list sub = { NULL, 0, 0 };
	struct stat sb;
	size_t i;
	int k;

	for (k = 0; k < c->nargs; k++) {
		const char *arg = c->args[k];

		if (stat(arg, &sb) != 0) {
			fprintf(stderr, "pipemode feed: %s: %s\n", arg,
				strerror(errno));
			return -1;
		}
		if (S_ISREG(sb.st_mode)) {
			list_add(files, arg);
			continue;
		}
		if (!S_ISDIR(sb.st_mode)) {
			fprintf(stderr,
				"pipemode feed: %s: not a regular file or a "
				"directory\n",
				arg);
			return -1;
		}
		if (walk_dir(&sub, arg) != 0) {
			list_free(&sub);
			return -1;
		}
		qsort(sub.v, sub.n, sizeof(*sub.v), cmp_paths);
		for (i = 0; i < sub.n; i++)
			list_add(files, sub.v[i]);
		list_free(&sub);
	}
	for (i = 0; i < files->n; i++)
		if (check_readable(files->v[i]) != 0)
			return -1;
	return 0;
}

/*
 * The shuffle, documented in README.rst so that other programs can
 * reproduce it: SplitMix64 (Steele, Lea and Flood, 2014) started at state
 * S XOR (E * 0xd1b54a32d192ed03), then Fisher-Yates from the end: for i =
 * n-1 down to 1, swap items i and next() mod (i+1).
 */
static uint64_t
splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
shuffle_order(size_t *order, size_t n, uint64_t seed, uint64_t epoch)
{
	uint64_t state = seed ^ (epoch * 0xd1b54a32d192ed03ULL);
	size_t i, j, t;

	for (i = n; i-- > 1;) {
		j = (size_t)(splitmix64(&state) % (uint64_t)(i + 1));
		t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
}

/* mkdir -p, for the pipe and config directories. */
static int
make_dirs(const char *dir)
{
	char *p = strdup(dir), *s, save;
	struct stat sb;
	int err = 0;

	if (p == NULL)
		oom();
	for (s = p + (*p == '/'); err == 0; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		save = *s;
		*s = '\0';
		if (mkdir(p, 0777) != 0 && errno != EEXIST)
			err = errno;
		*s = save;
		if (save == '\0')
			break;
	}
	if (err == 0 && stat(dir, &sb) != 0)
		err = errno;
	else if (err == 0 && !S_ISDIR(sb.st_mode))
		err = ENOTDIR;
	if (err != 0)
		fprintf(stderr, "pipemode feed: %s: %s\n", dir,
			strerror(err));
	free(p);
	return err == 0 ? 0 : -1;
}

/*
 * inputdataconfig.json, as SageMaker writes it for the training program:
 * the channel's entry is replaced, every other channel kept.  The file is
 * read, changed and renamed into place under a lock on the directory, so
 * that two feeds starting together both get their channel in.
 */
static int
write_config(const struct cli *c)
{
	char *path = join_path(c->config_dir, "inputdataconfig.json");
	char *tmp = join_path(c->config_dir, ".inputdataconfig.json.XXXXXX");
	json_t *root = NULL, *ch;
	json_error_t jerr;
	struct stat sb;
	mode_t mask;
	int dfd = -1, fd = -1, rc = -1;

	if (make_dirs(c->config_dir) != 0)
		goto out;
	dfd = open(c->config_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || flock(dfd, LOCK_EX) != 0) {
		fprintf(stderr, "pipemode feed: %s: %s\n", c->config_dir,
			strerror(errno));
		goto out;
	}
	if (stat(path, &sb) == 0) {
		root = json_load_file(path, 0, &jerr);
		if (root == NULL) {
			fprintf(stderr,
				"pipemode feed: %s: line %d: %s (left as it "
				"is)\n",
				path, jerr.line, jerr.text);
			goto out;
		}
		if (!json_is_object(root)) {
			fprintf(stderr,
				"pipemode feed: %s: not a JSON object of "
				"channels (left as it is)\n",
				path);
			goto out;
		}
	} else if (errno != ENOENT) {
		fprintf(stderr, "pipemode feed: %s: %s\n", path,
			strerror(errno));
		goto out;
	} else if ((root = json_object()) == NULL) {
		oom();
	}
	ch = json_pack("{s:s, s:s, s:s}", "TrainingInputMode", "Pipe",
		       "S3DistributionType", "FullyReplicated",
		       "RecordWrapperType", c->recordio ? "RecordIO" : "None");
	if (ch == NULL)
		oom();
	if (c->content_type != NULL &&
	    json_object_set_new(ch, "ContentType",
				json_string(c->content_type)) != 0) {
		json_decref(ch);
		fprintf(stderr,
			"pipemode feed: --content-type: not valid UTF-8\n");
		goto out;
	}
	if (json_object_set_new(root, c->channel, ch) != 0)
		oom();

	fd = mkstemp(tmp);
	if (fd < 0) {
		fprintf(stderr, "pipemode feed: %s: %s\n", tmp,
			strerror(errno));
		goto out;
	}
	arm_cleanup(tmp);
	mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask) != 0 ||
	    json_dumpfd(root, fd, JSON_INDENT(4)) != 0 ||
	    write(fd, "\n", 1) != 1 || fsync(fd) != 0) {
		fprintf(stderr, "pipemode feed: %s: %s\n", tmp,
			strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		fprintf(stderr, "pipemode feed: %s: %s\n", tmp,
			strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		fprintf(stderr, "pipemode feed: %s: %s\n", path,
			strerror(errno));
		goto out;
	}
	cleanup_armed = 0;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc != 0 && cleanup_armed)
		unlink(tmp);
	cleanup_armed = 0;
	if (dfd >= 0)
		close(dfd); /* and with it the lock */
	json_decref(root);
	free(path);
	free(tmp);
	return rc;
}

enum { SEND_OK = 0, SEND_LEFT = 1, SEND_ERROR = -1 };

/* One epoch being served. */
struct feed {
	const struct cli *c;
	const char *fifo;     /* its path, for messages */
	int fd;               /* its write end */
	unsigned long epoch;
	uint64_t sent;        /* bytes into the FIFO so far */
	uint64_t total;       /* bytes it will take in all */
	int use_splice;
	char *buf;            /* for read/write when splice cannot */
	/* progress, on a terminal only */
	int progress;
	struct timespec start, last;
	int shown_len;
};

static double
seconds_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	       (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void
human_bytes(char *out, size_t size, double n)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	size_t u = 0;

	while (n >= 1024 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
		n /= 1024;
		u++;
	}
	snprintf(out, size, u == 0 ? "%.0f %s" : "%.1f %s", n, unit[u]);
}

/* One line, rewritten in place with \r: what is being served, how much
 * and how fast. */
static void
progress_line(struct feed *f, const char *what)
{
	char line[256], done[32], all[32], rate[32];
	struct timespec now;
	double secs;
	int n;

	clock_gettime(CLOCK_MONOTONIC, &now);
	secs = seconds_between(&f->start, &now);
	human_bytes(done, sizeof(done), (double)f->sent);
	human_bytes(all, sizeof(all), (double)f->total);
	human_bytes(rate, sizeof(rate), secs > 0 ? (double)f->sent / secs : 0);
	if (what != NULL)
		n = snprintf(line, sizeof(line), "%s (epoch %lu/%lu): %s",
			     f->fifo, f->epoch + 1, f->c->epochs, what);
	else
		n = snprintf(line, sizeof(line),
			     "%s (epoch %lu/%lu): %s of %s, %s/s", f->fifo,
			     f->epoch + 1, f->c->epochs, done, all, rate);
	if (n < 0)
		return;
	if (n >= (int)sizeof(line))
		n = (int)sizeof(line) - 1;
	/* Spaces over what is left of a longer line before. */
	fprintf(stderr, "\r%s%*s", line,
		f->shown_len > n ? f->shown_len - n : 0, "");
	fflush(stderr);
	f->shown_len = n;
	f->last = now;
	progress_shown = 1;
}

static void
progress_tick(struct feed *f)
{
	struct timespec now;

	if (!f->progress)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (seconds_between(&f->last, &now) >= 0.25)
		progress_line(f, NULL);
}

/* Ends the progress line, so that a message or the next epoch starts on a
 * line of its own. */
static void
progress_end(struct feed *f, int final)
{
	if (!f->progress || !progress_shown)
		return;
	if (final)
		progress_line(f, NULL);
	fputc('\n', stderr);
	progress_shown = 0;
	f->shown_len = 0;
}

static int
send_error(struct feed *f, int err)
{
	if (err == EPIPE)
		return SEND_LEFT;
	progress_end(f, 0);
	fprintf(stderr, "pipemode feed: %s: %s\n", f->fifo, strerror(err));
	return SEND_ERROR;
}

static int
send_bytes(struct feed *f, const void *data, size_t len)
{
	const char *p = data;
	ssize_t n;

	while (len > 0) {
		n = write(f->fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return send_error(f, errno);
		}
		p += n;
		len -= (size_t)n;
		f->sent += (uint64_t)n;
	}
	progress_tick(f);
	return SEND_OK;
}

/*
 * Streams up to limit bytes of in (a file named path) into the FIFO; *copied
 * says how many went.  splice(2) moves them without a copy through user
 * space; where it cannot, or fails in any way but EPIPE, read and write do
 * the rest, and say which side failed.
 */
static int
send_file(struct feed *f, int in, const char *path, uint64_t limit,
	  uint64_t *copied)
{
	ssize_t n;
	size_t want;
	int rc;

	*copied = 0;
	while (*copied < limit) {
		want = limit - *copied < FEED_CHUNK ? (size_t)(limit - *copied)
						    : FEED_CHUNK;
		if (f->use_splice) {
			n = splice(in, NULL, f->fd, NULL, want, SPLICE_F_MORE);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EPIPE)
				return SEND_LEFT;
			if (n < 0) {
				f->use_splice = 0;
				continue;
			}
			if (n == 0)
				break;
			*copied += (uint64_t)n;
			f->sent += (uint64_t)n;
			progress_tick(f);
			continue;
		}
		if (f->buf == NULL && (f->buf = malloc(FEED_CHUNK)) == NULL)
			oom();
		n = read(in, f->buf, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			progress_end(f, 0);
			fprintf(stderr, "pipemode feed: %s: %s\n", path,
				strerror(errno));
			return SEND_ERROR;
		}
		if (n == 0)
			break;
		/* send_bytes counts them in f->sent. */
		if ((rc = send_bytes(f, f->buf, (size_t)n)) != SEND_OK)
			return rc;
		*copied += (uint64_t)n;
	}
	return SEND_OK;
}

static void
store_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* One file as one RecordIO record, in parts if it must be (see RIO_CUT).
 * The length is the file's size when the epoch began; a file that shrinks
 * meanwhile is an error, since its header already promised the bytes. */
static int
send_recordio(struct feed *f, int in, const char *path, uint64_t size)
{
	static const unsigned char zeros[4];
	unsigned char head[8];
	uint64_t left = size, part, copied;
	unsigned flag = size < RIO_LIMIT ? 0 : 1;
	int rc;

	do {
		part = left > RIO_CUT && flag != 0 ? RIO_CUT : left;
		if (flag != 0 && part == left)
			flag = 3;
		store_le32(head, RIO_MAGIC);
		store_le32(head + 4, (uint32_t)(flag << 29) | (uint32_t)part);
		if ((rc = send_bytes(f, head, sizeof(head))) != SEND_OK)
			return rc;
		rc = send_file(f, in, path, part, &copied);
		if (rc != SEND_OK)
			return rc;
		if (copied < part) {
			progress_end(f, 0);
			fprintf(stderr,
				"pipemode feed: %s: shrank while being fed "
				"(%" PRIu64 " bytes, %" PRIu64 " expected)\n",
				path, size - left + copied, size);
			return SEND_ERROR;
		}
		left -= part;
		if (flag == 1)
			flag = 2;
	} while (left > 0);
	if (size % 4 != 0)
		return send_bytes(f, zeros, 4 - size % 4);
	return SEND_OK;
}

/* Every input once, in the given order, into the open FIFO. */
static int
send_epoch(struct feed *f, const struct file_list *files,
	   const size_t *order)
{
	struct stat sb;
	uint64_t copied;
	size_t i;
	int in, rc = SEND_OK;

	for (i = 0; i < files->n && rc == SEND_OK; i++) {
		const char *path = files->v[order[i]];

		in = open(path, O_RDONLY | O_CLOEXEC);
		if (in < 0 || fstat(in, &sb) != 0) {
			progress_end(f, 0);
			fprintf(stderr, "pipemode feed: %s: %s\n", path,
				strerror(errno));
			if (in >= 0)
				close(in);
			return SEND_ERROR;
		}
		if (f->c->recordio)
			rc = send_recordio(f, in, path, (uint64_t)sb.st_size);
		else
			rc = send_file(f, in, path, UINT64_MAX, &copied);
		close(in);
	}
	return rc;
}

static uint64_t
epoch_bytes(const struct cli *c, const struct file_list *files)
{
	struct stat sb;
	uint64_t total = 0, size;
	size_t i;

	for (i = 0; i < files->n; i++) {
		if (stat(files->v[i], &sb) != 0)
			continue;
		size = (uint64_t)sb.st_size;
		total += size;
		if (c->recordio)
			total += 8 * (size < RIO_LIMIT ? 1
						       : (size + RIO_CUT - 1) /
							 RIO_CUT) +
				 (4 - size % 4) % 4;
	}
	return total;
}

/* Makes the FIFO for an epoch, replacing whatever a run before left. */
static int
make_fifo(const char *path)
{
	struct stat sb;

	if (lstat(path, &sb) == 0) {
		if (S_ISDIR(sb.st_mode)) {
			fprintf(stderr,
				"pipemode feed: %s: a directory is in the "
				"FIFO's place\n",
				path);
			return -1;
		}
		if (unlink(path) != 0) {
			fprintf(stderr, "pipemode feed: %s: %s\n", path,
				strerror(errno));
			return -1;
		}
	}
	arm_cleanup(path);
	if (mkfifo(path, 0644) != 0) {
		cleanup_armed = 0;
		fprintf(stderr, "pipemode feed: %s: mkfifo: %s\n", path,
			strerror(errno));
		return -1;
	}
	return 0;
}

static int
run_feed(struct cli *c)
{
	struct file_list files = { NULL, 0, 0 };
	struct feed f;
	size_t *order = NULL, i;
	char *fifo = NULL, name[96];
	unsigned long e;
	int rc, status = ST_ERROR;

	memset(&f, 0, sizeof(f));
	f.c = c;
	f.fd = -1;
	f.use_splice = 1;
	f.progress = isatty(STDERR_FILENO);
	catch_signals();

	if (collect_inputs(c, &files) != 0)
		goto out;
	if (files.n == 0)
		fprintf(stderr,
			"pipemode feed: warning: no files to serve: every "
			"epoch is an empty stream\n");
	if (make_dirs(c->pipe_dir) != 0)
		goto out;
	/* Before the first FIFO: a reader opening it reads the config. */
	if (c->config_dir != NULL && write_config(c) != 0)
		goto out;
	order = malloc((files.n + 1) * sizeof(*order));
	if (order == NULL)
		oom();

	for (e = 0; e < c->epochs; e++) {
		for (i = 0; i < files.n; i++)
			order[i] = i;
		if (c->shuffle)
			shuffle_order(order, files.n, c->shuffle_seed, e);
		snprintf(name, sizeof(name), "%s_%lu", c->channel, e);
		free(fifo);
		fifo = join_path(c->pipe_dir, name);
		f.fifo = fifo;
		f.epoch = e;
		f.sent = 0;
		f.total = epoch_bytes(c, &files);
		if (make_fifo(fifo) != 0)
			goto out;
		if (f.progress) {
			clock_gettime(CLOCK_MONOTONIC, &f.start);
			progress_line(&f, "waiting for a reader");
		}
		/* Blocks until a reader opens the other end: the point.
		 * With --reader-timeout, SIGALRM ends the wait; it repeats
		 * every 100 ms after the deadline, so that one arriving just
		 * before open() blocks is followed by another. */
		reader_timed_out = 0;
		if (c->reader_timeout > 0)
			set_reader_alarm(c->reader_timeout);
		while ((f.fd = open(fifo, O_WRONLY | O_CLOEXEC)) < 0 &&
		       errno == EINTR && !reader_timed_out)
			;
		if (c->reader_timeout > 0)
			set_reader_alarm(0);
		if (f.fd < 0 && reader_timed_out) {
			progress_end(&f, 0);
			fprintf(stderr,
				"pipemode feed: %s: no reader opened it within "
				"%lu s (--reader-timeout)\n",
				fifo, c->reader_timeout);
			goto out;
		}
		if (f.fd < 0) {
			progress_end(&f, 0);
			fprintf(stderr, "pipemode feed: %s: %s\n", fifo,
				strerror(errno));
			goto out;
		}
		/* The rate counts from here, first shown a tick later. */
		clock_gettime(CLOCK_MONOTONIC, &f.start);
		f.last = f.start;
		/* Fewer, larger transfers; a refusal only costs speed. */
		(void)fcntl(f.fd, F_SETPIPE_SZ, (int)FEED_CHUNK);
		rc = send_epoch(&f, &files, order);
		if (rc == SEND_ERROR)
			goto out;
		progress_end(&f, rc == SEND_OK);
		if (rc == SEND_LEFT)
			fprintf(stderr,
				"pipemode feed: %s_%lu: reader left after "
				"%" PRIu64 " bytes\n",
				c->channel, e, f.sent);
		/* Closing gives the reader its EOF; the FIFO is not needed
		 * once it is open, so it goes now. */
		close(f.fd);
		f.fd = -1;
		/* Disarmed only once gone, so that no signal can leave it. */
		rc = unlink(fifo) != 0 && errno != ENOENT ? errno : 0;
		cleanup_armed = 0;
		if (rc != 0) {
			fprintf(stderr, "pipemode feed: %s: %s\n", fifo,
				strerror(rc));
			goto out;
		}
	}
	status = ST_OK;
out:
	if (f.fd >= 0)
		close(f.fd);
	if (cleanup_armed) {
		cleanup_armed = 0;
		unlink(cleanup_path);
	}
	free(f.buf);
	free(order);
	free(fifo);
	list_free(&files);
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
	c.epochs = 1;
	parse_options(&c, argc - 1, argv + 1);

	switch (c.cmd) {
	case CMD_WRITE:
		cmd = run_writer(&c);
		break;
	case CMD_FEED:
		cmd = run_feed(&c);
		break;
	default:
		cmd = run_reader(&c);
		break;
	}
	free(c.opts.s);
	return cmd;
}
