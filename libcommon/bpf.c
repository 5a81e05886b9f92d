// SPDX-License-Identifier: GPL-2.0
/*
 * BPF lifecycle with per-hook fallback chains. Each hook lists candidate programs, best
 * first (tp_btf -> raw_tp -> tracepoint -> fentry -> kprobe); the first one this kernel can
 * run is loaded, found by trying rather than by version tables. What attached is recorded
 * for --check and -v.
 */
#include <errno.h>
#include <glob.h>
#include <linux/capability.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>

#include "huatuo.h"
#include "tool.h"

static struct ht_env *print_env;
static char last_libbpf_msg[512];

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	int verbose = print_env ? print_env->verbose : 0;
	bool show = verbose > 1 || (verbose && level != LIBBPF_DEBUG);

	/* keep the last warning for the one-line error; format nothing we will not use */
	if (level == LIBBPF_WARN) {
		va_list copy;
		size_t n;

		va_copy(copy, ap);
		vsnprintf(last_libbpf_msg, sizeof(last_libbpf_msg), fmt, copy);
		va_end(copy);
		n = strlen(last_libbpf_msg);
		while (n && last_libbpf_msg[n - 1] == '\n')
			last_libbpf_msg[--n] = '\0';
		if (!strncmp(last_libbpf_msg, "libbpf: ", 8))
			memmove(last_libbpf_msg, last_libbpf_msg + 8, n - 7);
	}
	if (show)
		vfprintf(stderr, fmt, ap);
	return 0;
}

const char *ht_probe_kind_name(enum ht_probe_kind kind)
{
	switch (kind) {
	case HT_PROBE_TP_BTF:
		return "tp_btf";
	case HT_PROBE_RAW_TP:
		return "raw_tp";
	case HT_PROBE_TRACEPOINT:
		return "tracepoint";
	case HT_PROBE_FENTRY:
		return "fentry";
	case HT_PROBE_KPROBE:
		return "kprobe";
	case HT_PROBE_NONE:
		return "netlink/procfs";
	case HT_PROBE_PERF:
		return "perf_event";
	case HT_PROBE_ITER:
		return "iter";
	default:
		return "auto";
	}
}

static bool has_bpf_privilege(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = { { 0 } };
	uint64_t eff;

	/* by capabilities, not uid: root in a container often has neither */
	if (syscall(SYS_capget, &hdr, data))
		return geteuid() == 0;
	eff = ((uint64_t)data[1].effective << 32) | data[0].effective;
#define CAP(n) (1ULL << (n))
	return (eff & CAP(21)) ||
	       ((eff & CAP(39)) && (eff & CAP(38))); /* SYS_ADMIN | BPF+PERFMON */
}

int ht_check_privilege(const struct ht_env *env)
{
	if (has_bpf_privilege())
		return 0;
	if (geteuid() == 0)
		ht_err(env,
		       "root without CAP_SYS_ADMIN, or CAP_BPF and CAP_PERFMON, cannot load BPF "
		       "programs (a container: add the capabilities, e.g. docker run --cap-add "
		       "SYS_ADMIN, or run it --privileged)");
	else
		ht_err(env,
		       "need root or CAP_BPF+CAP_PERFMON to load BPF programs (run with sudo)");
	return 1;
}

/* A seccomp filter is on this process (/proc/self/status "Seccomp: 2"). */
static bool seccomp_filtered(void)
{
	char buf[4096], *p;

	if (ht_read_file("/proc/self/status", buf, sizeof(buf)) <= 0)
		return false;
	p = strstr(buf, "\nSeccomp:");
	return p && strtol(p + 9, NULL, 10) == 2;
}

/* Check privilege and BTF; fill open options. Returns 0 or 1 (message printed). */
static int preflight(struct ht_env *env, struct bpf_object_open_opts *opts)
{
	print_env = env;
	libbpf_set_print(libbpf_print);
	if (ht_check_privilege(env))
		return 1;
	if (env->btf_path) {
		opts->btf_custom_path = env->btf_path;
	} else if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		ht_err(env, "kernel BTF not found at /sys/kernel/btf/vmlinux (the kernel needs "
			    "CONFIG_DEBUG_INFO_BTF=y); pass --btf FILE with this kernel's BTF");
		return 1;
	}
	return 0;
}

static char tracefs_error[128];

/* A tracefs this tool mounted goes away with it. */
static void unmount_tracefs(void)
{
	umount2("/sys/kernel/tracing", MNT_DETACH);
}

