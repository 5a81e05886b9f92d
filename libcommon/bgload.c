// SPDX-License-Identifier: GPL-2.0
/*
 * Work of a start done on the other CPU: the object's open, its big maps and libbpf's
 * feature probes before the load, the biggest program during it.
 *
 * Before: ht_bgload_prewarm(), first thing, starts a thread on another CPU while this one
 * makes or reads the BTF subset. It opens the tool's object with the options the start will
 * load it with (the subset's path is known before the subset: ht_btf_min_target()), ~0.4 ms
 * of ELF and BTF parsing; ht_bgload_opened() hands it over, with what libbpf said of it, if
 * it is done and the options are still those (else the object is opened here: a wait would
 * let this CPU go idle, and waking an idle CPU of a VM can take a millisecond; a cached
 * subset is read before the open is done). It then creates the object's big preallocated
 * maps (a 2 MB array takes ~0.5 ms) and loads a small object (bpf/prewarm.bpf.c): libbpf
 * asks the kernel what it supports (BTF kinds, global data, ...) once per process, ~0.4 ms
 * of probes, so the tool's load finds them answered. Right before the load,
 * ht_bgload_plan() gives libbpf the maps made by then (bpf_map__reuse_fd(): same type,
 * sizes, flags and BTF types as the object's, created with the object's BTF as libbpf
 * would) and libbpf creates the others. What the thread has not done once the load has
 * begun is of no use any more: it goes on with the program below.
 *
 * During: bpf_object__load() loads one program after the other, and the verifier and the
 * JIT are most of a start (netrxlat's report program: 1-2.5 ms). Our handler of libbpf's
 * raw_tp and perf_event sections (libbpf_register_prog_handler(): same program and attach
 * types) is called right before libbpf loads each program, when all of them are CO-RE
 * relocated with their map fds in place. At the first call it picks the program whose load
 * overlaps most with those libbpf loads after it; at that program's call it copies the
 * program, its load attributes and its BTF func and line info, hands the copy to the
 * prewarm thread (which waits for it on the other CPU, awake: hand_over()), or to a new
 * thread there, and gives libbpf a two-instruction program of the same type to load
 * instead. ht_bgload_finish(), after bpf_object__load() and before that program is
 * attached or called, waits for the copy's load, puts the real program under the fd libbpf
 * holds for that program (dup3(): links, the skeleton and bpftool see it) and in the
 * program-array slots libbpf filled with the stand-in (tail calls). Meanwhile bpf.c
 * attaches the other programs of an object that gates its tail calls (netrxlat). A program
 * the kernel refuses fails the load, as it would have.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <linux/filter.h>

#include "huatuo.h"
#include "prewarm.skel.h"

/* ~0.25 ms to verify, here: well over what the thread and the stand-in cost (~0.1 ms) */
#define BGLOAD_MIN_INSNS 256
#define BGLOAD_LOG_SIZE (64 * 1024)

struct bgload {
	pthread_t thread; /* its own, when the prewarm thread is not there to take it */
	bool own_thread;
	int done; /* loaded or refused: hand_over()'s flag */
	struct bpf_program *prog;
	enum bpf_prog_type type;
	struct bpf_insn *insns;
	size_t insn_cnt;
	void *func_info, *line_info;
	struct bpf_prog_load_opts opts;
	int fd;	   /* the real program, or -errno */
	char *log; /* the verifier's log when the kernel refused it */
};

static struct bgload load = { .fd = -1 }; /* one: the machine may have two CPUs */
static const struct bpf_object *loading;  /* ht_bgload_plan()'s, until its first program */
static const struct bpf_program *planned;
static bool started;

/* A preallocated map of at least this many bytes is created ahead (netrxlat's stamps: 2 MB) */
#define PREMADE_MIN_BYTES (1ull << 20)
#define PREMADE_MAX 4

