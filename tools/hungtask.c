// SPDX-License-Identifier: GPL-2.0
/*
 * huatuo-hungtask: report the tasks the kernel's hung-task detector finds blocked in
 * uninterruptible sleep, with every D-state task's kernel stack and what each CPU runs, or
 * dump the D-state tasks right now (--snapshot).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "huatuo.h"
#include "hungtask.h"
#include "hungtask.skel.h"
#include "hungtask_iter.skel.h"

#define MAX_DTASKS 4096
#define MAX_TRACKED 1024
#define BACKOFF_MAX_NS (3 * 3600 * NSEC_PER_SEC)
#define CPUS_STACK_TIMEOUT_NS (1000 * NSEC_PER_MSEC) /* a loaded CPU may take a while */
/* reports this close to the first one of a khungtaskd pass share its context (see struct pass) */
#define PASS_NS NSEC_PER_SEC

static const char doc[] =
	"Report tasks the kernel's hung-task detector finds blocked (sched:sched_process_hang), "
	"with all D-state tasks' stacks and every CPU's current stack; or dump D-state tasks now "
	"(--snapshot).\n"
	"\v"
	"Examples:\n"
	"  huatuo-hungtask                    # hung tasks until Ctrl-C\n"
	"  huatuo-hungtask -j | jq .tracer_data.blocked_processes_stack -r\n"
	"  huatuo-hungtask --snapshot -j      # D-state tasks right now, one JSON object\n"
	"  huatuo-hungtask --backoff 0        # every report of every hung task\n"
	"  huatuo-hungtask -p 1234 -c 1       # wait until process 1234 hangs\n";

static struct {
	bool snapshot;
	uint64_t backoff_ns;
	uint32_t burst;
} opts = { .backoff_ns = 600 * NSEC_PER_SEC, .burst = 10 };

static const struct ht_option options[] = {
	HT_FLAG("snapshot", &opts.snapshot,
		"Dump the tasks in D state now (tracer_type manual) and exit"),
	HT_DURATION("backoff", &opts.backoff_ns, NSEC_PER_SEC, 0, BACKOFF_MAX_NS,
		    "Report the same hung task again only after DUR, doubling up to 3h (default "
		    "10m, 0 = every time the kernel reports it)"),
	HT_UINT("burst", "N", &opts.burst, 0, 100000,
		"At most N reports per minute over all tasks (default 10, 0 = no limit)"),
	{ 0 },
};

static const struct ht_hook hooks[] = {
	{ .name = "sched_process_hang",
	  .progs = { "hungtask_hang_btf", "hungtask_hang_raw", "hungtask_hang_tp" } },
	{ 0 },
};

struct dtask {
	uint32_t pid, tid;
	uint64_t wait_ns; /* 0: unknown */
	char comm[HT_COMM_LEN * 3 + 1];
	char *stack;
};

struct scan {
	struct dtask *tasks;
	size_t n;
	const char *source; /* "bpf_iter" or "procfs" */
};

struct tracked {
	uint32_t tid;
	uint64_t hangs;
	struct ht_backoff backoff;
};

/*
 * What a report shows besides the hung task: the D-state tasks, the CPUs' stacks and the
 * timeout. khungtaskd reports the hung tasks of one check back to back, so they are taken
 * once, at the first report, and shared by the reports made within PASS_NS of it: a pass with
 * many hung tasks (or a storm) costs one task scan and one CPU capture, not one per task.
 */
struct pass {
	uint64_t start_ns; /* kernel time (CLOCK_MONOTONIC) of its first report; 0: none yet */
	struct scan scan;
	char *cpus; /* NULL: the capture failed */
	int timeout_secs;
};

struct state {
	struct hungtask_bpf *skel;
	struct hungtask_iter_bpf *iter_skel; /* loaded at the first scan */
	struct bpf_link *iter;
	bool iter_tried;
	struct tracked tasks[MAX_TRACKED];
	uint64_t window_start_ns;
	uint32_t window_reports;
	uint64_t suppressed;
	struct pass pass;
};

static void scan_free(struct scan *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->tasks[i].stack);
	free(s->tasks);
	memset(s, 0, sizeof(*s));
}

static char *symbolize(const __u64 *ips, int nr)
{
	const struct ht_ksyms *ks = ht_kernel_ksyms();

	if (nr > HT_STACK_DEPTH)
		nr = HT_STACK_DEPTH;
	return ht_stack_string(ks, (const uint64_t *)ips, nr > 0 ? nr : 0);
}

