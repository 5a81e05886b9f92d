// SPDX-License-Identifier: GPL-2.0
/*
 * huatuo-softirq kernel side: the gap between two scheduler ticks on one CPU. A tick that
 * arrives late means the CPU could not take the timer interrupt: interrupts (or bottom halves
 * around them) were held off, or the vCPU did not run.
 *
 * Ticks are seen without kprobes as hrtimer expiries of the tick handler (tick_nohz_handler
 * since 6.10, tick_sched_timer before; addresses from /proc/kallsyms as rodata). NO_HZ idle
 * gaps are not stalls: timer:tick_stop forgets the last tick, and an expiry of the stopped
 * tick's timer (its tick_sched carries TS_FLAG_STOPPED) is not a tick.
 *
 * The first tick after the tick restarts (idle exit) has no previous tick to measure from:
 * it is measured from the restart itself, which the timer tells. tick_nohz_restart() forwards
 * the timer to the first tick boundary after the restart, so the restart lies within one tick
 * period before the programmed expiry; tick_sched.idle_exittime holds its exact time when it
 * falls in that window, else the boundary before the expiry stands in for it.
 */
#define HT_WANT_CONTAINERS
#include "common.bpf.h"
#include "softirq.h"

#define TS_FLAG_STOPPED (1UL << 1) /* kernel/time/tick-sched.h, 6.9+ */

const volatile __u64 threshold_ns = 100 * 1000 * 1000;
const volatile __s32 target_cpu = -1;
const volatile __u32 rate_burst = 10; /* reports per CPU per second, 0 = no limit */

extern int CONFIG_HZ __kconfig __weak;

struct tick_state {
	__u64 last_ns;
	struct ht_ratelimit rl;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tick_state);
} ticks SEC(".maps");

/* Before 6.9 the stopped state was a bitfield. */
struct tick_sched___old {
	unsigned int tick_stopped : 1;
} __attribute__((preserve_access_index));

static __always_inline struct tick_sched *tick_sched_of(struct hrtimer *timer)
{
	return (void *)timer - bpf_core_field_offset(struct tick_sched, sched_timer);
}

static __always_inline bool tick_is_stopped(struct hrtimer *timer)
{
	struct tick_sched *ts;

	if (!timer)
		return false;
	ts = tick_sched_of(timer);
	if (bpf_core_field_exists(ts->flags))
		return BPF_CORE_READ(ts, flags) & TS_FLAG_STOPPED;
	return BPF_CORE_READ_BITFIELD_PROBED((struct tick_sched___old *)ts, tick_stopped);
}

static __always_inline struct tick_state *this_cpu_state(void)
{
	__u32 zero = 0;

	if (target_cpu >= 0 && bpf_get_smp_processor_id() != (__u32)target_cpu)
		return NULL;
	return bpf_map_lookup_elem(&ticks, &zero);
}

/*
 * When the tick restarted before its first expiry @expires (see the top of this file); 0 if
 * the tick period is unknown.
 */
static __always_inline __u64 tick_restart_ns(struct hrtimer *timer, __u64 expires, __u64 now)
{
	__u64 period, earliest, exit_ns;
	struct tick_sched *ts;

	if (CONFIG_HZ <= 0)
		return 0;
	period = 1000000000ULL / CONFIG_HZ;
	if (expires < period)
		return 0;
	earliest = expires - period;
	ts = tick_sched_of(timer);
	if (bpf_core_field_exists(ts->idle_exittime)) {
		exit_ns = BPF_CORE_READ(ts, idle_exittime);
		if (exit_ns >= earliest && exit_ns <= now)
			return exit_ns;
	}
	return earliest;
}

