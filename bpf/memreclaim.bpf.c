// SPDX-License-Identifier: GPL-2.0
/*
 * huatuo-memreclaim kernel side: sum the time each thread spends in direct reclaim
 * (vmscan:mm_vmscan_direct_reclaim_begin/_end, emitted inside try_to_free_pages()) and in
 * memcg reclaim (vmscan:mm_vmscan_memcg_reclaim_begin/_end) per window: the reclaims it
 * begins within 1 s of the window's first one. Both run in the reclaiming task's context.
 *
 * A window is reported whole, once, when it is closed, if its sum reached the threshold: by
 * the thread's next reclaim beginning after it (here), or by the tool's sweep
 * (tools/memreclaim.c) when the thread reclaims no more. Whichever of the two deletes the
 * map entry reports it.
 */
#define HT_WANT_CONTAINERS
#include "common.bpf.h"
#include "memreclaim.h"

const volatile __u64 threshold_ns = 900000000ULL;
const volatile __u32 target_pid = 0;

/*
 * Keyed by pid_tgid. The sweep (tools/memreclaim.c) deletes every window once it is closed,
 * so the map holds the threads that reclaimed in the last second or so: its entries are
 * allocated as windows open (BPF_F_NO_PREALLOC; user space clears the flag on kernels before
 * 6.1, whose tracing programs take preallocated hash maps only) rather than 8192 of them
 * preallocated at every start. A window that finds the map full is counted as lost.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, struct memreclaim_window);
} reclaiming SEC(".maps");

/*
 * Close @id's window @w at @now: report it if over the threshold, unless the sweep took it
 * (the delete decides: the sweep deletes the entry before it reports it). The record is
 * tested for NULL once: the 6.1 verifier does not know that a ring buffer record found
 * non-NULL stays so, and refuses a second test ("Unreleased reference").
 */
static __always_inline void close_window(void *ctx, __u64 id, struct memreclaim_window *w,
					 __u64 now)
{
	struct memreclaim_event *e;

	/* --cgroup, --container: the kernel knows the stalled task's cgroup is not wanted */
	if (!w->over || !ht_wanted(w->ev.task.memcg_id)) {
		bpf_map_delete_elem(&reclaiming, &id);
		return;
	}
	e = ht_reserve(sizeof(*e));
	if (!e) {
		bpf_map_delete_elem(&reclaiming, &id);
		return;
	}
	__builtin_memcpy(e, &w->ev, sizeof(*e));
	e->ts_ns = now;
	if (bpf_map_delete_elem(&reclaiming, &id))
		ht_discard(e);
	else
		ht_submit(ctx, e, sizeof(*e));
}

/* What a window opens with: its first reclaim's times are set once it is in the map. */
static const struct memreclaim_window fresh_window;

static __always_inline int on_begin(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), now;
	struct memreclaim_window *w;

	now = bpf_ktime_get_ns();
	w = bpf_map_lookup_elem(&reclaiming, &id);
	if (w && now - w->ev.window_start_ns >= RECLAIM_WINDOW_NS) {
		close_window(ctx, id, w, now);
		w = NULL;
	}
	if (!w) {
		/*
		 * -p: only the process's threads get a window, so the test is made here, once per
		 * window; a reclaim of a thread with one reads no configuration (a cache miss in a
		 * program that runs cache-cold).
		 */
		if (target_pid && (id >> 32) != target_pid)
			return 0;
		/* the zeroed window from .rodata: no 176 bytes zeroed on the stack per event */
		if (bpf_map_update_elem(&reclaiming, &id, &fresh_window, BPF_NOEXIST)) {
			ht_count_lost(); /* the map is full: this window is not tracked */
			return 0;
		}
		w = bpf_map_lookup_elem(&reclaiming, &id);
		if (!w)
			return 0;
		w->ev.window_start_ns = now;
	}
	w->begin_ns = now;
	return 0;
}

/*
 * The task's identity, once its window is over the threshold. In the raw_tp flavour the end
 * programs get it through a tail call into memreclaim_fill, one program, so that
 * ht_fill_task() is verified once and not in both end programs (~430 insns each, ~0.3 ms of
 * every start); a reclaim's end pays the call only once per window.
 */
