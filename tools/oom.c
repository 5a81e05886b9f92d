// SPDX-License-Identifier: GPL-2.0
/*
 * huatuo-oom: report every OOM kill, host-wide or in a memory cgroup, with the task that
 * triggered it, the victim, their containers and the memcg's limit and usage at the kill.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "huatuo.h"
#include "oom.h"
#include "oom.skel.h"

#define PAGE_COUNTER_MAX_PAGES(page) ((uint64_t)INT64_MAX / (page))

static const char doc[] =
	"Report OOM kills (host or memory cgroup): victim and trigger, containers, memcg limit "
	"and usage, victim RSS.\n"
	"\v"
	"Examples:\n"
	"  huatuo-oom                     # table of OOM kills until Ctrl-C\n"
	"  huatuo-oom -j | jq .           # one JSON object per kill\n"
	"  huatuo-oom -j -c 1 -d 10m      # wait up to 10 minutes for one kill\n"
	"  huatuo-oom --cgroup /kubepods  # kills of tasks under a cgroup\n"
	"  huatuo-oom -o /var/log/huatuo  # also keep JSON lines in /var/log/huatuo/oom\n";

static const struct ht_hook hooks[] = {
	{ .name = "mark_victim",
	  .progs = { "oom_mark_victim_btf", "oom_mark_victim_raw", "oom_mark_victim_tp",
		     "oom_kill_process_fentry", "oom_kill_process_kprobe" },
	  /* since 6.9 mark_victim(struct task_struct *, uid_t), with the total_vm field */
	  .tracepoint = "oom/mark_victim",
	  .needs_field = { "total_vm", "total_vm" } },
	{ 0 },
};

struct side {
	const struct ht_task *task;
	char comm[HT_COMM_LEN * 3 + 1];
	char memcg[4096];
	struct ht_container ct;
	bool wanted; /* its cgroup or container passes --cgroup and --container */
};

static void resolve(struct ht_env *env, struct side *s, const struct ht_task *t)
{
	char path[64];

	s->task = t;
	s->wanted =
		ht_attribute(env, t->memcg_id, 0, t->nodename, &s->ct, s->memcg, sizeof(s->memcg));
	if (!t->comm[0] && t->pid) {
		/*
		 * classic tracepoint flavor (< 6.9) when the victim is not the trigger: its pid
		 * only; its comm and memory cgroup from /proc if it has not started to exit yet
		 * (the kernel side wakes us at once)
		 */
		snprintf(path, sizeof(path), "/proc/%u/comm", t->pid);
		if (ht_read_file(path, s->comm, sizeof(s->comm)) > 0)
			s->comm[strcspn(s->comm, "\n")] = '\0';
		else
			s->comm[0] = '\0';
		/*
		 * not exiting after the read: it was not before (PF_EXITING comes before
		 * cgroup_exit, after which the cgroup reads as the root: none, not a wrong one)
		 */
		if (!ht_cgroup_path_of_pid((int)t->pid, "memory", s->memcg, sizeof(s->memcg)) &&
		    !ht_task_exiting((pid_t)t->pid) && ht_container_from_path(s->memcg, &s->ct))
			ht_runtime_fill(&s->ct);
		else if (ht_task_exiting((pid_t)t->pid))
			s->memcg[0] = '\0';
		s->wanted = ht_cgroup_wanted(env, "memory", 0, s->memcg) &&
			    (!env->container || ht_container_matches(env->container, &s->ct));
		return;
	}
	ht_utf8_sanitize(t->comm, sizeof(t->comm), s->comm, sizeof(s->comm));
}

static void add_side(cJSON *data, const char *prefix, const struct side *s)
{
	char key[64];

	snprintf(key, sizeof(key), "%sprocess_name", prefix);
	cJSON_AddStringToObject(data, key, s->comm);
	snprintf(key, sizeof(key), "%spid", prefix);
	cJSON_AddNumberToObject(data, key, s->task->pid);
	ht_json_add_container(data, prefix, &s->ct);
	snprintf(key, sizeof(key), "%smemcg_css", prefix);
	ht_json_add_hex(data, key, s->task->memcg_css);
	snprintf(key, sizeof(key), "%smemcg", prefix);
	cJSON_AddStringToObject(data, key, s->memcg);
}

static bool wanted(const struct ht_env *env, const struct side *trigger, const struct side *victim)
{
	if (env->comm && strcmp(env->comm, trigger->comm) && strcmp(env->comm, victim->comm))
		return false;
	return victim->wanted || trigger->wanted;
}

/* @bytes for the table ("64.0M"), or "-" when the hook could not read it. */
static const char *fmt_known(bool known, uint64_t bytes, char buf[16])
{
	return known ? ht_fmt_bytes(bytes, buf, 16) : "-";
}

