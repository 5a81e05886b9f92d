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
 * A stamp can outlive its skb: TCP frees a segment it coalesced into an earlier skb with
 * __kfree_skb (no tracepoint), and the next skb at that address may be one that is not
 * stamped (a FIN, an ACK, UDP, another netns). So a stamp also keeps the packet's identity
 * (struct pkt_id), and a stage over its threshold reports only if the packet there has the
 * same identity; otherwise the stale stamp is dropped. Under the threshold nothing is read
 * but the stamp's key and time.
 *
 * The first stage over its threshold is reported and the stamp dropped, so a packet is
 * reported at most once. Filtering (TCP only, netns) happens at the stamp: later stages only
 * look the stamp up. No stacks: this runs per packet. A report (rare: a stage over its
 * threshold) runs in a program of its own, tail-called by the raw_tp stages (report_stage()).
 */
#define HT_WANT_CONTAINERS
#include "common.bpf.h"
#include <bpf/bpf_endian.h>
#include "netrxlat.h"

/*
 * sk_buff, sock and net_device as far as this file reads them (struct net and the task:
 * common.bpf.h's ___ht ones): CO-RE finds each field in the kernel's type of the name
 * without the ___nrx flavour. With vmlinux.h's, the object's BTF held all of these types and
 * all they point to, and the kernel checks it at every start.
 */
struct net_device___nrx {
	char name[16];
	struct {
		struct net___ht *net;
	} nd_net; /* possible_net_t */
} __attribute__((preserve_access_index));

struct sock___nrx {
	struct {
		unsigned short skc_family;
		volatile unsigned char skc_state;
	} __sk_common;
} __attribute__((preserve_access_index));

struct sk_buff___nrx {
	struct net_device___nrx *dev;
	struct sock___nrx *sk;
	unsigned int len;
	__u16 transport_header;
	__u16 network_header;
	unsigned char *head;
	unsigned char *data;
} __attribute__((preserve_access_index));

/* from here on, the names mean the types above */
#define sk_buff sk_buff___nrx
#define sock sock___nrx
#define net_device net_device___nrx

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6

const volatile __u64 threshold_ns[NETRXLAT_NR_STAGES] = { 5000000, 10000000, 115000000 };
const volatile __u32 netns_only = 0;	/* netns inum to keep, 0 = all */
const volatile __u32 netns_exclude = 0; /* netns inum to skip, 0 = none */
const volatile __u32 target_pid = 0;	/* only user copies of this tgid */
const volatile __u32 rate_per_sec = 0;	/* events per second, 0 = no limit */

/*
 * What tells two packets at one skb address apart: the IP length (IPv4 tot_len, IPv6
 * payload_len) and TCP's sequence and acknowledgment numbers, data offset and flags, as they
 * are in the headers (TCP does not rewrite them when it coalesces later segments into the
 * skb; NAT rewrites addresses and ports, which are left out so a redirected packet still
 * matches). Two packets with the same are copies of one segment. A stamp keeps a 32-bit hash
 * of it (pkt_id_hash): two packets pass for one with odds of 1 in 2^32.
 */
struct pkt_id {
	__u32 seq; /* network order, as all of these */
	__u32 ack_seq;
	__u16 doff_flags; /* bytes 12-13 of the TCP header */
	__u16 ip_len;
} __attribute__((aligned(8)));

/*
 * The stamps: a set-associative table indexed by the skb address, STAMP_SETS sets of two
 * ways, a set one cache line. Every stage reads one line, found by an array index that the
 * verifier inlines: no hash, lock or allocation per packet. (An LRU hash insert, three
 * lookups and a delete per packet, each on lines the other CPU had just written, were 40 %
 * of the tool's cost per packet.) A full set gives its older stamp up, as a full LRU hash
 * does. Stamps leave at the copy (or at TCP for a report, at a drop), and at
 * netif_receive_skb the next skb at an address takes a stamp left there over or clears it,
 * so a set fills only with packets that wait. Two CPUs may write one way at once: a way
 * carries a check of its key, time, device and identity, verified before a report reads the
 * packet's headers; a way failing it is no stamp.
 */
#define STAMP_SET_BITS 15
#define STAMP_SETS (1 << STAMP_SET_BITS) /* 65536 stamps, 2 MB */
#define PENDING_RX 1ULL /* in a key: stamped by netif_rx, netif_receive_skb still to come */

