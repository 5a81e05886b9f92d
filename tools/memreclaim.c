// SPDX-License-Identifier: GPL-2.0
/*
 * huatuo-memreclaim: report a thread whose direct (global or memcg) reclaim time within a
 * 1 s window reaches the threshold, with the window's whole reclaim time once it is closed.
 * The sums are kept in the kernel; one event per window.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>

#include "huatuo.h"
#include "memreclaim.h"
#include "memreclaim.skel.h"

static const char doc[] =
	"Report processes stalled in direct memory reclaim: reclaim time within 1 s at or "
	"above the threshold (default 900ms), reported with the whole window's reclaim time "
	"when the window closes.\n"
	"\v"
	"Examples:\n"
	"  huatuo-memreclaim                 # stalls of 900ms or more per second\n"
	"  huatuo-memreclaim -t 100ms -j     # lower threshold, JSON lines\n"
	"  huatuo-memreclaim -p 1234 -c 1    # first stall of PID 1234\n"
	"  huatuo-memreclaim --cgroup /docker # stalls of tasks under a memory cgroup\n";

static const struct ht_hook hooks[] = {
	{ .name = "direct_reclaim_begin",
	  .progs = { "direct_begin_btf", "direct_begin_raw", "direct_begin_kprobe" } },
	{ .name = "direct_reclaim_end",
	  .progs = { "direct_end_btf", "direct_end_raw", "direct_end_kretprobe" } },
	/* memcg limit reclaim: no kprobe fallback, optional; a begin is a begin (same arguments) */
	{ .name = "memcg_reclaim_begin",
	  .progs = { "memcg_begin_btf", "direct_begin_raw" },
	  .raw_tp = "mm_vmscan_memcg_reclaim_begin",
	  .optional = true },
	{ .name = "memcg_reclaim_end",
	  .progs = { "memcg_end_btf", "memcg_end_raw" },
	  .optional = true },
	{ 0 },
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
	if (!ht_attribute(env, e->task.memcg_id, 0, e->task.nodename, &ct, memcg, sizeof(memcg)))
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

/* How often windows that no reclaim closed are looked for: a report comes this late at most. */
#define SWEEP_NS (100 * NSEC_PER_MSEC)

/*
 * Report the windows that are closed but that no later reclaim of their thread closed in
 * the kernel: over 1 s old and no reclaim in progress (@all: every window over the
 * threshold, the tool is leaving). A window can only change after that by a reclaim that
 * begins, and that one deletes the entry before it reports: deleting it here first means
 * this sweep reports it, exactly once.
 */
static int sweep(struct ht_env *env, int fd, bool all)
{
	uint64_t key = UINT64_MAX, next, now = ht_now_mono_ns();
	struct memreclaim_window w;
	int more, err, guard = 1 << 16;

	/* no such pid_tgid: the first key (a NULL key would do too, but not under valgrind) */
	more = !bpf_map_get_next_key(fd, &key, &key);
	while (more && guard--) {
		more = !bpf_map_get_next_key(fd, &key, &next);
		if (!bpf_map_lookup_elem(fd, &key, &w) &&
		    (all || (!w.begin_ns && now - w.ev.window_start_ns >= RECLAIM_WINDOW_NS)) &&
		    !bpf_map_delete_elem(fd, &key) && w.over) {
			/* leaving: a reclaim in progress counts up to now */
			if (w.begin_ns && now > w.begin_ns)
				w.ev.deltatime_ns += now - w.begin_ns;
			w.ev.ts_ns = now;
			err = handle_event(env, NULL, &w.ev, sizeof(w.ev));
			if (err)
				return err;
			if (env->count && env->events >= env->count)
				return 0;
		}
		key = next;
	}
	return 0;
}

static int sweep_tick(struct ht_env *env, void *ctx)
{
	struct memreclaim_bpf *skel = ctx;

	return sweep(env, bpf_map__fd(skel->maps.reclaiming), false);
}

static int run(struct ht_env *env)
{
	struct memreclaim_bpf *skel = env->skel;
	int err;

	err = ht_run(env, skel->obj, handle_event, skel, sweep_tick, SWEEP_NS);
	/* windows still open at the end: reported with their reclaim time so far */
	if (!err && (!env->count || env->events < env->count))
		err = sweep(env, bpf_map__fd(skel->maps.reclaiming), true);
	return err;
}

HT_SKEL_OPS(memreclaim);

static void configure(void *skel, struct ht_env *env)
{
	struct memreclaim_bpf *s = skel;

	s->rodata->threshold_ns = env->threshold_ns;
	s->rodata->target_pid = (uint32_t)env->pid;
	/* before 6.1 (34dd3bad1a6f) tracing programs refuse hash maps allocated as they fill */
	if (!ht_kernel_at_least(6, 1))
		bpf_map__set_map_flags(s->maps.reclaiming, 0);
}

static const struct ht_tool tool = {
	.tracer_name = "memory_reclaim_events",
	.what = "direct reclaim stalls",
	.doc = doc,
	.opt_flags = HT_OPT_THRESHOLD | HT_OPT_PID | HT_OPT_COMM | HT_OPT_CGROUP | HT_OPT_CONTAINER,
	.threshold_ns = 900 * NSEC_PER_MSEC,
	.skel = &memreclaim_skel_ops,
	.hooks = hooks,
	.configure = configure,
	.header = { "%-7s %-7s %-16s %9s %9s %6s %-12s %s",
		    { "PID", "TID", "COMM", "STALL", "MAX", "CALLS", "TYPE", "MEMCG" } },
	.run = run,
};

int main(int argc, char **argv)
{
	return ht_main(&tool, argc, argv);
}
