// SPDX-License-Identifier: GPL-2.0
/*
 * huatuo-ras kernel side: copy every hardware-error tracepoint the kernel has into one
 * record. Each tracepoint comes in three flavors: tp_btf (typed arguments), raw_tp (the same
 * arguments as a u64 array; also what BPF_PROG_TEST_RUN can drive) and the classic tracepoint
 * (the trace record, read by field name with CO-RE). User space picks one flavor per
 * tracepoint and attaches each tracepoint on its own: a missing one costs only itself.
 *
 * String arguments are kernel pointers: bpf_probe_read_kernel_str() copies them and leaves
 * an empty string when the pointer is not readable (as in synthetic test runs).
 */
#include "common.bpf.h"
#include "ras.h"

/*
 * Types that this kernel's BTF may lack (CONFIG_X86_MCE, CONFIG_PCIEAER, CONFIG_ACPI_EXTLOG
 * off): our own CO-RE views, matched by name (the ___ht suffix is ignored by libbpf).
 */
struct mce___ht {
	__u64 status;
	__u64 misc;
	__u64 addr;
	__u64 mcgstatus;
	__u64 ip;
	__u64 tsc;
	__u64 walltime;
	__u8 cpuvendor;
	__u32 cpuid;
	__u8 cs;
	__u8 bank;
	__u32 extcpu;
	__u32 socketid;
	__u32 apicid;
	__u64 mcgcap;
	__u64 synd;
	__u64 ipid;
	__u64 ppin;
	__u32 microcode;
} __attribute__((preserve_access_index));

struct trace_event_raw_mce_record___ht {
	struct trace_entry ent;
	__u64 mcgcap;
	__u64 mcgstatus;
	__u64 status;
	__u64 addr;
	__u64 misc;
	__u64 synd;
	__u64 ipid;
	__u64 ip;
	__u64 tsc;
	__u64 ppin;
	__u64 walltime;
	__u32 cpu;
	__u32 cpuid;
	__u32 apicid;
	__u32 socketid;
	__u8 cs;
	__u8 bank;
	__u8 cpuvendor;
	__u32 microcode;
} __attribute__((preserve_access_index));

struct trace_event_raw_aer_event___ht {
	struct trace_entry ent;
	__u32 __data_loc_dev_name;
	__u32 status;
	__u8 severity;
	__u8 tlp_header_valid;
	__u32 tlp_header[4];
} __attribute__((preserve_access_index));

struct cper_sec_mem_err___ht {
	__u64 validation_bits;
	__u64 physical_addr;
	__u64 physical_addr_mask;
	__u16 node;
	__u16 card;
	__u16 module;
	__u16 bank;
	__u16 device;
	__u16 row;
	__u16 column;
	__u8 error_type;
} __attribute__((preserve_access_index));

struct cper_mem_err_compact___ht {
	__u64 validation_bits;
	__u16 node;
	__u16 card;
	__u16 module;
	__u16 bank;
	__u16 device;
	__u16 row;
	__u16 column;
} __attribute__((preserve_access_index));

struct trace_event_raw_extlog_mem_event___ht {
	struct trace_entry ent;
	__u32 err_seq;
	__u8 etype;
	__u8 sev;
	__u64 pa;
	__u8 pa_mask_lsb;
	guid_t fru_id;
	__u32 __data_loc_fru_text;
	struct cper_mem_err_compact___ht data;
} __attribute__((preserve_access_index));

struct trace_event_raw_memory_failure_event___ht {
	struct trace_entry ent;
	unsigned long pfn;
	int type;
	int result;
} __attribute__((preserve_access_index));

/* Linux < 6.16: arm_event had no sev/cpu (and no buffers) */
struct trace_event_raw_arm_event___ht {
	struct trace_entry ent;
	__u64 mpidr;
	__u64 midr;
	__u32 running_state;
	__u32 psci_state;
	__u8 affinity;
	__u32 pei_len;
	__u32 ctx_len;
	__u32 oem_len;
	__u8 sev;
	int cpu;
} __attribute__((preserve_access_index));

