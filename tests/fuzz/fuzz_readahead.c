/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz harness: readahead=SIZE, the reader's thread that drains a pipe into
 * a ring.  The stream goes through a real pipe, written by a thread in the
 * chunks the control bytes choose, and must read exactly as from memory.
 * Choice: the format (tfrecord, recordio, lines, auto).  Switch: a 4K ring
 * (the smallest, so that it wraps all the time) or 5000 bytes (not a power
 * of two).
 * Input: two control bytes (see fuzz_common.h), then the stream.
 */
#include "fuzz_common.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const options[4] = {
		"format=tfrecord",
		"format=recordio",
		"format=lines",
		"format=auto",
	};

	fz_read_input_pipe(data, size, options[fz_choice(data, size)],
			   fz_switch(data, size) ? "readahead=5000"
						 : "readahead=4K");
	return 0;
}
