/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers every BPF program shares: the "events" ring buffer with a lost-event counter, a
 * perf-buffer fallback for kernels without BPF_MAP_TYPE_RINGBUF (< 5.8), and task identity.
 */
#ifndef HT_COMMON_BPF_H
#define HT_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * One body attached twice to tracepoint @tp_name, written like BPF_PROG (@args are the
 * tracepoint's arguments; the body also sees ctx): as SEC("tp_btf/@tp_name") program
 * @btf_prog, whose typed arguments the verifier checks against the tracepoint's prototype,
 * and as SEC("raw_tp/@tp_name") program @raw_prog, the same arguments as a u64 array, for
 * kernels where the tp_btf flavor does not load, and the flavor BPF_PROG_TEST_RUN drives.
 */
/* clang-format off */
#define HT_TP_BTF_RAW(tp_name, btf_prog, raw_prog, args...)                         \
	static __always_inline int ____##btf_prog(unsigned long long *ctx, ##args); \
	___ht_tp_prog("tp_btf/" tp_name, btf_prog, ____##btf_prog, args)            \
	___ht_tp_prog("raw_tp/" tp_name, raw_prog, ____##btf_prog, args)            \
	static __always_inline int ____##btf_prog(unsigned long long *ctx, ##args)

/*
 * As HT_TP_BTF_RAW, for a body that must know its flavour: @body(ctx, raw) is called with raw
 * false in the tp_btf program and true in the raw_tp one (a tp_btf program cannot tail-call
 * a raw_tp one: the kernel wants one program type in a program array). @body reads the
 * tracepoint's arguments from ctx itself.
 */
#define HT_TP_BTF_RAW_FLAVOUR(tp_name, btf_prog, raw_prog, body) \
	SEC("tp_btf/" tp_name) int btf_prog(unsigned long long *ctx) \
	{                                                             \
		return body(ctx, false);                              \
	}                                                             \
	SEC("raw_tp/" tp_name) int raw_prog(unsigned long long *ctx) \
	{                                                             \
		return body(ctx, true);                               \
	}

/* program @prog in section @sec: BPF_PROG's @args cast from ctx and handed to @body */
#define ___ht_tp_prog(sec, prog, body, args...)                        \
	SEC(sec) int prog(unsigned long long *ctx)                     \
	{                                                              \
		_Pragma("GCC diagnostic push")                         \
		_Pragma("GCC diagnostic ignored \"-Wint-conversion\"") \
		return body(___bpf_ctx_cast(args));                    \
		_Pragma("GCC diagnostic pop")                          \
	}
/* clang-format on */

/*
 * The address @p holds, as a number the program may hash or combine. In a tp_btf program an
 * argument is a trusted BTF pointer, and the verifier refuses arithmetic on it ("math
 * between trusted_ptr_ pointer ... is not allowed"); negating a pointer leaves an unknown
 * scalar (check_alu_op(), BPF_NEG, allowed with CAP_PERFMON, as storing a pointer in a map
 * is), so two negations give the address back as a scalar. Two ALU instructions, also where
 * @p is a scalar already (raw_tp).
 */
static __always_inline __u64 ht_addr(const void *p)
{
	__u64 v = (__u64)p;

	asm volatile("%0 = -%0; %0 = -%0" : "+r"(v));
	return v;
}

/* Largest record any tool submits; the perf-buffer fallback copies through this. */
#define HT_MAX_RECORD 8192

/* Set by user space before load when the kernel has no ring buffer. */
const volatile bool ht_use_perfbuf = false;

/* Resized by user space (--buffer-size); turned into a PERF_EVENT_ARRAY when needed. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Records the kernel could not hand over (ring buffer full): never lost silently. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} ht_lost SEC(".maps");

struct ht_scratch {
	__u8 data[HT_MAX_RECORD];
};

/* Per-CPU room for big records (perf-buffer path, or records built before filtering). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ht_scratch);
} ht_heap SEC(".maps");

static __always_inline void ht_count_lost(void)
{
	__u32 zero = 0;
	__u64 *lost = bpf_map_lookup_elem(&ht_lost, &zero);

	if (lost)
		*lost += 1; /* per-CPU slot: no atomics needed */
}

/* Room for one record; NULL (and counted as lost) when the buffer is full. */
static __always_inline void *ht_reserve(__u64 size)
{
	__u32 zero = 0;
	void *rec;

	if (size > HT_MAX_RECORD)
		return NULL;
	if (ht_use_perfbuf)
		return bpf_map_lookup_elem(&ht_heap, &zero);
	rec = bpf_ringbuf_reserve(&events, size, 0);
	if (!rec)
		ht_count_lost();
	return rec;
}

/*
 * Whether to wake the reader when the unread data grows from @before to @after bytes. A
 * wakeup is an irq_work, i.e. a self-IPI: on a virtual machine a VM exit of tens of
 * microseconds inside the traced code (35 of the 40 us oom's program took per kill on our CI
 * VM). So records go in without one while the reader is awake: it looks at the ring every
 * 100 ms anyway (libcommon/loop.c). A burst wakes it each time the unread data crosses a
 * multiple of an eighth of the ring, so a storm is read as it comes. Two CPUs committing at
 * the same moment may both miss one crossing: the next one, or the 100 ms look, catches up.
 * After a second without records the reader dozes (looks once a second) and says so in
 * ht_doze: the next record wakes it (ht_wake_dozing_reader).
 */
/* Set to 1 by the reader when it dozes (libcommon/loop.c), back to 0 by whoever wakes it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} ht_doze SEC(".maps");

/*
 * Wake the reader if it dozes, after a record went in without a wakeup: with a record of no
 * length, the one way to wake a ring's reader. Checked after the commit, an xchg of the
 * record's header (kernel/bpf/ringbuf.c, bpf_ringbuf_commit), a full barrier: the reader sets
 * ht_doze, then looks at the ring once more, so a record is either seen by that look or sees
 * the flag.
 */
static __always_inline void ht_wake_dozing_reader(void)
{
	__u32 zero = 0, *dozing = bpf_map_lookup_elem(&ht_doze, &zero);

	if (dozing && *dozing) {
		*dozing = 0;
		bpf_ringbuf_output(&events, &zero, 0, BPF_RB_FORCE_WAKEUP);
	}
}

static __always_inline __u64 ht_wake_flags(__u64 before, __u64 after)
{
	__u64 step = bpf_ringbuf_query(&events, BPF_RB_RING_SIZE) >> 3;

	return (after & ~(step - 1)) != (before & ~(step - 1)) ? BPF_RB_FORCE_WAKEUP :
								 BPF_RB_NO_WAKEUP;
}

/* What a record of @size takes in the ring: an 8-byte header, 8-byte aligned */
#define HT_RING_BYTES(size) ((((__u64)(size)) + 8 + 7) & ~7ULL)

/* ht_submit() on a ring buffer: needs no ctx, so a global function can call it */
static __always_inline void ht_ring_submit(void *rec, __u64 size)
{
	__u64 after, before, flags;

	/* reserved, so already counted in the unread data */
	after = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	before = after > HT_RING_BYTES(size) ? after - HT_RING_BYTES(size) : 0;
	flags = ht_wake_flags(before, after);
	bpf_ringbuf_submit(rec, flags);
	if (flags == BPF_RB_NO_WAKEUP)
		ht_wake_dozing_reader();
}

static __always_inline void ht_submit(void *ctx, void *rec, __u64 size)
{
	if (ht_use_perfbuf) {
		if (bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, rec, size & 0x3fff))
			ht_count_lost();
		return;
	}
	ht_ring_submit(rec, size);
}

