// SPDX-License-Identifier: GPL-2.0
/*
 * huatuo-ras's user side of a record (bpf/ras.h): decoded into one readable line and a detail
 * object per source (MCE, EDAC, AER, ACPI GHES, ARM, threshold interrupt, extended error log,
 * memory failure), counted for --metrics and reported.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "huatuo.h"
#include "ras.h"
#include "ras_decode.h"

#define RAS_INFO_LEN 2048

#define RAS_METRIC_TOTAL "huatuo_bamai_ras_hw_total"

/* ---- decoding ---- */

struct ras_out {
	char dev[RAS_DEV_NAME_LEN * 3 + 8];
	const char *event;
	const char *type;
	char info[RAS_INFO_LEN];
	size_t len;
	cJSON *detail;
};

static void info_add(struct ras_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void info_add(struct ras_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->len >= sizeof(o->info) - 1)
		return;
	va_start(ap, fmt);
	n = ht_vsnprintf(o->info + o->len, sizeof(o->info) - o->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n;
	if (o->len >= sizeof(o->info))
		o->len = sizeof(o->info) - 1;
}

static void json_hex(cJSON *obj, const char *key, uint64_t v)
{
	char hex[24];

	ht_snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)v);
	cJSON_AddStringToObject(obj, key, hex);
}

/* A kernel string captured in a fixed buffer: valid UTF-8, printable for the info line. */
static const char *kstr(const char *in, size_t len, char *out, size_t out_len)
{
	char utf8[1024];

	ht_utf8_sanitize(in, len, utf8, sizeof(utf8));
	return ht_printable(utf8, strlen(utf8), out, out_len);
}

static void fmt_guid(const uint8_t g[16], char *buf, size_t len)
{
	/* %pU: the bytes in order */
	snprintf(buf, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12],
		 g[13], g[14], g[15]);
}

/* GHES_SEV_*: non_standard_event and arm_event */
static const char *ghes_type(unsigned int sev)
{
	static const char *const t[] = { "INFO", "CORRECTED", "UNCORRECTED", "FATAL" };

	return sev < ARRAY_SIZE(t) ? t[sev] : "INFO";
}

/* -- MCE (Intel SDM vol. 3B ch. 16, AMD APM vol. 2 ch. 9) -- */

#define MCI_STATUS_VAL (1ULL << 63)
#define MCI_STATUS_OVER (1ULL << 62)
#define MCI_STATUS_UC (1ULL << 61)
#define MCI_STATUS_EN (1ULL << 60)
#define MCI_STATUS_MISCV (1ULL << 59)
#define MCI_STATUS_ADDRV (1ULL << 58)
#define MCI_STATUS_PCC (1ULL << 57)
#define MCI_STATUS_S (1ULL << 56)
#define MCI_STATUS_AR (1ULL << 55)
#define MCI_STATUS_DEFERRED (1ULL << 44) /* AMD/Hygon */
#define MCI_STATUS_POISON (1ULL << 43)	 /* AMD/Hygon */
#define MCG_STATUS_RIPV (1ULL << 0)
#define MCG_STATUS_EIPV (1ULL << 1)
#define MCG_STATUS_MCIP (1ULL << 2)
#define X86_VENDOR_INTEL 0
#define X86_VENDOR_AMD 2
#define X86_VENDOR_HYGON 9

static const struct {
	uint64_t bit;
	const char *name;
	bool amd_only;
} mce_bits[] = {
	{ MCI_STATUS_VAL, "VAL", false },      { MCI_STATUS_OVER, "OVER", false },
	{ MCI_STATUS_UC, "UC", false },	       { MCI_STATUS_EN, "EN", false },
	{ MCI_STATUS_MISCV, "MISCV", false },  { MCI_STATUS_ADDRV, "ADDRV", false },
	{ MCI_STATUS_PCC, "PCC", false },      { MCI_STATUS_S, "S", false },
	{ MCI_STATUS_AR, "AR", false },	       { MCI_STATUS_DEFERRED, "DEFERRED", true },
	{ MCI_STATUS_POISON, "POISON", true },
};

static bool mce_is_amd(const struct ras_mce *m)
{
	return m->cpuvendor == X86_VENDOR_AMD || m->cpuvendor == X86_VENDOR_HYGON;
}

static const char *mce_vendor(unsigned int v)
{
	switch (v) {
	case X86_VENDOR_INTEL:
		return "Intel";
	case X86_VENDOR_AMD:
		return "AMD";
	case X86_VENDOR_HYGON:
		return "Hygon";
	case 5:
		return "Centaur";
	case 10:
		return "Zhaoxin";
	default:
		return "unknown";
	}
}

