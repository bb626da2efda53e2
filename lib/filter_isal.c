/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The gzip and zlib filters on ISA-L's igzip (configure --with-isal): the
 * same contract as filter_zlib.c, which it replaces when configured, with
 * the same records, error codes and messages.
 *
 * igzip inflates only the raw deflate data here (ISAL_GZIP_NO_HDR or
 * ISAL_ZLIB_NO_HDR: it keeps the CRC32 or Adler-32 of what it writes).  The
 * gzip and zlib headers and trailers are read by this file, field by field,
 * exactly as zlib's inflate() reads them: the same checks (reserved flag
 * bits, FHCRC, the window size, a preset dictionary), in the same order,
 * each after the same number of bytes.  So every error of the wrapper, and
 * every truncation, names the same offsets as zlib, after the same output.
 *
 * Where it cannot match: a corrupt deflate body.  The code is the same
 * (PIPEMODE_ECORRUPT) but igzip may see the damage later than zlib: it
 * builds Huffman codes from incomplete code-length sets that zlib rejects
 * at the block header ("invalid code lengths set", "invalid distances
 * set"), and so inflates some garbage first, handed to the framer before
 * the error (a TFRecord CRC or the gzip trailer still catches it; lines
 * and RecordIO hand it out).  The offsets then differ, by up to a block,
 * and the reason in parentheses is one of igzip's three ("invalid block",
 * "invalid code", "invalid distance too far back"), not zlib's wording.
 *
 * igzip buffers up to 8 input bytes as bits (state.read_in).  When a member
 * ends, the whole bytes left there are the start of its trailer (zlib: or
 * what follows the stream): they move to carry[] and are read from there
 * before the input buffer.  Compressed offsets are counted here, since
 * inflate_state has no total_in: the bytes given to igzip, less those it
 * has not taken (avail_in) and, inside the deflate data, the whole bytes
 * still in its bit buffer.
 *
 * Memory: the inflate_state (about 100 KiB, its 64 KiB window and tables
 * included) and the input buffer, whatever the ratio: igzip never writes
 * past avail_out, and what it decoded ahead into its own window is handed
 * out on later calls.
 */
#include "config.h"

#ifdef HAVE_ISAL_INFLATE

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <isa-l/igzip_lib.h>
#include <zlib.h> /* crc32, for the gzip header's FHCRC */

#include "internal.h"

#define FILTER_INPUT (128u * 1024)

/* gzip FLG bits (RFC 1952) */
#define GZ_FHCRC 0x02u
#define GZ_FEXTRA 0x04u
#define GZ_FNAME 0x08u
#define GZ_FCOMMENT 0x10u

enum phase {
	PH_HEADER, /* reading field by field */
	PH_BODY,   /* igzip inflates */
	PH_TRAILER,
	PH_END     /* a member ended: is another coming? */
};

/* The fields of the wrapper, in stream order. */
enum field {
	F_GZ_MAGIC,  /* 1f 8b */
	F_GZ_CM_FLG, /* method and flags */
	F_GZ_MTIME,
	F_GZ_XFL_OS,
	F_GZ_XLEN,
	F_GZ_EXTRA,
	F_GZ_NAME,
	F_GZ_COMMENT,
	F_GZ_HCRC,
	F_ZL_HEADER, /* CMF FLG */
	F_ZL_DICTID,
	F_GZ_CRC,
	F_GZ_ISIZE,
	F_ZL_ADLER,
	F_BODY       /* not a field: the deflate data comes next */
};

static const unsigned char field_size[] = {
	[F_GZ_MAGIC] = 2, [F_GZ_CM_FLG] = 2, [F_GZ_MTIME] = 4,
	[F_GZ_XFL_OS] = 2, [F_GZ_XLEN] = 2, [F_GZ_HCRC] = 2,
	[F_ZL_HEADER] = 2, [F_ZL_DICTID] = 4, [F_GZ_CRC] = 4,
	[F_GZ_ISIZE] = 4, [F_ZL_ADLER] = 4,
};