/* A map to make ahead, as the object declares it */
struct map_spec {
	char name[64];
	enum bpf_map_type type;
	__u32 key_size, value_size, max_entries, map_flags, numa_node, ifindex;
	__u32 btf_key_type_id, btf_value_type_id;
	__u64 map_extra;
};

/*
 * ht_bgload_prewarm()'s thread: the object it opened, until ht_bgload_opened() takes it, the
 * maps it made, until ht_bgload_plan() takes them, and the program it verifies after that
 */
static struct {
	pthread_t thread;
	bool started;
	const struct ht_skel_ops *ops;
	struct bpf_object_open_opts opts;
	pthread_mutex_t lock;
	int posted; /* 1: a program to verify in job, 2: none (hand_over()) */
	struct bgload *job;
	pthread_cond_t cond; /* hand_over() */
	bool opened;	     /* its open is over: skel, or NULL */
	bool declined;	     /* not done when asked for: the thread drops it */
	void *skel;
	char *said; /* libbpf's messages of that open: a level byte and the text, each */
	size_t said_len, said_cap;
	bool closed; /* taken: make no more */
	int n, ntaken;
	struct {
		char name[64];
		int fd;
	} map[PREMADE_MAX];
	char taken[PREMADE_MAX][64]; /* for -v */
} warm = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
static __thread bool on_warm_thread, opening;

bool ht_bgload_keep(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	va_list copy;
	int n;

	if (!on_warm_thread)
		return false;
	if (!opening)
		return true; /* whatever libbpf says here, the tool's own load says again */
	va_copy(copy, ap);
	n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	/* the level, the text and its NUL */
	if (n >= 0 &&
	    !ht_grow(&warm.said, &warm.said_cap, warm.said_len + (size_t)n + 2, 1, 4096)) {
		warm.said[warm.said_len] = (char)level;
		vsnprintf(warm.said + warm.said_len + 1, (size_t)n + 1, fmt, ap);
		warm.said_len += (size_t)n + 2;
	}
	return true;
}

/* Worth making ahead: preallocated memory, of a type libbpf creates as it is declared. */
static bool worth_making(const struct bpf_map *map)
{
	__u64 bytes = (__u64)(bpf_map__key_size(map) + bpf_map__value_size(map)) *
		      bpf_map__max_entries(map);

	switch (bpf_map__type(map)) {
	case BPF_MAP_TYPE_ARRAY:
	case BPF_MAP_TYPE_HASH:
	case BPF_MAP_TYPE_LRU_HASH:
		break;
	case BPF_MAP_TYPE_PERCPU_ARRAY:
	case BPF_MAP_TYPE_PERCPU_HASH:
	case BPF_MAP_TYPE_LRU_PERCPU_HASH:
		bytes *= (__u64)(libbpf_num_possible_cpus() > 0 ? libbpf_num_possible_cpus() : 1);
		break;
	default: /* rings, program and map arrays: small, or filled in by libbpf */
		return false;
	}
	return !bpf_map__is_internal(map) && !bpf_map__pin_path(map) &&
	       !(bpf_map__map_flags(map) & BPF_F_NO_PREALLOC) && bytes >= PREMADE_MIN_BYTES;
}

/*
 * The big maps of @obj (worth_making()) into @spec, and a copy of its BTF into @btf: what
 * make_maps() needs once the object is the tool's. How many.
 */
static int plan_maps(const struct bpf_object *obj, struct map_spec *spec, struct btf **btf)
{
	const struct btf *own = bpf_object__btf(obj);
	const void *raw = NULL;
	struct bpf_map *map;
	__u32 size = 0;
	int n = 0;

	bpf_object__for_each_map(map, obj) {
		if (n == PREMADE_MAX || !worth_making(map))
			continue;
		spec[n] = (struct map_spec){
			.type = bpf_map__type(map),
			.key_size = bpf_map__key_size(map),
			.value_size = bpf_map__value_size(map),
			.max_entries = bpf_map__max_entries(map),
			.map_flags = bpf_map__map_flags(map),
			.numa_node = bpf_map__numa_node(map),
			.ifindex = bpf_map__ifindex(map),
			.btf_key_type_id = bpf_map__btf_key_type_id(map),
			.btf_value_type_id = bpf_map__btf_value_type_id(map),
			.map_extra = bpf_map__map_extra(map),
		};
		snprintf(spec[n++].name, sizeof(spec[0].name), "%s", bpf_map__name(map));
	}
	/* the object's BTF as it is: a kernel that wants it changed makes libbpf do it */
	if (n && own)
		raw = btf__raw_data(own, &size);
	*btf = raw ? btf__new(raw, size) : NULL;
	return *btf ? n : 0;
}