/* CORRECTED, DEFERRED, UNCORRECTED or FATAL, and the kernel's severity class. */
static const char *mce_type(const struct ras_mce *m, const char **class)
{
	uint64_t s = m->status;

	*class = "";
	if (mce_is_amd(m) && (s & MCI_STATUS_DEFERRED)) {
		*class = "deferred";
		return "DEFERRED";
	}
	if (!(s & MCI_STATUS_UC)) {
		*class = "corrected";
		return "CORRECTED";
	}
	if (s & MCI_STATUS_PCC) {
		*class = "processor context corrupt";
		return "FATAL";
	}
	if ((s & MCI_STATUS_S) && (s & MCI_STATUS_AR))
		*class = "action required (SRAR)";
	else if (s & MCI_STATUS_S)
		*class = "action optional (SRAO)";
	else
		*class = "uncorrected, no action (UCNA)";
	return "UNCORRECTED";
}

/* Compound error code (MCACOD, bits 15:0) as the SDM names it; @is_mem set for memory. */
static void mce_decode_mcacod(uint16_t code, char *buf, size_t len, bool *is_mem)
{
	static const char *const tt[] = { "instruction", "data", "generic", "reserved" };
	static const char *const ll[] = { "L0", "L1", "L2", "LG" };
	static const char *const rrrr[] = {
		"generic",	     "read",	 "write",    "data read", "data write",
		"instruction fetch", "prefetch", "eviction", "snoop",
	};
	static const char *const mmm[] = { "generic",	"read",	    "write",	"address/command",
					   "scrubbing", "reserved", "reserved", "reserved" };
	static const char *const pp[] = { "local processor originated", "local processor responded",
					  "local processor observed", "generic" };
	static const char *const ii[] = { "memory", "reserved", "I/O", "other" };
	/* the simple error codes (SDM vol. 3B, 16.9.1) */
	static const struct {
		uint16_t code;
		const char *what;
	} simple[] = {
		{ 0x0000, "no error" },
		{ 0x0001, "unclassified error" },
		{ 0x0002, "microcode ROM parity error" },
		{ 0x0003, "external error" },
		{ 0x0004, "FRC error" },
		{ 0x0005, "internal parity error" },
		{ 0x0006, "SMM handler code access violation" },
		{ 0x0400, "internal timer error" },
		{ 0x0e0b, "I/O error" },
	};
	uint16_t f = code & 0xefff; /* bit 12: filtered corrected error */
	unsigned int r;

	*is_mem = false;
	for (size_t i = 0; i < ARRAY_SIZE(simple); i++)
		if (f == simple[i].code) {
			snprintf(buf, len, "%s", simple[i].what);
			return;
		}
	if ((f & 0xeff0) == 0x0010)
		snprintf(buf, len, "%s %s TLB error", ll[f & 3], tt[(f >> 2) & 3]);
	else if ((f & 0xef80) == 0x0080) {
		*is_mem = true;
		if ((f & 0xf) == 0xf)
			snprintf(buf, len, "memory controller %s error", mmm[(f >> 4) & 7]);
		else
			snprintf(buf, len, "memory controller %s error, channel %u",
				 mmm[(f >> 4) & 7], (unsigned int)(f & 0xf));
	} else if ((f & 0xef00) == 0x0100) {
		r = (f >> 4) & 0xf;
		snprintf(buf, len, "%s %s cache: %s error", ll[f & 3], tt[(f >> 2) & 3],
			 r < ARRAY_SIZE(rrrr) ? rrrr[r] : "reserved");
	} else if ((f & 0xe800) == 0x0800) {
		r = (f >> 4) & 0xf;
		snprintf(buf, len, "bus/interconnect %s error (%s, %s%s, %s)",
			 r < ARRAY_SIZE(rrrr) ? rrrr[r] : "reserved", pp[(f >> 9) & 3],
			 ii[(f >> 2) & 3], (f >> 8) & 1 ? ", timeout" : "", ll[f & 3]);
	} else if ((f & 0xfc00) == 0x0400)
		snprintf(buf, len, "internal unclassified error");
	else
		snprintf(buf, len, "error code 0x%04x", code);
}

