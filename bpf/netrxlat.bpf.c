// SPDX-License-Identifier: GPL-2.0
/*
 * huatuo-netrxlat kernel side: how long one TCP packet took from the driver hand-off to the
 * protocol and to the reader's copy. skb->tstamp is not reliable (TCP's departure time on
 * loopback, 0 or realtime later), so we stamp our own bpf_ktime_get_ns() per skb address:
 *
 *   net:netif_rx          driver/backlog hand-off (loopback, veth, RPS): stamp, mark pending
 *   net:netif_receive_skb NAPI hand-off: stamp (overwrite: a reused address starts afresh);
 *                         after netif_rx: stage TO_NETIF_RCV = now - stamp
 *   tcp:tcp_probe         stage TO_TCPV4_RCV (established sockets); segments without payload
 *                         are not stamped at all (tcp_with_payload)
 *   skb:skb_copy_datagram_iovec  stage TO_USER_COPY, then forgotten. TCP coalesces segments
 *                         into the first skb: the copy measures the oldest one.
 *
 * The first stage over its threshold is reported and the stamp dropped, so a packet is
 * reported at most once. Filtering (TCP only, netns) happens at the stamp: later stages only
 * look up the map. No stacks: this runs per packet.
 */
#include "common.bpf.h"
#include <bpf/bpf_endian.h>
#include "netrxlat.h"

#define ETH_P_IPV6 0x86DD
#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define NR_STAMPS 16384

const volatile __u64 threshold_ns[NETRXLAT_NR_STAGES] = { 5000000, 10000000, 115000000 };
const volatile __u32 netns_only = 0;	/* netns inum to keep, 0 = all */
const volatile __u32 netns_exclude = 0; /* netns inum to skip, 0 = none */
const volatile __u32 target_pid = 0;	/* only user copies of this tgid */
const volatile __u32 rate_per_sec = 0;	/* events per second, 0 = no limit */

struct stamp {
	__u64 ts_ns;
	__u64 dev;	  /* struct net_device * at the stamp */
	__u32 pending_rx; /* stamped by netif_rx, netif_receive_skb not seen yet */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, NR_STAMPS);
	__type(key, __u64);
	__type(value, struct stamp);
} stamps SEC(".maps");

static __always_inline __u32 dev_netns(struct net_device *dev)
{
	return dev ? BPF_CORE_READ(dev, nd_net.net, ns.inum) : 0;
}

static __always_inline bool netns_wanted(__u32 inum)
{
	if (netns_only && inum != netns_only)
		return false;
	return !netns_exclude || inum != netns_exclude;
}

/*
 * A TCP segment with payload at @nh, the network header? Segments without payload (pure
 * ACKs, the handshake) are not timed: half the packets of a bulk transfer are ACKs, and a
 * stamp costs an LRU insert and a delete. One read of the first 64 bytes holds the IP header
 * and, unless IPv4 options run past 40 bytes, TCP's data offset; the lengths come from the
 * IP header (0 for BIG TCP and jumbograms, which are over 64K: payload).
 */
static __always_inline bool tcp_with_payload(void *nh)
{
	__u8 h[64], doff = 0;
	__u32 l3, total;

	if (bpf_probe_read_kernel(h, sizeof(h), nh))
		return false;
	switch (h[0] >> 4) { /* the IP version: skb->protocol need not be read */
	case 4:
		if (h[9] != IPPROTO_TCP)
			return false;
		l3 = (h[0] & 0xf) * 4;
		total = (__u32)h[2] << 8 | h[3];
		break;
	case 6:
		if (h[6] != IPPROTO_TCP)
			return false;
		l3 = sizeof(struct ipv6hdr);
		total = (__u32)h[4] << 8 | h[5];
		total = total ? total + l3 : 0;
		break;
	default:
		return false;
	}
	if (!total)
		return true;
	if (l3 + 12 < sizeof(h))
		doff = h[(l3 + 12) & (sizeof(h) - 1)];
	else
		bpf_probe_read_kernel(&doff, 1, nh + l3 + 12);
	return total > l3 + (doff >> 4) * 4;
}

