// SPDX-License-Identifier: GPL-2.0
/*
 * The -o local store: DIR/<tracer_name> gets the same JSON lines as stdout. When the next line
 * would push the file past its cap, it is renamed to <tracer_name>-YYYY-MM-DDTHH-MM-SS.mmm and
 * only the newest @keep such files are kept. A line is written whole or not at all.
 * Every file is reached through one directory fd (safedir.c): a link another user planted
 * as DIR/<tracer_name> or as the next rotated name is refused, never written through.
 *
 * Lines are gathered in a buffer and written with one write(2) per ht_store_flush() (the
 * run loop flushes after every ring-buffer poll round), not one per event: at a drop storm
 * the syscall per line was a fifth of the consumer's time.
 */
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
#define STORE_MODE 0640 /* events carry command, container and device names */
#define STAMP_LEN 24	/* "-YYYY-MM-DDTHH-MM-SS.mmm" */

struct ht_store {
	struct ht_dir dir; /* DIR, checked once; every file is reached through it */
	char name[128];
	int fd;
	uint64_t size;
	uint64_t max_bytes;
	unsigned int keep;
	size_t pending; /* bytes in buf not yet written */
	char buf[STORE_BUF_BYTES];
};

static int open_current(struct ht_store *st)
{
	struct stat sb;

	st->fd = ht_dir_append(&st->dir, st->name, STORE_MODE);
	if (st->fd < 0)
		return st->fd;
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

	if (!st) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	st->fd = -1;
	if (strlen(name) >= sizeof(st->name)) {
		snprintf(err, errlen, "name too long");
		free(st);
		return NULL;
	}
	snprintf(st->name, sizeof(st->name), "%s", name);
	st->max_bytes = max_bytes;
	st->keep = keep;
	if (ht_dir_open(&st->dir, dir, true) || open_current(st)) {
		snprintf(err, errlen, "%s", st->dir.why);
		ht_dir_close(&st->dir);
		free(st);
		return NULL;
	}
	return st;
}

const char *ht_store_why(const struct ht_store *st)
{
	return st->dir.why;
}

/* <name>-YYYY-MM-DDTHH-MM-SS.mmm: a rotated file of this store */
static bool is_rotated(const char *file, void *ctx)
{
	const struct ht_store *st = ctx;
	size_t prefix = strlen(st->name);

	return !strncmp(file, st->name, prefix) && file[prefix] == '-' &&
	       strlen(file) == prefix + STAMP_LEN;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Delete the oldest rotated files beyond @keep (names sort by time); only files of ours. */
static void prune(struct ht_store *st)
{
	char **names;
	int n = ht_dir_list(&st->dir, is_rotated, st, &names);

	if (n <= 0)
		return;
	qsort(names, (size_t)n, sizeof(*names), cmp_names);
	for (int i = 0; i < n; i++) {
		if ((size_t)i + st->keep < (size_t)n)
			ht_dir_unlink(&st->dir, names[i]);
		free(names[i]);
	}
	free(names);
}

static int rotate(struct ht_store *st)
{
	char rotated[sizeof(st->name) + 40], stamp[32];
	struct timespec ts;
	int err = -EEXIST;

	clock_gettime(CLOCK_REALTIME, &ts);
	close(st->fd);
	st->fd = -1;
	/* two rotations within a millisecond take the next free one */
	for (int i = 0; i < 1000 && err == -EEXIST; i++) {
		uint64_t ms = (uint64_t)ts.tv_nsec / 1000000 + (uint64_t)i;
		time_t sec = ts.tv_sec + (time_t)(ms / 1000);
		struct tm tm;

		localtime_r(&sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H-%M-%S", &tm);
		snprintf(rotated, sizeof(rotated), "%s-%s.%03u", st->name, stamp,
			 (unsigned int)(ms % 1000));
		err = ht_dir_rename(&st->dir, st->name, rotated);
		/* a name we did not make is refused: it may be a planted link */
		if (err == -EEXIST && !ht_dir_is_ours(&st->dir, rotated, NULL))
			return err;
	}
	if (err)
		return err;
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
	st->dir.why[0] = '\0';
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
	st->dir.why[0] = '\0'; /* set again only by a refused rotation */
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
	ht_dir_close(&st->dir);
	free(st);
}