static __always_inline int on_tick(void *ctx, struct hrtimer *timer)
{
	struct task_struct *task;
	struct softirq_event *e;
	struct tick_state *st;
	__u64 now, last, expires = 0;
	long n;

	st = this_cpu_state();
	if (!st)
		return 0;
	if (tick_is_stopped(timer)) {
		st->last_ns = 0; /* idle with the tick off: this expiry is not a tick */
		return 0;
	}
	now = bpf_ktime_get_ns();
	last = st->last_ns;
	st->last_ns = now;
	if (timer) {
		expires = BPF_CORE_READ(timer, node.expires);
		if (!last)
			last = tick_restart_ns(timer, expires, now);
	}
	if (!last || now - last < threshold_ns)
		return 0;
	task = (struct task_struct *)bpf_get_current_task();
	if (!ht_task_wanted(task)) /* --container */
		return 0;
	if (!ht_ratelimit_ok(&st->rl, now, 1000000000ULL, rate_burst))
		return 0;

	e = ht_reserve(sizeof(*e));
	if (!e)
		return 0;
	e->now_ns = now;
	e->offtime_ns = now - last;
	e->expires_ns = expires;
	e->cgroup_id = ht_task_cgroup_id(task);
	e->cpu = bpf_get_smp_processor_id();
	e->pid = BPF_CORE_READ((struct task_struct___ht *)task, tgid);
	e->tid = BPF_CORE_READ((struct task_struct___ht *)task, pid);
	BPF_CORE_READ_STR_INTO(&e->comm, (struct task_struct___ht *)task, comm);
	n = bpf_get_stack(ctx, e->ips, sizeof(e->ips), 0);
	e->nr = n > 0 ? (__u64)n / 8 : 0;
	ht_submit(ctx, e, sizeof(*e));
	return 0;
}

/*
 * The tick handler's address, written once after load: by softirq_find_tick where the kernel
 * has bpf_kallsyms_lookup_name (5.16+), else by user space from a /proc/kallsyms scan (~10 ms:
 * the kernel formats every line up to the symbol). Until then no timer matches.
 */
__u64 tick_fn = 0;     /* tick_nohz_handler */
__u64 tick_fn_old = 0; /* tick_sched_timer (before 6.10) */
const volatile char tick_fn_name[] = "tick_nohz_handler";
const volatile char tick_fn_old_name[] = "tick_sched_timer";

SEC("syscall")
int softirq_find_tick(void *ctx)
{
	__u64 addr = 0;

	if (!bpf_kallsyms_lookup_name((const char *)tick_fn_name, sizeof(tick_fn_name), 0, &addr))
		tick_fn = addr;
	addr = 0;
	if (!bpf_kallsyms_lookup_name((const char *)tick_fn_old_name, sizeof(tick_fn_old_name), 0,
				      &addr))
		tick_fn_old = addr;
	return 0;
}

static __always_inline bool is_tick_fn(__u64 fn)
{
	return fn && (fn == tick_fn || fn == tick_fn_old);
}

HT_TP_BTF_RAW("hrtimer_expire_entry", softirq_tick_btf, softirq_tick_raw, struct hrtimer *timer,
	      ktime_t *now)
{
	if (!is_tick_fn((__u64)BPF_CORE_READ(timer, function)))
		return 0;
	return on_tick(ctx, timer);
}

SEC("tracepoint/timer/hrtimer_expire_entry")
int softirq_tick_tp(struct trace_event_raw_hrtimer_expire_entry *args)
{
	if (!is_tick_fn((__u64)args->function))
		return 0;
	return on_tick(args, args->hrtimer);
}

/*
 * Fallback: every tick calls account_process_tick(); neither the stopped check nor the
 * restart time is possible, so the first tick after idle is not measured.
 */
SEC("kprobe/account_process_tick")
int BPF_KPROBE(softirq_tick_kprobe)
{
	return on_tick(ctx, NULL);
}

static __always_inline int on_tick_stop(int success)
{
	struct tick_state *st;

	if (!success)
		return 0;
	st = this_cpu_state();
	if (st)
		st->last_ns = 0;
	return 0;
}

HT_TP_BTF_RAW("tick_stop", softirq_tick_stop_btf, softirq_tick_stop_raw, int success,
	      int dependency)
{
	return on_tick_stop(success);
}

SEC("tracepoint/timer/tick_stop")
int softirq_tick_stop_tp(struct trace_event_raw_tick_stop *args)
{
	return on_tick_stop(args->success);
}
