// SPDX-License-Identifier: GPL-2.0
/*
 * ras-unit: feed huatuo-ras's record handling (tools/ras_decode.c: decoders, --thr-backoff,
 * --metrics, output) with records shaped like the ones its BPF programs submit, for the
 * sources this kernel cannot raise (mce/mce_record, ras/aer_event, threshold interrupts, ...).
 * No BPF, no root.
 *
 *   ras-unit [-j] [--metrics FILE] [--thr-backoff DUR] [other common options] < records
 *
 * One record per line: SOURCE key=value..., SOURCE one of mce, edac, aer, ns, arm, thr,
 * extlog, mf; "ts" is the record's ktime in ns; numbers are decimal or 0x-hex (negative
 * allowed), strings are taken verbatim up to the next space (%XX: the byte 0xXX, e.g. %20),
 * guids and raw bytes are hex. Output: what huatuo-ras would print for them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "huatuo.h"
#include "ras.h"
#include "ras_decode.h"
#include "tool.h"

static struct ras_ctx ras = { .thr_backoff_ns = RAS_THR_BACKOFF_DEFAULT_NS };

static const struct ht_option options[] = {
	HT_DURATION("thr-backoff", &ras.thr_backoff_ns, NSEC_PER_SEC, 0, RAS_THR_BACKOFF_MAX_NS,
		    "As huatuo-ras --thr-backoff"),
	{ 0 },
};

/* huatuo-ras's names and --metrics labels, with its decoders' only option */
static const struct ht_tool tool = {
	.name = "huatuo-ras",
	.tracer_name = "ras",
	.what = "hardware errors",
	.options = options,
	.metrics = { .labels = { RAS_METRIC_LABELS } },
};

enum kind { NUM, STR, HEX };

struct field {
	const char *key;
	size_t off, size;
	unsigned int source;
	enum kind kind;
};

/* u.f is a member designator, it cannot be parenthesized */
/* NOLINTBEGIN(bugprone-macro-parentheses) */
#define F(src, u, f, k)                                                                           \
	{                                                                                         \
#f, offsetof(struct ras_event, u.f), sizeof(((struct ras_event *)0)->u.f), src, k \
	}
/* NOLINTEND(bugprone-macro-parentheses) */

static const struct field fields[] = {
	F(RAS_SRC_MCE, mce, mcgcap, NUM),
	F(RAS_SRC_MCE, mce, mcgstatus, NUM),
	F(RAS_SRC_MCE, mce, status, NUM),
	F(RAS_SRC_MCE, mce, addr, NUM),
	F(RAS_SRC_MCE, mce, misc, NUM),
	F(RAS_SRC_MCE, mce, synd, NUM),
	F(RAS_SRC_MCE, mce, ipid, NUM),
	F(RAS_SRC_MCE, mce, ip, NUM),
	F(RAS_SRC_MCE, mce, tsc, NUM),
	F(RAS_SRC_MCE, mce, ppin, NUM),
	F(RAS_SRC_MCE, mce, walltime, NUM),
	F(RAS_SRC_MCE, mce, cpu, NUM),
	F(RAS_SRC_MCE, mce, cpuid, NUM),
	F(RAS_SRC_MCE, mce, apicid, NUM),
	F(RAS_SRC_MCE, mce, socketid, NUM),
	F(RAS_SRC_MCE, mce, microcode, NUM),
	F(RAS_SRC_MCE, mce, cs, NUM),
	F(RAS_SRC_MCE, mce, bank, NUM),
	F(RAS_SRC_MCE, mce, cpuvendor, NUM),
	F(RAS_SRC_MCE, mce, has_ppin, NUM),
	F(RAS_SRC_MCE, mce, has_microcode, NUM),

	F(RAS_SRC_EDAC, edac, address, NUM),
	F(RAS_SRC_EDAC, edac, syndrome, NUM),
	F(RAS_SRC_EDAC, edac, err_type, NUM),
	F(RAS_SRC_EDAC, edac, error_count, NUM),
	F(RAS_SRC_EDAC, edac, mc_index, NUM),
	F(RAS_SRC_EDAC, edac, top_layer, NUM),
	F(RAS_SRC_EDAC, edac, middle_layer, NUM),
	F(RAS_SRC_EDAC, edac, lower_layer, NUM),
	F(RAS_SRC_EDAC, edac, grain_bits, NUM),
	F(RAS_SRC_EDAC, edac, msg, STR),
	F(RAS_SRC_EDAC, edac, label, STR),
	F(RAS_SRC_EDAC, edac, driver_detail, STR),

	F(RAS_SRC_AER, aer, status, NUM),
	F(RAS_SRC_AER, aer, severity, NUM),
	F(RAS_SRC_AER, aer, tlp_header_valid, NUM),
	F(RAS_SRC_AER, aer, tlp_header, HEX),
	F(RAS_SRC_AER, aer, dev_name, STR),

	F(RAS_SRC_NON_STANDARD, ns, sec_type, HEX),
	F(RAS_SRC_NON_STANDARD, ns, fru_id, HEX),
	F(RAS_SRC_NON_STANDARD, ns, len, NUM),
	F(RAS_SRC_NON_STANDARD, ns, sev, NUM),
	F(RAS_SRC_NON_STANDARD, ns, fru_text, STR),
	F(RAS_SRC_NON_STANDARD, ns, raw, HEX),

	F(RAS_SRC_ARM, arm, mpidr, NUM),
	F(RAS_SRC_ARM, arm, midr, NUM),
	F(RAS_SRC_ARM, arm, running_state, NUM),
	F(RAS_SRC_ARM, arm, psci_state, NUM),
	F(RAS_SRC_ARM, arm, pei_len, NUM),
	F(RAS_SRC_ARM, arm, ctx_len, NUM),
	F(RAS_SRC_ARM, arm, oem_len, NUM),
	F(RAS_SRC_ARM, arm, cpu, NUM),
	F(RAS_SRC_ARM, arm, affinity, NUM),
	F(RAS_SRC_ARM, arm, sev, NUM),
	F(RAS_SRC_ARM, arm, has_sev, NUM),

	F(RAS_SRC_THRESHOLD, thr, vector, NUM),
	F(RAS_SRC_THRESHOLD, thr, cpu, NUM),

	F(RAS_SRC_EXTLOG, extlog, validation_bits, NUM),
	F(RAS_SRC_EXTLOG, extlog, physical_addr, NUM),
	F(RAS_SRC_EXTLOG, extlog, physical_addr_mask, NUM),
	F(RAS_SRC_EXTLOG, extlog, err_seq, NUM),
	F(RAS_SRC_EXTLOG, extlog, node, NUM),
	F(RAS_SRC_EXTLOG, extlog, card, NUM),
	F(RAS_SRC_EXTLOG, extlog, module, NUM),
	F(RAS_SRC_EXTLOG, extlog, bank, NUM),
	F(RAS_SRC_EXTLOG, extlog, device, NUM),
	F(RAS_SRC_EXTLOG, extlog, row, NUM),
	F(RAS_SRC_EXTLOG, extlog, column, NUM),
	F(RAS_SRC_EXTLOG, extlog, error_type, NUM),
	F(RAS_SRC_EXTLOG, extlog, sev, NUM),
	F(RAS_SRC_EXTLOG, extlog, fru_id, HEX),
	F(RAS_SRC_EXTLOG, extlog, fru_text, STR),

	F(RAS_SRC_MEMORY_FAILURE, mf, pfn, NUM),
	F(RAS_SRC_MEMORY_FAILURE, mf, type, NUM),
	F(RAS_SRC_MEMORY_FAILURE, mf, result, NUM),
};

