// SPDX-License-Identifier: GPL-2.0
/*
 * Files that root writes in a directory the user named (-o, --metrics, the BTF cache): the
 * tools run as root, and a directory other users can write is a place where they can plant
 * a symbolic link (or a hard link) named like the file we are about to write, so that root
 * appends to or replaces a file of their choosing.
 *
 * So every file operation goes through one directory fd, opened once:
 *  - the path is walked one component at a time without following a symbolic link, except
 *    one that no other user could have planted (in a directory only we or root can change,
 *    or ours or root's in a sticky one); missing parts are created (mkdir -p) the same way;
 *  - the directory reached must be ours or root's, and not writable by others unless sticky
 *    (/tmp: others may add names, but cannot remove or rename ours);
 *  - a new file is created O_EXCL (never through a link), an existing one is opened
 *    O_NOFOLLOW and used only if it is a regular file of ours with a single name;
 *  - replacing and rotating are renames inside that fd.
 * A refusal leaves a one-line explanation (what, why, what to do) in d->why.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "huatuo.h"

#define MAX_LINKS 40 /* as the kernel's MAXSYMLINKS */

static bool owner_trusted(const struct stat *st)
{
	return st->st_uid == geteuid() || st->st_uid == 0;
}

bool ht_dir_trusted(const struct stat *st)
{
	return S_ISDIR(st->st_mode) && owner_trusted(st) &&
	       (!(st->st_mode & (S_IWGRP | S_IWOTH)) || (st->st_mode & S_ISVTX));
}

/* A link in @parent that no other user can have put there or changed. */
static bool link_trusted(const struct stat *parent, const struct stat *link)
{
	if (!owner_trusted(parent))
		return false;
	if (!(parent->st_mode & (S_IWGRP | S_IWOTH)))
		return true;
	return (parent->st_mode & S_ISVTX) && owner_trusted(link);
}

static int fail(struct ht_dir *d, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct ht_dir *d, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->why, sizeof(d->why), fmt, ap);
	va_end(ap);
	return -err;
}

/* Why the directory @st at @shown cannot hold our files. */
static int untrusted_dir(struct ht_dir *d, const char *shown, const struct stat *st)
{
	if (!owner_trusted(st))
		return fail(
			d, EPERM,
			"%s belongs to uid %u, who could swap the files written there for links: "
			"use a directory owned by root, such as /var/log/huatuo",
			shown, (unsigned int)st->st_uid);
	return fail(d, EPERM,
		    "%s is writable by other users (mode %04o) and not sticky, so they could "
		    "plant links in it: use a directory only root can write (chmod go-w), "
		    "such as /var/log/huatuo",
		    shown, (unsigned int)(st->st_mode & 07777));
}

/*
 * Append the next component of *@rest to @name (NUL-terminated) and advance; false at the
 * end of the path.
 */
static bool next_component(const char **rest, char *name, size_t len, int *err)
{
	const char *p = *rest, *end;

	while (*p == '/')
		p++;
	if (!*p)
		return false;
	end = strchrnul(p, '/');
	if ((size_t)(end - p) >= len) {
		*err = ENAMETOOLONG;
		return false;
	}
	memcpy(name, p, (size_t)(end - p));
	name[end - p] = '\0';
	*rest = end;
	return true;
}

static void shown_add(char *shown, size_t len, const char *name)
{
	size_t n = strlen(shown);

	snprintf(shown + n, len - n, "%s%s", n && shown[n - 1] != '/' ? "/" : "", name);
}

