// SPDX-License-Identifier: GPL-2.0
/*
 * huatuo-dropwatch kernel side. skb:kfree_skb fires in kfree_skb_reason()/sk_skb_reason_drop()
 * for every packet the stack drops; since 5.17 it carries enum skb_drop_reason, since 6.11
 * (ba8de796baf4) also rx_sk, the receiving socket. Normal frees go to skb:consume_skb instead
 * (SKB_CONSUMED never reaches kfree_skb since 6.3), so every hit here is a drop.
 * kfree_skb is hot during a storm: the filters run first, on fields one or two loads away,
 * and only what passes them pays for the packet parse, the stack and the copy; without a
 * filter the rate limit comes right after the reason.
 */
#define HT_WANT_CONTAINERS
#include "common.bpf.h"
#include <bpf/bpf_endian.h>
#include "dropwatch.h"

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IPPROTO_ICMPV6 58
#define AF_INET 2
#define AF_INET6 10
#define NO_HEADER 0xffff /* skb->*_header when unset */

const volatile __u32 target_pid = 0;
const volatile bool filter_comm = false;
const volatile char target_comm[HT_COMM_LEN] = {};
const volatile __u32 target_netns = 0;
const volatile __u8 target_proto = DW_PROTO_ANY;
const volatile __u8 target_saddr_family = 0; /* 4 or 6 when --saddr is set */
const volatile __u8 target_daddr_family = 0;
const volatile __u8 target_saddr[16] = {};
const volatile __u8 target_daddr[16] = {};
const volatile __u16 target_port = 0; /* network order, source or destination */
/* 1 = report drops with this core reason (all but 0 and 1, or --reason, --exclude-reason) */
const volatile __u8 reason_wanted[DW_REASON_SLOTS] = {};
const volatile bool reason_high_wanted = true; /* reasons >= DW_REASON_SLOTS not in reason_high */
const volatile bool summary_mode = false;
const volatile __u32 rate_per_sec = 100;
/* Set by user space from the filters above: one test where the program would make several. */
const volatile bool packet_filter = false;	   /* --proto, --port, --saddr or --daddr */
const volatile bool task_or_packet_filter = false; /* one of those, --pid, --comm or --netns */

/*
 * Subsystem reasons (mac80211, openvswitch: subsystem << 16 | code) named by --reason or
 * --exclude-reason: 1 = report, 0 = not; the others follow reason_high_wanted.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DW_REASON_HIGH_MAX);
	__type(key, __u32);
	__type(value, __u8);
} reason_high SEC(".maps");

/*
 * --summary: drops per (location, reason), per CPU, summed and diffed by user space. A storm
 * has a few keys: they are counted in a per-CPU array of slots indexed by a hash of the key
 * (one inlined lookup, no hash map, no lock); a key whose slot another key took first goes
 * to the per-CPU hash.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct drop_slots);
} drop_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct drop_key);
	__type(value, __u64);
} drop_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct drop_event);
} scratch SEC(".maps");

struct trace_event_raw_kfree_skb___ht {
	struct trace_entry ent;
	void *skbaddr;
	void *location;
	void *rx_sk;
	unsigned short protocol;
	/* the kernel's type: CO-RE takes a __u32 for a different field than an enum */
	enum skb_drop_reason reason;
} __attribute__((preserve_access_index));

/*
 * The kernel structs this file reads, with just the fields it reads: CO-RE finds each field by
 * name in the kernel's struct (the ___dw suffix is not part of the name; common.bpf.h has the
 * task's and the namespaces'). With vmlinux.h's own, the object's BTF would carry the whole
 * of sk_buff, net_device, sock and what they point to (some 250 types), which the kernel
 * checks at every start.
 */
struct net_device___dw {
	char name[DW_IFNAMSIZ];
	int ifindex;
	struct possible_net_t___ht nd_net;
} __attribute__((preserve_access_index));

struct sock_common___dw {
	unsigned short skc_family;
	volatile unsigned char skc_state;
	struct possible_net_t___ht skc_net;
} __attribute__((preserve_access_index));

struct sock___dw {
	struct sock_common___dw __sk_common;
} __attribute__((preserve_access_index));

struct sk_buff___dw {
	struct net_device___dw *dev;
	struct sock___dw *sk;
	unsigned int len;
	__u16 queue_mapping;
	__be16 protocol;
	__u16 transport_header;
	__u16 network_header;
	unsigned char *head;
} __attribute__((preserve_access_index));

static __always_inline bool reason_ok(__u32 reason)
{
	__u8 *wanted;

	if (reason >= DW_REASON_SLOTS) {
		wanted = bpf_map_lookup_elem(&reason_high, &reason);
		return wanted ? *wanted : reason_high_wanted;
	}
	return reason_wanted[reason];
}

