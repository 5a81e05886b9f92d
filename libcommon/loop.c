// SPDX-License-Identifier: GPL-2.0
/*
 * The event loop: poll the BPF ring buffer (or perf buffers), stop on SIGINT/SIGTERM/SIGHUP,
 * --duration, --count or a closed reader, and account for every lost event.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/param.h> /* MIN */
#include <sys/stat.h>
#include <unistd.h>

#include <linux/types.h>

#include <bpf/bpf.h>

#include "common.h" /* struct ht_cgroup_event */
#include "huatuo.h"
#include "tool.h"

#define HT_STOP (-ECANCELED) /* handler return that ends the loop normally */
#define POLL_MS 100
#define LOST_CHECK_NS NSEC_PER_SEC
#define DOZE_AFTER_NS NSEC_PER_SEC /* quiet this long: look once per LOST_CHECK_NS */

static volatile sig_atomic_t exiting;

static void on_signal(int sig)
{
	exiting = sig;
}

void ht_signals_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns EINTR at once */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* a closed reader shows up as EPIPE from write(): a normal end */
	signal(SIGPIPE, SIG_IGN);
}

bool ht_exiting(void)
{
	return exiting != 0;
}

struct run_state {
	struct ht_env *env;
	ht_event_fn fn;
	void *ctx;
	int err;
	bool done;
	int lost_fd;
	uint64_t lost_seen;   /* kernel counter already added to env->lost */
	uint64_t lost_warned; /* env->lost at the last warning */
	int suppressed_fd;    /* "ht_suppressed": events a --rate limit held back */
	uint64_t suppressed_warned;
	uint64_t suppressed_warn_ns;
	uint64_t records; /* ring-buffer records of events taken */
};

static int deliver(struct run_state *rs, const void *data, size_t size)
{
	int rc;

	if (rs->done)
		return HT_STOP;
	rc = rs->fn(rs->env, rs->ctx, data, size);
	if (rc < 0) {
		rs->err = rc;
		rs->done = true;
		return HT_STOP;
	}
	/* ht_emit() counts what it reported */
	if (rs->env->count && rs->env->events >= rs->env->count) {
		rs->done = true;
		return HT_STOP;
	}
	return 0;
}

static int on_ringbuf_sample(void *ctx, void *data, size_t size)
{
	struct run_state *rs = ctx;

	if (!size)
		return 0; /* ht_wake_dozing_reader()'s wakeup, no event */
	rs->records++;
	return deliver(rs, data, size);
}

/* cgroup:cgroup_mkdir, from the ht_cgroup_events ring of tools that attribute containers */
static int on_cgroup_made(void *ctx, void *data, size_t size)
{
	const struct ht_cgroup_event *e = data;

	(void)ctx;
	if (size >= sizeof(*e))
		ht_container_cgroup_made(e->id, e->path, sizeof(e->path));
	return 0;
}

static void on_perf_sample(void *ctx, int cpu, void *data, __u32 size)
{
	(void)cpu;
	deliver(ctx, data, size);
}

static void on_perf_lost(void *ctx, int cpu, __u64 count)
{
	struct run_state *rs = ctx;

	(void)cpu;
	rs->env->lost += count;
}

/* Sum of a one-slot per-CPU u64 counter map; false if it cannot be read. */
static bool percpu_sum(int fd, uint64_t *sum)
{
	static uint64_t *values;
	static int ncpus;
	uint32_t zero = 0;

	if (fd < 0)
		return false;
	if (!values) {
		ncpus = libbpf_num_possible_cpus();
		values = calloc(ncpus > 0 ? (size_t)ncpus : 1, sizeof(*values));
	}
	if (!values || ncpus <= 0 || bpf_map_lookup_elem(fd, &zero, values))
		return false;
	*sum = 0;
	for (int i = 0; i < ncpus; i++)
		*sum += values[i];
	return true;
}

#define SUPPRESSED_WARN_NS (10 * NSEC_PER_SEC)

/*
 * Read the per-CPU "ht_lost" and "ht_suppressed" counters and the runs of our programs the
 * kernel skipped; warn about what is new.
 */
