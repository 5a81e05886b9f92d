// SPDX-License-Identifier: GPL-2.0
/*
 * huatuo-softlockup kernel side.
 *
 * Early detector: sched_switch stamps, per CPU, the last context switch; a periodic per-CPU
 * perf sample (an hrtimer: it still fires while a CPU is stuck with interrupts on) reports a
 * CPU that runs a task in kernel mode and has not switched for >= threshold, once per stall.
 * User space keeps a heartbeat thread on every CPU, so a healthy CPU switches at least every
 * sampling period whatever it runs.
 *
 * Kernel reports: printk:console sees every printk record in the printing context (since the
 * ~5.15 printk rework), so "BUG: soft lockup - CPU#" from watchdog_timer_fn arrives on the
 * stuck CPU, in the stuck task.
 */
#define HT_WANT_CPUS_STACK
#define HT_WANT_CONTAINERS
#include "common.bpf.h"
#include "softlockup.h"

const volatile __u64 threshold_ns = 1000000000ULL;
/* the tool itself: its own kernel work (loading, kallsyms, stacks) is not a stall */
const volatile __u32 self_tgid = 0;

struct cpu_state {
	__u64 last_switch_ns;
	__u64 reported_switch_ns; /* last_switch_ns of the stall already reported */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_state);
} cpu_states SEC(".maps");

struct msg_buf {
	char text[SOFTLOCKUP_MSG_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct msg_buf);
} msg_heap SEC(".maps");

/* At most one kernel-report event per CPU per second, whatever floods the log. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ht_ratelimit);
} console_rl SEC(".maps");

static __always_inline struct softlockup_event *new_event(__u32 source)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct softlockup_event *e;

	if (!ht_task_wanted(task)) /* --container */
		return NULL;
	e = ht_reserve(sizeof(*e));
	if (!e)
		return NULL;
	e->ts_ns = bpf_ktime_get_ns();
	e->stuck_ns = 0;
	e->cgroup_id = ht_task_cgroup_id(task);
	e->source = source;
	e->cpu = bpf_get_smp_processor_id();
	e->pid = BPF_CORE_READ((struct task_struct___ht *)task, tgid);
	e->tid = BPF_CORE_READ((struct task_struct___ht *)task, pid);
	e->pad = 0;
	BPF_CORE_READ_STR_INTO(&e->comm, (struct task_struct___ht *)task, comm);
	e->msg[0] = '\0';
	return e;
}

static __always_inline int on_switch(void)
{
	__u32 zero = 0;
	struct cpu_state *st = bpf_map_lookup_elem(&cpu_states, &zero);

	if (st)
		st->last_switch_ns = bpf_ktime_get_ns();
	return 0;
}

HT_TP_BTF_RAW("sched_switch", softlockup_switch_btf, softlockup_switch_raw)
{
	return on_switch();
}

SEC("tracepoint/sched/sched_switch")
int softlockup_switch_tp(void *args)
{
	return on_switch();
}

SEC("perf_event")
int softlockup_sample(struct bpf_perf_event_data *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct softlockup_event *e;
	struct cpu_state *st;
	__u32 zero = 0;
	__u64 now, last;
	long n;

	st = bpf_map_lookup_elem(&cpu_states, &zero);
	if (!st)
		return 0;
	now = bpf_ktime_get_ns();
	last = st->last_switch_ns;
	if (!last) {
		st->last_switch_ns = now; /* first sample since we attached */
		return 0;
	}
	/* idle, or in user space: nothing is stuck in the kernel */
	if (!BPF_CORE_READ((struct task_struct___ht *)task, pid) || ht_regs_user_mode(&ctx->regs))
		return 0;
	if (BPF_CORE_READ((struct task_struct___ht *)task, tgid) == self_tgid)
		return 0;
	if (now - last < threshold_ns || st->reported_switch_ns == last)
		return 0;
	st->reported_switch_ns = last;

	e = new_event(SOFTLOCKUP_EARLY);
	if (!e)
		return 0;
	e->stuck_ns = now - last;
	n = bpf_get_stack(ctx, e->ips, sizeof(e->ips), 0);
	e->nr = n > 0 ? (__u64)n / 8 : 0;
	ht_submit(ctx, e, sizeof(*e));
	return 0;
}