/* @filt: the flavour with the filters (below) */
static __always_inline bool task_ok(struct drop_event *e, const bool filt)
{
	__u64 id = bpf_get_current_pid_tgid();

	e->pid = id >> 32;
	e->tid = (__u32)id;
	if (filt && target_pid && e->pid != target_pid)
		return false;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (filt && filter_comm) {
		for (int i = 0; i < HT_COMM_LEN; i++) {
			if (e->comm[i] != target_comm[i])
				return false;
			if (!e->comm[i])
				break;
		}
	}
	return true;
}

/*
 * netns of the packet: its device's, else its socket's. A NULL socket reads as 0 (the read
 * fails): no test on it, so the verifier does not walk what follows once for each.
 */
static __always_inline __u32 skb_netns(struct sk_buff___dw *skb, struct sock___dw *sk)
{
	struct net_device___dw *dev = BPF_CORE_READ(skb, dev);

	if (dev)
		return BPF_CORE_READ(dev, nd_net.net, ns.inum);
	return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

/*
 * IPv4/IPv6 addresses, L4 protocol and ports (TCP seq/ack/flags) from the skb's headers. One
 * read takes the network header, one the transport header: a header near the end of the linear
 * data leaves the longer read in the head's allocation (skb_shared_info follows skb->end).
 */
static __always_inline void parse_packet(struct sk_buff___dw *skb, struct drop_event *e)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	__u16 th = BPF_CORE_READ(skb, transport_header);
	union {
		struct iphdr ip;
		struct ipv6hdr ip6;
		struct tcphdr tcp;
		__u8 bytes[sizeof(struct ipv6hdr)];
	} h;
	__u16 l4_off;
	__u8 version;

	if (nh == NO_HEADER || bpf_probe_read_kernel(&h, sizeof(h), head + nh))
		return;
	version = h.bytes[0] >> 4;
	if (e->eth_proto == ETH_P_IP || (!e->eth_proto && version == 4)) {
		if (version != 4)
			return;
		e->family = 4;
		e->l4_proto = h.ip.protocol;
		__builtin_memcpy(e->saddr, &h.ip.saddr, 4);
		__builtin_memcpy(e->daddr, &h.ip.daddr, 4);
		if (h.ip.frag_off & bpf_htons(0x1fff))
			return; /* not the first fragment: no L4 header */
		/* before ip_rcv_core() the transport header still equals the network header */
		l4_off = nh + h.ip.ihl * 4;
	} else if (e->eth_proto == ETH_P_IPV6 || (!e->eth_proto && version == 6)) {
		if (version != 6)
			return;
		e->family = 6;
		e->l4_proto = h.ip6.nexthdr; /* extension headers are not followed */
		__builtin_memcpy(e->saddr, &h.ip6.saddr, 16);
		__builtin_memcpy(e->daddr, &h.ip6.daddr, 16);
		l4_off = nh + sizeof(h.ip6);
	} else {
		return;
	}
	if (e->l4_proto != IPPROTO_TCP && e->l4_proto != IPPROTO_UDP)
		return;
	if (th != NO_HEADER && th > nh)
		l4_off = th;
	/* the UDP header's ports are where TCP's are */
	if (bpf_probe_read_kernel(&h.tcp, sizeof(h.tcp), head + l4_off))
		return;
	e->sport = h.tcp.source;
	e->dport = h.tcp.dest;
	if (e->l4_proto == IPPROTO_TCP) {
		e->tcp_seq = bpf_ntohl(h.tcp.seq);
		e->tcp_ack_seq = bpf_ntohl(h.tcp.ack_seq);
		e->tcp_flags = h.bytes[13];
	}
}

static __always_inline bool addr_ok(const __u8 *addr, __u8 family, const volatile __u8 *want,
				    __u8 want_family)
{
	if (!want_family)
		return true;
	if (family != want_family)
		return false;
	for (int i = 0; i < 16; i++) {
		if (i >= (family == 4 ? 4 : 16))
			break;
		if (addr[i] != want[i])
			return false;
	}
	return true;
}

static __always_inline bool packet_ok(struct drop_event *e)
{
	if (target_proto) {
		__u8 want = target_proto;

		if (want == DW_PROTO_ICMP && e->family == 6)
			want = IPPROTO_ICMPV6;
		if (!e->family || e->l4_proto != want)
			return false;
	}
	if (target_port && e->sport != target_port && e->dport != target_port)
		return false;
	return addr_ok(e->saddr, e->family, target_saddr, target_saddr_family) &&
	       addr_ok(e->daddr, e->family, target_daddr, target_daddr_family);
}

