/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz harness: format=auto, TFRecord or RecordIO told from the
 * first bytes.  Choice: the RecordIO option every candidate is offered.
 * Input: two control bytes (see fuzz_common.h), then the stream.
 */
#include "fuzz_common.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const options[4] = {
		"format=auto",
		"format=auto,recordio_multipart=dmlc",
		"format=auto,recordio_multipart=concat",
		"format=AUTO",
	};

	fz_read_input(data, size, options[fz_choice(data, size)]);
	return 0;
}