/* The maps of @spec, created as libbpf's bpf_object__create_map() would, for take_premade() */
static void make_maps(const struct map_spec *spec, int n, struct btf *btf)
{
	if (!n || btf__load_into_kernel(btf))
		return;
	for (int i = 0; i < n; i++) {
		LIBBPF_OPTS(bpf_map_create_opts, opts, .btf_fd = (__u32)btf__fd(btf),
			    .btf_key_type_id = spec[i].btf_key_type_id,
			    .btf_value_type_id = spec[i].btf_value_type_id,
			    .map_flags = spec[i].map_flags, .map_extra = spec[i].map_extra,
			    .numa_node = spec[i].numa_node, .map_ifindex = spec[i].ifindex);
		int fd = bpf_map_create(spec[i].type, spec[i].name, spec[i].key_size,
					spec[i].value_size, spec[i].max_entries, &opts);

		if (fd < 0)
			continue;
		pthread_mutex_lock(&warm.lock);
		if (warm.closed || warm.n == PREMADE_MAX) {
			pthread_mutex_unlock(&warm.lock);
			close(fd);
			return;
		}
		memcpy(warm.map[warm.n].name, spec[i].name, sizeof(warm.map[0].name));
		warm.map[warm.n++].fd = fd;
		pthread_mutex_unlock(&warm.lock);
	} /* the maps hold the kernel's copy of the BTF */
}

/*
 * Work handed from one thread to the other: the waiting one spins up to HAND_OVER_SPIN_NS
 * before it sleeps, as adaptive locks do. A thread that sleeps lets its CPU go idle, and
 * waking an idle CPU of a VM takes 0.2-2 ms here: more than a whole program's verification.
 */
#define HAND_OVER_SPIN_NS (5 * 1000 * 1000)

static void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* Wait until *@flag is nonzero (set by hand_over()); its value. */
static int await(const int *flag)
{
	uint64_t until = ht_now_mono_ns() + HAND_OVER_SPIN_NS;
	int v;

	while (!(v = __atomic_load_n(flag, __ATOMIC_ACQUIRE)) && ht_now_mono_ns() < until)
		for (int i = 0; i < 64; i++)
			relax();
	if (v)
		return v;
	pthread_mutex_lock(&warm.lock);
	while (!(v = __atomic_load_n(flag, __ATOMIC_ACQUIRE)))
		pthread_cond_wait(&warm.cond, &warm.lock);
	pthread_mutex_unlock(&warm.lock);
	return v;
}

static void hand_over(int *flag, int value)
{
	pthread_mutex_lock(&warm.lock);
	__atomic_store_n(flag, value, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&warm.cond);
	pthread_mutex_unlock(&warm.lock);
}

static void load_job(struct bgload *b);

