/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libcommon: everything the huatuo-* tools share, so that each tool's .c file reads as
 * options -> one ht_main() call -> print.
 */
#ifndef HUATUO_H
#define HUATUO_H

#include <argp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <bpf/libbpf.h>
#include <cjson/cJSON.h>

#define HT_VERSION "0.1.0"
#define HT_EX_USAGE 64

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

#define NSEC_PER_USEC 1000ULL
#define NSEC_PER_MSEC 1000000ULL
#define NSEC_PER_SEC 1000000000ULL

/* ---- durations, sizes and numbers (duration.c) ---- */

/*
 * Parse "30s", "5m", "1.5ms", "250us", "100ns", "2h"; a bare number is in @bare_unit_ns.
 * Strict: no sign, no spaces, no junk, no overflow. Returns 0 or -EINVAL / -ERANGE.
 */
int ht_parse_duration(const char *s, uint64_t bare_unit_ns, uint64_t *out_ns);
/* Parse "4096", "64K", "16M", "1G" (binary units). */
int ht_parse_size(const char *s, uint64_t *out_bytes);
/* Parse a decimal integer in [min, max]. */
int ht_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Format a duration for humans: "912.3ms", "1.20s", "850us". */
const char *ht_fmt_duration(uint64_t ns, char *buf, size_t len);
/* "64.0M", "1.5G", "512B"; UINT64_MAX is "max". */
const char *ht_fmt_bytes(uint64_t bytes, char *buf, size_t len);

/* ---- the common command line (cli.c) ---- */

/* Which of the shared options a tool accepts besides the always-present ones. */
enum ht_opt_flags {
	HT_OPT_THRESHOLD = 1 << 0,
	HT_OPT_PID = 1 << 1,
	HT_OPT_COMM = 1 << 2,
	HT_OPT_CGROUP = 1 << 3,
	HT_OPT_BPF = 1 << 4, /* --probe, --buffer-size, --btf: set by ht_main() for BPF tools */
	HT_OPT_OWN_INTERVAL = 1 << 5, /* the tool parses --interval itself (dropwatch --summary) */
	HT_OPT_CONTAINER = 1 << 6,    /* --container, and a CONTAINER column in the table */
	HT_OPT_RUNNER = 1 << 7,	      /* runs other tools (huatuo-capture): only -d, -o and -v */
};

/* A shared option's help text as one tool means it (its default, what -o holds). */
struct ht_opt_doc {
	const char *name; /* the long option, e.g. "buffer-size" */
	const char *doc;
};

/*
 * A tool's own option, declared (opts.c parses them all): what it takes, where the value
 * goes, its bounds. A bad value exits 64 naming the option.
 */
enum ht_arg_kind {
	HT_ARG_FLAG,	   /* bool = true */
	HT_ARG_DURATION,   /* uint64_t ns in [min, max]; a bare number is in @unit ns */
	HT_ARG_UINT,	   /* an unsigned integer of @unit bytes, in [min, max] */
	HT_ARG_IFNAME,	   /* const char *: a network device name */
	HT_ARG_IFNAMES,	   /* const char *[max], repeatable, *@count of them */
	HT_ARG_NETNS,	   /* uint32_t: a netns inode (ht_netns_inode) */
	HT_ARG_NETNS_PATH, /* struct ht_netns_arg (ht_netns_path) */
	HT_ARG_CALL,	   /* @parse does it; state->input is the struct ht_env */
};

struct ht_option {
	const char *name; /* long option, no short letter: those are the shared options' */
	const char *arg;  /* its value's name in --help, NULL for a flag */
	enum ht_arg_kind kind;
	void *dest;
	uint64_t min, max;
	uint64_t unit;
	int *count;
	void (*parse)(struct argp_state *state, const struct ht_option *o, const char *arg);
	const char *doc;
};

/* The table's entries: HT_FLAG("no-early", &opts.no_early, "help"), ... */
#define HT_OPTION(_kind, _name, _arg, _dest, _doc, ...)                                          \
	{                                                                                        \
		.name = (_name), .arg = (_arg), .kind = (_kind), .dest = (_dest), .doc = (_doc), \
		__VA_ARGS__                                                                      \
	}
#define HT_FLAG(_name, _dest, _doc) HT_OPTION(HT_ARG_FLAG, _name, NULL, _dest, _doc, )
#define HT_DURATION(_name, _dest, _unit, _lo, _hi, _doc)                                  \
	HT_OPTION(HT_ARG_DURATION, _name, "DUR", _dest, _doc, .min = (_lo), .max = (_hi), \
		  .unit = (_unit))
#define HT_UINT(_name, _arg, _dest, _lo, _hi, _doc)                                  \
	HT_OPTION(HT_ARG_UINT, _name, _arg, _dest, _doc, .min = (_lo), .max = (_hi), \
		  .unit = sizeof(*(_dest)))
#define HT_IFNAME(_name, _arg, _dest, _doc) HT_OPTION(HT_ARG_IFNAME, _name, _arg, _dest, _doc, )
#define HT_IFNAMES(_name, _arg, _array, _count, _doc)                                   \
	HT_OPTION(HT_ARG_IFNAMES, _name, _arg, _array, _doc, .max = ARRAY_SIZE(_array), \
		  .count = (_count))
#define HT_NETNS(_name, _arg, _dest, _doc) HT_OPTION(HT_ARG_NETNS, _name, _arg, _dest, _doc, )
#define HT_NETNS_PATH(_name, _arg, _dest, _doc) \
	HT_OPTION(HT_ARG_NETNS_PATH, _name, _arg, _dest, _doc, )
#define HT_CALL(_name, _arg, _fn, _dest, _doc) \
	HT_OPTION(HT_ARG_CALL, _name, _arg, _dest, _doc, .parse = (_fn))

/* --netns NAME|PATH of the netlink tools: the value and the path it names. */
struct ht_netns_arg {
	const char *spec;
	char path[4096];
};

enum ht_probe_kind {
	HT_PROBE_AUTO = 0,
	HT_PROBE_TP_BTF,
	HT_PROBE_RAW_TP,
	HT_PROBE_TRACEPOINT,
	HT_PROBE_FENTRY,
	HT_PROBE_KPROBE,
	HT_PROBE_NONE, /* not a BPF hook (netlink, procfs...) */
	HT_PROBE_PERF, /* BPF perf_event program on per-CPU perf events */
	HT_PROBE_ITER, /* BPF iterator */
};

