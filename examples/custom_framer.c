/* SPDX-License-Identifier: Apache-2.0 */
/*
 * custom_framer: teach libpipemode a record format of your own.
 *
 *   custom_framer          frame a small stream held in memory, then the
 *                          same stream cut short, and print what comes out
 *   custom_framer PATH     print the records of a file in that format
 *
 * Introduces: pipemode_register_framer() and the framer contract
 * (pipemode_framer_ops: create, frame, destroy), and along the way
 * pipemode_open_callback() for a stream that lives in memory.
 *
 * The format, "u32len": each record is a u32 little-endian length followed
 * by that many payload bytes.  Once registered, "format=u32len" selects it
 * for any reader (file, FIFO, descriptor or callback), with compression=gzip
 * and every other reader option working as for the built-in formats.
 *
 * Build against an installed library with:
 *   cc custom_framer.c $(pkg-config --cflags --libs libpipemode)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <pipemode.h>

/* ---------------------------------------------------------------- framer */

#define HEADER 4 /* the u32 length */

/* What one reader's framer keeps.  Here only the limit: the framer is
 * stateless between records, since every call starts at a record. */
struct u32len {
	uint64_t max_record_size;
};

static int
u32len_create(void **state, const pipemode_framer_config *cfg, char *msg,
	      size_t msgsize)
{
	struct u32len *u = malloc(sizeof(*u));

	if (u == NULL) {
		snprintf(msg, msgsize, "out of memory");
		return PIPEMODE_ENOMEM;
	}
	/* The reader's max_record_size option: refuse larger records before
	 * anything is allocated for them. */
	u->max_record_size = cfg->max_record_size;
	*state = u;
	return PIPEMODE_OK;
}

/*
 * The whole contract in one function.  win[0..avail) always starts at the
 * first byte of the next record; the framer never reads anything itself.
 * It answers with a record, with "give me a window of at least f->need
 * bytes", with the end, or with an error.  After a NEED the same bytes come
 * back, perhaps at another address, with more behind them.
 */
static int
u32len_frame(void *state, const unsigned char *win, size_t avail, int eof,
	     pipemode_frame *f)
{
	struct u32len *u = state;
	uint32_t len;

	if (avail < HEADER) {
		if (!eof) {
			f->need = HEADER;
			return PIPEMODE_FRAME_NEED;
		}
		if (avail == 0)
			return PIPEMODE_EOF; /* ended between records */
		/* The reader puts "SOURCE: u32len: record N at byte OFF: "
		 * in front: say only what went wrong. */
		snprintf(f->msg, f->msgsize,
			 "stream ends inside a length (%zu of %d bytes)",
			 avail, HEADER);
		return PIPEMODE_ETRUNCATED;
	}
	len = (uint32_t)win[0] | (uint32_t)win[1] << 8 |
	      (uint32_t)win[2] << 16 | (uint32_t)win[3] << 24;
	if (len > u->max_record_size) {
		snprintf(f->msg, f->msgsize,
			 "record of %lu bytes is larger than max_record_size "
			 "(%llu)",
			 (unsigned long)len,
			 (unsigned long long)u->max_record_size);
		return PIPEMODE_ETOOBIG;
	}
	if (avail - HEADER < len) {
		if (!eof) {
			/* The reader grows its buffer if it must. */
			f->need = HEADER + (size_t)len;
			return PIPEMODE_FRAME_NEED;
		}
		snprintf(f->msg, f->msgsize,
			 "stream ends inside a record of %lu bytes (%zu "
			 "present)",
			 (unsigned long)len, avail - HEADER);
		return PIPEMODE_ETRUNCATED;
	}
	/* Zero-copy: the payload points into the window, which stays put
	 * until the caller asks for the next record. */
	f->data = win + HEADER;
	f->len = len;
	f->consumed = HEADER + (size_t)len;
	return PIPEMODE_FRAME_RECORD;
}

static void
u32len_destroy(void *state)
{
	free(state);
}

/* size first: a plug-in built against this header keeps working with later
 * libraries, which read only the fields its size covers. */
