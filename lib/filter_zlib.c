/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The gzip and zlib filters: streaming inflate between the source and the
 * framer.  The filter owns a fixed input buffer of compressed bytes and
 * inflates straight into the reader's window, never more than the room it
 * is given, so memory stays bounded whatever the compression ratio.
 *
 * gzip streams may hold several members (gzip a; gzip b; cat): each member
 * ends with its own CRC32 and length, which zlib checks, and the next one
 * must start right after it.  Anything else after a member is an error,
 * not silently dropped data.
 *
 * With ISA-L configured (HAVE_ISAL_INFLATE), filter_isal.c inflates
 * instead, with the same results and messages; what stays here either way
 * is the option names and compression=auto's detection, which always asks
 * zlib, so that both builds detect alike.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "internal.h"

/* How much of the first bytes compression=auto test-inflates (it is given
 * PM_SNIFF_BYTES by the reader). */
#define SNIFF_INFLATE 4096u

#ifndef HAVE_ISAL_INFLATE
#define FILTER_INPUT (128u * 1024)

struct pm_filter {
	z_stream z;
	int kind;
	int src_eof;
	int member_done;   /* the last member ended; is another coming? */
	int finished;      /* the whole stream ended cleanly */
	uint64_t in_base;  /* compressed bytes before z.total_in's start */
	uint64_t out_base;
	unsigned char *in;
	size_t in_size;
	/* An error found while inflating bytes that were returned first:
	 * the next call reports it. */
	int held;
	char held_msg[PM_DETAIL_SIZE];
};
#endif /* !HAVE_ISAL_INFLATE */

int
pm_compression_parse(const char *name)
{
	static const char *const names[] = {"none", "gzip", "zlib", "auto"};
	int i;

	for (i = 0; i < 4; i++)
		if (strcasecmp(name, names[i]) == 0)
			return i;
	return -1;
}

const char *
pm_compression_name(int kind)
{
	switch (kind) {
	case PM_COMPRESSION_GZIP:
		return "gzip";
	case PM_COMPRESSION_ZLIB:
		return "zlib";
	case PM_COMPRESSION_AUTO:
		return "auto";
	default:
		return "none";
	}
}

/*
 * Whether the first bytes inflate without an error as kind: a two-byte
 * header is weak evidence (text starting "x^" passes the zlib header
 * check), so the decision also asks zlib about what follows.
 */
static int
inflates(const unsigned char *buf, size_t len, int kind)
{
	unsigned char out[4096];
	z_stream z;
	int zrc;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, kind == PM_COMPRESSION_GZIP ? 15 + 16 : 15) !=
	    Z_OK)
		return 1; /* cannot tell: trust the header */
	z.next_in = (Bytef *)(uintptr_t)buf;
	z.avail_in = (uInt)(len < SNIFF_INFLATE ? len : SNIFF_INFLATE);
	do {
		z.next_out = out;
		z.avail_out = sizeof(out);
		zrc = inflate(&z, Z_NO_FLUSH);
	} while (zrc == Z_OK && z.avail_in > 0);
	inflateEnd(&z);
	/* Out of memory says nothing about the bytes: trust the header, as
	 * when inflateInit2 itself fails. */
	return zrc == Z_OK || zrc == Z_STREAM_END || zrc == Z_BUF_ERROR ||
	       zrc == Z_MEM_ERROR;
}

