/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz harness: the zlib filter under each framer.
 * Choice: the format (tfrecord, recordio, lines, auto).  Switch: timing=1.
 * Input: two control bytes (see fuzz_common.h), then the stream.
 */
#include "fuzz_common.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const options[2][4] = {
		{"compression=zlib,format=tfrecord",
		 "compression=zlib,format=recordio",
		 "compression=zlib,format=lines",
		 "compression=zlib,format=auto"},
		{"compression=zlib,format=tfrecord,timing=1",
		 "compression=zlib,format=recordio,recordio_multipart=dmlc",
		 "compression=zlib,format=lines,strip_cr=1",
		 "compression=zlib,format=auto,timing=1"},
	};

	fz_read_input(data, size,
		      options[fz_switch(data, size)][fz_choice(data, size)]);
	return 0;
}