/* A record whose reader must act while what it names still exists (a dying task's /proc): wake it. */
static __always_inline void ht_submit_now(void *ctx, void *rec, __u64 size)
{
	if (ht_use_perfbuf)
		ht_submit(ctx, rec, size);
	else
		bpf_ringbuf_submit(rec, BPF_RB_FORCE_WAKEUP);
}

static __always_inline void ht_discard(void *rec)
{
	if (!ht_use_perfbuf)
		bpf_ringbuf_discard(rec, 0);
}

/* Hand over a record built elsewhere (e.g. in a per-CPU scratch map); a full buffer is counted. */
static __always_inline void ht_output(void *ctx, void *rec, __u64 size)
{
	__u64 before, flags;
	long err;

	if (size > HT_MAX_RECORD)
		return;
	if (ht_use_perfbuf) {
		err = bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, rec, size);
	} else {
		before = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
		flags = ht_wake_flags(before, before + HT_RING_BYTES(size));
		err = bpf_ringbuf_output(&events, rec, size, flags);
		if (!err && flags == BPF_RB_NO_WAKEUP)
			ht_wake_dozing_reader();
	}
	if (err)
		ht_count_lost();
}

/*
 * Events a --rate limit kept from user space: counted per CPU, read by the event loop
 * (libcommon/loop.c), warned about on stderr and summed at exit.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} ht_suppressed SEC(".maps");

struct ht_rate_window {
	__u64 second; /* ktime in whole seconds */
	__u64 events; /* events let through in that second, all CPUs */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ht_rate_window);
} ht_rate SEC(".maps");