static void check_lost(struct run_state *rs, bool final)
{
	struct ht_env *env = rs->env;
	uint64_t sum, now;

	if (percpu_sum(rs->lost_fd, &sum)) {
		env->lost += sum - rs->lost_seen;
		rs->lost_seen = sum;
	}
	if (env->lost > rs->lost_warned) {
		ht_warn(env,
			"lost %llu events (kernel buffer full), %llu in total; try a larger "
			"--buffer-size or narrower filters",
			(unsigned long long)(env->lost - rs->lost_warned),
			(unsigned long long)env->lost);
		rs->lost_warned = env->lost;
	}
	ht_bpf_skipped(env);
	if (percpu_sum(rs->suppressed_fd, &sum))
		env->suppressed = sum;
	now = ht_now_mono_ns();
	/* at most one line per 10 s: a storm must not drown the terminal in warnings */
	if (env->suppressed > rs->suppressed_warned && !final &&
	    (!rs->suppressed_warn_ns || now - rs->suppressed_warn_ns >= SUPPRESSED_WARN_NS)) {
		ht_warn(env,
			"rate limit: %llu events not reported since the last note, %llu in "
			"total; raise --rate (0 = no limit) to see them",
			(unsigned long long)(env->suppressed - rs->suppressed_warned),
			(unsigned long long)env->suppressed);
		rs->suppressed_warned = env->suppressed;
		rs->suppressed_warn_ns = now;
	}
}

/*
 * When stdout is a pipe whose reader went away (| head -1), the write end polls POLLERR:
 * notice it even when no event comes, instead of waiting for the next write's EPIPE.
 */
static bool reader_gone(void)
{
	static int is_pipe = -1;
	struct pollfd pfd = { .fd = STDOUT_FILENO, .events = 0 };
	struct stat st;

	if (is_pipe < 0)
		is_pipe = !fstat(STDOUT_FILENO, &st) && S_ISFIFO(st.st_mode);
	return is_pipe && poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLERR | POLLHUP));
}