struct stamp {
	__u64 key; /* skb address, | PENDING_RX; 0 = free */
	__u64 ts_ns;
	__u64 dev;   /* struct net_device * at the stamp */
	__u32 id;    /* pkt_id_hash() of the packet's struct pkt_id */
	__u32 check; /* stamp_check() */
};

struct stamp_set {
	struct stamp way[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE); /* its values are page-aligned: a set is one line */
	__uint(max_entries, STAMP_SETS);
	__type(key, __u32);
	__type(value, struct stamp_set);
} stamps SEC(".maps");

#define GOLDEN64 0x9E3779B97F4A7C15ULL

static __always_inline __u64 mix64(__u64 h, __u64 v)
{
	h = (h ^ v) * GOLDEN64;
	return h ^ (h >> 32);
}

static __always_inline __u32 pkt_id_hash(const struct pkt_id *id)
{
	return mix64(mix64(0, *(const __u64 *)id), *((const __u32 *)id + 2));
}

static __always_inline __u32 stamp_check(__u64 skb, const struct stamp *st)
{
	return mix64(mix64(mix64(skb, st->ts_ns), st->dev), st->id);
}

static __always_inline struct stamp_set *stamp_set(struct sk_buff *skb)
{
	__u32 i = ((__u64)skb * GOLDEN64) >> (64 - STAMP_SET_BITS);

	return bpf_map_lookup_elem(&stamps, &i);
}

/*
 * 1 if @x is 0, else 0, without a branch. A way chosen by branches is a different constant
 * on each path, and the verifier checks all that follows once per path (a pointer to way 0
 * and one to way 1 are two states); computed, the way is one unknown 0 or 1 and what follows
 * is checked once. In asm: the compiler would make it a compare and a branch again.
 */
static __always_inline __u64 is_zero(__u64 x)
{
	__u64 r;

	asm("%0 = %1; %0 = -%0; %0 |= %1; %0 >>= 63; %0 ^= 1" : "=&r"(r) : "r"(x));
	return r;
}

/* @a ?: @b, without a branch (is_zero()) */
static __always_inline void *or_else(void *a, void *b)
{
	return (void *)((__u64)a | ((__u64)b & -is_zero((__u64)a)));
}

/* The way of @set that holds @skb's stamp, -1 if none. */
static __always_inline int stamp_find(const struct stamp_set *set, struct sk_buff *skb)
{
	__u64 in0 = is_zero((set->way[0].key & ~PENDING_RX) ^ (__u64)skb);
	__u64 in1 = is_zero((set->way[1].key & ~PENDING_RX) ^ (__u64)skb);

	return in0 | in1 ? (int)(in0 ^ 1) : -1;
}

/* Put @st (key: @skb, | PENDING_RX or not) in @skb's own way, else a free one, else the older. */
static __always_inline void stamp_put(struct stamp_set *set, struct sk_buff *skb,
				      const struct stamp *st)
{
	struct stamp *way;
	int w = stamp_find(set, skb);

	/* way 0 if free, else way 1 if free or older (two ktimes: the difference fits 63 bits) */
	if (w < 0)
		w = (is_zero(set->way[0].key) ^ 1) &
		    (is_zero(set->way[1].key) | (set->way[1].ts_ns - set->way[0].ts_ns) >> 63);
	way = &set->way[w & 1];
	way->key = 0; /* no stamp while it is written */
	way->ts_ns = st->ts_ns;
	way->dev = st->dev;
	way->id = st->id;
	way->check = stamp_check((__u64)skb, st);
	way->key = st->key;
}

/*
 * The stamp in way @w of @set, copied into @st, if it is whole and still @skb's: checked
 * before the work that reads the packet's headers, for a stage over its threshold.
 */
static __always_inline bool stamp_read(const struct stamp_set *set, int w, struct sk_buff *skb,
				       struct stamp *st)
{
	*st = set->way[w & 1];
	return (st->key & ~PENDING_RX) == (__u64)skb && st->check == stamp_check((__u64)skb, st);
}

/* The stamp in way @w of @set is done with (if it is still @skb's). */
static __always_inline void stamp_drop(struct stamp_set *set, int w, struct sk_buff *skb)
{
	struct stamp *way = &set->way[w & 1];

	if ((way->key & ~PENDING_RX) == (__u64)skb)
		way->key = 0;
}

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

