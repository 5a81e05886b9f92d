// SPDX-License-Identifier: GPL-2.0
/*
 * huatuo-ras: report hardware errors as the kernel's RAS tracepoints see them (machine
 * checks, EDAC memory errors, PCIe AER, ACPI GHES sections, ARM processor errors, MCE
 * threshold interrupts, extended error log, memory failure handling), decoded into one
 * readable line each, and keep Prometheus counters of them for node_exporter.
 */
#include <stdio.h>
#include <string.h>

#include "huatuo.h"
#include "ras.h"
#include "ras.skel.h"
#include "ras_decode.h"

static struct ras_ctx ras = { .thr_backoff_ns = RAS_THR_BACKOFF_DEFAULT_NS };

static const char doc[] =
	"Report hardware errors (machine checks, EDAC memory errors, PCIe AER, ACPI GHES, ARM "
	"processor errors, MCE threshold interrupts) from the kernel's RAS tracepoints, and keep "
	"Prometheus counters of them.\n"
	"\v"
	"Examples:\n"
	"  huatuo-ras                       # table of hardware errors until Ctrl-C\n"
	"  huatuo-ras -j | jq .tracer_data  # one JSON object per error\n"
	"  huatuo-ras --check               # error sources this kernel has and lacks\n"
	"  huatuo-ras --thr-backoff 5m      # threshold storms: one report per 5m\n"
	"  huatuo-ras --metrics /var/lib/node_exporter/textfile/ras.prom\n";

static const struct ht_option options[] = {
	HT_DURATION("thr-backoff", &ras.thr_backoff_ns, NSEC_PER_SEC, 0, RAS_THR_BACKOFF_MAX_NS,
		    "Report at most one MCE threshold interrupt per DUR, counting the rest (default "
		    "30m; bare number = seconds; 0 = report all)"),
	{ 0 },
};

/* ---- hooks: every tracepoint optional, each in three flavors ---- */

/* @field: what the typed tp_btf/raw_tp arguments need in tracepoint @cat/@n's format */
#define RAS_HOOK(cat, n, p, field)                                                                \
	{                                                                                         \
		.name = (n), .progs = { "htras_" p "_btf", "htras_" p "_raw", "htras_" p "_tp" }, \
		.tracepoint = cat "/" n, .needs_field = { (field), (field) }, .optional = true    \
	}

static const struct ht_hook hooks[] = {
	RAS_HOOK("mce", "mce_record", "mce", NULL),
	RAS_HOOK("ras", "mc_event", "mc", NULL),
	/* 5 arguments: tlp_header_valid and tlp (4.17+) */
	RAS_HOOK("ras", "aer_event", "aer", "tlp_header_valid"),
	RAS_HOOK("ras", "non_standard_event", "ns", NULL),
	/* 9 arguments: the 6.16+ prototype (sev and cpu) */
	RAS_HOOK("ras", "arm_event", "arm", "sev"),
	RAS_HOOK("irq_vectors", "threshold_apic_entry", "thr", NULL),
	RAS_HOOK("ras", "extlog_mem_event", "extlog", NULL),
	RAS_HOOK("ras", "memory_failure_event", "mf", NULL),
	{ 0 },
};

static bool any_tracepoint(char *list, size_t len)
{
	size_t used = 0;

	if (!ht_tracefs())
		return true; /* cannot tell: let the BTF-based checks decide */
	for (size_t i = 0; hooks[i].name; i++) {
		const char *tp = hooks[i].tracepoint, *slash = strchr(tp, '/');
		char cat[32];

		snprintf(cat, sizeof(cat), "%.*s", (int)(slash - tp), tp);
		if (ht_tracepoint_exists(cat, slash + 1))
			return true;
		used += (size_t)snprintf(list + used, len - used, "%s%s:%s", i ? ", " : "", cat,
					 slash + 1);
		if (used >= len)
			used = len - 1;
	}
	return false;
}

HT_SKEL_OPS(ras);

static int prepare(struct ht_env *env)
{
	char missing[512];

	if (env->probe == HT_PROBE_FENTRY || env->probe == HT_PROBE_KPROBE) {
		ht_err(env,
		       "no %s hooks: hardware errors are seen only through tracepoints (use "
		       "--probe auto, tp_btf, raw_tp or tracepoint)",
		       ht_probe_kind_name(env->probe));
		return 1;
	}
	if (!any_tracepoint(missing, sizeof(missing))) {
		ht_err(env,
		       "no hardware-error tracepoint on this kernel (none of %s): it was "
		       "built without CONFIG_X86_MCE, CONFIG_EDAC, CONFIG_PCIEAER, "
		       "CONFIG_ACPI_APEI_GHES and CONFIG_RAS",
		       missing);
		return 1;
	}
	return ras_metrics_open(env);
}

static const struct ht_tool tool = {
	.what = "hardware errors",
	.doc = doc,
	.options = options,
	.skel = &ras_skel_ops,
	.hooks = hooks,
	.prepare = prepare,
	.header = { "%-20s %-14s %-11s %s", { "DEV", "EVENT", "TYPE", "INFO" } },
	.on_event = ras_report,
	.ctx = &ras,
	.metrics = { .labels = { RAS_METRIC_LABELS } },
};

int main(int argc, char **argv)
{
	return ht_main(&tool, argc, argv);
}
