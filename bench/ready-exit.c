// SPDX-License-Identifier: GPL-2.0
/*
 * ready-exit: the startup figure of make bench (exec -> attached -> exit) for tools that have
 * no "attach and exit" mode of their own.
 *
 *   ready-exit PATTERN COMMAND [ARG...]
 *
 * Runs COMMAND with stdout and stderr on a pseudo-terminal (so that stdio is line buffered
 * on both sides and no peer needs stdbuf, which costs an extra exec), waits until a line containing PATTERN
 * appears (the tool's "attached" banner: "Tracing ...", bpftrace's "Attaching ..."), sends
 * it SIGTERM, reads to EOF and reaps it. An empty PATTERN sends SIGTERM as soon as the command
 * has been executed (for tools that print nothing when ready: a lower bound). Exit status 0
 * when the pattern was seen, 1 otherwise.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

int main(int argc, char **argv)
{
	char buf[8192];
	size_t used = 0;
	int master, cloexec[2], status, seen = 0;
	pid_t pid;

	if (argc < 3) {
		fprintf(stderr, "usage: ready-exit PATTERN COMMAND [ARG...]\n");
		return 64;
	}
	/* cloexec pipe: EOF on it means the command has been executed */
	if (pipe2(cloexec, O_CLOEXEC)) {
		perror("ready-exit: pipe");
		return 1;
	}
	pid = pty_spawn("ready-exit", argv + 2, &master, cloexec[0]);
	if (pid < 0)
		return 1;
	close(cloexec[1]);
	while (read(cloexec[0], buf, 1) > 0)
		;
	close(cloexec[0]);
	if (!argv[1][0]) {
		seen = 1;
		kill(pid, SIGTERM);
	}
	for (;;) {
		ssize_t n = read(master, buf + used, sizeof(buf) - 1 - used);

		if (n <= 0) /* EIO once the command and its children closed the terminal */
			break;
		if (seen)
			continue;
		used += (size_t)n;
		buf[used] = '\0';
		if (strstr(buf, argv[1])) {
			seen = 1;
			kill(pid, SIGTERM);
			continue;
		}
		if (used > sizeof(buf) / 2) { /* keep the tail, a pattern may straddle */
			memmove(buf, buf + used - sizeof(buf) / 4, sizeof(buf) / 4);
			used = sizeof(buf) / 4;
		}
	}
	close(master);
	waitpid(pid, &status, 0);
	return seen ? 0 : 1;
}
