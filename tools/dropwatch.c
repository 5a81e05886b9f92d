// SPDX-License-Identifier: GPL-2.0
/*
 * huatuo-dropwatch: every packet the kernel stack drops (skb:kfree_skb), with the kernel's
 * drop reason, where it was dropped, the packet's addresses and ports and the kernel stack;
 * or, with --summary, a periodic table of drops by reason and location.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "huatuo.h"
#include "dropwatch.h"
#include "dropwatch.skel.h"

#define REASON_PREFIX "SKB_DROP_REASON_"
#define MAX_REASON_ARGS 64

static struct {
	const char *reasons[MAX_REASON_ARGS];
	int nreasons;
	const char *excluded[MAX_REASON_ARGS];
	int nexcluded;
	uint8_t proto;
	uint8_t saddr[16], daddr[16], saddr_family, daddr_family;
	uint16_t port;
	uint32_t netns;
	uint32_t rate;
	bool summary;
	bool stack;
} opts = { .rate = 100 };

#define SUMMARY_INTERVAL_DEFAULT_NS (5 * NSEC_PER_SEC)

static const char doc[] =
	"Report packets the kernel drops (skb:kfree_skb): drop reason, location, addresses, "
	"ports, device and kernel stack; or a periodic table of drops by reason and location.\n"
	"\v"
	"Reasons are the kernel's own names (enum skb_drop_reason, read from BTF), e.g. "
	"NO_SOCKET, NETFILTER_DROP, TCP_CSUM. Every reason the kernel counts as a drop is "
	"reported; NOT_SPECIFIED (drops no code path has named yet) is frequent and can be "
	"hidden with --exclude-reason NOT_SPECIFIED.\n\n"
	"Examples:\n"
	"  huatuo-dropwatch                         # table of drops, 100/s at most\n"
	"  huatuo-dropwatch --summary               # drops by reason and location every 5s\n"
	"  huatuo-dropwatch -j --proto tcp --port 443\n"
	"  huatuo-dropwatch --reason NETFILTER_DROP,NO_SOCKET --netns blue\n"
	"  huatuo-dropwatch --exclude-reason NOT_SPECIFIED --stack\n"
	"  huatuo-dropwatch -j --rate 0 -o /var/log/huatuo   # everything, kept on disk\n";

/* --reason, --exclude-reason: checked against the kernel's names once parsing is done */
static void add_reasons(struct argp_state *state, const struct ht_option *o, const char *arg)
{
	const char **list = o->dest;
	int *n = list == opts.reasons ? &opts.nreasons : &opts.nexcluded;

	if (!arg[strspn(arg, ", ")])
		ht_usage_error(state, "invalid --%s '': expected reason names", o->name);
	if (*n >= MAX_REASON_ARGS)
		ht_usage_error(state, "too many --%s options (at most %d)", o->name,
			       MAX_REASON_ARGS);
	list[(*n)++] = arg;
}

static void parse_proto(struct argp_state *state, const struct ht_option *o, const char *arg)
{
	static const struct {
		const char *name;
		uint8_t proto;
	} protos[] = { { "tcp", DW_PROTO_TCP },
		       { "udp", DW_PROTO_UDP },
		       { "icmp", DW_PROTO_ICMP } };

	for (size_t i = 0; i < ARRAY_SIZE(protos); i++) {
		if (!strcasecmp(arg, protos[i].name)) {
			*(uint8_t *)o->dest = protos[i].proto;
			return;
		}
	}
	ht_usage_error(state, "invalid --%s '%s': expected tcp, udp or icmp", o->name, arg);
}

static void parse_addr(struct argp_state *state, const struct ht_option *o, const char *arg)
{
	uint8_t *family = o->dest == opts.saddr ? &opts.saddr_family : &opts.daddr_family;

	if (ht_parse_addr(arg, o->dest, family))
		ht_usage_error(state, "invalid --%s '%s': expected an IPv4 or IPv6 address",
			       o->name, arg);
}

/* the summary's period, and --metrics' (ht_metrics_interval_ns) */
static void parse_interval(struct argp_state *state, const struct ht_option *o, const char *arg)
{
	struct ht_env *env = state->input;

	env->interval_ns = ht_opt_duration(state, o->name, arg, NSEC_PER_SEC, 100 * NSEC_PER_MSEC,
					   24 * 3600 * NSEC_PER_SEC);
	env->interval_set = true;
}

