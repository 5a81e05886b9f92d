// SPDX-License-Identifier: GPL-2.0
/*
 * huatuo-softlockup: report a CPU that stops scheduling while running in the kernel, well
 * before the kernel's own soft-lockup report (2 * watchdog_thresh), and the kernel's reports
 * too, with the stuck CPU's stack and what every CPU runs (captured with BPF, not sysrq).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "huatuo.h"
#include "softlockup.h"
#include "softlockup.skel.h"

#define BACKOFF_MAX_NS (3 * 3600 * NSEC_PER_SEC)
#define CPUS_STACK_TIMEOUT_NS (1000 * NSEC_PER_MSEC) /* a loaded CPU may take a while */
#define MIN_PERIOD_NS (5 * NSEC_PER_MSEC)
#define MAX_PERIOD_NS (1 * NSEC_PER_SEC)

static const char doc[] =
	"Report CPUs stuck in the kernel without scheduling (soft lockups): early, from a BPF "
	"detector (-t, default 1s), and the kernel's own reports, with the CPU's stack and every "
	"CPU's current stack.\n"
	"\v"
	"Examples:\n"
	"  huatuo-softlockup                   # stalls of 1 s or more until Ctrl-C\n"
	"  huatuo-softlockup -t 200ms -j       # earlier, JSON lines\n"
	"  huatuo-softlockup --no-early        # only the kernel's soft-lockup reports\n"
	"  huatuo-softlockup -o /var/log/huatuo --backoff 30m\n";

static struct {
	bool no_early;
	uint64_t backoff_ns;
} opts = { .backoff_ns = 600 * NSEC_PER_SEC };

static const struct ht_option options[] = {
	HT_FLAG("no-early", &opts.no_early,
		"Only the kernel's own soft-lockup reports (no sampling, no heartbeat threads)"),
	HT_DURATION("backoff", &opts.backoff_ns, NSEC_PER_SEC, 0, BACKOFF_MAX_NS,
		    "Report the same CPU again only after DUR, doubling up to 3h (default 10m, 0 "
		    "= every time)"),
	{ 0 },
};

static struct ht_hook hooks[] = {
	{ .name = "kernel_report",
	  .progs = { "softlockup_console_btf", "softlockup_console_raw",
		     "softlockup_console_tp" } },
	{ .name = "context_switch",
	  .progs = { "softlockup_switch_btf", "softlockup_switch_raw", "softlockup_switch_tp" } },
	{ 0 },
};

struct state {
	struct softlockup_bpf *skel;
	struct bpf_link **samplers; /* one per possible CPU */
	bool *online;		    /* per possible CPU */
	int ncpus;
	uint64_t period_ns;
	struct ht_backoff *backoff; /* [source - 1][cpu] */
	uint64_t count;
};

/* ---- heartbeat: a thread per CPU that must be scheduled every period ---- */

struct heartbeat {
	int cpu;
	uint64_t period_ns;
};

