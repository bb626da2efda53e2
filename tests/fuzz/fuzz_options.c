/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz harness: the option parser, through the reader and the writer.
 * Input: one control byte, then the options string (up to a NUL, if any).
 *   c bits 0-1  the stream read with those options: TFRecord, RecordIO,
 *               text lines, or gzip-compressed TFRecord (each three small
 *               records, built once)
 *   c bit 2     also open a writer on /dev/null with the same options and
 *               write three records
 *   c bits 3-5  how the stream is cut (as c0 bits 0-2 of the reader
 *               harnesses)
 * The streams are fixed and tiny, so that whatever max_record_size or
 * buffer_size the options ask for, nothing large is ever filled.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "pipemode.h"

#include "fuzz_common.h"

static const char *const payloads[3] = {"foo", "", "bar, baz\r"};

struct stream {
	unsigned char bytes[256];
	size_t len;
};

static struct stream streams[4];
static int devnull = -1;

static void
put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static uint32_t
masked_crc(const void *p, size_t n)
{
	uint32_t crc = pipemode_crc32c(0, p, n);

	return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

static void
append(struct stream *s, const void *p, size_t n)
{
	memcpy(s->bytes + s->len, p, n);
	s->len += n;
}

static void
build_streams(void)
{
	static const unsigned char zeros[4] = {0, 0, 0, 0};
	unsigned char head[12];
	uLongf zlen;
	z_stream z;
	size_t i;

	for (i = 0; i < 3; i++) {
		size_t n = strlen(payloads[i]);
		/* TFRecord */
		memset(head, 0, sizeof(head));
		put_le32(head, (uint32_t)n);
		put_le32(head + 8, masked_crc(head, 8));
		append(&streams[0], head, 12);
		append(&streams[0], payloads[i], n);
		put_le32(head, masked_crc(payloads[i], n));
		append(&streams[0], head, 4);
		/* RecordIO */
		put_le32(head, 0xced7230au);
		put_le32(head + 4, (uint32_t)n);
		append(&streams[1], head, 8);
		append(&streams[1], payloads[i], n);
		append(&streams[1], zeros, (4 - n % 4) % 4);
		/* lines */
		append(&streams[2], payloads[i], n);
		append(&streams[2], "\n", 1);
	}
	/* gzip */
	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK)
		fz_fail("deflateInit2");
	z.next_in = streams[0].bytes;
	z.avail_in = (uInt)streams[0].len;
	z.next_out = streams[3].bytes;
	z.avail_out = sizeof(streams[3].bytes);
	if (deflate(&z, Z_FINISH) != Z_STREAM_END)
		fz_fail("deflate");
	zlen = sizeof(streams[3].bytes) - z.avail_out;
	streams[3].len = zlen;
	deflateEnd(&z);

	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (devnull < 0)
		fz_fail("cannot open /dev/null");
}

static void
write_with(const char *options)
{
	static unsigned char big[5000];
	pipemode_writer *w = NULL;
	int rc = pipemode_writer_open_fd(&w, devnull, options);

	if (w == NULL) {
		if (rc != PIPEMODE_ENOMEM)
			fz_fail("writer open: NULL handle with code %d", rc);
		return;
	}
	if (rc != PIPEMODE_OK) {
		if (rc >= 0 || pipemode_writer_errmsg(w)[0] == '\0')
			fz_fail("writer open failed (%d) with no message", rc);
		if (pipemode_write(w, "x", 1) != PIPEMODE_ESTATE)
			fz_fail("write after a failed open is not ESTATE");
		pipemode_writer_close(w);
		return;
	}
	if (pipemode_write(w, payloads[0], 3) != PIPEMODE_OK ||
	    pipemode_write(w, NULL, 0) != PIPEMODE_OK ||
	    pipemode_write(w, big, sizeof(big)) != PIPEMODE_OK ||
	    pipemode_writer_flush(w) != PIPEMODE_OK)
		fz_fail("writer with \"%s\": %s", options,
			pipemode_writer_errmsg(w));
	if (pipemode_writer_close(w) != PIPEMODE_OK)
		fz_fail("writer with \"%s\": close failed", options);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct stream *s;
	char *options;
	unsigned c;

	if (devnull < 0)
		build_streams();
	if (size < 1)
		return 0;
	c = data[0];
	options = malloc(size);
	if (options == NULL)
		return 0;
	/* The options: the rest, up to a NUL. */
	memcpy(options, data + 1, size - 1);
	options[size - 1] = '\0';

	s = &streams[c & 3];
	fz_read_once(s->bytes, s->len, options, (c >> 3) & 7, c);
	if (c & 4)
		write_with(options);
	free(options);
	return 0;
}