static const struct ht_option options[] = {
	HT_CALL("reason", "NAME[,NAME]", add_reasons, opts.reasons,
		"Only these drop reasons (repeatable; names or numbers)"),
	HT_CALL("exclude-reason", "NAME[,NAME]", add_reasons, opts.excluded,
		"Not these drop reasons (repeatable)"),
	HT_CALL("proto", "tcp|udp|icmp", parse_proto, &opts.proto,
		"Only IPv4/IPv6 packets of this protocol"),
	HT_CALL("saddr", "ADDR", parse_addr, opts.saddr,
		"Only packets from this IPv4/IPv6 address"),
	HT_CALL("daddr", "ADDR", parse_addr, opts.daddr, "Only packets to this IPv4/IPv6 address"),
	HT_UINT("port", "PORT", &opts.port, 1, 65535,
		"Only TCP/UDP packets with this source or destination port"),
	HT_NETNS("netns", "NAME|PATH|INODE", &opts.netns,
		 "Only packets of this network namespace (name in /run/netns, /proc/PID/ns/net, "
		 "inode)"),
	HT_UINT("rate", "N", &opts.rate, 0, 10000000,
		"Report at most N drops per second, counting the rest (default 100, 0 = no "
		"limit)"),
	HT_FLAG("summary", &opts.summary,
		"No per-packet lines: every --interval, drops by reason and location (exact "
		"counts)"),
	HT_CALL("interval", "DUR", parse_interval, NULL,
		"Summary interval (default 5s), and how often --metrics is rewritten (default "
		"15s); bare number = s"),
	HT_FLAG("stack", &opts.stack, "Print the kernel stack under each table row"),
	{ 0 }
};

static void options_done(struct argp_state *state, struct ht_env *env)
{
	if (env->interval_set && !opts.summary && !env->metrics_path)
		ht_usage_error(state, "--interval only applies to --summary and --metrics");
	if (opts.stack && opts.summary)
		ht_usage_error(state, "--stack and --summary exclude each other");
	/* the summary counts drops in the kernel, none goes through user space's lookup */
	if (opts.summary && env->container)
		ht_usage_error(state, "--container and --summary exclude each other");
}

/*
 * Every drop whose reason is wanted (at most --rate reported), or the programs with the
 * filters, --container and --summary (bpf/dropwatch.bpf.c): the first load faster. The
 * 4-argument flavours need rx_sk (6.11+), the 3-argument ones the reason (5.17+).
 */
#define DW_HOOKS(prefix)                                                                   \
	{                                                                                  \
		{ .name = "kfree_skb",                                                     \
		  .progs = { prefix "_btf", prefix "_btf3", prefix "_raw", prefix "_raw3", \
			     prefix "_tp" },                                               \
		  .tracepoint = "skb/kfree_skb",                                           \
		  .needs_field = { "rx_sk", "reason", "rx_sk", "reason" } },               \
			{ 0 },                                                             \
	}
static const struct ht_hook hooks[] = DW_HOOKS("dropwatch"),
			    filtered_hooks[] = DW_HOOKS("dropfilt");

/* A filter on the task or the packet (not the reason: every program has that one). */
static bool task_or_packet_filter(const struct ht_env *env)
{
	return opts.proto || opts.port || opts.saddr_family || opts.daddr_family || env->pid ||
	       env->comm || opts.netns;
}

/* The dropfilt_* programs: a filter, --summary, or --container and --cgroup (libcommon). */
static bool filtered(const struct ht_env *env)
{
	return task_or_packet_filter(env) || opts.summary || env->cgroup_id || env->container;
}

/*
 * Drop reasons: the core ones (enum skb_drop_reason) below 0x10000; since 6.0 a subsystem
 * (enum skb_drop_reason_subsys: mac80211, openvswitch) has subsystem << 16 | code, named by
 * its own enum (mac80211_drop_reason, ovs_drop_reason) in kernel or module BTF.
 */
#define SUBSYS_PREFIX "SKB_DROP_REASON_SUBSYS_"
#define SUBSYS_SHIFT 16
#define MAX_SUBSYS 16

/* the names of the running kernel, empty if BTF is not readable */
static struct ht_enum_names reasons, subsystems;
static bool reasons_loaded;
static struct {
	bool loaded;
	struct ht_enum_names names; /* by code */
} subsys[MAX_SUBSYS];

static void load_reasons(const struct ht_env *env)
{
	int err;

	if (reasons_loaded)
		return;
	reasons_loaded = true;
	err = ht_btf_enum_names(env, "skb_drop_reason", REASON_PREFIX, &reasons);
	if (err)
		ht_info(env, "no drop reason names from BTF (%s): reporting numbers",
			strerror(-err));
	if (!err && ht_btf_enum_names(env, "skb_drop_reason_subsys", SUBSYS_PREFIX, &subsystems))
		ht_info(env, "no drop reason subsystems in BTF: subsystem reasons are numbers");
}

