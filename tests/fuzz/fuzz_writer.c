/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz harness: the writer, round trip.  Records made from the input are
 * written with the library's writer into memory (a memfd), read back with
 * the reader, and must come back exactly, followed by a clean end.
 *
 * Input: two control bytes, then records.
 *   c0 bits 0-1  format: tfrecord, recordio (concat), recordio (dmlc),
 *                recordio (recordio_multipart not given)
 *   c0 bits 2-3  compression: none, gzip, zlib, none
 *   c0 bit 4     pipemode_writer_flush after every record
 *   c0 bit 5     writer buffer_size=4K (else the default 256K)
 *   c0 bits 6-7  compression_level: not given, 0, 1, 9 (with compression)
 *   c1 bits 0-2  how the read callback cuts the stream (fuzz_common.h)
 *   c1 bit 3     read back with pipemode_next_batch
 *   c1 bit 4     read back with compression=auto (and, uncompressed,
 *                format=auto)
 * Each record: an op byte, a 16-bit little-endian length, that many bytes
 * (fewer at the end of the input); the record is those bytes repeated
 * (op & 15) + 1 times, so that a small input can make a record larger than
 * the writer's buffer; op bit 7 writes an empty record with a NULL pointer.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipemode.h"

#include "fuzz_common.h"

#define MAX_RECORDS 512

struct record {
	unsigned char *data;
	size_t len;
};

/* A descriptor on a file in memory: a memfd, else an unlinked temporary
 * file. */
static int
memory_fd(void)
{
	FILE *f;
	int fd;

#ifdef MFD_CLOEXEC
	fd = memfd_create("pipemode-fuzz", MFD_CLOEXEC);
	if (fd >= 0)
		return fd;
#endif
	f = tmpfile();
	if (f == NULL)
		return -1;
	fd = dup(fileno(f));
	fclose(f);
	return fd;
}

static size_t
parse_records(const uint8_t *p, size_t n, struct record *recs)
{
	size_t count = 0;

	while (n > 0 && count < MAX_RECORDS) {
		unsigned op = p[0];
		size_t len = 0, rep = (op & 15) + 1, i;
		p++;
		n--;
		if (n >= 2) {
			len = (size_t)p[0] | (size_t)p[1] << 8;
			p += 2;
			n -= 2;
		} else {
			n = 0;
		}
		if (len > n)
			len = n;
		recs[count].len = op & 0x80 ? 0 : len * rep;
		recs[count].data = NULL;
		if (recs[count].len > 0) {
			recs[count].data = malloc(recs[count].len);
			if (recs[count].data == NULL)
				fz_fail("out of memory");
			for (i = 0; i < rep; i++)
				memcpy(recs[count].data + i * len, p, len);
		}
		p += len;
		n -= len;
		count++;
	}
	return count;
}

/* Format, framing and compression options, for the writer and the reader. */
static const char *const formats[4] = {
	"format=tfrecord",
	"format=recordio,recordio_multipart=concat",
	"format=recordio,recordio_multipart=dmlc",
	"format=recordio",
};
static const char *const compressions[4] = {"", ",compression=gzip",
					    ",compression=zlib", ""};
static const char *const levels[4] = {"", ",compression_level=0",
				      ",compression_level=1",
				      ",compression_level=9"};

/* Whether format=auto may rightly refuse the stream: a RecordIO stream
 * whose first 12 bytes also make a TFRecord header with a valid length
 * CRC fits both formats. */
static int
ambiguous(const unsigned char *s, size_t n)
{
	uint32_t crc, stored;

	if (n < 12)
		return 0;
	crc = pipemode_crc32c(0, s, 8);
	crc = ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
	stored = (uint32_t)s[8] | (uint32_t)s[9] << 8 |
		 (uint32_t)s[10] << 16 | (uint32_t)s[11] << 24;
	return crc == stored;
}

