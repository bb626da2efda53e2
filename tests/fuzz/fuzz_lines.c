/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz harness: the text lines framer.  Switch: strip_cr=1.
 * Input: two control bytes (see fuzz_common.h), then the stream.
 */
#include "fuzz_common.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_read_input(data, size,
		      fz_switch(data, size) ? "format=lines,strip_cr=1"
					    : "format=lines");
	return 0;
}