/* A subsystem's own reason names, read from all of kernel BTF at the first need. */
static const struct ht_enum_names *subsys_names(const struct ht_env *env, uint32_t s)
{
	if (s >= MAX_SUBSYS)
		return NULL;
	if (!subsys[s].loaded) {
		subsys[s].loaded = true;
		if (ht_btf_enum_range(env, "drop_reason", s << SUBSYS_SHIFT, &subsys[s].names))
			ht_info(env, "cannot read subsystem %u's drop reasons from BTF", s);
	}
	return &subsys[s].names;
}

/* A subsystem that can hand out reasons: not CORE (0) and not the NUM sentinel. */
static const char *subsys_name(uint32_t s)
{
	const char *name = ht_enum_name(&subsystems, s);

	return s && name && strcmp(name, "NUM") ? name : NULL;
}

static const char *reason_name(const struct ht_env *env, uint32_t reason, char *buf, size_t len)
{
	uint32_t s = reason >> SUBSYS_SHIFT, code = reason & 0xffff;
	const char *name;

	if (reason == ~0U)
		return "NOT_SUPPORTED"; /* kernel without drop reasons (< 5.17) */
	if (!s && (name = ht_enum_name(&reasons, reason)))
		return name;
	if (s && subsys_name(s)) {
		name = ht_enum_name(subsys_names(env, s), code);
		if (name)
			return name;
		snprintf(buf, len, "SUBSYS_%s:%u", subsys_name(s), code);
		return buf;
	}
	snprintf(buf, len, "%u", reason);
	return buf;
}

/* HUATUO's type: a specific class where the reason tells one, else common_drop. */
static const char *drop_type(const char *reason)
{
	if (!strcmp(reason, "TCP_LISTEN_OVERFLOW"))
		return "accept_queue_overflow";
	return "common_drop";
}

/* Is @v a reason skb:kfree_skb can carry here? */
static bool reason_exists(const struct ht_env *env, uint32_t v)
{
	uint32_t s = v >> SUBSYS_SHIFT, code = v & 0xffff;
	const struct ht_enum_names *sub;
	const char *name;

	if (!s) {
		/* NOT_DROPPED_YET and CONSUMED are no drops; MAX is no reason */
		if (!reasons.n)
			return true; /* no names to check against */
		name = ht_enum_name(&reasons, v);
		return v > 1 && name && strcmp(name, "MAX");
	}
	if (!subsys_name(s) || !code)
		return false;
	sub = subsys_names(env, s);
	if (!sub->n) /* its module is not loaded: any code */
		return true;
	name = ht_enum_name(sub, code);
	return name && (strlen(name) < 4 || strcmp(name + strlen(name) - 4, "_MAX"));
}

/* A --reason value: a reason's name (core or subsystem), SUBSYS_<NAME>:<code> or a number. */
static int parse_reason(const struct ht_env *env, const char *tok, uint32_t *v)
{
	char sname[64];
	unsigned int code;
	int end = 0;
	uint64_t num;

	if (!ht_parse_u64(tok, 0, UINT32_MAX, &num) ||
	    (sscanf(tok, "0x%" SCNx64 "%n", &num, &end) == 1 && !tok[end] && num <= UINT32_MAX)) {
		*v = (uint32_t)num;
	} else if (!ht_enum_value(&reasons, tok, REASON_PREFIX, v)) {
		/* a core name */
	} else if (sscanf(tok, "SUBSYS_%63[A-Z0-9_]:%u%n", sname, &code, &end) == 2 && !tok[end] &&
		   code <= 0xffff && !ht_enum_value(&subsystems, sname, SUBSYS_PREFIX, v)) {
		*v = *v << SUBSYS_SHIFT | code;
	} else {
		for (uint32_t s = 1; s < subsystems.n && s < MAX_SUBSYS; s++) {
			uint32_t c;

			if (subsys_name(s) && !ht_enum_value(subsys_names(env, s), tok, NULL, &c)) {
				*v = s << SUBSYS_SHIFT | c;
				return reason_exists(env, *v) ? 0 : -ENOENT;
			}
		}
		return -ENOENT;
	}
	return reason_exists(env, *v) ? 0 : -ENOENT;
}

/* What --reason and --exclude-reason leave, for the kernel's reason_wanted and reason_high. */
static struct {
	uint8_t core[DW_REASON_SLOTS];
	uint32_t high[DW_REASON_HIGH_MAX];
	uint8_t high_wanted[DW_REASON_HIGH_MAX];
	int nhigh;
	bool high_default; /* subsystem reasons not named */
} filter;

static void __attribute__((noreturn))
reason_usage(const struct ht_env *env, bool include, const char *tok, const char *why)
{
	ht_err(env, "invalid --%s '%s': %s", include ? "reason" : "exclude-reason", tok, why);
	exit(HT_EX_USAGE);
}

