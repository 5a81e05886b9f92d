// SPDX-License-Identifier: GPL-2.0
/*
 * A directory's files as a .tar.gz (POSIX ustar, gzip by zlib): huatuo-capture --archive.
 * Only regular files of ours are archived, read through the directory fd (safedir.c), so
 * nothing planted in the directory is followed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "capture.h"

#define BLOCK 512

/* The 512-byte ustar header of a regular file. */
static int ustar_header(char h[BLOCK], const char *name, const struct stat *st)
{
	unsigned int sum = 0;

	memset(h, 0, BLOCK);
	if (strlen(name) >= 100)
		return -ENAMETOOLONG;
	snprintf(h, 100, "%s", name);
	snprintf(h + 100, 8, "%07o", (unsigned int)(st->st_mode & 0777));
	snprintf(h + 108, 8, "%07o", 0u);
	snprintf(h + 116, 8, "%07o", 0u);
	snprintf(h + 124, 12, "%011llo", (unsigned long long)st->st_size);
	snprintf(h + 136, 12, "%011llo", (unsigned long long)st->st_mtime);
	h[156] = '0';		       /* a regular file */
	snprintf(h + 257, 6, "ustar"); /* magic "ustar\0", then version "00" */
	h[263] = h[264] = '0';
	snprintf(h + 265, 32, "root");
	snprintf(h + 297, 32, "root");
	memset(h + 148, ' ', 8);
	for (int i = 0; i < BLOCK; i++)
		sum += (unsigned char)h[i];
	snprintf(h + 148, 8, "%06o", sum);
	return 0;
}

static int gz_put(gzFile gz, const void *data, size_t len)
{
	return gzwrite(gz, data, (unsigned int)len) == (int)len ? 0 : -EIO;
}

/* One file: header, content (as long as the header said: a growing file is cut), padding. */
static int add_file(gzFile gz, struct ht_dir *src, const char *prefix, const char *name)
{
	char h[BLOCK], entry[256], buf[65536];
	off_t left;
	struct stat st;
	int err, fd = ht_dir_open_file(src, name, O_RDONLY);

	if (fd < 0)
		return fd;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out;
	}
	snprintf(entry, sizeof(entry), "%s/%s", prefix, name);
	err = ustar_header(h, entry, &st) ?: gz_put(gz, h, BLOCK);
	for (left = st.st_size; !err && left > 0;) {
		ssize_t n = read(fd, buf, left < (off_t)sizeof(buf) ? (size_t)left : sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) { /* shrank under us: pad with zeros to the size announced */
			memset(buf, 0, sizeof(buf));
			n = left < (off_t)sizeof(buf) ? (ssize_t)left : (ssize_t)sizeof(buf);
		}
		err = gz_put(gz, buf, (size_t)n);
		left -= n;
	}
	memset(buf, 0, BLOCK);
	if (!err && st.st_size % BLOCK)
		err = gz_put(gz, buf, BLOCK - (size_t)(st.st_size % BLOCK));
out:
	close(fd);
	return err;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int ht_targz_dir(struct ht_dir *src, struct ht_dir *dst, const char *name, const char *prefix,
		 char *why, size_t whylen)
{
	char zeros[2 * BLOCK] = { 0 };
	char **names = NULL;
	int n, fd, err = 0;
	gzFile gz;

	n = ht_dir_list(src, NULL, NULL, &names);
	if (n < 0) {
		snprintf(why, whylen, "%s", src->why);
		return n;
	}
	qsort(names, (size_t)n, sizeof(*names), by_name);
	fd = ht_dir_create(dst, name, O_WRONLY, 0640);
	if (fd < 0) {
		snprintf(why, whylen, "%s", dst->why);
		err = fd;
		goto out;
	}
	gz = gzdopen(fd, "wb");
	if (!gz) {
		close(fd);
		err = -ENOMEM;
		snprintf(why, whylen, "cannot compress %s/%s: out of memory", dst->path, name);
		goto out;
	}
	for (int i = 0; i < n && !err; i++) {
		err = add_file(gz, src, prefix, names[i]);
		if (err)
			snprintf(why, whylen, "cannot archive %s/%s: %s", src->path, names[i],
				 strerror(-err));
	}
	if (!err && (err = gz_put(gz, zeros, sizeof(zeros))))
		snprintf(why, whylen, "cannot write %s/%s: %s", dst->path, name, strerror(EIO));
	if (gzclose(gz) != Z_OK && !err) {
		err = -EIO;
		snprintf(why, whylen, "cannot write %s/%s: %s", dst->path, name, strerror(EIO));
	}
	if (err)
		unlinkat(dst->fd, name, 0);
out:
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return err;
}
