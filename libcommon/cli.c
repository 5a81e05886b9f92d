// SPDX-License-Identifier: GPL-2.0
/*
 * The option table every tool shares: one letter means the same thing in every tool.
 * A tool's own options (its struct ht_option table, opts.c) come first, these as an argp
 * child.
 */
#include <errno.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "huatuo.h"

enum {
	OPT_COMM = 0x1000,
	OPT_CGROUP,
	OPT_CONTAINER,
	OPT_REGION,
	OPT_HOSTNAME,
	OPT_CHECK,
	OPT_PROBE,
	OPT_BUFFER_SIZE,
	OPT_BTF,
	OPT_OUTPUT_MAX,
	OPT_OUTPUT_KEEP,
	OPT_METRICS,
	OPT_INTERVAL,
};

#define INTERVAL_MAX_NS (24 * 3600 * NSEC_PER_SEC)

static struct ht_env *g_env;

static void print_version(FILE *f, struct argp_state *state)
{
	(void)state;
	fprintf(f, "%s %s (huatuo-tools, %s)\n", g_env ? g_env->tool : "huatuo", HT_VERSION,
		HT_GIT_VERSION);
}

void (*argp_program_version_hook)(FILE *, struct argp_state *) = print_version;
const char *argp_program_bug_address = "the huatuo-tools issue tracker";

struct common_opt {
	struct argp_option opt;
	unsigned int needs; /* enum ht_opt_flags, 0 = always */
};

static const struct common_opt common_opts[] = {
	{ { "json", 'j', NULL, 0, "One JSON object per line (NDJSON) instead of a table", 0 }, 0 },
	{ { "duration", 'd', "DUR", 0,
	    "Stop after DUR (30s, 5m, 1h; bare number = seconds; 0 = right after attach)", 0 },
	  0 },
	{ { "count", 'c', "N", 0, "Stop after N events", 0 }, 0 },
	{ { "threshold", 't', "DUR", 0,
	    "Report only at or above DUR (ns, us, ms, s; bare number = ms)", 0 },
	  HT_OPT_THRESHOLD },
	{ { "pid", 'p', "PID", 0, "Only events of this process (thread group id)", 0 },
	  HT_OPT_PID },
	{ { "comm", OPT_COMM, "NAME", 0, "Only events of tasks with this command name", 0 },
	  HT_OPT_COMM },
	{ { "cgroup", OPT_CGROUP, "CGROUP_PATH", 0,
	    "Only events of tasks in this cgroup or below (path under the cgroup mount)", 0 },
	  HT_OPT_CGROUP },
	{ { "container", OPT_CONTAINER, "ID|NAME", 0,
	    "Only events of this container: an id (12 to 64 hex digits, or a prefix), a "
	    "container name or a pod name; one started later is matched too",
	    0 },
	  HT_OPT_CONTAINER },
	{ { "output", 'o', "DIR", 0, "Also append JSON lines to DIR/<tracer_name>", 0 }, 0 },
	{ { "output-max", OPT_OUTPUT_MAX, "SIZE", 0, "Rotate the -o file at SIZE (default 100M)",
	    0 },
	  0 },
	{ { "output-keep", OPT_OUTPUT_KEEP, "N", 0, "Keep N rotated -o files (default 10)", 0 },
	  0 },
	{ { "metrics", OPT_METRICS, "FILE", 0,
	    "Keep Prometheus counters in FILE (node_exporter textfile format), rewritten "
	    "atomically at start, every --interval and at the end",
	    0 },
	  0 },
	{ { "interval", OPT_INTERVAL, "DUR", 0,
	    "How often --metrics is rewritten (default 15s; bare number = seconds)", 0 },
	  0 },
	{ { "region", OPT_REGION, "NAME", 0,
	    "Envelope region (default: $HUATUO_REGION, else empty)", 0 },
	  0 },
	{ { "hostname", OPT_HOSTNAME, "NAME", 0,
	    "Envelope hostname (default: $HUATUO_HOSTNAME, else this host's name, the node's when "
	    "run in a container that shares the host's pid namespace)",
	    0 },
	  0 },
	{ { "check", OPT_CHECK, NULL, 0,
	    "Load and attach, print the hooks used, detach and exit (1 if unsupported)", 0 },
	  0 },
	{ { "probe", OPT_PROBE, "KIND", 0,
	    "Force a hook kind: auto, tp_btf, raw_tp, tracepoint, fentry, kprobe "
	    "(default auto, or $HUATUO_PROBE)",
	    0 },
	  HT_OPT_BPF },
	{ { "buffer-size", OPT_BUFFER_SIZE, "SIZE", 0,
	    "Kernel ring buffer size (K, M; default 256K, power of two)", 0 },
	  HT_OPT_BPF },
	{ { "btf", OPT_BTF, "FILE", 0,
	    "Kernel BTF when /sys/kernel/btf/vmlinux is missing (or $HUATUO_BTF)", 0 },
	  HT_OPT_BPF },
	{ { "verbose", 'v', NULL, 0, "libbpf and attach diagnostics on stderr", 0 }, 0 },
	{ { NULL, 'h', NULL, OPTION_HIDDEN, "Show this help", 0 }, 0 },
};

