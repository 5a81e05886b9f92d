// SPDX-License-Identifier: GPL-2.0
/*
 * What this kernel and this process can do, found by trying rather than by version tables:
 * privilege and seccomp, tracefs and its tracepoints and fields, raw tracepoints, fentry,
 * kprobes.
 */
#include <errno.h>
#include <glob.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>

#include "huatuo.h"
#include "tool.h"

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
bool ht_seccomp_filtered(void)
{
	char buf[4096], *p;

	if (ht_read_file("/proc/self/status", buf, sizeof(buf)) <= 0)
		return false;
	p = strstr(buf, "\nSeccomp:");
	return p && strtol(p + 9, NULL, 10) == 2;
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
bool ht_tracepoint_has_field(const struct ht_env *env, const char *category, const char *event,
			     const char *field)
{
	char path[512], buf[8192], needle[128], record[160];
	const char *tfs;
	int has;

	/*
	 * the subset keeps the record with the fields hooks ask about: no tracefs to mount (an
	 * event of a class has its class's record: not found there, tracefs answers)
	 */
	snprintf(record, sizeof(record), "trace_event_raw_%s", event);
	has = env->btf_min ? ht_btf_min_has_member(record, field) : -1;
	if (has >= 0)
		return has;
	tfs = ht_tracefs();
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
bool ht_raw_tracepoint_exists(const struct ht_env *env, const char *name, const char *tracepoint)
{
	const char *tfs, *slash = tracepoint ? strchr(tracepoint, '/') : NULL;
	char pattern[512], type[256], cat[128];
	struct btf *btf;
	glob_t g;
	bool found;

	/*
	 * kernel BTF's btf_trace_<name> typedef (kept in the subset): no tracefs read, nor a
	 * mount of tracefs where it is not mounted (a mount and its unmount at exit: ~0.4 ms)
	 */
	snprintf(type, sizeof(type), "btf_trace_%s", name);
	if (env->btf_min && ht_btf_min_has(type, BTF_KIND_TYPEDEF))
		return true;
	tfs = ht_tracefs();
	/*
	 * Not in vmlinux's BTF: absent, or a module's. The event's own directory says which
	 * at the cost of one lookup; available_events is generated whole (~1 ms).
	 */
	if (tfs && slash && !strcmp(slash + 1, name) &&
	    (size_t)(slash - tracepoint) < sizeof(cat)) {
		snprintf(cat, sizeof(cat), "%.*s", (int)(slash - tracepoint), tracepoint);
		return ht_tracepoint_exists(cat, name);
	}
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

/* Why @kind/@target cannot run here, or NULL if it can. */
const char *ht_hook_unavailable(const struct ht_env *env, enum ht_probe_kind kind,
				const char *target, const char *tracepoint, char *buf, size_t len)
{
	char cat[128];
	const char *slash;
	int err;

	switch (kind) {
	case HT_PROBE_TP_BTF:
	case HT_PROBE_RAW_TP:
		if (!ht_raw_tracepoint_exists(env, target, tracepoint))
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