/*
 * At most @per_sec events per second on the whole machine (0 = no limit). The window switch is
 * not atomic: at a second boundary two CPUs may both reset it and a few extra events pass.
 * That errs on the side of reporting; the count itself is atomic.
 */
static __always_inline bool ht_rate_ok(__u32 per_sec)
{
	__u64 second = bpf_ktime_get_ns() / 1000000000ULL, *suppressed;
	struct ht_rate_window *w;
	__u32 zero = 0;

	if (!per_sec)
		return true;
	w = bpf_map_lookup_elem(&ht_rate, &zero);
	if (!w)
		return true;
	if (w->second != second) {
		w->second = second;
		w->events = 0;
	}
	if (__sync_fetch_and_add(&w->events, 1) < per_sec)
		return true;
	suppressed = bpf_map_lookup_elem(&ht_suppressed, &zero);
	if (suppressed)
		*suppressed += 1;
	return false;
}

/*
 * The kernel structs the shared code reads, with just the fields it reads: CO-RE finds each
 * field by name in the kernel's struct (the ___ht suffix is not part of the name). Reading
 * through vmlinux.h's own would put the whole of task_struct and all it points to (~450
 * types) in every object's BTF, which the kernel checks at every start. Pointers in them
 * point to these, never to a vmlinux.h struct (that would pull it in whole).
 */
struct kernfs_node___ht {
	__u64 id;
	const char *name;
	struct kernfs_node___ht *__parent;
} __attribute__((preserve_access_index));

struct cgroup_subsys_state___ht;

struct cgroup___ht {
	struct kernfs_node___ht *kn;
	struct cgroup_subsys_state___ht *subsys[CGROUP_SUBSYS_COUNT];
} __attribute__((preserve_access_index));

struct cgroup_subsys_state___ht {
	struct cgroup___ht *cgroup;
} __attribute__((preserve_access_index));

struct css_set___ht {
	struct cgroup_subsys_state___ht *subsys[CGROUP_SUBSYS_COUNT];
} __attribute__((preserve_access_index));

struct ns_common___ht {
	unsigned int inum;
} __attribute__((preserve_access_index));

struct net___ht {
	struct ns_common___ht ns;
} __attribute__((preserve_access_index));

/* possible_net_t: a device's or a socket's namespace */
struct possible_net_t___ht {
	struct net___ht *net;
} __attribute__((preserve_access_index));

struct new_utsname___ht {
	char nodename[65];
} __attribute__((preserve_access_index));

struct uts_namespace___ht {
	struct new_utsname___ht name;
} __attribute__((preserve_access_index));

struct nsproxy___ht {
	struct uts_namespace___ht *uts_ns;
	struct net___ht *net_ns;
} __attribute__((preserve_access_index));

