// SPDX-License-Identifier: GPL-2.0
/*
 * Test helper for huatuo-softlockup: keep a CPU in the kernel without scheduling for a given
 * time, with interrupts on (a soft lockup in miniature). Never attached: cpu-spin runs it once
 * through BPF_PROG_TEST_RUN, which executes it in the caller's context on its CPU.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct spin {
	__u64 deadline;
};

static long spin_inner(__u64 i, struct spin *s)
{
	return bpf_ktime_get_ns() >= s->deadline;
}

static long spin_outer(__u64 i, struct spin *s)
{
	bpf_loop(1 << 20, spin_inner, s, 0);
	return bpf_ktime_get_ns() >= s->deadline;
}

/* ctx[0]: milliseconds to spin (capped at 2 s) */
SEC("raw_tp/sys_enter")
int cpu_spin(__u64 *ctx)
{
	__u64 ms = ctx[0] > 2000 ? 2000 : ctx[0];
	struct spin s = { .deadline = bpf_ktime_get_ns() + ms * 1000000 };

	bpf_loop(1 << 16, spin_outer, &s, 0);
	return 0;
}
