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
	for (int i = 0; i < n; i++) {
		char *end;

		errno = 0;
		args[i] = strtoull(argv[i + 2], &end, 0);
		if (errno || *end) {
			fprintf(stderr, "ht-testrun: bad argument '%s'\n", argv[i + 2]);
			return 64;
		}
	}
	fd = find_raw_tp_prog(argv[1]);
	if (fd < 0) {
		fprintf(stderr, "ht-testrun: no loaded BPF program named %s\n", argv[1]);
		return 1;
	}
	opts.ctx_in = args;
	opts.ctx_size_in = (n > 0 ? n : 1) * sizeof(__u64);
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
