// SPDX-License-Identifier: GPL-2.0
/*
 * huatuo-oom kernel side. oom:mark_victim fires from mark_oom_victim(), called synchronously
 * by the task that ran out_of_memory(): current is the trigger, the argument the victim.
 * Since 6.9 (72ba14de) the tracepoint passes the victim task_struct; older kernels pass only
 * the pid, served by the classic tracepoint flavor below.
 */
#define HT_WANT_CONTAINERS
#include "common.bpf.h"
#include "oom.h"

const volatile __u32 target_pid = 0; /* tgid filter: trigger or victim */

struct trace_event_raw_mark_victim___old {
	struct trace_entry ent;
	int pid;
} __attribute__((preserve_access_index));

/* before 6.2 (f1a7941243c1) mm->rss_stat was struct mm_rss_stat { atomic_long_t count[]; } */
struct mm_rss_stat___old {
	atomic_long_t count[4];
} __attribute__((preserve_access_index));

struct mm_struct___old {
	struct mm_rss_stat___old rss_stat;
} __attribute__((preserve_access_index));

/*
 * The kernel structs this file reads, with just the fields it reads (as common.bpf.h's ___ht
 * ones): vmlinux.h's task_struct, mm_struct and mem_cgroup would put some 500 types in the
 * object's BTF, which the kernel checks at every start.
 */
struct percpu_counter___oom {
	s64 count;
} __attribute__((preserve_access_index));

struct mm_struct___oom {
	unsigned long total_vm;
	struct percpu_counter___oom rss_stat[4];
} __attribute__((preserve_access_index));

struct signal_struct___oom {
	short oom_score_adj;
} __attribute__((preserve_access_index));

struct task_struct___oom {
	struct mm_struct___oom *mm;
	struct signal_struct___oom *signal;
} __attribute__((preserve_access_index));

struct page_counter___oom {
	atomic_long_t usage;
	unsigned long max;
} __attribute__((preserve_access_index));

struct mem_cgroup___oom {
	struct cgroup_subsys_state___ht css;
	struct page_counter___oom memory;
} __attribute__((preserve_access_index));

struct oom_control___oom {
	void *chosen; /* struct task_struct * */
} __attribute__((preserve_access_index));

static __always_inline bool wanted(const struct oom_event *e)
{
	/* --cgroup, --container: either side's (a classic-flavour victim's id is 0: unknown) */
	if (!ht_wanted(e->trigger.memcg_id) && !ht_wanted(e->victim.memcg_id))
		return false;
	return !target_pid || e->trigger.pid == target_pid || e->victim.pid == target_pid;
}

/* The victim's memcg counters (pages) and its mm counters, as mark_victim itself reports. */
static __always_inline void fill_victim_memory(struct oom_event *e, struct task_struct *task)
{
	struct task_struct___oom *victim = (void *)task;
	struct mm_struct___oom *mm = BPF_CORE_READ(victim, mm);
	struct mem_cgroup___oom *memcg;

	e->victim_oom_score_adj = BPF_CORE_READ(victim, signal, oom_score_adj);
	if (mm) {
		e->victim_total_vm_pages = BPF_CORE_READ(mm, total_vm);
		if (bpf_core_type_exists(struct mm_rss_stat___old)) {
			struct mm_struct___old *old = (void *)mm;

			e->victim_file_pages =
				BPF_CORE_READ(old, rss_stat.count[MM_FILEPAGES].counter);
			e->victim_anon_pages =
				BPF_CORE_READ(old, rss_stat.count[MM_ANONPAGES].counter);
			e->victim_shmem_pages =
				BPF_CORE_READ(old, rss_stat.count[MM_SHMEMPAGES].counter);
		} else {
			/* get_mm_counter() is percpu_counter_read_positive(): the .count field */
			e->victim_file_pages = BPF_CORE_READ(mm, rss_stat[MM_FILEPAGES].count);
			e->victim_anon_pages = BPF_CORE_READ(mm, rss_stat[MM_ANONPAGES].count);
			e->victim_shmem_pages = BPF_CORE_READ(mm, rss_stat[MM_SHMEMPAGES].count);
		}
		e->has_rss = 1;
	}
	if (e->victim.memcg_css) {
		/* css is the first member of struct mem_cgroup */
		memcg = (void *)e->victim.memcg_css -
			bpf_core_field_offset(struct mem_cgroup___oom, css);
		e->memcg_usage_pages = BPF_CORE_READ(memcg, memory.usage.counter);
		e->memcg_limit_pages = BPF_CORE_READ(memcg, memory.max);
		e->has_memcg = 1;
	}
}

static __always_inline int report(void *ctx, struct task_struct *victim, uid_t uid)
{
	struct oom_event *e = ht_reserve(sizeof(*e));

	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	ht_fill_task(&e->trigger, (struct task_struct *)bpf_get_current_task());
	ht_fill_task(&e->victim, victim);
	e->victim_uid = uid;
	fill_victim_memory(e, victim);
	if (!wanted(e)) {
		ht_discard(e);
		return 0;
	}
	ht_submit(ctx, e, sizeof(*e));
	return 0;
}

HT_TP_BTF_RAW("mark_victim", oom_mark_victim_btf, oom_mark_victim_raw, struct task_struct *victim,
	      uid_t uid)
{
	return report(ctx, victim, uid);
}

/*
 * Kernels before 6.9: only the victim's pid. When it is current (a memcg OOM of a single
 * hog), everything is read here; otherwise user space looks it up in /proc.
 */
SEC("tracepoint/oom/mark_victim")
int oom_mark_victim_tp(struct trace_event_raw_mark_victim___old *args)
{
	struct oom_event *e = ht_reserve(sizeof(*e));
	struct task_struct *current;
	__u32 pid;

	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	current = (struct task_struct *)bpf_get_current_task();
	ht_fill_task(&e->trigger, current);
	pid = BPF_CORE_READ(args, pid); /* the victim's task->pid */
	if (pid == e->trigger.tid) {
		/* the task that ran out of memory is the one killed: all of it from here */
		__builtin_memcpy(&e->victim, &e->trigger, sizeof(e->victim));
		fill_victim_memory(e, current);
	} else {
		e->victim.pid = pid;
		e->victim.tid = pid;
	}
	if (!wanted(e)) {
		ht_discard(e);
		return 0;
	}
	ht_submit_now(args, e, sizeof(*e)); /* user space reads the victim's /proc before it goes */
	return 0;
}

/* Fallbacks where the tracepoint is missing: oom_kill_process(oc, message). */
static __always_inline int report_oc(void *ctx, struct oom_control *oc)
{
	struct task_struct *victim = BPF_CORE_READ((struct oom_control___oom *)oc, chosen);

	if (!victim)
		return 0;
	return report(ctx, victim, 0);
}

SEC("fentry/oom_kill_process")
int BPF_PROG(oom_kill_process_fentry, struct oom_control *oc, const char *message)
{
	return report_oc(ctx, oc);
}

SEC("kprobe/oom_kill_process")
int BPF_KPROBE(oom_kill_process_kprobe, struct oom_control *oc, const char *message)
{
	return report_oc(ctx, oc);
}
