// SPDX-License-Identifier: GPL-2.0
/*
 * ready-all: the "tools started at once" figure of make bench (what huatuo-capture does).
 *
 *   ready-all PATTERN COMMAND [ARG...] [-- COMMAND [ARG...]]...
 *
 * Starts every COMMAND at once, each with stdout and stderr on its own pseudo-terminal (as
 * ready-exit does for one), and prints the milliseconds from the first fork until the last
 * of them printed a line containing PATTERN (the tool's "attached" banner). Then sends them
 * all SIGTERM, reads to EOF and reaps them. Exit status 0 when every command got ready
 * within 10 s; 1 otherwise, naming the ones that did not on stderr.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define MAX_CMDS 64
#define TIMEOUT_MS 10000

struct cmd {
	char **argv;
	int master;
	pid_t pid;
	char buf[8192];
	size_t used;
	int ready;
};

static int start(struct cmd *c)
{
	if (!c->argv[0])
		return -1;
	c->pid = pty_spawn("ready-all", c->argv, &c->master, -1);
	return c->pid < 0 ? -1 : 0;
}

/* Read what @c printed; 1 when it closed its terminal. */
static int drain(struct cmd *c, const char *pattern)
{
	ssize_t n = read(c->master, c->buf + c->used, sizeof(c->buf) - 1 - c->used);

	if (n <= 0) /* EIO once the command and its children closed the terminal */
		return 1;
	if (c->ready)
		return 0;
	c->used += (size_t)n;
	c->buf[c->used] = '\0';
	if (strstr(c->buf, pattern)) {
		c->ready = 1;
	} else if (c->used > sizeof(c->buf) / 2) { /* keep the tail, a pattern may straddle */
		memmove(c->buf, c->buf + c->used - sizeof(c->buf) / 4, sizeof(c->buf) / 4);
		c->used = sizeof(c->buf) / 4;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct cmd cmds[MAX_CMDS];
	struct pollfd pfd[MAX_CMDS];
	int n = 0, ready = 0, status, rc = 0;
	uint64_t t0, last = 0;

	if (argc < 3) {
		fprintf(stderr,
			"usage: ready-all PATTERN COMMAND [ARG...] [-- COMMAND [ARG...]]...\n");
		return 64;
	}
	for (int i = 2; i < argc && n < MAX_CMDS; i++) {
		if (!strcmp(argv[i], "--")) {
			fprintf(stderr, "ready-all: an empty command\n");
			return 64;
		}
		cmds[n++].argv = argv + i;
		while (i < argc && strcmp(argv[i], "--"))
			i++;
		if (i < argc)
			argv[i] = NULL; /* ends this command's argv */
	}
	t0 = now_ns();
	for (int i = 0; i < n; i++)
		if (start(&cmds[i]))
			return 1;
	while (ready < n && (now_ns() - t0) / 1000000 < TIMEOUT_MS) {
		int open = 0;

		for (int i = 0; i < n; i++) {
			pfd[i].fd = cmds[i].master;
			pfd[i].events = POLLIN;
			open += cmds[i].master >= 0;
		}
		if (!open || poll(pfd, (nfds_t)n, 100) < 0)
			break;
		for (int i = 0; i < n; i++) {
			if (cmds[i].master < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (drain(&cmds[i], argv[1])) {
				close(cmds[i].master); /* exited before it was ready */
				cmds[i].master = -1;
			}
		}
		ready = 0;
		for (int i = 0; i < n; i++)
			ready += cmds[i].ready;
		if (ready == n)
			last = now_ns();
	}
	for (int i = 0; i < n; i++) {
		kill(cmds[i].pid, SIGTERM);
		if (!cmds[i].ready) {
			fprintf(stderr, "ready-all: not ready: %s\n", cmds[i].argv[0]);
			rc = 1;
		}
	}
	for (int i = 0; i < n; i++) {
		while (cmds[i].master >= 0 && !drain(&cmds[i], argv[1]))
			;
		if (cmds[i].master >= 0)
			close(cmds[i].master);
		waitpid(cmds[i].pid, &status, 0);
	}
	if (!rc)
		printf("%.2f\n", (double)(last - t0) / 1e6);
	return rc;
}
