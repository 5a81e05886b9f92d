// SPDX-License-Identifier: GPL-2.0
/*
 * Test helper for huatuo-softirq: hold interrupts off on this CPU for an exact time, the way
 * a driver or console write holding a spinlock with irqsave does. Never attached: irq-off
 * runs it through BPF_PROG_TEST_RUN in its own context on its own CPU. The kernel's clock at
 * the start and end of the interrupts-off section is the ground truth tests compare with.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* kernel/bpf/helpers.c, 6.14+: local_irq_save()/local_irq_restore() for BPF programs */
extern void bpf_local_irq_save(unsigned long *flags) __ksym;
extern void bpf_local_irq_restore(unsigned long *flags) __ksym;

__u64 off_start_ns, off_end_ns; /* bpf_ktime_get_ns() around the section */

static long spin(__u64 i, __u64 *deadline)
{
	return bpf_ktime_get_ns() >= *deadline;
}

/* ctx[0]: milliseconds with interrupts off (capped at 100 ms) */
SEC("raw_tp/sys_enter")
int irq_off(__u64 *ctx)
{
	__u64 ms = ctx[0] > 100 ? 100 : ctx[0];
	unsigned long flags;
	__u64 deadline;

	bpf_local_irq_save(&flags);
	off_start_ns = bpf_ktime_get_ns();
	deadline = off_start_ns + ms * 1000000;
	bpf_loop(1 << 23, spin, &deadline, 0);
	off_end_ns = bpf_ktime_get_ns();
	bpf_local_irq_restore(&flags);
	return 0;
}