static struct argp_option enabled_opts[ARRAY_SIZE(common_opts) + 1];

/* A tool that runs others takes the options about the run itself, not about events. */
static bool runner_option(int key)
{
	return key == 'd' || key == 'o' || key == 'v' || key == 'h';
}

void ht_usage_error(struct argp_state *state, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	argp_error(state, "%s", msg);
	exit(HT_EX_USAGE); /* argp_error exits already; keeps noreturn honest */
}

static int parse_probe(const char *s, enum ht_probe_kind *kind)
{
	static const struct {
		const char *name;
		enum ht_probe_kind kind;
	} kinds[] = {
		{ "auto", HT_PROBE_AUTO },     { "tp_btf", HT_PROBE_TP_BTF },
		{ "raw_tp", HT_PROBE_RAW_TP }, { "tracepoint", HT_PROBE_TRACEPOINT },
		{ "tp", HT_PROBE_TRACEPOINT }, { "fentry", HT_PROBE_FENTRY },
		{ "kprobe", HT_PROBE_KPROBE },
	};

	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		if (!strcmp(s, kinds[i].name)) {
			*kind = kinds[i].kind;
			return 0;
		}
	}
	return -EINVAL;
}

/* --cgroup: an existing directory, absolute or relative to the memory/unified mount. */
static int resolve_cgroup(const char *arg, uint64_t *id)
{
	const char *mounts[] = { "", NULL, "/sys/fs/cgroup/unified", "/sys/fs/cgroup" };
	char path[4096];
	struct stat st;
	bool v2;

	mounts[1] = ht_cgroup_mount("memory", &v2);
	for (size_t i = 0; i < ARRAY_SIZE(mounts); i++) {
		if (!mounts[i])
			continue;
		if (i > 0 && arg[0] != '/')
			snprintf(path, sizeof(path), "%s/%s", mounts[i], arg);
		else if (i > 0)
			snprintf(path, sizeof(path), "%s%s", mounts[i], arg);
		else
			snprintf(path, sizeof(path), "%s", arg);
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			*id = st.st_ino;
			return 0;
		}
	}
	return -ENOENT;
}

/* --metrics FILE: a file name in an existing directory. */
static void check_metrics_path(struct argp_state *state, const char *arg)
{
	char dir[4096];
	struct stat st;
	char *slash;

	if (!*arg)
		ht_usage_error(state, "invalid --metrics '': expected a file name");
	snprintf(dir, sizeof(dir), "%s", arg);
	slash = strrchr(dir, '/');
	if (slash && !slash[1])
		ht_usage_error(state,
			       "invalid --metrics '%s': expected a file name, not a directory",
			       arg);
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	if (stat(dir, &st) || !S_ISDIR(st.st_mode))
		ht_usage_error(state, "invalid --metrics '%s': directory %s does not exist", arg,
			       dir);
	if (!stat(arg, &st) && S_ISDIR(st.st_mode))
		ht_usage_error(state, "invalid --metrics '%s': is a directory", arg);
}

/*
 * Why @path cannot serve as kernel BTF, or NULL: raw BTF (what /sys/kernel/btf/vmlinux holds,
 * magic 0xeB9F) or an ELF file with a .BTF section (a vmlinux with debug info).
 */