/*
 * The needle "BUG: soft lockup - CPU#" as three little-endian words ("BUG: sof", "t lockup",
 * " - CPU#" + 1 byte ignored): word compares instead of a byte loop in a loop, which cost
 * ~20 ms of verification at every start.
 */
#define NEEDLE_W0 0x666f73203a475542ULL /* "BUG: sof" */
#define NEEDLE_W1 0x70756b636f6c2074ULL /* "t lockup" */
#define NEEDLE_W2 0x0023555043202d20ULL /* " - CPU#" (7 bytes) */
#define NEEDLE_W2_MASK 0x00ffffffffffffffULL
#define NEEDLE_LEN 23
#define SEARCH_SPAN 48 /* the needle starts within this many bytes ("watchdog: " prefix) */

/*
 * Whether @text (@len bytes with the NUL, from bpf_probe_read_kernel_str) has the needle
 * within its first SEARCH_SPAN bytes. The first word is compared at every position without a
 * branch, straight-line code the verifier walks once (a search that stopped at the first
 * match made it follow every position's outcome: 3234 insns, ~2 ms of every start); the rest
 * of the needle where the first word is first found.
 */
static __always_inline bool has_needle(const char *text, long len)
{
	long last = len - 1 - NEEDLE_LEN, over, sign; /* the needle ends before the NUL */
	__u64 hits = 0, low, pos = 0, half;
	const __u64 *w;

#pragma unroll
	for (int i = 0; i < SEARCH_SPAN; i++) /* unaligned loads: fine on x86 and arm64 */
		hits |= (ht_nonzero(*(const __u64 *)(text + i) ^ NEEDLE_W0) ^ 1) << i;
	/* positions past the NUL hold an older message's bytes: keep those up to min(last, 47) */
	over = last - (SEARCH_SPAN - 1);
	sign = over;
	asm volatile("%0 s>>= 63" : "+r"(sign)); /* all ones if over < 0; no branch */
	hits &= (2ULL << (last - (over & ~sign))) - 1;
	if (!hits)
		return false;
	low = hits & -hits; /* the first position's bit: its index, half by half */
	half = ht_nonzero(low >> 32) << 5, pos |= half, low >>= half;
	half = ht_nonzero(low >> 16) << 4, pos |= half, low >>= half;
	half = ht_nonzero(low >> 8) << 3, pos |= half, low >>= half;
	half = ht_nonzero(low >> 4) << 2, pos |= half, low >>= half;
	half = ht_nonzero(low >> 2) << 1, pos |= half, low >>= half;
	pos |= low >> 1;
	/*
	 * The bound where the verifier sees it: clang would mask a part of pos only, and the 6.1
	 * verifier does not know that the or of the other parts is below 64.
	 */
	asm volatile("%0 &= 63" : "+r"(pos));
	w = (const __u64 *)(text + pos);
	return w[1] == NEEDLE_W1 && (w[2] & NEEDLE_W2_MASK) == NEEDLE_W2;
}

static __always_inline int on_console(void *ctx, const char *text)
{
	struct ht_ratelimit *rl;
	struct softlockup_event *e;
	struct msg_buf *buf;
	__u32 zero = 0;
	long n;

	buf = bpf_map_lookup_elem(&msg_heap, &zero);
	if (!buf)
		return 0;
	n = bpf_probe_read_kernel_str(buf->text, sizeof(buf->text), text);
	if (n <= (long)NEEDLE_LEN || !has_needle(buf->text, n))
		return 0;
	rl = bpf_map_lookup_elem(&console_rl, &zero);
	if (!rl || !ht_ratelimit_ok(rl, bpf_ktime_get_ns(), 1000000000ULL, 1))
		return 0;
	e = new_event(SOFTLOCKUP_KERNEL);
	if (!e)
		return 0;
	__builtin_memcpy(e->msg, buf->text, sizeof(e->msg));
	n = bpf_get_stack(ctx, e->ips, sizeof(e->ips), 0);
	e->nr = n > 0 ? (__u64)n / 8 : 0;
	ht_submit(ctx, e, sizeof(*e));
	return 0;
}

HT_TP_BTF_RAW("console", softlockup_console_btf, softlockup_console_raw, const char *text,
	      size_t len)
{
	return on_console(ctx, text);
}

SEC("tracepoint/printk/console")
int softlockup_console_tp(struct trace_event_raw_console *args)
{
	return on_console(args, ht_data_loc(args, args->__data_loc_msg));
}
