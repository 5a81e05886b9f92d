// SPDX-License-Identifier: GPL-2.0
/*
 * Child processes whose output we read line by line (huatuo-capture runs every tracer).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture.h"

#define READ_CHUNK (64 << 10)

/* Drop the over-long line being read up to and including its newline; false if none yet. */
static bool skip_long(struct ht_lines *l)
{
	char *nl = memchr(l->buf, '\n', l->len);

	if (!nl) {
		l->len = 0;
		return false;
	}
	l->skipping = false;
	l->len -= (size_t)(nl + 1 - l->buf);
	memmove(l->buf, nl + 1, l->len);
	return true;
}

/* Whole lines to @fn, in as few calls as the over-long ones among them allow. */
static int hand_over(struct ht_lines *l, const char *text, size_t len,
		     int (*fn)(void *ctx, const char *text, size_t len), void *ctx)
{
	const char *start = text, *p = text, *end = text + len;
	int err;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if ((size_t)(nl - p) > l->max) {
			if (p > start && (err = fn(ctx, start, (size_t)(p - start))))
				return err;
			l->long_lines++;
			start = nl + 1;
		}
		p = nl + 1;
	}
	return p > start ? fn(ctx, start, (size_t)(p - start)) : 0;
}

int ht_lines_read(struct ht_lines *l, int fd, int (*fn)(void *ctx, const char *text, size_t len),
		  void *ctx)
{
	for (;;) {
		ssize_t n;
		char *last;

		if (l->cap - l->len < READ_CHUNK) {
			size_t cap = l->len + READ_CHUNK;
			char *p = realloc(l->buf, cap);

			if (!p)
				return -ENOMEM;
			l->buf = p;
			l->cap = cap;
		}
		n = read(fd, l->buf + l->len, READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		if (n == 0) {
			l->torn_bytes += l->len;
			l->len = 0;
			return 1;
		}
		l->len += (size_t)n;
		if (l->skipping && !skip_long(l))
			continue;
		last = memrchr(l->buf, '\n', l->len);
		if (last) {
			size_t whole = (size_t)(last + 1 - l->buf);
			int err = hand_over(l, l->buf, whole, fn, ctx);

			l->len -= whole;
			memmove(l->buf, last + 1, l->len);
			if (err)
				return err;
		}
		if (l->len > l->max) {
			l->long_lines++;
			l->skipping = true;
			l->len = 0;
		}
		/* a small buffer does not need to stay big once a burst is through */
		if (!l->len && l->cap > 4 * READ_CHUNK) {
			free(l->buf);
			l->buf = NULL;
			l->cap = 0;
		}
	}
}

void ht_lines_free(struct ht_lines *l)
{
	free(l->buf);
	l->buf = NULL;
	l->len = l->cap = 0;
}

static void child_fail(int fd, const char *what, const char *path)
{
	/* async-signal-safe: no stdio between fork and exec */
	const char *e = strerror(errno);

	(void)!write(fd, what, strlen(what));
	(void)!write(fd, path, strlen(path));
	(void)!write(fd, ": ", 2);
	(void)!write(fd, e, strlen(e));
	(void)!write(fd, "\n", 1);
	_exit(127);
}

int ht_child_spawn(struct ht_child *c, const char *path, char *const argv[], char *why,
		   size_t whylen)
{
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, e;
	pid_t parent = getpid();
	sigset_t none;

	c->pid = 0;
	c->out_fd = c->err_fd = -1;
	if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
		e = errno;
		snprintf(why, whylen, "cannot make a pipe: %s", strerror(e));
		goto fail;
	}
	c->pid = fork();
	if (c->pid < 0) {
		e = errno;
		snprintf(why, whylen, "cannot fork: %s", strerror(e));
		c->pid = 0;
		goto fail;
	}
	if (c->pid == 0) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		setpgid(0, 0);
		/* a capture killed with SIGKILL still stops its tracers, who then detach */
		prctl(PR_SET_PDEATHSIG, SIGINT);
		if (getppid() != parent)
			_exit(0);
		if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(out[1], STDOUT_FILENO) < 0 ||
		    dup2(err[1], STDERR_FILENO) < 0)
			child_fail(err[1], "cannot set up the output of ", path);
		execv(path, argv);
		child_fail(STDERR_FILENO, "cannot run ", path);
	}
	close(out[1]);
	close(err[1]);
	c->out_fd = out[0];
	c->err_fd = err[0];
	fcntl(c->out_fd, F_SETFL, O_NONBLOCK);
	fcntl(c->err_fd, F_SETFL, O_NONBLOCK);
	c->started_ns = ht_now_mono_ns();
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	return -e;
}

const char *ht_wait_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by SIG%s", sigabbrev_np(WTERMSIG(status)) ?: "?");
	else
		snprintf(buf, len, "status 0x%x", (unsigned int)status);
	return buf;
}