/* D-state tasks through the BPF task iterator. */
static int scan_iter(struct state *st, struct scan *s)
{
	struct hungtask_dtask rec;
	size_t got = 0;
	ssize_t n;
	int fd;

	fd = bpf_iter_create(bpf_link__fd(st->iter));
	if (fd < 0)
		return -errno;
	s->source = "bpf_iter";
	for (;;) {
		n = read(fd, (char *)&rec + got, sizeof(rec) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got < sizeof(rec))
			continue;
		got = 0;
		if (s->n >= MAX_DTASKS)
			continue;
		struct dtask *t = &s->tasks[s->n++];

		t->pid = rec.pid;
		t->tid = rec.tid;
		t->wait_ns = rec.wait_ns;
		ht_utf8_sanitize(rec.comm, sizeof(rec.comm), t->comm, sizeof(t->comm));
		t->stack = symbolize(rec.ips, rec.nr);
	}
	close(fd);
	return n < 0 ? -errno : 0;
}

static char *proc_stack(const char *path)
{
	char buf[8192];
	int n = ht_read_file(path, buf, sizeof(buf));

	return n > 0 ? ht_parse_proc_stack(buf, (size_t)n) : NULL;
}

/* One thread from procfs: true (and @d filled) if it is in D state. */
static bool proc_dtask(const char *pid, const char *tid, struct dtask *d)
{
	char path[600], buf[1024], state;

	snprintf(path, sizeof(path), "/proc/%s/task/%s/stat", pid, tid);
	if (ht_read_file(path, buf, sizeof(buf)) <= 0 ||
	    ht_parse_proc_stat(buf, &state, d->comm, sizeof(d->comm)) || state != 'D')
		return false;
	d->pid = (uint32_t)atoi(pid);
	d->tid = (uint32_t)atoi(tid);
	d->wait_ns = 0; /* procfs does not say */
	snprintf(path, sizeof(path), "/proc/%s/task/%s/stack", pid, tid);
	d->stack = proc_stack(path);
	return true;
}