/* An all-zero record to clear new ones with (too big for an inline memset). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ras_event);
} ras_zero SEC(".maps");

static __always_inline struct ras_event *ras_new(__u32 source)
{
	__u32 key = 0;
	struct ras_event *e, *zero = bpf_map_lookup_elem(&ras_zero, &key);

	if (!zero)
		return NULL;
	e = ht_reserve(ras_event_size(source));
	if (!e)
		return NULL;
	bpf_probe_read_kernel(e, ras_event_size(source), zero);
	e->ts_ns = bpf_ktime_get_ns();
	e->source = source;
	e->cpu = bpf_get_smp_processor_id();
	return e;
}

/* ---- mce/mce_record: tp_btf/raw_tp pass struct mce * (struct mce_hw_err * since 6.12,
 * which starts with the struct mce) ---- */

/*
 * The fields struct mce (@src: struct mce___ht) and the mce_record record (@src: its
 * trace_event_raw_mce_record___ht) name alike, into struct ras_mce @dst; those a kernel may
 * lack stay 0. The logging CPU is extcpu in the one and cpu in the other.
 */
#define RAS_READ_MCE(dst, src)                                            \
	do {                                                              \
		(dst)->mcgcap = BPF_CORE_READ(src, mcgcap);               \
		(dst)->mcgstatus = BPF_CORE_READ(src, mcgstatus);         \
		(dst)->status = BPF_CORE_READ(src, status);               \
		(dst)->addr = BPF_CORE_READ(src, addr);                   \
		(dst)->misc = BPF_CORE_READ(src, misc);                   \
		(dst)->ip = BPF_CORE_READ(src, ip);                       \
		(dst)->tsc = BPF_CORE_READ(src, tsc);                     \
		(dst)->walltime = BPF_CORE_READ(src, walltime);           \
		(dst)->cpuid = BPF_CORE_READ(src, cpuid);                 \
		(dst)->apicid = BPF_CORE_READ(src, apicid);               \
		(dst)->socketid = BPF_CORE_READ(src, socketid);           \
		(dst)->cs = BPF_CORE_READ(src, cs);                       \
		(dst)->bank = BPF_CORE_READ(src, bank);                   \
		(dst)->cpuvendor = BPF_CORE_READ(src, cpuvendor);         \
		if (bpf_core_field_exists((src)->synd))                   \
			(dst)->synd = BPF_CORE_READ(src, synd);           \
		if (bpf_core_field_exists((src)->ipid))                   \
			(dst)->ipid = BPF_CORE_READ(src, ipid);           \
		if (bpf_core_field_exists((src)->ppin)) {                 \
			(dst)->ppin = BPF_CORE_READ(src, ppin);           \
			(dst)->has_ppin = 1;                              \
		}                                                         \
		if (bpf_core_field_exists((src)->microcode)) {            \
			(dst)->microcode = BPF_CORE_READ(src, microcode); \
			(dst)->has_microcode = 1;                         \
		}                                                         \
	} while (0)

static __always_inline int on_mce(void *ctx, const struct mce___ht *m)
{
	struct ras_event *e = ras_new(RAS_SRC_MCE);

	if (!e)
		return 0;
	RAS_READ_MCE(&e->mce, m);
	e->mce.cpu = BPF_CORE_READ(m, extcpu);
	ht_submit(ctx, e, ras_event_size(RAS_SRC_MCE));
	return 0;
}

HT_TP_BTF_RAW("mce_record", htras_mce_btf, htras_mce_raw, void *m)
{
	return on_mce(ctx, m);
}

SEC("tracepoint/mce/mce_record")
int htras_mce_tp(struct trace_event_raw_mce_record___ht *r)
{
	struct ras_event *e = ras_new(RAS_SRC_MCE);

	if (!e)
		return 0;
	RAS_READ_MCE(&e->mce, r);
	e->mce.cpu = BPF_CORE_READ(r, cpu);
	ht_submit(r, e, ras_event_size(RAS_SRC_MCE));
	return 0;
}

/* ---- ras/mc_event (EDAC) ---- */