static void mark_reason(const struct ht_env *env, bool include, const char *tok)
{
	uint32_t v;
	int i;

	if (parse_reason(env, tok, &v))
		reason_usage(env, include, tok,
			     "no such drop reason on this kernel (see "
			     "/sys/kernel/tracing/events/skb/kfree_skb/format)");
	if (v < DW_REASON_SLOTS) {
		filter.core[v] = include;
		return;
	}
	for (i = 0; i < filter.nhigh && filter.high[i] != v; i++)
		;
	if (i == DW_REASON_HIGH_MAX)
		reason_usage(env, include, tok, "too many subsystem reasons (at most 64)");
	filter.high[i] = v;
	filter.high_wanted[i] = include;
	if (i == filter.nhigh)
		filter.nhigh++;
}

/* Apply the comma-separated --reason, then --exclude-reason lists; exits 64 on a bad one. */
static void build_filter(const struct ht_env *env)
{
	bool any = false;

	/* SKB_NOT_DROPPED_YET and SKB_CONSUMED: the kernel itself says these are no drops */
	memset(filter.core, opts.nreasons ? 0 : 1, sizeof(filter.core));
	filter.core[0] = filter.core[1] = 0;
	filter.high_default = !opts.nreasons;
	for (int pass = 0; pass < 2; pass++) {
		const char *const *list = pass ? opts.excluded : opts.reasons;
		int n = pass ? opts.nexcluded : opts.nreasons;

		for (int i = 0; i < n; i++) {
			char *copy = strdup(list[i]), *save = NULL;

			for (char *tok = copy ? strtok_r(copy, ",", &save) : NULL; tok;
			     tok = strtok_r(NULL, ",", &save))
				mark_reason(env, !pass, tok);
			free(copy);
		}
	}
	for (int i = 0; i < DW_REASON_SLOTS && !any; i++)
		any = filter.core[i];
	for (int i = 0; i < filter.nhigh && !any; i++)
		any = filter.high_wanted[i];
	if (!any && !filter.high_default)
		reason_usage(env, false, opts.excluded[0],
			     "it excludes every --reason given: nothing would be reported");
}

/* Subsystem reasons named by --reason or --exclude-reason (the core ones are rodata). */
static int fill_reason_map(struct ht_env *env, struct dropwatch_bpf *skel)
{
	int high = bpf_map__fd(skel->maps.reason_high);

	for (int i = 0; i < filter.nhigh; i++) {
		if (bpf_map_update_elem(high, &filter.high[i], &filter.high_wanted[i], BPF_ANY)) {
			ht_err(env, "cannot set the drop reason filter: %s", strerror(errno));
			return 1;
		}
	}
	return 0;
}

/* "10.0.0.1:80", "[fd00::1]:80", or "-" when the packet is not IP; @port in network order */
static void fmt_endpoint(char *buf, size_t len, uint8_t family, const char *addr, uint16_t port)
{
	if (family == 6)
		snprintf(buf, len, "[%s]:%u", addr, ntohs(port));
	else if (family)
		snprintf(buf, len, "%s:%u", addr, ntohs(port));
	else
		snprintf(buf, len, "-");
}

/* @row and, indented under it, the lines of @stack (malloc'd); NULL without a stack. */
static char *with_stack(const char *row, size_t row_len, const char *stack)
{
	size_t len = row_len + (stack ? strlen(stack) * 2 : 0) + 64, n = row_len;
	char *text = stack && *stack ? malloc(len) : NULL;

	if (!text)
		return NULL;
	memcpy(text, row, row_len + 1);
	for (const char *p = stack; *p;) {
		size_t l = strcspn(p, "\n");

		n += (size_t)snprintf(text + n, len - n, "\t%.*s\n", (int)l, p);
		p += l + (p[l] == '\n');
	}
	return text;
}

