/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The framer registry: the built-in framers and those a program registers
 * with pipemode_register_framer().  Global, so guarded by a mutex; a lookup
 * copies the ops out, so a reader never holds a pointer into the registry
 * while another thread grows it.
 */
#include "config.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

struct builtin {
	const char *name;      /* as accepted by format=, any case */
	const pipemode_framer_ops *ops;
};

static const struct builtin builtins[] = {
	{"tfrecord", &pm_framer_tfrecord},
	{"recordio", &pm_framer_recordio},
	{"lines", &pm_framer_lines},
	{"textline", &pm_framer_lines},
};

/* "auto" is the reader's, not a framer's, and can never be registered. */
static const char *const reserved[] = {"auto"};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pipemode_framer_ops *registered;
static size_t nregistered, capregistered;

/* Copy ops as far as its size covers; later fields stay NULL. */
static void
copy_ops(pipemode_framer_ops *dst, const pipemode_framer_ops *src)
{
	size_t n = src->size < sizeof(*dst) ? src->size : sizeof(*dst);

	memset(dst, 0, sizeof(*dst));
	memcpy(dst, src, n);
	dst->size = sizeof(*dst);
}

pm_quick_fn
pm_framer_quick(const pipemode_framer_ops *ops)
{
	/* By the frame function, not the name: a copy of the built-in ops
	 * registered under another name frames the same way. */
	if (ops->frame == pm_framer_tfrecord.frame)
		return pm_tfrecord_quick;
	if (ops->frame == pm_framer_recordio.frame)
		return pm_recordio_quick;
	return NULL;
}

static int
builtin_name(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (strcasecmp(name, builtins[i].name) == 0)
			return 1;
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strcasecmp(name, reserved[i]) == 0)
			return 1;
	return 0;
}

int
pm_framer_lookup(const char *name, pipemode_framer_ops *ops, char *msg,
		 size_t msgsize)
{
	size_t i;

	for (i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++) {
		if (strcasecmp(name, builtins[i].name) == 0) {
			copy_ops(ops, builtins[i].ops);
			return PIPEMODE_OK;
		}
	}
	pthread_mutex_lock(&lock);
	for (i = 0; i < nregistered; i++) {
		if (strcasecmp(name, registered[i].name) == 0) {
			*ops = registered[i];
			pthread_mutex_unlock(&lock);
			return PIPEMODE_OK;
		}
	}
	pthread_mutex_unlock(&lock);
	pm_format(msg, msgsize,
		  "option 'format': unknown format '%s' (known: tfrecord, "
		  "recordio, lines, auto, and registered framers)",
		  name);
	return PIPEMODE_EOPTION;
}

size_t
pm_framer_sniffers(pipemode_framer_ops *ops, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++) {
		/* Aliases share ops: list each framer once. */
		if (builtins[i].ops->sniff == NULL ||
		    (i > 0 && builtins[i].ops == builtins[i - 1].ops))
			continue;
		if (n < max)
			copy_ops(&ops[n], builtins[i].ops);
		n++;
	}
	pthread_mutex_lock(&lock);
	for (i = 0; i < nregistered; i++) {
		if (registered[i].sniff == NULL)
			continue;
		if (n < max)
			ops[n] = registered[i];
		n++;
	}
	pthread_mutex_unlock(&lock);
	return n;
}

static int
valid_name(const char *name)
{
	size_t i;

	for (i = 0; name[i] != '\0'; i++) {
		char c = name[i];
		if (i >= PM_FRAMER_NAME_MAX)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return i > 0;
}

int
pipemode_register_framer(const pipemode_framer_ops *ops)
{
	pipemode_framer_ops copy;
	char *name;
	size_t i;

	/* The fields up to destroy are what every plug-in must have. */
	if (ops == NULL ||
	    ops->size < offsetof(pipemode_framer_ops, destroy) +
				sizeof(ops->destroy))
		return PIPEMODE_EINVAL;
	copy_ops(&copy, ops);
	if (copy.name == NULL || !valid_name(copy.name) ||
	    copy.create == NULL || copy.frame == NULL ||
	    copy.destroy == NULL || builtin_name(copy.name))
		return PIPEMODE_EINVAL;
	name = strdup(copy.name);
	if (name == NULL)
		return PIPEMODE_ENOMEM;
	copy.name = name;

	pthread_mutex_lock(&lock);
	for (i = 0; i < nregistered; i++) {
		if (strcasecmp(registered[i].name, name) == 0) {
			pthread_mutex_unlock(&lock);
			free(name);
			return PIPEMODE_EINVAL;
		}
	}
	if (nregistered == capregistered) {
		size_t cap = capregistered ? capregistered * 2 : 8;
		pipemode_framer_ops *grown =
			realloc(registered, cap * sizeof(*grown));
		if (grown == NULL) {
			pthread_mutex_unlock(&lock);
			free(name);
			return PIPEMODE_ENOMEM;
		}
		registered = grown;
		capregistered = cap;
	}
	registered[nregistered++] = copy;
	pthread_mutex_unlock(&lock);
	return PIPEMODE_OK;
}
