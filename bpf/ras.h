/* SPDX-License-Identifier: GPL-2.0 */
/*
 * huatuo-ras record: one per hardware-error tracepoint hit. The kernel side copies the raw
 * tracepoint data (registers, numbers and strings); user space decodes it.
 */
#ifndef HT_RAS_H
#define HT_RAS_H

#include "common.h"

#define RAS_MSG_LEN 256
#define RAS_LABEL_LEN 256
#define RAS_DETAIL_LEN 512
#define RAS_DEV_NAME_LEN 64
#define RAS_FRU_TEXT_LEN 64
#define RAS_RAW_LEN 128 /* first bytes of a non-standard section's payload */

enum ras_source {
	RAS_SRC_MCE = 1,	/* mce/mce_record */
	RAS_SRC_EDAC,		/* ras/mc_event */
	RAS_SRC_AER,		/* ras/aer_event */
	RAS_SRC_NON_STANDARD,	/* ras/non_standard_event (ACPI GHES, unknown section) */
	RAS_SRC_ARM,		/* ras/arm_event (ACPI GHES, ARM processor section) */
	RAS_SRC_THRESHOLD,	/* irq_vectors/threshold_apic_entry */
	RAS_SRC_EXTLOG,		/* ras/extlog_mem_event (Intel extended error log) */
	RAS_SRC_MEMORY_FAILURE, /* ras/memory_failure_event (hwpoison handling) */
	RAS_SRC_MAX,
};

/* struct mce, as the kernel's mce_record tracepoint sees it */
struct ras_mce {
	__u64 mcgcap;
	__u64 mcgstatus;
	__u64 status;
	__u64 addr;
	__u64 misc;
	__u64 synd;
	__u64 ipid;
	__u64 ip;
	__u64 tsc;
	__u64 ppin; /* 0 unless has_ppin (Linux 5.19+) */
	__u64 walltime;
	__u32 cpu; /* logical CPU that logged it */
	__u32 cpuid;
	__u32 apicid;
	__u32 socketid;
	__u32 microcode; /* 0 unless has_microcode */
	__u8 cs;
	__u8 bank;
	__u8 cpuvendor;
	__u8 has_ppin;
	__u8 has_microcode;
	__u8 pad[7];
};

/* ras/mc_event (EDAC) */
struct ras_edac {
	__u64 address;
	__u64 syndrome;
	__u32 err_type; /* enum hw_event_mc_err_type */
	__s32 error_count;
	__u8 mc_index;
	__s8 top_layer;
	__s8 middle_layer;
	__s8 lower_layer;
	__u8 grain_bits;
	__u8 pad[3];
	char msg[RAS_MSG_LEN];
	char label[RAS_LABEL_LEN];
	char driver_detail[RAS_DETAIL_LEN];
};

/* ras/aer_event */
struct ras_aer {
	__u32 status;  /* correctable or uncorrectable status register */
	__u8 severity; /* 0 non-fatal, 1 fatal, 2 correctable */
	__u8 tlp_header_valid;
	__u8 pad[2];
	__u32 tlp_header[4];
	char dev_name[RAS_DEV_NAME_LEN];
};

/* ras/non_standard_event */
struct ras_non_standard {
	__u8 sec_type[16]; /* guid */
	__u8 fru_id[16];
	__u32 len; /* payload length */
	__u8 sev;  /* GHES_SEV_* */
	__u8 pad[3];
	char fru_text[RAS_FRU_TEXT_LEN];
	__u8 raw[RAS_RAW_LEN];
};

/* ras/arm_event */
struct ras_arm {
	__u64 mpidr;
	__u64 midr;
	__u32 running_state;
	__u32 psci_state;
	__u32 pei_len;
	__u32 ctx_len;
	__u32 oem_len;
	__s32 cpu;
	__u8 affinity;
	__u8 sev;     /* GHES_SEV_* when has_sev */
	__u8 has_sev; /* Linux 6.16+ passes sev and cpu */
	__u8 pad[5];
};

/* irq_vectors/threshold_apic_entry */
struct ras_threshold {
	__u32 vector;
	__u32 cpu;
};

/* ras/extlog_mem_event */
struct ras_extlog {
	__u64 validation_bits;
	__u64 physical_addr;
	__u64 physical_addr_mask;
	__u32 err_seq;
	__u16 node;
	__u16 card;
	__u16 module;
	__u16 bank;
	__u16 device;
	__u16 row;
	__u16 column;
	__u8 error_type; /* CPER memory error type */
	__u8 sev;	 /* CPER severity */
	__u8 fru_id[16];
	char fru_text[RAS_FRU_TEXT_LEN];
};

/* ras/memory_failure_event */
struct ras_memory_failure {
	__u64 pfn;
	__s32 type;   /* enum mf_action_page_type */
	__s32 result; /* enum mf_result */
};

struct ras_event {
	__u64 ts_ns;  /* bpf_ktime_get_ns() */
	__u32 source; /* enum ras_source */
	__u32 cpu;    /* CPU the tracepoint ran on */
	union {
		struct ras_mce mce;
		struct ras_edac edac;
		struct ras_aer aer;
		struct ras_non_standard ns;
		struct ras_arm arm;
		struct ras_threshold thr;
		struct ras_extlog extlog;
		struct ras_memory_failure mf;
	};
};

#define RAS_SIZE_OF(member) \
	(__builtin_offsetof(struct ras_event, member) + sizeof(((struct ras_event *)0)->member))

/*
 * Bytes a record of @source takes: its own part of the union, not the largest one (an MCE is
 * 136 bytes, an EDAC record 1072), so a storm of small records fills the ring eight times
 * slower. Constant where @source is (the BPF side needs that).
 */
static inline __attribute__((always_inline)) unsigned int ras_event_size(unsigned int source)
{
	switch (source) {
	case RAS_SRC_MCE:
		return RAS_SIZE_OF(mce);
	case RAS_SRC_EDAC:
		return RAS_SIZE_OF(edac);
	case RAS_SRC_AER:
		return RAS_SIZE_OF(aer);
	case RAS_SRC_NON_STANDARD:
		return RAS_SIZE_OF(ns);
	case RAS_SRC_ARM:
		return RAS_SIZE_OF(arm);
	case RAS_SRC_THRESHOLD:
		return RAS_SIZE_OF(thr);
	case RAS_SRC_EXTLOG:
		return RAS_SIZE_OF(extlog);
	case RAS_SRC_MEMORY_FAILURE:
		return RAS_SIZE_OF(mf);
	default:
		return sizeof(struct ras_event);
	}
}

#endif