static int handle_event(struct ht_env *env, void *ctx, const void *data, size_t size)
{
	const struct drop_event *e = data;
	const struct ht_ksyms *ks = ht_kernel_ksyms();
	char comm[HT_COMM_LEN * 3 + 1], pcomm[HT_COMM_LEN] = "", ifname[DW_IFNAMSIZ * 3 + 1];
	char saddr[64], daddr[64], src[80] = "", dst[80] = "";
	char loc[160], num[48], flags[40], eth[24], row[1024];
	const char *reason, *proto;
	char *stack, *text = NULL;
	struct ht_container ct;
	int nr, skip, err;
	cJSON *d;

	(void)ctx;
	/* the kernel sends only the stack frames it took (bpf/dropwatch.bpf.c) */
	if (size < offsetof(struct drop_event, ips))
		return 0;
	if (!ht_attribute(env, e->cgroup_id, e->netns_inum, NULL, &ct, NULL, 0))
		return 0;
	load_reasons(env);
	reason = reason_name(env, e->reason, num, sizeof(num));
	nr = e->nr < HT_STACK_DEPTH ? e->nr : HT_STACK_DEPTH;
	if ((size_t)nr > (size - offsetof(struct drop_event, ips)) / sizeof(e->ips[0]))
		nr = (int)((size - offsetof(struct drop_event, ips)) / sizeof(e->ips[0]));
	skip = ht_stack_skip_tracing(ks, (const uint64_t *)e->ips, nr);
	stack = ht_stack_string(ks, (const uint64_t *)e->ips + skip, nr - skip);
	ht_ksyms_format(ks, e->location, loc, sizeof(loc));
	ht_utf8_sanitize(e->comm, sizeof(e->comm), comm, sizeof(comm));
	ht_utf8_sanitize(e->ifname, sizeof(e->ifname), ifname, sizeof(ifname));
	ht_fmt_addr(e->saddr, e->family, saddr, sizeof(saddr));
	ht_fmt_addr(e->daddr, e->family, daddr, sizeof(daddr));
	proto = ht_ip_proto_name(e->l4_proto);
	ht_fmt_hex(e->eth_proto, eth);

	d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "type", drop_type(reason));
	cJSON_AddStringToObject(d, "comm", comm);
	cJSON_AddNumberToObject(d, "pid", e->pid);
	cJSON_AddNumberToObject(d, "tid", e->tid);
	cJSON_AddStringToObject(d, "reason", reason);
	cJSON_AddNumberToObject(d, "reason_code", e->reason == ~0U ? -1 : (double)e->reason);
	cJSON_AddStringToObject(d, "location", loc);
	ht_json_add_hex(d, "drop_location", e->location);
	cJSON_AddStringToObject(d, "family",
				e->family == 4 ? "ipv4" :
				e->family == 6 ? "ipv6" :
						 "");
	cJSON_AddStringToObject(d, "eth_proto", eth);
	if (proto)
		cJSON_AddStringToObject(d, "proto", proto);
	else
		cJSON_AddNumberToObject(d, "proto", e->l4_proto);
	cJSON_AddStringToObject(d, "saddr", saddr);
	cJSON_AddStringToObject(d, "daddr", daddr);
	cJSON_AddNumberToObject(d, "sport", ntohs(e->sport));
	cJSON_AddNumberToObject(d, "dport", ntohs(e->dport));
	if (e->l4_proto == 6) {
		cJSON_AddNumberToObject(d, "seq", e->tcp_seq);
		cJSON_AddNumberToObject(d, "ack_seq", e->tcp_ack_seq);
		cJSON_AddStringToObject(d, "tcp_flags",
					ht_tcp_flags(e->tcp_flags, flags, sizeof(flags)));
		cJSON_AddStringToObject(d, "state", ht_tcp_state_name(e->sk_state));
	}
	cJSON_AddStringToObject(d, "ifname", ifname);
	cJSON_AddNumberToObject(d, "ifindex", e->ifindex);
	cJSON_AddNumberToObject(d, "queue_mapping", e->queue_mapping);
	cJSON_AddNumberToObject(d, "pkt_len", e->pkt_len);
	cJSON_AddNumberToObject(d, "netns_inum", e->netns_inum);
	ht_json_add_hex(d, "skb_addr", e->skb_addr);
	cJSON_AddStringToObject(d, "stack", stack ? stack : "");
	/* HUATUO's 2026 names, alongside the contract's */
	cJSON_AddStringToObject(d, "drop_reason", reason);
	cJSON_AddStringToObject(d, "netdev_name", ifname);
	cJSON_AddNumberToObject(d, "packet_len_bytes", e->pkt_len);
	cJSON_AddNumberToObject(d, "net_namespace_inum", e->netns_inum);

	if (!env->json) { /* the row's columns: not worth formatting for JSON */
		ht_printable(e->comm, sizeof(e->comm), pcomm, sizeof(pcomm));
		fmt_endpoint(src, sizeof(src), e->family, saddr, e->sport);
		fmt_endpoint(dst, sizeof(dst), e->family, daddr, e->dport);
	}
	if (env->json) {
		err = ht_emit_text(env, d, &ct, "auto", NULL);
	} else {
		size_t n = ht_fmt_row(env, &ct, row, sizeof(row),
				      "%-16s %-7u %-20s %-28s %-5s %-23s %-23s %-8s %u", pcomm,
				      e->pid, reason, loc, proto ? proto : "-", src, dst,
				      e->ifname[0] ? e->ifname : "-", e->pkt_len);

		text = opts.stack ? with_stack(row, n, stack) : NULL;
		err = ht_emit_text(env, d, &ct, "auto", text ? text : row);
	}
	free(text);
	free(stack);
	return err;
}

