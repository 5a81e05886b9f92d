// SPDX-License-Identifier: GPL-2.0
/*
 * huatuo-hungtask's task iterator: every task in uninterruptible sleep, with its kernel
 * stack. Its own object, loaded at the first hang: an iter program is BPF_PROG_TYPE_TRACING,
 * for which libbpf reads all of kernel BTF (the attach id of bpf_iter_task), a cost the
 * waiting tool should not pay up front.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "hungtask.h"

char LICENSE[] SEC("license") = "GPL";

#define TASK_UNINTERRUPTIBLE 0x0002
#define TASK_NOLOAD 0x0400
#define TASK_FROZEN 0x8000

struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hungtask_dtask);
} dtask_heap SEC(".maps");

static __always_inline __u32 task_state(struct task_struct *task)
{
	struct task_struct___old *old = (void *)task;

	if (bpf_core_field_exists(task->__state))
		return BPF_CORE_READ(task, __state);
	return (__u32)BPF_CORE_READ(old, state);
}

/* Time since @task last ran, on its runqueue's task clock; 0 if unknown. */
static __always_inline __u64 blocked_for(struct task_struct *task)
{
	__u64 start, now;

	if (!bpf_core_field_exists(task->se.cfs_rq))
		return 0;
	start = BPF_CORE_READ(task, se.exec_start);
	now = BPF_CORE_READ(task, se.cfs_rq, rq, clock_task);
	return start && now > start ? now - start : 0;
}

SEC("iter/task")
int hungtask_dstate(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct hungtask_dtask *d;
	__u32 zero = 0, state;
	long n;

	if (!task)
		return 0;
	state = task_state(task);
	if (!(state & TASK_UNINTERRUPTIBLE) || (state & (TASK_NOLOAD | TASK_FROZEN)))
		return 0;
	d = bpf_map_lookup_elem(&dtask_heap, &zero);
	if (!d)
		return 0;
	d->pid = task->tgid;
	d->tid = task->pid;
	d->state = state;
	d->wait_ns = blocked_for(task);
	BPF_CORE_READ_STR_INTO(&d->comm, task, comm);
	n = bpf_get_task_stack(task, d->ips, sizeof(d->ips), 0);
	d->nr = n > 0 ? (__u64)n / 8 : 0;
	bpf_seq_write(ctx->meta->seq, d, sizeof(*d));
	return 0;
}
