// SPDX-License-Identifier: GPL-2.0
/*
 * huatuo-memreclaim: report a process whose direct (global or memcg) reclaim time within a
 * 1 s window reaches the threshold. The sum is kept in the kernel; one event per window.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "huatuo.h"
#include "memreclaim.h"
#include "memreclaim.skel.h"

static const char doc[] =
	"Report processes stalled in direct memory reclaim: reclaim time within 1 s at or "
	"above the threshold (default 900ms).\n"
	"\v"
	"Examples:\n"
	"  huatuo-memreclaim                 # stalls of 900ms or more per second\n"
	"  huatuo-memreclaim -t 100ms -j     # lower threshold, JSON lines\n"
	"  huatuo-memreclaim -p 1234 -c 1    # first stall of PID 1234\n"
	"  huatuo-memreclaim --cgroup /docker # stalls of tasks under a memory cgroup\n";

static const struct argp argp = { .doc = doc };

static const struct ht_hook hooks[] = {
	{ .name = "direct_reclaim_begin",
	  .progs = { "direct_begin_btf", "direct_begin_raw", "direct_begin_kprobe" } },
	{ .name = "direct_reclaim_end",
	  .progs = { "direct_end_btf", "direct_end_raw", "direct_end_kretprobe" } },
	/* memcg limit reclaim: no kprobe fallback, optional */
	{ .name = "memcg_reclaim_begin",
	  .progs = { "memcg_begin_btf", "memcg_begin_raw" },
	  .optional = true },
	{ .name = "memcg_reclaim_end",
	  .progs = { "memcg_end_btf", "memcg_end_raw" },
	  .optional = true },
};

static const char *kinds_name(uint32_t kinds)
{
	switch (kinds) {
	case RECLAIM_DIRECT:
		return "direct";
	case RECLAIM_MEMCG:
		return "memcg";
	default:
		return "direct,memcg";
	}
}

static int handle_event(struct ht_env *env, void *ctx, const void *data, size_t size)
{
	const struct memreclaim_event *e = data;
	char comm[HT_COMM_LEN * 3 + 1], shown[HT_COMM_LEN], memcg[4096], dt[24], mx[24];
	struct ht_container ct;
	cJSON *d;

	(void)ctx;
	if (size < sizeof(*e))
		return 0;
	ht_utf8_sanitize(e->task.comm, sizeof(e->task.comm), comm, sizeof(comm));
	if (env->comm && strcmp(env->comm, comm))
		return 0;
	ht_container_lookup("memory", e->task.memcg_id, e->task.nodename, &ct, memcg,
			    sizeof(memcg));
	if (!ht_cgroup_wanted(env, "memory", e->task.memcg_id, memcg))
		return 0;

	d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "comm", comm);
	cJSON_AddNumberToObject(d, "pid", e->task.pid);
	cJSON_AddNumberToObject(d, "tid", e->task.tid);
	ht_json_add_u64(d, "deltatime", e->deltatime_ns);
	ht_json_add_u64(d, "threshold", env->threshold_ns);
	ht_json_add_u64(d, "max_single_ns", e->max_single_ns);
	cJSON_AddNumberToObject(d, "nr_reclaims", e->nr_reclaims);
	ht_json_add_u64(d, "nr_reclaimed_pages", e->nr_reclaimed);
	cJSON_AddStringToObject(d, "reclaim_type", kinds_name(e->kinds));
	cJSON_AddStringToObject(d, "memcg", memcg);
	ht_json_add_hex(d, "memcg_css", e->task.memcg_css);
	ht_json_add_container(d, "", &ct);

	ht_printable(comm, sizeof(comm), shown, sizeof(shown));
	return ht_emit(env, d, &ct, "auto", "%-7u %-7u %-16s %9s %9s %6u %-12s %s", e->task.pid,
		       e->task.tid, shown, ht_fmt_duration(e->deltatime_ns, dt, sizeof(dt)),
		       ht_fmt_duration(e->max_single_ns, mx, sizeof(mx)), e->nr_reclaims,
		       kinds_name(e->kinds), memcg[0] ? memcg : "-");
}

HT_SKEL_OPS(memreclaim);

static void configure(void *skel, struct ht_env *env)
{
	struct memreclaim_bpf *s = skel;

	s->rodata->threshold_ns = env->threshold_ns;
	s->rodata->target_pid = (uint32_t)env->pid;
}

int main(int argc, char **argv)
{
	struct ht_env env = { .tool = "huatuo-memreclaim",
			      .tracer_name = "memory_reclaim_events",
			      .what = "direct reclaim stalls",
			      .opt_flags = HT_OPT_THRESHOLD | HT_OPT_PID | HT_OPT_COMM |
					   HT_OPT_CGROUP,
			      .threshold_ns = 900 * NSEC_PER_MSEC };
	static const struct ht_tool tool = {
		.argp = &argp,
		.skel = &memreclaim_skel_ops,
		.hooks = hooks,
		.nhooks = ARRAY_SIZE(hooks),
		.configure = configure,
		.header = { "%-7s %-7s %-16s %9s %9s %6s %-12s %s",
			    { "PID", "TID", "COMM", "STALL", "MAX", "CALLS", "TYPE", "MEMCG" } },
		.on_event = handle_event,
	};

	return ht_main(&env, &tool, argc, argv);
}