static void *heartbeat_main(void *arg)
{
	struct heartbeat *hb = arg;
	struct sched_param sp = { .sched_priority = 1 };
	struct timespec ts = { .tv_sec = (time_t)(hb->period_ns / NSEC_PER_SEC),
			       .tv_nsec = (long)(hb->period_ns % NSEC_PER_SEC) };
	sigset_t all;
	cpu_set_t set;

	/* signals are for the main thread: its poll() must see EINTR */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	CPU_ZERO(&set);
	CPU_SET(hb->cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	/* real-time so that the wakeup preempts whatever a healthy CPU runs */
	pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
	for (;;)
		nanosleep(&ts, NULL);
	return NULL;
}

static int start_heartbeats(struct ht_env *env, const bool *online, int ncpus, uint64_t period)
{
	static struct heartbeat *hbs;
	pthread_attr_t attr;

	hbs = calloc((size_t)ncpus, sizeof(*hbs));
	if (!hbs)
		return -ENOMEM;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (int c = 0; c < ncpus; c++) {
		pthread_t t;
		int err;

		if (!online[c])
			continue;
		hbs[c] = (struct heartbeat){ .cpu = c, .period_ns = period };
		err = pthread_create(&t, &attr, heartbeat_main, &hbs[c]);
		if (err) {
			ht_err(env, "cannot start the heartbeat thread for CPU %d: %s", c,
			       strerror(err));
			pthread_attr_destroy(&attr);
			return -err;
		}
	}
	pthread_attr_destroy(&attr);
	return 0;
}

/* ---- the early detector's per-CPU samples ---- */

static int start_samplers(struct ht_env *env, struct state *st)
{
	struct perf_event_attr attr;

	st->samplers = calloc((size_t)st->ncpus, sizeof(struct bpf_link *));
	if (!st->samplers)
		return -ENOMEM;
	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_SOFTWARE;
	attr.config = PERF_COUNT_SW_CPU_CLOCK;
	attr.sample_period = st->period_ns;
	attr.disabled = 1;
	for (int c = 0; c < st->ncpus; c++) {
		int fd;

		if (!st->online[c])
			continue;
		fd = (int)syscall(SYS_perf_event_open, &attr, -1, c, -1, PERF_FLAG_FD_CLOEXEC);
		if (fd < 0) {
			ht_err(env, "cannot open a cpu-clock perf event on CPU %d: %s", c,
			       strerror(errno));
			return -errno;
		}
		st->samplers[c] =
			bpf_program__attach_perf_event(st->skel->progs.softlockup_sample, fd);
		if (!st->samplers[c]) {
			int err = -errno;

			close(fd);
			ht_err(env, "cannot attach the sampler on CPU %d: %s", c, strerror(-err));
			return err;
		}
	}
	return 0;
}

static void stop_samplers(struct state *st)
{
	if (!st->samplers)
		return;
	for (int c = 0; c < st->ncpus; c++)
		bpf_link__destroy(st->samplers[c]);
	free(st->samplers);
	st->samplers = NULL;
}

/* ---- the kernel's reports: records the kernel wrote, not lines users wrote ---- */

/*
 * printk:console hands over the text only, and "echo '<4>watchdog: BUG: soft lockup - ...'
 * > /dev/kmsg" produces the same text as watchdog_timer_fn(). /dev/kmsg tells them apart:
 * each record starts with (facility << 3 | level), and only the kernel writes facility 0
 * (devkmsg_write() turns facility 0 into LOG_USER). A report counts once its record, read
 * from /dev/kmsg, shows facility 0. The record is stored right after the tracepoint fires.
 */
#define KMSG_RECORD_MAX 8192 /* CONSOLE_EXT_LOG_MAX: a read takes one record */
#define KMSG_WAIT_MS 200     /* for the record of an event already seen */
#define KMSG_PENDING 16	     /* matching records not yet claimed by an event */
#define NEEDLE "BUG: soft lockup - CPU#"

static struct {
	int fd;
	unsigned int next;
	struct {
		bool used;
		unsigned int facility;
		char text[SOFTLOCKUP_MSG_LEN];
	} pending[KMSG_PENDING];
} kmsg = { .fd = -1 };

/* Open /dev/kmsg at its end: before the console hook attaches, so no record is missed. */
static void kmsg_open(struct ht_env *env)
{
	kmsg.fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg.fd < 0 || lseek(kmsg.fd, 0, SEEK_END) < 0) {
		ht_warn(env,
			"cannot read /dev/kmsg (%s): the kernel's soft-lockup reports cannot be told "
			"from lines users write there, so only the early detector reports",
			strerror(errno));
		if (kmsg.fd >= 0)
			close(kmsg.fd);
		kmsg.fd = -1;
	}
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Undo the "\x0a" escapes /dev/kmsg applies to unprintable bytes, in place; new length. */
static size_t kmsg_unescape(char *s, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int hi = i + 3 < len && s[i] == '\\' && s[i + 1] == 'x' ? hex_digit(s[i + 2]) : -1;
		int lo = hi >= 0 ? hex_digit(s[i + 3]) : -1;

		if (lo >= 0) {
			s[o++] = (char)(hi << 4 | lo);
			i += 3;
		} else {
			s[o++] = s[i];
		}
	}
	return o;
}