/* Byte @i of the 128-byte header copy @h (masked: the verifier sees the bound). */
#define H8(h, i) ((__u32)(h)[(i)&127])
#define H16(h, i) (H8(h, i) << 8 | H8(h, (i) + 1))
#define H32(h, i) (H16(h, i) << 16 | H16(h, (i) + 2))

/*
 * A TCP segment with payload at @nh, the network header? Then @id is its identity.
 * Segments without payload (pure ACKs, the handshake) are not timed: half the packets of a
 * bulk transfer are ACKs, and a stamp costs a table write and a delete. One read of the
 * first 80 bytes holds the IP header (up to 60 bytes with IPv4 options) and the TCP fields
 * of @id: one path for the verifier (a second read for long options was a second copy of
 * all that follows). The lengths come from the IP header (0 for BIG TCP and jumbograms,
 * which are over 64K: payload).
 */
static __always_inline bool tcp_with_payload(void *nh, struct pkt_id *id)
{
	__u8 h[128] __attribute__((aligned(8))); /* a power of two for H8()'s mask */
	__u32 l3, total;

	__builtin_memset(h + 80, 0, sizeof(h) - 80); /* H8() reads no uninitialized stack */
	if (bpf_probe_read_kernel(h, 80, nh))
		return false;
	switch (h[0] >> 4) { /* the IP version: skb->protocol need not be read */
	case 4:
		if (h[9] != IPPROTO_TCP)
			return false;
		l3 = (h[0] & 0xf) * 4;
		total = H16(h, 2);
		id->ip_len = bpf_htons(total);
		break;
	case 6:
		if (h[6] != IPPROTO_TCP)
			return false;
		l3 = sizeof(struct ipv6hdr);
		total = H16(h, 4);
		id->ip_len = bpf_htons(total);
		total = total ? total + l3 : 0;
		break;
	default:
		return false;
	}
	id->seq = bpf_htonl(H32(h, l3 + 4));
	id->ack_seq = bpf_htonl(H32(h, l3 + 8));
	id->doff_flags = bpf_htons(H16(h, l3 + 12));
	/* the data offset is the high nibble of the first of the two bytes */
	return !total || total > l3 + (*(__u8 *)&id->doff_flags >> 4) * 4;
}

/*
 * Stamp @skb now (@from_rx: by netif_rx, so netif_receive_skb is still to come); false if
 * it is not a packet we time.
 */
static __always_inline bool stamp_skb(struct stamp_set *set, struct sk_buff *skb, bool from_rx)
{
	struct net_device *dev;
	struct pkt_id id = {};
	struct stamp st;

	/* at these hooks skb->data is the network header (eth_type_trans pulled L2) */
	if (!tcp_with_payload(BPF_CORE_READ(skb, data), &id))
		return false;
	dev = BPF_CORE_READ(skb, dev);
	/* the netns only to filter here; a report reads it through the stamp's device */
	if ((netns_only || netns_exclude) && !netns_wanted(dev_netns(dev)))
		return false;
	st.key = (__u64)skb | (from_rx ? PENDING_RX : 0);
	st.ts_ns = bpf_ktime_get_ns();
	st.dev = (__u64)dev;
	st.id = pkt_id_hash(&id);
	stamp_put(set, skb, &st);
	return true;
}

/*
 * The same for netif_receive_skb, not inlined: its program stays short for what netif_rx
 * stamped. A global function, so the verifier checks it once, not at each of the three call
 * sites; it takes the skb's address as a number (a global function takes scalars, not the
 * kernel pointer) and looks its set up again, an inlined array index.
 */
__noinline int stamp_skb_napi(__u64 skb_addr)
{
	struct sk_buff *skb = (struct sk_buff *)skb_addr;
	struct stamp_set *set = stamp_set(skb);

	return set && stamp_skb(set, skb, false);
}

/* The headers of the packet at a stage, read only when its stamp is over the threshold. */
struct pkt_hdrs {
	__u8 saddr[16];
	__u8 daddr[16];
	struct tcphdr tcp;
	__u8 family;
};

/*
 * Is the packet with network header @nh and TCP header @th the one stamped with identity
 * @id (TCP, the same struct pkt_id)? @th NULL: right after the IP header. Reads its headers
 * into @p.
 */