int
pm_compression_sniff(const unsigned char *buf, size_t len)
{
	/* Framing that checks out is believed first: a TFRecord whose length
	 * happens to begin 1f 8b carries a length CRC that a gzip header does
	 * not. */
	if (pm_tfrecord_header_valid(buf, len))
		return PM_COMPRESSION_NONE;
	if (len >= 4 && pm_load_le32(buf) == PM_RECORDIO_MAGIC)
		return PM_COMPRESSION_NONE;
	/* gzip: magic, deflate, no reserved flag bits. */
	if (len >= 4 && buf[0] == 0x1f && buf[1] == 0x8b && buf[2] == 8 &&
	    (buf[3] & 0xe0) == 0 && inflates(buf, len, PM_COMPRESSION_GZIP))
		return PM_COMPRESSION_GZIP;
	/* zlib (RFC 1950): deflate with a window of at most 32K, a header
	 * checksum, and no preset dictionary (which we could not supply). */
	if (len >= 2 && (buf[0] & 0x0f) == 8 && (buf[0] >> 4) <= 7 &&
	    ((unsigned)buf[0] << 8 | buf[1]) % 31 == 0 && !(buf[1] & 0x20) &&
	    inflates(buf, len, PM_COMPRESSION_ZLIB))
		return PM_COMPRESSION_ZLIB;
	return PM_COMPRESSION_NONE;
}

#ifndef HAVE_ISAL_INFLATE
int
pm_filter_create(pm_filter **fp, int kind, const void *pending,
		 size_t pending_len, int src_eof)
{
	pm_filter *f;

	*fp = NULL;
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return PIPEMODE_ENOMEM;
	/* What was read before the filter existed (up to a read buffer) is
	 * its first input, so the buffer is at least that large. */
	f->in_size = pending_len > FILTER_INPUT ? pending_len : FILTER_INPUT;
	f->in = malloc(f->in_size);
	if (f->in == NULL) {
		free(f);
		return PIPEMODE_ENOMEM;
	}
	f->kind = kind;
	f->src_eof = src_eof;
	if (inflateInit2(&f->z, kind == PM_COMPRESSION_GZIP ? 15 + 16 : 15) !=
	    Z_OK) {
		free(f->in);
		free(f);
		return PIPEMODE_ENOMEM;
	}
	memcpy(f->in, pending, pending_len);
	f->z.next_in = f->in;
	f->z.avail_in = (uInt)pending_len;
	*fp = f;
	return PIPEMODE_OK;
}

void
pm_filter_destroy(pm_filter *f)
{
	if (f == NULL)
		return;
	inflateEnd(&f->z);
	free(f->in);
	free(f);
}

const char *
pm_filter_name(const pm_filter *f)
{
	return pm_compression_name(f->kind);
}

static uint64_t
in_offset(const pm_filter *f)
{
	return f->in_base + f->z.total_in;
}

static uint64_t
out_offset(const pm_filter *f)
{
	return f->out_base + f->z.total_out;
}

/* Refill the input buffer when it is empty.  Returns > 0, 0 at the end of
 * the source, or a negative PIPEMODE code. */
static ssize_t
fill_input(pm_filter *f, pm_source *src, char *msg, size_t msgsize)
{
	ssize_t n;

	if (f->z.avail_in > 0)
		return (ssize_t)f->z.avail_in;
	if (f->src_eof)
		return 0;
	n = pm_source_read(src, f->in, f->in_size);
	if (n < 0) {
		pm_format(msg, msgsize,
			  "read failed at compressed byte %llu: %s",
			  (unsigned long long)in_offset(f), strerror((int)-n));
		return PIPEMODE_EIO;
	}
	if (n == 0)
		f->src_eof = 1;
	f->z.next_in = f->in;
	f->z.avail_in = (uInt)n;
	return n;
}

/* After a gzip member: the stream ends here, or another member follows. */
static int
next_member(pm_filter *f, pm_source *src, char *msg, size_t msgsize)
{
	ssize_t n = fill_input(f, src, msg, msgsize);

	if (n < 0)
		return (int)n;
	if (n == 0) {
		f->finished = 1;
		return PIPEMODE_OK;
	}
	if (f->kind != PM_COMPRESSION_GZIP || f->z.next_in[0] != 0x1f) {
		pm_format(msg, msgsize,
			  "unexpected data after the end of the "
			  "compressed stream, at compressed byte %llu "
			  "(uncompressed byte %llu)",
			  (unsigned long long)in_offset(f),
			  (unsigned long long)out_offset(f));
		return PIPEMODE_ECORRUPT;
	}
	/* inflateReset keeps the gzip mode and checks the next header. */
	f->in_base += f->z.total_in;
	f->out_base += f->z.total_out;
	if (inflateReset(&f->z) != Z_OK) {
		pm_format(msg, msgsize, "cannot restart inflate");
		return PIPEMODE_ECORRUPT;
	}
	f->member_done = 0;
	return PIPEMODE_OK;
}