/* Read the records available now; keep those that carry the needle. -EAGAIN when drained. */
static int kmsg_read_some(void)
{
	static char rec[KMSG_RECORD_MAX + 1];
	unsigned long long ts_us;
	unsigned int prefix;
	ssize_t n;
	size_t len;
	char *text;

	for (;;) {
		n = read(kmsg.fd, rec, KMSG_RECORD_MAX);
		if (n < 0 && (errno == EPIPE || errno == EINTR))
			continue; /* EPIPE: records overwritten before we read them */
		if (n <= 0)
			return n < 0 ? -errno : -EAGAIN;
		rec[n] = '\0';
		text = ht_kmsg_text(rec, &prefix, &ts_us);
		if (!text)
			continue;
		len = kmsg_unescape(text, strlen(text));
		text[len] = '\0';
		if (!strstr(text, NEEDLE))
			continue;
		/* a ring: when full, the oldest unclaimed record goes */
		kmsg.pending[kmsg.next].used = true;
		kmsg.pending[kmsg.next].facility = prefix >> 3;
		snprintf(kmsg.pending[kmsg.next].text, sizeof(kmsg.pending[0].text), "%s", text);
		kmsg.next = (kmsg.next + 1) % KMSG_PENDING;
	}
}

/* Claim the pending record whose text starts with @msg: its facility, or -1 if none. */
static int kmsg_claim(const char *msg, size_t len)
{
	for (int i = 0; i < KMSG_PENDING; i++)
		if (kmsg.pending[i].used && !strncmp(kmsg.pending[i].text, msg, len)) {
			kmsg.pending[i].used = false;
			return (int)kmsg.pending[i].facility;
		}
	return -1;
}

/* Did the kernel write the report @msg (the event's text: its record's first bytes)? */
static bool kmsg_from_kernel(struct ht_env *env, const char *msg)
{
	uint64_t deadline = ht_now_mono_ns() + KMSG_WAIT_MS * NSEC_PER_MSEC;
	size_t len = strcspn(msg, "\n"); /* the record has no trailing newline */
	int found;

	if (kmsg.fd < 0 || !len)
		return false;
	for (;;) {
		int err = kmsg_read_some();
		uint64_t now = ht_now_mono_ns();

		found = kmsg_claim(msg, len);
		if (found > 0)
			ht_info(env,
				"a soft-lockup line written to /dev/kmsg by a user (facility %d), "
				"not the kernel: ignored",
				found);
		if (found >= 0)
			return found == 0;
		if (err != -EAGAIN || now >= deadline)
			break;
		poll(&(struct pollfd){ .fd = kmsg.fd, .events = POLLIN }, 1,
		     (int)((deadline - now) / NSEC_PER_MSEC) + 1);
	}
	ht_warn(env,
		"a soft-lockup report has no record in /dev/kmsg within %d ms: its writer is "
		"unknown, not reported",
		KMSG_WAIT_MS);
	return false;
}

/* ---- events ---- */

/* "... BUG: soft lockup - CPU#1 stuck for 23s! [comm:4242]" */
static bool parse_report(const char *msg, int *cpu, unsigned int *secs, char *comm, size_t len,
			 int *pid)
{
	const char *p = strstr(msg, "BUG: soft lockup - CPU#"), *open, *colon, *close;

	if (!p || sscanf(p, "BUG: soft lockup - CPU#%d stuck for %us!", cpu, secs) != 2)
		return false;
	open = strchr(p, '[');
	close = open ? strrchr(open, ']') : NULL;
	colon = close ? memrchr(open, ':', (size_t)(close - open)) : NULL;
	if (!colon)
		return true;
	snprintf(comm, len, "%.*s", (int)(colon - open - 1), open + 1);
	*pid = atoi(colon + 1);
	return true;
}