/* ---- --summary: exact counts kept in the kernel, diffed every interval ---- */

struct count {
	struct drop_key key;
	uint64_t total;
};

struct row {
	uint32_t reason;
	const char *func; /* location's symbol, or its address as text */
	char addr[20];
	uint64_t count;
};

static struct {
	struct count *prev;
	size_t nprev;
	uint64_t last_ns;
} summary;

static int cmp_key(const void *a, const void *b)
{
	const struct drop_key *x = a, *y = b;

	if (x->location != y->location)
		return x->location < y->location ? -1 : 1;
	return x->reason < y->reason ? -1 : x->reason > y->reason;
}

static int cmp_rows(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->func, y->func);
}

/* One more (location, reason) total in @counts (@n of @cap); false when out of memory. */
static bool add_count(struct count **counts, size_t *n, size_t *cap, const struct drop_key *key,
		      uint64_t total)
{
	if (*n == *cap) {
		struct count *grown;

		*cap = *cap ? *cap * 2 : 64;
		grown = realloc(*counts, *cap * sizeof(*grown));
		if (!grown)
			return false;
		*counts = grown;
	}
	(*counts)[*n].key = *key;
	(*counts)[*n].total = total;
	(*n)++;
	return true;
}

/*
 * Sum the per-CPU counters of every (location, reason), from the slots (@slots_fd) and the
 * hash (@hash_fd) where a key may be counted on some CPUs, into a sorted array of keys.
 */
static int read_counts(int slots_fd, int hash_fd, struct count **out, size_t *n)
{
	int ncpus = libbpf_num_possible_cpus();
	struct drop_key key, next, *cur = NULL;
	struct count *counts = NULL;
	struct drop_slots *slots;
	size_t cap = 0, merged = 0;
	uint32_t zero = 0;
	uint64_t *values;
	int err = 0;

	*n = 0;
	if (ncpus <= 0)
		return -EINVAL;
	values = calloc((size_t)ncpus, sizeof(*values));
	slots = calloc((size_t)ncpus, sizeof(*slots));
	if (!values || !slots) {
		err = -ENOMEM;
		goto out;
	}
	if (bpf_map_lookup_elem(slots_fd, &zero, slots)) {
		err = -errno;
		goto out;
	}
	for (int c = 0; c < ncpus; c++) {
		for (int i = 0; i < DW_COUNT_SLOTS; i++) {
			const struct drop_slot *sl = &slots[c].slot[i];

			if (sl->key.location && !add_count(&counts, n, &cap, &sl->key, sl->count)) {
				err = -ENOMEM;
				goto out;
			}
		}
	}
	while (!bpf_map_get_next_key(hash_fd, cur, &next)) {
		uint64_t total = 0;

		key = next;
		cur = &key;
		if (bpf_map_lookup_elem(hash_fd, &key, values))
			continue; /* deleted meanwhile */
		for (int i = 0; i < ncpus; i++)
			total += values[i];
		if (!add_count(&counts, n, &cap, &key, total)) {
			err = -ENOMEM;
			goto out;
		}
	}
	if (*n)
		qsort(counts, *n, sizeof(*counts), cmp_key);
	/* one key counted on several CPUs, in slots and in the hash: one total */
	for (size_t i = 0; i < *n; i++) {
		if (merged && !cmp_key(&counts[merged - 1].key, &counts[i].key))
			counts[merged - 1].total += counts[i].total;
		else
			counts[merged++] = counts[i];
	}
	*n = merged;
out:
	free(values);
	free(slots);
	if (err) {
		free(counts);
		counts = NULL;
		*n = 0;
	}
	*out = counts;
	return err;
}

static uint64_t previous_total(const struct drop_key *key)
{
	const struct count *c = summary.prev ? bsearch(key, summary.prev, summary.nprev,
						       sizeof(*summary.prev), cmp_key) :
					       NULL;

	return c ? c->total : 0;
}

/* Rows of this interval, grouped by reason and location symbol. */
static size_t group_rows(const struct count *counts, size_t n, struct row *rows)
{
	const struct ht_ksyms *ks = ht_kernel_ksyms();
	size_t nrows = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t delta = counts[i].total - previous_total(&counts[i].key), off;
		struct ht_ksym sym;
		struct row r = { .reason = counts[i].key.reason };
		size_t j;

		if (!delta)
			continue;
		if (ht_ksyms_find(ks, counts[i].key.location, &sym, &off)) {
			r.func = sym.name;
		} else {
			snprintf(r.addr, sizeof(r.addr), "0x%llx",
				 (unsigned long long)counts[i].key.location);
		}
		for (j = 0; j < nrows; j++)
			if (rows[j].reason == r.reason &&
			    !strcmp(rows[j].func ? rows[j].func : rows[j].addr,
				    r.func ? r.func : r.addr))
				break;
		if (j == nrows)
			rows[nrows++] = r;
		rows[j].count += delta;
	}
	for (size_t j = 0; j < nrows; j++)
		if (!rows[j].func)
			rows[j].func = rows[j].addr;
	qsort(rows, nrows, sizeof(*rows), cmp_rows);
	return nrows;
}