const char *ht_tracefs(void)
{
	static const char *found;
	static bool tried;
	struct stat st;

	if (tried)
		return found;
	tried = true;
	if (!stat("/sys/kernel/tracing/events", &st))
		return found = "/sys/kernel/tracing";
	if (!stat("/sys/kernel/debug/tracing/events", &st))
		return found = "/sys/kernel/debug/tracing";
	/* not mounted (a container): mount it where the kernel expects it, for our lifetime */
	if (mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL)) {
		snprintf(tracefs_error, sizeof(tracefs_error),
			 "tracefs is not mounted at /sys/kernel/tracing and mounting it failed: %s",
			 strerror(errno));
		return NULL;
	}
	atexit(unmount_tracefs);
	if (!stat("/sys/kernel/tracing/events", &st))
		return found = "/sys/kernel/tracing";
	snprintf(tracefs_error, sizeof(tracefs_error),
		 "tracefs mounted at /sys/kernel/tracing has no events/: %s", strerror(errno));
	return NULL;
}

const char *ht_tracefs_error(void)
{
	return tracefs_error[0] ? tracefs_error : "tracefs is not available";
}

bool ht_tracepoint_exists(const char *category, const char *event)
{
	const char *tfs = ht_tracefs();
	char path[512];

	if (!tfs)
		return false;
	snprintf(path, sizeof(path), "%s/events/%s/%s", tfs, category, event);
	return access(path, F_OK) == 0;
}

static struct btf *kernel_btf(const struct ht_env *env);

/* Without tracefs (a container): the tracepoint's record, struct trace_event_raw_<event>. */
static bool btf_event_has_field(const struct ht_env *env, const char *event, const char *field)
{
	const struct btf *btf = kernel_btf(env);
	const struct btf_type *t;
	char name[256];
	int id;

	snprintf(name, sizeof(name), "trace_event_raw_%s", event);
	id = btf ? btf__find_by_name_kind(btf, name, BTF_KIND_STRUCT) : -1;
	if (id <= 0)
		return false;
	t = btf__type_by_id(btf, id);
	for (int i = 0; i < btf_vlen(t); i++)
		if (!strcmp(btf__name_by_offset(btf, btf_members(t)[i].name_off), field))
			return true;
	return false;
}

/* Has tracepoint @category/@event's record the field @field? */
static bool tracepoint_has_field(const struct ht_env *env, const char *category, const char *event,
				 const char *field)
{
	const char *tfs = ht_tracefs();
	char path[512], buf[8192], needle[128];

	if (!tfs)
		return btf_event_has_field(env, event, field);
	snprintf(path, sizeof(path), "%s/events/%s/%s/format", tfs, category, event);
	if (ht_read_file(path, buf, sizeof(buf)) < 0)
		return false;
	snprintf(needle, sizeof(needle), " %s;", field);
	return strstr(buf, needle) != NULL;
}

/* Kernel BTF, loaded only when tracefs cannot answer or fentry must be probed. */
static struct btf *kernel_btf(const struct ht_env *env)
{
	static struct btf *btf;
	static bool tried;

	if (!tried) {
		tried = true;
		btf = env->btf_path ? btf__parse(env->btf_path, NULL) : btf__load_vmlinux_btf();
		if (!btf)
			btf = NULL;
	}
	return btf;
}

/*
 * tracefs' available_events ("category:name" lines), read once: one read answers every hook,
 * where a glob over events/<category>/ costs ~3 ms per name (eventfs builds each directory).
 * Returns false when the list cannot be read (the caller globs instead).
 */
static bool available_event(const char *tfs, const char *name, bool *found)
{
	static char *list;
	static bool tried;
	char needle[256];

	if (!tried) {
		char path[512], *grown;
		size_t cap = 1 << 16, len = 0;
		FILE *f;

		tried = true;
		snprintf(path, sizeof(path), "%s/available_events", tfs);
		f = fopen(path, "re");
		if (!f)
			return false;
		list = malloc(cap + 1);
		while (list) {
			size_t n = fread(list + len, 1, cap - len, f);

			len += n;
			if (len < cap) {
				list[len] = '\0';
				break;
			}
			grown = realloc(list, cap * 2 + 1);
			if (!grown) {
				free(list);
				list = NULL;
				break;
			}
			list = grown;
			cap *= 2;
		}
		fclose(f);
	}
	if (!list || !*list)
		return false;
	snprintf(needle, sizeof(needle), ":%s\n", name);
	*found = strstr(list, needle) != NULL;
	return true;
}