static const pipemode_framer_ops u32len_ops = {
	.size = sizeof(pipemode_framer_ops),
	.name = "u32len",
	.create = u32len_create,
	.option = NULL,  /* no options of its own */
	.frame = u32len_frame,
	.destroy = u32len_destroy,
	.sniff = NULL,   /* format=auto never picks it */
};

/* ---------------------------------------------------------------- reading */

/* Print every record of r, escaping what is not printable ASCII.  Returns
 * 0 at a clean end, 1 after an error (printed to stderr). */
static int
print_records(pipemode_reader *r)
{
	const void *data;
	size_t len;
	int rc;

	while ((rc = pipemode_next(r, &data, &len)) == PIPEMODE_OK) {
		const unsigned char *p = data;

		printf("record %llu at byte %llu: %zu bytes: \"",
		       (unsigned long long)pipemode_record_index(r),
		       (unsigned long long)pipemode_byte_offset(r), len);
		for (size_t i = 0; i < len; i++) {
			if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' &&
			    p[i] != '\\')
				putchar(p[i]);
			else
				printf("\\x%02x", p[i]);
		}
		printf("\"\n");
	}
	if (rc != PIPEMODE_EOF) {
		fprintf(stderr, "error %s: %s\n", pipemode_code_name(rc),
			pipemode_errmsg(r));
		return 1;
	}
	printf("%llu records\n", (unsigned long long)pipemode_record_index(r));
	return 0;
}

/* A stream in memory, handed out as a FIFO would: a few bytes at a time. */
struct memory {
	const unsigned char *p;
	size_t len, pos;
};

static ssize_t
memory_read(void *ctx, void *buf, size_t len)
{
	struct memory *m = ctx;
	size_t n = m->len - m->pos;

	if (n > len)
		n = len;
	if (n > 5)
		n = 5; /* short reads: the framer sees records in pieces */
	memcpy(buf, m->p + m->pos, n);
	m->pos += n;
	return (ssize_t)n;
}

/* Append one u32len record to buf at *n. */
static void
put_record(unsigned char *buf, size_t *n, const char *payload)
{
	size_t len = strlen(payload);

	buf[(*n)++] = (unsigned char)len;
	buf[(*n)++] = (unsigned char)(len >> 8);
	buf[(*n)++] = (unsigned char)(len >> 16);
	buf[(*n)++] = (unsigned char)(len >> 24);
	memcpy(buf + *n, payload, len);
	*n += len;
}

static int
read_memory(const unsigned char *p, size_t len)
{
	struct memory m = {p, len, 0};
	pipemode_reader *r;
	int rc;

	rc = pipemode_open_callback(&r, memory_read, &m,
				    "format=u32len,name=memory");
	if (rc != PIPEMODE_OK) {
		fprintf(stderr, "%s\n", pipemode_errmsg(r));
		pipemode_close(r);
		return 1;
	}
	rc = print_records(r);
	pipemode_close(r);
	return rc;
}

static int
demo(void)
{
	unsigned char stream[256];
	size_t n = 0;

	put_record(stream, &n, "hello");
	put_record(stream, &n, "");
	put_record(stream, &n, "a framer of our own");
	put_record(stream, &n, "tab\there");

	printf("== a u32len stream of %zu bytes\n", n);
	if (read_memory(stream, n) != 0)
		return 1;
	/* The same bytes cut short: the error says where. */
	printf("== the same stream without its last 3 bytes\n");
	fflush(stdout);
	if (read_memory(stream, n - 3) != 1)
		return 1;
	return 0;
}

int
main(int argc, char **argv)
{
	pipemode_reader *r;
	int rc;

	/* Once per process, before the readers that use it. */
	rc = pipemode_register_framer(&u32len_ops);
	if (rc != PIPEMODE_OK) {
		fprintf(stderr, "cannot register u32len: %s\n",
			pipemode_strerror(rc));
		return 1;
	}

	if (argc == 1)
		return demo();
	if (argc != 2) {
		fprintf(stderr, "usage: %s [PATH]\n", argv[0]);
		return 2;
	}
	rc = pipemode_open_path(&r, argv[1], "format=u32len");
	if (rc != PIPEMODE_OK) {
		fprintf(stderr, "%s\n", pipemode_errmsg(r));
		pipemode_close(r);
		return 1;
	}
	rc = print_records(r);
	pipemode_close(r);
	return rc;
}