static void decode_mce(const struct ras_mce *m, struct ras_out *o)
{
	const char *class;
	char what[160];
	bool is_mem, amd = mce_is_amd(m);
	cJSON *flags;

	o->event = "MCE";
	o->type = mce_type(m, &class);
	mce_decode_mcacod((uint16_t)m->status, what, sizeof(what), &is_mem);
	ht_snprintf(o->dev, sizeof(o->dev), "%s", is_mem ? "MEM" : "CPU");

	info_add(o, "%sMachine check on CPU %u bank %u: %s, %s",
		 m->status & MCI_STATUS_VAL ? "" : "Invalid (VAL clear) ", m->cpu, m->bank, what,
		 class);
	info_add(o, "; status 0x%016llx [", (unsigned long long)m->status);
	flags = cJSON_AddArrayToObject(o->detail, "status_bits");
	for (size_t i = 0, n = 0; i < ARRAY_SIZE(mce_bits); i++) {
		if (!(m->status & mce_bits[i].bit) || (mce_bits[i].amd_only && !amd))
			continue;
		info_add(o, "%s%s", n++ ? " " : "", mce_bits[i].name);
		cJSON_AddItemToArray(flags, cJSON_CreateString(mce_bits[i].name));
	}
	info_add(o, "] MCACOD 0x%04x MSCOD 0x%04x", (unsigned int)(m->status & 0xffff),
		 (unsigned int)((m->status >> 16) & 0xffff));
	if (!amd && !(m->status & MCI_STATUS_UC) && ((m->status >> 38) & 0x7fff))
		info_add(o, " count %u", (unsigned int)((m->status >> 38) & 0x7fff));
	if (m->status & MCI_STATUS_ADDRV)
		info_add(o, "; ADDR 0x%llx", (unsigned long long)m->addr);
	if (m->status & MCI_STATUS_MISCV)
		info_add(o, "; MISC 0x%llx", (unsigned long long)m->misc);
	if (m->synd)
		info_add(o, "; SYND 0x%llx", (unsigned long long)m->synd);
	if (m->ipid)
		info_add(o, "; IPID 0x%llx", (unsigned long long)m->ipid);
	if (m->mcgstatus & MCG_STATUS_EIPV || m->mcgstatus & MCG_STATUS_RIPV)
		info_add(o, "; RIP %s%02x:0x%llx",
			 m->mcgstatus & MCG_STATUS_EIPV ? "!INEXACT! " : "", m->cs,
			 (unsigned long long)m->ip);
	info_add(o, "; MCGSTATUS 0x%llx; PROCESSOR %u:0x%x SOCKET %u APIC 0x%x",
		 (unsigned long long)m->mcgstatus, m->cpuvendor, m->cpuid, m->socketid, m->apicid);
	if (m->has_microcode)
		info_add(o, " microcode 0x%x", m->microcode);
	if (m->has_ppin && m->ppin)
		info_add(o, " PPIN 0x%llx", (unsigned long long)m->ppin);

	cJSON_AddNumberToObject(o->detail, "cpu", m->cpu);
	cJSON_AddNumberToObject(o->detail, "bank", m->bank);
	json_hex(o->detail, "status", m->status);
	cJSON_AddStringToObject(o->detail, "severity", class);
	cJSON_AddStringToObject(o->detail, "error", what);
	cJSON_AddNumberToObject(o->detail, "mcacod", (double)(m->status & 0xffff));
	cJSON_AddNumberToObject(o->detail, "mscod", (double)((m->status >> 16) & 0xffff));
	json_hex(o->detail, "addr", m->addr);
	json_hex(o->detail, "misc", m->misc);
	json_hex(o->detail, "synd", m->synd);
	json_hex(o->detail, "ipid", m->ipid);
	json_hex(o->detail, "mcgstatus", m->mcgstatus);
	json_hex(o->detail, "mcgcap", m->mcgcap);
	json_hex(o->detail, "ip", m->ip);
	cJSON_AddNumberToObject(o->detail, "cs", m->cs);
	ht_json_add_u64(o->detail, "tsc", m->tsc);
	ht_json_add_u64(o->detail, "walltime", m->walltime);
	cJSON_AddNumberToObject(o->detail, "cpuid", m->cpuid);
	cJSON_AddNumberToObject(o->detail, "apicid", m->apicid);
	cJSON_AddNumberToObject(o->detail, "socketid", m->socketid);
	cJSON_AddStringToObject(o->detail, "cpuvendor", mce_vendor(m->cpuvendor));
	if (m->has_ppin)
		json_hex(o->detail, "ppin", m->ppin);
	if (m->has_microcode)
		json_hex(o->detail, "microcode", m->microcode);
}

