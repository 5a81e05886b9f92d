// SPDX-License-Identifier: GPL-2.0
/*
 * Loaded on another CPU at a tool's start and never attached (libcommon/bgload.c): libbpf
 * asks the kernel once per process what it supports for an object like ours (BTF kinds,
 * global data, mmap-able arrays, bpf_probe_read_kernel(), BPF_PROG_BIND_MAP, memcg
 * accounting), so the tool's own load finds the answers there.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

const volatile __u64 prewarm_addr = 0; /* .rodata: global data, bound to the program */

SEC("tracepoint")
int prewarm(void *ctx)
{
	__u64 v = 0;

	bpf_probe_read_kernel(&v, sizeof(v), (const void *)prewarm_addr);
	return v != 0;
}

char LICENSE[] SEC("license") = "GPL";