static void
read_back(const unsigned char *stream, size_t n, const char *options,
	  unsigned c1, const struct record *recs, size_t count,
	  int may_be_ambiguous)
{
	struct fz_source src;
	pipemode_reader *r = NULL;
	size_t got = 0, batch_max = (c1 & 0x40) ? 8 : 3;
	int rc;

	fz_source_init(&src, stream, n, c1 & 7, c1);
	rc = pipemode_open_callback(&r, fz_source_read, &src, options);
	if (rc != PIPEMODE_OK)
		fz_fail("reader \"%s\": %s", options, pipemode_errmsg(r));
	for (;;) {
		pipemode_record b[8];
		size_t nb = 0, i;
		if (c1 & 8) {
			rc = pipemode_next_batch(r, b, batch_max, &nb);
		} else {
			rc = pipemode_next(r, &b[0].data, &b[0].len);
			nb = rc == PIPEMODE_OK;
		}
		if (rc != PIPEMODE_OK)
			break;
		for (i = 0; i < nb; i++, got++) {
			if (got >= count)
				fz_fail("\"%s\": more records than the %zu "
					"written",
					options, count);
			if (b[i].len != recs[got].len ||
			    (b[i].len > 0 &&
			     memcmp(b[i].data, recs[got].data, b[i].len) != 0))
				fz_fail("\"%s\": record %zu of %zu bytes came "
					"back as %zu bytes, or different",
					options, got, recs[got].len, b[i].len);
		}
	}
	if (rc == PIPEMODE_EFORMAT && may_be_ambiguous) {
		pipemode_close(r);
		return;
	}
	if (rc != PIPEMODE_EOF || got != count)
		fz_fail("\"%s\": %zu of %zu records, then %s: %s", options, got,
			count, pipemode_code_name(rc), pipemode_errmsg(r));
	pipemode_close(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct record recs[MAX_RECORDS];
	unsigned c0, c1, fmt, comp;
	char wopts[256], ropts[256];
	pipemode_writer *w = NULL;
	unsigned char *stream;
	size_t count, i, n;
	struct stat st;
	int fd, rc;

	if (size < 2)
		return 0;
	c0 = data[0];
	c1 = data[1];
	fmt = c0 & 3;
	comp = (c0 >> 2) & 3;
	count = parse_records(data + 2, size - 2, recs);

	snprintf(wopts, sizeof(wopts), "%s%s%s%s", formats[fmt],
		 compressions[comp],
		 compressions[comp][0] != '\0' ? levels[c0 >> 6] : "",
		 c0 & 0x20 ? ",buffer_size=4K" : "");
	fd = memory_fd();
	if (fd < 0)
		fz_fail("no memory file");
	rc = pipemode_writer_open_fd(&w, fd, wopts);
	if (rc != PIPEMODE_OK)
		fz_fail("writer \"%s\": %s", wopts, pipemode_writer_errmsg(w));
	for (i = 0; i < count; i++) {
		rc = pipemode_write(w, recs[i].data, recs[i].len);
		if (rc == PIPEMODE_OK && (c0 & 0x10))
			rc = pipemode_writer_flush(w);
		if (rc != PIPEMODE_OK)
			fz_fail("writer \"%s\": record %zu: %s", wopts, i,
				pipemode_writer_errmsg(w));
	}
	if (pipemode_writer_close(w) != PIPEMODE_OK)
		fz_fail("writer \"%s\": close failed", wopts);

	if (fstat(fd, &st) != 0)
		fz_fail("fstat");
	n = (size_t)st.st_size;
	stream = malloc(n > 0 ? n : 1);
	if (stream == NULL || pread(fd, stream, n, 0) != (ssize_t)n)
		fz_fail("cannot read the written stream back");
	close(fd);

	if (c1 & 0x10) {
		/* format=auto cannot tell the RecordIO conventions apart:
		 * the option says which. */
		snprintf(ropts, sizeof(ropts), "%s,compression=auto",
			 comp == 1 || comp == 2 ? formats[fmt]
			 : fmt == 2 ? "format=auto,recordio_multipart=dmlc"
				    : "format=auto");
		read_back(stream, n, ropts, c1, recs, count,
			  !(comp == 1 || comp == 2) && fmt != 0 &&
				  ambiguous(stream, n));
	} else {
		snprintf(ropts, sizeof(ropts), "%s%s", formats[fmt],
			 compressions[comp]);
		read_back(stream, n, ropts, c1, recs, count, 0);
	}

	free(stream);
	for (i = 0; i < count; i++)
		free(recs[i].data);
	return 0;
}