/* -- EDAC (ras/mc_event), worded as the tracepoint's own print format -- */

static void decode_edac(const struct ras_edac *m, struct ras_out *o)
{
	static const char *const types[] = { "CORRECTED", "UNCORRECTED", "DEFERRED", "FATAL",
					     "INFO" };
	static const char *const names[] = { "Corrected", "Uncorrected", "Deferred", "Fatal",
					     "Info" };
	char msg[RAS_MSG_LEN * 3], label[RAS_LABEL_LEN * 3], detail[RAS_DETAIL_LEN * 3];
	const char *name = m->err_type < ARRAY_SIZE(names) ? names[m->err_type] : "unknown";
	uint64_t grain = m->grain_bits < 64 ? 1ULL << m->grain_bits : 0;

	kstr(m->msg, sizeof(m->msg), msg, sizeof(msg));
	kstr(m->label, sizeof(m->label), label, sizeof(label));
	kstr(m->driver_detail, sizeof(m->driver_detail), detail, sizeof(detail));
	o->event = "EDAC";
	o->type = m->err_type < ARRAY_SIZE(types) ? types[m->err_type] : "INFO";
	ht_snprintf(o->dev, sizeof(o->dev), "MEM");
	info_add(o,
		 "%d %s error%s:%s%s on %s (mc:%u location:%d:%d:%d address:0x%08llx grain:%llu "
		 "syndrome:0x%08llx%s%s)",
		 m->error_count, name, m->error_count > 1 ? "s" : "", msg[0] ? " " : "", msg, label,
		 m->mc_index, m->top_layer, m->middle_layer, m->lower_layer,
		 (unsigned long long)m->address, (unsigned long long)grain,
		 (unsigned long long)m->syndrome, detail[0] ? " " : "", detail);

	cJSON_AddNumberToObject(o->detail, "error_count", m->error_count);
	cJSON_AddNumberToObject(o->detail, "err_type", m->err_type);
	cJSON_AddStringToObject(o->detail, "err_type_name", name);
	ht_json_add_bytes(o->detail, "msg", m->msg, sizeof(m->msg));
	ht_json_add_bytes(o->detail, "label", m->label, sizeof(m->label));
	cJSON_AddNumberToObject(o->detail, "mc_index", m->mc_index);
	cJSON_AddNumberToObject(o->detail, "top_layer", m->top_layer);
	cJSON_AddNumberToObject(o->detail, "middle_layer", m->middle_layer);
	cJSON_AddNumberToObject(o->detail, "lower_layer", m->lower_layer);
	ht_json_add_u64(o->detail, "address", m->address);
	ht_json_add_u64(o->detail, "grain", grain);
	cJSON_AddNumberToObject(o->detail, "grain_bits", m->grain_bits);
	ht_json_add_u64(o->detail, "syndrome", m->syndrome);
	ht_json_add_bytes(o->detail, "driver_detail", m->driver_detail, sizeof(m->driver_detail));
}

/* -- PCIe AER (ras/aer_event), names as the kernel's aer_*_errors tables -- */

static const char *const aer_cor_names[32] = {
	[0] = "Receiver Error",
	[6] = "Bad TLP",
	[7] = "Bad DLLP",
	[8] = "RELAY_NUM Rollover",
	[12] = "Replay Timer Timeout",
	[13] = "Advisory Non-Fatal Error",
	[14] = "Corrected Internal Error",
	[15] = "Header Log Overflow",
};

static const char *const aer_unc_names[32] = {
	[0] = "Undefined",
	[4] = "Data Link Protocol Error",
	[5] = "Surprise Down Error",
	[12] = "Poisoned TLP",
	[13] = "Flow Control Protocol Error",
	[14] = "Completion Timeout",
	[15] = "Completer Abort",
	[16] = "Unexpected Completion",
	[17] = "Receiver Overflow",
	[18] = "Malformed TLP",
	[19] = "ECRC Error",
	[20] = "Unsupported Request Error",
	[21] = "ACS Violation",
	[22] = "Uncorrectable Internal Error",
	[23] = "MC Blocked TLP",
	[24] = "AtomicOp Egress Blocked",
	[25] = "TLP Prefix Blocked Error",
	[26] = "Poisoned TLP Egress Blocked",
	[27] = "DMWr Request Egress Blocked",
	[28] = "IDE Check Failed",
	[29] = "Misrouted IDE TLP",
	[30] = "PCRC Check Failed",
	[31] = "TLP Translation Egress Blocked",
};

