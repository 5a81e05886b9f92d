/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The steps ht_main() (tool.c) takes, implemented in bpf.c, probe.c, loop.c and output.c.
 * Tools do not call them: they describe themselves in a struct ht_tool.
 */
#ifndef HT_TOOL_H
#define HT_TOOL_H

#include "huatuo.h"

/*
 * Preflight, open, configure, prepare, load and attach, as one step. When the kernel refuses
 * to load the preferred flavours (a tp_btf prototype or a CO-RE field this kernel lacks), the
 * object is opened again without the hook kinds that failed (tp_btf, then raw_tp, ...) until
 * one loads. Remembers the skeleton and @ops in env->skel/skel_ops. Returns 0, or 1 with the
 * message printed.
 */
/*
 * A forced hook kind (--probe, $HUATUO_PROBE) that one of the tool's required @hooks has no
 * program of can work on no kernel: bad usage, one line naming the option, exit 64.
 */
void ht_bpf_check_probe(struct ht_env *env, const struct ht_skel_ops *ops,
			const struct ht_hook *hooks);
int ht_bpf_open_load_attach(struct ht_env *env, const struct ht_skel_ops *ops,
			    const struct ht_hook *hooks,
			    void (*configure)(void *skel, struct ht_env *env));
/* Detach everything attached, count the runs the kernel skipped (ht_bpf_skipped), destroy the skeleton. */
void ht_bpf_close(struct ht_env *env);
/* The hooks used, for --check. */
void ht_print_hooks(const struct ht_env *env, FILE *f);

/* Kernel and process facilities the loader asks about (probe.c). */
/*
 * Why a @kind hook on @target cannot run here (into @buf if it must format), or NULL.
 * @tracepoint: the hook's "category/event" when it has one (NULL otherwise).
 */
const char *ht_hook_unavailable(const struct ht_env *env, enum ht_probe_kind kind,
				const char *target, const char *tracepoint, char *buf, size_t len);
/*
 * Raw tracepoint @name exists here (kernel BTF's btf_trace_<name>, else tracefs; @tracepoint,
 * "category/@name" or NULL, lets tracefs answer with one lookup).
 */
bool ht_raw_tracepoint_exists(const struct ht_env *env, const char *name, const char *tracepoint);
/* Tracepoint @category/@event's record has @field (its tracefs format, else kernel BTF). */
bool ht_tracepoint_has_field(const struct ht_env *env, const char *category, const char *event,
			     const char *field);
/* A seccomp filter is on this process (a container's profile may refuse bpf()). */
bool ht_seccomp_filtered(void);

/* Install SIGINT/SIGTERM/SIGHUP handlers and ignore SIGPIPE (loop.c). */
void ht_signals_init(void);

/*
 * Start reporting: open the -o store, write the first --metrics file, print the banner on
 * stderr and, in table mode, the header (after a TIME column) on stdout; with env->once only
 * the store and --metrics. Returns 0 or 1 (message printed).
 */
int ht_start(struct ht_env *env, const char *header_fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * --metrics (metrics.c). Setup, after the options: env->metrics with the constant labels
 * (host, region) and, unless the tool is counters_only, the events_total and lost_total
 * families; nothing without --metrics. 0, or 1 with the message printed.
 */
int ht_metrics_setup(struct ht_env *env, const struct ht_tool *tool);
/*
 * Refresh (the tool's metrics.collect, lost and suppressed) and rewrite the file. @must
 * (start, end): a failure prints its message and returns 1. Otherwise (every --interval) a
 * write failure is a warning, once until a write succeeds, and a failed collect returns its
 * -errno (the run ends).
 */
int ht_metrics_update(struct ht_env *env, bool must);
/* --interval, or its default (15s). */
uint64_t ht_metrics_interval_ns(const struct ht_env *env);
void ht_metrics_close(struct ht_env *env);

#endif /* HT_TOOL_H */
