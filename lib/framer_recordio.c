/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RecordIO, as MXNet's dmlc-core and SageMaker write it.  Each part is
 *   u32 magic 0xced7230a, u32 (flag << 29 | length), payload, padding to 4,
 * all little-endian.  Flag 0 is a whole record; 1, 2..., 3 are the first,
 * middle and last parts of a record cut in pieces.  Two conventions join
 * the pieces: SageMaker and AWS ml-io concatenate them verbatim; dmlc-core
 * cuts a record where the magic word stands at an aligned offset, drops it,
 * and puts it back between the pieces when reading.
 *
 * A whole record is returned in place (zero-copy).  The parts of a cut
 * record are copied into a buffer of the framer's own, one part at a time,
 * and each is handed back to the reader as taken (PIPEMODE_FRAME_TAKEN), so
 * the window never holds more than one part: memory stays bounded by
 * max_record_size however many parts, empty ones included, a record has.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

enum { JOIN_CONCAT, JOIN_DMLC };

struct recordio {
	uint64_t max_record_size;
	int join;
	uint64_t parts;      /* parts taken in the whole stream so far */
	/* The record being joined from parts: */
	int open;            /* its first part was taken */
	uint64_t last_part;  /* stream offset of the last part taken */
	unsigned char *asm_buf;
	size_t asm_len, asm_cap;
};

static int
recordio_create(void **state, const pipemode_framer_config *cfg, char *msg,
		size_t msgsize)
{
	struct recordio *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		pm_format(msg, msgsize, "out of memory");
		return PIPEMODE_ENOMEM;
	}
	r->max_record_size = cfg->max_record_size;
	r->join = JOIN_CONCAT;
	*state = r;
	return PIPEMODE_OK;
}

static int
recordio_option(void *state, const char *key, const char *value, char *msg,
		size_t msgsize)
{
	struct recordio *r = state;

	if (strcmp(key, "recordio_multipart") != 0)
		return 1;
	if (strcasecmp(value, "concat") == 0)
		r->join = JOIN_CONCAT;
	else if (strcasecmp(value, "dmlc") == 0)
		r->join = JOIN_DMLC;
	else {
		pm_format(msg, msgsize,
			  "option 'recordio_multipart': '%s' is not concat or "
			  "dmlc",
			  value);
		return PIPEMODE_EOPTION;
	}
	return PIPEMODE_OK;
}

static void
recordio_destroy(void *state)
{
	struct recordio *r = state;

	free(r->asm_buf);
	free(r);
}

static const char *
flag_name(unsigned flag)
{
	static const char *const names[] = {"whole record", "first part",
					    "middle part", "last part"};
	return flag < 4 ? names[flag] : "invalid";
}

/* Forget the record in progress (after it is returned or failed). */
static void
close_record(struct recordio *r)
{
	r->open = 0;
	r->asm_len = 0;
}

static int
append(struct recordio *r, const unsigned char *p, size_t n,
       pipemode_frame *f)
{
	if (n == 0)
		return PIPEMODE_OK;
	if (r->asm_cap - r->asm_len < n) {
		/* The caller checked the total against max_record_size. */
		size_t cap = r->asm_cap ? r->asm_cap : 4096;
		unsigned char *nb;
		while (cap - r->asm_len < n)
			cap = cap > SIZE_MAX / 2 ? r->asm_len + n : cap * 2;
		nb = realloc(r->asm_buf, cap);
		if (nb == NULL) {
			pm_format(f->msg, f->msgsize,
				  "out of memory joining the parts of a "
				  "record");
			return PIPEMODE_ENOMEM;
		}
		r->asm_buf = nb;
		r->asm_cap = cap;
	}
	memcpy(r->asm_buf + r->asm_len, p, n);
	r->asm_len += n;
	return PIPEMODE_OK;
}

static int
part_error(struct recordio *r, pipemode_frame *f, int code, const char *what,
	   unsigned flag)
{
	pm_format(f->msg, f->msgsize, "part %llu at byte %llu: %s (flag %u, %s)",
		  (unsigned long long)r->parts + 1,
		  (unsigned long long)f->offset, what, flag, flag_name(flag));
	close_record(r);
	return code;
}

size_t
pm_recordio_quick(void *state, const unsigned char *win, size_t avail,
		  const void **data, size_t *len)
{
	struct recordio *r = state;
	uint32_t lrec;
	size_t part_end;

	if (r->open || avail < PM_RECORDIO_HEADER ||
	    pm_load_le32(win) != PM_RECORDIO_MAGIC)
		return 0;
	lrec = pm_load_le32(win + 4);
	/* Flag 0, a whole record: anything else is frame's. */
	if ((lrec >> 29) != 0 || lrec > r->max_record_size)
		return 0;
	part_end = PM_RECORDIO_HEADER + (((size_t)lrec + 3) & ~(size_t)3);
	if (avail < part_end)
		return 0;
	r->parts++;
	*data = win + PM_RECORDIO_HEADER;
	*len = lrec;
	return part_end;
}

