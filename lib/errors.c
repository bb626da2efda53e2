/* SPDX-License-Identifier: Apache-2.0 */
/* Error codes, their descriptions and names, and the library version. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

const char *
pipemode_strerror(int code)
{
	switch (code) {
#define PM_XX_STRERROR(name, value, msg) case value: return msg;
		PIPEMODE_ERRNO_MAP(PM_XX_STRERROR)
#undef PM_XX_STRERROR
	default:
		return "unknown error code";
	}
}

const char *
pipemode_code_name(int code)
{
	switch (code) {
#define PM_XX_NAME(name, value, msg) case value: return #name;
		PIPEMODE_ERRNO_MAP(PM_XX_NAME)
#undef PM_XX_NAME
	default:
		return NULL;
	}
}

unsigned
pipemode_version_number(void)
{
	return PIPEMODE_VERSION_NUMBER;
}

const char *
pipemode_version_string(void)
{
	return PIPEMODE_VERSION_STRING;
}

void
pm_format(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}
