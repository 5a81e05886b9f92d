// SPDX-License-Identifier: GPL-2.0
/* Diagnostics and small system helpers. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
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

static char hostname[256];

bool ht_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > 253)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr(".-_", name[i]))
			return false;
	return true;
}

void ht_set_hostname(const char *name)
{
	snprintf(hostname, sizeof(hostname), "%s", name);
}

/* The namespace inode /proc/@pid/ns/@ns names ("uts:[4026531838]"), 0 if unreadable. */
static unsigned long ns_inode(const char *pid, const char *ns)
{
	char path[64], link[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%s/ns/%s", pid, ns);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return 0;
	link[n] = '\0';
	return strchr(link, '[') ? strtoul(strchr(link, '[') + 1, NULL, 10) : 0;
}

bool ht_host_pidns(void)
{
	return ns_inode("self", "pid") == HT_PROC_PID_INIT_INO;
}

bool ht_kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return false;
	return ma > major || (ma == major && mi >= minor);
}

/*
 * uname() of the kernel's first UTS namespace, from a thread that joins it (CAP_SYS_ADMIN):
 * kthreadd's (pid 2), as every kernel thread's; pid 1 may refuse to be looked at.
 */
static void *host_uname(void *arg)
{
	struct utsname *u = arg;
	int fd = open("/proc/2/ns/uts", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || setns(fd, CLONE_NEWUTS) || uname(u))
		u->nodename[0] = '\0';
	if (fd >= 0)
		close(fd);
	return NULL;
}

const char *ht_hostname(void)
{
	struct utsname host = { .nodename = "" };
	pthread_t thread;

	if (hostname[0])
		return hostname;
	/*
	 * In a container that shares the host's pid namespace (a debug container), the host's
	 * kernel threads are in /proc: the envelope names the node, not the container.
	 */
	if (ht_host_pidns() && ns_inode("self", "uts") != ns_inode("2", "uts") &&
	    !pthread_create(&thread, NULL, host_uname, &host) && !pthread_join(thread, NULL) &&
	    host.nodename[0]) {
		ht_set_hostname(host.nodename);
		return hostname;
	}
	if (gethostname(hostname, sizeof(hostname) - 1))
		snprintf(hostname, sizeof(hostname), "unknown");
	return hostname;
}

uint64_t ht_now_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

int ht_grow(void *arrp, size_t *cap, size_t need, size_t size, size_t first)
{
	size_t n = *cap ? *cap : first;
	void *arr, *grown;

	if (need <= *cap)
		return 0;
	while (n < need) {
		if (n > SIZE_MAX / 2 / size)
			return -ENOMEM;
		n *= 2;
	}
	memcpy(&arr, arrp, sizeof(arr)); /* T ** as void **, without the aliasing */
	grown = realloc(arr, n * size);
	if (!grown)
		return -ENOMEM;
	memcpy(arrp, &grown, sizeof(grown));
	*cap = n;
	return 0;
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