struct ht_attached {
	const char *hook; /* logical hook, e.g. "mark_victim" */
	const char *prog; /* BPF program name */
	enum ht_probe_kind kind;
	const char *target; /* what it attached to, e.g. "oom:mark_victim" */
	bool optional;	    /* a failed attach drops the hook instead of the tool */
	bool deferred;	    /* attached once the tool is tracing (ht_bpf_attach_deferred) */
	bool linked;	    /* its program was attached (the link may be gone since) */
	uint64_t misses;    /* its program's recursion_misses at the last look (skipped.c) */
	struct bpf_link *link;
};

#define HT_MAX_HOOKS 32

struct ht_tool;

struct ht_env {
	/* from the struct ht_tool, by ht_parse_args() */
	const char *tool;	 /* "huatuo-oom" */
	const char *tracer_name; /* "oom" */
	const char *what;	 /* "OOM kills", used in the banner */
	unsigned int opt_flags;	 /* enum ht_opt_flags */
	uint64_t threshold_ns;	 /* default threshold, overwritten by -t */

	/* parsed common options */
	bool json;
	bool check;
	int verbose;
	bool duration_set;
	uint64_t duration_ns;
	uint64_t count; /* 0 = unlimited */
	bool threshold_set;
	pid_t pid; /* 0 = all */
	const char *comm;
	const char *cgroup;
	uint64_t cgroup_id;    /* inode of --cgroup, 0 = none */
	const char *container; /* --container ID|NAME */
	const char *output_dir;
	uint64_t output_max_bytes;
	unsigned int output_keep;
	const char *region;
	enum ht_probe_kind probe;
	bool probe_from_env;   /* the kind came from $HUATUO_PROBE, not --probe */
	uint64_t buffer_bytes; /* 256K unless --buffer-size (buffer_set) or the tool sizes it */
	bool buffer_set;
	const char *btf_path;
	const char *const *btf_keep; /* kernel types the tool reads from BTF itself (enum names) */
	const struct ht_hook *hooks; /* the tool's (their needs_field, for the BTF subset) */
	bool kconfig_hz;	     /* the object reads CONFIG_HZ as a __kconfig extern */
	bool once; /* reports once and exits (--snapshot): no banner, no table header */
	const char *metrics_path; /* --metrics FILE */
	bool interval_set;	  /* --interval given: how often --metrics is rewritten */
	uint64_t interval_ns;	  /* ... (and dropwatch's --summary period) */
	bool metrics_own_count;	  /* the tool counts events_total itself (ht_metrics_count) */

	/* run-time state */
	void *skel; /* the loaded and attached skeleton (ht_main), NULL without BPF */
	const struct ht_skel_ops *skel_ops;
	const char *btf_min;	     /* subset of kernel BTF given to libbpf for CO-RE, or NULL */
	unsigned int excluded_kinds; /* 1 << kind: demoted after the kernel refused them */
	struct ht_attached attached[HT_MAX_HOOKS];
	int nattached;
	struct {
		const char *hook;
		char why[96];
	} missing[HT_MAX_HOOKS]; /* optional hooks not available here, for --check */
	int nmissing;
	bool use_perfbuf;
	bool ksyms_preload;  /* prints stacks: ht_run() starts reading /proc/kallsyms (ksyms.c) */
	uint64_t events;     /* events reported */
	uint64_t lost;	     /* events lost in the kernel (ring buffer full) */
	uint64_t suppressed; /* events a --rate limit kept back (BPF map "ht_suppressed") */
	uint64_t skipped;    /* runs of its programs the kernel skipped (ht_bpf_skipped) */
	int exit_code;	     /* 0 or 1, decided on the way out */
	struct ht_store *store;
	struct ht_metrics *metrics; /* --metrics: the counters written to the file, else NULL */
};

/*
 * Take @tool's name (else env->tool's), tracer_name, what and defaults into @env, and parse
 * argv: @tool's own
 * options (opts.c) plus the shared ones. Bad usage exits 64 through argp.
 */
void ht_parse_args(struct ht_env *env, const struct ht_tool *tool, int argc, char **argv);
/* The argp for @tool's own options (doc and Examples from @tool->doc), built once. */
const struct argp *ht_tool_argp(const struct ht_tool *tool);
/*
 * Validate a tool option's value or exit 64 naming it ("invalid --backoff 'x': expected a
 * duration from 0ns to 3h ..."). @opt is the long name without dashes.
 */
uint64_t ht_opt_duration(struct argp_state *state, const char *opt, const char *arg,
			 uint64_t bare_unit_ns, uint64_t min_ns, uint64_t max_ns);
uint64_t ht_opt_u64(struct argp_state *state, const char *opt, const char *arg, uint64_t min,
		    uint64_t max);