struct pm_filter {
	struct inflate_state st; /* next_in/avail_in: the input buffer */
	/* st as it was before the last isal_inflate call, for a careful
	 * second go when that call fails (see careful_again). */
	struct inflate_state *snap;
	int kind;
	int src_eof;
	int phase;
	int field;
	int finished;            /* the whole stream ended cleanly */
	unsigned char fb[4];     /* the bytes of a fixed-size field so far */
	unsigned fn;
	unsigned flags;          /* gzip FLG */
	uint32_t extra_left;     /* FEXTRA bytes still to skip */
	uint32_t hcrc;           /* CRC32 of the gzip header so far */
	uint32_t check;          /* CRC32 or Adler-32 of the member's output */
	uint32_t isize;          /* its length, modulo 2^32 */
	unsigned char carry[8];  /* bytes igzip had taken past the deflate */
	unsigned carry_pos, carry_len;
	uint64_t fed;            /* bytes ever put in the input buffer */
	uint64_t out_total;      /* bytes ever handed out */
	unsigned char *in;
	size_t in_size;
	/* After a deflate error: bytes igzip had decoded into its window
	 * before it, not yet handed out (zlib would have written them). */
	uint32_t drain;
	/* An error found while inflating bytes that were returned first:
	 * the next call reports it. */
	int held;
	char held_msg[PM_DETAIL_SIZE];
};

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
	if (f->in_size > UINT32_MAX) { /* igzip counts in uint32_t */
		free(f);
		return PIPEMODE_ENOMEM;
	}
	f->in = malloc(f->in_size);
	f->snap = malloc(sizeof(*f->snap));
	if (f->in == NULL || f->snap == NULL) {
		free(f->in);
		free(f->snap);
		free(f);
		return PIPEMODE_ENOMEM;
	}
	f->kind = kind;
	f->src_eof = src_eof;
	isal_inflate_init(&f->st);
	memcpy(f->in, pending, pending_len);
	f->st.next_in = f->in;
	f->st.avail_in = (uint32_t)pending_len;
	f->fed = pending_len;
	f->phase = PH_HEADER;
	f->field = kind == PM_COMPRESSION_GZIP ? F_GZ_MAGIC : F_ZL_HEADER;
	*fp = f;
	return PIPEMODE_OK;
}

void
pm_filter_destroy(pm_filter *f)
{
	if (f == NULL)
		return;
	free(f->in);
	free(f->snap);
	free(f);
}

const char *
pm_filter_name(const pm_filter *f)
{
	return pm_compression_name(f->kind);
}

/* The compressed offset of the next byte to read, as zlib's total_in
 * counts it: igzip's bit buffer holds whole bytes it has not used yet. */
static uint64_t
in_offset(const pm_filter *f)
{
	uint64_t off = f->fed - f->st.avail_in - (f->carry_len - f->carry_pos);

	if (f->phase == PH_BODY && f->st.read_in_length > 0)
		off -= (uint64_t)f->st.read_in_length / 8;
	return off;
}

/* Refill the input buffer when it is empty.  Returns > 0, 0 at the end of
 * the source, or a negative PIPEMODE code. */
static ssize_t
fill_input(pm_filter *f, pm_source *src, char *msg, size_t msgsize)
{
	ssize_t n;

	if (f->st.avail_in > 0)
		return (ssize_t)f->st.avail_in;
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
	f->st.next_in = f->in;
	f->st.avail_in = (uint32_t)n;
	f->fed += (uint64_t)n;
	return n;
}

/* The unread bytes at hand: the carried ones first, then the input. */
static size_t
span(const pm_filter *f, const unsigned char **p)
{
	if (f->carry_pos < f->carry_len) {
		*p = f->carry + f->carry_pos;
		return f->carry_len - f->carry_pos;
	}
	*p = f->st.next_in;
	return f->st.avail_in;
}

static void
take(pm_filter *f, size_t n)
{
	if (f->carry_pos < f->carry_len) {
		f->carry_pos += (unsigned)n;
	} else {
		f->st.next_in += n;
		f->st.avail_in -= (uint32_t)n;
	}
}

/* The input ended inside the stream: every byte was taken (as zlib takes
 * them all), those in igzip's bit buffer too. */
static int
truncated(pm_filter *f, char *msg, size_t msgsize)
{
	pm_format(msg, msgsize,
		  "compressed stream ends before its end marker, at "
		  "compressed byte %llu (uncompressed byte %llu)",
		  (unsigned long long)(f->fed - f->st.avail_in),
		  (unsigned long long)f->out_total);
	return PIPEMODE_ETRUNCATED;
}

