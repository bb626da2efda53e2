/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz harness: the reader against a plug-in framer whose every answer the
 * input dictates, lawful or not: records, taken bytes, needs, ends and
 * errors with any consumed count, answers after the end, codes that mean
 * nothing.  The reader must hold the framer to its contract (fail cleanly,
 * never loop, never overrun its buffer) whatever the framer says.  The
 * framer itself stays within its window: a plug-in that hands out wild
 * pointers is beyond any library's help.
 *
 * Input: c0 (chunking, as in fuzz_common.h bits 0-2; bit 3: format=auto
 * with this framer's sniff among the candidates), a script length n, n
 * script bytes, then the stream.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipemode.h"

#include "fuzz_common.h"

static const uint8_t *script;
static size_t script_len;

struct plug {
	size_t pos;
};

static unsigned
next_byte(struct plug *p)
{
	return p->pos < script_len ? script[p->pos++] : 0;
}

static int
plug_create(void **state, const pipemode_framer_config *cfg, char *msg,
	    size_t msgsize)
{
	struct plug *p = calloc(1, sizeof(*p));

	(void)cfg;
	(void)msg;
	(void)msgsize;
	if (p == NULL)
		return PIPEMODE_ENOMEM;
	*state = p;
	return PIPEMODE_OK;
}

static int
plug_option(void *state, const char *key, const char *value, char *msg,
	    size_t msgsize)
{
	(void)state;
	(void)value;
	if (strcmp(key, "plug_fail") != 0)
		return 1;
	snprintf(msg, msgsize, "option 'plug_fail' always fails");
	return PIPEMODE_EOPTION;
}

static void
plug_destroy(void *state)
{
	free(state);
}

static int
plug_frame(void *state, const unsigned char *win, size_t avail, int eof,
	   pipemode_frame *f)
{
	struct plug *p = state;
	unsigned op, a, b;

	if (p->pos >= script_len) {
		/* The script is over: a lawful framer of one record per
		 * window, so every reading ends. */
		if (!eof) {
			f->need = avail + 1;
			return PIPEMODE_FRAME_NEED;
		}
		if (avail == 0)
			return PIPEMODE_EOF;
		f->data = win;
		f->len = avail;
		f->consumed = avail;
		return PIPEMODE_FRAME_RECORD;
	}
	op = next_byte(p);
	a = next_byte(p);
	b = next_byte(p);
	switch (op % 9) {
	case 0: /* a record somewhere in the window; consumed may lie */
		f->data = avail > 0 ? win + a % avail : win;
		f->len = avail > 0 ? b % (avail - a % avail + 1) : 0;
		f->consumed = (op >> 4) == 15 ? avail + 1 + b % 3
					      : (avail > 0 ? 1 + a % avail : 0);
		return PIPEMODE_FRAME_RECORD;
	case 1: /* bytes taken */
		f->consumed = (op >> 4) == 15 ? avail + 1
					      : (avail > 0 ? 1 + a % avail : 0);
		return PIPEMODE_FRAME_TAKEN;
	case 2: /* a need, lawful or not (less than avail, or at the end) */
		f->need = (op >> 4) == 15 ? a % (avail + 1)
					  : avail + 1 + a * 4 + b;
		return PIPEMODE_FRAME_NEED;
	case 3:
		return PIPEMODE_EOF;
	case 4: /* a bad payload CRC, for skip_corrupt to step over */
		f->consumed = (op >> 4) == 15 ? avail + 2
					      : (avail > 0 ? 1 + a % avail : 0);
		snprintf(f->msg, f->msgsize, "scripted crc error %u", a);
		return PIPEMODE_ECRC;
	case 5:
		snprintf(f->msg, f->msgsize, "scripted corruption");
		return PIPEMODE_ECORRUPT;
	case 6:
		return 4 + (int)(a % 100); /* an answer that means nothing */
	case 7:
		return -(int)(a % 40) - 1; /* any negative code, even unknown */
	default:
		snprintf(f->msg, f->msgsize, "scripted truncation");
		return PIPEMODE_ETRUNCATED;
	}
}

static int
plug_sniff(const unsigned char *buf, size_t len)
{
	(void)buf;
	(void)len;
	return script_len > 0 ? (int)(script[0] % 3) - 1 : 0;
}

static const pipemode_framer_ops plug_ops = {
	sizeof(pipemode_framer_ops), "fuzzplug", plug_create, plug_option,
	plug_frame, plug_destroy, plug_sniff,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int registered;
	unsigned c0;
	size_t n;

	if (!registered) {
		if (pipemode_register_framer(&plug_ops) != PIPEMODE_OK)
			fz_fail("cannot register the framer");
		registered = 1;
	}
	if (size < 2)
		return 0;
	c0 = data[0];
	n = data[1];
	data += 2;
	size -= 2;
	if (n > size)
		n = size;
	script = data;
	script_len = n;
	fz_read_once(data + n, size - n,
		     c0 & 8 ? "format=auto,max_record_size=1M,skip_corrupt=3"
			    : "format=fuzzplug,max_record_size=1M,"
			      "buffer_size=4K,skip_corrupt=2",
		     c0 & 7, c0);
	script = NULL;
	script_len = 0;
	return 0;
}
