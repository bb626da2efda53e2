/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Text lines (CSV, JSON lines): a record per '\n'-ended line, without the
 * '\n'.  An empty line is an empty record; a last line without '\n' is a
 * record too.  `scanned` remembers how much of a long line was already
 * searched, so a line arriving in small pieces is searched once, not once
 * per piece.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct lines {
	uint64_t max_record_size;
	int strip_cr;
	size_t scanned; /* bytes of the window known to hold no '\n' */
};

static int
lines_create(void **state, const pipemode_framer_config *cfg, char *msg,
	     size_t msgsize)
{
	struct lines *l = calloc(1, sizeof(*l));

	if (l == NULL) {
		pm_format(msg, msgsize, "out of memory");
		return PIPEMODE_ENOMEM;
	}
	l->max_record_size = cfg->max_record_size;
	*state = l;
	return PIPEMODE_OK;
}

static int
lines_option(void *state, const char *key, const char *value, char *msg,
	     size_t msgsize)
{
	struct lines *l = state;

	if (strcmp(key, "strip_cr") != 0)
		return 1;
	return pm_option_bool(key, value, &l->strip_cr, msg, msgsize);
}

static void
lines_destroy(void *state)
{
	free(state);
}

static int
too_long(struct lines *l, pipemode_frame *f, const char *what)
{
	pm_format(f->msg, f->msgsize,
		  "%s is longer than max_record_size (%llu bytes)", what,
		  (unsigned long long)l->max_record_size);
	l->scanned = 0;
	return PIPEMODE_ETOOBIG;
}

static int
lines_frame(void *state, const unsigned char *win, size_t avail, int eof,
	    pipemode_frame *f)
{
	struct lines *l = state;
	const unsigned char *nl;
	size_t len, consumed;

	nl = l->scanned < avail
		     ? memchr(win + l->scanned, '\n', avail - l->scanned)
		     : NULL;
	if (nl != NULL) {
		len = (size_t)(nl - win);
		consumed = len + 1;
	} else {
		/* With strip_cr a line of max_record_size may carry one more
		 * byte, its '\r'. */
		uint64_t limit = l->max_record_size + (l->strip_cr ? 1 : 0);
		if (avail > limit)
			return too_long(l, f, "line");
		if (!eof) {
			l->scanned = avail;
			f->need = avail + 1;
			return PIPEMODE_FRAME_NEED;
		}
		if (avail == 0)
			return PIPEMODE_EOF;
		len = avail;
		consumed = avail;
	}
	l->scanned = 0;
	if (l->strip_cr && len > 0 && win[len - 1] == '\r')
		len--;
	if (len > l->max_record_size)
		return too_long(l, f, "line");
	f->data = win;
	f->len = len;
	f->consumed = consumed;
	return PIPEMODE_FRAME_RECORD;
}

const pipemode_framer_ops pm_framer_lines = {
	sizeof(pipemode_framer_ops),
	"lines",
	lines_create,
	lines_option,
	lines_frame,
	lines_destroy,
	NULL, /* text is never guessed */
};
