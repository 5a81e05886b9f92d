// SPDX-License-Identifier: GPL-2.0
/*
 * evdriver: synthetic event load for the event-rate figure of make bench.
 *
 *   evdriver PROG_NAME RATE SECONDS [ARG...]
 *
 * Finds the loaded raw_tp program named PROG_NAME (a tool running with --probe raw_tp) and
 * runs it with BPF_PROG_TEST_RUN, ARGs as its u64 context, RATE times per second (0 = as fast
 * as possible) for SECONDS. raw_tp test runs take no repeat count, so this is one syscall per
 * event, paced in 1 ms slices. Prints "sent N rate R" (R = achieved events/s); exit 0, or 1
 * when the program is missing or a test run fails.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench.h"
#include "../tests/helpers/findprog.h"

#define MAX_ARGS 12

int main(int argc, char **argv)
{
	__u64 args[MAX_ARGS] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	uint64_t rate, secs, start, end, sent = 0, slice, elapsed;
	int fd, n = argc - 4;

	if (argc < 4 || n > MAX_ARGS || parse_u64(argv[2], &rate) || parse_u64(argv[3], &secs)) {
		fprintf(stderr, "usage: evdriver PROG_NAME RATE SECONDS [ARG...] (<= %d args)\n",
			MAX_ARGS);
		return 64;
	}
	fd = raw_tp_test_setup("evdriver", argv[1], argv + 4, n, args, &opts);
	if (fd < 0)
		return -fd;
	/* events per 1 ms slice; the remainder is spread by carrying the target forward */
	start = now_ns();
	end = start + secs * 1000000000ULL;
	for (slice = start; slice < end; slice += SLICE_NS) {
		uint64_t due = rate ? rate * (slice + SLICE_NS - start) / 1000000000ULL :
				      UINT64_MAX;
		uint64_t t;

		while (sent < due) {
			if (bpf_prog_test_run_opts(fd, &opts)) {
				fprintf(stderr, "evdriver: test run of %s failed: %s\n", argv[1],
					strerror(errno));
				close(fd);
				return 1;
			}
			sent++;
			if (!rate && !(sent & 1023) && now_ns() >= end)
				break;
		}
		t = now_ns();
		if (!rate && t >= end)
			break;
		if (rate && t < slice + SLICE_NS) {
			struct timespec ts = { 0, (long)(slice + SLICE_NS - t) };

			nanosleep(&ts, NULL);
		}
	}
	elapsed = now_ns() - start;
	close(fd);
	printf("sent %llu rate %llu\n", (unsigned long long)sent,
	       (unsigned long long)(elapsed ? sent * 1000000000ULL / elapsed : 0));
	return 0;
}