static __always_inline bool same_packet(__u32 id, void *nh, void *th, struct pkt_hdrs *p)
{
	struct pkt_id have;
	__u8 ip[10];

	if (bpf_probe_read_kernel(ip, sizeof(ip), nh))
		return false;
	/*
	 * IPv6 first: the verifier follows this branch first, and the IPv4 one, which leaves
	 * more of @p zero, is then within what it checked (the other order checks all that
	 * follows twice). @th without a branch for the same reason (or_else()).
	 */
	if (ip[0] >> 4 != 4) {
		if (ip[0] >> 4 != 6 || ip[6] != IPPROTO_TCP)
			return false;
		have.ip_len = *(__u16 *)&ip[4];
		p->family = AF_INET6;
		bpf_probe_read_kernel(p->saddr, 32, nh + offsetof(struct ipv6hdr, saddr));
		th = or_else(th, nh + sizeof(struct ipv6hdr));
	} else {
		if (ip[9] != IPPROTO_TCP)
			return false;
		have.ip_len = *(__u16 *)&ip[2];
		p->family = AF_INET;
		bpf_probe_read_kernel(p->saddr, 8, nh + offsetof(struct iphdr, saddr));
		__builtin_memcpy(p->daddr, p->saddr + 4, 4);
		th = or_else(th, nh + (ip[0] & 0xf) * 4);
	}
	if (bpf_probe_read_kernel(&p->tcp, sizeof(p->tcp), th))
		return false;
	have.seq = p->tcp.seq;
	have.ack_seq = p->tcp.ack_seq;
	have.doff_flags = ((__u16 *)&p->tcp)[6];
	return pkt_id_hash(&have) == id;
}

static __always_inline void *skb_l3(struct sk_buff *skb)
{
	return BPF_CORE_READ(skb, head) + BPF_CORE_READ(skb, network_header);
}

static __always_inline void *skb_l4(struct sk_buff *skb)
{
	return BPF_CORE_READ(skb, head) + BPF_CORE_READ(skb, transport_header);
}

/* threshold_ns[@where], @where < NETRXLAT_NR_STAGES, read without an index to bound */
static __always_inline __u64 stage_threshold(__u32 where)
{
	if (where == NETRXLAT_TO_NETIF_RCV)
		return threshold_ns[NETRXLAT_TO_NETIF_RCV];
	if (where == NETRXLAT_TO_TCPV4_RCV)
		return threshold_ns[NETRXLAT_TO_TCPV4_RCV];
	return threshold_ns[NETRXLAT_TO_USER_COPY];
}

/* report() returns */
#define REPORT_STALE 0	 /* no report: the stamp is stale or was being rewritten */
#define REPORT_DONE 1	 /* reported, or filtered, rate-limited or lost (counted) */
#define REPORT_IN_HEAP 2 /* perf-buffer kernels: the event is in ht_heap for the caller to output */

/*
 * Stage @where of the skb at @skb_addr, its stamp in way @w of its set, looks over its
 * threshold at @now: report it (if the rate allows) when its stamp is whole, over the
 * threshold and was taken for this very packet. @sk_addr: the socket, 0 if not known. Not
 * inlined: the stages' own code stays short, this runs once per report (in the raw_tp
 * flavour in a program of its own, netrxlat_report). A global function: the verifier checks
 * it once per program, not in each caller's context, so it takes numbers (a global function
 * takes scalars, not kernel or map-value pointers) and looks the set and the headers up
 * again. It has no ctx: on a perf buffer its caller outputs the event.
 */