SEC("raw_tp")
int memreclaim_fill(void *ctx);

/*
 * Filled by libbpf at load, before any program is attached (key by size: no BTF for it).
 * The end programs tail-call slot w->fill_slot, always 0 but read from the map, so the
 * verifier does not see a constant: with a constant index the JIT makes the tail call a
 * direct jump and patches it (text_poke_bp, an IPI round to every CPU) when libbpf fills the
 * slot and again when the map is freed at exit, ~0.3 ms each; an indirect one is patched
 * never and costs nothing that matters once per window.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__array(values, int(void *));
} fill_prog SEC(".maps") = {
	.values = { [0] = (void *)&memreclaim_fill },
};

static __always_inline void fill_window(struct memreclaim_window *w)
{
	ht_fill_task(&w->ev.task, (struct task_struct *)bpf_get_current_task());
	w->over = 1;
}

SEC("raw_tp")
int memreclaim_fill(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct memreclaim_window *w = bpf_map_lookup_elem(&reclaiming, &id);

	if (w) {
		fill_window(w);
		/* what on_end() leaves to the end: the tail call does not return */
		w->begin_ns = 0;
	}
	return 0;
}

/* The end of a reclaim: @raw, the raw_tp flavour (the identity through memreclaim_fill) */
static __always_inline int on_end(void *ctx, unsigned long nr_reclaimed, __u32 kind, bool raw)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct memreclaim_window *w;
	__u64 delta;

	w = bpf_map_lookup_elem(&reclaiming, &id);
	if (!w || !w->begin_ns)
		return 0;
	delta = bpf_ktime_get_ns() - w->begin_ns;
	w->ev.deltatime_ns += delta;
	w->ev.nr_reclaims++;
	w->ev.nr_reclaimed += nr_reclaimed;
	w->ev.kinds |= kind;
	if (delta > w->ev.max_single_ns)
		w->ev.max_single_ns = delta;
	if (!w->over && w->ev.deltatime_ns >= threshold_ns) {
		if (raw) {
			bpf_tail_call(ctx, &fill_prog, w->fill_slot);
			/* not reached (the slot is filled before any attach); if it were, counted */
			ht_count_lost();
		} else {
			fill_window(w);
		}
	}
	/* last: the sweep leaves a window alone while a reclaim of it is in progress */
	w->begin_ns = 0;
	return 0;
}

HT_TP_BTF_RAW("mm_vmscan_direct_reclaim_begin", direct_begin_btf, direct_begin_raw)
{
	return on_begin(ctx);
}

/* mm_vmscan_direct_reclaim_end(nr_reclaimed), mm_vmscan_memcg_reclaim_end(nr_reclaimed) */
static __always_inline int direct_end(unsigned long long *ctx, bool raw)
{
	return on_end(ctx, ctx[0], RECLAIM_DIRECT, raw);
}

static __always_inline int memcg_end(unsigned long long *ctx, bool raw)
{
	return on_end(ctx, ctx[0], RECLAIM_MEMCG, raw);
}

HT_TP_BTF_RAW_FLAVOUR("mm_vmscan_direct_reclaim_end", direct_end_btf, direct_end_raw, direct_end)

/* raw_tp: direct_begin_raw, attached to this tracepoint too (tools/memreclaim.c) */
SEC("tp_btf/mm_vmscan_memcg_reclaim_begin")
int BPF_PROG(memcg_begin_btf)
{
	return on_begin(ctx);
}

HT_TP_BTF_RAW_FLAVOUR("mm_vmscan_memcg_reclaim_end", memcg_end_btf, memcg_end_raw, memcg_end)

/* Fallback where only kprobes exist: try_to_free_pages() entry and return. */
SEC("kprobe/try_to_free_pages")
int BPF_KPROBE(direct_begin_kprobe)
{
	return on_begin(ctx);
}

SEC("kretprobe/try_to_free_pages")
int BPF_KRETPROBE(direct_end_kretprobe, unsigned long nr_reclaimed)
{
	return on_end(ctx, nr_reclaimed, RECLAIM_DIRECT, false);
}
