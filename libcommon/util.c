// SPDX-License-Identifier: GPL-2.0
/* Diagnostics and small system helpers. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "huatuo.h"

static void vreport(const struct ht_env *env, const char *level, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* one line, whatever the message carried */
	for (char *p = msg; *p; p++)
		if (*p == '\n')
			*p = ' ';
	fprintf(stderr, "%s: %s%s\n", env && env->tool ? env->tool : "huatuo", level, msg);
}

void ht_err(const struct ht_env *env, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(env, "", fmt, ap);
	va_end(ap);
}

void ht_warn(const struct ht_env *env, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(env, "warning: ", fmt, ap);
	va_end(ap);
}

void ht_info(const struct ht_env *env, const char *fmt, ...)
{
	va_list ap;

	if (!env || !env->verbose)
		return;
	va_start(ap, fmt);
	vreport(env, "", fmt, ap);
	va_end(ap);
}

const char *ht_hostname(void)
{
	static char name[256];

	if (!name[0] && gethostname(name, sizeof(name) - 1))
		snprintf(name, sizeof(name), "unknown");
	return name;
}

uint64_t ht_now_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

int ht_read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	close(fd);
	buf[n] = '\0';
	return (int)n;
}