struct task_struct___ht {
	pid_t pid;
	pid_t tgid;
	char comm[16];
	struct css_set___ht *cgroups;
	struct nsproxy___ht *nsproxy;
} __attribute__((preserve_access_index));

/* The memory cgroup of @task (v1 memory hierarchy or v2), or NULL. */
static __always_inline struct cgroup_subsys_state *ht_task_memcg_css(struct task_struct *task)
{
	int memcg = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
	struct cgroup_subsys_state *css = NULL;
	struct css_set___ht *cset = BPF_CORE_READ((struct task_struct___ht *)task, cgroups);

	if (cset && memcg >= 0 && memcg < CGROUP_SUBSYS_COUNT)
		bpf_core_read(&css, sizeof(css), &cset->subsys[memcg]);
	return css;
}

/*
 * 1 when @x is not 0: arithmetic, no branch for the verifier to follow (the negation in asm,
 * or clang sees x != 0 and compiles a branch)
 */
static __always_inline __u64 ht_nonzero(__u64 x)
{
	__u64 neg = x;

	asm volatile("%0 = -%0" : "+r"(neg));
	return (x | neg) >> 63;
}

#ifdef HT_WANT_CONTAINERS
/*
 * Container attribution that cannot race the container's exit: the first event that names a
 * cgroup writes the cgroup's path into ht_cgroup_paths, from the kernfs names up to the
 * hierarchy's root, before the event is submitted. User space (libcommon/container.c) reads
 * the path there, where a lookup in cgroupfs after the event finds nothing once the runtime
 * has removed the cgroup (an OOM-killed --rm container). ht_cgroup_mkdir (cgroup:cgroup_mkdir)
 * hands user space the path of every new memory cgroup, which reads the runtime's state of a
 * new container while it is still on disk.
 *
 * User space keeps a path once it has read it (recent[] in libcommon/container.c): an entry
 * here matters until then, and after it only spares the kernel a cgroup's walk. 256 of them:
 * an LRU map allocates all its entries when made, and 1024 took ~0.4 ms of every start.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 256);
	__type(key, __u64); /* cgroup id */
	__type(value, struct ht_cgroup_path);
} ht_cgroup_paths SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ht_cgroup_path);
} ht_cgroup_scratch SEC(".maps");

/* struct ht_cgroup_event records (31 fit); not created on kernels without a ring buffer */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16384);
} ht_cgroup_events SEC(".maps");

/* before 6.15 (633488947ef6) the parent was not RCU-protected and was called "parent" */
struct kernfs_node___pre615 {
	struct kernfs_node___ht *parent;
} __attribute__((preserve_access_index));

/*
 * Record the path of the cgroup at @cgrp_addr in ht_cgroup_paths unless it is there; returns
 * its id (0 if none). Costs one hash lookup once a cgroup is known; the walk happens once per
 * cgroup. A global function: the verifier checks it once per program, not at every call site
 * (oom's program calls it twice), and a program holds one copy of it. Its argument is the
 * address as a number: a global function takes scalars, not the kernel pointer.
 *
 * The walk has no branch, so that the verifier follows one path through it (it is part of
 * every reporting program's verification at every start): the parent and name of up to
 * HT_CGROUP_DEPTH + 1 nodes, leaf first, one read each (the two fields are neighbours in
 * struct kernfs_node in every kernel so far, else two reads; a read at NULL past the root
 * fails and leaves zeros), then the names
 * of the first HT_CGROUP_DEPTH. The levels are the nodes that have a parent (the hierarchy's
 * root has no name in the path); a name read past them is not looked at.
 */