static void *prewarm_run(void *arg)
{
	struct map_spec spec[PREMADE_MAX];
	struct btf *btf = NULL;
	bool declined;
	void *skel;
	int n = 0;

	(void)arg;
	on_warm_thread = true;
	opening = true; /* what libbpf says of it is the tool's: ht_bgload_opened() says it */
	skel = warm.ops->open(&warm.opts);
	opening = false;
	if (skel)
		n = plan_maps(warm.ops->object(skel), spec, &btf);
	pthread_mutex_lock(&warm.lock);
	declined = warm.declined;
	if (!declined)
		warm.skel = skel;
	warm.opened = true;
	pthread_mutex_unlock(&warm.lock);
	if (declined && skel) /* opened there meanwhile */
		warm.ops->destroy(skel);
	/*
	 * The maps first: of no use once the load has begun, unlike the probes' answers. Once
	 * it hands a program over, libbpf has asked its questions itself: that program now.
	 */
	if (!__atomic_load_n(&warm.posted, __ATOMIC_ACQUIRE))
		make_maps(spec, n, btf);
	btf__free(btf);
	if (!__atomic_load_n(&warm.posted, __ATOMIC_ACQUIRE))
		prewarm_bpf__destroy(prewarm_bpf__open_and_load());
	/* then the program the load hands over, if there is one: this CPU is still awake */
	if (await(&warm.posted) == 1) {
		load_job(warm.job);
		hand_over(&warm.job->done, 1);
	}
	return NULL;
}

static void load_job(struct bgload *b)
{
	const char *name = bpf_program__name(b->prog);
	int fd;

	/* as libbpf does: without a log first, with one only to say why it was refused */
	b->fd = bpf_prog_load(b->type, name, "GPL", b->insns, b->insn_cnt, &b->opts);
	if (b->fd >= 0)
		return;
	b->fd = -errno;
	b->log = calloc(1, BGLOAD_LOG_SIZE);
	if (b->log) {
		b->opts.log_buf = b->log;
		b->opts.log_size = BGLOAD_LOG_SIZE;
		b->opts.log_level = 1;
		fd = bpf_prog_load(b->type, name, "GPL", b->insns, b->insn_cnt, &b->opts);
		if (fd >= 0) /* refused once, loaded now: taken */
			b->fd = fd;
	}
}

/* The program in a thread of its own: no prewarm thread to take it (a start that retries) */
static void *bgload_run(void *arg)
{
	struct bgload *b = arg;

	load_job(b);
	hand_over(&b->done, 1);
	return NULL;
}

static void *copy_of(const void *p, size_t len)
{
	void *c = len ? malloc(len) : NULL;

	if (c)
		memcpy(c, p, len);
	return c;
}

static void bgload_free(struct bgload *b)
{
	free(b->insns);
	free(b->func_info);
	free(b->line_info);
	free(b->log);
	if (b->fd >= 0)
		close(b->fd);
	memset(b, 0, sizeof(*b));
	b->fd = -1;
}

/*
 * A program we can stand in for: one of the sections our handlers take, as libbpf matches
 * them ("raw_tp+": raw_tp and raw_tp/..., "perf_event"). By type, SEC("raw_tracepoint/...")
 * would count too, though libbpf's own handler loads it without calling us.
 */
static bool handled(const struct bpf_program *p)
{
	const char *sec = bpf_program__section_name(p);

	return !strcmp(sec, "raw_tp") || !strncmp(sec, "raw_tp/", 7) || !strcmp(sec, "perf_event");
}

/*
 * Which program to take: called at libbpf's first prog_prepare_load_fn, when every program
 * has its final instructions (libbpf relocates them all, then loads them in this order).
 * The one whose load overlaps most with what libbpf loads after it: min(its size, the size
 * of those after it).
 */
static const struct bpf_program *pick(const struct bpf_object *obj)
{
	const struct bpf_program *picked = NULL;
	struct bpf_program *p;
	size_t after = 0, best = 0;

	bpf_object__for_each_program(p, obj)
		if (bpf_program__autoload(p))
			after += bpf_program__insn_cnt(p);
	bpf_object__for_each_program(p, obj) {
		size_t n = bpf_program__insn_cnt(p), overlap;

		if (!bpf_program__autoload(p))
			continue;
		after -= n;
		overlap = n < after ? n : after;
		if (handled(p) && overlap >= BGLOAD_MIN_INSNS && overlap > best) {
			best = overlap;
			picked = p;
		}
	}
	return picked;
}