/* A raw tracepoint "name" exists if kernel BTF has its typedef or some tracefs category has it. */
static bool raw_tracepoint_exists(const struct ht_env *env, const char *name)
{
	const char *tfs = ht_tracefs();
	char pattern[512], type[256];
	struct btf *btf;
	glob_t g;
	bool found;

	/* kernel BTF's btf_trace_<name> typedef (kept in the subset): no 62 KB tracefs read */
	snprintf(type, sizeof(type), "btf_trace_%s", name);
	if (env->btf_min && ht_btf_min_has(type, BTF_KIND_TYPEDEF))
		return true;
	if (tfs && available_event(tfs, name, &found))
		return found;
	if (tfs) {
		snprintf(pattern, sizeof(pattern), "%s/events/*/%s", tfs, name);
		found = glob(pattern, GLOB_NOSORT, NULL, &g) == 0;
		globfree(&g);
		return found;
	}
	btf = kernel_btf(env);
	return btf && btf__find_by_name_kind(btf, type, BTF_KIND_TYPEDEF) > 0;
}

/* fentry needs a BPF trampoline: load and attach a two-instruction program to find out. */
static int fentry_works(const struct ht_env *env, const char *func)
{
	static const struct bpf_insn insns[] = {
		{ .code = 0xb7, .dst_reg = 0, .imm = 0 }, /* r0 = 0 */
		{ .code = 0x95 },			  /* exit */
	};
	struct btf *btf = kernel_btf(env);
	int id, fd, link_fd, err = 0;
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_FENTRY);

	if (!btf)
		return -ENOENT;
	id = btf__find_by_name_kind(btf, func, BTF_KIND_FUNC);
	if (id <= 0)
		return -ENOENT;
	opts.attach_btf_id = id;
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "ht_fentry_probe", "GPL", insns, 2, &opts);
	if (fd < 0)
		return -errno;
	link_fd = bpf_raw_tracepoint_open(NULL, fd);
	if (link_fd < 0)
		err = -errno;
	else
		close(link_fd);
	close(fd);
	return err;
}

static bool kprobes_available(void)
{
	return access("/sys/bus/event_source/devices/kprobe/type", F_OK) == 0;
}

/* Kind and target from a program's section name. */
static enum ht_probe_kind section_kind(const char *sec, const char **target)
{
	static const struct {
		const char *prefix;
		enum ht_probe_kind kind;
	} map[] = {
		{ "tp_btf/", HT_PROBE_TP_BTF },		{ "raw_tp/", HT_PROBE_RAW_TP },
		{ "raw_tracepoint/", HT_PROBE_RAW_TP }, { "tracepoint/", HT_PROBE_TRACEPOINT },
		{ "tp/", HT_PROBE_TRACEPOINT },		{ "fentry/", HT_PROBE_FENTRY },
		{ "fexit/", HT_PROBE_FENTRY },		{ "kprobe/", HT_PROBE_KPROBE },
		{ "kretprobe/", HT_PROBE_KPROBE },
	};

	for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
		size_t n = strlen(map[i].prefix);

		if (!strncmp(sec, map[i].prefix, n)) {
			*target = sec + n;
			return map[i].kind;
		}
	}
	*target = sec;
	return HT_PROBE_AUTO;
}

/* Why @kind/@target cannot run here, or NULL if it can. */
static const char *unavailable_reason(const struct ht_env *env, enum ht_probe_kind kind,
				      const char *target, char *buf, size_t len)
{
	char cat[128];
	const char *slash;
	int err;

	switch (kind) {
	case HT_PROBE_TP_BTF:
	case HT_PROBE_RAW_TP:
		if (!raw_tracepoint_exists(env, target))
			return "no such tracepoint on this kernel";
		return NULL;
	case HT_PROBE_TRACEPOINT:
		slash = strchr(target, '/');
		if (!slash || (size_t)(slash - target) >= sizeof(cat))
			return "bad tracepoint name";
		snprintf(cat, sizeof(cat), "%.*s", (int)(slash - target), target);
		if (!ht_tracefs())
			return ht_tracefs_error();
		if (!ht_tracepoint_exists(cat, slash + 1))
			return "no such tracepoint on this kernel";
		return NULL;
	case HT_PROBE_FENTRY:
		err = fentry_works(env, target);
		if (err == -ENOENT)
			return "function not in kernel BTF";
		if (err) {
			snprintf(buf, len, "fentry refused by this kernel (%s)", strerror(-err));
			return buf;
		}
		return NULL;
	case HT_PROBE_KPROBE:
		if (!kprobes_available())
			return "kernel has no kprobes (CONFIG_KPROBES off)";
		if (ht_kernel_ksyms() && !ht_ksyms_addr(ht_kernel_ksyms(), target))
			return "function not in /proc/kallsyms";
		return NULL;
	default:
		return "unknown program type";
	}
}