__noinline __u64 ht_note_cgroup(__u64 cgrp_addr)
{
	struct cgroup___ht *cgrp = (struct cgroup___ht *)cgrp_addr;
	struct {
		__u64 parent;
		__u64 name;
	} up[HT_CGROUP_DEPTH + 1];
	struct kernfs_node___ht *kn;
	struct ht_cgroup_path *s;
	__u32 zero = 0, parent_off, name_off;
	__u64 id, depth = 0, cut = 0;
	long n;

	if (!cgrp)
		return 0;
	kn = BPF_CORE_READ(cgrp, kn);
	if (!kn)
		return 0;
	id = BPF_CORE_READ(kn, id);
	if (bpf_map_lookup_elem(&ht_cgroup_paths, &id))
		return id;
	s = bpf_map_lookup_elem(&ht_cgroup_scratch, &zero);
	if (!s)
		return id;
	/* constants once relocated: the verifier follows one side of each test on them */
	parent_off = bpf_core_field_exists(struct kernfs_node___pre615, parent) ?
			     bpf_core_field_offset(struct kernfs_node___pre615, parent) :
			     bpf_core_field_offset(struct kernfs_node___ht, __parent);
	name_off = bpf_core_field_offset(struct kernfs_node___ht, name);
#pragma unroll
	for (int i = 0; i <= HT_CGROUP_DEPTH; i++) {
		__u64 at = i ? up[i - 1].parent : (__u64)kn;

		if (name_off == parent_off + sizeof(up[i].parent)) {
			bpf_probe_read_kernel(&up[i], sizeof(up[i]), (void *)(at + parent_off));
		} else {
			bpf_probe_read_kernel(&up[i].parent, 8, (void *)(at + parent_off));
			bpf_probe_read_kernel(&up[i].name, 8, (void *)(at + name_off));
		}
	}
#pragma unroll
	for (int i = 0; i < HT_CGROUP_DEPTH; i++) {
		n = bpf_probe_read_kernel_str(s->names[i], HT_CGROUP_NAME, (void *)up[i].name);
		/* bit 8 of n + 160: n is HT_CGROUP_NAME (its most), a name maybe cut */
		cut |= n + (256 - HT_CGROUP_NAME);
		depth += ht_nonzero(up[i].parent);
	}
	s->depth = depth;
	/* a name cut, or a node with a parent past the last level: outer levels missing */
	s->truncated = ((cut >> 8) & 1) | ht_nonzero(up[HT_CGROUP_DEPTH].parent);
	bpf_map_update_elem(&ht_cgroup_paths, &id, s, BPF_NOEXIST);
	return id;
}

/* Id of @task's memory cgroup with its path recorded (0 if none): what user space attributes. */
static __always_inline __u64 ht_task_cgroup_id(struct task_struct *task)
{
	struct cgroup_subsys_state *css = ht_task_memcg_css(task);

	return css ? ht_note_cgroup(
			     (__u64)BPF_CORE_READ((struct cgroup_subsys_state___ht *)css, cgroup)) :
		     0;
}

/* Id of @task's memory cgroup, nothing recorded: for filters that run before a report. */
static __always_inline __u64 ht_task_cgroup_id_only(struct task_struct *task)
{
	struct cgroup_subsys_state *css = ht_task_memcg_css(task);

	return css ? BPF_CORE_READ((struct cgroup_subsys_state___ht *)css, cgroup, kn, id) : 0;
}

/* The network namespace of @task (0 for a task without one: exiting). */
static __always_inline __u32 ht_task_netns(struct task_struct *task)
{
	return BPF_CORE_READ((struct task_struct___ht *)task, nsproxy, net_ns, ns.inum);
}

/*
 * --cgroup and --container, in the kernel: user space decides for each cgroup (or, for a
 * packet not its task's, each network namespace) at its first event and writes the verdict
 * into ht_verdicts; later events of a cgroup that does not match stay here. A cgroup without
 * a verdict yet (a container started after the tool) goes to user space, which decides. A
 * cgroup outside any container whose events have a packet gets HT_VERDICT_NETNS_OF_TASK: its
 * packet's namespace's verdict decides (ht_wanted_task_netns()).
 */
const volatile bool ht_filter_containers = false;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);  /* cgroup id, or HT_VERDICT_NETNS | netns inum */
	__type(value, __u8); /* HT_VERDICT_PASS or HT_VERDICT_DROP */
} ht_verdicts SEC(".maps");