/* Keep an error that came with output until that output is taken. */
static ssize_t
hold_error(pm_filter *f, int code, size_t produced, char *msg)
{
	if (produced == 0)
		return code;
	f->held = code;
	memcpy(f->held_msg, msg, sizeof(f->held_msg));
	f->held_msg[sizeof(f->held_msg) - 1] = '\0';
	return (ssize_t)produced;
}

ssize_t
pm_filter_read(pm_filter *f, pm_source *src, void *buf, size_t len,
	       char *msg, size_t msgsize)
{
	size_t produced = 0;

	if (f->held != 0) {
		pm_format(msg, msgsize, "%s", f->held_msg);
		return f->held;
	}
	if (len > UINT32_MAX)
		len = UINT32_MAX; /* zlib counts in uInt */
	while (produced == 0 && !f->finished) {
		ssize_t n;
		uInt in_before;
		int zrc, rc;

		if (f->member_done) {
			rc = next_member(f, src, msg, msgsize);
			if (rc != PIPEMODE_OK)
				return rc;
			continue;
		}
		n = fill_input(f, src, msg, msgsize);
		if (n < 0)
			return n;
		/* At the end of the input, inflate still runs once: it may
		 * hold output that did not fit the last call. */
		f->z.next_out = (Bytef *)buf + produced;
		f->z.avail_out = (uInt)(len - produced);
		in_before = f->z.avail_in;
		zrc = inflate(&f->z, Z_NO_FLUSH);
		produced = len - f->z.avail_out;
		switch (zrc) {
		case Z_OK:
			break;
		case Z_BUF_ERROR:
			/* No progress: the input ran dry (read more, or at
			 * the end of the source, the stream is cut short);
			 * with input left it would spin. */
			if (f->z.avail_in == 0 && !f->src_eof)
				break;
			if (f->z.avail_in == 0)
				pm_format(msg, msgsize,
					  "compressed stream ends before its "
					  "end marker, at compressed byte %llu "
					  "(uncompressed byte %llu)",
					  (unsigned long long)in_offset(f),
					  (unsigned long long)out_offset(f));
			else
				pm_format(msg, msgsize,
					  "inflate made no progress at "
					  "compressed byte %llu",
					  (unsigned long long)in_offset(f));
			return hold_error(f,
					  f->z.avail_in == 0
						  ? PIPEMODE_ETRUNCATED
						  : PIPEMODE_ECORRUPT,
					  produced, msg);
		case Z_STREAM_END:
			f->member_done = 1;
			break;
		case Z_MEM_ERROR:
			pm_format(msg, msgsize, "out of memory");
			return hold_error(f, PIPEMODE_ENOMEM, produced, msg);
		case Z_NEED_DICT:
			/* inflate() returns this without adding what it
			 * took (the header and DICTID) to total_in. */
			pm_format(msg, msgsize,
				  "the stream needs a preset dictionary, "
				  "at compressed byte %llu",
				  (unsigned long long)(in_offset(f) + in_before -
						       f->z.avail_in));
			return hold_error(f, PIPEMODE_ECORRUPT, produced, msg);
		default:
			pm_format(msg, msgsize,
				  "corrupt compressed data (%s) at "
				  "compressed byte %llu (uncompressed byte "
				  "%llu)",
				  f->z.msg != NULL ? f->z.msg : "inflate failed",
				  (unsigned long long)in_offset(f),
				  (unsigned long long)out_offset(f));
			return hold_error(f, PIPEMODE_ECORRUPT, produced, msg);
		}
	}
	return (ssize_t)produced;
}
#endif /* !HAVE_ISAL_INFLATE */
