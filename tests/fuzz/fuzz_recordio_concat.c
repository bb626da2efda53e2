/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz harness: the RecordIO framer, parts joined verbatim
 * (recordio_multipart=concat, SageMaker and AWS ml-io).  Switch: timing=1.
 * Input: two control bytes (see fuzz_common.h), then the stream.
 */
#include "fuzz_common.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_read_input(data, size,
		      fz_switch(data, size)
			      ? "format=recordio,recordio_multipart=concat,"
				"timing=1"
			      : "format=recordio,recordio_multipart=concat");
	return 0;
}