/* --summary: one more drop at @location for @reason (per-CPU counts, summed in user space) */
static __always_inline void count_drop(__u64 location, __u32 reason)
{
	struct drop_key key = { .location = location, .reason = reason };
	__u32 zero = 0, i = ((location ^ reason) * 0x9E3779B97F4A7C15ULL) >> 56;
	struct drop_slots *slots = bpf_map_lookup_elem(&drop_slots, &zero);
	__u64 one = 1, *count;
	struct drop_slot *s;

	if (slots) { /* per-CPU: no other writer */
		s = &slots->slot[i & (DW_COUNT_SLOTS - 1)];
		if (s->key.location == key.location && s->key.reason == reason) {
			s->count++;
			return;
		}
		if (!s->key.location) {
			/* the location last: user space reads a slot with one as whole */
			s->key.reason = reason;
			s->count = 1;
			s->key.location = key.location;
			return;
		}
	}
	count = bpf_map_lookup_elem(&drop_counts, &key);
	if (count)
		*count += 1;
	else
		bpf_map_update_elem(&drop_counts, &key, &one, BPF_NOEXIST);
}

/*
 * Every program comes in two flavours, and user space loads one (tools/dropwatch.c): the
 * dropwatch_* programs report every drop whose reason is wanted, at most --rate of them; the
 * dropfilt_* ones have the filters, --container and --summary's count. What a flavour
 * cannot do is not in it: code the rodata turns off still costs the verifier (0.2 ms of each
 * start for the filters and the count).
 */

/* Anything to decide on besides the reason (rodata: the verifier drops what is not set). */
static __always_inline bool filters_set(const bool filt)
{
	return filt && (task_or_packet_filter || ht_filter_containers);
}

/*
 * A drop whose reason is wanted: the filters on the task and the packet, the rate limit (when
 * a filter is set, else on_drop() asked it), then the record in the scratch map, all but its
 * stack; or --summary's count. 1: the caller adds the stack and hands the record over.
 * Called from a global function: the verifier checks it once, not once for each way its
 * caller reaches it, so it takes numbers (a global function takes scalars, not kernel
 * pointers) and has no ctx (the caller takes the stack).
 */
static __always_inline int record(__u64 skb_addr, __u64 location, __u32 reason, __u64 rx_sk_addr,
				  const bool filt)
{
	struct sk_buff___dw *skb = (struct sk_buff___dw *)skb_addr;
	struct sock___dw *sk = (struct sock___dw *)rx_sk_addr;
	struct task_struct *task;
	struct drop_event *e;
	struct net_device___dw *dev;
	__u32 zero = 0, task_netns;

	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return 0;
	if (!task_ok(e, filt))
		return 0;
	if (!sk) /* the receiving socket (6.11+), else the skb's owner */
		sk = BPF_CORE_READ(skb, sk);
	e->netns_inum = skb_netns(skb, sk);
	if (filt && target_netns && e->netns_inum != target_netns)
		return 0;

	/* what the packet's headers fill: tcp_seq up to daddr's end */
	__builtin_memset(&e->tcp_seq, 0,
			 offsetof(struct drop_event, comm) - offsetof(struct drop_event, tcp_seq));
	e->eth_proto = bpf_ntohs(BPF_CORE_READ(skb, protocol));
	if (!filt || !summary_mode || packet_filter)
		parse_packet(skb, e);
	if (filt && !packet_ok(e))
		return 0;
	/*
	 * The container: current's when the packet is in its network namespace (the sender, or
	 * a softirq over a task of that namespace), else the namespace's (user space).
	 */
	task = (struct task_struct *)bpf_get_current_task();
	task_netns = ht_task_netns(task);
	if (filt && ht_filter_containers &&
	    !(!e->netns_inum || task_netns == e->netns_inum ?
		      ht_wanted_task_netns(ht_task_cgroup_id_only(task), e->netns_inum) :
		      ht_wanted(HT_VERDICT_NETNS | e->netns_inum)))
		return 0;

	if (filt && summary_mode) {
		count_drop(location, reason);
		return 0;
	}
	if (filters_set(filt) && !ht_rate_ok(rate_per_sec))
		return 0;

	e->ts_ns = bpf_ktime_get_ns();
	e->location = location;
	e->skb_addr = skb_addr;
	e->reason = reason;
	e->pkt_len = BPF_CORE_READ(skb, len);
	e->queue_mapping = BPF_CORE_READ(skb, queue_mapping);
	/* without a device both reads fail, leaving 0 and "": no test for the verifier to follow */
	dev = BPF_CORE_READ(skb, dev);
	e->ifindex = BPF_CORE_READ(dev, ifindex);
	BPF_CORE_READ_STR_INTO(&e->ifname, dev, name);
	if (e->l4_proto == IPPROTO_TCP) {
		/* 0 without a socket */
		__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

		if (family == AF_INET || family == AF_INET6)
			e->sk_state = BPF_CORE_READ(sk, __sk_common.skc_state);
	}
	/* last: the verifier walks nothing after the ways this takes */
	e->cgroup_id = 0;
	if (!e->netns_inum || task_netns == e->netns_inum)
		e->cgroup_id = ht_task_cgroup_id(task);
	return 1;
}