#define AER_NONFATAL 0
#define AER_FATAL 1
#define AER_CORRECTABLE 2

static void decode_aer(const struct ras_aer *a, struct ras_out *o)
{
	static const char *const sev_names[] = { "Uncorrected, non-fatal", "Fatal", "Corrected" };
	static const char *const types[] = { "UNCORRECTED", "FATAL", "CORRECTED" };
	const char *const *names = a->severity == AER_CORRECTABLE ? aer_cor_names : aer_unc_names;
	char dev[RAS_DEV_NAME_LEN * 3];
	cJSON *errs;
	int n = 0;

	kstr(a->dev_name, sizeof(a->dev_name), dev, sizeof(dev));
	o->event = "AER";
	o->type = a->severity < ARRAY_SIZE(types) ? types[a->severity] : "UNCORRECTED";
	ht_snprintf(o->dev, sizeof(o->dev), "PCIe%s%s", dev[0] ? " " : "", dev);
	info_add(o, "%s PCIe Bus Error: severity=%s, ", dev[0] ? dev : "?",
		 a->severity < ARRAY_SIZE(sev_names) ? sev_names[a->severity] : "unknown");
	errs = cJSON_AddArrayToObject(o->detail, "errors");
	for (int bit = 0; bit < 32; bit++) {
		char other[24];
		const char *name = names[bit];

		if (!(a->status & (1U << bit)))
			continue;
		if (!name) {
			snprintf(other, sizeof(other), "bit %d", bit);
			name = other;
		}
		info_add(o, "%s%s", n++ ? "|" : "", name);
		cJSON_AddItemToArray(errs, cJSON_CreateString(name));
	}
	if (!n)
		info_add(o, "no status bit");
	if (a->tlp_header_valid)
		info_add(o, ", TLP Header={0x%x,0x%x,0x%x,0x%x}", a->tlp_header[0],
			 a->tlp_header[1], a->tlp_header[2], a->tlp_header[3]);
	else
		info_add(o, ", TLP Header=Not available");

	ht_json_add_bytes(o->detail, "dev_name", a->dev_name, sizeof(a->dev_name));
	json_hex(o->detail, "status", a->status);
	cJSON_AddNumberToObject(o->detail, "severity", a->severity);
	cJSON_AddStringToObject(o->detail, "severity_name",
				a->severity < ARRAY_SIZE(sev_names) ? sev_names[a->severity] :
								      "unknown");
	if (a->tlp_header_valid) {
		cJSON *tlp = cJSON_AddArrayToObject(o->detail, "tlp_header");

		for (int i = 0; i < 4; i++) {
			char hex[16];

			snprintf(hex, sizeof(hex), "0x%08x", a->tlp_header[i]);
			cJSON_AddItemToArray(tlp, cJSON_CreateString(hex));
		}
	} else {
		cJSON_AddNullToObject(o->detail, "tlp_header");
	}
}

/* -- ACPI GHES sections -- */

static void decode_non_standard(const struct ras_non_standard *s, struct ras_out *o)
{
	char sec[40], fru[40], text[RAS_FRU_TEXT_LEN * 3], raw[RAS_RAW_LEN * 3 + 8];
	uint32_t n = s->len < RAS_RAW_LEN ? s->len : RAS_RAW_LEN;
	size_t used = 0;

	fmt_guid(s->sec_type, sec, sizeof(sec));
	fmt_guid(s->fru_id, fru, sizeof(fru));
	kstr(s->fru_text, sizeof(s->fru_text), text, sizeof(text));
	raw[0] = '\0';
	for (uint32_t i = 0; i < n; i++)
		used += (size_t)snprintf(raw + used, sizeof(raw) - used, "%s%02x", i ? " " : "",
					 s->raw[i]);
	if (s->len > n)
		snprintf(raw + used, sizeof(raw) - used, " ...");
	o->event = "NON_STANDARD";
	o->type = ghes_type(s->sev);
	ht_snprintf(o->dev, sizeof(o->dev), "ACPI");
	info_add(o, "severity: %u; sec type:%s; FRU: %s %s; data len:%u; raw data:%s", s->sev, sec,
		 fru, text, s->len, raw);

	cJSON_AddNumberToObject(o->detail, "severity", s->sev);
	cJSON_AddStringToObject(o->detail, "sec_type", sec);
	cJSON_AddStringToObject(o->detail, "fru_id", fru);
	ht_json_add_bytes(o->detail, "fru_text", s->fru_text, sizeof(s->fru_text));
	cJSON_AddNumberToObject(o->detail, "data_len", s->len);
	cJSON_AddStringToObject(o->detail, "raw_data", raw);
}

