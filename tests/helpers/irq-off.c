// SPDX-License-Identifier: GPL-2.0
/*
 * irq-off OBJ MS COUNT GAP_MS: COUNT times, sleep GAP_MS milliseconds, then hold interrupts
 * off on the current CPU for MS milliseconds (irq-off.bpf.c run by BPF_PROG_TEST_RUN); then
 * sleep GAP_MS again, the program still loaded, so that a tracer can name it in a stack. Run
 * it under taskset to choose the CPU. Prints its pid, then one line per stall: "START_NS
 * END_NS", the kernel's CLOCK_MONOTONIC (bpf_ktime_get_ns) when interrupts went off and came
 * back on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static int silent(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

int main(int argc, char **argv)
{
	__u64 args[1] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args, .ctx_size_in = sizeof(args));
	struct bpf_program *prog;
	struct bpf_object *obj;
	struct bpf_map *bss;
	struct timespec gap;
	long count, gap_ms;

	if (argc != 5) {
		fprintf(stderr, "usage: irq-off OBJ MS COUNT GAP_MS\n");
		return 64;
	}
	args[0] = strtoull(argv[2], NULL, 10);
	count = strtol(argv[3], NULL, 10);
	gap_ms = strtol(argv[4], NULL, 10);
	gap = (struct timespec){ .tv_sec = gap_ms / 1000, .tv_nsec = gap_ms % 1000 * 1000000 };
	libbpf_set_print(silent);
	obj = bpf_object__open(argv[1]);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "irq-off: cannot load %s (bpf_local_irq_save needs 6.14+)\n",
			argv[1]);
		return 1;
	}
	prog = bpf_object__find_program_by_name(obj, "irq_off");
	bss = bpf_object__find_map_by_name(obj, ".bss");
	if (!prog || !bss) {
		fprintf(stderr, "irq-off: %s lacks irq_off or its .bss\n", argv[1]);
		return 1;
	}
	printf("%d\n", getpid());
	fflush(stdout);
	for (long i = 0; i < count; i++) {
		__u64 t[2];
		__u32 zero = 0;

		nanosleep(&gap, NULL);
		if (bpf_prog_test_run_opts(bpf_program__fd(prog), &opts) ||
		    bpf_map_lookup_elem(bpf_map__fd(bss), &zero, t)) {
			perror("irq-off: test run");
			return 1;
		}
		printf("%llu %llu\n", (unsigned long long)t[0], (unsigned long long)t[1]);
		fflush(stdout);
	}
	if (count)
		nanosleep(&gap, NULL);
	bpf_object__close(obj);
	return 0;
}
