// SPDX-License-Identifier: GPL-2.0
/*
 * huatuo-netrxlat: report TCP packets whose receive path was slow, per stage: driver ->
 * netif receive, driver -> TCP, driver -> the reader's copy to user space. The first stage
 * over its threshold is reported, once per packet.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "huatuo.h"
#include "netrxlat.h"
#include "netrxlat.skel.h"

#define MAX_THRESHOLD_NS (3600 * NSEC_PER_SEC)

static const char doc[] =
	"Report TCP packets (IPv4 and IPv6) whose receive path was slow: driver -> netif "
	"receive, driver -> TCP, driver -> copy to user space, each stage with its own "
	"threshold; the first stage over its threshold is reported, once per packet.\n"
	"\v"
	"Examples:\n"
	"  huatuo-netrxlat                          # default thresholds 5ms/10ms/115ms\n"
	"  huatuo-netrxlat --user-threshold 50 -j   # readers 50 ms or more late, JSON\n"
	"  huatuo-netrxlat --exclude-host-netns     # containers only\n"
	"  huatuo-netrxlat --netns /run/netns/blue  # one network namespace\n"
	"  huatuo-netrxlat --comm nginx --rate 0    # copies by nginx, no rate limit\n";

static const char *const where_names[NETRXLAT_NR_STAGES] = { "TO_NETIF_RCV", "TO_TCPV4_RCV",
							     "TO_USER_COPY" };
static struct {
	uint64_t threshold_ns[NETRXLAT_NR_STAGES];
	uint32_t netns;
	bool exclude_host, host_only;
	uint32_t rate;
} opts = { .threshold_ns = { 5 * NSEC_PER_MSEC, 10 * NSEC_PER_MSEC, 115 * NSEC_PER_MSEC },
	   .rate = 100 };

static const struct ht_option options[] = {
	HT_DURATION("netif-threshold", &opts.threshold_ns[0], NSEC_PER_MSEC, 1, MAX_THRESHOLD_NS,
		    "Driver -> netif receive latency to report (default 5ms; bare number = ms)"),
	HT_DURATION("tcp-threshold", &opts.threshold_ns[1], NSEC_PER_MSEC, 1, MAX_THRESHOLD_NS,
		    "Driver -> TCP receive latency to report (default 10ms)"),
	HT_DURATION("user-threshold", &opts.threshold_ns[2], NSEC_PER_MSEC, 1, MAX_THRESHOLD_NS,
		    "Driver -> copy to user space latency to report (default 115ms)"),
	HT_NETNS("netns", "NAME|PATH|INODE", &opts.netns,
		 "Only packets received in this network namespace (filtered in the kernel)"),
	HT_FLAG("exclude-host-netns", &opts.exclude_host,
		"Skip packets received in the host's network namespace"),
	HT_FLAG("host-netns-only", &opts.host_only,
		"Only packets received in the host's network namespace"),
	HT_UINT("rate", "N", &opts.rate, 0, 1000000,
		"At most about N events per second, in the kernel (default 100, 0 = no limit)"),
	{ 0 },
};

static void options_done(struct argp_state *state, struct ht_env *env)
{
	(void)env;
	if (opts.exclude_host + opts.host_only + !!opts.netns > 1)
		ht_usage_error(state, "invalid --netns, --exclude-host-netns, --host-netns-only: "
				      "use only one of them");
}

static uint32_t netns_inum(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : (uint32_t)st.st_ino;
}

/* The host's network namespace: init's, or ours where /proc/1 is hidden from us. */
static uint32_t host_netns(void)
{
	uint32_t inum = netns_inum("/proc/1/ns/net");

	return inum ? inum : netns_inum("/proc/self/ns/net");
}

static const struct ht_hook hooks[] = {
	{ .name = "netif_rx", .progs = { "netrxlat_netif_rx_btf", "netrxlat_netif_rx_raw" } },
	{ .name = "netif_receive_skb",
	  .progs = { "netrxlat_netif_receive_btf", "netrxlat_netif_receive_raw" } },
	{ .name = "tcp_probe", .progs = { "netrxlat_tcp_probe_btf", "netrxlat_tcp_probe_raw" } },
	{ .name = "skb_copy_datagram_iovec",
	  .progs = { "netrxlat_copy_btf", "netrxlat_copy_raw" } },
	{ .name = "kfree_skb",
	  .progs = { "netrxlat_kfree_skb_btf", "netrxlat_kfree_skb_raw" },
	  .optional = true },
	{ 0 },
};

static const char *tcp_state_name(unsigned int state)
{
	static const char *const names[] = { "unknown",	    "ESTABLISHED", "SYN_SENT",	"SYN_RECV",
					     "FIN_WAIT1",   "FIN_WAIT2",   "TIME_WAIT", "CLOSE",
					     "CLOSE_WAIT",  "LAST_ACK",	   "LISTEN",	"CLOSING",
					     "NEW_SYN_RECV" };

	return state < ARRAY_SIZE(names) ? names[state] : "unknown";
}