static void decode_arm(const struct ras_arm *a, struct ras_out *o)
{
	const char *state = a->running_state == ~0U ? "N/A" :
			    a->running_state & 1    ? "running" :
						      "stopped";

	o->event = "ARM";
	o->type = a->has_sev ? ghes_type(a->sev) : "INFO";
	ht_snprintf(o->dev, sizeof(o->dev), "CPU");
	if (a->has_sev)
		info_add(o, "cpu: %d; error: %u; ", a->cpu, a->sev);
	info_add(o,
		 "affinity level: %u; MPIDR: %016llx; MIDR: %016llx; running state: %u (%s); "
		 "PSCI state: %u",
		 a->affinity, (unsigned long long)a->mpidr, (unsigned long long)a->midr,
		 a->running_state, state, a->psci_state);
	if (a->pei_len || a->ctx_len || a->oem_len)
		info_add(o, "; error info len: %u; context info len: %u; vendor info len: %u",
			 a->pei_len, a->ctx_len, a->oem_len);

	json_hex(o->detail, "mpidr", a->mpidr);
	json_hex(o->detail, "midr", a->midr);
	cJSON_AddNumberToObject(o->detail, "running_state", a->running_state);
	cJSON_AddStringToObject(o->detail, "running", state);
	cJSON_AddNumberToObject(o->detail, "psci_state", a->psci_state);
	cJSON_AddNumberToObject(o->detail, "affinity_level", a->affinity);
	if (a->has_sev) {
		cJSON_AddNumberToObject(o->detail, "severity", a->sev);
		cJSON_AddNumberToObject(o->detail, "cpu", a->cpu);
	}
	cJSON_AddNumberToObject(o->detail, "pei_len", a->pei_len);
	cJSON_AddNumberToObject(o->detail, "ctx_len", a->ctx_len);
	cJSON_AddNumberToObject(o->detail, "oem_len", a->oem_len);
}

/* "30m", "90s", "1h", "500ms": the way --thr-backoff is written */
static const char *fmt_backoff(uint64_t ns, char *buf, size_t len)
{
	if (ns && !(ns % (3600 * NSEC_PER_SEC)))
		snprintf(buf, len, "%lluh", (unsigned long long)(ns / (3600 * NSEC_PER_SEC)));
	else if (ns && !(ns % (60 * NSEC_PER_SEC)))
		snprintf(buf, len, "%llum", (unsigned long long)(ns / (60 * NSEC_PER_SEC)));
	else if (!(ns % NSEC_PER_SEC))
		snprintf(buf, len, "%llus", (unsigned long long)(ns / NSEC_PER_SEC));
	else
		ht_fmt_duration(ns, buf, len);
	return buf;
}

static void decode_threshold(const struct ras_threshold *t, uint64_t suppressed,
			     uint64_t backoff_ns, struct ras_out *o)
{
	char dur[32];

	o->event = "THRESHOLD";
	o->type = "CORRECTED";
	ht_snprintf(o->dev, sizeof(o->dev), "CPU");
	info_add(o,
		 "MCE threshold interrupt (vector 0x%x) on CPU %u: a machine-check bank "
		 "crossed its corrected-error threshold",
		 t->vector, t->cpu);
	if (suppressed)
		info_add(o, "; %llu more since the last report (cool-down %s)",
			 (unsigned long long)suppressed, fmt_backoff(backoff_ns, dur, sizeof(dur)));
	cJSON_AddNumberToObject(o->detail, "vector", t->vector);
	cJSON_AddNumberToObject(o->detail, "cpu", t->cpu);
	ht_json_add_u64(o->detail, "suppressed", suppressed);
}

/* CPER memory error section (UEFI spec N.2.5) */
#define CPER_MEM_VALID_PA 0x0002
#define CPER_MEM_VALID_PA_MASK 0x0004
#define CPER_MEM_VALID_NODE 0x0008
#define CPER_MEM_VALID_CARD 0x0010
#define CPER_MEM_VALID_MODULE 0x0020
#define CPER_MEM_VALID_BANK 0x0040
#define CPER_MEM_VALID_DEVICE 0x0080
#define CPER_MEM_VALID_ROW 0x0100
#define CPER_MEM_VALID_COLUMN 0x0200

