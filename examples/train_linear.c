/* SPDX-License-Identifier: Apache-2.0 */
/*
 * train_linear: a training program in Pipe Mode.  It fits a linear model by
 * stochastic gradient descent on a SageMaker channel read for several
 * epochs, and checks it on a validation channel after each epoch.
 *
 *   train_linear train [--train-channel NAME] [--validation-channel NAME]
 *                      [--epochs E] [--learning-rate LR] [--batch-size B]
 *                      [--pipe-dir DIR] [--state-dir DIR] [--config-dir DIR]
 *                      [--open-timeout SECS] [-O OPTIONS]
 *   train_linear generate --out DIR [--records N] [--features D]
 *                      [--files K] [--validation-records M]
 *                      [--format tfrecord|recordio] [--noise SD] [--seed S]
 *
 * Introduces: pipemode_open, which opens the next epoch of a channel
 * (<pipe_dir>/<channel>_<N>, N counted in a state file shared with every
 * other reader of the channel) each time it is called, and
 * pipemode_get_stats for the share of each epoch spent waiting for input.
 * generate writes its files with the writer (pipemode_writer_open_path,
 * pipemode_write, pipemode_writer_close).
 *
 * A record is one example, little-endian throughout:
 *
 *   u32       D, the number of features
 *   f32 x D   the features x[0..D)
 *   f32       the label y
 *
 * so a record of D features is 4 * D + 8 bytes.  Every record of a run must
 * have the same D.  The model is y ~ b + w . x; each step moves b and w
 * against the mean gradient of the squared error over a mini-batch of B
 * records (B = 1 is plain per-record SGD).  The loss printed for an epoch is
 * the mean squared error of each record's prediction made just before the
 * model learned from it, so it is a fair estimate, not a memorised one.
 *
 * train prints a line an epoch (defaults: channel training, no validation,
 * 1 epoch, LR 0.1, B 16):
 *
 *   epoch 1 (training_0): train mse 0.249245, 3000 records, 0.004 s,
 *   750000 records/s, 35% waiting for input; validation mse 0.010350,
 *   600 records
 *
 * then the fitted model.  The channel options (--pipe-dir, --state-dir,
 * --config-dir, --open-timeout, then -O, which takes any reader option
 * such as format=recordio) go to pipemode_open as its option string; left
 * out, the library falls back to $PIPEMODE_PIPE_DIR, $PIPEMODE_STATE_DIR,
 * $PIPEMODE_CONFIG_DIR and then SageMaker's /opt/ml paths.  Any error from
 * the library is printed with pipemode_errmsg and exits 1; a bad command
 * line exits 2.
 *
 * generate: DIR/train/part-0000.tfrecord .. part-<K-1>, and
 * DIR/validation/part-0000.tfrecord, of y = w . x + b + noise with x
 * uniform in [-1, 1), noise normal with standard deviation SD, and w and b
 * drawn from the seed and printed: the same seed gives the same files.
 *
 * Build against an installed library with:
 *   cc train_linear.c $(pkg-config --cflags --libs libpipemode) -lm
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <pipemode.h>

#define RECORD_SIZE(d) (4 * (uint64_t)(d) + 8)
/* A record's D must give a size the reader can deliver at all. */
#define MAX_FEATURES (1u << 24)

static const char *progname = "train_linear";

static void
usage_to(FILE *f)
{
	fprintf(f,
		"usage: %s train [--train-channel NAME] "
		"[--validation-channel NAME]\n"
		"         [--epochs E] [--learning-rate LR] [--batch-size B]\n"
		"         [--pipe-dir DIR] [--state-dir DIR] [--config-dir DIR]\n"
		"         [--open-timeout SECS] [-O OPTIONS]\n"
		"       %s generate --out DIR [--records N] [--features D] "
		"[--files K]\n"
		"         [--validation-records M] "
		"[--format tfrecord|recordio]\n"
		"         [--noise SD] [--seed S]\n",
		progname, progname);
}

static void
usage(void)
{
	usage_to(stderr);
	exit(2);
}

static void
usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "%s: %s: %s\n", progname, what, arg);
	usage();
}