/* A wrapper error, worded as zlib words it. */
static int
corrupt(pm_filter *f, const char *what, char *msg, size_t msgsize)
{
	pm_format(msg, msgsize,
		  "corrupt compressed data (%s) at compressed byte %llu "
		  "(uncompressed byte %llu)",
		  what, (unsigned long long)in_offset(f),
		  (unsigned long long)f->out_total);
	return PIPEMODE_ECORRUPT;
}

/* The gzip field after from, by the flags. */
static int
gz_next(const pm_filter *f, int from)
{
	switch (from) {
	case F_GZ_XFL_OS:
		if (f->flags & GZ_FEXTRA)
			return F_GZ_XLEN;
		/* fallthrough */
	case F_GZ_EXTRA:
		if (f->flags & GZ_FNAME)
			return F_GZ_NAME;
		/* fallthrough */
	case F_GZ_NAME:
		if (f->flags & GZ_FCOMMENT)
			return F_GZ_COMMENT;
		/* fallthrough */
	case F_GZ_COMMENT:
		if (f->flags & GZ_FHCRC)
			return F_GZ_HCRC;
		/* fallthrough */
	default:
		return F_BODY;
	}
}

static void
start_field(pm_filter *f, int field)
{
	f->fn = 0;
	if (field != F_BODY) {
		f->field = field;
		return;
	}
	isal_inflate_reset(&f->st);
	f->st.crc_flag = f->kind == PM_COMPRESSION_GZIP ? ISAL_GZIP_NO_HDR
							 : ISAL_ZLIB_NO_HDR;
	f->st.hist_bits = 0; /* the full 32K window, as zlib's 15 bits */
	f->isize = 0;
	f->phase = PH_BODY;
}