static __always_inline bool ht_wanted(__u64 key)
{
	__u8 *verdict;

	if (!ht_filter_containers)
		return true;
	verdict = bpf_map_lookup_elem(&ht_verdicts, &key);
	return !verdict || *verdict == HT_VERDICT_PASS;
}

/*
 * ht_wanted() of an event of the task in cgroup @cgroup_id whose packet is in the task's
 * network namespace @netns_inum: the cgroup's verdict, or the namespace's for a task outside
 * any container (a host process, nsenter), whose container is its packet's.
 */
static __always_inline bool ht_wanted_task_netns(__u64 cgroup_id, __u32 netns_inum)
{
	__u8 *verdict;

	if (!ht_filter_containers)
		return true;
	verdict = bpf_map_lookup_elem(&ht_verdicts, &cgroup_id);
	if (verdict && *verdict == HT_VERDICT_NETNS_OF_TASK)
		return ht_wanted(HT_VERDICT_NETNS | netns_inum);
	return !verdict || *verdict == HT_VERDICT_PASS;
}

/*
 * ht_wanted() for an event of @task: its cgroup id is read only when a filter is set (the
 * reads of an argument happen before the call; without a filter the verifier drops them).
 */
static __always_inline bool ht_task_wanted(struct task_struct *task)
{
	return !ht_filter_containers || ht_wanted(ht_task_cgroup_id_only(task));
}

/*
 * The path comes from the tracepoint (TRACE_CGROUP_PATH: cgroup_path() into a buffer the
 * kernel fills only while the tracepoint has a probe), not from ht_note_cgroup()'s walk: a
 * few instructions to verify at every start instead of the walk's ~300. The cgroup's first
 * event records its path in ht_cgroup_paths as for any other cgroup.
 */
static __always_inline int ht_cgroup_made(struct cgroup___ht *cgrp, const char *path)
{
	int memcg = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
	struct cgroup_subsys_state *css = NULL;
	struct ht_cgroup_event *e;

	/* one hierarchy is enough: the memory controller's (v1), where tools attribute */
	if (memcg < 0 || memcg >= CGROUP_SUBSYS_COUNT)
		return 0;
	bpf_core_read(&css, sizeof(css), &cgrp->subsys[memcg]);
	if (!css)
		return 0;
	e = bpf_ringbuf_reserve(&ht_cgroup_events, sizeof(*e), 0);
	if (!e)
		return 0; /* user space reads the runtime's state at the event instead */
	e->id = BPF_CORE_READ(cgrp, kn, id);
	if (bpf_probe_read_kernel_str(e->path, sizeof(e->path), path) < 0)
		e->path[0] = '\0';
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return 0;
}

/* raw_tp with the kernel BTF subset, tp_btf with all of it (as the tools' own hooks) */
SEC("raw_tp/cgroup_mkdir")
int BPF_PROG(ht_cgroup_mkdir_raw, struct cgroup *cgrp, const char *path)
{
	return ht_cgroup_made((struct cgroup___ht *)cgrp, path);
}

SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(ht_cgroup_mkdir_btf, struct cgroup *cgrp, const char *path)
{
	return ht_cgroup_made((struct cgroup___ht *)cgrp, path);
}
#endif /* HT_WANT_CONTAINERS */

/* Identity of @task: pids, comm, UTS nodename and memory cgroup (css pointer and id). */
static __always_inline void ht_fill_task(struct ht_task *t, struct task_struct *task)
{
	struct cgroup_subsys_state___ht *css = (void *)ht_task_memcg_css(task);
	struct task_struct___ht *ts = (void *)task;

	t->pid = BPF_CORE_READ(ts, tgid);
	t->tid = BPF_CORE_READ(ts, pid);
	BPF_CORE_READ_STR_INTO(&t->comm, ts, comm);
	BPF_CORE_READ_STR_INTO(&t->nodename, ts, nsproxy, uts_ns, name.nodename);
	t->memcg_css = (__u64)css;
#ifdef HT_WANT_CONTAINERS
	t->memcg_id = css ? ht_note_cgroup((__u64)BPF_CORE_READ(css, cgroup)) : 0;
#else
	t->memcg_id = css ? BPF_CORE_READ(css, cgroup, kn, id) : 0;
#endif
}

