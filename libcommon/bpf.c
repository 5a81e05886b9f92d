// SPDX-License-Identifier: GPL-2.0
/*
 * BPF lifecycle with per-hook fallback chains. Each hook lists candidate programs, best
 * first (tp_btf -> raw_tp -> tracepoint -> fentry -> kprobe); the first one this kernel can
 * run is loaded, found by trying rather than by version tables. What attached is recorded
 * for --check and -v.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

	if (ht_bgload_keep(level, fmt, ap))
		return 0;
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

static void libbpf_printf(enum libbpf_print_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void libbpf_printf(enum libbpf_print_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	libbpf_print(level, fmt, ap);
	va_end(ap);
}

/* a warning as libbpf would print it (bgload.c's programs, loaded outside libbpf) */
static void libbpf_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	libbpf_print(LIBBPF_WARN, fmt, ap);
	va_end(ap);
}

/* what libbpf said on the thread that opened the object (bgload.c), said here */
static void libbpf_said(enum libbpf_print_level level, const char *msg)
{
	libbpf_printf(level, "%s", msg);
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
	struct bpf_map *verdicts = bpf_object__find_map_by_name(obj, "ht_verdicts");
	bool use_btf =
		(env->probe == HT_PROBE_TP_BTF || (env->probe == HT_PROBE_AUTO && !env->btf_min)) &&
		!(env->excluded_kinds & (1u << HT_PROBE_TP_BTF));
	enum ht_probe_kind kind = use_btf ? HT_PROBE_TP_BTF : HT_PROBE_RAW_TP;
	struct bpf_program *p = use_btf ? btf : raw;

	if (!raw || !btf)
		return 0;
	bpf_program__set_autoload(raw, false);
	bpf_program__set_autoload(btf, false);
	/*
	 * --cgroup, --container: the kernel drops what user space decided is not wanted.
	 * Without them no verdict is written or read: one entry, not 4096 preallocated ones.
	 */
	if ((env->cgroup_id || env->container) &&
	    set_rodata_bool(obj, "ht_filter_containers", true)) {
		ht_err(env, "internal error: no ht_filter_containers in the BPF object");
		return 1;
	}
	if (!env->cgroup_id && !env->container && verdicts)
		bpf_map__set_max_entries(verdicts, 1);
	if (env->use_perfbuf || (env->excluded_kinds & (1u << kind)) ||
	    !ht_raw_tracepoint_exists(env, "cgroup_mkdir", "cgroup/cgroup_mkdir") ||
	    env->nattached >= HT_MAX_HOOKS) {
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
	return ht_tracepoint_has_field(env, cat, slash + 1, hook->needs_field[c]);
}

/* Pick one candidate per hook (autoload), size the ring buffer, fall back to perf buffer. */
static int prepare(struct ht_env *env, struct bpf_object *obj, const struct ht_hook *hooks)
{
	char reasons[1024] = "", buf[128];
	int order[6], err;

	err = setup_events_map(env, obj);
	if (err) {
		ht_err(env, "cannot set up the event buffer: %s", strerror(-err));
		return 1;
	}
	/* nothing loads unless a hook picks it */
	for (int h = 0; hooks[h].name; h++)
		for (int c = 0; c < 6 && hooks[h].progs[c]; c++) {
			struct bpf_program *p =
				bpf_object__find_program_by_name(obj, hooks[h].progs[c]);

			if (p)
				bpf_program__set_autoload(p, false);
		}

	for (int h = 0; hooks[h].name; h++) {
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
			if (kind == HT_PROBE_RAW_TP && hook->raw_tp)
				target = hook->raw_tp;
			if (env->excluded_kinds & (1u << kind))
				why = "refused by this kernel at load";
			else if (!kind_allowed(env, kind))
				why = "not the --probe kind";
			else
				why = ht_hook_unavailable(env, kind, target, hook->tracepoint, buf,
							  sizeof(buf));
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
	if ((load_err == -EPERM || load_err == -EACCES) && ht_seccomp_filtered())
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

/* Attach the loaded programs not attached yet, but @later; record what attached. */
static int attach(struct ht_env *env, struct bpf_object *obj, const char *later)
{
	int kept = 0, total = env->nattached;

	for (int i = 0; i < total; i++) {
		struct ht_attached a = env->attached[i];
		struct bpf_program *p;

		if (a.kind == HT_PROBE_NONE || a.kind == HT_PROBE_PERF || a.kind == HT_PROBE_ITER ||
		    (a.deferred && !env->check) || a.link || (later && !strcmp(a.prog, later))) {
			env->attached[kept++] = a;
			continue;
		}
		p = bpf_object__find_program_by_name(obj, a.prog);
		if (p && a.kind == HT_PROBE_RAW_TP) /* the hook's target: a program may serve two */
			a.link = bpf_program__attach_raw_tracepoint(p, a.target);
		else
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
		a.linked = true;
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
		a->linked = a->link != NULL;
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
	ht_bpf_skipped(env); /* up to the end: no run can start any more */
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

/* 1 << kind of each program @hook names in @obj */
static unsigned int hook_kinds(struct bpf_object *obj, const struct ht_hook *hook)
{
	unsigned int kinds = 0;
	const char *target;

	for (int c = 0; c < 6 && hook->progs[c]; c++) {
		struct bpf_program *p = bpf_object__find_program_by_name(obj, hook->progs[c]);

		if (p)
			kinds |= 1u << section_kind(bpf_program__section_name(p), &target);
	}
	return kinds;
}

void ht_bpf_check_probe(struct ht_env *env, const struct ht_skel_ops *ops,
			const struct ht_hook *hooks)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	const char *lacking = NULL;
	char kinds[64] = "";
	unsigned int have = 0;
	size_t used = 0;
	void *skel;

	if (env->probe == HT_PROBE_AUTO)
		return;
	print_env = env;
	libbpf_set_print(libbpf_print);
	skel = ops->open(&opts); /* the ELF only: no privilege, no kernel BTF */
	if (!skel)
		return; /* the open that loads says why */
	for (int h = 0; hooks[h].name; h++) {
		unsigned int k = hook_kinds(ops->object(skel), &hooks[h]);

		have |= k;
		if (!lacking && !hooks[h].optional && !(k & (1u << env->probe)))
			lacking = hooks[h].name;
	}
	ops->destroy(skel);
	if (!lacking)
		return;
	for (int k = HT_PROBE_TP_BTF; k <= HT_PROBE_KPROBE; k++)
		if ((have & (1u << k)) && used < sizeof(kinds))
			used += (size_t)snprintf(kinds + used, sizeof(kinds) - used, "%s%s",
						 used ? ", " : "", ht_probe_kind_name(k));
	fprintf(stderr, "%s: invalid %s '%s': hook %s has no %s program (this tool's kinds: %s)\n",
		env->tool, env->probe_from_env ? "HUATUO_PROBE" : "--probe",
		ht_probe_kind_name(env->probe), lacking, ht_probe_kind_name(env->probe), kinds);
	exit(HT_EX_USAGE);
}

/*
 * An object with the map "ht_tail_ready" gates its tail calls on it (netrxlat): its programs
 * that tail-call can be attached while the program they call is verified on another CPU
 * (bgload.c), as they call it only once the gate is 1, set after it is in its slots.
 */
static struct bpf_map *tail_gate(const struct bpf_object *obj)
{
	return bpf_object__find_map_by_name(obj, "ht_tail_ready");
}

static int open_tail_gate(struct ht_env *env, const struct bpf_object *obj)
{
	const struct bpf_map *gate = tail_gate(obj);
	__u32 zero = 0, one = 1;

	if (!gate || !bpf_map_update_elem(bpf_map__fd(gate), &zero, &one, BPF_ANY))
		return 0;
	ht_err(env, "internal error: cannot open the gate of the reports (map ht_tail_ready): %s",
	       strerror(errno));
	return 1;
}

int ht_bpf_open_load_attach(struct ht_env *env, const struct ht_skel_ops *ops,
			    const struct ht_hook *hooks,
			    void (*configure)(void *skel, struct ht_env *env))
{
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	void *skel;
	int err;

	if (preflight(env, &opts))
		return 1;
	ht_bgload_register();
	opts.kconfig = kconfig_fallback(env);
	/* the subset's path, known before it is made: the object is opened meanwhile */
	if (env->btf_min)
		opts.btf_custom_path = env->btf_min;
	else if (ops->elf_bytes && ht_btf_min_target())
		opts.btf_custom_path = ht_btf_min_target();
	if (ops->elf_bytes)
		ht_bgload_prewarm(ops, &opts);
	if (!env->btf_min && ops->elf_bytes) { /* a tool may have built it already */
		size_t len = 0;
		const void *elf = ops->elf_bytes(&len);

		env->btf_min = ht_btf_min(env, elf, len);
	}
	opts.btf_custom_path = env->btf_min ? env->btf_min : env->btf_path;
	for (;;) {
		unsigned int used = 0;

		skel = ht_bgload_opened(&opts, libbpf_said);
		if (!skel)
			skel = ops->open(&opts);
		if (!skel) {
			ht_err(env, "cannot open the BPF object: %s", strerror(errno));
			ht_bgload_abandon();
			return 1;
		}
		if (configure)
			configure(skel, env);
		env->nattached = 0;
		env->nmissing = 0;
		if (prepare(env, ops->object(skel), hooks))
			goto fail;
		ht_bgload_plan(ops->object(skel));
		err = ops->load(skel);
		/* the attaches (text pokes, ~0.2 ms each) while it is verified */
		if (!err && ht_bgload_pending() && tail_gate(ops->object(skel)) &&
		    attach(env, ops->object(skel), ht_bgload_pending()))
			goto fail;
		if (!err)
			err = ht_bgload_finish(env, ops->object(skel), libbpf_warn);
		else
			ht_bgload_abandon();
		if (!err)
			break;
		detach(env);
		/* no fallback gets past a seccomp filter that refuses bpf(): say so at once */
		if ((err == -EPERM || err == -EACCES) && ht_seccomp_filtered()) {
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
				"the kernel refused the BPF programs (%s); retrying with all of %s",
				strerror(-err), env->btf_path ? env->btf_path : "kernel BTF");
			env->btf_min = NULL;
			opts.btf_custom_path = env->btf_path;
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
	if (attach(env, ops->object(skel), NULL) || open_tail_gate(env, ops->object(skel)))
		goto fail;
	env->skel = skel;
	env->skel_ops = ops;
	ht_containers_attach(ops->object(skel));
	return 0;
fail:
	ht_bgload_abandon();
	detach(env);
	ops->destroy(skel);
	return 1;
}