static int emit_summary(struct ht_env *env, const struct row *rows, size_t nrows,
			uint64_t interval_ns)
{
	char stamp[16], dur[32], num[48], *text;
	uint64_t total = 0;
	size_t len = 128 + nrows * 128, n = 0;
	cJSON *d = cJSON_CreateObject(), *drops = cJSON_CreateArray();
	time_t now = time(NULL);
	struct tm tm;
	int err;

	for (size_t i = 0; i < nrows; i++)
		total += rows[i].count;
	text = malloc(len);
	if (!text) {
		cJSON_Delete(d);
		cJSON_Delete(drops);
		return -ENOMEM;
	}
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
	n += (size_t)snprintf(text + n, len - n, "%-8s %llu drops in %s\n", stamp,
			      (unsigned long long)total,
			      ht_fmt_duration(interval_ns, dur, sizeof(dur)));
	n += (size_t)snprintf(text + n, len - n, "%12s  %-28s %s\n", "COUNT", "REASON", "LOCATION");
	for (size_t i = 0; i < nrows; i++) {
		const char *reason = reason_name(env, rows[i].reason, num, sizeof(num));
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "reason", reason);
		cJSON_AddNumberToObject(o, "reason_code",
					rows[i].reason == ~0U ? -1 : (double)rows[i].reason);
		cJSON_AddStringToObject(o, "location", rows[i].func);
		ht_json_add_u64(o, "count", rows[i].count);
		cJSON_AddItemToArray(drops, o);
		ht_metrics_count(env, o, rows[i].count); /* --metrics: drops, not tables */
		n += (size_t)snprintf(text + n, len - n, "%12llu  %-28s %.80s\n",
				      (unsigned long long)rows[i].count, reason, rows[i].func);
	}
	snprintf(text + n, len - n, "\n");
	cJSON_AddBoolToObject(d, "summary", true);
	ht_json_add_u64(d, "interval_ms", interval_ns / NSEC_PER_MSEC);
	ht_json_add_u64(d, "total", total);
	cJSON_AddItemToObject(d, "drops", drops);
	err = ht_emit_text(env, d, NULL, "auto", text);
	free(text);
	return err;
}

static int summary_tick(struct ht_env *env, void *ctx)
{
	struct dropwatch_bpf *skel = env->skel;
	uint64_t now = ht_now_mono_ns();
	struct count *counts = NULL;
	struct row *rows;
	size_t n, nrows;
	int err;

	(void)ctx;
	err = read_counts(bpf_map__fd(skel->maps.drop_slots), bpf_map__fd(skel->maps.drop_counts),
			  &counts, &n);
	if (err) {
		ht_err(env, "reading the drop counters failed: %s", strerror(-err));
		return err;
	}
	load_reasons(env);
	rows = calloc(n ? n : 1, sizeof(*rows));
	if (!rows) {
		free(counts);
		return -ENOMEM;
	}
	nrows = group_rows(counts, n, rows);
	err = nrows ? emit_summary(env, rows, nrows, now - summary.last_ns) : 0;
	free(rows);
	free(summary.prev);
	summary.prev = counts;
	summary.nprev = n;
	summary.last_ns = now;
	return err;
}

HT_SKEL_OPS(dropwatch);

/*
 * The default ring holds one second of reports at --rate: the kernel's one-second window can
 * hand them over all at once. 256K at the default 100/s; 4M, the most, without a limit, where
 * a drop storm fills 256K within a few ms of the reader being descheduled. The ring is mapped
 * twice for wrap-around, so its size counts twice in RSS.
 */
static uint64_t ring_size(uint32_t rate)
{
	uint64_t need = rate ? (uint64_t)rate * sizeof(struct drop_event) : 4 << 20;
	uint64_t size = 256 << 10;

	while (size < need && size < (4 << 20))
		size <<= 1;
	return size;
}

