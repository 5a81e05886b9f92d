/* SPDX-License-Identifier: GPL-2.0 */
#ifndef HT_DROPWATCH_H
#define HT_DROPWATCH_H

#include "common.h"

#define DW_REASON_SLOTS 512   /* core reasons in the filter array; higher values: reason_high */
#define DW_REASON_HIGH_MAX 64 /* subsystem reasons (0x10000 and up) a filter can name */
#define DW_IFNAMSIZ 16

/* --proto */
enum dw_proto {
	DW_PROTO_ANY = 0,
	DW_PROTO_TCP = 6,
	DW_PROTO_UDP = 17,
	DW_PROTO_ICMP = 1, /* ICMP for IPv4, ICMPv6 (58) for IPv6 */
};

/* One dropped packet as skb:kfree_skb saw it. Addresses and ports in network byte order. */
struct drop_event {
	__u64 ts_ns;
	__u64 location; /* kernel address of the code that dropped it */
	__u64 skb_addr;
	__u64 cgroup_id; /* current's memory cgroup if the packet is in its netns, else 0 */
	__u32 reason;	 /* enum skb_drop_reason; ~0 when the kernel has none (< 5.17) */
	__u32 pid;	 /* current: whoever freed the skb (often softirq context) */
	__u32 tid;
	__u32 pkt_len; /* skb->len */
	__u32 ifindex;
	__u32 netns_inum;
	__u32 tcp_seq;
	__u32 tcp_ack_seq;
	__u16 eth_proto; /* skb->protocol, host order */
	__u16 queue_mapping;
	__u16 sport;
	__u16 dport;
	__u8 family;	/* 4, 6 or 0 when not IP */
	__u8 l4_proto;	/* IPPROTO_*, 0 when unknown */
	__u8 tcp_flags; /* FIN SYN RST PSH ACK URG ECE CWR bits */
	__u8 sk_state;	/* TCP state of the owning socket, 0 when none */
	__u8 saddr[16];
	__u8 daddr[16];
	char comm[HT_COMM_LEN];
	char ifname[DW_IFNAMSIZ];
	__s32 nr; /* frames in ips */
	__u32 pad;
	__u64 ips[HT_STACK_DEPTH];
};

/* --summary: drops counted in the kernel by reason and location. */
struct drop_key {
	__u64 location;
	__u32 reason;
	__u32 pad;
};

/*
 * --summary's first table: per CPU, DW_COUNT_SLOTS slots indexed by a hash of the key; a key
 * whose slot another one holds is counted in the drop_counts hash instead.
 */
#define DW_COUNT_SLOTS 256

struct drop_slot {
	struct drop_key key; /* location 0: a free slot */
	__u64 count;
};

struct drop_slots {
	struct drop_slot slot[DW_COUNT_SLOTS];
};

#endif
