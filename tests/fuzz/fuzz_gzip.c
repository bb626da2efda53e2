/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz harness: the gzip filter under each framer.
 * Choice: the format (tfrecord, recordio, lines, auto).  Switch: timing=1.
 * Input: two control bytes (see fuzz_common.h), then the stream.
 */
#include "fuzz_common.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const options[2][4] = {
		{"compression=gzip,format=tfrecord",
		 "compression=gzip,format=recordio",
		 "compression=gzip,format=lines",
		 "compression=gzip,format=auto"},
		{"compression=gzip,format=tfrecord,timing=1",
		 "compression=gzip,format=recordio,recordio_multipart=dmlc",
		 "compression=gzip,format=lines,strip_cr=1",
		 "compression=gzip,format=auto,timing=1"},
	};

	fz_read_input(data, size,
		      options[fz_switch(data, size)][fz_choice(data, size)]);
	return 0;
}