/*
 * A thread running @run, on a CPU other than ours. Left to the scheduler, it starts on ours
 * and waits there until this thread blocks, or until an idle CPU's balancing pulls it
 * (milliseconds): the verifier gives the CPU up only at cond_resched().
 */
static int start_elsewhere(pthread_t *thread, void *(*run)(void *), void *arg)
{
	pthread_attr_t attr;
	cpu_set_t cpus;
	int cpu = sched_getcpu(), err;

	sigset_t all, was;

	if (pthread_attr_init(&attr))
		return -1;
	if (cpu >= 0 && !sched_getaffinity(0, sizeof(cpus), &cpus) && CPU_ISSET(cpu, &cpus) &&
	    CPU_COUNT(&cpus) > 1) {
		CPU_CLR(cpu, &cpus);
		pthread_attr_setaffinity_np(&attr, sizeof(cpus), &cpus);
	}
	/* signals (Ctrl-C, SIGTERM) stay with this thread: the new one starts with all blocked */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &was);
	err = pthread_create(thread, &attr, run, arg);
	pthread_sigmask(SIG_SETMASK, &was, NULL);
	pthread_attr_destroy(&attr);
	return err;
}

/* @b to the prewarm thread, awake on the other CPU after its own work, or to a new thread */
static int start_job(struct bgload *b)
{
	if (warm.started && !warm.posted) {
		warm.job = b;
		hand_over(&warm.posted, 1);
		return 0;
	}
	b->own_thread = true;
	return start_elsewhere(&b->thread, bgload_run, b);
}

/* Until the other CPU is done with @b */
static void job_wait(struct bgload *b)
{
	await(&b->done);
	if (b->own_thread)
		pthread_join(b->thread, NULL);
}