__noinline int report(__u64 skb_addr, __u64 sk_addr, __u64 now, __u32 where, int w)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct sk_buff *skb = (struct sk_buff *)skb_addr;
	struct sock *sk = (struct sock *)sk_addr;
	struct stamp_set *set = stamp_set(skb);
	struct netrxlat_event *e;
	struct pkt_hdrs p = {};
	struct stamp st;
	void *nh, *th;
	__u32 netns;

	if (!set || where >= NETRXLAT_NR_STAGES || !stamp_read(set, w, skb, &st) ||
	    now - st.ts_ns < stage_threshold(where))
		return REPORT_STALE;
	/* at netif_receive_skb skb->data is the network header and the TCP one is not set */
	if (where == NETRXLAT_TO_NETIF_RCV) {
		nh = BPF_CORE_READ(skb, data);
		th = NULL;
	} else {
		nh = skb_l3(skb);
		th = skb_l4(skb);
	}
	if (!same_packet(st.id, nh, th, &p))
		return REPORT_STALE;
	/* --container: the reader's at the user copy, else the packet's network namespace's */
	if (ht_filter_containers) {
		netns = dev_netns((struct net_device *)st.dev);
		if (!(where == NETRXLAT_TO_USER_COPY ?
			      ht_wanted_task_netns(ht_task_cgroup_id_only(task), netns) :
			      ht_wanted(HT_VERDICT_NETNS | netns)))
			return REPORT_DONE;
	}
	/* --rate: one-second windows for the whole machine; held back -> ht_suppressed */
	if (!ht_rate_ok(rate_per_sec))
		return REPORT_DONE;
	e = ht_reserve(sizeof(*e));
	if (!e)
		return REPORT_DONE;
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = now;
	e->latency_ns = now - st.ts_ns;
	e->where = where;
	e->pkt_len = BPF_CORE_READ(skb, len);
	e->netns_inum = dev_netns((struct net_device *)st.dev);
	if (st.dev)
		bpf_probe_read_kernel_str(e->ifname, sizeof(e->ifname),
					  ((struct net_device *)st.dev)->name);
	if (sk)
		e->state = BPF_CORE_READ(sk, __sk_common.skc_state);
	if (where == NETRXLAT_TO_USER_COPY) {
		struct task_struct___ht *t = (struct task_struct___ht *)task;

		e->cgroup_id = ht_task_cgroup_id(task);
		e->pid = BPF_CORE_READ(t, tgid);
		e->tid = BPF_CORE_READ(t, pid);
		BPF_CORE_READ_STR_INTO(&e->comm, t, comm);
	}
	e->family = p.family;
	__builtin_memcpy(e->saddr, p.saddr, sizeof(e->saddr));
	__builtin_memcpy(e->daddr, p.daddr, sizeof(e->daddr));
	e->sport = bpf_ntohs(p.tcp.source);
	e->dport = bpf_ntohs(p.tcp.dest);
	e->seq = bpf_ntohl(p.tcp.seq);
	e->ack_seq = bpf_ntohl(p.tcp.ack_seq);
	if (ht_use_perfbuf)
		return REPORT_IN_HEAP;
	ht_ring_submit(e, sizeof(*e));
	return REPORT_DONE;
}

/*
 * After report(): output an event it left in ht_heap (perf-buffer kernels) and forget the
 * stamp in way @w of the skb at @skb_addr. At netif_receive_skb a stale stamp was another
 * packet's: this one did not come through netif_rx, so it is timed from here.
 */
static __always_inline void report_done(void *ctx, int ret, __u64 skb_addr, int w, __u32 where)
{
	struct sk_buff *skb = (struct sk_buff *)skb_addr;
	struct stamp_set *set;
	__u32 zero = 0;
	void *e;

	if (ht_use_perfbuf && ret == REPORT_IN_HEAP) {
		e = bpf_map_lookup_elem(&ht_heap, &zero);
		if (e)
			ht_submit(ctx, e, sizeof(struct netrxlat_event));
	}
	set = stamp_set(skb);
	if (!set)
		return;
	stamp_drop(set, w, skb);
	if (where == NETRXLAT_TO_NETIF_RCV && ret == REPORT_STALE)
		stamp_skb_napi(skb_addr);
}

/*
 * The raw_tp flavour reports through a tail call into netrxlat_report, one program, so that
 * report() is verified once and not in each of the three stages' programs (~1200 insns each,
 * about 1 ms of the start). A tail call hands over the context only: the stage pushes
 * report()'s arguments on a per-CPU stack, the report program pops them. A stack, not a
 * slot: a stage in process context (the user copy; tcp_probe from a socket's backlog with BH
 * enabled) can be interrupted by one in softirq between the push and the pop.
 */
struct report_args {
	__u64 skb;
	__u64 sk;
	__u64 now;
	__u32 where;
	__s32 w;
};

#define REPORT_NEST 4 /* process, softirq, hardirq, NMI */

struct report_stack {
	struct report_args frame[REPORT_NEST];
	__u32 depth;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct report_stack);
} report_stack SEC(".maps");

SEC("raw_tp")
int netrxlat_report(void *ctx);