static void decode_extlog(const struct ras_extlog *x, struct ras_out *o)
{
	static const char *const etypes[] = {
		"unknown",
		"no error",
		"single-bit ECC",
		"multi-bit ECC",
		"single-symbol chipkill ECC",
		"multi-symbol chipkill ECC",
		"master abort",
		"target abort",
		"parity error",
		"watchdog timeout",
		"invalid address",
		"mirror Broken",
		"memory sparing",
		"scrub corrected error",
		"scrub uncorrected error",
		"physical memory map-out event",
	};
	/* CPER severity: 0 recoverable, 1 fatal, 2 corrected, 3 informational */
	static const char *const types[] = { "UNCORRECTED", "FATAL", "CORRECTED", "INFO" };
	static const char *const sevs[] = { "recoverable", "fatal", "corrected", "info" };
	static const struct {
		uint64_t bit;
		const char *name;
		size_t off;
	} loc[] = {
		{ CPER_MEM_VALID_NODE, "node", offsetof(struct ras_extlog, node) },
		{ CPER_MEM_VALID_CARD, "card", offsetof(struct ras_extlog, card) },
		{ CPER_MEM_VALID_MODULE, "module", offsetof(struct ras_extlog, module) },
		{ CPER_MEM_VALID_BANK, "bank", offsetof(struct ras_extlog, bank) },
		{ CPER_MEM_VALID_DEVICE, "device", offsetof(struct ras_extlog, device) },
		{ CPER_MEM_VALID_ROW, "row", offsetof(struct ras_extlog, row) },
		{ CPER_MEM_VALID_COLUMN, "column", offsetof(struct ras_extlog, column) },
	};
	const char *etype = x->error_type < ARRAY_SIZE(etypes) ? etypes[x->error_type] : "unknown";
	char fru[40], text[RAS_FRU_TEXT_LEN * 3];

	fmt_guid(x->fru_id, fru, sizeof(fru));
	kstr(x->fru_text, sizeof(x->fru_text), text, sizeof(text));
	o->event = "EXTLOG";
	o->type = x->sev < ARRAY_SIZE(types) ? types[x->sev] : "INFO";
	ht_snprintf(o->dev, sizeof(o->dev), "MEM");
	info_add(o, "%u %s error: %s", x->err_seq,
		 x->sev < ARRAY_SIZE(sevs) ? sevs[x->sev] : "unknown", etype);
	if (x->validation_bits & CPER_MEM_VALID_PA) {
		info_add(o, " physical addr: %016llx", (unsigned long long)x->physical_addr);
		if ((x->validation_bits & CPER_MEM_VALID_PA_MASK) && x->physical_addr_mask)
			info_add(o, " (mask lsb: %x)", __builtin_ctzll(x->physical_addr_mask));
		ht_json_add_u64(o->detail, "physical_addr", x->physical_addr);
	}
	for (size_t i = 0; i < ARRAY_SIZE(loc); i++) {
		uint16_t v;

		if (!(x->validation_bits & loc[i].bit))
			continue;
		memcpy(&v, (const char *)x + loc[i].off, sizeof(v));
		info_add(o, " %s: %u", loc[i].name, v);
		cJSON_AddNumberToObject(o->detail, loc[i].name, v);
	}
	info_add(o, " FRU: %s %s", fru, text);
	cJSON_AddNumberToObject(o->detail, "err_seq", x->err_seq);
	cJSON_AddNumberToObject(o->detail, "severity", x->sev);
	cJSON_AddStringToObject(o->detail, "error_type", etype);
	json_hex(o->detail, "validation_bits", x->validation_bits);
	cJSON_AddStringToObject(o->detail, "fru_id", fru);
	ht_json_add_bytes(o->detail, "fru_text", x->fru_text, sizeof(x->fru_text));
}

static void decode_memory_failure(const struct ras_memory_failure *f, struct ras_out *o)
{
	static const char *const results[] = { "Ignored", "Failed", "Delayed", "Recovered" };
	const char *res = f->result >= 0 && (size_t)f->result < ARRAY_SIZE(results) ?
				  results[f->result] :
				  "unknown";

	o->event = "MEMORY_FAILURE";
	o->type = "UNCORRECTED";
	ht_snprintf(o->dev, sizeof(o->dev), "MEM");
	info_add(o, "pfn 0x%llx: recovery action for page type %d: %s", (unsigned long long)f->pfn,
		 f->type, res);
	json_hex(o->detail, "pfn", f->pfn);
	cJSON_AddNumberToObject(o->detail, "page_type", f->type);
	cJSON_AddNumberToObject(o->detail, "result", f->result);
	cJSON_AddStringToObject(o->detail, "result_name", res);
}