static void configure(void *s, struct ht_env *env)
{
	struct dropwatch_bpf *skel = s;
	const struct ht_hook *other;

	skel->rodata->target_pid = (uint32_t)env->pid;
	if (env->comm) {
		skel->rodata->filter_comm = true;
		strncpy((char *)skel->rodata->target_comm, env->comm, HT_COMM_LEN - 1);
	}
	skel->rodata->target_netns = opts.netns;
	skel->rodata->target_proto = opts.proto;
	skel->rodata->target_saddr_family = opts.saddr_family;
	skel->rodata->target_daddr_family = opts.daddr_family;
	memcpy((void *)skel->rodata->target_saddr, opts.saddr, 16);
	memcpy((void *)skel->rodata->target_daddr, opts.daddr, 16);
	skel->rodata->target_port = htons(opts.port);
	skel->rodata->packet_filter = opts.proto || opts.port || opts.saddr_family ||
				      opts.daddr_family;
	skel->rodata->task_or_packet_filter = task_or_packet_filter(env);
	/* the other flavour's programs are not loaded (libcommon picks among the hooks' own) */
	other = filtered(env) ? hooks : filtered_hooks;
	for (size_t i = 0; i < ARRAY_SIZE(other[0].progs) && other[0].progs[i]; i++) {
		struct bpf_program *p =
			bpf_object__find_program_by_name(skel->obj, other[0].progs[i]);

		if (p)
			bpf_program__set_autoload(p, false);
	}
	skel->rodata->summary_mode = opts.summary;
	memcpy((void *)skel->rodata->reason_wanted, filter.core, sizeof(filter.core));
	skel->rodata->reason_high_wanted = filter.high_default;
	skel->rodata->rate_per_sec = opts.rate;
	/* the per-CPU count table is preallocated: 2 ms at start for a mode not in use */
	if (!opts.summary)
		bpf_map__set_max_entries(skel->maps.drop_counts, 1);
	/* records are built in scratch, not in the shared per-CPU heap */
	bpf_map__set_autocreate(skel->maps.ht_heap, false);
}

static struct ht_tool tool; /* below */

static int prepare(struct ht_env *env)
{
	if (filtered(env))
		tool.hooks = filtered_hooks;
	if (opts.summary) {
		tool.header.fmt = NULL;	       /* its blocks have their own heading */
		env->metrics_own_count = true; /* events_total counts the drops of each row */
	}
	if (!env->buffer_set) /* --summary counts in the kernel: the ring carries no reports */
		env->buffer_bytes = opts.summary ? 256 << 10 : ring_size(opts.rate);
	if (opts.nreasons || opts.nexcluded) {
		size_t len = 0;
		const void *elf = dropwatch_bpf__elf_bytes(&len);

		/* the names, checked before anything is loaded, from the CO-RE subset built now */
		env->btf_min = ht_btf_min(env, elf, len);
		load_reasons(env);
	}
	build_filter(env);
	return 0;
}

static int setup(struct ht_env *env)
{
	return fill_reason_map(env, env->skel);
}

static int run(struct ht_env *env)
{
	struct dropwatch_bpf *skel = env->skel;
	int err;

	load_reasons(env); /* after the banner, not at the first drop (all of kernel BTF: ~50 ms) */
	if (!opts.summary)
		return ht_run(env, skel->obj, handle_event, NULL, NULL, 0);
	summary.last_ns = ht_now_mono_ns();
	err = ht_run(env, skel->obj, handle_event, NULL, summary_tick,
		     env->interval_set ? env->interval_ns : SUMMARY_INTERVAL_DEFAULT_NS);
	if (!err || err == -EPIPE)
		err = summary_tick(env, NULL) == -EPIPE ? -EPIPE : err;
	free(summary.prev);
	return err;
}

static void cleanup(void)
{
	ht_enum_names_free(&reasons);
}

static struct ht_tool tool = {
	.what = "packet drops",
	.doc = doc,
	.opt_flags = HT_OPT_PID | HT_OPT_COMM | HT_OPT_OWN_INTERVAL | HT_OPT_CONTAINER,
	.opt_docs =
		(const struct ht_opt_doc[]){
			{ "buffer-size",
			  "Kernel ring buffer size (K, M, power of two; default one second "
			  "of --rate reports, 256K to 4M)" },
			{ NULL } },
	.options = options,
	.options_done = options_done,
	.skel = &dropwatch_skel_ops,
	.hooks = hooks,
	.configure = configure,
	.btf_keep = (const char *const[]){ "skb_drop_reason", "skb_drop_reason_subsys", NULL },
	.prepare = prepare,
	.setup = setup,
	.header = { "%-16s %-7s %-20s %-28s %-5s %-23s %-23s %-8s %s",
		    { "COMM", "PID", "REASON", "LOCATION", "PROTO", "SOURCE", "DESTINATION", "DEV",
		      "LEN" } },
	.stacks = true,
	.run = run,
	.cleanup = cleanup,
	.metrics = { .labels = { "reason" }, .suppressed = true },
};

int main(int argc, char **argv)
{
	return ht_main(&tool, argc, argv);
}