/*
 * A __data_loc field @loc of classic tracepoint record @rec: the data sits at the offset in
 * its low 16 bits (the length is in the high 16 bits).
 */
static __always_inline void *ht_data_loc(void *rec, __u32 loc)
{
	return rec + (loc & 0xffff);
}

/* A __data_loc string of classic tracepoint record @rec into @dst (empty if unreadable). */
static __always_inline void ht_read_data_loc_str(char *dst, __u32 size, void *rec, __u32 loc)
{
	bpf_probe_read_kernel_str(dst, size, ht_data_loc(rec, loc));
}

/* ---- softirq, softlockup, hungtask: per-CPU rate limit and all-CPU stack capture ---- */

/* A fixed window per CPU (keep it in a PERCPU_ARRAY value): at most @burst per @interval_ns. */
struct ht_ratelimit {
	__u64 window_start_ns;
	__u32 events;
	__u32 missed;
};

static __always_inline bool ht_ratelimit_ok(struct ht_ratelimit *rl, __u64 now, __u64 interval_ns,
					    __u32 burst)
{
	if (!burst)
		return true;
	if (now - rl->window_start_ns >= interval_ns) {
		rl->window_start_ns = now;
		rl->events = 0;
	}
	if (rl->events >= burst) {
		rl->missed++;
		return false;
	}
	rl->events++;
	return true;
}

#ifdef HT_WANT_CPUS_STACK
#include "cpustack.h"

/*
 * cpus_stack without sysrq: user space (ht_cpus_stack(), libcommon/stall.c) bumps ht_capture_req and opens a
 * short cpu-clock perf event on every CPU; each CPU's first sample stores what it was running
 * and its kernel stack in its own slot of ht_cpu_stacks.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} ht_capture_req SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ht_cpu_stack);
} ht_cpu_stacks SEC(".maps");

static __always_inline bool ht_regs_user_mode(bpf_user_pt_regs_t *regs)
{
#if defined(__TARGET_ARCH_x86)
	/* perf_event context loads must be 8 bytes wide: cs shares its slot with padding */
	__u64 cs = *(volatile __u64 *)((void *)regs + __builtin_offsetof(struct pt_regs, cs));

	return (cs & 3) != 0;
#elif defined(__TARGET_ARCH_arm64)
	return (regs->pstate & 0xf) == 0; /* PSR_MODE_EL0t */
#else
	return false;
#endif
}

static __always_inline void ht_capture_cpu(struct bpf_perf_event_data *ctx)
{
	struct task_struct___ht *task = (void *)bpf_get_current_task();
	struct ht_cpu_stack *slot;
	__u32 zero = 0;
	__u64 *req;
	long n;

	req = bpf_map_lookup_elem(&ht_capture_req, &zero);
	slot = bpf_map_lookup_elem(&ht_cpu_stacks, &zero);
	if (!req || !slot || !*req || slot->gen == *req)
		return;
	slot->ts_ns = bpf_ktime_get_ns();
	slot->pid = BPF_CORE_READ(task, tgid);
	slot->tid = BPF_CORE_READ(task, pid);
	slot->cpu = bpf_get_smp_processor_id();
	slot->user = ht_regs_user_mode(&ctx->regs);
	BPF_CORE_READ_STR_INTO(&slot->comm, task, comm);
	n = slot->user ? 0 : bpf_get_stack(ctx, slot->ips, sizeof(slot->ips), 0);
	slot->nr = n > 0 ? (__u64)n / 8 : 0;
	slot->gen = *req;
}

SEC("perf_event")
int ht_cpu_capture(struct bpf_perf_event_data *ctx)
{
	ht_capture_cpu(ctx);
	return 0;
}
#endif /* HT_WANT_CPUS_STACK */

#endif