static const char *const sources[RAS_SRC_MAX] = {
	[RAS_SRC_MCE] = "mce",	       [RAS_SRC_EDAC] = "edac",		[RAS_SRC_AER] = "aer",
	[RAS_SRC_NON_STANDARD] = "ns", [RAS_SRC_ARM] = "arm",		[RAS_SRC_THRESHOLD] = "thr",
	[RAS_SRC_EXTLOG] = "extlog",   [RAS_SRC_MEMORY_FAILURE] = "mf",
};

static int set_field(struct ras_event *e, const char *key, char *val)
{
	char *dst = (char *)e;

	if (!strcmp(key, "ts")) {
		e->ts_ns = strtoull(val, NULL, 0);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		const struct field *f = &fields[i];

		if (f->source != e->source || strcmp(f->key, key))
			continue;
		if (f->kind == NUM) {
			char *end;
			uint64_t v = val[0] == '-' ? (uint64_t)strtoll(val, &end, 0) :
						     strtoull(val, &end, 0);

			if (*end)
				return -EINVAL;
			memcpy(dst + f->off, &v, f->size); /* little endian: the low bytes */
		} else if (f->kind == STR) {
			size_t n = 0;

			for (char *s = val; *s && n < f->size - 1; s++) {
				unsigned int byte;

				if (s[0] == '%' && s[1] && s[2] &&
				    sscanf(s + 1, "%2x", &byte) == 1) {
					dst[f->off + n++] = (char)byte;
					s += 2;
				} else {
					dst[f->off + n++] = *s;
				}
			}
		} else {
			size_t n = strlen(val) / 2;

			for (size_t b = 0; b < n && b < f->size; b++) {
				unsigned int byte;

				if (sscanf(val + 2 * b, "%2x", &byte) != 1)
					return -EINVAL;
				dst[f->off + b] = (char)byte;
			}
		}
		return 0;
	}
	return -ENOENT;
}

/* Parse the command line and set up --metrics, as ht_main() does for huatuo-ras. */
static int ras_setup(struct ht_env *env, int argc, char **argv)
{
	ht_parse_args(env, &tool, argc, argv);
	return ht_metrics_setup(env, &tool) || ras_metrics_open(env) ||
	       ht_metrics_update(env, true);
}

int main(int argc, char **argv)
{
	struct ht_env env = { 0 };
	char line[4096];
	int lineno = 0, err;

	if (ras_setup(&env, argc, argv))
		return 1;
	while (fgets(line, sizeof(line), stdin)) {
		struct ras_event e = { 0 };
		char *save, *tok = strtok_r(line, " \t\n", &save);

		lineno++;
		if (!tok || tok[0] == '#')
			continue;
		for (unsigned int s = 1; s < RAS_SRC_MAX; s++)
			if (!strcmp(tok, sources[s]))
				e.source = s;
		if (!e.source) {
			fprintf(stderr, "ras-unit: line %d: unknown source '%s'\n", lineno, tok);
			return 2;
		}
		while ((tok = strtok_r(NULL, " \t\n", &save))) {
			char *eq = strchr(tok, '=');

			if (!eq || (*eq = '\0', set_field(&e, tok, eq + 1))) {
				fprintf(stderr, "ras-unit: line %d: bad field '%s'\n", lineno, tok);
				return 2;
			}
		}
		err = ras_report(&env, &ras, &e, sizeof(e));
		if (err < 0)
			break;
		/* rewritten after each record (huatuo-ras: every --interval): races readers */
		ht_metrics_update(&env, false);
	}
	if (ht_metrics_update(&env, true))
		env.exit_code = 1;
	ht_metrics_close(&env);
	return ht_finish(&env, 0);
}