static int handle_event(struct ht_env *env, void *ctx, const void *data, size_t size)
{
	const struct softlockup_event *e = data;
	struct state *st = ctx;
	char comm[HT_COMM_LEN * 3 + 1], text_comm[64] = "", msg[SOFTLOCKUP_MSG_LEN * 3 + 1];
	char pcomm[64], dur[32], *stack, *cpus;
	int cpu = (int)e->cpu, pid = (int)e->pid, nr, skip;
	unsigned int secs = 0;
	bool early = e->source == SOFTLOCKUP_EARLY, wanted;
	uint64_t stuck_ns = e->stuck_ns;
	struct ht_container ct;
	struct ht_backoff *b;
	cJSON *d;

	if (size < sizeof(*e))
		return 0;
	ht_utf8_sanitize(e->comm, sizeof(e->comm), comm, sizeof(comm));
	ht_utf8_sanitize(e->msg, sizeof(e->msg), msg, sizeof(msg));
	if (!early) {
		msg[strcspn(msg, "\n")] = '\0';
		if (!parse_report(msg, &cpu, &secs, text_comm, sizeof(text_comm), &pid))
			return 0;
		if (!kmsg_from_kernel(env, e->msg))
			return 0;
		if (cpu < 0 || cpu >= st->ncpus)
			cpu = (int)e->cpu;
		stuck_ns = (uint64_t)secs * NSEC_PER_SEC;
	}
	if (text_comm[0])
		ht_utf8_sanitize(text_comm, strlen(text_comm), comm, sizeof(comm));
	if (env->pid && pid != env->pid)
		return 0;
	if (env->comm && strcmp(env->comm, comm))
		return 0;
	/* current's container: the stuck task's, unless the report names another task */
	if (early || (uint32_t)pid == e->pid)
		wanted = ht_attribute(env, e->cgroup_id, 0, NULL, &ct, NULL, 0);
	else
		wanted = ht_attribute_pid(env, pid, &ct);
	if (!wanted)
		return 0;
	st->count++;
	b = &st->backoff[(early ? 0 : st->ncpus) + cpu];
	if (!ht_backoff_allow(b, ht_now_mono_ns()))
		return 0;

	nr = e->nr < HT_STACK_DEPTH ? e->nr : HT_STACK_DEPTH;
	/* the sampler's stack comes from the interrupted registers: nothing to skip */
	skip = early ? 0 : ht_stack_skip_tracing(ht_kernel_ksyms(), (const uint64_t *)e->ips, nr);
	stack = ht_stack_string(ht_kernel_ksyms(), (const uint64_t *)e->ips + skip, nr - skip);
	cpus = ht_cpus_stack(env, st->skel->obj, CPUS_STACK_TIMEOUT_NS);
	if (!cpus)
		ht_warn(env, "cannot capture the CPUs' stacks: %s", strerror(errno));

	d = cJSON_CreateObject();
	cJSON_AddNumberToObject(d, "cpu", cpu);
	cJSON_AddNumberToObject(d, "pid", pid);
	if (early)
		cJSON_AddNumberToObject(d, "tid", e->tid);
	cJSON_AddStringToObject(d, "comm", comm);
	cJSON_AddStringToObject(d, "stack", stack ? stack : "");
	ht_json_add_u64(d, "count", st->count);
	cJSON_AddStringToObject(d, "cpus_stack", cpus ? cpus : "");
	cJSON_AddStringToObject(d, "source", early ? "early" : "kernel");
	ht_json_add_u64(d, "stuck_ns", stuck_ns);
	if (early) {
		ht_json_add_u64(d, "threshold", env->threshold_ns);
	} else {
		cJSON_AddStringToObject(d, "message", msg);
		/* who printed it: the stuck task itself for a real report */
		cJSON_AddNumberToObject(d, "reporter_cpu", e->cpu);
		cJSON_AddNumberToObject(d, "reporter_pid", e->pid);
		ht_json_add_bytes(d, "reporter_comm", e->comm, sizeof(e->comm));
	}
	ht_json_add_u64(d, "suppressed", b->suppressed);
	free(stack);
	free(cpus);
	ht_printable(comm, strlen(comm), pcomm, sizeof(pcomm));
	return ht_emit(env, d, &ct, "auto", "%-4d %-7d %-16s %9s %-6s %llu", cpu, pid, pcomm,
		       ht_fmt_duration(stuck_ns, dur, sizeof(dur)), early ? "early" : "kernel",
		       (unsigned long long)st->count);
}