static int
recordio_frame(void *state, const unsigned char *win, size_t avail, int eof,
	       pipemode_frame *f)
{
	static const unsigned char magic[4] = {0x0a, 0x23, 0xd7, 0xce};
	struct recordio *r = state;
	size_t padded, part_end;
	uint32_t word, lrec, len;
	unsigned flag;
	uint64_t total;
	int rc;

	if (avail < PM_RECORDIO_HEADER) {
		if (!eof) {
			f->need = PM_RECORDIO_HEADER;
			return PIPEMODE_FRAME_NEED;
		}
		if (avail == 0 && !r->open)
			return PIPEMODE_EOF;
		if (avail == 0)
			pm_format(f->msg, f->msgsize,
				  "stream ends inside a record cut in parts, "
				  "after its part %llu at byte %llu",
				  (unsigned long long)r->parts,
				  (unsigned long long)r->last_part);
		else
			pm_format(f->msg, f->msgsize,
				  "stream ends inside the header of part %llu "
				  "at byte %llu (%zu of %d bytes)",
				  (unsigned long long)r->parts + 1,
				  (unsigned long long)f->offset, avail,
				  PM_RECORDIO_HEADER);
		close_record(r);
		return PIPEMODE_ETRUNCATED;
	}

	word = pm_load_le32(win);
	if (word != PM_RECORDIO_MAGIC) {
		pm_format(f->msg, f->msgsize,
			  "part %llu at byte %llu: bad magic 0x%08x (expected "
			  "0x%08x): corrupt framing, or not a RecordIO stream",
			  (unsigned long long)r->parts + 1,
			  (unsigned long long)f->offset, word,
			  PM_RECORDIO_MAGIC);
		close_record(r);
		return PIPEMODE_ECORRUPT;
	}
	lrec = pm_load_le32(win + 4);
	flag = lrec >> 29;
	len = lrec & PM_RECORDIO_MAX_PART;

	/* The sequence first: it decides what the part means. */
	if (flag > 3)
		return part_error(r, f, PIPEMODE_ECORRUPT, "invalid flag", flag);
	if (r->open && (flag == 0 || flag == 1))
		return part_error(r, f, PIPEMODE_ECORRUPT,
				  "a record cut in parts is still open", flag);
	if (!r->open && (flag == 2 || flag == 3))
		return part_error(r, f, PIPEMODE_ECORRUPT,
				  "no record cut in parts is open", flag);

	total = (uint64_t)r->asm_len + len;
	if (r->open && r->join == JOIN_DMLC)
		total += sizeof(magic);
	if (total > r->max_record_size) {
		pm_format(f->msg, f->msgsize,
			  "part %llu at byte %llu: record of %s%llu bytes is "
			  "larger than max_record_size (%llu)",
			  (unsigned long long)r->parts + 1,
			  (unsigned long long)f->offset,
			  flag == 0 || flag == 3 ? "" : "at least ",
			  (unsigned long long)total,
			  (unsigned long long)r->max_record_size);
		close_record(r);
		return PIPEMODE_ETOOBIG;
	}

	padded = ((size_t)len + 3) & ~(size_t)3;
	part_end = PM_RECORDIO_HEADER + padded;
	if (avail < part_end) {
		if (!eof) {
			f->need = part_end;
			return PIPEMODE_FRAME_NEED;
		}
		pm_format(f->msg, f->msgsize,
			  "stream ends inside part %llu at byte %llu (%zu of "
			  "%zu bytes with padding)",
			  (unsigned long long)r->parts + 1,
			  (unsigned long long)f->offset, avail, part_end);
		close_record(r);
		return PIPEMODE_ETRUNCATED;
	}

	r->parts++;
	f->consumed = part_end;
	if (flag == 0) {
		f->data = win + PM_RECORDIO_HEADER;
		f->len = len;
		return PIPEMODE_FRAME_RECORD;
	}
	if (flag != 1 && r->join == JOIN_DMLC) {
		rc = append(r, magic, sizeof(magic), f);
		if (rc != PIPEMODE_OK) {
			close_record(r);
			return rc;
		}
	}
	rc = append(r, win + PM_RECORDIO_HEADER, len, f);
	if (rc != PIPEMODE_OK) {
		close_record(r);
		return rc;
	}
	r->open = 1;
	r->last_part = f->offset;
	if (flag != 3)
		return PIPEMODE_FRAME_TAKEN;
	/* The joined bytes stay in asm_buf until the next call; an empty
	 * record still gets a pointer that is not NULL. */
	f->data = r->asm_buf != NULL ? r->asm_buf : win;
	f->len = r->asm_len;
	r->open = 0;
	r->asm_len = 0;
	return PIPEMODE_FRAME_RECORD;
}

/* The magic word, then a whole record or a first part. */
static int
recordio_sniff(const unsigned char *buf, size_t len)
{
	if (len < PM_RECORDIO_HEADER)
		return len == 0 ? 0 : -1;
	return pm_load_le32(buf) == PM_RECORDIO_MAGIC &&
	       (pm_load_le32(buf + 4) >> 29) <= 1;
}

const pipemode_framer_ops pm_framer_recordio = {
	sizeof(pipemode_framer_ops),
	"recordio",
	recordio_create,
	recordio_option,
	recordio_frame,
	recordio_destroy,
	recordio_sniff,
};
