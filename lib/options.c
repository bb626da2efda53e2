/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The "key=value,key=value" option strings shared by readers and writers.
 * One string instead of setters keeps the ABI fixed as options are added, and
 * lets bindings pass options straight through.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int
is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Trim ASCII blanks in place; returns the start. */
static char *
trim(char *s)
{
	size_t n;

	while (is_space(*s))
		s++;
	n = strlen(s);
	while (n > 0 && is_space(s[n - 1]))
		s[--n] = '\0';
	return s;
}

int
pm_options_parse(const char *options, pm_option_fn fn, void *ctx, char *msg,
		 size_t msgsize)
{
	char *copy, *out, *pair;
	const char *in;
	int rc = PIPEMODE_OK;

	if (options == NULL || options[0] == '\0')
		return PIPEMODE_OK;
	/* Unescaping only shrinks, so one copy of the same size holds all
	 * pairs, each ended by a NUL where its unescaped comma was. */
	copy = malloc(strlen(options) + 1);
	if (copy == NULL) {
		pm_format(msg, msgsize, "out of memory parsing options");
		return PIPEMODE_ENOMEM;
	}
	in = options;
	for (;;) {
		char *key, *value, *eq;

		pair = out = copy;
		eq = NULL;
		for (; *in != '\0' && *in != ','; in++) {
			if (*in == '\\') {
				if (in[1] == '\0') {
					pm_format(msg, msgsize,
						  "options: trailing backslash");
					rc = PIPEMODE_EOPTION;
					goto done;
				}
				in++;
				*out++ = *in;
				continue;
			}
			if (*in == '=' && eq == NULL)
				eq = out;
			*out++ = *in;
		}
		*out = '\0';
		if (eq == NULL) {
			const char *what = trim(pair);
			pm_format(msg, msgsize,
				  what[0] == '\0'
					  ? "options: empty option in '%s'"
					  : "option '%s': expected key=value",
				  what[0] == '\0' ? options : what);
			rc = PIPEMODE_EOPTION;
			goto done;
		}
		*eq = '\0';
		key = trim(pair);
		value = trim(eq + 1);
		if (key[0] == '\0') {
			pm_format(msg, msgsize, "options: empty key in '%s'",
				  options);
			rc = PIPEMODE_EOPTION;
			goto done;
		}
		rc = fn(ctx, key, value, msg, msgsize);
		if (rc != PIPEMODE_OK)
			goto done;
		if (*in == '\0')
			break;
		in++; /* the comma */
	}
done:
	free(copy);
	return rc;
}

int
pm_option_bool(const char *key, const char *value, int *out, char *msg,
	       size_t msgsize)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off"};
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(value, yes[i]) == 0) {
			*out = 1;
			return PIPEMODE_OK;
		}
		if (strcasecmp(value, no[i]) == 0) {
			*out = 0;
			return PIPEMODE_OK;
		}
	}
	pm_format(msg, msgsize,
		  "option '%s': '%s' is not a boolean (1/0, true/false, "
		  "yes/no, on/off)",
		  key, value);
	return PIPEMODE_EOPTION;
}

/* Parse digits only: strtoull would accept signs and blanks. */
static int
parse_digits(const char *s, const char **end, uint64_t *out)
{
	uint64_t v = 0;

	if (!isdigit((unsigned char)*s))
		return -1;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*end = s;
	*out = v;
	return 0;
}

int
pm_option_uint(const char *key, const char *value, uint64_t max,
	       uint64_t *out, char *msg, size_t msgsize)
{
	const char *end;
	uint64_t v;

	if (parse_digits(value, &end, &v) != 0 || *end != '\0' || v > max) {
		pm_format(msg, msgsize,
			  "option '%s': '%s' is not a whole number from 0 to "
			  "%llu",
			  key, value, (unsigned long long)max);
		return PIPEMODE_EOPTION;
	}
	*out = v;
	return PIPEMODE_OK;
}

int
pm_option_size(const char *key, const char *value, uint64_t min,
	       uint64_t max, uint64_t *out, char *msg, size_t msgsize)
{
	const char *end;
	uint64_t v, unit = 1;

	if (parse_digits(value, &end, &v) != 0)
		goto bad;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K':
		unit = 1024;
		break;
	case 'm': case 'M':
		unit = 1024 * 1024;
		break;
	case 'g': case 'G':
		unit = 1024 * 1024 * 1024;
		break;
	default:
		goto bad;
	}
	if (*end != '\0' && end[1] != '\0')
		goto bad;
	if (v > UINT64_MAX / unit)
		goto bad;
	v *= unit;
	if (v < min || v > max)
		goto bad;
	*out = v;
	return PIPEMODE_OK;
bad:
	pm_format(msg, msgsize,
		  "option '%s': '%s' is not a size from %llu to %llu bytes "
		  "(a number with an optional K, M or G suffix)",
		  key, value, (unsigned long long)min, (unsigned long long)max);
	return PIPEMODE_EOPTION;
}

static int
find_name(void *ctx, const char *key, const char *value, char *msg,
	  size_t msgsize)
{
	char **name = ctx;

	if (strcmp(key, "name") != 0)
		return PIPEMODE_OK;
	free(*name);
	*name = strdup(value);
	if (*name == NULL) {
		pm_format(msg, msgsize, "out of memory");
		return PIPEMODE_ENOMEM;
	}
	return PIPEMODE_OK;
}

char *
pm_options_name(const char *options, const char *def_name)
{
	char *name = NULL;
	char msg[8];

	/* Errors are left to the real parse; this pass only wants the name,
	 * so that the real one can name the source whatever the order.  Out
	 * of memory, though, must not quietly drop the name given. */
	int rc = pm_options_parse(options, find_name, &name, msg, sizeof(msg));

	if (rc == PIPEMODE_ENOMEM) {
		free(name);
		return NULL;
	}
	if (rc != PIPEMODE_OK) {
		free(name);
		name = NULL;
	}
	return name != NULL ? name : strdup(def_name);
}