/* Milliseconds from @now to the earliest of the nonzero times @due (0 if one is due). */
static int ms_until(uint64_t now, const uint64_t *due, int n)
{
	uint64_t wait = UINT64_MAX;

	for (int i = 0; i < n; i++) {
		if (due[i] && due[i] <= now)
			return 0;
		if (due[i] && due[i] - now < wait)
			wait = due[i] - now;
	}
	return (int)((wait + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC);
}

/*
 * Shared loop body: @wait polls and dispatches what arrived, for up to @timeout ms (the next
 * thing the loop has to do), or less: the ring buffer's reader looks every POLL_MS while it
 * is awake (events come in without a wakeup); perf buffers and fds cap every wait at POLL_MS.
 */
static int run_loop(struct ht_env *env, struct run_state *rs, int (*wait)(void *, int),
		    void *waiter, ht_tick_fn tick, void *ctx, uint64_t tick_ns)
{
	uint64_t start = ht_now_mono_ns(), now = start;
	uint64_t deadline = env->duration_set ? start + env->duration_ns : 0;
	uint64_t next_tick = tick && tick_ns ? start + tick_ns : 0;
	uint64_t next_lost = start + LOST_CHECK_NS;
	uint64_t metrics_ns = env->metrics ? ht_metrics_interval_ns(env) : 0;
	uint64_t next_metrics = metrics_ns ? start + metrics_ns : 0;
	int err;

	if (env->duration_set && !env->duration_ns)
		deadline = start; /* -d 0: attach, drain once, leave */
	while (!exiting && !rs->done) {
		const uint64_t due[] = { deadline, next_tick, next_metrics, next_lost };
		int timeout = deadline && now >= deadline ? 0 : ms_until(now, due, 4);

		err = wait(waiter, timeout);
		if (err < 0 && err != -EINTR && !rs->done) {
			ht_err(env, "waiting for events failed: %s", strerror(-err));
			return err;
		}
		now = ht_now_mono_ns();
		err = ht_flush(env);
		if (err) {
			if (err != -EPIPE)
				rs->err = err;
			break;
		}
		if (reader_gone())
			break;
		if (now >= next_lost) {
			check_lost(rs, false);
			ht_netns_recheck();
			next_lost = now + LOST_CHECK_NS;
		}
		if (next_tick && now >= next_tick && !rs->done) {
			err = tick(env, ctx);
			if (err < 0) {
				rs->err = err;
				break;
			}
			next_tick = now + tick_ns;
			if (env->count && env->events >= env->count)
				break; /* the tick reported (--summary tables) */
		}
		if (next_metrics && now >= next_metrics && !rs->done) {
			err = ht_metrics_update(env, false);
			if (err < 0) {
				rs->err = err;
				break;
			}
			next_metrics = now + metrics_ns;
			if (env->count && env->events >= env->count)
				break; /* the refresh reported (pfc -j) */
		}
		if (deadline && now >= deadline)
			break;
		/*
		 * Stacks are named from /proc/kallsyms, read in the background (50-150 ms of the
		 * kernel's CPU) from the first look at the ring on: not during the start of this
		 * tool or of the others huatuo-capture starts with it, and not at all by a tool
		 * stopped at once or run with -d 0. A stack in that first look waits for the read.
		 */
		if (env->ksyms_preload) {
			env->ksyms_preload = false;
			ht_kernel_ksyms_preload();
		}
	}
	check_lost(rs, true);
	err = ht_flush(env);
	if (err && err != -EPIPE && !rs->err)
		rs->err = err;
	return rs->err;
}

struct ring_waiter {
	struct ring_buffer *rb;
	const uint64_t *records; /* run_state's: the cgroup ring's records do not count */
	uint64_t records_seen;
	int doze_fd; /* "ht_doze" (bpf/common.bpf.h), -1 if none */
	bool dozing;
	uint64_t quiet_since; /* the last record, or the start */
};

/* Tell the BPF side whether the next record must wake us; false if it cannot be told. */
static bool set_dozing(struct ring_waiter *rw, bool dozing)
{
	uint32_t zero = 0, v = dozing;

	if (bpf_map_update_elem(rw->doze_fd, &zero, &v, BPF_ANY))
		return false;
	rw->dozing = dozing;
	return true;
}

/*
 * The BPF side commits records without waking us unless a burst is filling the ring
 * (ht_wake_flags in bpf/common.bpf.h: a wakeup is a self-IPI in the traced code): what came
 * in quietly is read when the wait times out, at most POLL_MS later. After DOZE_AFTER_NS
 * without a record we doze: the first record wakes us (ht_wake_dozing_reader), and the loop's
 * own work (the loss check, --duration, ticks) sets the timeout, once a second at the most. A
 * wakeup costs a VM tens of microseconds of CPU: ten a second were most of what an idle tool
 * cost (bench/: CPU per packet).
 */
static int wait_ringbuf(void *w, int timeout)
{
	struct ring_waiter *rw = w;
	uint64_t now;
	int n;

	n = ring_buffer__poll(rw->rb, rw->dozing ? timeout : MIN(timeout, POLL_MS));
	if (n == 0)
		n = ring_buffer__consume(rw->rb);
	if (n == HT_STOP)
		return 0;
	if (n < 0)
		return n;
	now = ht_now_mono_ns();
	if (*rw->records != rw->records_seen) {
		rw->records_seen = *rw->records;
		rw->quiet_since = now;
		if (rw->dozing)
			set_dozing(rw, false);
	} else if (!rw->dozing && rw->doze_fd >= 0 && now - rw->quiet_since >= DOZE_AFTER_NS &&
		   set_dozing(rw, true)) {
		/* a record committed before the BPF side could see the flag woke no one */
		atomic_thread_fence(memory_order_seq_cst);
		n = ring_buffer__consume(rw->rb);
		if (*rw->records != rw->records_seen || n == HT_STOP) {
			rw->records_seen = *rw->records;
			rw->quiet_since = now;
			set_dozing(rw, false);
		}
	}
	return n < 0 && n != HT_STOP ? n : 0;
}

static int wait_perfbuf(void *pb, int timeout)
{
	int n = perf_buffer__poll(pb, MIN(timeout, POLL_MS));

	return n < 0 ? n : 0;
}

int ht_run(struct ht_env *env, struct bpf_object *obj, ht_event_fn fn, void *ctx, ht_tick_fn tick,
	   uint64_t tick_ns)
{
	struct bpf_map *events = bpf_object__find_map_by_name(obj, "events");
	struct bpf_map *lost = bpf_object__find_map_by_name(obj, "ht_lost");
	struct bpf_map *suppressed = bpf_object__find_map_by_name(obj, "ht_suppressed");
	struct bpf_map *cgroups = bpf_object__find_map_by_name(obj, "ht_cgroup_events");
	struct run_state rs = {
		.env = env, .fn = fn, .ctx = ctx, .lost_fd = -1, .suppressed_fd = -1
	};
	struct bpf_map *doze = bpf_object__find_map_by_name(obj, "ht_doze");
	struct ring_buffer *rb = NULL;
	struct perf_buffer *pb = NULL;
	struct ring_waiter rw = { .doze_fd = doze ? bpf_map__fd(doze) : -1 };
	int err;

	if (!events) {
		ht_err(env, "internal error: BPF object has no events map");
		return -EINVAL;
	}
	if (lost)
		rs.lost_fd = bpf_map__fd(lost);
	if (suppressed)
		rs.suppressed_fd = bpf_map__fd(suppressed);
	if (env->use_perfbuf) {
		pb = perf_buffer__new(bpf_map__fd(events),
				      (size_t)(env->buffer_bytes / (uint64_t)getpagesize()),
				      on_perf_sample, on_perf_lost, &rs, NULL);
		err = pb ? 0 : -errno;
	} else {
		rb = ring_buffer__new(bpf_map__fd(events), on_ringbuf_sample, &rs, NULL);
		err = rb ? 0 : -errno;
		if (rb && cgroups && bpf_map__fd(cgroups) >= 0 &&
		    ring_buffer__add(rb, bpf_map__fd(cgroups), on_cgroup_made, NULL))
			ht_info(env, "new containers are looked up at their first event (%s)",
				strerror(errno));
	}
	if (err) {
		ht_err(env, "cannot open the kernel event buffer: %s", strerror(-err));
		return err;
	}
	/* containers that exist now: their runtime state, while it is on disk */
	if (bpf_object__find_map_by_name(obj, "ht_cgroup_paths"))
		ht_containers_start(env);
	if (pb)
		err = run_loop(env, &rs, wait_perfbuf, pb, tick, ctx, tick_ns);
	else {
		rw.rb = rb;
		rw.records = &rs.records;
		rw.quiet_since = ht_now_mono_ns();
		err = run_loop(env, &rs, wait_ringbuf, &rw, tick, ctx, tick_ns);
	}
	/* what is already in the buffer is reported before leaving (up to --count) */
	if (!err && !rs.done) {
		if (rb)
			ring_buffer__consume(rb);
		else
			perf_buffer__consume(pb);
		err = rs.err;
	}
	ring_buffer__free(rb);
	perf_buffer__free(pb);
	return err;
}

struct fd_waiter {
	struct ht_env *env;
	int fd;
	int (*on_readable)(struct ht_env *env, void *ctx);
	void *ctx;
	struct run_state *rs;
};

static int wait_fd(void *w, int timeout)
{
	struct fd_waiter *fw = w;
	struct pollfd pfd = { .fd = fw->fd, .events = POLLIN };
	int n = poll(&pfd, 1, MIN(timeout, POLL_MS)), err;

	if (n < 0)
		return -errno;
	if (n == 0)
		return 0;
	err = fw->on_readable(fw->env, fw->ctx);
	if (err < 0) {
		fw->rs->err = err;
		fw->rs->done = true;
		return 0;
	}
	if (fw->env->count && fw->env->events >= fw->env->count)
		fw->rs->done = true;
	return 0;
}

int ht_run_fd(struct ht_env *env, int fd, int (*on_readable)(struct ht_env *env, void *ctx),
	      void *ctx, ht_tick_fn tick, uint64_t tick_ns)
{
	struct run_state rs = { .env = env, .lost_fd = -1, .suppressed_fd = -1 };
	struct fd_waiter fw = { env, fd, on_readable, ctx, &rs };

	if (env->count && env->events >= env->count)
		return 0;
	return run_loop(env, &rs, wait_fd, &fw, tick, ctx, tick_ns);
}

int ht_finish(struct ht_env *env, int err)
{
	int code = env->exit_code, flush_err;
	char skipped[128] = "";

	if (err && err != -EPIPE)
		code = 1;
	if (env->skipped)
		snprintf(skipped, sizeof(skipped),
			 ", %llu runs skipped by the kernel (a BPF program was already running on "
			 "that CPU)",
			 (unsigned long long)env->skipped);
	if (env->lost || env->suppressed || env->skipped)
		ht_warn(env,
			"%llu events reported, %llu held back by the rate limit, %llu lost in "
			"the kernel (buffer full)%s",
			(unsigned long long)env->events, (unsigned long long)env->suppressed,
			(unsigned long long)env->lost, skipped);
	else if (env->verbose && !env->check)
		ht_info(env, "%llu events reported, none lost", (unsigned long long)env->events);
	flush_err = ht_flush(env);
	if (flush_err && flush_err != -EPIPE)
		code = 1; /* its message is printed */
	ht_store_close(env->store);
	env->store = NULL;
	return code;
}
