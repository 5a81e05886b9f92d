/* SPDX-License-Identifier: GPL-2.0 */
#ifndef HT_NETRXLAT_H
#define HT_NETRXLAT_H

#include "common.h"

/* Receive stages, in path order; thresholds are all measured from the driver. */
enum netrxlat_where {
	NETRXLAT_TO_NETIF_RCV = 0, /* netif_rx (backlog, RPS) -> netif_receive_skb */
	NETRXLAT_TO_TCPV4_RCV = 1, /* -> tcp:tcp_probe (established socket, IPv4 and IPv6) */
	NETRXLAT_TO_USER_COPY = 2, /* -> skb:skb_copy_datagram_iovec (recvmsg copy) */
	NETRXLAT_NR_STAGES,
};

struct netrxlat_event {
	__u64 ts_ns;	  /* bpf_ktime_get_ns() at the report */
	__u64 latency_ns; /* since our own stamp at the driver hand-off */
	__u64 cgroup_id;  /* the reader's memory cgroup (user copy), else 0 */
	__u32 pid;	  /* tgid of the reader (user copy), 0 in softirq stages */
	__u32 tid;
	char comm[HT_COMM_LEN];
	char ifname[HT_COMM_LEN]; /* device the packet came in on, "" if unknown */
	__u8 saddr[16];		  /* IPv4 in the first 4 bytes */
	__u8 daddr[16];
	__u16 sport; /* host order */
	__u16 dport;
	__u32 seq; /* host order */
	__u32 ack_seq;
	__u32 pkt_len; /* skb->len at the stage */
	__u32 netns_inum;
	__u8 family; /* AF_INET or AF_INET6 */
	__u8 state;  /* TCP state (TCP_ESTABLISHED...), 0 when unknown */
	__u8 where;  /* enum netrxlat_where */
	__u8 pad[5];
};

#endif
