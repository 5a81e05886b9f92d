// SPDX-License-Identifier: GPL-2.0
/*
 * huatuo-memreclaim kernel side: sum the time each task spends in direct reclaim
 * (vmscan:mm_vmscan_direct_reclaim_begin/_end, emitted inside try_to_free_pages()) and in
 * memcg reclaim (vmscan:mm_vmscan_memcg_reclaim_begin/_end), per 1 s window, and report once
 * per window when the sum reaches the threshold. Both run in the reclaiming task's context.
 */
#define HT_WANT_CONTAINERS
#include "common.bpf.h"
#include "memreclaim.h"

#define WINDOW_NS 1000000000ULL

const volatile __u64 threshold_ns = 900000000ULL;
const volatile __u32 target_pid = 0;

struct task_reclaim {
	__u64 begin_ns; /* 0 when not in reclaim */
	__u64 window_start_ns;
	__u64 sum_ns;
	__u64 max_single_ns;
	__u64 nr_reclaimed;
	__u32 nr_reclaims;
	__u32 kinds;
	__u32 reported; /* reported in this window already */
	__u32 pad;
};

/* Keyed by pid_tgid; LRU so that tasks that die in reclaim do not pin entries. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct task_reclaim);
} reclaiming SEC(".maps");

static __always_inline int on_begin(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct task_reclaim zero = {}, *r;

	if (target_pid && (id >> 32) != target_pid)
		return 0;
	r = bpf_map_lookup_elem(&reclaiming, &id);
	if (!r) {
		bpf_map_update_elem(&reclaiming, &id, &zero, BPF_NOEXIST);
		r = bpf_map_lookup_elem(&reclaiming, &id);
		if (!r)
			return 0;
	}
	r->begin_ns = bpf_ktime_get_ns();
	return 0;
}

static __always_inline int on_end(void *ctx, unsigned long nr_reclaimed, __u32 kind)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct memreclaim_event *e;
	struct task_reclaim *r;
	__u64 now, delta;

	r = bpf_map_lookup_elem(&reclaiming, &id);
	if (!r || !r->begin_ns)
		return 0;
	now = bpf_ktime_get_ns();
	delta = now - r->begin_ns;
	if (r->begin_ns - r->window_start_ns >= WINDOW_NS) {
		/* a new window starts with this reclaim */
		r->window_start_ns = r->begin_ns;
		r->sum_ns = 0;
		r->max_single_ns = 0;
		r->nr_reclaimed = 0;
		r->nr_reclaims = 0;
		r->kinds = 0;
		r->reported = 0;
	}
	r->begin_ns = 0;
	r->sum_ns += delta;
	r->nr_reclaims++;
	r->nr_reclaimed += nr_reclaimed;
	r->kinds |= kind;
	if (delta > r->max_single_ns)
		r->max_single_ns = delta;
	if (r->reported || r->sum_ns < threshold_ns)
		return 0;

	r->reported = 1;
	e = ht_reserve(sizeof(*e));
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	ht_fill_task(&e->task, (struct task_struct *)bpf_get_current_task());
	e->ts_ns = now;
	e->window_start_ns = r->window_start_ns;
	e->deltatime_ns = r->sum_ns;
	e->max_single_ns = r->max_single_ns;
	e->nr_reclaimed = r->nr_reclaimed;
	e->nr_reclaims = r->nr_reclaims;
	e->kinds = r->kinds;
	ht_submit(ctx, e, sizeof(*e));
	return 0;
}

SEC("tp_btf/mm_vmscan_direct_reclaim_begin")
int BPF_PROG(direct_begin_btf)
{
	return on_begin();
}

SEC("tp_btf/mm_vmscan_direct_reclaim_end")
int BPF_PROG(direct_end_btf, unsigned long nr_reclaimed)
{
	return on_end(ctx, nr_reclaimed, RECLAIM_DIRECT);
}

SEC("tp_btf/mm_vmscan_memcg_reclaim_begin")
int BPF_PROG(memcg_begin_btf)
{
	return on_begin();
}

SEC("tp_btf/mm_vmscan_memcg_reclaim_end")
int BPF_PROG(memcg_end_btf, unsigned long nr_reclaimed)
{
	return on_end(ctx, nr_reclaimed, RECLAIM_MEMCG);
}

SEC("raw_tp/mm_vmscan_direct_reclaim_begin")
int BPF_PROG(direct_begin_raw)
{
	return on_begin();
}

SEC("raw_tp/mm_vmscan_direct_reclaim_end")
int BPF_PROG(direct_end_raw, unsigned long nr_reclaimed)
{
	return on_end(ctx, nr_reclaimed, RECLAIM_DIRECT);
}

SEC("raw_tp/mm_vmscan_memcg_reclaim_begin")
int BPF_PROG(memcg_begin_raw)
{
	return on_begin();
}

SEC("raw_tp/mm_vmscan_memcg_reclaim_end")
int BPF_PROG(memcg_end_raw, unsigned long nr_reclaimed)
{
	return on_end(ctx, nr_reclaimed, RECLAIM_MEMCG);
}

/* Fallback where only kprobes exist: try_to_free_pages() entry and return. */
SEC("kprobe/try_to_free_pages")
int BPF_KPROBE(direct_begin_kprobe)
{
	return on_begin();
}

SEC("kretprobe/try_to_free_pages")
int BPF_KRETPROBE(direct_end_kretprobe, unsigned long nr_reclaimed)
{
	return on_end(ctx, nr_reclaimed, RECLAIM_DIRECT);
}
