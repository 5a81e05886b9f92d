// SPDX-License-Identifier: GPL-2.0
/*
 * The -o local store: DIR/<tracer_name> gets the same JSON lines as stdout. When the next line
 * would push the file past its cap, it is renamed to <tracer_name>-YYYY-MM-DDTHH-MM-SS.mmm and
 * only the newest @keep such files are kept. A line is written whole or not at all.
 *
 * Lines are gathered in a buffer and written with one write(2) per ht_store_flush() (the
 * run loop flushes after every ring-buffer poll round), not one per event: at a drop storm
 * the syscall per line was a fifth of the consumer's time.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "huatuo.h"

#define STORE_BUF_BYTES (64 * 1024)

struct ht_store {
	char dir[2048];
	char name[128];
	char path[2304];
	int fd;
	uint64_t size;
	uint64_t max_bytes;
	unsigned int keep;
	size_t pending; /* bytes in buf not yet written */
	char buf[STORE_BUF_BYTES];
};

static int mkdir_p(const char *dir)
{
	char tmp[2048];

	snprintf(tmp, sizeof(tmp), "%s", dir);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

static int open_current(struct ht_store *st)
{
	struct stat sb;

	st->fd = open(st->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (st->fd < 0)
		return -errno;
	if (fstat(st->fd, &sb)) {
		int err = -errno;

		close(st->fd);
		st->fd = -1;
		return err;
	}
	st->size = (uint64_t)sb.st_size;
	return 0;
}

struct ht_store *ht_store_open(const char *dir, const char *name, uint64_t max_bytes,
			       unsigned int keep, char *err, size_t errlen)
{
	struct ht_store *st = calloc(1, sizeof(*st));
	struct stat sb;
	int rc;

	if (!st) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (strlen(dir) >= sizeof(st->dir) || strlen(name) >= sizeof(st->name)) {
		snprintf(err, errlen, "path too long");
		free(st);
		return NULL;
	}
	snprintf(st->dir, sizeof(st->dir), "%s", dir);
	snprintf(st->name, sizeof(st->name), "%s", name);
	snprintf(st->path, sizeof(st->path), "%s/%s", dir, name);
	st->max_bytes = max_bytes;
	st->keep = keep;
	if (!stat(dir, &sb) && !S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "not a directory");
		free(st);
		return NULL;
	}
	rc = mkdir_p(dir);
	if (!rc)
		rc = open_current(st);
	if (rc) {
		snprintf(err, errlen, "%s", strerror(-rc));
		free(st);
		return NULL;
	}
	return st;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Delete the oldest rotated files beyond @keep (names sort by time). */
static void prune(struct ht_store *st)
{
	size_t prefix = strlen(st->name), n = 0, cap = 0;
	char **names = NULL;
	struct dirent *de;
	DIR *d = opendir(st->dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, st->name, prefix) || de->d_name[prefix] != '-' ||
		    strlen(de->d_name) != prefix + 24)
			continue;
		if (n == cap) {
			char **grown = realloc(names, (cap = cap ? cap * 2 : 16) * sizeof(*names));

			if (!grown)
				break;
			names = grown;
		}
		names[n] = strdup(de->d_name);
		if (names[n])
			n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		if (i + st->keep < n) {
			char path[4096];

			snprintf(path, sizeof(path), "%s/%s", st->dir, names[i]);
			unlink(path);
		}
		free(names[i]);
	}
	free(names);
}

static int rotate(struct ht_store *st)
{
	char rotated[4096], stamp[32];
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H-%M-%S", &tm);
	snprintf(rotated, sizeof(rotated), "%s-%s.%03ld", st->path, stamp, ts.tv_nsec / 1000000);
	close(st->fd);
	st->fd = -1;
	if (rename(st->path, rotated))
		return -errno;
	prune(st);
	return open_current(st);
}

/*
 * Write what is buffered. A short write (full disk) keeps the whole lines that made it and
 * cuts the file back to the last complete one.
 */
int ht_store_flush(struct ht_store *st)
{
	ssize_t n;
	int err = 0;

	if (!st || !st->pending)
		return 0;
	if (st->fd < 0)
		return -EBADF;
	n = write(st->fd, st->buf, st->pending);
	if (n == (ssize_t)st->pending) {
		st->size += st->pending;
	} else {
		size_t whole = 0;

		err = n < 0 ? -errno : -ENOSPC;
		for (ssize_t i = n - 1; i >= 0; i--) {
			if (st->buf[i] == '\n') {
				whole = (size_t)i + 1;
				break;
			}
		}
		/* never leave a torn line behind */
		if (ftruncate(st->fd, (off_t)(st->size + whole)))
			err = err ? err : -errno;
		else
			st->size += whole;
	}
	st->pending = 0;
	return err;
}

/* Append one line (a newline is added); large lines bypass the buffer. */
int ht_store_append(struct ht_store *st, const char *line, size_t len)
{
	int err;

	if (st->fd < 0)
		return -EBADF;
	if (st->size + st->pending && st->size + st->pending + len + 1 > st->max_bytes) {
		err = ht_store_flush(st);
		if (!err)
			err = rotate(st);
		if (err)
			return err;
	}
	if (st->pending + len + 1 > sizeof(st->buf)) {
		err = ht_store_flush(st);
		if (err)
			return err;
	}
	if (len + 1 > sizeof(st->buf)) {
		/* one write for the line and its newline, or nothing */
		struct iovec iov[2] = { { (void *)line, len }, { (void *)"\n", 1 } };
		ssize_t n = writev(st->fd, iov, 2);

		if (n == (ssize_t)(len + 1)) {
			st->size += len + 1;
			return 0;
		}
		err = n < 0 ? -errno : -ENOSPC;
		if (ftruncate(st->fd, (off_t)st->size))
			err = err ? err : -errno;
		return err;
	}
	memcpy(st->buf + st->pending, line, len);
	st->buf[st->pending + len] = '\n';
	st->pending += len + 1;
	return 0;
}

void ht_store_close(struct ht_store *st)
{
	if (!st)
		return;
	ht_store_flush(st);
	if (st->fd >= 0)
		close(st->fd);
	free(st);
}