/* Stamp @skb now (@from_rx: by netif_rx, so netif_receive_skb is still to come). */
static __always_inline void stamp_skb(struct sk_buff *skb, bool from_rx)
{
	struct stamp fresh = {};
	__u64 key = (__u64)skb;
	struct net_device *dev;

	/* at these hooks skb->data is the network header (eth_type_trans pulled L2) */
	if (!tcp_with_payload(BPF_CORE_READ(skb, data)))
		return;
	dev = BPF_CORE_READ(skb, dev);
	/* the netns only to filter here; a report reads it through the stamp's device */
	if ((netns_only || netns_exclude) && !netns_wanted(dev_netns(dev)))
		return;
	fresh.ts_ns = bpf_ktime_get_ns();
	fresh.dev = (__u64)dev;
	fresh.pending_rx = from_rx;
	bpf_map_update_elem(&stamps, &key, &fresh, BPF_ANY);
}

/* Addresses, ports, seq from the headers at @nh/@th (IPv4 or IPv6 by skb->protocol). */
static __always_inline void fill_headers(struct netrxlat_event *e, __u16 proto, void *nh, void *th)
{
	struct tcphdr tcp = {};

	if (proto == bpf_htons(ETH_P_IPV6)) {
		e->family = AF_INET6;
		bpf_probe_read_kernel(e->saddr, 16, nh + offsetof(struct ipv6hdr, saddr));
		bpf_probe_read_kernel(e->daddr, 16, nh + offsetof(struct ipv6hdr, daddr));
	} else {
		e->family = AF_INET;
		bpf_probe_read_kernel(e->saddr, 4, nh + offsetof(struct iphdr, saddr));
		bpf_probe_read_kernel(e->daddr, 4, nh + offsetof(struct iphdr, daddr));
	}
	bpf_probe_read_kernel(&tcp, sizeof(tcp), th);
	e->sport = bpf_ntohs(tcp.source);
	e->dport = bpf_ntohs(tcp.dest);
	e->seq = bpf_ntohl(tcp.seq);
	e->ack_seq = bpf_ntohl(tcp.ack_seq);
}

/*
 * Stage @where of @skb took @lat: report it if over the threshold (and the rate allows).
 * @nh/@th: network and transport headers; @sk: the socket, if known.
 */
static __always_inline void report(void *ctx, struct sk_buff *skb, const struct stamp *st,
				   __u64 now, int where, void *nh, void *th, struct sock *sk)
{
	struct task_struct *task;
	struct netrxlat_event *e;

	/* --rate: one-second windows for the whole machine; held back -> ht_suppressed */
	if (!ht_rate_ok(rate_per_sec))
		return;
	e = ht_reserve(sizeof(*e));
	if (!e)
		return;
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = now;
	e->latency_ns = now - st->ts_ns;
	e->where = where;
	e->pkt_len = BPF_CORE_READ(skb, len);
	e->netns_inum = dev_netns((struct net_device *)st->dev);
	if (st->dev)
		bpf_probe_read_kernel_str(e->ifname, sizeof(e->ifname),
					  ((struct net_device *)st->dev)->name);
	if (sk)
		e->state = BPF_CORE_READ(sk, __sk_common.skc_state);
	if (where == NETRXLAT_TO_USER_COPY) {
		task = (struct task_struct *)bpf_get_current_task();
		e->pid = BPF_CORE_READ(task, tgid);
		e->tid = BPF_CORE_READ(task, pid);
		BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
	}
	fill_headers(e, BPF_CORE_READ(skb, protocol), nh, th);
	ht_submit(ctx, e, sizeof(*e));
}

static __always_inline void *skb_l3(struct sk_buff *skb)
{
	return BPF_CORE_READ(skb, head) + BPF_CORE_READ(skb, network_header);
}

static __always_inline void *skb_l4(struct sk_buff *skb)
{
	return BPF_CORE_READ(skb, head) + BPF_CORE_READ(skb, transport_header);
}

/* netif_receive_skb after netif_rx: the backlog stage. Otherwise a fresh stamp. */
static __always_inline int on_netif_receive(void *ctx, struct sk_buff *skb)
{
	__u64 key = (__u64)skb, now;
	struct stamp *st;
	void *nh;

	st = bpf_map_lookup_elem(&stamps, &key);
	if (!st || !st->pending_rx) {
		stamp_skb(skb, false);
		return 0;
	}
	st->pending_rx = 0;
	now = bpf_ktime_get_ns();
	if (now - st->ts_ns < threshold_ns[NETRXLAT_TO_NETIF_RCV] || target_pid)
		return 0;
	nh = BPF_CORE_READ(skb, data);
	if (BPF_CORE_READ(skb, protocol) == bpf_htons(ETH_P_IPV6))
		report(ctx, skb, st, now, NETRXLAT_TO_NETIF_RCV, nh, nh + sizeof(struct ipv6hdr),
		       NULL);
	else
		report(ctx, skb, st, now, NETRXLAT_TO_NETIF_RCV, nh,
		       nh + ((BPF_CORE_READ_BITFIELD_PROBED((struct iphdr *)nh, ihl)) << 2), NULL);
	bpf_map_delete_elem(&stamps, &key);
	return 0;
}