static __always_inline int on_mc(void *ctx, __u32 err_type, const char *msg, const char *label,
				 int error_count, __u8 mc_index, __s8 top, __s8 mid, __s8 low,
				 unsigned long address, __u8 grain_bits, unsigned long syndrome,
				 const char *driver_detail)
{
	struct ras_event *e = ras_new(RAS_SRC_EDAC);

	if (!e)
		return 0;
	e->edac.err_type = err_type;
	e->edac.error_count = error_count;
	e->edac.mc_index = mc_index;
	e->edac.top_layer = top;
	e->edac.middle_layer = mid;
	e->edac.lower_layer = low;
	e->edac.address = address;
	e->edac.grain_bits = grain_bits;
	e->edac.syndrome = syndrome;
	bpf_probe_read_kernel_str(e->edac.msg, sizeof(e->edac.msg), msg);
	bpf_probe_read_kernel_str(e->edac.label, sizeof(e->edac.label), label);
	bpf_probe_read_kernel_str(e->edac.driver_detail, sizeof(e->edac.driver_detail),
				  driver_detail);
	ht_submit(ctx, e, ras_event_size(RAS_SRC_EDAC));
	return 0;
}

HT_TP_BTF_RAW("mc_event", htras_mc_btf, htras_mc_raw, unsigned int err_type, const char *msg,
	      const char *label, int error_count, __u8 mc_index, __s8 top, __s8 mid, __s8 low,
	      unsigned long address, __u8 grain_bits, unsigned long syndrome,
	      const char *driver_detail)
{
	return on_mc(ctx, err_type, msg, label, error_count, mc_index, top, mid, low, address,
		     grain_bits, syndrome, driver_detail);
}

SEC("tracepoint/ras/mc_event")
int htras_mc_tp(struct trace_event_raw_mc_event *r)
{
	struct ras_event *e = ras_new(RAS_SRC_EDAC);

	if (!e)
		return 0;
	e->edac.err_type = BPF_CORE_READ(r, error_type);
	e->edac.error_count = BPF_CORE_READ(r, error_count);
	e->edac.mc_index = BPF_CORE_READ(r, mc_index);
	e->edac.top_layer = BPF_CORE_READ(r, top_layer);
	e->edac.middle_layer = BPF_CORE_READ(r, middle_layer);
	e->edac.lower_layer = BPF_CORE_READ(r, lower_layer);
	e->edac.address = BPF_CORE_READ(r, address);
	e->edac.grain_bits = BPF_CORE_READ(r, grain_bits);
	e->edac.syndrome = BPF_CORE_READ(r, syndrome);
	ht_read_data_loc_str(e->edac.msg, sizeof(e->edac.msg), r, BPF_CORE_READ(r, __data_loc_msg));
	ht_read_data_loc_str(e->edac.label, sizeof(e->edac.label), r,
			     BPF_CORE_READ(r, __data_loc_label));
	ht_read_data_loc_str(e->edac.driver_detail, sizeof(e->edac.driver_detail), r,
			     BPF_CORE_READ(r, __data_loc_driver_detail));
	ht_submit(r, e, ras_event_size(RAS_SRC_EDAC));
	return 0;
}

/* ---- ras/aer_event: (dev_name, status, severity, tlp_header_valid, tlp); the TLP log type
 * changed names over time, but its first four u32 are always the header ---- */

static __always_inline int on_aer(void *ctx, const char *dev_name, __u32 status, __u8 severity,
				  __u8 tlp_header_valid, const void *tlp)
{
	struct ras_event *e = ras_new(RAS_SRC_AER);

	if (!e)
		return 0;
	e->aer.status = status;
	e->aer.severity = severity;
	e->aer.tlp_header_valid = tlp_header_valid;
	if (tlp_header_valid && tlp)
		bpf_probe_read_kernel(e->aer.tlp_header, sizeof(e->aer.tlp_header), tlp);
	bpf_probe_read_kernel_str(e->aer.dev_name, sizeof(e->aer.dev_name), dev_name);
	ht_submit(ctx, e, ras_event_size(RAS_SRC_AER));
	return 0;
}

HT_TP_BTF_RAW("aer_event", htras_aer_btf, htras_aer_raw, const char *dev_name, __u32 status,
	      __u8 severity, __u8 tlp_header_valid, void *tlp)
{
	return on_aer(ctx, dev_name, status, severity, tlp_header_valid, tlp);
}