static int handle_event(struct ht_env *env, void *ctx, const void *data, size_t size)
{
	const struct oom_event *e = data;
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), limit = 0, usage = 0, rss;
	char anon_s[16], file_s[16], shmem_s[16], limit_s[16], usage_s[16];
	char pcomm[HT_COMM_LEN], vcomm[HT_COMM_LEN];
	struct side trigger, victim;
	bool have_memcg = e->has_memcg;
	cJSON *d;

	(void)ctx;
	if (size < sizeof(*e))
		return 0;
	resolve(env, &trigger, &e->trigger);
	resolve(env, &victim, &e->victim);
	if (!wanted(env, &trigger, &victim))
		return 0;

	if (have_memcg) {
		usage = e->memcg_usage_pages * page;
		limit = e->memcg_limit_pages >= PAGE_COUNTER_MAX_PAGES(page) ?
				UINT64_MAX :
				e->memcg_limit_pages * page;
	} else if (victim.memcg[0]) {
		bool v2;

		/* no task pointer from this hook: read the memcg files now (after the kill) */
		ht_cgroup_mount("memory", &v2);
		have_memcg = !ht_cgroup_read_u64("memory", victim.memcg,
						 v2 ? "memory.max" : "memory.limit_in_bytes",
						 &limit) &&
			     !ht_cgroup_read_u64("memory", victim.memcg,
						 v2 ? "memory.current" : "memory.usage_in_bytes",
						 &usage);
		if (limit >= PAGE_COUNTER_MAX_PAGES(page) * page)
			limit = UINT64_MAX;
	}
	rss = (e->victim_anon_pages + e->victim_file_pages + e->victim_shmem_pages) * page;

	d = cJSON_CreateObject();
	add_side(d, "victim_", &victim);
	add_side(d, "trigger_", &trigger);
	cJSON_AddNumberToObject(d, "victim_tid", e->victim.tid);
	cJSON_AddNumberToObject(d, "trigger_tid", e->trigger.tid);
	if (have_memcg) {
		if (limit == UINT64_MAX)
			cJSON_AddNullToObject(d, "memcg_limit_bytes"); /* unlimited */
		else
			ht_json_add_u64(d, "memcg_limit_bytes", limit);
		ht_json_add_u64(d, "memcg_usage_bytes", usage);
	}
	if (e->has_rss) {
		ht_json_add_u64(d, "victim_rss_bytes", rss);
		ht_json_add_u64(d, "victim_anon_rss_bytes", e->victim_anon_pages * page);
		ht_json_add_u64(d, "victim_file_rss_bytes", e->victim_file_pages * page);
		ht_json_add_u64(d, "victim_shmem_rss_bytes", e->victim_shmem_pages * page);
		ht_json_add_u64(d, "victim_total_vm_bytes", e->victim_total_vm_pages * page);
		cJSON_AddNumberToObject(d, "victim_oom_score_adj", e->victim_oom_score_adj);
	}

	ht_printable(trigger.comm, sizeof(trigger.comm), pcomm, sizeof(pcomm));
	ht_printable(victim.comm, sizeof(victim.comm), vcomm, sizeof(vcomm));
	/*
	 * RSS split as the kernel's OOM report splits it: anonymous pages are charged to the
	 * victim's memcg, file and shmem pages to whichever memcg read them into the page cache
	 * (shared libraries often to another one), so their sum can exceed the victim's LIMIT.
	 */
	return ht_emit(env, d, &victim.ct, "auto", "%-7u %-16s %-7u %-16s %7s %7s %7s %8s %8s %s",
		       e->trigger.pid, pcomm, e->victim.pid, vcomm,
		       fmt_known(e->has_rss, e->victim_anon_pages * page, anon_s),
		       fmt_known(e->has_rss, e->victim_file_pages * page, file_s),
		       fmt_known(e->has_rss, e->victim_shmem_pages * page, shmem_s),
		       fmt_known(have_memcg, usage, usage_s), fmt_known(have_memcg, limit, limit_s),
		       victim.memcg[0] ? victim.memcg : "-");
}

HT_SKEL_OPS(oom);

static void configure(void *skel, struct ht_env *env)
{
	((struct oom_bpf *)skel)->rodata->target_pid = (uint32_t)env->pid;
}

static const struct ht_tool tool = {
	.what = "OOM kills",
	.doc = doc,
	.opt_flags = HT_OPT_PID | HT_OPT_COMM | HT_OPT_CGROUP | HT_OPT_CONTAINER,
	.skel = &oom_skel_ops,
	.hooks = hooks,
	.configure = configure,
	.header = { "%-7s %-16s %-7s %-16s %7s %7s %7s %8s %8s %s",
		    { "TPID", "TRIGGER", "VPID", "VICTIM", "ANON", "FILE", "SHMEM", "USAGE",
		      "LIMIT", "MEMCG" } },
	.on_event = handle_event,
};

int main(int argc, char **argv)
{
	return ht_main(&tool, argc, argv);
}