/* Fallback: /proc/PID/task/TID/stat state 'D', stack from /proc/PID/task/TID/stack. */
static int scan_proc(struct scan *s)
{
	DIR *proc = opendir("/proc"), *tdir;
	struct dirent *p, *t;
	char path[300];

	if (!proc)
		return -errno;
	s->source = "procfs";
	while ((p = readdir(proc)) && s->n < MAX_DTASKS) {
		if (!isdigit((unsigned char)p->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/task", p->d_name);
		tdir = opendir(path);
		if (!tdir)
			continue;
		while ((t = readdir(tdir)) && s->n < MAX_DTASKS)
			if (isdigit((unsigned char)t->d_name[0]) &&
			    proc_dtask(p->d_name, t->d_name, &s->tasks[s->n]))
				s->n++;
		closedir(tdir);
	}
	closedir(proc);
	return 0;
}

/* The D-state task iterator, loaded once on first use; NULL: read /proc instead. */
static struct bpf_link *dstate_iter(struct state *st, const struct ht_env *env)
{
	if (st->iter_tried)
		return st->iter;
	st->iter_tried = true;
	st->iter_skel = hungtask_iter_bpf__open_and_load();
	if (st->iter_skel)
		st->iter = bpf_program__attach_iter(st->iter_skel->progs.hungtask_dstate, NULL);
	if (!st->iter)
		ht_info(env, "BPF task iterator unavailable (%s): D-state tasks from /proc",
			strerror(errno));
	return st->iter;
}

static int scan_dstate(struct state *st, const struct ht_env *env, struct scan *s)
{
	int err;

	memset(s, 0, sizeof(*s));
	s->tasks = calloc(MAX_DTASKS, sizeof(*s->tasks));
	if (!s->tasks)
		return -ENOMEM;
	if (dstate_iter(st, env) && !scan_iter(st, s))
		return 0;
	for (size_t i = 0; i < s->n; i++)
		free(s->tasks[i].stack);
	s->n = 0;
	err = scan_proc(s);
	if (err)
		scan_free(s);
	return err;
}

/* blocked_processes_stack (text) and blocked_processes (array) */
static void add_blocked(cJSON *d, const struct scan *s)
{
	size_t cap = 4096, len = 0;
	char *text = malloc(cap), dur[32];
	cJSON *arr = cJSON_CreateArray();

	if (text)
		text[0] = '\0';
	for (size_t i = 0; i < s->n; i++) {
		const struct dtask *t = &s->tasks[i];
		cJSON *o = cJSON_CreateObject();
		char head[256], shown[sizeof(t->comm)];
		size_t need;

		cJSON_AddNumberToObject(o, "pid", t->pid);
		cJSON_AddNumberToObject(o, "tid", t->tid);
		cJSON_AddStringToObject(o, "comm", t->comm);
		if (t->wait_ns)
			ht_json_add_u64(o, "wait_ns", t->wait_ns);
		cJSON_AddStringToObject(o, "stack", t->stack ? t->stack : "");
		cJSON_AddItemToArray(arr, o);

		/* a newline in a command name must not forge another task's line */
		ht_printable(t->comm, sizeof(t->comm), shown, sizeof(shown));
		snprintf(head, sizeof(head), "%spid %u tid %u comm %s state D%s%s\n",
			 len ? "\n" : "", t->pid, t->tid, shown, t->wait_ns ? " blocked " : "",
			 t->wait_ns ? ht_fmt_duration(t->wait_ns, dur, sizeof(dur)) : "");
		need = len + strlen(head) + (t->stack ? strlen(t->stack) * 2 + 64 : 1) + 1;
		if (text && need > cap) {
			char *grown = realloc(text, cap = need * 2);

			if (!grown) {
				free(text);
				text = NULL;
			} else {
				text = grown;
			}
		}
		if (!text)
			continue;
		len += (size_t)sprintf(text + len, "%s", head);
		if (t->stack && t->stack[0]) {
			char *copy = strdup(t->stack);

			for (char *l = copy ? strtok(copy, "\n") : NULL; l; l = strtok(NULL, "\n"))
				len += (size_t)sprintf(text + len, "  %s\n", l);
			free(copy);
		}
	}
	cJSON_AddNumberToObject(d, "d_process_count", (double)s->n);
	cJSON_AddStringToObject(d, "blocked_processes_stack", text ? text : "");
	cJSON_AddItemToObject(d, "blocked_processes", arr);
	cJSON_AddStringToObject(d, "blocked_processes_source", s->source ? s->source : "");
	free(text);
}

static int hung_task_timeout_secs(void)
{
	char buf[32];

	if (ht_read_file("/proc/sys/kernel/hung_task_timeout_secs", buf, sizeof(buf)) <= 0)
		return -1;
	return atoi(buf);
}

static void pass_free(struct pass *p)
{
	scan_free(&p->scan);
	free(p->cpus);
	memset(p, 0, sizeof(*p));
}

/* The context of the pass a report made at @ts_ns belongs to: the current one, or one taken now. */
static const struct pass *pass_at(struct ht_env *env, struct state *st, uint64_t ts_ns)
{
	struct pass *p = &st->pass;
	int err;

	if (p->start_ns &&
	    (ts_ns > p->start_ns ? ts_ns - p->start_ns : p->start_ns - ts_ns) < PASS_NS)
		return p;
	pass_free(p);
	p->start_ns = ts_ns;
	err = scan_dstate(st, env, &p->scan);
	if (err)
		ht_warn(env, "cannot list D-state tasks: %s", strerror(-err));
	p->cpus = ht_cpus_stack(env, st->skel->obj, CPUS_STACK_TIMEOUT_NS);
	if (!p->cpus)
		ht_warn(env, "cannot capture the CPUs' stacks: %s", strerror(errno));
	p->timeout_secs = hung_task_timeout_secs();
	return p;
}

static struct tracked *track(struct state *st, uint32_t tid)
{
	struct tracked *free_slot = NULL, *oldest = &st->tasks[0];

	for (int i = 0; i < MAX_TRACKED; i++) {
		struct tracked *t = &st->tasks[i];

		if (t->tid == tid && t->hangs)
			return t;
		if (!t->hangs && !free_slot)
			free_slot = t;
		if (t->backoff.last_ns < oldest->backoff.last_ns)
			oldest = t;
	}
	if (!free_slot)
		free_slot = oldest;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->tid = tid;
	free_slot->backoff.base_ns = opts.backoff_ns;
	free_slot->backoff.max_ns = BACKOFF_MAX_NS;
	return free_slot;
}

static bool burst_allows(struct state *st, uint64_t now)
{
	if (!opts.burst)
		return true;
	if (now - st->window_start_ns >= 60 * NSEC_PER_SEC) {
		st->window_start_ns = now;
		st->window_reports = 0;
	}
	if (st->window_reports >= opts.burst)
		return false;
	st->window_reports++;
	return true;
}

static uint32_t tgid_of(uint32_t tid)
{
	char path[64], buf[4096], *p;

	snprintf(path, sizeof(path), "/proc/%u/status", tid);
	if (ht_read_file(path, buf, sizeof(buf)) <= 0)
		return 0;
	p = strstr(buf, "\nTgid:");
	return p ? (uint32_t)strtoul(p + 6, NULL, 10) : 0;
}

static int handle_event(struct ht_env *env, void *ctx, const void *data, size_t size)
{
	const struct hungtask_event *e = data;
	struct state *st = ctx;
	char comm[HT_COMM_LEN * 3 + 1], pcomm[HT_COMM_LEN], *stack = NULL, *text;
	uint64_t now = ht_now_mono_ns(), suppressed;
	uint32_t pid = e->pid;
	const struct pass *pass;
	struct ht_container ct;
	struct tracked *t;
	cJSON *d;
	int err;
	size_t cap;

	/* flavors without a task stack send no ips[] (nr -1) */
	if (size < offsetof(struct hungtask_event, ips) || (e->nr >= 0 && size < sizeof(*e)))
		return 0;
	if (!pid && e->tid)
		pid = tgid_of(e->tid); /* classic tracepoint: tid only */
	ht_utf8_sanitize(e->comm, sizeof(e->comm), comm, sizeof(comm));
	if ((env->pid && pid != (uint32_t)env->pid) || (env->comm && strcmp(env->comm, comm)))
		return 0;
	/* the hung task's container (the classic flavour: from /proc, the task is alive) */
	if (e->cgroup_id ? !ht_attribute(env, e->cgroup_id, 0, NULL, &ct, NULL, 0) :
			   !ht_attribute_pid(env, (pid_t)e->tid, &ct))
		return 0;
	t = track(st, e->tid);
	t->hangs++;
	if (!ht_backoff_allow(&t->backoff, now) || !burst_allows(st, now)) {
		st->suppressed++;
		return 0;
	}
	suppressed = st->suppressed;
	st->suppressed = 0;

	pass = pass_at(env, st, e->ts_ns ? e->ts_ns : now); /* kernel time of the report */
	if (e->nr >= 0) {
		int skip = ht_stack_skip_tracing(ht_kernel_ksyms(), (const uint64_t *)e->ips,
						 e->nr < HT_STACK_DEPTH ? e->nr : HT_STACK_DEPTH);

		stack = symbolize(e->ips + skip, e->nr - skip);
	} else {
		for (size_t i = 0; i < pass->scan.n && !stack; i++)
			if (pass->scan.tasks[i].tid == e->tid && pass->scan.tasks[i].stack)
				stack = strdup(pass->scan.tasks[i].stack);
	}

	d = cJSON_CreateObject();
	cJSON_AddNumberToObject(d, "pid", pid);
	cJSON_AddNumberToObject(d, "tid", e->tid);
	cJSON_AddStringToObject(d, "comm", comm);
	cJSON_AddStringToObject(d, "stack", stack ? stack : "");
	add_blocked(d, &pass->scan);
	cJSON_AddStringToObject(d, "cpus_stack", pass->cpus ? pass->cpus : "");
	if (pass->timeout_secs >= 0)
		cJSON_AddNumberToObject(d, "hung_task_timeout_secs", pass->timeout_secs);
	ht_json_add_u64(d, "hang_count", t->hangs);
	ht_json_add_u64(d, "suppressed", suppressed);

	if (env->json) {
		err = ht_emit_text(env, d, &ct, "auto", NULL);
	} else {
		char label[HT_CONTAINER_LABEL];
		char stamp[16];
		time_t wall = time(NULL);
		struct tm tm;

		localtime_r(&wall, &tm);
		strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
		ht_printable(e->comm, sizeof(e->comm), pcomm, sizeof(pcomm));
		cap = 256 + (stack ? strlen(stack) * 2 : 0);
		text = malloc(cap);
		if (text) {
			size_t len = (size_t)snprintf(
				text, cap, "%-8s %-*s %-7u %-7u %-16s %7zu %6llu\n", stamp,
				HT_CONTAINER_COLUMN, ht_container_label(&ct, label, sizeof(label)),
				pid, e->tid, pcomm, pass->scan.n, (unsigned long long)t->hangs);

			for (char *l = stack ? strtok(stack, "\n") : NULL; l && len < cap;
			     l = strtok(NULL, "\n"))
				len += (size_t)snprintf(text + len, cap - len, "    %s\n", l);
		}
		err = ht_emit_text(env, d, &ct, "auto", text ? text : "");
		free(text);
	}
	free(stack);
	return err;
}

static int snapshot(struct ht_env *env, struct state *st)
{
	char *text = NULL, *cpus;
	struct scan s;
	cJSON *d;
	int err;

	err = scan_dstate(st, env, &s);
	if (err) {
		ht_err(env, "cannot list D-state tasks: %s", strerror(-err));
		return err;
	}
	d = cJSON_CreateObject();
	cJSON_AddNumberToObject(d, "pid", 0); /* no hung task: a snapshot */
	cJSON_AddStringToObject(d, "comm", "");
	add_blocked(d, &s);
	cpus = ht_cpus_stack(env, st->skel->obj, CPUS_STACK_TIMEOUT_NS);
	if (!cpus)
		ht_warn(env, "cannot capture the CPUs' stacks: %s", strerror(errno));
	cJSON_AddStringToObject(d, "cpus_stack", cpus ? cpus : "");
	free(cpus);
	if (!env->json) {
		cJSON *bps = cJSON_GetObjectItem(d, "blocked_processes_stack");
		cJSON *cps = cJSON_GetObjectItem(d, "cpus_stack");
		const char *b = cJSON_GetStringValue(bps), *c = cJSON_GetStringValue(cps);

		text = malloc(strlen(b) + strlen(c) + 128);
		if (text)
			sprintf(text, "%zu tasks in D state (%s)\n%s\nCPUs:\n%s", s.n, s.source, b,
				c);
	}
	err = ht_emit_text(env, d, NULL, "manual", text);
	free(text);
	scan_free(&s);
	return err;
}

HT_SKEL_OPS(hungtask);

static void configure(void *skel, struct ht_env *env)
{
	((struct hungtask_bpf *)skel)->rodata->target_pid = (uint32_t)env->pid;
}

static struct state st;

static int prepare(struct ht_env *env)
{
	env->once = opts.snapshot;
	return 0;
}

/* snapshot mode attaches the hang hook too, for a moment: harmless, and one code path */
static int setup(struct ht_env *env)
{
	st.skel = env->skel;
	if (!env->check) {
		ht_add_hook(env, "d_state_tasks", HT_PROBE_ITER,
			    "task (BPF task iterator, loaded at the first hang; else /proc)");
	} else { /* report what the first hang will use */
		dstate_iter(&st, env);
		ht_add_hook(env, "d_state_tasks", st.iter ? HT_PROBE_ITER : HT_PROBE_NONE,
			    st.iter ? "task (BPF task iterator)" : "/proc/PID/task/TID/stack");
	}
	ht_cpus_stack_hook(env);
	return 0;
}

static int start(struct ht_env *env)
{
	if (opts.snapshot)
		return 0;
	if (hung_task_timeout_secs() == 0)
		ht_warn(env,
			"kernel.hung_task_timeout_secs is 0: the kernel reports no hung tasks");
	else if (hung_task_timeout_secs() < 0)
		ht_warn(env, "no kernel.hung_task_timeout_secs: the kernel may lack "
			     "CONFIG_DETECT_HUNG_TASK");
	return 0;
}

static int run(struct ht_env *env)
{
	if (opts.snapshot)
		return snapshot(env, &st);
	return ht_run(env, st.skel->obj, handle_event, &st, NULL, 0);
}

static void cleanup(void)
{
	pass_free(&st.pass);
	bpf_link__destroy(st.iter);
	hungtask_iter_bpf__destroy(st.iter_skel);
}

static const struct ht_tool tool = {
	.what = "hung tasks",
	.doc = doc,
	.opt_flags = HT_OPT_PID | HT_OPT_COMM | HT_OPT_CONTAINER,
	.options = options,
	.skel = &hungtask_skel_ops,
	.hooks = hooks,
	.configure = configure,
	.prepare = prepare,
	.setup = setup,
	.start = start,
	.header = { "%-7s %-7s %-16s %7s %6s", { "PID", "TID", "COMM", "D-TASKS", "HANGS" } },
	.stacks = true,
	.run = run,
	.cleanup = cleanup,
};

int main(int argc, char **argv)
{
	return ht_main(&tool, argc, argv);
}