SEC("tracepoint/ras/aer_event")
int htras_aer_tp(struct trace_event_raw_aer_event___ht *r)
{
	struct ras_event *e = ras_new(RAS_SRC_AER);

	if (!e)
		return 0;
	e->aer.status = BPF_CORE_READ(r, status);
	e->aer.severity = BPF_CORE_READ(r, severity);
	if (bpf_core_field_exists(r->tlp_header_valid)) {
		e->aer.tlp_header_valid = BPF_CORE_READ(r, tlp_header_valid);
		bpf_core_read(e->aer.tlp_header, sizeof(e->aer.tlp_header), &r->tlp_header);
	}
	ht_read_data_loc_str(e->aer.dev_name, sizeof(e->aer.dev_name), r,
			     BPF_CORE_READ(r, __data_loc_dev_name));
	ht_submit(r, e, ras_event_size(RAS_SRC_AER));
	return 0;
}

/* ---- ras/non_standard_event (GHES section the kernel cannot decode) ---- */

/* 1..RAS_RAW_LEN bytes, in a form the verifier can bound (n is already 1..RAS_RAW_LEN) */
#define RAS_RAW_SIZE(n) ((((n)-1) & (RAS_RAW_LEN - 1)) + 1)

static __always_inline int on_ns(void *ctx, const void *sec_type, const void *fru_id,
				 const char *fru_text, __u8 sev, const void *err, __u32 len)
{
	struct ras_event *e = ras_new(RAS_SRC_NON_STANDARD);
	__u32 n = len < RAS_RAW_LEN ? len : RAS_RAW_LEN;

	if (!e)
		return 0;
	e->ns.sev = sev;
	e->ns.len = len;
	bpf_probe_read_kernel(e->ns.sec_type, sizeof(e->ns.sec_type), sec_type);
	bpf_probe_read_kernel(e->ns.fru_id, sizeof(e->ns.fru_id), fru_id);
	bpf_probe_read_kernel_str(e->ns.fru_text, sizeof(e->ns.fru_text), fru_text);
	if (n && err)
		bpf_probe_read_kernel(e->ns.raw, RAS_RAW_SIZE(n), err);
	ht_submit(ctx, e, ras_event_size(RAS_SRC_NON_STANDARD));
	return 0;
}

HT_TP_BTF_RAW("non_standard_event", htras_ns_btf, htras_ns_raw, const guid_t *sec_type,
	      const guid_t *fru_id, const char *fru_text, __u8 sev, const __u8 *err, __u32 len)
{
	return on_ns(ctx, sec_type, fru_id, fru_text, sev, err, len);
}

SEC("tracepoint/ras/non_standard_event")
int htras_ns_tp(struct trace_event_raw_non_standard_event *r)
{
	struct ras_event *e = ras_new(RAS_SRC_NON_STANDARD);
	__u32 loc, n;

	if (!e)
		return 0;
	e->ns.sev = BPF_CORE_READ(r, sev);
	e->ns.len = BPF_CORE_READ(r, len);
	bpf_core_read(e->ns.sec_type, sizeof(e->ns.sec_type), &r->sec_type);
	bpf_core_read(e->ns.fru_id, sizeof(e->ns.fru_id), &r->fru_id);
	ht_read_data_loc_str(e->ns.fru_text, sizeof(e->ns.fru_text), r,
			     BPF_CORE_READ(r, __data_loc_fru_text));
	loc = BPF_CORE_READ(r, __data_loc_buf);
	n = loc >> 16;
	if (n > RAS_RAW_LEN)
		n = RAS_RAW_LEN;
	if (n)
		bpf_probe_read_kernel(e->ns.raw, RAS_RAW_SIZE(n), ht_data_loc(r, loc));
	ht_submit(r, e, ras_event_size(RAS_SRC_NON_STANDARD));
	return 0;
}

/* ---- ras/arm_event: (proc, pei_err, pei_len, ctx_err, ctx_len, oem, oem_len, sev, cpu)
 * since 6.16; (proc) before, served by the classic tracepoint flavor ---- */