static int handle_event(struct ht_env *env, void *ctx, const void *data, size_t size)
{
	const struct netrxlat_event *e = data;
	char comm[HT_COMM_LEN * 3 + 1], pcomm[HT_COMM_LEN], ifname[HT_COMM_LEN * 3 + 1];
	char saddr[INET6_ADDRSTRLEN], daddr[INET6_ADDRSTRLEN];
	int af = e->family == 10 ? AF_INET6 : AF_INET;
	double latency_ms, threshold_ms;
	struct ht_container ct;
	cJSON *d;

	(void)ctx;
	if (size < sizeof(*e) || e->where >= NETRXLAT_NR_STAGES)
		return 0;
	if (e->where == NETRXLAT_TO_USER_COPY)
		ht_utf8_sanitize(e->comm, sizeof(e->comm), comm, sizeof(comm));
	else
		strcpy(comm, "-"); /* softirq stages: no process of the packet */
	if (env->comm && strcmp(env->comm, comm))
		return 0;
	/* the reader's container at the user copy, else the packet's network namespace's */
	if (!ht_attribute(env, e->cgroup_id, e->netns_inum, NULL, &ct, NULL, 0))
		return 0;
	ht_utf8_sanitize(e->ifname, sizeof(e->ifname), ifname, sizeof(ifname));
	inet_ntop(af, e->saddr, saddr, sizeof(saddr));
	inet_ntop(af, e->daddr, daddr, sizeof(daddr));
	latency_ms = (double)e->latency_ns / NSEC_PER_MSEC;
	threshold_ms = (double)opts.threshold_ns[e->where] / NSEC_PER_MSEC;

	d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "comm", comm);
	cJSON_AddNumberToObject(d, "pid", e->pid);
	cJSON_AddStringToObject(d, "saddr", saddr);
	cJSON_AddStringToObject(d, "daddr", daddr);
	cJSON_AddNumberToObject(d, "sport", e->sport);
	cJSON_AddNumberToObject(d, "dport", e->dport);
	cJSON_AddNumberToObject(d, "seq", e->seq);
	cJSON_AddNumberToObject(d, "ack_seq", e->ack_seq);
	cJSON_AddStringToObject(d, "state", tcp_state_name(e->state));
	cJSON_AddNumberToObject(d, "pkt_len", e->pkt_len);
	cJSON_AddStringToObject(d, "where", where_names[e->where]);
	cJSON_AddNumberToObject(d, "latency_ms", latency_ms);
	cJSON_AddNumberToObject(d, "latency_threshold_ms", threshold_ms);
	cJSON_AddStringToObject(d, "netdev_name", ifname[0] ? ifname : "-");
	cJSON_AddNumberToObject(d, "net_namespace_inum", e->netns_inum);

	ht_printable(comm, strlen(comm), pcomm, sizeof(pcomm));
	return ht_emit(env, d, &ct, "auto", "%-12s %-7u %-16s %9.2f %-12s %s:%u -> %s:%u",
		       where_names[e->where], e->pid, pcomm, latency_ms, tcp_state_name(e->state),
		       saddr, e->sport, daddr, e->dport);
}

HT_SKEL_OPS(netrxlat);

/*
 * The default ring holds two seconds of reports at --rate (the kernel's one-second window
 * may hand a second's over at once): 32K at the default 100/s, where 256K took ~0.25 ms of
 * each start to allocate and map; 256K with --rate 0, as before.
 */
static uint64_t ring_bytes(uint32_t rate)
{
	uint64_t need = 2 * (uint64_t)rate * (sizeof(struct netrxlat_event) + 8), size = 4096;

	if (!rate)
		return 256 << 10;
	while (size < need && size < (256 << 10))
		size <<= 1;
	return size;
}

static int prepare(struct ht_env *env)
{
	if (!env->buffer_set)
		env->buffer_bytes = ring_bytes(opts.rate);
	if ((opts.host_only || opts.exclude_host) && !host_netns()) {
		ht_err(env, "cannot read the host network namespace (/proc/1/ns/net): %s",
		       strerror(errno));
		return 1;
	}
	return 0;
}

static void configure(void *skel, struct ht_env *env)
{
	struct netrxlat_bpf *s = skel;
	uint32_t host = host_netns();

	for (int i = 0; i < NETRXLAT_NR_STAGES; i++)
		s->rodata->threshold_ns[i] = opts.threshold_ns[i];
	s->rodata->netns_only = opts.host_only ? host : opts.netns;
	s->rodata->netns_exclude = opts.exclude_host ? host : 0;
	s->rodata->target_pid = (uint32_t)env->pid;
	s->rodata->rate_per_sec = opts.rate;
}

/* held-back events are noted on stderr and summed at exit by the loop (ht_suppressed) */
static const struct ht_tool tool = {
	.tracer_name = "net_rx_latency",
	.what = "slow TCP receive paths",
	.doc = doc,
	.opt_flags = HT_OPT_PID | HT_OPT_COMM | HT_OPT_CONTAINER,
	.options = options,
	.options_done = options_done,
	.skel = &netrxlat_skel_ops,
	.hooks = hooks,
	.configure = configure,
	.prepare = prepare,
	.header = { "%-12s %-7s %-16s %9s %-12s %s",
		    { "WHERE", "PID", "COMM", "LAT(ms)", "STATE", "SADDR:SPORT -> DADDR:DPORT" } },
	.on_event = handle_event,
	.metrics = { .labels = { "where" }, .suppressed = true },
};

int main(int argc, char **argv)
{
	return ht_main(&tool, argc, argv);
}
