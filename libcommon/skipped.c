// SPDX-License-Identifier: GPL-2.0
/*
 * Runs of the tool's BPF programs that the kernel skipped, so that the events they would have
 * reported are not lost silently. The kernel does not run a raw_tp, tp_btf or fentry program
 * while that same program is already running on the CPU (__bpf_trace_run(): prog->active),
 * e.g. dropwatch's kfree_skb program freeing in process context when an interrupt's softirq
 * frees an skb; nor a classic tracepoint or kprobe program while any kprobe, tracepoint or
 * perf_event program, or a bpf() map access, is in progress on the CPU (trace_call_bpf():
 * bpf_prog_active). Each skipped run is counted in the program's recursion_misses
 * (struct bpf_prog_info). perf_event programs are skipped the same way but not counted.
 */
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "huatuo.h"
#include "tool.h"

/* recursion_misses of @a's program; false if it cannot be read */
static bool read_misses(struct bpf_object *obj, const struct ht_attached *a, uint64_t *misses)
{
	struct bpf_program *p = bpf_object__find_program_by_name(obj, a->prog);
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (!p || bpf_program__fd(p) < 0 || bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
		return false;
	*misses = info.recursion_misses;
	return true;
}

static const char *why_skipped(enum ht_probe_kind kind)
{
	if (kind == HT_PROBE_TRACEPOINT || kind == HT_PROBE_KPROBE)
		return "another BPF program was running on that CPU";
	return "it was already running on that CPU";
}

void ht_bpf_skipped(struct ht_env *env)
{
	struct bpf_object *obj = env->skel ? env->skel_ops->object(env->skel) : NULL;

	for (int i = 0; obj && i < env->nattached; i++) {
		struct ht_attached *a = &env->attached[i];
		uint64_t misses;
		bool seen = false;

		for (int j = 0; j < i; j++)
			seen |= env->attached[j].linked && !strcmp(env->attached[j].prog, a->prog);
		if (!a->linked || seen || !read_misses(obj, a, &misses) || misses <= a->misses)
			continue;
		env->skipped += misses - a->misses;
		ht_warn(env,
			"%llu runs of %s (%s %s) skipped by the kernel, %llu in total: %s; what "
			"they would have reported is lost",
			(unsigned long long)(misses - a->misses), a->prog,
			ht_probe_kind_name(a->kind), a->target, (unsigned long long)misses,
			why_skipped(a->kind));
		a->misses = misses;
	}
}