HT_SKEL_OPS(softlockup);

static void configure(void *skel, struct ht_env *env)
{
	struct softlockup_bpf *obj = skel;

	obj->rodata->threshold_ns = env->threshold_ns;
	obj->rodata->self_tgid = (uint32_t)getpid();
	/* --no-early: the early detector's sampler and sched_switch hook would load for nothing */
	if (opts.no_early) {
		bpf_program__set_autoload(obj->progs.softlockup_sample, false);
		bpf_program__set_autoload(obj->progs.softlockup_switch_btf, false);
		bpf_program__set_autoload(obj->progs.softlockup_switch_raw, false);
		bpf_program__set_autoload(obj->progs.softlockup_switch_tp, false);
	}
}

static struct state st;

static int prepare(struct ht_env *env)
{
	st.ncpus = libbpf_num_possible_cpus();
	st.online = st.ncpus > 0 ? calloc((size_t)st.ncpus, sizeof(*st.online)) : NULL;
	st.backoff = st.online ? calloc(2 * (size_t)st.ncpus, sizeof(*st.backoff)) : NULL;
	if (!st.backoff || ht_online_cpus(st.online, st.ncpus) <= 0) {
		ht_err(env, "cannot read the online CPUs (/sys/devices/system/cpu/online)");
		return 1;
	}
	for (int i = 0; i < 2 * st.ncpus; i++)
		st.backoff[i] =
			(struct ht_backoff){ .base_ns = opts.backoff_ns, .max_ns = BACKOFF_MAX_NS };
	/* sample 4 times per threshold: a stall is seen within threshold * 1.25 */
	st.period_ns = env->threshold_ns / 4;
	if (st.period_ns < MIN_PERIOD_NS)
		st.period_ns = MIN_PERIOD_NS;
	if (st.period_ns > MAX_PERIOD_NS)
		st.period_ns = MAX_PERIOD_NS;
	if (opts.no_early)
		hooks[1] = (struct ht_hook){ 0 }; /* the kernel's reports only */
	if (!env->check)
		kmsg_open(env); /* before the console hook attaches */
	return 0;
}

static int setup(struct ht_env *env)
{
	static char early_target[96];

	st.skel = env->skel;
	if (!opts.no_early) {
		if (start_samplers(env, &st))
			return 1;
		snprintf(early_target, sizeof(early_target), "cpu-clock every %llums on each CPU",
			 (unsigned long long)(st.period_ns / NSEC_PER_MSEC));
		ht_add_hook(env, "early_detector", HT_PROBE_PERF, early_target);
	}
	ht_cpus_stack_hook(env);
	return 0;
}

static int start(struct ht_env *env)
{
	if (opts.no_early)
		return 0;
	return start_heartbeats(env, st.online, st.ncpus, st.period_ns) ? 1 : 0;
}

static void cleanup(void)
{
	stop_samplers(&st);
	free(st.online);
	free(st.backoff);
	if (kmsg.fd >= 0)
		close(kmsg.fd);
}

static const struct ht_tool tool = {
	.what = "soft lockups",
	.doc = doc,
	.opt_flags = HT_OPT_THRESHOLD | HT_OPT_PID | HT_OPT_COMM | HT_OPT_CONTAINER,
	.threshold_ns = NSEC_PER_SEC,
	.options = options,
	.skel = &softlockup_skel_ops,
	.hooks = hooks,
	.configure = configure,
	.prepare = prepare,
	.setup = setup,
	.start = start,
	.header = { "%-4s %-7s %-16s %9s %-6s %s",
		    { "CPU", "PID", "COMM", "STUCK", "SOURCE", "COUNT" } },
	.stacks = true,
	.on_event = handle_event,
	.ctx = &st,
	.cleanup = cleanup,
	.metrics = { .labels = { "source" } },
};

int main(int argc, char **argv)
{
	return ht_main(&tool, argc, argv);
}