/* libbpf's prog_prepare_load_fn: right before it loads @prog with @opts */
static int bgload_prepare(struct bpf_program *prog, struct bpf_prog_load_opts *opts, long cookie)
{
	static struct bpf_insn stand_in[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	size_t n = bpf_program__insn_cnt(prog);
	struct bgload *b = &load;

	(void)cookie;
	if (loading) {
		planned = pick(loading);
		loading = NULL;
		if (!planned && warm.started && !warm.posted)
			hand_over(&warm.posted, 2); /* nothing for the prewarm thread: it ends */
	}
	if (prog != planned || started)
		return 0;
	b->prog = prog;
	b->type = bpf_program__type(prog);
	b->insn_cnt = n;
	b->insns = copy_of(bpf_program__insns(prog), n * sizeof(struct bpf_insn));
	b->opts = *opts;
	b->func_info = copy_of(opts->func_info, opts->func_info_cnt * opts->func_info_rec_size);
	b->line_info = copy_of(opts->line_info, opts->line_info_cnt * opts->line_info_rec_size);
	b->opts.func_info = b->func_info;
	b->opts.line_info = b->line_info;
	b->opts.log_buf = NULL;
	b->opts.log_size = 0;
	b->opts.log_level = 0;
	if (!b->insns || (opts->func_info_cnt && !b->func_info) ||
	    (opts->line_info_cnt && !b->line_info) || start_job(b)) {
		bgload_free(b);
		return 0; /* libbpf loads it, as always */
	}
	started = true;
	/* the stand-in: no subprograms, so no func or line info */
	opts->func_info = NULL;
	opts->func_info_cnt = 0;
	opts->line_info = NULL;
	opts->line_info_cnt = 0;
	return bpf_program__set_insns(prog, stand_in, ARRAY_SIZE(stand_in));
}

/* libbpf's attach of SEC("raw_tp/NAME"), whose handler this one stands in for */
static int bgload_attach(const struct bpf_program *prog, long cookie, struct bpf_link **link)
{
	const char *tp = strchr(bpf_program__section_name(prog), '/');

	(void)cookie;
	*link = NULL;
	if (!tp || !tp[1])
		return 0; /* SEC("raw_tp"): tail-called, or attached by hand */
	*link = bpf_program__attach_raw_tracepoint(prog, tp + 1);
	return *link ? 0 : -errno;
}

void ht_bgload_register(void)
{
	static bool done;
	LIBBPF_OPTS(libbpf_prog_handler_opts, raw_tp, .prog_prepare_load_fn = bgload_prepare,
		    .prog_attach_fn = bgload_attach);
	LIBBPF_OPTS(libbpf_prog_handler_opts, perf_event, .prog_prepare_load_fn = bgload_prepare);

	if (done)
		return;
	done = true;
	/*
	 * Looked at before libbpf's own handlers of these sections, with the same program and
	 * attach types (libbpf's "perf_event" has no attach of its own either)
	 */
	libbpf_register_prog_handler("raw_tp+", BPF_PROG_TYPE_RAW_TRACEPOINT, 0, &raw_tp);
	libbpf_register_prog_handler("perf_event", BPF_PROG_TYPE_PERF_EVENT, BPF_PERF_EVENT,
				     &perf_event);
}

/* Another CPU to run on: not with one (taskset, a cpuset), where there is nothing to win. */
static bool other_cpus(void)
{
	cpu_set_t cpus;

	return !sched_getaffinity(0, sizeof(cpus), &cpus) && CPU_COUNT(&cpus) > 1;
}

void ht_bgload_prewarm(const struct ht_skel_ops *ops, const struct bpf_object_open_opts *opts)
{
	if (warm.started || !other_cpus())
		return;
	warm.ops = ops;
	warm.opts = *opts;
	warm.opened = false;
	warm.declined = false;
	warm.posted = 0;
	warm.job = NULL;
	warm.skel = NULL;
	warm.said_len = 0;
	warm.closed = false;
	warm.n = 0;
	warm.ntaken = 0;
	warm.started = !start_elsewhere(&warm.thread, prewarm_run, NULL);
}

static bool same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

void *ht_bgload_opened(const struct bpf_object_open_opts *opts,
		       void (*say)(enum libbpf_print_level level, const char *msg))
{
	void *skel;

	if (!warm.started)
		return NULL;
	pthread_mutex_lock(&warm.lock);
	warm.declined = !warm.opened;
	skel = warm.skel;
	warm.skel = NULL;
	pthread_mutex_unlock(&warm.lock);
	/* not with the options the start ended with (no subset after all): opened again */
	if (skel && (!same(opts->btf_custom_path, warm.opts.btf_custom_path) ||
		     !same(opts->kconfig, warm.opts.kconfig))) {
		warm.ops->destroy(skel);
		skel = NULL;
	}
	for (size_t at = 0; skel && at < warm.said_len; at += strlen(warm.said + at + 1) + 2)
		say((enum libbpf_print_level)warm.said[at], warm.said + at + 1);
	warm.said_len = 0;
	return skel;
}

/* The maps made ahead by now, into @obj where it declares them as they were made. */
static void take_premade(struct bpf_object *obj)
{
	pthread_mutex_lock(&warm.lock);
	warm.closed = true;
	for (int i = 0; i < warm.n; i++) {
		struct bpf_map *map = obj ? bpf_object__find_map_by_name(obj, warm.map[i].name) :
					    NULL;
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);
		int fd = warm.map[i].fd;

		/* configure() may have resized it: libbpf creates it then, as when reuse fails */
		if (map && !bpf_obj_get_info_by_fd(fd, &info, &len) &&
		    info.type == (__u32)bpf_map__type(map) &&
		    info.key_size == bpf_map__key_size(map) &&
		    info.value_size == bpf_map__value_size(map) &&
		    info.max_entries == bpf_map__max_entries(map) &&
		    info.map_flags == bpf_map__map_flags(map) &&
		    info.btf_key_type_id == bpf_map__btf_key_type_id(map) &&
		    info.btf_value_type_id == bpf_map__btf_value_type_id(map) &&
		    !bpf_map__reuse_fd(map, fd)) /* a dup of fd */
			memcpy(warm.taken[warm.ntaken++], warm.map[i].name, sizeof(warm.taken[0]));
		close(fd);
	}
	warm.n = 0;
	pthread_mutex_unlock(&warm.lock);
}