static bool kind_allowed(const struct ht_env *env, enum ht_probe_kind kind)
{
	if (env->excluded_kinds & (1u << kind))
		return false;
	return env->probe == HT_PROBE_AUTO || env->probe == kind;
}

/* Point the object's "ht_use_perfbuf" rodata at true (kernels without a BPF ring buffer). */
static int set_rodata_bool(struct bpf_object *obj, const char *var, bool value)
{
	struct btf *btf = bpf_object__btf(obj);
	struct bpf_map *map;
	const struct btf_type *sec;
	size_t size;
	char *data;
	int id;

	map = bpf_object__find_map_by_name(obj, ".rodata");
	if (!btf || !map)
		return -ENOENT;
	id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
	if (id <= 0)
		return -ENOENT;
	sec = btf__type_by_id(btf, id);
	data = (char *)(uintptr_t)bpf_map__initial_value(map, &size); /* writable before load */
	if (!data)
		return -ENOENT;
	for (int i = 0; i < btf_vlen(sec); i++) {
		const struct btf_var_secinfo *vs = btf_var_secinfos(sec) + i;
		const struct btf_type *t = btf__type_by_id(btf, vs->type);

		if (!strcmp(btf__name_by_offset(btf, t->name_off), var) && vs->offset < size) {
			data[vs->offset] = value;
			return 0;
		}
	}
	return -ENOENT;
}

static int setup_events_map(struct ht_env *env, struct bpf_object *obj)
{
	struct bpf_map *events = bpf_object__find_map_by_name(obj, "events");

	if (!events)
		return 0; /* tool without an event stream */
	/* HUATUO_PERFBUF=1 forces the old-kernel path, so that it stays tested */
	if (!getenv("HUATUO_PERFBUF") && libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 1)
		return bpf_map__set_max_entries(events, (uint32_t)env->buffer_bytes);

	/* kernels before 5.8: per-CPU perf buffers instead */
	env->use_perfbuf = true;
	ht_info(env, "using per-CPU perf buffers (%s)",
		getenv("HUATUO_PERFBUF") ? "HUATUO_PERFBUF is set" : "no BPF ring buffer here");
	if (bpf_map__set_type(events, BPF_MAP_TYPE_PERF_EVENT_ARRAY) ||
	    bpf_map__set_key_size(events, 4) || bpf_map__set_value_size(events, 4) ||
	    bpf_map__set_max_entries(events, 0) || set_rodata_bool(obj, "ht_use_perfbuf", true))
		return -EINVAL;
	return 0;
}

/*
 * The order to try a hook's candidates in: as listed (tp_btf first), except that with a BTF
 * subset raw_tp goes before tp_btf. A tp_btf program makes libbpf 1.1 read all of kernel BTF
 * to find its attach id, which is what the subset saves; raw_tp runs the same handler with
 * probe reads (within noise in bench/: BPF ns/event).
 */
static void candidate_order(const struct ht_env *env, struct bpf_object *obj,
			    const struct ht_hook *hook, int order[6])
{
	int n = 0, c;

	for (c = 0; c < 6 && hook->progs[c]; c++)
		order[c] = c;
	if (!env->btf_min || env->probe != HT_PROBE_AUTO)
		return;
	/* stable: raw_tp candidates, then tp_btf ones, then the rest */
	for (int pass = 0; pass < 3; pass++) {
		for (c = 0; c < 6 && hook->progs[c]; c++) {
			struct bpf_program *p =
				bpf_object__find_program_by_name(obj, hook->progs[c]);
			const char *target;
			enum ht_probe_kind kind =
				p ? section_kind(bpf_program__section_name(p), &target) :
				    HT_PROBE_AUTO;
			int rank = kind == HT_PROBE_RAW_TP ? 0 : kind == HT_PROBE_TP_BTF ? 1 : 2;

			if (rank == pass)
				order[n++] = c;
		}
	}
}