__noinline int drop_record(__u64 skb_addr, __u64 location, __u32 reason, __u64 rx_sk_addr)
{
	return record(skb_addr, location, reason, rx_sk_addr, false);
}

__noinline int drop_record_filt(__u64 skb_addr, __u64 location, __u32 reason, __u64 rx_sk_addr)
{
	return record(skb_addr, location, reason, rx_sk_addr, true);
}

/*
 * A drop: its reason first; without a filter --summary counts it right away, and the rate
 * limit comes next: in a storm a drop past the limit costs two map lookups.
 */
static __always_inline int on_drop(void *ctx, struct sk_buff *skb, void *location, __u32 reason,
				   struct sock *rx_sk, const bool filt)
{
	struct drop_event *e;
	long stack_bytes;
	__u32 zero = 0, nr;

	if (!reason_ok(reason))
		return 0;
	if (!filters_set(filt)) {
		if (filt && summary_mode) {
			count_drop((__u64)location, reason);
			return 0;
		}
		if (!ht_rate_ok(rate_per_sec))
			return 0;
	}
	/* tp_btf's skb and rx_sk are trusted pointers: the global function takes numbers */
	if (!(filt ? drop_record_filt : drop_record)(ht_addr(skb), (__u64)location, reason,
						     ht_addr(rx_sk)))
		return 0;
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return 0;
	stack_bytes = bpf_get_stack(ctx, e->ips, sizeof(e->ips), 0);
	e->nr = stack_bytes > 0 ? (__u64)stack_bytes / 8 : 0;
	/*
	 * The count read back from the record: the verifier walks on with one state, not a
	 * second one (a constant) for a failed stack walk. bpf_get_stack() takes no more than
	 * ips[] holds: what follows never happens, and would not go unsaid.
	 */
	nr = *(volatile __u32 *)&e->nr;
	if (nr > HT_STACK_DEPTH) {
		ht_count_lost();
		return 0;
	}
	/* only the frames taken: a typical drop stack is a third of ips[], so the ring buffer
	 * holds three times as many drops before a storm fills it */
	ht_output(ctx, e, offsetof(struct drop_event, ips) + nr * 8);
	return 0;
}

/* 6.11+: kfree_skb(skb, location, reason, rx_sk) */
HT_TP_BTF_RAW("kfree_skb", dropwatch_btf, dropwatch_raw, struct sk_buff *skb, void *location,
	      int reason, struct sock *rx_sk)
{
	return on_drop(ctx, skb, location, (__u32)reason, rx_sk, false);
}

HT_TP_BTF_RAW("kfree_skb", dropfilt_btf, dropfilt_raw, struct sk_buff *skb, void *location,
	      int reason, struct sock *rx_sk)
{
	return on_drop(ctx, skb, location, (__u32)reason, rx_sk, true);
}

/* 5.17-6.10: kfree_skb(skb, location, reason) */
HT_TP_BTF_RAW("kfree_skb", dropwatch_btf3, dropwatch_raw3, struct sk_buff *skb, void *location,
	      int reason)
{
	return on_drop(ctx, skb, location, (__u32)reason, NULL, false);
}

HT_TP_BTF_RAW("kfree_skb", dropfilt_btf3, dropfilt_raw3, struct sk_buff *skb, void *location,
	      int reason)
{
	return on_drop(ctx, skb, location, (__u32)reason, NULL, true);
}

/* any kernel: reason and rx_sk only where the tracepoint has them */
static __always_inline int on_drop_tp(struct trace_event_raw_kfree_skb___ht *r, const bool filt)
{
	__u32 reason = ~0U;
	struct sock *rx_sk = NULL;

	if (bpf_core_field_exists(r->reason))
		reason = BPF_CORE_READ(r, reason);
	if (bpf_core_field_exists(r->rx_sk))
		rx_sk = BPF_CORE_READ(r, rx_sk);
	return on_drop(r, BPF_CORE_READ(r, skbaddr), BPF_CORE_READ(r, location), reason, rx_sk,
		       filt);
}

SEC("tracepoint/skb/kfree_skb")
int dropwatch_tp(struct trace_event_raw_kfree_skb___ht *r)
{
	return on_drop_tp(r, false);
}

SEC("tracepoint/skb/kfree_skb")
int dropfilt_tp(struct trace_event_raw_kfree_skb___ht *r)
{
	return on_drop_tp(r, true);
}