/* ---- metrics: the reports are counted by dev, event and type (ht_emit) ---- */

int ras_metrics_open(struct ht_env *env)
{
	if (env->metrics &&
	    (ht_metrics_family(env->metrics, RAS_METRIC_TOTAL, "counter",
			       "Hardware errors reported by the kernel's RAS tracepoints since "
			       "huatuo-ras started, threshold interrupts held back by "
			       "--thr-backoff included") ||
	     ht_metrics_set(env->metrics, RAS_METRIC_TOTAL, NULL, 0))) {
		ht_err(env, "out of memory for --metrics");
		return 1;
	}
	return 0;
}

static void metrics_count(struct ht_env *env)
{
	if (env->metrics)
		ht_metrics_add(env->metrics, RAS_METRIC_TOTAL, NULL, 1);
}

/* ---- events ---- */

int ras_report(struct ht_env *env, void *ctx, const void *data, size_t size)
{
	const struct ras_event *e = data;
	struct ras_ctx *ras = ctx;
	struct ras_out o = { .event = "UNKNOWN", .type = "INFO" };
	uint64_t suppressed = 0;
	char stamp[48];
	struct timespec ts;
	cJSON *d;

	/* a record is as long as its source's part of the union */
	if (size < RAS_SIZE_OF(cpu) || size < ras_event_size(e->source))
		return 0;
	o.detail = cJSON_CreateObject();
	if (!o.detail)
		return -ENOMEM;
	switch (e->source) {
	case RAS_SRC_MCE:
		decode_mce(&e->mce, &o);
		break;
	case RAS_SRC_EDAC:
		decode_edac(&e->edac, &o);
		break;
	case RAS_SRC_AER:
		decode_aer(&e->aer, &o);
		break;
	case RAS_SRC_NON_STANDARD:
		decode_non_standard(&e->ns, &o);
		break;
	case RAS_SRC_ARM:
		decode_arm(&e->arm, &o);
		break;
	case RAS_SRC_THRESHOLD:
		/* storms: count every one, report one per cool-down */
		if (ras->thr_backoff_ns && ras->thr_last_ns &&
		    e->ts_ns - ras->thr_last_ns < ras->thr_backoff_ns) {
			ras->thr_suppressed++;
			metrics_count(env);
			cJSON_Delete(o.detail);
			return 0;
		}
		suppressed = ras->thr_suppressed;
		ras->thr_suppressed = 0;
		ras->thr_last_ns = e->ts_ns ? e->ts_ns : 1;
		decode_threshold(&e->thr, suppressed, ras->thr_backoff_ns, &o);
		break;
	case RAS_SRC_EXTLOG:
		decode_extlog(&e->extlog, &o);
		break;
	case RAS_SRC_MEMORY_FAILURE:
		decode_memory_failure(&e->mf, &o);
		break;
	default:
		cJSON_Delete(o.detail);
		return 0;
	}
	metrics_count(env);

	ht_mono_to_wall(e->ts_ns, &ts);
	ht_fmt_rfc3339(&ts, stamp, sizeof(stamp));
	d = cJSON_CreateObject();
	if (!d) {
		cJSON_Delete(o.detail);
		return -ENOMEM;
	}
	cJSON_AddStringToObject(d, "dev", o.dev);
	cJSON_AddStringToObject(d, "event", o.event);
	cJSON_AddStringToObject(d, "type", o.type);
	/* the seed's timestamp: the kernel's monotonic ns; HUATUO's later name as a date */
	ht_json_add_u64(d, "timestamp", e->ts_ns);
	if (o.len < sizeof(o.info) - 1) /* whole, so valid UTF-8: referenced, not copied */
		cJSON_AddItemToObjectCS(d, "info", cJSON_CreateStringReference(o.info));
	else /* cut: maybe inside a multi-byte character */
		ht_json_add_bytes(d, "info", o.info, sizeof(o.info));
	cJSON_AddStringToObject(d, "observed_timestamp", stamp);
	cJSON_AddNumberToObject(d, "cpu", e->cpu);
	cJSON_AddItemToObject(d, "detail", o.detail);
	return ht_emit(env, d, NULL, "auto", "%-20s %-14s %-11s %s", o.dev, o.event, o.type,
		       o.info);
}