/* A complete fixed-size field in fb: check it and go on. */
static int
field_done(pm_filter *f, char *msg, size_t msgsize)
{
	const unsigned char *b = f->fb;

	switch (f->field) {
	case F_GZ_MAGIC:
		if (b[0] != 0x1f || b[1] != 0x8b)
			return corrupt(f, "incorrect header check", msg, msgsize);
		f->hcrc = (uint32_t)crc32(0L, b, 2);
		start_field(f, F_GZ_CM_FLG);
		return PIPEMODE_OK;
	case F_GZ_CM_FLG:
		if (b[0] != 8)
			return corrupt(f, "unknown compression method", msg,
				       msgsize);
		if (b[1] & 0xe0)
			return corrupt(f, "unknown header flags set", msg,
				       msgsize);
		f->flags = b[1];
		f->hcrc = (uint32_t)crc32(f->hcrc, b, 2);
		start_field(f, F_GZ_MTIME);
		return PIPEMODE_OK;
	case F_GZ_MTIME:
		f->hcrc = (uint32_t)crc32(f->hcrc, b, 4);
		start_field(f, F_GZ_XFL_OS);
		return PIPEMODE_OK;
	case F_GZ_XFL_OS:
		f->hcrc = (uint32_t)crc32(f->hcrc, b, 2);
		start_field(f, gz_next(f, F_GZ_XFL_OS));
		return PIPEMODE_OK;
	case F_GZ_XLEN:
		f->hcrc = (uint32_t)crc32(f->hcrc, b, 2);
		f->extra_left = (uint32_t)b[0] | (uint32_t)b[1] << 8;
		start_field(f, F_GZ_EXTRA);
		return PIPEMODE_OK;
	case F_GZ_HCRC:
		if ((f->hcrc & 0xffffu) != ((uint32_t)b[0] | (uint32_t)b[1] << 8))
			return corrupt(f, "header crc mismatch", msg, msgsize);
		start_field(f, F_BODY);
		return PIPEMODE_OK;
	case F_ZL_HEADER:
		if ((((unsigned)b[0] << 8) | b[1]) % 31 != 0)
			return corrupt(f, "incorrect header check", msg, msgsize);
		if ((b[0] & 0x0f) != 8)
			return corrupt(f, "unknown compression method", msg,
				       msgsize);
		if ((b[0] >> 4) + 8 > 15)
			return corrupt(f, "invalid window size", msg, msgsize);
		start_field(f, (b[1] & 0x20) ? F_ZL_DICTID : F_BODY);
		return PIPEMODE_OK;
	case F_ZL_DICTID:
		pm_format(msg, msgsize,
			  "the stream needs a preset dictionary, at compressed "
			  "byte %llu",
			  (unsigned long long)in_offset(f));
		return PIPEMODE_ECORRUPT;
	case F_GZ_CRC:
		if (pm_load_le32(b) != f->check)
			return corrupt(f, "incorrect data check", msg, msgsize);
		start_field(f, F_GZ_ISIZE);
		return PIPEMODE_OK;
	case F_GZ_ISIZE:
		if (pm_load_le32(b) != f->isize)
			return corrupt(f, "incorrect length check", msg,
				       msgsize);
		f->phase = PH_END;
		return PIPEMODE_OK;
	case F_ZL_ADLER:
		if (((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
		     (uint32_t)b[2] << 8 | b[3]) != f->check)
			return corrupt(f, "incorrect data check", msg, msgsize);
		f->phase = PH_END;
		return PIPEMODE_OK;
	default:
		pm_format(msg, msgsize, "inflate: bad state %d", f->field);
		return PIPEMODE_ECORRUPT;
	}
}

/*
 * Read header or trailer fields from the bytes at hand until the phase
 * changes.  Returns PIPEMODE_OK (phase changed, or every byte at hand
 * taken) or a negative code with msg.
 */
static int
read_wrapper(pm_filter *f, char *msg, size_t msgsize)
{
	const unsigned char *p;
	size_t n;
	int phase = f->phase;

	while (f->phase == phase && (n = span(f, &p)) > 0) {
		const unsigned char *nul;
		size_t k;
		int rc;

		switch (f->field) {
		case F_GZ_EXTRA:
			k = n < f->extra_left ? n : f->extra_left;
			f->hcrc = (uint32_t)crc32(f->hcrc, p, (uInt)k);
			take(f, k);
			f->extra_left -= (uint32_t)k;
			if (f->extra_left == 0)
				start_field(f, gz_next(f, F_GZ_EXTRA));
			break;
		case F_GZ_NAME:
		case F_GZ_COMMENT:
			/* up to and with the NUL, of any length */
			nul = memchr(p, 0, n);
			k = nul != NULL ? (size_t)(nul - p) + 1 : n;
			if (k > UINT32_MAX)
				k = UINT32_MAX;
			f->hcrc = (uint32_t)crc32(f->hcrc, p, (uInt)k);
			take(f, k);
			if (nul != NULL)
				start_field(f, gz_next(f, f->field));
			break;
		default:
			k = field_size[f->field] - f->fn;
			if (k > n)
				k = n;
			memcpy(f->fb + f->fn, p, k);
			take(f, k);
			f->fn += (unsigned)k;
			if (f->fn < field_size[f->field])
				break;
			rc = field_done(f, msg, msgsize);
			if (rc != PIPEMODE_OK)
				return rc;
			break;
		}
	}
	return PIPEMODE_OK;
}

/* After a member: the stream ends here, or another member follows. */
static int
next_member(pm_filter *f, pm_source *src, char *msg, size_t msgsize)
{
	ssize_t n = 0;

	if (f->carry_pos == f->carry_len) {
		n = fill_input(f, src, msg, msgsize);
		if (n < 0)
			return (int)n;
		if (n == 0) {
			f->finished = 1;
			return PIPEMODE_OK;
		}
	}
	{
		const unsigned char *p;

		span(f, &p);
		if (f->kind != PM_COMPRESSION_GZIP || p[0] != 0x1f) {
			pm_format(msg, msgsize,
				  "unexpected data after the end of the "
				  "compressed stream, at compressed byte %llu "
				  "(uncompressed byte %llu)",
				  (unsigned long long)in_offset(f),
				  (unsigned long long)f->out_total);
			return PIPEMODE_ECORRUPT;
		}
	}
	f->phase = PH_HEADER;
	start_field(f, F_GZ_MAGIC);
	return PIPEMODE_OK;
}

/* The end of the deflate data: the whole bytes left in igzip's bit buffer
 * (past the partial last byte) start the trailer. */
static void
end_of_body(pm_filter *f)
{
	int32_t bits = f->st.read_in_length;
	uint64_t v = f->st.read_in;
	unsigned i;

	f->check = f->st.crc;
	f->carry_pos = f->carry_len = 0;
	if (bits > 0) {
		v >>= bits % 8;
		for (i = 0; i < (unsigned)bits / 8 && i < sizeof(f->carry); i++) {
			f->carry[i] = (unsigned char)v;
			v >>= 8;
		}
		f->carry_len = i;
	}
	f->st.read_in = 0;
	f->st.read_in_length = 0;
	f->phase = PH_TRAILER;
	start_field(f, f->kind == PM_COMPRESSION_GZIP ? F_GZ_CRC : F_ZL_ADLER);
}

/*
 * igzip's fast loop (taken while more than 8 input bytes remain) moves its
 * output pointer past a match before it checks the match's distance, and
 * before it decodes the distance code: when either is bad, the failing
 * call reports up to 258 bytes it never wrote.  Its careful loop, which
 * handles the last bytes of the input, checks first, as zlib does.  So
 * before each call the state is saved (its fields and tables, and the
 * part of its window in use: about 20 KiB plus up to 64 KiB), and a call
 * that fails is made again from there on at most 7 input bytes at a time,
 * which keeps igzip in the careful loop: the output, the error and where
 * it is reported are then what zlib says, however the input was cut.
 */
#define SNAP_HEAD offsetof(struct inflate_state, tmp_out_buffer)
/* The window is the state's last field: everything before it is saved. */
_Static_assert(SNAP_HEAD + sizeof(((struct inflate_state *)0)->tmp_out_buffer) +
			       8 >
		       sizeof(struct inflate_state),
	       "inflate_state: tmp_out_buffer is not the last field");

static void
snapshot(pm_filter *f)
{
	int32_t used = f->st.tmp_out_valid;

	memcpy(f->snap, &f->st, SNAP_HEAD);
	if (used > 0)
		memcpy(f->snap->tmp_out_buffer, f->st.tmp_out_buffer,
		       (size_t)used);
}

static int
careful_again(pm_filter *f, uint8_t *out, uint32_t room, uint32_t *written)
{
	uint32_t avail, done = 0;
	int rc;

	memcpy(&f->st, f->snap, SNAP_HEAD);
	if (f->snap->tmp_out_valid > 0)
		memcpy(f->st.tmp_out_buffer, f->snap->tmp_out_buffer,
		       (size_t)f->snap->tmp_out_valid);
	avail = f->st.avail_in;
	for (;;) {
		uint32_t give = avail < 7 ? avail : 7, before, taken;

		f->st.avail_in = give;
		f->st.next_out = out + done;
		f->st.avail_out = room - done;
		before = done;
		rc = isal_inflate(&f->st);
		done = room - f->st.avail_out;
		taken = give - f->st.avail_in;
		avail -= taken;
		f->st.avail_in = avail;
		if (rc < 0 || f->st.block_state == ISAL_BLOCK_FINISH ||
		    done == room)
			break;
		if (done == before && taken == 0)
			break; /* the input at hand is used up */
	}
	*written = done;
	return rc;
}

/* Hand out what igzip decoded into its window before a deflate error. */
static size_t
drain_out(pm_filter *f, void *buf, size_t len)
{
	size_t n = f->drain < len ? f->drain : len;

	memcpy(buf, f->st.tmp_out_buffer + f->st.tmp_out_processed, n);
	f->st.tmp_out_processed += (int32_t)n;
	f->drain -= (uint32_t)n;
	f->out_total += n;
	return n;
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

static const char *
isal_error_name(int rc)
{
	switch (rc) {
	case ISAL_INVALID_BLOCK:
		return "invalid block";
	case ISAL_INVALID_SYMBOL:
		return "invalid code";
	case ISAL_INVALID_LOOKBACK:
		return "invalid distance too far back";
	default:
		return "inflate failed";
	}
}

/* igzip said the deflate data is corrupt: report it where zlib would,
 * after the bytes igzip decoded before the bad code. */
static ssize_t
body_error(pm_filter *f, int rc, void *buf, size_t len, size_t produced,
	   char *msg, size_t msgsize)
{
	int32_t ahead = f->st.tmp_out_valid - f->st.tmp_out_processed;

	f->drain = ahead > 0 ? (uint32_t)ahead : 0;
	pm_format(msg, msgsize,
		  "corrupt compressed data (%s) at compressed byte %llu "
		  "(uncompressed byte %llu)",
		  isal_error_name(rc), (unsigned long long)in_offset(f),
		  (unsigned long long)(f->out_total + f->drain));
	f->held = PIPEMODE_ECORRUPT;
	memcpy(f->held_msg, msg, sizeof(f->held_msg));
	f->held_msg[sizeof(f->held_msg) - 1] = '\0';
	if (produced == 0 && f->drain > 0)
		produced = drain_out(f, buf, len);
	if (produced == 0) {
		f->held = 0;
		return PIPEMODE_ECORRUPT;
	}
	return (ssize_t)produced;
}

ssize_t
pm_filter_read(pm_filter *f, pm_source *src, void *buf, size_t len,
	       char *msg, size_t msgsize)
{
	size_t produced = 0;

	if (f->drain > 0 && len > 0)
		return (ssize_t)drain_out(f, buf, len);
	if (f->held != 0) {
		pm_format(msg, msgsize, "%s", f->held_msg);
		return f->held;
	}
	if (len > UINT32_MAX)
		len = UINT32_MAX; /* igzip counts in uint32_t */
	while (produced == 0 && !f->finished) {
		const unsigned char *p;
		ssize_t n;
		uint32_t room, in_before;
		int careful;
		int rc;

		switch (f->phase) {
		case PH_END:
			rc = next_member(f, src, msg, msgsize);
			if (rc != PIPEMODE_OK)
				return rc;
			continue;
		case PH_HEADER:
		case PH_TRAILER:
			if (span(f, &p) == 0) {
				n = fill_input(f, src, msg, msgsize);
				if (n < 0)
					return n;
				if (n == 0)
					return truncated(f, msg, msgsize);
			}
			rc = read_wrapper(f, msg, msgsize);
			if (rc != PIPEMODE_OK)
				return rc;
			continue;
		default:
			break;
		}
		n = fill_input(f, src, msg, msgsize);
		if (n < 0)
			return n;
		/* At the end of the input, inflate still runs: igzip may
		 * hold output that did not fit the last call. */
		room = (uint32_t)(len - produced);
		in_before = f->st.avail_in;
		/* With 7 input bytes or fewer igzip runs its careful loop
		 * anyway (careful_again's own step): no snapshot to take, no
		 * call to make again.  Input that trickles in a byte or a
		 * few at a time would otherwise copy the state every byte. */
		careful = in_before <= 7;
		if (!careful)
			snapshot(f);
		f->st.next_out = (uint8_t *)buf + produced;
		f->st.avail_out = room;
		rc = isal_inflate(&f->st);
		n = (ssize_t)(room - f->st.avail_out);
		if (rc < 0 && !careful) {
			uint32_t w;

			rc = careful_again(f, (uint8_t *)buf + produced, room,
					   &w);
			n = (ssize_t)w;
		}
		produced += (size_t)n;
		f->out_total += (uint64_t)n;
		f->isize += (uint32_t)n;
		if (rc < 0)
			return body_error(f, rc, buf, len, produced, msg,
					  msgsize);
		if (f->st.block_state == ISAL_BLOCK_FINISH) {
			end_of_body(f);
			continue;
		}
		if (n > 0 || f->st.avail_in != in_before)
			continue;
		/* No progress: the input ran dry (read more, or at the end
		 * of the source, the stream is cut short); with input left
		 * it would spin. */
		if (f->st.avail_in == 0 && !f->src_eof)
			continue;
		if (f->st.avail_in == 0)
			return truncated(f, msg, msgsize);
		pm_format(msg, msgsize,
			  "inflate made no progress at compressed byte %llu",
			  (unsigned long long)in_offset(f));
		return hold_error(f, PIPEMODE_ECORRUPT, produced, msg);
	}
	return (ssize_t)produced;
}

#else /* !HAVE_ISAL_INFLATE: filter_zlib.c inflates */
typedef int pm_filter_isal_unused;
#endif