/* A tool-specific option error: names the option, exits 64. */
void ht_usage_error(struct argp_state *state, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/* ---- diagnostics ---- */

/* "huatuo-oom: <message>" on stderr; one line. */
void ht_err(const struct ht_env *env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ht_warn(const struct ht_env *env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Only with -v. */
void ht_info(const struct ht_env *env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- a start's work done on the other CPU: probes, big maps, a program (bgload.c) ---- */
/* Register the raw_tp section handler that does it: once, before a BPF object is opened. */
void ht_bgload_register(void);
/*
 * First thing: open @ops's object with @opts, make its big maps and answer libbpf's feature
 * probes, on another CPU.
 */
void ht_bgload_prewarm(const struct ht_skel_ops *ops, const struct bpf_object_open_opts *opts);
/*
 * A message libbpf gives the thread ht_bgload_prewarm() started: true when it is not to be
 * printed now (it is said by ht_bgload_opened(), or by the tool's own load again).
 */
bool ht_bgload_keep(enum libbpf_print_level level, const char *fmt, va_list ap);
/*
 * The skeleton ht_bgload_prewarm() opened, if it is done and did so with @opts as they are
 * now (else NULL: open it); what libbpf said of that open goes to @say first.
 */
void *ht_bgload_opened(const struct bpf_object_open_opts *opts,
		       void (*say)(enum libbpf_print_level level, const char *msg));
/*
 * Right before loading @obj: give it the maps made ahead by now, and pick its program to
 * verify on the other CPU, if one is worth it.
 */
void ht_bgload_plan(struct bpf_object *obj);
/* After a successful bpf_object__load(): the program being verified on the other CPU, or NULL. */
const char *ht_bgload_pending(void);
/*
 * After a successful bpf_object__load(@obj): wait for those programs and put them where
 * libbpf put their stand-ins. 0, or the -errno of a program the kernel refused (@warn says
 * why, as libbpf would have).
 */
int ht_bgload_finish(const struct ht_env *env, struct bpf_object *obj,
		     void (*warn)(const char *fmt, ...));
/* After a failed bpf_object__load() or none: wait for them and drop them. */
void ht_bgload_abandon(void);

/* ---- a tool's life: options, kernel side, report, exit (tool.c, bpf.c, probe.c) ---- */

/*
 * One logical hook and the programs that can implement it, best first. A candidate is a BPF
 * program name in the object; its kind and target are read from its SEC(). Only one
 * candidate per hook is loaded.
 */
struct ht_hook {
	const char *name;
	const char *progs[6];
	/*
	 * Per candidate (same index): a field the format of @tracepoint ("skb/kfree_skb") must
	 * have for a tp_btf or raw_tp flavour to apply. Their typed arguments are one prototype
	 * of the tracepoint, and the format's fields tell the kernel's apart (oom/mark_victim
	 * has total_vm since 6.9, when it began to pass the task_struct).
	 */
	const char *tracepoint;
	const char *needs_field[6];
	/*
	 * The raw tracepoint a raw_tp candidate attaches to when its section names another: a
	 * raw_tp program is bound to no tracepoint when loaded, so tracepoints whose arguments
	 * agree can share one (one program fewer to verify at every start).
	 */
	const char *raw_tp;
	bool optional; /* a missing optional hook is listed by --check, not an error */
};

/* A tool's skeleton, generically: HT_SKEL_OPS(oom) gives oom_skel_ops for oom.skel.h. */
struct ht_skel_ops {
	void *(*open)(const struct bpf_object_open_opts *opts);
	int (*load)(void *skel);
	void (*destroy)(void *skel);
	struct bpf_object *(*object)(void *skel);
	const void *(*elf_bytes)(size_t *size);
};
#define HT_SKEL_OPS(name)                                                                        \
	static void *name##_ht_open(const struct bpf_object_open_opts *o)                        \
	{                                                                                        \
		return name##_bpf__open_opts(o);                                                 \
	}                                                                                        \
	static int name##_ht_load(void *s)                                                       \
	{                                                                                        \
		return name##_bpf__load(s);                                                      \
	}                                                                                        \
	static void name##_ht_destroy(void *s)                                                   \
	{                                                                                        \
		name##_bpf__destroy(s);                                                          \
	}                                                                                        \
	static struct bpf_object *name##_ht_object(void *s)                                      \
	{                                                                                        \
		return ((struct name##_bpf *)s)->obj;                                            \
	}                                                                                        \
	static const struct ht_skel_ops name##_skel_ops = { name##_ht_open, name##_ht_load,      \
							    name##_ht_destroy, name##_ht_object, \
							    name##_bpf__elf_bytes }

/*
 * A tool's event handler returns 0 (reported or filtered: ht_emit() counts what it reports
 * toward --count) or -errno to stop (-EPIPE: the reader is gone, a normal end).
 */
typedef int (*ht_event_fn)(struct ht_env *env, void *ctx, const void *data, size_t size);
typedef int (*ht_tick_fn)(struct ht_env *env, void *ctx);

#define HT_METRIC_LABELS_MAX 3
struct ht_metrics;

/*
 * What a tool is, for ht_main(). Everything but @doc is optional (the names default to the
 * source file's: tools/oom.c is huatuo-oom, tracer oom). The stages
 * that return int return 0, or 1 with their one-line message printed.
 */
struct ht_tool {
	const char *name;	 /* "huatuo-oom"; NULL: huatuo-<tool> (ht_main) */
	const char *tracer_name; /* "oom", the envelope's; NULL: the name without huatuo- */
	const char *what;	 /* "OOM kills", for the banner */
	const char *doc;	 /* --help: what it reports, then "\v" and Examples */
	/* the shared options it takes (enum ht_opt_flags), and the help some of them get here */
	unsigned int opt_flags;
	const struct ht_opt_doc *opt_docs; /* { NULL } ends */
	uint64_t threshold_ns;		   /* -t default */
	/* its own options ({ NULL } ends), and the checks once all are parsed (ARGP_KEY_END) */
	const struct ht_option *options;
	void (*options_done)(struct argp_state *state, struct ht_env *env);
	/* kernel side ({ NULL } ends @hooks); no @skel: a tool without BPF (netlink, procfs) */
	const struct ht_skel_ops *skel;
	const struct ht_hook *hooks;
	void (*configure)(void *skel, struct ht_env *env); /* rodata, between open and load */
	const char *const *btf_keep; /* kernel types it reads from BTF itself (enum names) */
	bool kconfig_hz;	     /* the object reads CONFIG_HZ as a __kconfig extern */

	/* before the BPF object is opened: derived options, checks; failure exits 1 at once */
	int (*prepare)(struct ht_env *env);
	/* attached (env->skel; the first stage without BPF), also for --check: maps, samplers,
	 * ht_add_hook() */
	int (*setup)(struct ht_env *env);
	/* not for --check: just before the banner */
	int (*start)(struct ht_env *env);
	/* table header after TIME: a format of %s fields and the column names */
	struct {
		const char *fmt;
		const char *cols[10];
	} header;
	bool stacks; /* prints kernel stacks: /proc/kallsyms is read in the background (ht_run()) */
	/* the run: ht_run() over the "events" map with @on_event (and @tick every @tick_ns) */
	ht_event_fn on_event;
	ht_tick_fn tick;
	uint64_t tick_ns;
	void *ctx;			/* handed to @on_event and @tick */
	int (*run)(struct ht_env *env); /* instead of ht_run(): the tool's own loop (env->skel) */
	/* always, last: free what the stages made */
	void (*cleanup)(void);
	/*
	 * --metrics (metrics.c): huatuo_bamai_<tracer_name>_events_total is labelled by the
	 * values of these tracer_data keys (low cardinality only: never a pid, address or
	 * container id); @collect refreshes the tool's own families (declared in prepare or
	 * setup) before each write; @counters_only: not an event tool (pfc), no events_total
	 * or lost_total; @suppressed: a --rate limit, suppressed_total.
	 */
	struct {
		const char *labels[HT_METRIC_LABELS_MAX + 1];
		int (*collect)(struct ht_env *env, struct ht_metrics *m);
		bool counters_only;
		bool suppressed;
	} metrics;
};

/*
 * A tool's whole life: parse the options, prepare, open/configure/load/attach the skeleton
 * (the best hook flavour this kernel runs, falling back when it refuses one), setup, then
 * either print the hooks (--check) or start (-o store, banner, header) and run until the
 * end, and always detach, destroy, clean up and say how it ended. Returns the exit status.
 */
int ht_tool_main(const char *src, const struct ht_tool *tool, int argc, char **argv);
/* Named as the Makefile names the binary: tools/oom.c is huatuo-oom. */
#define ht_main(tool, argc, argv) ht_tool_main(__FILE__, (tool), (argc), (argv))

/* Root or CAP_BPF+CAP_PERFMON? 0, or 1 with the message printed. */
int ht_check_privilege(const struct ht_env *env);
/* Record a non-BPF hook (netlink, procfs, perf event) so --check reports it. */
void ht_add_hook(struct ht_env *env, const char *hook, enum ht_probe_kind kind, const char *target);
const char *ht_probe_kind_name(enum ht_probe_kind kind);

/*
 * The part of kernel BTF that the BPF object @elf relocates against (libcommon/btfmin.c),
 * cached per kernel and object; a path for btf_custom_path (a static buffer, valid for the
 * process: a memfd behind it stays open), or NULL to use all of kernel BTF. ht_main() builds
 * it unless the tool's prepare stage set env->btf_min (dropwatch --reason).
 */
const char *ht_btf_min(struct ht_env *env, const void *elf, size_t elf_len);
/*
 * The path ht_btf_min() returns when it has a subset, known before it is made (a memfd's
 * /proc/self/fd/N, so an object can be opened with it meanwhile), or NULL without one.
 */
const char *ht_btf_min_target(void);
/*
 * Whether the subset ht_btf_min() made or read has type @name of BTF kind @kind; false when
 * there is none. It keeps the btf_trace_<tp> typedef of every raw_tp/ and tp_btf/ program:
 * kernel BTF has one for each raw tracepoint, so that existence needs no tracefs read.
 */
bool ht_btf_min_has(const char *name, int kind);
/*
 * Whether struct @strct of the subset has a member @member: 1 or 0, -1 when the subset has no
 * such struct. It keeps, of the record (trace_event_raw_<event>) of each tracepoint a hook
 * has a needs_field for, those fields.
 */
int ht_btf_min_has_member(const char *strct, const char *member);
/* Distinct root types of @elf's CO-RE relocations, or -EINVAL (tests, fuzzing). */
int ht_btf_core_root_count(const void *elf, size_t elf_len);
/* Section @name of an in-memory ELF64 file, bounds-checked; NULL if absent or malformed. */
const void *ht_elf_section(const void *elf, size_t size, const char *name, size_t *len);

/* Kernel facilities, found by trying. */
bool ht_tracepoint_exists(const char *category, const char *event);
/*
 * The mounted tracefs path; mounted at /sys/kernel/tracing if needed, unmounted when the tool
 * exits. NULL if none: ht_tracefs_error() says why.
 */
const char *ht_tracefs(void);
const char *ht_tracefs_error(void);

/* ---- the event loop (loop.c) ---- */

/*
 * Poll the "events" map of @obj until SIGINT/SIGTERM/SIGHUP, --duration, --count or a closed
 * reader; read "ht_lost" and warn about losses. @tick (optional) runs every @tick_ns.
 * Returns 0 on a normal end, -errno on failure.
 */
int ht_run(struct ht_env *env, struct bpf_object *obj, ht_event_fn fn, void *ctx, ht_tick_fn tick,
	   uint64_t tick_ns);
/* Loop without BPF (netlink tools): @fd readable -> @on_readable. */
int ht_run_fd(struct ht_env *env, int fd, int (*on_readable)(struct ht_env *env, void *ctx),
	      void *ctx, ht_tick_fn tick, uint64_t tick_ns);
bool ht_exiting(void);
/* Final summary and exit status: 0 normal end, 1 runtime failure. */
int ht_finish(struct ht_env *env, int err);
/*
 * Add to env->skipped the runs of the tool's attached BPF programs that the kernel skipped
 * since the last call (their recursion_misses), with one warning per program that had some.
 */
void ht_bpf_skipped(struct ht_env *env);

/* ---- output (output.c, store.c) ---- */

/* A container as the envelope reports it; every string valid UTF-8, "" when unknown. */
struct ht_container {
	char id[72];		/* 64 lowercase hex digits, from the cgroup path */
	char runtime[24];	/* docker, containerd, crio, podman; cri or unknown from the path */
	char qos[24];		/* guaranteed, burstable, besteffort (kubepods cgroups) */
	char type[16];		/* normal or sandbox once the runtime's state was read */
	char hostname[200];	/* the task's UTS nodename, else the runtime's config */
	char name[256];		/* the Kubernetes container name, else the runtime's name */
	char runtime_name[256]; /* docker's or podman's --name */
	char pod_name[256];
	char host_namespace[256]; /* the Kubernetes namespace */
};

/*
 * Report one event: JSON envelope line (--json) or a table row (row_fmt), plus the -o store.
 * Takes ownership of @data (tracer_data). @ct may be NULL. Returns 0 or -errno.
 */
int ht_emit(struct ht_env *env, cJSON *data, const struct ht_container *ct, const char *tracer_type,
	    const char *row_fmt, ...) __attribute__((format(printf, 5, 6)));
/* Same, with a preformatted multi-line table text (may be NULL in JSON mode). */
int ht_emit_text(struct ht_env *env, cJSON *data, const struct ht_container *ct,
		 const char *tracer_type, const char *text);
/* The table row ht_emit() prints (time, @row_fmt, newline) into @row; returns its length. */
size_t ht_fmt_row(const struct ht_env *env, const struct ht_container *ct, char *row, size_t size,
		  const char *row_fmt, ...) __attribute__((format(printf, 5, 6)));
/*
 * Write out what ht_emit() buffered (stdout and the -o store). The run loops call it after
 * every poll round; a tool printing outside them calls it itself. 0, -EPIPE or -errno
 * (message printed).
 */
int ht_flush(struct ht_env *env);
/* Build the envelope as one JSON line (no newline) into a malloc'd string. */
char *ht_envelope(const struct ht_env *env, cJSON *data, const struct ht_container *ct,
		  const char *tracer_type);

/*
 * Route cJSON's allocations through size-class free lists (jsonpool.c); ht_parse_args()
 * does it for every tool. cJSON_Print* results are then freed with cJSON_free().
 */
void ht_json_pool_init(void);

/* ---- JSON and text safety (json.c) ---- */

/* Add a string made of arbitrary kernel bytes: always valid UTF-8 JSON (U+FFFD for junk). */
cJSON *ht_json_add_bytes(cJSON *obj, const char *key, const void *bytes, size_t max_len);
/* Exact 64-bit integers (cJSON numbers are doubles). */
cJSON *ht_json_add_u64(cJSON *obj, const char *key, uint64_t v);
cJSON *ht_json_add_s64(cJSON *obj, const char *key, int64_t v);
/* "0xffff8881..." or "" for 0. */
cJSON *ht_json_add_hex(cJSON *obj, const char *key, uint64_t v);
/* Make @in (up to @len bytes, stops at NUL) valid UTF-8 in @out. */
size_t ht_utf8_sanitize(const void *in, size_t len, char *out, size_t out_len);
/* Printable copy for the table: control bytes -> '?'. */
const char *ht_printable(const char *in, size_t len, char *out, size_t out_len);
/*
 * snprintf/vsnprintf, same output and return value, fast for %s %c %d %i %u %x %X with the
 * '-'/'0' flags, a width and length modifiers (fmt.c); other formats go to vsnprintf.
 */
int ht_snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int ht_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
/* "0x1f" into @buf (at least 19 bytes), NUL-terminated; returns the length. No printf. */
size_t ht_fmt_hex(uint64_t v, char *buf);

/* Times: "2026-03-05 18:28:39.153 +0800" and RFC3339Nano, local zone. */
void ht_fmt_time(const struct timespec *ts, char *buf, size_t len);
void ht_fmt_rfc3339(const struct timespec *ts, char *buf, size_t len);
/* CLOCK_MONOTONIC/BOOTTIME ns (as bpf_ktime_get_ns) to wall clock. */
void ht_mono_to_wall(uint64_t mono_ns, struct timespec *out);
/* 20-char time-sortable unique id (xid layout). */
void ht_tracer_id(char out[21]);

/*
 * Local store: DIR/<tracer_name> (mode 0640), rotated when over max bytes, keeping @keep old
 * files; DIR as ht_dir_open() (created if missing) and the files through it.
 */
struct ht_store *ht_store_open(const char *dir, const char *name, uint64_t max_bytes,
			       unsigned int keep, char *err, size_t errlen);
/* Append one line (adds '\n'); all or nothing. Returns 0 or -errno (see ht_store_why()). */
int ht_store_append(struct ht_store *st, const char *line, size_t len);
/* After a failed append: why a rotation was refused (one line), or "" for a write error. */
const char *ht_store_why(const struct ht_store *st);
int ht_store_flush(struct ht_store *st);
void ht_store_close(struct ht_store *st);

/* ---- files root writes in a directory the user named (safedir.c) ---- */

/*
 * The tools run as root; in a directory other users can write they could plant a link named
 * like our next file and have root write through it. Every file of -o, --metrics and the BTF
 * cache is therefore reached through one directory fd:
 *  - ht_dir_open() walks the path without following a symbolic link that another user could
 *    have planted (one in a directory only we or root can change is followed), creating what
 *    is missing with @create (mkdir -p, 0755); the directory must be ours or root's and not
 *    writable by group or others unless sticky (/tmp);
 *  - new files are created O_EXCL|O_NOFOLLOW with exactly @mode (umask ignored); existing
 *    ones are used only if they are regular files of ours with one hard link;
 *  - replacing and renaming stay inside the directory fd.
 * Functions return an fd or 0, or -errno with d->why set: one line saying what is wrong and
 * what to do, ready for "cannot use --output DIR: %s".
 */
struct ht_dir {
	int fd; /* O_RDONLY|O_DIRECTORY, -1 when closed */
	char path[4096];
	char why[640];
};
int ht_dir_open(struct ht_dir *d, const char *path, bool create);
void ht_dir_close(struct ht_dir *d);
/* Ours or root's, and not writable by group or others unless sticky. */
bool ht_dir_trusted(const struct stat *st);
/* Create @name (a name, not a path) exclusively; -EEXIST if anything, a link too, is there. */
int ht_dir_create(struct ht_dir *d, const char *name, int flags, mode_t mode);
/* Open an existing regular file of ours (O_CREAT, O_EXCL and O_TRUNC are ignored); -ENOENT. */
int ht_dir_open_file(struct ht_dir *d, const char *name, int flags);
/* 0 if @name is absent or a regular file of ours with one link (may we write it?). */
int ht_dir_check_file(struct ht_dir *d, const char *name);
/* Open @name O_WRONLY|O_APPEND, creating it with @mode if absent. */
int ht_dir_append(struct ht_dir *d, const char *name, mode_t mode);
/*
 * Replace @name atomically by @len bytes: a hidden temporary (".name.XXXXXXXX") in the same
 * directory, fsync, rename, fsync of the directory; refused if @name is not a file of ours.
 */
int ht_dir_replace(struct ht_dir *d, const char *name, const void *data, size_t len, mode_t mode);
/*
 * The same without the two fsyncs (~10 ms each on a virtual disk), for a cache whose files
 * are checked when read and made again when a crash lost or cut one (the BTF subset).
 */
int ht_dir_replace_nosync(struct ht_dir *d, const char *name, const void *data, size_t len,
			  mode_t mode);
/* Rename within the directory, never replacing (-EEXIST, why names a planted target). */
int ht_dir_rename(struct ht_dir *d, const char *from, const char *to);
/* Remove @name if it is a file of ours. */
int ht_dir_unlink(struct ht_dir *d, const char *name);
/* Is @name a regular file of ours with one link (lstat into @st, may be NULL)? */
bool ht_dir_is_ours(struct ht_dir *d, const char *name, struct stat *st);
/*
 * The files of ours in the directory (names not starting with '.') that @want (may be NULL)
 * accepts: a malloc'd NULL-terminated array of malloc'd names in *@names; their count or -errno.
 */
int ht_dir_list(struct ht_dir *d, bool (*want)(const char *name, void *ctx), void *ctx,
		char ***names);

/* ---- containers and cgroups (container.c) ---- */

/* Container identity from a cgroup path; returns true if it is a container. */
bool ht_container_from_path(const char *cgroup_path, struct ht_container *ct);
/* cgroup id (cgroupfs inode) -> path relative to the controller root; cached. */
int ht_cgroup_path(const char *controller, uint64_t cgroup_id, char *path, size_t len);
/* The mount point of a controller ("memory"), v1 or v2; NULL if none. */
const char *ht_cgroup_mount(const char *controller, bool *is_v2);
/* Read one number from a file under a cgroup ("memory.limit_in_bytes"). */
int ht_cgroup_read_u64(const char *controller, const char *path, const char *file, uint64_t *val);
/*
 * Fill @ct for an event: container from the cgroup path, hostname from the UTS nodename
 * BPF captured (kept only when it differs from the host's).
 */
bool ht_container_lookup(const char *controller, uint64_t cgroup_id, const char *uts_nodename,
			 struct ht_container *ct, char *path, size_t path_len);
/* A process's cgroup path for @controller (v1 line, else the v2 "0::" line). */
int ht_cgroup_path_of_pid(pid_t pid, const char *controller, char *path, size_t len);
/* --cgroup filter: the event's cgroup is the filter's or below it. */
bool ht_cgroup_wanted(const struct ht_env *env, const char *controller, uint64_t cgroup_id,
		      const char *event_path);
/*
 * Add container_id and container_hostname (always, "" when none) and container_name,
 * container_pod_name, container_host_namespace, container_type, container_qos (when known),
 * with a prefix ("victim_").
 */
void ht_json_add_container(cJSON *obj, const char *prefix, const struct ht_container *ct);
/*
 * Attach the hooks left for after the banner (the cgroup_mkdir hook of container attribution:
 * a tracepoint's first attach costs milliseconds of code patching). Optional: a failure is a
 * -v note.
 */
void ht_bpf_attach_deferred(struct ht_env *env);
/*
 * The container of an event's packet's network namespace (not the host's; needs host /proc).
 * One that is nobody's is looked for again 1, 2, 4, then 8 s apart (a -v line each time).
 */
bool ht_container_of_netns(const struct ht_env *env, uint32_t inum, struct ht_container *ct);
/*
 * Once a second (the run loop): take back the kernel's --container verdict of a namespace
 * whose container left it (its inode number may be given to the next namespace made).
 */
void ht_netns_recheck(void);
/*
 * An event's container: its task's memory cgroup @cgroup_id (@nodename: the task's UTS
 * hostname, if the event has it), else the network namespace @netns_inum of the event's
 * packet, if any (@cgroup_id 0: the packet is not its task's). Fills @ct ("" id when none)
 * and @memcg (the cgroup's path, may be NULL). Returns whether it passes --cgroup and
 * --container, and tells the kernel (ht_verdicts) so that further events of a cgroup or
 * namespace that does not are dropped there.
 */
bool ht_attribute(struct ht_env *env, uint64_t cgroup_id, uint32_t netns_inum, const char *nodename,
		  struct ht_container *ct, char *memcg, size_t memcg_len);
/*
 * The same for a live process the event names by its pid only (a hook flavour that cannot
 * read its task): its cgroup from /proc. Only --container is applied; nothing is cached.
 */
bool ht_attribute_pid(struct ht_env *env, pid_t pid, struct ht_container *ct);
/* @ct is the container --container @spec names: id prefix (>= 12 hex), name or pod name. */
bool ht_container_matches(const char *spec, const struct ht_container *ct);
/* At the start of the event loop: read every container's state; say if --container matches none. */
void ht_containers_start(struct ht_env *env);
/*
 * The CONTAINER column: the container's name (up to HT_CONTAINER_LABEL - 1 bytes, a longer
 * one widens the column), else its 12-hex id; "-" for none. Printable.
 */
#define HT_CONTAINER_COLUMN 16
#define HT_CONTAINER_LABEL 64
const char *ht_container_label(const struct ht_container *ct, char *buf, size_t len);
/*
 * Use the BPF object's container maps (bpf/common.bpf.h, HT_WANT_CONTAINERS), if it has them:
 * cgroup paths the kernel recorded at the event. Called once the object is loaded.
 */
void ht_containers_attach(struct bpf_object *obj);
/*
 * The kernel saw cgroup @id made at @path (cgroup:cgroup_mkdir; @len bytes, cut if they are
 * all used): read its container's state now.
 */
void ht_container_cgroup_made(uint64_t id, const char *path, size_t len);

/* ---- container runtimes' state on disk (runtime.c) ---- */

/*
 * Fill @ct's metadata (name, pod, namespace, type, hostname, runtime) for its id from the
 * runtime's state, read once and cached. Roots: $HUATUO_DOCKER_ROOT (/var/lib/docker),
 * $HUATUO_CONTAINERD_ROOT (/run/containerd), $HUATUO_STORAGE_ROOT
 * (/var/lib/containers/storage) and $HUATUO_STORAGE_RUNROOT (/run/containers/storage).
 * false when no state was found.
 */
bool ht_runtime_fill(struct ht_container *ct);
/* Read and cache the state of every container on disk now. */
void ht_runtime_scan(void);
/* Runtimes whose state directory is readable here: their count, "docker /var/lib/docker, ..." */
int ht_runtime_visible(char *buf, size_t len);
/* Containers whose state is cached (pointers valid until the next fill or scan). */
size_t ht_runtime_known(const struct ht_container **out, size_t max);
/* Parsers of one state file, for tests and fuzzing: true when it parsed. */
bool ht_runtime_parse_docker(const char *json, size_t len, struct ht_container *ct);
bool ht_runtime_parse_oci(const char *json, size_t len, struct ht_container *ct);
/* containers/storage's containers.json: the first name of container @id. */
bool ht_runtime_parse_storage_names(const char *json, size_t len, const char *id, char *name,
				    size_t size);

/* ---- kernel symbols (ksyms.c) ---- */

struct ht_ksym {
	uint64_t addr;
	const char *name;
	const char *module; /* NULL for the core kernel */
};
struct ht_ksyms;
struct ht_ksyms *ht_ksyms_load(const char *path); /* NULL path = /proc/kallsyms */
void ht_ksyms_free(struct ht_ksyms *ks);
/*
 * Floor symbol of @addr into *@sym (its names live as long as @ks); false if below the first,
 * past the end or addresses are hidden.
 */
bool ht_ksyms_find(const struct ht_ksyms *ks, uint64_t addr, struct ht_ksym *sym, uint64_t *offset);
/* Address of a symbol by name (first match), 0 if absent. */
uint64_t ht_ksyms_addr(const struct ht_ksyms *ks, const char *name);
/* True if every address read as 0 (kptr_restrict). */
bool ht_ksyms_hidden(const struct ht_ksyms *ks);
/* "tcp_v4_rcv+0x4bc" or "tcp_v4_rcv+0x4bc [mod]" or "0xffffffff81234567". */
const char *ht_ksyms_format(const struct ht_ksyms *ks, uint64_t addr, char *buf, size_t len);
/* Symbolize @n frames into one '\n'-joined string (malloc'd). */
char *ht_stack_string(const struct ht_ksyms *ks, const uint64_t *ips, int n);
/* Frames at the top of a BPF-captured stack that belong to the BPF/tracing machinery. */
int ht_stack_skip_tracing(const struct ht_ksyms *ks, const uint64_t *ips, int n);
/* Shared, lazily loaded /proc/kallsyms for the running kernel. */
const struct ht_ksyms *ht_kernel_ksyms(void);
/* Start loading ht_kernel_ksyms() in a background thread (ht_run(), for tools that print stacks). */
void ht_kernel_ksyms_preload(void);

/* ---- kernel enum names from BTF (btfenum.c) ---- */

/* Enumerator names indexed by value (NULL where no enumerator has that value). */
struct ht_enum_names {
	char **names;
	uint32_t n;
};
/*
 * Read enum @enum_name from the CO-RE subset (if the tool listed the enum in btf_keep),
 * else from --btf or vmlinux BTF, dropping @strip from the names
 * ("SKB_DROP_REASON_NO_SOCKET" -> "NO_SOCKET"). 0 or -errno (-ENOENT: no such enum).
 */
int ht_btf_enum_names(const struct ht_env *env, const char *enum_name, const char *strip,
		      struct ht_enum_names *en);
/*
 * The enumerators valued @base to @base + 0xffff of every enum whose name ends in @suffix,
 * indexed by value - @base: from --btf, else vmlinux and each module's BTF (/sys/kernel/btf).
 * Reads all of kernel BTF: for rare lookups (subsystem drop reasons). Names beginning with
 * "__" (range markers) are left out. 0 or -errno; no such enum leaves @en empty.
 */
int ht_btf_enum_range(const struct ht_env *env, const char *suffix, uint32_t base,
		      struct ht_enum_names *en);
const char *ht_enum_name(const struct ht_enum_names *en, uint32_t v);
/* Value of @name (any case, with or without @strip, or a decimal number). 0 or -ENOENT. */
int ht_enum_value(const struct ht_enum_names *en, const char *name, const char *strip, uint32_t *v);
void ht_enum_names_free(struct ht_enum_names *en);

/* ---- network (net.c) ---- */

/* A --netns value: an inode number, a path (/proc/PID/ns/net) or a name in /run/netns. */
int ht_netns_inode(const char *spec, uint32_t *inum);
/* IPv4 or IPv6 text -> 16 bytes (IPv4 in the first 4) and family 4 or 6. 0 or -EINVAL. */
int ht_parse_addr(const char *s, uint8_t addr[16], uint8_t *family);
/* The reverse; "" for family 0. */
const char *ht_fmt_addr(const uint8_t addr[16], uint8_t family, char *buf, size_t len);
/* "ESTABLISHED"..., "" for 0 (no state), "unknown" past the known ones. */
const char *ht_tcp_state_name(unsigned int state);
/* "SYN,ACK" from the TCP flags byte. */
const char *ht_tcp_flags(uint8_t flags, char *buf, size_t len);
/* Validate a device name option value (1..15 chars, no '/', ':' or spaces) or exit 64. */
const char *ht_opt_ifname(struct argp_state *state, const char *opt, const char *arg);
/* "tcp", "udp", "icmp", "icmpv6", "sctp" or NULL. */
const char *ht_ip_proto_name(uint8_t proto);

/* ---- procfs text (procfs.c) ---- */

/* /proc/<pid>/stack text -> "sym+0xoff" lines joined by '\n' (malloc'd). */
char *ht_parse_proc_stack(const char *text, size_t len);
/* /proc/<pid>/stat: the state letter and comm (between the first '(' and the last ')'). */
int ht_parse_proc_stat(const char *text, char *state, char *comm, size_t comm_len);
/* The task is gone or in do_exit (PF_EXITING): its /proc cgroup may already be the root's. */
bool ht_task_exiting(pid_t pid);

/* ---- small helpers ---- */
/*
 * The envelope's hostname: --hostname or $HUATUO_HOSTNAME, else this host's name; in a
 * container that shares the host's pid namespace, the host's (kthreadd's UTS namespace).
 */
const char *ht_hostname(void);
void ht_set_hostname(const char *name);
/* A --hostname or --container value: 1 to 253 letters, digits, '.', '-', '_'. */
bool ht_name_valid(const char *name);
/* The kernel's first pid namespace (PROC_PID_INIT_INO): the host's processes are in /proc. */
#define HT_PROC_PID_INIT_INO 0xEFFFFFFCUL
bool ht_host_pidns(void);
/* The running kernel's release is @major.@minor or later (its uname, not its backports). */
bool ht_kernel_at_least(int major, int minor);
uint64_t ht_now_mono_ns(void);
int ht_read_file(const char *path, char *buf, size_t len);
/*
 * A /dev/kmsg record read into @rec, "prio,seq,ts_usec,flags;text\n" then " KEY=value"
 * lines (hostinfo.c): its text, cut at the newline in place and still escaped ("\xNN"), with
 * its prefix (facility << 3 | level) and time into @prio and @ts_us; NULL if malformed.
 */
char *ht_kmsg_text(char *rec, unsigned int *prio, unsigned long long *ts_us);
/*
 * Room for @need elements of @size bytes in the array *@arrp (any T **) of *@cap elements,
 * doubling from @first. 0, or -ENOMEM with the array as it was.
 */
int ht_grow(void *arrp, size_t *cap, size_t need, size_t size, size_t first);
/*
 * The kernel's HZ from two samples of /proc/timer_list 50 ms apart, rounded to 100, 250, 300
 * or 1000; 0 if it cannot be read. For hosts without a config file for __kconfig externs.
 */
int ht_kernel_hz_estimate(void);

/* ---- softirq, softlockup, hungtask: stall reports (stall.c) ---- */

/* Online CPUs from /sys/devices/system/cpu/online into @online[0..max); returns their count. */
int ht_online_cpus(bool *online, int max);
/*
 * cpus_stack without sysrq: what every online CPU runs now and its kernel stack, captured by
 * the ht_cpu_capture perf_event program of @obj (bpf/common.bpf.h, HT_WANT_CPUS_STACK) through
 * a short cpu-clock perf event per CPU. Text, one block per CPU, malloc'd; NULL on failure.
 */
char *ht_cpus_stack(const struct ht_env *env, struct bpf_object *obj, uint64_t timeout_ns);
/* Record the hook ht_cpus_stack() uses, for --check (in the tool's setup). */
void ht_cpus_stack_hook(struct ht_env *env);
/*
 * Exponential back-off of repeated reports (HUATUO's save back-off): the first report passes,
 * the next one @base_ns later, then 2x, 4x ... up to @max_ns; after a quiet spell longer than
 * the current back-off plus 1 h it starts again at @base_ns. @base_ns 0 lets everything pass.
 */
struct ht_backoff {
	uint64_t base_ns, max_ns;
	uint64_t cur_ns;  /* back-off after the last report, 0 before the first */
	uint64_t last_ns; /* time of the last report */
	uint64_t suppressed;
};
bool ht_backoff_allow(struct ht_backoff *b, uint64_t now_ns);

/* ---- Prometheus text exposition files: --metrics (metrics.c) ---- */

/*
 * Counter/gauge families written for node_exporter's textfile collector. Families appear in
 * the file in the order declared, each with # HELP and # TYPE lines; a series is created at
 * 0 the first time it is updated. @labels: NULL-terminated key, value, key, value... array
 * (or NULL). Values may be any bytes: they are written as valid UTF-8 (junk as U+FFFD),
 * escaped (backslash, double quote, newline) and cut at a character after 256 bytes. Every
 * series also carries the constant labels (host, region) after its own.
 */
#define HT_METRICS_MAX_SERIES 1000 /* per family; past it, see ht_metrics_add() */
#define HT_METRICS_OVERFLOW 1
#define HT_METRICS_OTHER "other"
struct ht_metrics *ht_metrics_new(const char *path);
void ht_metrics_free(struct ht_metrics *m);
/* Labels every series carries after its own ({..., host="h", region="r"}). 0 or -errno. */
int ht_metrics_const_labels(struct ht_metrics *m, const char *const *labels);
/* A new set whose series carry host (this host's name) and region (--region). */
struct ht_metrics *ht_metrics_for(const struct ht_env *env, const char *path);
/* @type: "counter" or "gauge". */
int ht_metrics_family(struct ht_metrics *m, const char *name, const char *type, const char *help);
/*
 * Add to a counter. A family that already has HT_METRICS_MAX_SERIES series counts a new
 * label set in one series whose label values all read "other" and returns
 * HT_METRICS_OVERFLOW. 0, HT_METRICS_OVERFLOW or -errno.
 */
int ht_metrics_add(struct ht_metrics *m, const char *name, const char *const *labels,
		   uint64_t delta);
/* Set a value; a new series past HT_METRICS_MAX_SERIES is refused: -E2BIG. */
int ht_metrics_set(struct ht_metrics *m, const char *name, const char *const *labels,
		   uint64_t value);
int ht_metrics_get(const struct ht_metrics *m, const char *name, const char *const *labels,
		   uint64_t *value);
/* Forget every series of a family (they are set again each round: devices that went away). */
int ht_metrics_reset(struct ht_metrics *m, const char *name);
/*
 * Rewrite the file atomically: a temporary file in the same directory (hidden, so not
 * *.prom), fsync, mode 0644 (node_exporter reads it as its own user), rename over the
 * target, fsync of the directory. The directory is opened at the first call as
 * ht_dir_open() says, and a target that is not a file of ours (a planted link) is refused.
 * 0 or -errno, with ht_metrics_why() saying why in one line.
 */
int ht_metrics_write(struct ht_metrics *m);
/* What ht_metrics_write() checks before writing (directory and target), to refuse at start. */
int ht_metrics_check(struct ht_metrics *m);
const char *ht_metrics_why(const struct ht_metrics *m);
/* Render labels as {k="v",...} ("" when none), escaped as in the file; returns the length. */
size_t ht_metrics_labels(char *buf, size_t len, const char *const *labels);
/*
 * Count @n events into huatuo_bamai_<tracer_name>_events_total, labelled by the values the
 * tool's metrics.labels keys have in @data (a tracer_data object). ht_emit() does it for
 * every event it reports (tracer_type "auto") unless env->metrics_own_count. No-op without
 * --metrics.
 */
void ht_metrics_count(struct ht_env *env, const cJSON *data, uint64_t n);
/* ---- end metrics ---- */

#endif /* HUATUO_H */