static const char *btf_file_problem(const char *path)
{
	static char why[128];
	const unsigned char *head;
	const void *image, *sec;
	struct stat st;
	size_t len = 0;
	bool raw, elf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st)) {
		snprintf(why, sizeof(why), "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return why;
	}
	/* mapped, not read: a start that uses the cached subset reads nothing of it */
	head = st.st_size >= 4 ? mmap(NULL, 4, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
	if (head == MAP_FAILED) {
		close(fd);
		return "not a BTF file (expected raw BTF like /sys/kernel/btf/vmlinux, or an ELF "
		       "vmlinux with .BTF)";
	}
	raw = (head[0] == 0x9f && head[1] == 0xeb) || (head[0] == 0xeb && head[1] == 0x9f);
	elf = !memcmp(head, "\177ELF", 4);
	munmap((void *)head, 4);
	if (raw || !elf) {
		close(fd);
		return raw ? NULL :
			     "not a BTF file (expected raw BTF like /sys/kernel/btf/vmlinux, or an "
			     "ELF vmlinux with .BTF)";
	}
	/* the section headers only (mapped): the BTF in it is walked when the subset is made */
	image = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	sec = image != MAP_FAILED ? ht_elf_section(image, (size_t)st.st_size, ".BTF", &len) : NULL;
	if (image != MAP_FAILED)
		munmap((void *)image, (size_t)st.st_size);
	return sec && len ? NULL : "an ELF file without a .BTF section";
}

static error_t common_parser(int key, char *arg, struct argp_state *state)
{
	struct ht_env *env = g_env;
	uint64_t v;
	int err;

	switch (key) {
	case 'j':
		env->json = true;
		break;
	case 'd':
		err = ht_parse_duration(arg, NSEC_PER_SEC, &env->duration_ns);
		if (err)
			ht_usage_error(state, "invalid --duration '%s': %s (e.g. 30s, 5m, 500ms)",
				       arg, err == -ERANGE ? "too large" : "not a duration");
		env->duration_set = true;
		break;
	case 'c':
		err = ht_parse_u64(arg, 1, UINT32_MAX, &env->count);
		if (err)
			ht_usage_error(state,
				       "invalid --count '%s': expected a number from 1 to %u", arg,
				       UINT32_MAX);
		break;
	case 't':
		err = ht_parse_duration(arg, NSEC_PER_MSEC, &env->threshold_ns);
		if (err || !env->threshold_ns || env->threshold_ns > 3600 * NSEC_PER_SEC)
			ht_usage_error(state,
				       "invalid --threshold '%s': expected a duration above 0 and "
				       "at most 1h (e.g. 100ms, 2s; bare number = ms)",
				       arg);
		env->threshold_set = true;
		break;
	case 'p':
		err = ht_parse_u64(arg, 1, 4194304, &v);
		if (err)
			ht_usage_error(state, "invalid --pid '%s': expected a process id", arg);
		env->pid = (pid_t)v;
		break;
	case OPT_COMM:
		if (!*arg || strlen(arg) > 15)
			ht_usage_error(state,
				       "invalid --comm '%s': expected 1 to 15 characters (the "
				       "kernel's comm length)",
				       arg);
		env->comm = arg;
		break;
	case OPT_CGROUP:
		if (!*arg || resolve_cgroup(arg, &env->cgroup_id))
			ht_usage_error(state, "invalid --cgroup '%s': no such cgroup directory",
				       arg);
		env->cgroup = arg;
		break;
	case OPT_CONTAINER:
		if (!ht_name_valid(arg))
			ht_usage_error(
				state,
				"invalid --container '%s': expected a container id (12 to 64 "
				"hex digits), a container name or a pod name (letters, digits, "
				"'.', '_', '-'; at most 253)",
				arg);
		env->container = arg;
		break;
	case 'o':
		if (!*arg)
			ht_usage_error(state, "invalid --output '': expected a directory");
		env->output_dir = arg;
		break;
	case OPT_OUTPUT_MAX:
		err = ht_parse_size(arg, &env->output_max_bytes);
		if (err || env->output_max_bytes < 4096)
			ht_usage_error(state,
				       "invalid --output-max '%s': expected a size of at "
				       "least 4K (e.g. 100M)",
				       arg);
		break;
	case OPT_OUTPUT_KEEP:
		err = ht_parse_u64(arg, 0, 1000, &v);
		if (err)
			ht_usage_error(state, "invalid --output-keep '%s': expected 0 to 1000",
				       arg);
		env->output_keep = (unsigned int)v;
		break;
	case OPT_METRICS:
		check_metrics_path(state, arg);
		env->metrics_path = arg;
		break;
	case OPT_INTERVAL:
		env->interval_ns = ht_opt_duration(state, "interval", arg, NSEC_PER_SEC,
						   NSEC_PER_SEC, INTERVAL_MAX_NS);
		env->interval_set = true;
		break;
	case ARGP_KEY_END:
		if (env->interval_set && !env->metrics_path &&
		    !(env->opt_flags & HT_OPT_OWN_INTERVAL))
			ht_usage_error(state, "invalid --interval: only meaningful with --metrics");
		return ARGP_ERR_UNKNOWN;
	case OPT_HOSTNAME:
		if (!ht_name_valid(arg))
			ht_usage_error(
				state,
				"invalid --hostname '%s': expected 1 to 253 letters, digits, "
				"'.', '-' or '_'",
				arg);
		ht_set_hostname(arg);
		break;
	case OPT_REGION:
		env->region = arg;
		break;
	case OPT_CHECK:
		env->check = true;
		break;
	case OPT_PROBE:
		env->probe_from_env = false;
		if (parse_probe(arg, &env->probe))
			ht_usage_error(state,
				       "invalid --probe '%s': expected auto, tp_btf, raw_tp, "
				       "tracepoint, fentry or kprobe",
				       arg);
		break;
	case OPT_BUFFER_SIZE:
		err = ht_parse_size(arg, &env->buffer_bytes);
		if (err || env->buffer_bytes < 4096 || env->buffer_bytes > (1ULL << 30) ||
		    (env->buffer_bytes & (env->buffer_bytes - 1)))
			ht_usage_error(
				state,
				"invalid --buffer-size '%s': expected a power of two from 4K "
				"to 1G",
				arg);
		env->buffer_set = true;
		break;
	case OPT_BTF: {
		const char *why = btf_file_problem(arg);

		if (why)
			ht_usage_error(state, "invalid --btf '%s': %s", arg, why);
		env->btf_path = arg;
		break;
	}
	case 'v':
		env->verbose++;
		break;
	case 'h':
		argp_state_help(state, stdout, ARGP_HELP_STD_HELP);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

void ht_parse_args(struct ht_env *env, const struct ht_tool *tool, int argc, char **argv)
{
	static struct argp common_argp = {
		enabled_opts, common_parser, NULL, NULL, NULL, NULL, NULL
	};
	static struct argp_child children[] = {
		{ &common_argp, 0, "Common options:", 1 },
		{ NULL, 0, NULL, 0 },
	};
	struct argp argp = { 0 };
	const char *probe_env = getenv("HUATUO_PROBE");
	size_t n = 0;

	if (tool->name)
		env->tool = tool->name;
	env->tracer_name = tool->tracer_name ? tool->tracer_name : env->tool + strlen("huatuo-");
	env->what = tool->what;
	env->opt_flags |= tool->opt_flags;
	env->threshold_ns = tool->threshold_ns;
	env->btf_keep = tool->btf_keep;
	env->hooks = tool->hooks;
	env->kconfig_hz = tool->kconfig_hz;
	g_env = env;
	/* argp names the program in its messages: the tool, not the path it was run by */
	program_invocation_name = program_invocation_short_name = (char *)env->tool;
	for (size_t i = 0; i < ARRAY_SIZE(common_opts); i++) {
		const struct common_opt *o = &common_opts[i];

		if (env->opt_flags & HT_OPT_RUNNER ?
			    !runner_option(o->opt.key) :
			    (o->needs && !(env->opt_flags & o->needs)) ||
				    (o->opt.key == OPT_INTERVAL &&
				     (env->opt_flags & HT_OPT_OWN_INTERVAL)))
			continue;
		enabled_opts[n++] = o->opt;
	}
	for (const struct ht_opt_doc *od = tool->opt_docs; od && od->name; od++)
		for (size_t i = 0; i < n; i++)
			if (enabled_opts[i].name && !strcmp(enabled_opts[i].name, od->name))
				enabled_opts[i].doc = od->doc;
	memset(&enabled_opts[n], 0, sizeof(enabled_opts[n]));

	argp = *ht_tool_argp(tool);
	argp.children = children;

	ht_json_pool_init();
	env->region = getenv("HUATUO_REGION") ? getenv("HUATUO_REGION") : "";
	env->output_max_bytes = 100ULL << 20;
	env->output_keep = 10;
	env->buffer_bytes = 256 << 10;
	if (probe_env && *probe_env && parse_probe(probe_env, &env->probe)) {
		fprintf(stderr,
			"%s: invalid HUATUO_PROBE '%s': expected auto, tp_btf, raw_tp, "
			"tracepoint, fentry or kprobe\n",
			env->tool, probe_env);
		exit(HT_EX_USAGE);
	}
	env->probe_from_env = env->probe != HT_PROBE_AUTO;

	if (getenv("HUATUO_HOSTNAME") && *getenv("HUATUO_HOSTNAME")) {
		if (!ht_name_valid(getenv("HUATUO_HOSTNAME"))) {
			fprintf(stderr,
				"%s: invalid HUATUO_HOSTNAME '%s': expected 1 to 253 letters, digits, "
				"'.', '-' or '_'\n",
				env->tool, getenv("HUATUO_HOSTNAME"));
			exit(HT_EX_USAGE);
		}
		ht_set_hostname(getenv("HUATUO_HOSTNAME"));
	}

	/* $HUATUO_BTF: a default --btf */
	env->btf_path = getenv("HUATUO_BTF") && *getenv("HUATUO_BTF") ? getenv("HUATUO_BTF") : NULL;
	if (env->btf_path && btf_file_problem(env->btf_path)) {
		fprintf(stderr, "%s: invalid HUATUO_BTF '%s': %s\n", env->tool, env->btf_path,
			btf_file_problem(env->btf_path));
		exit(HT_EX_USAGE);
	}
	argp_parse(&argp, argc, argv, 0, NULL, env);
	/* which build this is, for whoever collects the diagnostics (huatuo-capture's tools.txt) */
	ht_info(env, "version %s (huatuo-tools, %s)", HT_VERSION, HT_GIT_VERSION);
	/*
	 * Fully buffered: the run loop flushes stdout after every poll round (ht_flush), so a
	 * storm costs one write(2) per round and an event still shows up within the round.
	 */
	setvbuf(stdout, NULL, _IOFBF, 64 * 1024);
}

/* "1h", "30m", "90s", "250ms", "20us", "5ns": the largest unit that divides @ns. */
static const char *short_duration(uint64_t ns, char *buf, size_t len)
{
	static const struct {
		uint64_t ns;
		const char *unit;
	} units[] = { { 3600 * NSEC_PER_SEC, "h" }, { 60 * NSEC_PER_SEC, "m" },
		      { NSEC_PER_SEC, "s" },	    { NSEC_PER_MSEC, "ms" },
		      { NSEC_PER_USEC, "us" },	    { 1, "ns" } };

	snprintf(buf, len, "0");
	for (size_t i = 0; ns && i < ARRAY_SIZE(units); i++)
		if (ns % units[i].ns == 0) {
			snprintf(buf, len, "%llu%s", (unsigned long long)(ns / units[i].ns),
				 units[i].unit);
			break;
		}
	return buf;
}

uint64_t ht_opt_duration(struct argp_state *state, const char *opt, const char *arg,
			 uint64_t bare_unit_ns, uint64_t min_ns, uint64_t max_ns)
{
	char lo[32], hi[32];
	uint64_t ns;

	if (ht_parse_duration(arg, bare_unit_ns, &ns) || ns < min_ns || ns > max_ns)
		ht_usage_error(state,
			       "invalid --%s '%s': expected a duration from %s to %s (ns, us, ms, "
			       "s, m, h; bare number = %s)",
			       opt, arg, short_duration(min_ns, lo, sizeof(lo)),
			       short_duration(max_ns, hi, sizeof(hi)),
			       bare_unit_ns == NSEC_PER_SEC  ? "seconds" :
			       bare_unit_ns == NSEC_PER_MSEC ? "ms" :
							       "ns");
	return ns;
}

uint64_t ht_opt_u64(struct argp_state *state, const char *opt, const char *arg, uint64_t min,
		    uint64_t max)
{
	uint64_t v;

	if (ht_parse_u64(arg, min, max, &v))
		ht_usage_error(state, "invalid --%s '%s': expected a number from %llu to %llu", opt,
			       arg, (unsigned long long)min, (unsigned long long)max);
	return v;
}