/*
 * Tools built with HT_WANT_CONTAINERS (bpf/common.bpf.h) also hear of every new memory cgroup
 * (cgroup:cgroup_mkdir), to read a new container's runtime state while it is on disk. An
 * optional hook of its own: tp_btf with all of kernel BTF or --probe tp_btf, else raw_tp (as
 * candidate_order: tp_btf makes libbpf read all of kernel BTF); not without a ring buffer.
 */
static int setup_container_hook(struct ht_env *env, struct bpf_object *obj)
{
	struct bpf_program *raw = bpf_object__find_program_by_name(obj, "ht_cgroup_mkdir_raw");
	struct bpf_program *btf = bpf_object__find_program_by_name(obj, "ht_cgroup_mkdir_btf");
	struct bpf_map *ring = bpf_object__find_map_by_name(obj, "ht_cgroup_events");
	bool use_btf =
		(env->probe == HT_PROBE_TP_BTF || (env->probe == HT_PROBE_AUTO && !env->btf_min)) &&
		!(env->excluded_kinds & (1u << HT_PROBE_TP_BTF));
	enum ht_probe_kind kind = use_btf ? HT_PROBE_TP_BTF : HT_PROBE_RAW_TP;
	struct bpf_program *p = use_btf ? btf : raw;

	if (!raw || !btf)
		return 0;
	bpf_program__set_autoload(raw, false);
	bpf_program__set_autoload(btf, false);
	/* --cgroup, --container: the kernel drops what user space decided is not wanted */
	if ((env->cgroup_id || env->container) &&
	    set_rodata_bool(obj, "ht_filter_containers", true)) {
		ht_err(env, "internal error: no ht_filter_containers in the BPF object");
		return 1;
	}
	if (env->use_perfbuf || (env->excluded_kinds & (1u << kind)) ||
	    !raw_tracepoint_exists(env, "cgroup_mkdir") || env->nattached >= HT_MAX_HOOKS) {
		if (ring)
			bpf_map__set_autocreate(ring, false);
		ht_info(env, "new containers are looked up at their first event (%s)",
			env->use_perfbuf ? "no BPF ring buffer" : "no hook on cgroup_mkdir");
		return 0;
	}
	bpf_program__set_autoload(p, true);
	env->attached[env->nattached++] = (struct ht_attached){
		.hook = "cgroup_mkdir",
		.prog = bpf_program__name(p),
		.kind = kind,
		.target = "cgroup_mkdir",
		.optional = true,
		.deferred = true, /* after the banner: startup does not wait for it */
	};
	return 0;
}

