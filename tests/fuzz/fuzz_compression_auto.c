/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz harness: compression=auto: gzip, zlib or none told
 * from the first bytes, under each framer.  Choice: the format (tfrecord,
 * recordio, lines, auto).  Switch: timing=1 or the second RecordIO
 * convention.
 * Input: two control bytes (see fuzz_common.h), then the stream.
 */
#include "fuzz_common.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const options[2][4] = {
		{"compression=auto,format=tfrecord",
		 "compression=auto,format=recordio",
		 "compression=auto,format=lines",
		 "compression=auto,format=auto"},
		{"compression=auto,format=tfrecord,timing=1",
		 "compression=auto,format=recordio,recordio_multipart=dmlc",
		 "compression=auto,format=lines,strip_cr=1",
		 "compression=auto,format=auto,recordio_multipart=dmlc"},
	};

	fz_read_input(data, size,
		      options[fz_switch(data, size)][fz_choice(data, size)]);
	return 0;
}