/*
 * netrxlat_report in one slot per nesting depth, filled by libbpf at load, before any stage
 * is attached. A stage tail-calls the slot of its depth, an index the verifier does not
 * know, so the tail call is an indirect jump: with a constant index the JIT makes it a
 * direct jump and patches each stage's code when the slot is filled (~0.4 ms of the start
 * in text pokes). The key by size, not __type: the kernel takes no BTF for a program array
 * (libbpf would create it twice).
 */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, REPORT_NEST);
	__uint(key_size, sizeof(__u32));
	__array(values, int(void *));
} report_prog SEC(".maps") = {
	.values = { (void *)&netrxlat_report, (void *)&netrxlat_report, (void *)&netrxlat_report,
		    (void *)&netrxlat_report },
};

/*
 * 1 once report_prog holds netrxlat_report: the stages are attached while it is verified on
 * another CPU (libcommon/bgload.c), and until then a stage over its threshold forgets the
 * stamp, as before the start. Set by user space (libcommon/bpf.c, open_tail_gate()).
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} ht_tail_ready SEC(".maps");

SEC("raw_tp")
int netrxlat_report(void *ctx)
{
	struct report_stack *rs;
	struct report_args a;
	__u32 zero = 0, d;

	rs = bpf_map_lookup_elem(&report_stack, &zero);
	if (!rs)
		return 0;
	d = rs->depth - 1;
	if (d >= REPORT_NEST)
		return 0;
	a = rs->frame[d];
	rs->depth = d;
	report_done(ctx, report(a.skb, a.sk, a.now, a.where, a.w), a.skb, a.w, a.where);
	return 0;
}

/*
 * Stage @where of @skb, its stamp in way @w, is over its threshold at @now: report it (or
 * find the stamp stale) and forget the stamp. @raw: the raw_tp flavour (a tail call).
 */
static __always_inline void report_stage(void *ctx, bool raw, struct sk_buff *skb, int w, __u64 now,
					 __u32 where, struct sock *sk)
{
	struct report_stack *rs;
	__u32 zero = 0, d, *ready;

	if (!raw) {
		report_done(ctx, report((__u64)skb, (__u64)sk, now, where, w), (__u64)skb, w,
			    where);
		return;
	}
	ready = bpf_map_lookup_elem(&ht_tail_ready, &zero);
	if (!ready || !*ready) {
		report_done(ctx, REPORT_DONE, (__u64)skb, w, where);
		return;
	}
	rs = bpf_map_lookup_elem(&report_stack, &zero);
	if (rs && (d = rs->depth) < REPORT_NEST) {
		rs->depth = d + 1; /* taken before it is written: a nested stage pushes above */
		rs->frame[d] = (struct report_args){
			.skb = (__u64)skb, .sk = (__u64)sk, .now = now, .where = where, .w = w
		};
		bpf_tail_call(ctx, &report_prog, d);
		rs->depth = d;
	}
	/* not reached (the slot is filled before the gate opens); if it were, counted */
	ht_count_lost();
	report_done(ctx, REPORT_DONE, (__u64)skb, w, where);
}

/* netif_receive_skb after netif_rx: the backlog stage. Otherwise a fresh stamp. */
static __always_inline int on_netif_receive(void *ctx, bool raw, struct sk_buff *skb)
{
	struct stamp_set *set = stamp_set(skb);
	struct stamp *way;
	__u64 now;
	int w;

	if (!set)
		return 0;
	w = stamp_find(set, skb);
	if (w < 0) {
		stamp_skb_napi((__u64)skb);
		return 0;
	}
	way = &set->way[w & 1];
	if (!(way->key & PENDING_RX)) {
		/* a stamp left by an earlier skb at this address: this one's, or none */
		if (!stamp_skb_napi((__u64)skb))
			stamp_drop(set, w, skb);
		return 0;
	}
	now = bpf_ktime_get_ns();
	if (now - way->ts_ns < threshold_ns[NETRXLAT_TO_NETIF_RCV] || target_pid) {
		way->key = (__u64)skb; /* not pending any more */
		return 0;
	}
	report_stage(ctx, raw, skb, w, now, NETRXLAT_TO_NETIF_RCV, NULL);
	return 0;
}