static void add_missing(struct ht_env *env, const char *hook, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void add_missing(struct ht_env *env, const char *hook, const char *fmt, ...)
{
	va_list ap;

	if (env->nmissing >= HT_MAX_HOOKS)
		return;
	env->missing[env->nmissing].hook = hook;
	va_start(ap, fmt);
	vsnprintf(env->missing[env->nmissing].why, sizeof(env->missing[0].why), fmt, ap);
	va_end(ap);
	env->nmissing++;
}

/* Has hook->tracepoint's format the field candidate @c's typed arguments need? */
static bool prototype_here(const struct ht_env *env, const struct ht_hook *hook, int c)
{
	const char *slash = strchr(hook->tracepoint ? hook->tracepoint : "", '/');
	char cat[64];

	if (!slash || (size_t)(slash - hook->tracepoint) >= sizeof(cat))
		return false;
	snprintf(cat, sizeof(cat), "%.*s", (int)(slash - hook->tracepoint), hook->tracepoint);
	return tracepoint_has_field(env, cat, slash + 1, hook->needs_field[c]);
}

/* Pick one candidate per hook (autoload), size the ring buffer, fall back to perf buffer. */
static int prepare(struct ht_env *env, struct bpf_object *obj, const struct ht_hook *hooks,
		   int nhooks)
{
	char reasons[1024] = "", buf[128];
	int order[6], err;

	err = setup_events_map(env, obj);
	if (err) {
		ht_err(env, "cannot set up the event buffer: %s", strerror(-err));
		return 1;
	}
	/* nothing loads unless a hook picks it */
	for (int h = 0; h < nhooks; h++)
		for (int c = 0; c < 6 && hooks[h].progs[c]; c++) {
			struct bpf_program *p =
				bpf_object__find_program_by_name(obj, hooks[h].progs[c]);

			if (p)
				bpf_program__set_autoload(p, false);
		}

	for (int h = 0; h < nhooks; h++) {
		const struct ht_hook *hook = &hooks[h];
		const char *last_why = "";
		bool chosen = false;
		size_t used = 0;

		reasons[0] = '\0';
		candidate_order(env, obj, hook, order);
		for (int c = 0; c < 6 && hook->progs[c] && !chosen; c++) {
			const char *name = hook->progs[order[c]];
			struct bpf_program *p = bpf_object__find_program_by_name(obj, name);
			const char *target, *why = NULL;
			enum ht_probe_kind kind;

			if (!p) {
				ht_err(env, "internal error: no BPF program %s", name);
				return 1;
			}
			kind = section_kind(bpf_program__section_name(p), &target);
			if (env->excluded_kinds & (1u << kind))
				why = "refused by this kernel at load";
			else if (!kind_allowed(env, kind))
				why = "not the --probe kind";
			else
				why = unavailable_reason(env, kind, target, buf, sizeof(buf));
			if (!why && (kind == HT_PROBE_TP_BTF || kind == HT_PROBE_RAW_TP) &&
			    hook->needs_field[order[c]] && !prototype_here(env, hook, order[c])) {
				snprintf(buf, sizeof(buf), "another prototype here (no field %s)",
					 hook->needs_field[order[c]]);
				why = buf;
			}
			if (why) {
				if (!*last_why || kind_allowed(env, kind))
					last_why = why;
				used += (size_t)snprintf(reasons + used, sizeof(reasons) - used,
							 "%s%s/%s: %s", used ? "; " : "",
							 ht_probe_kind_name(kind), target, why);
				if (used >= sizeof(reasons))
					used = sizeof(reasons) - 1;
				continue;
			}
			bpf_program__set_autoload(p, true);
			if (env->nattached >= HT_MAX_HOOKS) {
				ht_err(env, "internal error: too many hooks");
				return 1;
			}
			env->attached[env->nattached++] = (struct ht_attached){
				.hook = hook->name,
				.prog = name,
				.kind = kind,
				.target = target,
				.optional = hook->optional,
			};
			chosen = true;
		}
		if (chosen)
			continue;
		if (hook->optional) {
			/* the plainest flavour allowed (the last) has the reason to tell */
			ht_info(env, "skipping %s (%s)", hook->name, reasons);
			add_missing(env, hook->name, "%s", last_why);
			continue;
		}
		if (env->excluded_kinds && last_libbpf_msg[0])
			ht_err(env, "cannot hook %s on this kernel: %s (load error: %s)",
			       hook->name, reasons, last_libbpf_msg);
		else
			ht_err(env, "cannot hook %s on this kernel: %s", hook->name, reasons);
		return 1;
	}
	if (!env->nattached) {
		ht_err(env, "none of the kernel hooks this tool needs exists here: %s",
		       reasons[0] ? reasons : "nothing to attach");
		return 1;
	}
	return setup_container_hook(env, obj);
}

/* Interpret the result of <skel>__load(): prints one clear line on failure. */
static int loaded(struct ht_env *env, int load_err)
{
	if (!load_err)
		return 0;
	if ((load_err == -EPERM || load_err == -EACCES) && seccomp_filtered())
		ht_err(env,
		       "bpf() was refused (%s) and a seccomp filter is on this process: a "
		       "container's profile that does not allow bpf() and perf_event_open() (docker "
		       "run --security-opt seccomp=unconfined, or a profile that allows them)",
		       strerror(-load_err));
	else if (load_err == -EPERM || load_err == -EACCES)
		ht_err(env,
		       "the kernel refused the BPF programs (%s): need root or "
		       "CAP_BPF+CAP_PERFMON, and no lockdown; rerun with -v for details",
		       strerror(-load_err));
	else
		ht_err(env,
		       "failed to load BPF programs: %s%s%s (rerun with -v for the verifier log)",
		       strerror(-load_err), last_libbpf_msg[0] ? ": " : "", last_libbpf_msg);
	return 1;
}

/* Attach every loaded program; record what attached. */
static int attach(struct ht_env *env, struct bpf_object *obj)
{
	int kept = 0, total = env->nattached;

	for (int i = 0; i < total; i++) {
		struct ht_attached a = env->attached[i];
		struct bpf_program *p;

		if (a.kind == HT_PROBE_NONE || a.kind == HT_PROBE_PERF || a.kind == HT_PROBE_ITER ||
		    (a.deferred && !env->check)) {
			env->attached[kept++] = a;
			continue;
		}
		p = bpf_object__find_program_by_name(obj, a.prog);
		a.link = p ? bpf_program__attach(p) : NULL;
		if (!a.link) {
			int err = -errno;

			if (a.optional) {
				/* one optional hook costs only itself (HUATUO's RAS gave up on all) */
				ht_warn(env, "cannot attach %s to %s %s: %s; going on without it",
					a.prog, ht_probe_kind_name(a.kind), a.target,
					strerror(-err));
				add_missing(env, a.hook, "attach failed: %s", strerror(-err));
				continue;
			}
			env->nattached = kept;
			ht_err(env, "failed to attach %s to %s %s: %s (rerun with -v)", a.prog,
			       ht_probe_kind_name(a.kind), a.target, strerror(-err));
			return 1;
		}
		ht_info(env, "attached %s: %s %s", a.hook, ht_probe_kind_name(a.kind), a.target);
		env->attached[kept++] = a;
	}
	env->nattached = kept;
	if (!kept) {
		ht_err(env, "could not attach any hook (rerun with -v)");
		return 1;
	}
	return 0;
}

void ht_bpf_attach_deferred(struct ht_env *env)
{
	struct bpf_object *obj = env->skel ? env->skel_ops->object(env->skel) : NULL;

	for (int i = 0; obj && i < env->nattached; i++) {
		struct ht_attached *a = &env->attached[i];
		struct bpf_program *p;

		if (!a->deferred || a->link)
			continue;
		p = bpf_object__find_program_by_name(obj, a->prog);
		a->link = p ? bpf_program__attach(p) : NULL;
		if (a->link)
			ht_info(env, "attached %s: %s %s", a->hook, ht_probe_kind_name(a->kind),
				a->target);
		else
			ht_info(env,
				"cannot attach %s to %s %s: %s; new containers are looked up "
				"at their first event",
				a->prog, ht_probe_kind_name(a->kind), a->target, strerror(errno));
	}
}

void ht_add_hook(struct ht_env *env, const char *hook, enum ht_probe_kind kind, const char *target)
{
	ht_info(env, "attached %s: %s %s", hook, ht_probe_kind_name(kind), target);
	if (env->nattached < HT_MAX_HOOKS)
		env->attached[env->nattached++] = (struct ht_attached){
			.hook = hook, .prog = "", .kind = kind, .target = target
		};
}

void ht_print_hooks(const struct ht_env *env, FILE *f)
{
	struct utsname u;

	uname(&u);
	if (env->json) {
		cJSON *root = cJSON_CreateObject(), *arr;
		char *s;

		cJSON_AddStringToObject(root, "tool", env->tool);
		cJSON_AddStringToObject(root, "kernel", u.release);
		cJSON_AddStringToObject(root, "buffer", env->use_perfbuf ? "perf" : "ringbuf");
		arr = cJSON_AddArrayToObject(root, "hooks");
		for (int i = 0; i < env->nattached; i++) {
			cJSON *h = cJSON_CreateObject();

			cJSON_AddStringToObject(h, "hook", env->attached[i].hook);
			cJSON_AddStringToObject(h, "kind",
						ht_probe_kind_name(env->attached[i].kind));
			cJSON_AddStringToObject(h, "target", env->attached[i].target);
			cJSON_AddStringToObject(h, "program", env->attached[i].prog);
			cJSON_AddItemToArray(arr, h);
		}
		arr = cJSON_AddArrayToObject(root, "unavailable");
		for (int i = 0; i < env->nmissing; i++) {
			cJSON *h = cJSON_CreateObject();

			cJSON_AddStringToObject(h, "hook", env->missing[i].hook);
			cJSON_AddStringToObject(h, "why", env->missing[i].why);
			cJSON_AddItemToArray(arr, h);
		}
		s = cJSON_PrintUnformatted(root);
		fprintf(f, "%s\n", s);
		cJSON_free(s);
		cJSON_Delete(root);
		return;
	}
	fprintf(f, "%s: supported on %s; hooks:\n", env->tool, u.release);
	for (int i = 0; i < env->nattached; i++) {
		const struct ht_attached *a = &env->attached[i];

		fprintf(f, "  %-28s %-14s %s", a->hook, ht_probe_kind_name(a->kind), a->target);
		if (a->prog[0])
			fprintf(f, "  (program %s)", a->prog);
		fputc('\n', f);
	}
	for (int i = 0; i < env->nattached; i++)
		if (env->attached[i].prog[0]) {
			fprintf(f, "  event buffer: %s\n",
				env->use_perfbuf ? "per-CPU perf buffers" : "BPF ring buffer");
			break;
		}
	if (env->nmissing)
		fprintf(f, "not available here (not covered):\n");
	for (int i = 0; i < env->nmissing; i++)
		fprintf(f, "  %-28s %s\n", env->missing[i].hook, env->missing[i].why);
}

static void detach(struct ht_env *env)
{
	for (int i = 0; i < env->nattached; i++) {
		bpf_link__destroy(env->attached[i].link);
		env->attached[i].link = NULL;
	}
}

void ht_bpf_close(struct ht_env *env)
{
	detach(env);
	if (env->skel)
		env->skel_ops->destroy(env->skel);
	env->skel = NULL;
}

/*
 * libbpf 1.1 refuses __kconfig externs, even weak ones, when it finds no kernel config
 * (/boot/config-$(uname -r), /proc/config.gz): minimal hosts and containers. A tool that
 * reads CONFIG_HZ then gets an estimate as libbpf's kconfig option. HUATUO_NO_KCONFIG=1
 * (tests) acts as if there were no config file.
 */
static const char *kconfig_fallback(const struct ht_env *env)
{
	static char kconfig[32];
	struct utsname u;
	char path[300];
	int hz;

	if (!env->kconfig_hz)
		return NULL;
	if (!getenv("HUATUO_NO_KCONFIG")) {
		if (!uname(&u)) {
			snprintf(path, sizeof(path), "/boot/config-%s", u.release);
			if (!access(path, R_OK))
				return NULL;
		}
		if (!access("/proc/config.gz", R_OK))
			return NULL;
	}
	hz = ht_kernel_hz_estimate();
	snprintf(kconfig, sizeof(kconfig), "CONFIG_HZ=%d\n", hz);
	ht_info(env, "no kernel config file: CONFIG_HZ=%d estimated from jiffies", hz);
	return kconfig;
}

int ht_bpf_open_load_attach(struct ht_env *env, const struct ht_skel_ops *ops,
			    const struct ht_hook *hooks, int nhooks,
			    void (*configure)(void *skel, struct ht_env *env))
{
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	void *skel;
	int err;

	if (preflight(env, &opts))
		return 1;
	opts.kconfig = kconfig_fallback(env);
	if (!env->btf_min && ops->elf_bytes) { /* a tool may have built it already */
		size_t len = 0;
		const void *elf = ops->elf_bytes(&len);

		env->btf_min = ht_btf_min(env, elf, len);
	}
	if (env->btf_min)
		opts.btf_custom_path = env->btf_min;
	for (;;) {
		unsigned int used = 0;

		skel = ops->open(&opts);
		if (!skel) {
			ht_err(env, "cannot open the BPF object: %s", strerror(errno));
			return 1;
		}
		if (configure)
			configure(skel, env);
		env->nattached = 0;
		env->nmissing = 0;
		if (prepare(env, ops->object(skel), hooks, nhooks))
			goto fail;
		err = ops->load(skel);
		if (!err)
			break;
		/* no fallback gets past a seccomp filter that refuses bpf(): say so at once */
		if ((err == -EPERM || err == -EACCES) && seccomp_filtered()) {
			loaded(env, err);
			goto fail;
		}
		/* demote what was tried, unless the user forced a kind */
		for (int i = 0; i < env->nattached; i++)
			if (env->attached[i].kind != HT_PROBE_NONE)
				used |= 1u << env->attached[i].kind;
		if (env->btf_min) {
			/* should not happen (btfmin.c keeps what relocations read): be safe */
			ht_info(env,
				"the kernel refused the BPF programs (%s); retrying with all of "
				"kernel BTF",
				strerror(-err));
			env->btf_min = NULL;
			opts.btf_custom_path = NULL;
			ops->destroy(skel);
			continue;
		}
		if (env->probe != HT_PROBE_AUTO || !used) {
			loaded(env, err);
			goto fail;
		}
		ht_info(env,
			"the kernel refused the BPF programs (%s%s%s); retrying with fallbacks",
			strerror(-err), last_libbpf_msg[0] ? ": " : "", last_libbpf_msg);
		/* demote only the best kind tried: the others may be the ones that load */
		env->excluded_kinds |= used & -used;
		ops->destroy(skel);
	}
	if (attach(env, ops->object(skel)))
		goto fail;
	env->skel = skel;
	env->skel_ops = ops;
	ht_containers_attach(ops->object(skel));
	return 0;
fail:
	detach(env);
	ops->destroy(skel);
	return 1;
}
