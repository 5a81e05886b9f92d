// SPDX-License-Identifier: GPL-2.0
/*
 * Drive a loaded raw_tp program with synthetic tracepoint arguments (BPF_PROG_TEST_RUN),
 * for events this kernel cannot raise (RAS, TX timeouts, soft lockups).
 *
 *   ht-testrun PROG_NAME [ARG...]
 *
 * Finds the loaded program named PROG_NAME (as a running tool attached it, e.g.
 * huatuo-txtimeout --probe raw_tp), and runs it once with ARGs as its u64 context array:
 * decimal or 0x-hex numbers. The program's events then reach the running tool as real ones.
 * Prints the program's return value; exit 0 on success, 1 on failure.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "findprog.h"

#define MAX_ARGS 16

int main(int argc, char **argv)
{
	__u64 args[MAX_ARGS] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	int fd, err, n = argc - 2;

	if (argc < 2 || n > MAX_ARGS) {
		fprintf(stderr, "usage: ht-testrun PROG_NAME [ARG...] (at most %d args)\n",
			MAX_ARGS);
		return 64;
	}
	fd = raw_tp_test_setup("ht-testrun", argv[1], argv + 2, n, args, &opts);
	if (fd < 0)
		return -fd;
	err = bpf_prog_test_run_opts(fd, &opts);
	close(fd);
	if (err) {
		fprintf(stderr, "ht-testrun: test run of %s failed: %s\n", argv[1],
			strerror(errno));
		return 1;
	}
	printf("%u\n", opts.retval);
	return 0;
}
