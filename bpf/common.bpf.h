/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers every BPF program shares: the "events" ring buffer with a lost-event counter, a
 * perf-buffer fallback for kernels without BPF_MAP_TYPE_RINGBUF (< 5.8), and task identity.
 */
#ifndef HT_COMMON_BPF_H
#define HT_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

/* Largest record any tool submits; the perf-buffer fallback copies through this. */
#define HT_MAX_RECORD 8192

/* Set by user space before load when the kernel has no ring buffer. */
const volatile bool ht_use_perfbuf = false;

/* Resized by user space (--buffer-size); turned into a PERF_EVENT_ARRAY when needed. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Records the kernel could not hand over (ring buffer full): never lost silently. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} ht_lost SEC(".maps");

struct ht_scratch {
	__u8 data[HT_MAX_RECORD];
};

/* Per-CPU room for big records (perf-buffer path, or records built before filtering). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ht_scratch);
} ht_heap SEC(".maps");

static __always_inline void ht_count_lost(void)
{
	__u32 zero = 0;
	__u64 *lost = bpf_map_lookup_elem(&ht_lost, &zero);

	if (lost)
		*lost += 1; /* per-CPU slot: no atomics needed */
}

/* Room for one record; NULL (and counted as lost) when the buffer is full. */
static __always_inline void *ht_reserve(__u64 size)
{
	__u32 zero = 0;
	void *rec;

	if (size > HT_MAX_RECORD)
		return NULL;
	if (ht_use_perfbuf)
		return bpf_map_lookup_elem(&ht_heap, &zero);
	rec = bpf_ringbuf_reserve(&events, size, 0);
	if (!rec)
		ht_count_lost();
	return rec;
}

static __always_inline void ht_submit(void *ctx, void *rec, __u64 size)
{
	if (ht_use_perfbuf) {
		if (bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, rec, size & 0x3fff))
			ht_count_lost();
		return;
	}
	bpf_ringbuf_submit(rec, 0);
}

static __always_inline void ht_discard(void *rec)
{
	if (!ht_use_perfbuf)
		bpf_ringbuf_discard(rec, 0);
}

/* Identity of @task: pids, comm, UTS nodename and memory cgroup (css pointer and id). */
static __always_inline void ht_fill_task(struct ht_task *t, struct task_struct *task)
{
	struct cgroup_subsys_state *css = NULL;
	struct css_set *cset;
	int memcg = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);

	t->pid = BPF_CORE_READ(task, tgid);
	t->tid = BPF_CORE_READ(task, pid);
	BPF_CORE_READ_STR_INTO(&t->comm, task, comm);
	BPF_CORE_READ_STR_INTO(&t->nodename, task, nsproxy, uts_ns, name.nodename);
	cset = BPF_CORE_READ(task, cgroups);
	if (cset && memcg >= 0 && memcg < CGROUP_SUBSYS_COUNT)
		bpf_core_read(&css, sizeof(css), &cset->subsys[memcg]);
	t->memcg_css = (__u64)css;
	t->memcg_id = css ? BPF_CORE_READ(css, cgroup, kn, id) : 0;
}

#endif
