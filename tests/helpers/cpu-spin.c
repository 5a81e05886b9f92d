// SPDX-License-Identifier: GPL-2.0
/*
 * cpu-spin OBJ MS: pin to the current CPU, print our pid, then spend MS milliseconds in the
 * kernel without scheduling (cpu-spin.bpf.c run once by BPF_PROG_TEST_RUN). Run it under
 * taskset to choose the CPU. Exit 0 on success.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

int main(int argc, char **argv)
{
	__u64 args[2] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args, .ctx_size_in = sizeof(args));
	struct bpf_object *obj;
	struct bpf_program *prog;

	if (argc != 3) {
		fprintf(stderr, "usage: cpu-spin OBJ MS\n");
		return 64;
	}
	args[0] = strtoull(argv[2], NULL, 10);
	obj = bpf_object__open(argv[1]);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "cpu-spin: cannot load %s\n", argv[1]);
		return 1;
	}
	prog = bpf_object__find_program_by_name(obj, "cpu_spin");
	printf("%d\n", getpid());
	fflush(stdout);
	if (!prog || bpf_prog_test_run_opts(bpf_program__fd(prog), &opts)) {
		perror("cpu-spin: test run");
		return 1;
	}
	bpf_object__close(obj);
	return 0;
}
