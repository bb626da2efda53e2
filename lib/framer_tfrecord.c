/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TFRecord: u64 length, u32 masked CRC32C of the length's 8 bytes, payload,
 * u32 masked CRC32C of the payload, all little-endian.
 *
 * The length is trusted only after its CRC matches, so garbage never drives
 * an allocation.  A payload arriving in pieces is checksummed piece by piece
 * as each piece arrives, while it is still in cache, instead of once more
 * from memory when the record is whole.
 */
#include "config.h"

#include <stdlib.h>

#include "internal.h"

struct tfrecord {
	int verify_crc;
	uint64_t max_record_size;
	/* Progress on the record at the start of the window. */
	int have_length;   /* its header was read and checked */
	uint64_t length;   /* its payload length */
	uint64_t crc_done; /* payload bytes already in crc */
	uint32_t crc;
};

int
pm_tfrecord_header_valid(const unsigned char *buf, size_t len)
{
	return len >= PM_TFRECORD_HEADER &&
	       pm_load_le32(buf + 8) == pm_crc32c_mask(pm_crc32c(0, buf, 8));
}

static int
tfrecord_create(void **state, const pipemode_framer_config *cfg, char *msg,
		size_t msgsize)
{
	struct tfrecord *t = calloc(1, sizeof(*t));

	if (t == NULL) {
		pm_format(msg, msgsize, "out of memory");
		return PIPEMODE_ENOMEM;
	}
	t->verify_crc = cfg->verify_crc;
	t->max_record_size = cfg->max_record_size;
	*state = t;
	return PIPEMODE_OK;
}

static void
tfrecord_destroy(void *state)
{
	free(state);
}

static int
tfrecord_frame(void *state, const unsigned char *win, size_t avail, int eof,
	       pipemode_frame *f)
{
	struct tfrecord *t = state;
	uint64_t total, have;

	if (!t->have_length) {
		uint32_t stored, computed;

		if (avail < PM_TFRECORD_HEADER) {
			if (!eof) {
				f->need = PM_TFRECORD_HEADER;
				return PIPEMODE_FRAME_NEED;
			}
			if (avail == 0)
				return PIPEMODE_EOF;
			pm_format(f->msg, f->msgsize,
				  "stream ends inside the record header "
				  "(%zu of %d bytes)",
				  avail, PM_TFRECORD_HEADER);
			return PIPEMODE_ETRUNCATED;
		}
		stored = pm_load_le32(win + 8);
		computed = pm_crc32c_mask(pm_crc32c(0, win, 8));
		if (stored != computed) {
			pm_format(f->msg, f->msgsize,
				  "length crc32c mismatch (stored 0x%08x, "
				  "computed 0x%08x): corrupt framing, or not "
				  "a TFRecord stream",
				  stored, computed);
			return PIPEMODE_ECORRUPT;
		}
		t->length = pm_load_le64(win);
		if (t->length > t->max_record_size) {
			pm_format(f->msg, f->msgsize,
				  "record of %llu bytes is larger than "
				  "max_record_size (%llu)",
				  (unsigned long long)t->length,
				  (unsigned long long)t->max_record_size);
			return PIPEMODE_ETOOBIG;
		}
		t->have_length = 1;
		t->crc_done = 0;
		t->crc = 0;
	}

	total = PM_TFRECORD_HEADER + t->length + PM_TFRECORD_FOOTER;
	if (t->verify_crc) {
		have = avail - PM_TFRECORD_HEADER;
		if (have > t->length)
			have = t->length;
		if (have > t->crc_done) {
			t->crc = pm_crc32c(t->crc,
					   win + PM_TFRECORD_HEADER + t->crc_done,
					   (size_t)(have - t->crc_done));
			t->crc_done = have;
		}
	}
	if (avail < total) {
		if (!eof) {
			/* max_record_size keeps total within size_t. */
			f->need = (size_t)total;
			return PIPEMODE_FRAME_NEED;
		}
		t->have_length = 0;
		pm_format(f->msg, f->msgsize,
			  "stream ends inside the record (%zu of %llu bytes "
			  "present)",
			  avail, (unsigned long long)total);
		return PIPEMODE_ETRUNCATED;
	}

	t->have_length = 0;
	f->consumed = (size_t)total;
	if (t->verify_crc) {
		uint32_t stored = pm_load_le32(win + PM_TFRECORD_HEADER +
					       t->length);
		uint32_t computed = pm_crc32c_mask(t->crc);
		if (stored != computed) {
			pm_format(f->msg, f->msgsize,
				  "payload crc32c mismatch (stored 0x%08x, "
				  "computed 0x%08x) in a record of %llu bytes",
				  stored, computed,
				  (unsigned long long)t->length);
			return PIPEMODE_ECRC;
		}
	}
	f->data = win + PM_TFRECORD_HEADER;
	f->len = (size_t)t->length;
	return PIPEMODE_FRAME_RECORD;
}

size_t
pm_tfrecord_quick(void *state, const unsigned char *win, size_t avail,
		  const void **data, size_t *len)
{
	const struct tfrecord *t = state;
	uint64_t length;

	if (t->have_length ||
	    avail < PM_TFRECORD_HEADER + PM_TFRECORD_FOOTER)
		return 0;
	length = pm_load_le64(win);
	if (length > avail - PM_TFRECORD_HEADER - PM_TFRECORD_FOOTER ||
	    length > t->max_record_size ||
	    pm_load_le32(win + 8) != pm_crc32c_mask(pm_crc32c(0, win, 8)))
		return 0;
	if (t->verify_crc &&
	    pm_load_le32(win + PM_TFRECORD_HEADER + length) !=
		    pm_crc32c_mask(pm_crc32c(0, win + PM_TFRECORD_HEADER,
					     (size_t)length)))
		return 0;
	*data = win + PM_TFRECORD_HEADER;
	*len = (size_t)length;
	return (size_t)length + PM_TFRECORD_HEADER + PM_TFRECORD_FOOTER;
}

/* Four random bytes pass a CRC check once in 2^32: specific enough. */
static int
tfrecord_sniff(const unsigned char *buf, size_t len)
{
	if (len < PM_TFRECORD_HEADER)
		return len == 0 ? 0 : -1;
	return pm_tfrecord_header_valid(buf, len);
}

const pipemode_framer_ops pm_framer_tfrecord = {
	sizeof(pipemode_framer_ops),
	"tfrecord",
	tfrecord_create,
	NULL, /* no options of its own */
	tfrecord_frame,
	tfrecord_destroy,
	tfrecord_sniff,
};
