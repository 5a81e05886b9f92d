/* SPDX-License-Identifier: GPL-2.0 */
/* Small helpers shared by the bench drivers (evdriver, udpflood, ready-exit, ready-all). */
#ifndef HUATUO_BENCH_H
#define HUATUO_BENCH_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SLICE_NS 1000000ULL /* drivers pace their load in 1 ms slices */

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* A whole unsigned number (decimal, 0x hex); -1 on junk, sign or overflow. */
static inline int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || end == s || *end || *s == '-' ? -1 : 0;
}

/*
 * Run @argv with stdout and stderr on a new pseudo-terminal, in a session of its own, so that
 * stdio is line buffered on both sides; *@master reads what it prints. @child_close (-1: none)
 * is closed in the child before the exec. Returns the pid, or -1 with the error printed.
 */
static inline pid_t pty_spawn(const char *who, char **argv, int *master, int child_close)
{
	const char *slave;
	pid_t pid;

	*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*master < 0 || grantpt(*master) || unlockpt(*master) || !(slave = ptsname(*master))) {
		fprintf(stderr, "%s: pseudo-terminal: %s\n", who, strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "%s: fork: %s\n", who, strerror(errno));
		return -1;
	}
	if (!pid) {
		int fd;

		setsid();
		fd = open(slave, O_RDWR);
		if (fd < 0)
			_exit(127);
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
		if (child_close >= 0)
			close(child_close);
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

#endif