int ht_dir_open(struct ht_dir *d, const char *path, bool create)
{
	char buf[2][PATH_MAX], shown[PATH_MAX], name[NAME_MAX + 1];
	const char *rest;
	int cur, links = 0, which = 0, err = 0;
	struct stat st;

	d->fd = -1;
	d->why[0] = '\0';
	if (!path || !*path)
		return fail(d, EINVAL, "empty directory name");
	if (strlen(path) >= sizeof(d->path))
		return fail(d, ENAMETOOLONG, "%.64s...: path too long", path);
	snprintf(d->path, sizeof(d->path), "%s", path);
	snprintf(buf[0], sizeof(buf[0]), "%s", path);
	rest = buf[0];
	snprintf(shown, sizeof(shown), "%s", *path == '/' ? "/" : "");
	cur = open(*path == '/' ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0)
		return fail(d, errno, "%s: %s", *path == '/' ? "/" : ".", strerror(errno));

	while (next_component(&rest, name, sizeof(name), &err)) {
		struct stat parent, link;
		char target[PATH_MAX];
		ssize_t n;
		int next;

		if (!strcmp(name, "."))
			continue;
		shown_add(shown, sizeof(shown), name);
		next = openat(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && create) {
			if (mkdirat(cur, name, 0755) && errno != EEXIST) {
				err = fail(d, errno, "cannot create %s: %s", shown,
					   strerror(errno));
				goto out;
			}
			next = openat(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (next >= 0) {
			close(cur);
			cur = next;
			continue;
		}
		if (errno == ENOENT) {
			err = fail(d, ENOENT, "%s does not exist", shown);
			goto out;
		}
		if (fstatat(cur, name, &link, AT_SYMLINK_NOFOLLOW) || !S_ISLNK(link.st_mode)) {
			err = errno == ENOTDIR ? fail(d, ENOTDIR, "%s is not a directory", shown) :
						 fail(d, errno, "%s: %s", shown, strerror(errno));
			goto out;
		}
		/* a symbolic link: followed only if nobody else could have planted it */
		if (fstat(cur, &parent) || !link_trusted(&parent, &link)) {
			err = fail(d, ELOOP,
				   "%s is a symbolic link in a directory other users can write (it "
				   "may have been planted): give the directory it points to if you "
				   "trust it, or use a directory only root can write",
				   shown);
			goto out;
		}
		n = readlinkat(cur, name, target, sizeof(target) - 1);
		if (n <= 0 || ++links > MAX_LINKS) {
			err = fail(d, n < 0 ? errno : ELOOP, "%s: %s", shown,
				   strerror(n < 0 ? errno : ELOOP));
			goto out;
		}
		target[n] = '\0';
		/* continue with the link's target, then what followed the link */
		which ^= 1;
		if ((size_t)snprintf(buf[which], sizeof(buf[which]), "%s/%s", target, rest) >=
		    sizeof(buf[which])) {
			err = fail(d, ENAMETOOLONG, "%s: path too long", shown);
			goto out;
		}
		rest = buf[which];
		if (*target == '/') {
			close(cur);
			cur = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (cur < 0) {
				err = fail(d, errno, "/: %s", strerror(errno));
				goto out;
			}
			snprintf(shown, sizeof(shown), "/");
		} else {
			/* the link's name is not a directory we are in */
			char *slash = strrchr(shown, '/');

			if (slash)
				slash[slash == shown] = '\0';
			else
				shown[0] = '\0';
		}
	}
	if (err) {
		err = fail(d, err, "%s: %s", path, strerror(err));
		goto out;
	}
	if (fstat(cur, &st)) {
		err = fail(d, errno, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!ht_dir_trusted(&st)) {
		err = untrusted_dir(d, path, &st);
		goto out;
	}
	/* the walk holds O_PATH fds; reading (prune) and fsync need a real one */
	d->fd = openat(cur, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->fd < 0)
		err = fail(d, errno, "%s: %s", path, strerror(errno));
out:
	close(cur);
	return err;
}

void ht_dir_close(struct ht_dir *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

/* One file name, never a path. */
static int check_name(struct ht_dir *d, const char *name)
{
	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..") ||
	    strlen(name) > NAME_MAX)
		return fail(d, EINVAL, "invalid file name '%s'", name);
	return 0;
}

/* Why @name, which exists, is not a file we may write (@st from fstat or lstat). */
static int not_ours(struct ht_dir *d, const char *name, const struct stat *st)
{
	if (S_ISLNK(st->st_mode))
		return fail(d, ELOOP,
			    "%s/%s is a symbolic link, not a file huatuo-tools wrote (it may have "
			    "been planted to make root write elsewhere): remove it or use another "
			    "directory",
			    d->path, name);
	if (!S_ISREG(st->st_mode))
		return fail(d, EINVAL,
			    "%s/%s is not a regular file: remove it or use another directory",
			    d->path, name);
	if (st->st_uid != geteuid())
		return fail(
			d, EPERM,
			"%s/%s belongs to uid %u, not to us: remove it or use another directory",
			d->path, name, (unsigned int)st->st_uid);
	return fail(d, EMLINK,
		    "%s/%s has %lu hard links, and another name of it may be a file we must not "
		    "write: remove it or use another directory",
		    d->path, name, (unsigned long)st->st_nlink);
}

static bool file_ours(const struct stat *st)
{
	return S_ISREG(st->st_mode) && st->st_uid == geteuid() && st->st_nlink == 1;
}

bool ht_dir_is_ours(struct ht_dir *d, const char *name, struct stat *st)
{
	struct stat tmp;

	if (!st)
		st = &tmp;
	return !fstatat(d->fd, name, st, AT_SYMLINK_NOFOLLOW) && file_ours(st);
}

int ht_dir_create(struct ht_dir *d, const char *name, int flags, mode_t mode)
{
	int fd, err = check_name(d, name);

	if (err)
		return err;
	fd = openat(d->fd, name, flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC,
		    mode);
	if (fd < 0)
		return fail(d, errno, "cannot create %s/%s: %s", d->path, name, strerror(errno));
	/* the mode asked for, whatever the umask (node_exporter must read its files) */
	if (fchmod(fd, mode)) {
		err = fail(d, errno, "cannot chmod %s/%s: %s", d->path, name, strerror(errno));
		close(fd);
		unlinkat(d->fd, name, 0);
		return err;
	}
	return fd;
}

int ht_dir_open_file(struct ht_dir *d, const char *name, int flags)
{
	int fd, fl, err = check_name(d, name);
	struct stat st;

	if (err)
		return err;
	/* nothing that acts at open (truncate, create) before the checks below */
	flags &= ~(O_CREAT | O_EXCL | O_TRUNC);
	/* O_NONBLOCK: a planted FIFO must not block the open */
	fd = openat(d->fd, name, flags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		if (err != ENOENT && !fstatat(d->fd, name, &st, AT_SYMLINK_NOFOLLOW) &&
		    !file_ours(&st))
			return not_ours(d, name, &st);
		return fail(d, err, "cannot open %s/%s: %s", d->path, name, strerror(err));
	}
	if (fstat(fd, &st) || !file_ours(&st)) {
		err = not_ours(d, name, &st);
		close(fd);
		return err;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK)) {
		err = fail(d, errno, "%s/%s: %s", d->path, name, strerror(errno));
		close(fd);
		return err;
	}
	return fd;
}

int ht_dir_append(struct ht_dir *d, const char *name, mode_t mode)
{
	/* the name may appear or go between the two tries: a few rounds settle it */
	for (int round = 0; round < 4; round++) {
		int fd = ht_dir_open_file(d, name, O_WRONLY | O_APPEND);

		if (fd != -ENOENT)
			return fd;
		fd = ht_dir_create(d, name, O_WRONLY | O_APPEND, mode);
		if (fd != -EEXIST)
			return fd;
	}
	return fail(d, EAGAIN, "%s/%s keeps changing under us: is another process replacing it?",
		    d->path, name);
}

/* Write all of @data, across short writes. */
static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int ht_dir_check_file(struct ht_dir *d, const char *name)
{
	struct stat st;
	int err = check_name(d, name);

	if (err)
		return err;
	if (!fstatat(d->fd, name, &st, AT_SYMLINK_NOFOLLOW) && !file_ours(&st))
		return not_ours(d, name, &st);
	return 0;
}

static int replace(struct ht_dir *d, const char *name, const void *data, size_t len, mode_t mode,
		   bool sync)
{
	char tmp[NAME_MAX + 1];
	int fd = -EEXIST, err = check_name(d, name);

	if (err || (err = ht_dir_check_file(d, name)))
		return err;
	/* a hidden name in the same directory (the rename stays atomic), made exclusively */
	for (int round = 0; round < 16 && fd == -EEXIST; round++) {
		uint32_t r = 0;

		if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
			r = (uint32_t)ht_now_mono_ns() ^ (uint32_t)getpid() * 2654435761u;
		if ((size_t)snprintf(tmp, sizeof(tmp), ".%s.%08x", name, r) >= sizeof(tmp))
			return fail(d, ENAMETOOLONG, "%s/%s: name too long", d->path, name);
		fd = ht_dir_create(d, tmp, O_WRONLY, mode);
	}
	if (fd < 0)
		return fd;
	err = write_all(fd, data, len);
	if (!err && sync && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	/* a link planted since the check above is replaced, never followed */
	if (!err && renameat(d->fd, tmp, d->fd, name))
		err = -errno;
	if (err) {
		unlinkat(d->fd, tmp, 0);
		return fail(d, -err, "cannot write %s/%s: %s", d->path, name, strerror(-err));
	}
	/* some file systems cannot sync a directory: the rename is done anyway */
	if (sync && fsync(d->fd) && errno != EINVAL)
		return fail(d, errno, "cannot sync %s: %s", d->path, strerror(errno));
	return 0;
}

int ht_dir_replace(struct ht_dir *d, const char *name, const void *data, size_t len, mode_t mode)
{
	return replace(d, name, data, len, mode, true);
}

int ht_dir_replace_nosync(struct ht_dir *d, const char *name, const void *data, size_t len,
			  mode_t mode)
{
	return replace(d, name, data, len, mode, false);
}

int ht_dir_rename(struct ht_dir *d, const char *from, const char *to)
{
	struct stat st;
	int err = check_name(d, from) ?: check_name(d, to);

	if (err)
		return err;
	if (!renameat2(d->fd, from, d->fd, to, RENAME_NOREPLACE))
		return 0;
	err = errno;
	if (err == EINVAL) { /* no RENAME_NOREPLACE here: link(2) never replaces either */
		if (linkat(d->fd, from, d->fd, to, 0)) {
			err = errno;
		} else if (unlinkat(d->fd, from, 0)) {
			err = errno;
			unlinkat(d->fd, to, 0);
		} else {
			return 0;
		}
	}
	if (err == EEXIST && !fstatat(d->fd, to, &st, AT_SYMLINK_NOFOLLOW) && !file_ours(&st))
		return not_ours(d, to, &st);
	return fail(d, err, "cannot rename %s/%s to %s: %s", d->path, from, to, strerror(err));
}

int ht_dir_unlink(struct ht_dir *d, const char *name)
{
	struct stat st;
	int err = check_name(d, name);

	if (err)
		return err;
	if (fstatat(d->fd, name, &st, AT_SYMLINK_NOFOLLOW))
		return fail(d, errno, "%s/%s: %s", d->path, name, strerror(errno));
	if (!file_ours(&st))
		return not_ours(d, name, &st);
	if (unlinkat(d->fd, name, 0))
		return fail(d, errno, "cannot remove %s/%s: %s", d->path, name, strerror(errno));
	return 0;
}

int ht_dir_list(struct ht_dir *d, bool (*want)(const char *name, void *ctx), void *ctx,
		char ***names)
{
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *dir;
	int fd = openat(d->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* its own offset */

	*names = NULL;
	if (fd < 0)
		return fail(d, errno, "%s: %s", d->path, strerror(errno));
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return fail(d, errno, "%s: %s", d->path, strerror(errno));
	}
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.' || (want && !want(de->d_name, ctx)) ||
		    !ht_dir_is_ours(d, de->d_name, NULL))
			continue;
		if (n + 1 >= cap) {
			char **grown =
				realloc(*names, (cap = cap ? cap * 2 : 16) * sizeof(**names));

			if (!grown)
				break;
			*names = grown;
		}
		(*names)[n] = strdup(de->d_name);
		if ((*names)[n])
			n++;
	}
	closedir(dir);
	if (*names)
		(*names)[n] = NULL;
	return (int)n;
}