static void prewarm_end(void)
{
	if (!warm.started)
		return;
	warm.started = false;
	if (!__atomic_load_n(&warm.posted, __ATOMIC_ACQUIRE))
		hand_over(&warm.posted, 2); /* no program for it: it ends */
	pthread_join(warm.thread, NULL);
	take_premade(NULL);
	if (warm.skel) /* not taken */
		warm.ops->destroy(warm.skel);
	warm.skel = NULL;
	free(warm.said);
	warm.said = NULL;
	warm.said_len = warm.said_cap = 0;
}

/* The program part of ht_bgload_abandon(): the prewarm thread may still be at work. */
static void bgload_reset(void)
{
	if (started)
		job_wait(&load);
	bgload_free(&load);
	started = false;
	planned = NULL;
	loading = NULL;
}

void ht_bgload_plan(struct bpf_object *obj)
{
	bgload_reset();
	take_premade(obj);
	if (other_cpus())
		loading = obj;
}

static __u32 prog_id(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

/* Program-array slots holding the stand-in with id @old now hold @fd's program. */
static int replace_in_prog_arrays(struct bpf_object *obj, __u32 old, int fd)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj) {
		if (bpf_map__type(map) != BPF_MAP_TYPE_PROG_ARRAY)
			continue;
		for (__u32 k = 0; k < bpf_map__max_entries(map); k++) {
			__u32 id = 0;

			if (!bpf_map_lookup_elem(bpf_map__fd(map), &k, &id) && id == old &&
			    bpf_map_update_elem(bpf_map__fd(map), &k, &fd, BPF_ANY))
				return -errno;
		}
	}
	return 0;
}

const char *ht_bgload_pending(void)
{
	return started ? bpf_program__name(load.prog) : NULL;
}

void ht_bgload_abandon(void)
{
	bgload_reset();
	prewarm_end();
}

int ht_bgload_finish(const struct ht_env *env, struct bpf_object *obj,
		     void (*warn)(const char *fmt, ...))
{
	struct bpf_map *rodata = bpf_object__find_map_by_name(obj, ".rodata");
	struct bgload *b = &load;
	int fd, err = 0;
	__u32 old;

	if (started)
		job_wait(b); /* before the prewarm thread is joined: it may be the one at it */
	prewarm_end();
	for (int i = 0; i < warm.ntaken; i++)
		ht_info(env, "map %s created on another CPU", warm.taken[i]);
	warm.ntaken = 0;
	if (!started)
		return 0;
	started = false;
	fd = bpf_program__fd(b->prog);
	if (b->fd < 0) {
		err = b->fd;
		warn("libbpf: prog '%s': BPF program load failed: %s\n", bpf_program__name(b->prog),
		     strerror(-err));
		if (b->log && b->log[0])
			warn("libbpf: prog '%s': -- BEGIN PROG LOAD LOG --\n%s-- END PROG LOAD LOG --\n",
			     bpf_program__name(b->prog), b->log);
		/* the last line as libbpf's skeleton load has it (the one-line error quotes it) */
		warn("libbpf: failed to load BPF skeleton '%s': %d\n", bpf_object__name(obj), err);
	} else if ((old = prog_id(fd)) == 0 || dup3(b->fd, fd, O_CLOEXEC) < 0) {
		err = -errno;
	} else {
		/* as libbpf does for what it loads: .rodata stays with the program (bpftool) */
		if (rodata)
			bpf_prog_bind_map(fd, bpf_map__fd(rodata), NULL);
		err = replace_in_prog_arrays(obj, old, fd);
		if (!err)
			ht_info(env, "%s verified on another CPU while libbpf loaded the others",
				bpf_program__name(b->prog));
	}
	ht_bgload_abandon();
	return err;
}
