/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz harness: the TFRecord framer.
 * Switch: timing=1.
 * Input: two control bytes (see fuzz_common.h), then the stream.
 */
#include "fuzz_common.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_read_input(data, size,
		      fz_switch(data, size) ? "format=tfrecord,timing=1"
					    : "format=tfrecord");
	return 0;
}