static void *
xmalloc(size_t n)
{
	void *p = malloc(n);

	if (p == NULL) {
		fprintf(stderr, "%s: out of memory\n", progname);
		exit(1);
	}
	return p;
}

static double
seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------- the command line */

/*
 * Whether argv[*i] is the option name, given as "NAME VALUE" or
 * "NAME=VALUE"; if so *value is set and *i moved past the value.
 */
static int
option(int argc, char **argv, int *i, const char *name, const char **value)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n) != 0)
		return 0;
	if (argv[*i][n] == '=') {
		*value = argv[*i] + n + 1;
		return 1;
	}
	if (argv[*i][n] != '\0')
		return 0;
	if (*i + 1 >= argc)
		usage_error("missing value after", name);
	*value = argv[++*i];
	return 1;
}

static unsigned long
parse_count(const char *name, const char *s, unsigned long min,
	    unsigned long max)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 ||
	    v < min || v > max) {
		fprintf(stderr, "%s: %s: not a whole number from %lu to %lu: "
			"%s\n", progname, name, min, max, s);
		usage();
	}
	return v;
}

static double
parse_positive(const char *name, const char *s)
{
	double v;
	char *end;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end != '\0' || errno != 0 || !(v >= 0) ||
	    !isfinite(v)) {
		fprintf(stderr, "%s: %s: not a number >= 0: %s\n", progname,
			name, s);
		usage();
	}
	return v;
}

/* The option string of pipemode_open: "key=value" pairs joined by commas,
 * with ',' and '\' in a value escaped so that a path keeps them. */
struct options {
	char *s;
	size_t len, cap;
};

static void
options_append(struct options *o, const char *text, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		o->cap = 2 * (o->len + n + 1);
		o->s = realloc(o->s, o->cap);
		if (o->s == NULL) {
			fprintf(stderr, "%s: out of memory\n", progname);
			exit(1);
		}
	}
	memcpy(o->s + o->len, text, n);
	o->len += n;
	o->s[o->len] = '\0';
}

static void
options_add(struct options *o, const char *key, const char *value)
{
	const char *p;

	if (o->len > 0)
		options_append(o, ",", 1);
	options_append(o, key, strlen(key));
	options_append(o, "=", 1);
	for (p = value; *p != '\0'; p++) {
		if (*p == ',' || *p == '\\')
			options_append(o, "\\", 1);
		options_append(o, p, 1);
	}
}

/* -O: reader options as they are, already in the library's syntax. */
static void
options_add_raw(struct options *o, const char *text)
{
	if (text[0] == '\0')
		return;
	if (o->len > 0)
		options_append(o, ",", 1);
	options_append(o, text, strlen(text));
}

/* ---------------------------------------------------------------- records */

