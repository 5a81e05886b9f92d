// SPDX-License-Identifier: GPL-2.0
/*
 * huatuo-hungtask kernel side. sched:sched_process_hang fires in khungtaskd for every task it
 * finds in uninterruptible sleep for longer than hung_task_timeout_secs (even when the
 * warnings are used up): the hung task is the argument, not current. The shared perf_event
 * program captures what each CPU runs (cpus_stack). The D-state task list comes from
 * hungtask_iter.bpf.c, loaded at the first hang.
 */
#define HT_WANT_CPUS_STACK
#define HT_WANT_CONTAINERS
#include "common.bpf.h"
#include "hungtask.h"

const volatile __u32 target_pid = 0; /* tgid filter */

struct trace_event_raw_sched_process_hang___old {
	struct trace_entry ent;
	char comm[16];
	pid_t pid;
} __attribute__((preserve_access_index));

/* Flavors without a task stack send the record without ips[]: 48 bytes instead of 560. */
#define HUNGTASK_NO_STACK offsetof(struct hungtask_event, ips)

static __always_inline struct hungtask_event *new_event(struct task_struct *p, __u32 pid, __u32 tid,
							__u64 size)
{
	struct hungtask_event *e;

	if (target_pid && pid != target_pid)
		return NULL;
	if (!ht_task_wanted(p)) /* --container */
		return NULL;
	e = ht_reserve(size);
	if (!e)
		return NULL;
	e->ts_ns = bpf_ktime_get_ns();
	e->cgroup_id = ht_task_cgroup_id(p);
	e->pid = pid;
	e->tid = tid;
	e->nr = -1;
	e->pad = 0;
	return e;
}

SEC("tp_btf/sched_process_hang")
int BPF_PROG(hungtask_hang_btf, struct task_struct *p)
{
	struct task_struct___ht *t = (void *)p; /* its fields only: common.bpf.h */
	struct hungtask_event *e = new_event(p, t->tgid, t->pid, sizeof(*e));
	long n;

	if (!e)
		return 0;
	BPF_CORE_READ_STR_INTO(&e->comm, t, comm);
	n = bpf_get_task_stack(p, e->ips, sizeof(e->ips), 0);
	e->nr = n > 0 ? (__u64)n / 8 : 0;
	ht_submit(ctx, e, sizeof(*e));
	return 0;
}

/* raw_tp: no typed pointer, so no task stack (user space reads /proc/PID/stack). */
SEC("raw_tp/sched_process_hang")
int BPF_PROG(hungtask_hang_raw, struct task_struct *p)
{
	struct task_struct___ht *t = (void *)p;
	struct hungtask_event *e =
		new_event(p, BPF_CORE_READ(t, tgid), BPF_CORE_READ(t, pid), HUNGTASK_NO_STACK);

	if (!e)
		return 0;
	BPF_CORE_READ_STR_INTO(&e->comm, t, comm);
	ht_submit(ctx, e, HUNGTASK_NO_STACK);
	return 0;
}

SEC("tracepoint/sched/sched_process_hang")
int hungtask_hang_tp(struct trace_event_raw_sched_process_hang *args)
{
	struct trace_event_raw_sched_process_hang___old *old = (void *)args;
	struct hungtask_event *e;
	__u32 pid = args->pid;

	/* the tid is all the tracepoint gives: the tgid filter runs in user space */
	e = ht_reserve(HUNGTASK_NO_STACK);
	if (!e)
		return 0;
	e->ts_ns = bpf_ktime_get_ns();
	e->cgroup_id = 0; /* user space reads /proc/PID/cgroup */
	e->pid = 0;
	e->tid = pid;
	e->nr = -1;
	e->pad = 0;
	if (bpf_core_field_exists(old->comm)) {
		bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), old->comm);
	} else {
		ht_read_data_loc_str(e->comm, sizeof(e->comm), args, args->__data_loc_comm);
	}
	ht_submit(args, e, HUNGTASK_NO_STACK);
	return 0;
}