static __always_inline int on_tcp_probe(void *ctx, bool raw, struct sock *sk, struct sk_buff *skb)
{
	struct stamp_set *set = stamp_set(skb);
	__u64 now;
	int w;

	if (!set || (w = stamp_find(set, skb)) < 0)
		return 0;
	now = bpf_ktime_get_ns();
	/* reported or stale (report() tells them apart): the stamp is done with either way */
	if (now - set->way[w & 1].ts_ns >= threshold_ns[NETRXLAT_TO_TCPV4_RCV] && !target_pid)
		report_stage(ctx, raw, skb, w, now, NETRXLAT_TO_TCPV4_RCV, sk);
	return 0;
}

static __always_inline int on_copy(void *ctx, bool raw, struct sk_buff *skb)
{
	struct stamp_set *set = stamp_set(skb);
	struct sock *sk;
	__u16 family;
	__u64 now;
	int w;

	if (!set || (w = stamp_find(set, skb)) < 0)
		return 0;
	now = bpf_ktime_get_ns();
	if (now - set->way[w & 1].ts_ns >= threshold_ns[NETRXLAT_TO_USER_COPY] &&
	    (!target_pid || (bpf_get_current_pid_tgid() >> 32) == target_pid)) {
		sk = BPF_CORE_READ(skb, sk);
		family = sk ? BPF_CORE_READ(sk, __sk_common.skc_family) : 0;
		/* a unix or netlink skb holds user data where report() would read headers */
		if (family == AF_INET || family == AF_INET6) {
			report_stage(ctx, raw, skb, w, now, NETRXLAT_TO_USER_COPY, sk);
			return 0;
		}
	}
	stamp_drop(set, w, skb);
	return 0;
}

/* Dropped packets leave the table at once (consumed ones leave at the copy or at TCP). */
static __always_inline int on_drop(struct sk_buff *skb)
{
	struct stamp_set *set = stamp_set(skb);
	int w;

	if (set && (w = stamp_find(set, skb)) >= 0)
		stamp_drop(set, w, skb);
	return 0;
}

static __always_inline int on_netif_rx(struct sk_buff *skb)
{
	struct stamp_set *set = stamp_set(skb);

	if (set)
		stamp_skb(set, skb, true);
	return 0;
}

/*
 * The skb the stages hash, compare and store: a tp_btf argument is a trusted pointer, on
 * which the verifier allows no arithmetic, so the stages get its address as a scalar (read
 * through BPF_CORE_READ, as in the raw_tp flavor).
 */
static __always_inline struct sk_buff *skb_addr(struct sk_buff *skb)
{
	return (struct sk_buff *)ht_addr(skb);
}

HT_TP_BTF_RAW("netif_rx", netrxlat_netif_rx_btf, netrxlat_netif_rx_raw, struct sk_buff *skb)
{
	return on_netif_rx(skb_addr(skb));
}

/*
 * The stages that report, in both flavours: tp_btf calls report() itself, raw_tp (the
 * default with the kernel BTF subset) tail-calls netrxlat_report (HT_TP_BTF_RAW_FLAVOUR).
 */
/*
 * netif_receive_skb(skb), tcp_probe(sk, skb), skb_copy_datagram_iovec(skb, len); the socket
 * too as a number (a global function takes no trusted pointer)
 */
static __always_inline int netif_receive(unsigned long long *ctx, bool raw)
{
	return on_netif_receive(ctx, raw, skb_addr((void *)ctx[0]));
}

static __always_inline int tcp_probe(unsigned long long *ctx, bool raw)
{
	return on_tcp_probe(ctx, raw, (struct sock *)ht_addr((void *)ctx[0]),
			    skb_addr((void *)ctx[1]));
}

static __always_inline int copy(unsigned long long *ctx, bool raw)
{
	return on_copy(ctx, raw, skb_addr((void *)ctx[0]));
}

HT_TP_BTF_RAW_FLAVOUR("netif_receive_skb", netrxlat_netif_receive_btf, netrxlat_netif_receive_raw,
		      netif_receive)
HT_TP_BTF_RAW_FLAVOUR("tcp_probe", netrxlat_tcp_probe_btf, netrxlat_tcp_probe_raw, tcp_probe)
HT_TP_BTF_RAW_FLAVOUR("skb_copy_datagram_iovec", netrxlat_copy_btf, netrxlat_copy_raw, copy)

HT_TP_BTF_RAW("kfree_skb", netrxlat_kfree_skb_btf, netrxlat_kfree_skb_raw, struct sk_buff *skb)
{
	return on_drop(skb_addr(skb));
}