static uint32_t
get_u32le(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* The payload is the reader's buffer, with no alignment promised: floats
 * are assembled from bytes, never read through a cast pointer. */
static float
get_f32le(const unsigned char *p)
{
	uint32_t u = get_u32le(p);
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

static void
put_u32le(unsigned char *p, uint32_t u)
{
	p[0] = (unsigned char)u;
	p[1] = (unsigned char)(u >> 8);
	p[2] = (unsigned char)(u >> 16);
	p[3] = (unsigned char)(u >> 24);
}

static void
put_f32le(unsigned char *p, float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	put_u32le(p, u);
}

/* ------------------------------------------------------------------ model */

struct model {
	uint32_t d;   /* features; 0 until the first record says */
	double *w;    /* d weights */
	double b;
	double *x;    /* the record being used, decoded */
	double *gw;   /* the batch's gradient */
	double gb;
	unsigned long in_batch;
};

/* Where a record came from, for messages. */
struct place {
	const char *channel;
	int64_t epoch;
	pipemode_reader *r;
};

/*
 * A record the layout does not allow: say where, as the library does.  In
 * File mode (a directory in place of the FIFO) the index and offset count
 * within the current file, so say which file of the pass it is.
 */
static void
record_error(const struct place *at, const char *what)
{
	pipemode_stats st;

	st.size = sizeof(st);
	fprintf(stderr, "%s: %s_%lld", progname, at->channel,
		(long long)at->epoch);
	if (pipemode_get_stats(at->r, &st) == PIPEMODE_OK && st.files > 1)
		fprintf(stderr, " (file %llu of the pass)",
			(unsigned long long)st.files);
	fprintf(stderr, ": record %llu at byte %llu: %s\n",
		(unsigned long long)pipemode_record_index(at->r),
		(unsigned long long)pipemode_byte_offset(at->r), what);
	exit(1);
}

/*
 * Check one record against the layout, size the model on the first one, and
 * decode the features into m->x.  Returns the label.
 */
static double
decode(struct model *m, const struct place *at, const unsigned char *p,
       size_t len)
{
	char what[128];
	uint32_t d, j;
	double y = 0;

	if (len < 8) {
		snprintf(what, sizeof(what), "%zu bytes, too short for a "
			 "record (4 * D + 8 bytes)", len);
		record_error(at, what);
	}
	d = get_u32le(p);
	if (d == 0 || d > MAX_FEATURES) {
		snprintf(what, sizeof(what), "D = %lu features (1 to %lu "
			 "allowed)", (unsigned long)d,
			 (unsigned long)MAX_FEATURES);
		record_error(at, what);
	}
	if (RECORD_SIZE(d) != len) {
		snprintf(what, sizeof(what), "%zu bytes, but D = %lu features "
			 "make a record of %llu bytes", len, (unsigned long)d,
			 (unsigned long long)RECORD_SIZE(d));
		record_error(at, what);
	}
	if (m->d == 0) {
		m->d = d;
		m->w = xmalloc(d * sizeof(*m->w));
		m->x = xmalloc(d * sizeof(*m->x));
		m->gw = xmalloc(d * sizeof(*m->gw));
		for (j = 0; j < d; j++)
			m->w[j] = m->gw[j] = 0;
		m->b = m->gb = 0;
		m->in_batch = 0;
	} else if (d != m->d) {
		snprintf(what, sizeof(what), "D = %lu features where the "
			 "first record had %lu", (unsigned long)d,
			 (unsigned long)m->d);
		record_error(at, what);
	}
	/* j == d is the label.  One NaN would spoil the model for good. */
	for (j = 0; j <= d; j++) {
		y = get_f32le(p + 4 + 4 * (size_t)j);
		if (!isfinite(y)) {
			if (j < d)
				snprintf(what, sizeof(what), "feature %lu is "
					 "not a finite number",
					 (unsigned long)j);
			else
				snprintf(what, sizeof(what), "the label is "
					 "not a finite number");
			record_error(at, what);
		}
		if (j < d)
			m->x[j] = y;
	}
	return y;
}

static double
predict(const struct model *m)
{
	double y = m->b;
	uint32_t j;

	for (j = 0; j < m->d; j++)
		y += m->w[j] * m->x[j];
	return y;
}

/* One SGD step on the batch so far: the gradient of the squared error
 * halved, averaged over the batch, times the learning rate. */
static void
step(struct model *m, double lr)
{
	double k;
	uint32_t j;

	if (m->in_batch == 0)
		return;
	k = lr / (double)m->in_batch;
	for (j = 0; j < m->d; j++) {
		m->w[j] -= k * m->gw[j];
		m->gw[j] = 0;
	}
	m->b -= k * m->gb;
	m->gb = 0;
	m->in_batch = 0;
}

/* ------------------------------------------------------------------ train */

struct pass {
	unsigned long long records;
	double sse;       /* sum of squared errors */
	double elapsed;   /* seconds, from the open to the end of the stream */
	double wait;      /* seconds of it spent waiting for input */
	int64_t epoch;    /* the channel's epoch, N of <channel>_<N> */
};

/*
 * Read the next epoch of a channel to its end.  With lr > 0 the model
 * learns from each record after predicting it; with lr == 0 it is only
 * evaluated.
 */
static void
run_pass(struct model *m, const char *channel, const char *options,
	 double lr, unsigned long batch, struct pass *out)
{
	pipemode_reader *r;
	pipemode_stats st;
	struct place at;
	const void *data;
	size_t len;
	double t0, y, err;
	uint32_t j;
	int rc;

	t0 = seconds();
	/* Each call opens the next epoch: <pipe_dir>/<channel>_0, then _1,
	 * ..., waiting up to open_timeout seconds for the FIFO and for the
	 * writer behind it.  The handle is set even when the open fails, to
	 * say why (the path, and how long it waited). */
	rc = pipemode_open(&r, channel, options);
	if (rc != PIPEMODE_OK) {
		fprintf(stderr, "%s: %s\n", progname, pipemode_errmsg(r));
		pipemode_close(r);
		exit(1);
	}
	st.size = sizeof(st);
	pipemode_get_stats(r, &st);
	at.channel = channel;
	at.epoch = st.epoch;
	at.r = r;

	out->records = 0;
	out->sse = 0;
	/* data points into the reader's buffer until the next call: the
	 * record is decoded before asking for the next one. */
	while ((rc = pipemode_next(r, &data, &len)) == PIPEMODE_OK) {
		y = decode(m, &at, data, len);
		err = predict(m) - y;
		out->sse += err * err;
		out->records++;
		if (lr > 0) {
			for (j = 0; j < m->d; j++)
				m->gw[j] += err * m->x[j];
			m->gb += err;
			if (++m->in_batch == batch)
				step(m, lr);
		}
	}
	if (rc != PIPEMODE_EOF) {
		/* e.g. "training_1: tfrecord: record 7 at byte 812: payload
		 * crc32c mismatch ..." */
		fprintf(stderr, "%s: %s\n", progname, pipemode_errmsg(r));
		pipemode_close(r);
		exit(1);
	}
	/* The epoch's last, short batch still counts. */
	if (lr > 0)
		step(m, lr);
	out->elapsed = seconds() - t0;

	/* Time spent waiting for the FIFO and its writer, then inside
	 * read(2): what a faster feeder would save. */
	pipemode_get_stats(r, &st);
	out->wait = (double)(st.open_wait_ns + st.read_wait_ns) / 1e9;
	out->epoch = st.epoch;
	if (pipemode_close(r) != PIPEMODE_OK) {
		fprintf(stderr, "%s: %s: closing epoch %lld failed\n",
			progname, channel, (long long)st.epoch);
		exit(1);
	}
}

static void
print_model(const struct model *m)
{
	uint32_t j;

	printf("model: b = %.4f, w = [", m->b);
	for (j = 0; j < m->d && j < 16; j++)
		printf("%s%.4f", j > 0 ? ", " : "", m->w[j]);
	printf("%s]\n", m->d > 16 ? ", ..." : "");
}

static int
cmd_train(int argc, char **argv)
{
	const char *train_channel = "training", *validation_channel = NULL;
	unsigned long epochs = 1, batch = 16, e;
	double lr = 0.1, mse;
	struct options opts = { NULL, 0, 0 };
	struct model m;
	struct pass p, v;
	const char *val;
	int i;

	memset(&m, 0, sizeof(m));
	for (i = 2; i < argc; i++) {
		if (option(argc, argv, &i, "--train-channel", &val))
			train_channel = val;
		else if (option(argc, argv, &i, "--validation-channel", &val))
			validation_channel = val;
		else if (option(argc, argv, &i, "--epochs", &val))
			epochs = parse_count("--epochs", val, 1, 1000000);
		else if (option(argc, argv, &i, "--learning-rate", &val))
			lr = parse_positive("--learning-rate", val);
		else if (option(argc, argv, &i, "--batch-size", &val))
			batch = parse_count("--batch-size", val, 1, 1000000);
		else if (option(argc, argv, &i, "--pipe-dir", &val))
			options_add(&opts, "pipe_dir", val);
		else if (option(argc, argv, &i, "--state-dir", &val))
			options_add(&opts, "state_dir", val);
		else if (option(argc, argv, &i, "--config-dir", &val))
			options_add(&opts, "config_dir", val);
		else if (option(argc, argv, &i, "--open-timeout", &val))
			options_add(&opts, "open_timeout", val);
		else if (option(argc, argv, &i, "-O", &val))
			options_add_raw(&opts, val);
		else
			usage_error("unknown argument", argv[i]);
	}
	if (lr <= 0)
		usage_error("--learning-rate must be above 0", "0");

	for (e = 1; e <= epochs; e++) {
		run_pass(&m, train_channel, opts.s, lr, batch, &p);
		printf("epoch %lu (%s_%lld): ", e, train_channel,
		       (long long)p.epoch);
		if (p.records == 0) {
			printf("no records\n");
			continue;
		}
		mse = p.sse / (double)p.records;
		if (!isfinite(mse)) {
			printf("diverged\n");
			fprintf(stderr, "%s: the loss diverged in epoch %lu: "
				"try a lower --learning-rate than %g\n",
				progname, e, lr);
			return 1;
		}
		printf("train mse %.6f, %llu records, %.3f s, %.0f records/s, "
		       "%.0f%% waiting for input",
		       mse, p.records, p.elapsed,
		       (double)p.records / p.elapsed,
		       100.0 * p.wait / p.elapsed);
		if (validation_channel != NULL) {
			/* Once per epoch, after training: the next epoch of
			 * the validation channel, read with the model
			 * frozen. */
			run_pass(&m, validation_channel, opts.s, 0, batch, &v);
			if (v.records == 0)
				printf("; validation: no records");
			else
				printf("; validation mse %.6f, %llu records",
				       v.sse / (double)v.records, v.records);
		}
		printf("\n");
		fflush(stdout);
	}
	if (m.d > 0)
		print_model(&m);
	free(m.w);
	free(m.x);
	free(m.gw);
	free(opts.s);
	return 0;
}

/* --------------------------------------------------------------- generate */

/* splitmix64: a small generator that gives the same numbers everywhere, so
 * that a seed names one data set. */
static uint64_t
next_u64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* In [0, 1). */
static double
uniform(uint64_t *s)
{
	return (double)(next_u64(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* Standard normal, by Box-Muller. */
static double
normal(uint64_t *s)
{
	double u1 = 1.0 - uniform(s), u2 = uniform(s);

	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* mkdir -p: path is a scratch copy, cut and mended at each '/'. */
static void
make_dirs(char *path)
{
	char *p = path;

	for (;;) {
		p = strchr(p + 1, '/');
		if (p != NULL)
			*p = '\0';
		if (path[0] != '\0' && mkdir(path, 0777) != 0 &&
		    errno != EEXIST) {
			fprintf(stderr, "%s: %s: %s\n", progname, path,
				strerror(errno));
			exit(1);
		}
		if (p == NULL)
			return;
		*p = '/';
	}
}

/* Write records examples of the true model to path. */
static void
write_file(const char *path, const char *options, unsigned long records,
	   uint32_t d, const double *w, double b, double noise, uint64_t *rng)
{
	pipemode_writer *wr;
	unsigned char *rec = xmalloc(RECORD_SIZE(d));
	unsigned long i;
	uint32_t j;
	double y;
	float x;
	int rc;

	rc = pipemode_writer_open_path(&wr, path, options);
	if (rc != PIPEMODE_OK) {
		fprintf(stderr, "%s: %s\n", progname,
			pipemode_writer_errmsg(wr));
		pipemode_writer_close(wr);
		exit(1);
	}
	put_u32le(rec, d);
	for (i = 0; i < records; i++) {
		y = b;
		for (j = 0; j < d; j++) {
			/* y from the stored float32, so that the data holds
			 * exactly the relation it claims. */
			x = (float)(2.0 * uniform(rng) - 1.0);
			put_f32le(rec + 4 + 4 * (size_t)j, x);
			y += w[j] * (double)x;
		}
		y += noise * normal(rng);
		put_f32le(rec + 4 + 4 * (size_t)d, (float)y);
		rc = pipemode_write(wr, rec, RECORD_SIZE(d));
		if (rc != PIPEMODE_OK)
			break;
	}
	/* Flush first: the message of a failed close goes with the writer. */
	if (rc == PIPEMODE_OK)
		rc = pipemode_writer_flush(wr);
	if (rc != PIPEMODE_OK) {
		fprintf(stderr, "%s: %s\n", progname,
			pipemode_writer_errmsg(wr));
		pipemode_writer_close(wr);
		exit(1);
	}
	if (pipemode_writer_close(wr) != PIPEMODE_OK) {
		fprintf(stderr, "%s: %s: close failed\n", progname, path);
		exit(1);
	}
	free(rec);
}

static int
cmd_generate(int argc, char **argv)
{
	const char *out = NULL, *format = "tfrecord", *val;
	unsigned long records = 10000, validation = 0, files = 1, k, n;
	unsigned long d = 8, seed = 42;
	double noise = 0.1, b, *w;
	uint64_t rng;
	size_t pathsize;
	char *path;
	unsigned long j;
	int i, validation_set = 0;

	for (i = 2; i < argc; i++) {
		if (option(argc, argv, &i, "--out", &val))
			out = val;
		else if (option(argc, argv, &i, "--records", &val))
			records = parse_count("--records", val, 1,
					      4000000000ul);
		else if (option(argc, argv, &i, "--features", &val))
			d = parse_count("--features", val, 1, 1000000);
		else if (option(argc, argv, &i, "--files", &val))
			files = parse_count("--files", val, 1, 10000);
		else if (option(argc, argv, &i, "--validation-records",
				&val)) {
			validation = parse_count("--validation-records", val,
						 1, 4000000000ul);
			validation_set = 1;
		} else if (option(argc, argv, &i, "--format", &val))
			format = val;
		else if (option(argc, argv, &i, "--noise", &val))
			noise = parse_positive("--noise", val);
		else if (option(argc, argv, &i, "--seed", &val))
			seed = parse_count("--seed", val, 0, (unsigned long)-1);
		else
			usage_error("unknown argument", argv[i]);
	}
	if (out == NULL)
		usage_error("missing", "--out DIR");
	if (strcmp(format, "tfrecord") != 0 && strcmp(format, "recordio") != 0)
		usage_error("--format is tfrecord or recordio, not", format);
	if (!validation_set)
		validation = records / 5 > 0 ? records / 5 : 1;

	/* The true model, drawn from the seed and rounded to two decimals so
	 * that it reads well next to the fitted one. */
	rng = seed;
	w = xmalloc(d * sizeof(*w));
	for (j = 0; j < d; j++)
		w[j] = round((4.0 * uniform(&rng) - 2.0) * 100) / 100;
	b = round((2.0 * uniform(&rng) - 1.0) * 100) / 100;

	pathsize = strlen(out) + 64;
	path = xmalloc(pathsize);
	snprintf(path, pathsize, "%s/train", out);
	make_dirs(path);
	/* Files of nearly equal size, the first ones one record longer. */
	for (k = 0; k < files; k++) {
		n = records / files + (k < records % files ? 1 : 0);
		snprintf(path, pathsize, "%s/train/part-%04lu.%s", out, k,
			 format);
		write_file(path, strcmp(format, "recordio") == 0 ?
				 "format=recordio" : NULL,
			   n, (uint32_t)d, w, b, noise, &rng);
	}
	snprintf(path, pathsize, "%s/validation", out);
	make_dirs(path);
	snprintf(path, pathsize, "%s/validation/part-0000.%s", out, format);
	write_file(path, strcmp(format, "recordio") == 0 ? "format=recordio"
							 : NULL,
		   validation, (uint32_t)d, w, b, noise, &rng);

	printf("wrote %lu training records of %lu features in %lu %s "
	       "file%s under %s/train, %lu validation records in %s\n",
	       records, d, files, format, files > 1 ? "s" : "", out,
	       validation, path);
	printf("true model: b = %.4f, w = [", b);
	for (j = 0; j < d && j < 16; j++)
		printf("%s%.4f", j > 0 ? ", " : "", w[j]);
	printf("%s]\n", d > 16 ? ", ..." : "");
	printf("noise sd %g: no model can do better than an mse of about "
	       "%.6f\n", noise, noise * noise);
	free(path);
	free(w);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "train") == 0)
		return cmd_train(argc, argv);
	if (strcmp(argv[1], "generate") == 0)
		return cmd_generate(argc, argv);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage_to(stdout);
		return 0;
	}
	usage_error("unknown command", argv[1]);
	return 2;
}