static __always_inline int on_arm(void *ctx, const struct cper_sec_proc_arm *proc, __u32 pei_len,
				  __u32 ctx_len, __u32 oem_len, __u8 sev, int cpu)
{
	struct ras_event *e = ras_new(RAS_SRC_ARM);

	if (!e)
		return 0;
	e->arm.mpidr = BPF_CORE_READ(proc, mpidr);
	e->arm.midr = BPF_CORE_READ(proc, midr);
	e->arm.running_state = BPF_CORE_READ(proc, running_state);
	e->arm.psci_state = BPF_CORE_READ(proc, psci_state);
	e->arm.affinity = BPF_CORE_READ(proc, affinity_level);
	e->arm.pei_len = pei_len;
	e->arm.ctx_len = ctx_len;
	e->arm.oem_len = oem_len;
	e->arm.sev = sev;
	e->arm.cpu = cpu;
	e->arm.has_sev = 1;
	ht_submit(ctx, e, ras_event_size(RAS_SRC_ARM));
	return 0;
}

HT_TP_BTF_RAW("arm_event", htras_arm_btf, htras_arm_raw, const struct cper_sec_proc_arm *proc,
	      const __u8 *pei_err, __u32 pei_len, const __u8 *ctx_err, __u32 ctx_len,
	      const __u8 *oem, __u32 oem_len, __u8 sev, int cpu)
{
	return on_arm(ctx, proc, pei_len, ctx_len, oem_len, sev, cpu);
}

SEC("tracepoint/ras/arm_event")
int htras_arm_tp(struct trace_event_raw_arm_event___ht *r)
{
	struct ras_event *e = ras_new(RAS_SRC_ARM);

	if (!e)
		return 0;
	e->arm.mpidr = BPF_CORE_READ(r, mpidr);
	e->arm.midr = BPF_CORE_READ(r, midr);
	e->arm.running_state = BPF_CORE_READ(r, running_state);
	e->arm.psci_state = BPF_CORE_READ(r, psci_state);
	e->arm.affinity = BPF_CORE_READ(r, affinity);
	e->arm.cpu = -1;
	if (bpf_core_field_exists(r->sev) && bpf_core_field_exists(r->cpu)) {
		e->arm.sev = BPF_CORE_READ(r, sev);
		e->arm.cpu = BPF_CORE_READ(r, cpu);
		e->arm.has_sev = 1;
	}
	if (bpf_core_field_exists(r->pei_len)) {
		e->arm.pei_len = BPF_CORE_READ(r, pei_len);
		e->arm.ctx_len = BPF_CORE_READ(r, ctx_len);
		e->arm.oem_len = BPF_CORE_READ(r, oem_len);
	}
	ht_submit(r, e, ras_event_size(RAS_SRC_ARM));
	return 0;
}

/* ---- irq_vectors/threshold_apic_entry: an MCE bank crossed its corrected-error threshold
 * (cooled down in user space: --thr-backoff) ---- */

static __always_inline int on_thr(void *ctx, int vector)
{
	struct ras_event *e = ras_new(RAS_SRC_THRESHOLD);

	if (!e)
		return 0;
	e->thr.vector = vector;
	e->thr.cpu = e->cpu;
	ht_submit(ctx, e, ras_event_size(RAS_SRC_THRESHOLD));
	return 0;
}

HT_TP_BTF_RAW("threshold_apic_entry", htras_thr_btf, htras_thr_raw, int vector)
{
	return on_thr(ctx, vector);
}

SEC("tracepoint/irq_vectors/threshold_apic_entry")
int htras_thr_tp(struct trace_event_raw_x86_irq_vector *r)
{
	return on_thr(r, BPF_CORE_READ(r, vector));
}

/* ---- ras/extlog_mem_event: (mem, err_seq, fru_id, fru_text, sev) ---- */