static __always_inline int on_tcp_probe(void *ctx, struct sock *sk, struct sk_buff *skb)
{
	__u64 key = (__u64)skb, now;
	struct stamp *st;

	st = bpf_map_lookup_elem(&stamps, &key);
	if (!st)
		return 0;
	now = bpf_ktime_get_ns();
	/* segments without payload were never stamped (tcp_with_payload): this one has data */
	if (now - st->ts_ns >= threshold_ns[NETRXLAT_TO_TCPV4_RCV] && !target_pid) {
		report(ctx, skb, st, now, NETRXLAT_TO_TCPV4_RCV, skb_l3(skb), skb_l4(skb), sk);
		bpf_map_delete_elem(&stamps, &key);
	}
	return 0;
}

static __always_inline int on_copy(void *ctx, struct sk_buff *skb)
{
	__u64 key = (__u64)skb, now;
	struct stamp *st;
	struct sock *sk;
	__u16 family;

	st = bpf_map_lookup_elem(&stamps, &key);
	if (!st)
		return 0;
	now = bpf_ktime_get_ns();
	if (now - st->ts_ns >= threshold_ns[NETRXLAT_TO_USER_COPY] &&
	    (!target_pid || (bpf_get_current_pid_tgid() >> 32) == target_pid)) {
		sk = BPF_CORE_READ(skb, sk);
		family = sk ? BPF_CORE_READ(sk, __sk_common.skc_family) : 0;
		/* a reused address (unix, netlink skb) was never stamped for this packet */
		if (family == AF_INET || family == AF_INET6)
			report(ctx, skb, st, now, NETRXLAT_TO_USER_COPY, skb_l3(skb), skb_l4(skb),
			       sk);
	}
	bpf_map_delete_elem(&stamps, &key);
	return 0;
}

/* Dropped packets leave the map at once (consumed ones leave at the copy or at TCP). */
static __always_inline int on_drop(struct sk_buff *skb)
{
	__u64 key = (__u64)skb;

	bpf_map_delete_elem(&stamps, &key);
	return 0;
}

SEC("tp_btf/netif_rx")
int BPF_PROG(netrxlat_netif_rx_btf, struct sk_buff *skb)
{
	stamp_skb(skb, true);
	return 0;
}

SEC("raw_tp/netif_rx")
int BPF_PROG(netrxlat_netif_rx_raw, struct sk_buff *skb)
{
	stamp_skb(skb, true);
	return 0;
}

SEC("tp_btf/netif_receive_skb")
int BPF_PROG(netrxlat_netif_receive_btf, struct sk_buff *skb)
{
	return on_netif_receive(ctx, skb);
}

SEC("raw_tp/netif_receive_skb")
int BPF_PROG(netrxlat_netif_receive_raw, struct sk_buff *skb)
{
	return on_netif_receive(ctx, skb);
}

SEC("tp_btf/tcp_probe")
int BPF_PROG(netrxlat_tcp_probe_btf, struct sock *sk, struct sk_buff *skb)
{
	return on_tcp_probe(ctx, sk, skb);
}

SEC("raw_tp/tcp_probe")
int BPF_PROG(netrxlat_tcp_probe_raw, struct sock *sk, struct sk_buff *skb)
{
	return on_tcp_probe(ctx, sk, skb);
}

SEC("tp_btf/skb_copy_datagram_iovec")
int BPF_PROG(netrxlat_copy_btf, struct sk_buff *skb, int len)
{
	return on_copy(ctx, skb);
}

SEC("raw_tp/skb_copy_datagram_iovec")
int BPF_PROG(netrxlat_copy_raw, struct sk_buff *skb, int len)
{
	return on_copy(ctx, skb);
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(netrxlat_kfree_skb_btf, struct sk_buff *skb)
{
	return on_drop(skb);
}

SEC("raw_tp/kfree_skb")
int BPF_PROG(netrxlat_kfree_skb_raw, struct sk_buff *skb)
{
	return on_drop(skb);
}