static __always_inline int on_extlog(void *ctx, const struct cper_sec_mem_err___ht *mem,
				     __u32 err_seq, const void *fru_id, const char *fru_text,
				     __u8 sev)
{
	struct ras_event *e = ras_new(RAS_SRC_EXTLOG);

	if (!e)
		return 0;
	e->extlog.err_seq = err_seq;
	e->extlog.sev = sev;
	e->extlog.validation_bits = BPF_CORE_READ(mem, validation_bits);
	e->extlog.physical_addr = BPF_CORE_READ(mem, physical_addr);
	e->extlog.physical_addr_mask = BPF_CORE_READ(mem, physical_addr_mask);
	e->extlog.node = BPF_CORE_READ(mem, node);
	e->extlog.card = BPF_CORE_READ(mem, card);
	e->extlog.module = BPF_CORE_READ(mem, module);
	e->extlog.bank = BPF_CORE_READ(mem, bank);
	e->extlog.device = BPF_CORE_READ(mem, device);
	e->extlog.row = BPF_CORE_READ(mem, row);
	e->extlog.column = BPF_CORE_READ(mem, column);
	e->extlog.error_type = BPF_CORE_READ(mem, error_type);
	bpf_probe_read_kernel(e->extlog.fru_id, sizeof(e->extlog.fru_id), fru_id);
	bpf_probe_read_kernel_str(e->extlog.fru_text, sizeof(e->extlog.fru_text), fru_text);
	ht_submit(ctx, e, ras_event_size(RAS_SRC_EXTLOG));
	return 0;
}

HT_TP_BTF_RAW("extlog_mem_event", htras_extlog_btf, htras_extlog_raw, void *mem, __u32 err_seq,
	      const void *fru_id, const char *fru_text, __u8 sev)
{
	return on_extlog(ctx, mem, err_seq, fru_id, fru_text, sev);
}

/* CPER memory validation bits the compact record keeps (linux/cper.h) */
#define CPER_MEM_VALID_PA 0x0002
#define CPER_MEM_VALID_PA_MASK 0x0004

SEC("tracepoint/ras/extlog_mem_event")
int htras_extlog_tp(struct trace_event_raw_extlog_mem_event___ht *r)
{
	struct ras_event *e = ras_new(RAS_SRC_EXTLOG);
	__u8 lsb;

	if (!e)
		return 0;
	e->extlog.err_seq = BPF_CORE_READ(r, err_seq);
	e->extlog.error_type = BPF_CORE_READ(r, etype);
	e->extlog.sev = BPF_CORE_READ(r, sev);
	e->extlog.physical_addr = BPF_CORE_READ(r, pa);
	lsb = BPF_CORE_READ(r, pa_mask_lsb);
	e->extlog.validation_bits = BPF_CORE_READ(r, data.validation_bits);
	/* the record keeps only the mask's lowest set bit: rebuild the mask from it */
	if (lsb < 64)
		e->extlog.physical_addr_mask = ~0ULL << lsb;
	else
		e->extlog.validation_bits &= ~(__u64)CPER_MEM_VALID_PA_MASK;
	e->extlog.node = BPF_CORE_READ(r, data.node);
	e->extlog.card = BPF_CORE_READ(r, data.card);
	e->extlog.module = BPF_CORE_READ(r, data.module);
	e->extlog.bank = BPF_CORE_READ(r, data.bank);
	e->extlog.device = BPF_CORE_READ(r, data.device);
	e->extlog.row = BPF_CORE_READ(r, data.row);
	e->extlog.column = BPF_CORE_READ(r, data.column);
	bpf_core_read(e->extlog.fru_id, sizeof(e->extlog.fru_id), &r->fru_id);
	ht_read_data_loc_str(e->extlog.fru_text, sizeof(e->extlog.fru_text), r,
			     BPF_CORE_READ(r, __data_loc_fru_text));
	ht_submit(r, e, ras_event_size(RAS_SRC_EXTLOG));
	return 0;
}

/* ---- ras/memory_failure_event: the kernel handled a poisoned page ---- */

static __always_inline int on_mf(void *ctx, unsigned long pfn, int type, int result)
{
	struct ras_event *e = ras_new(RAS_SRC_MEMORY_FAILURE);

	if (!e)
		return 0;
	e->mf.pfn = pfn;
	e->mf.type = type;
	e->mf.result = result;
	ht_submit(ctx, e, ras_event_size(RAS_SRC_MEMORY_FAILURE));
	return 0;
}

HT_TP_BTF_RAW("memory_failure_event", htras_mf_btf, htras_mf_raw, unsigned long pfn, int type,
	      int result)
{
	return on_mf(ctx, pfn, type, result);
}

SEC("tracepoint/ras/memory_failure_event")
int htras_mf_tp(struct trace_event_raw_memory_failure_event___ht *r)
{
	return on_mf(r, BPF_CORE_READ(r, pfn), BPF_CORE_READ(r, type), BPF_CORE_READ(r, result));
}
