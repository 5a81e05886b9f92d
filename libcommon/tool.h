/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The steps ht_main() (tool.c) takes, implemented in bpf.c, loop.c and output.c. Tools do not
 * call them: they describe themselves in a struct ht_tool.
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
int ht_bpf_open_load_attach(struct ht_env *env, const struct ht_skel_ops *ops,
			    const struct ht_hook *hooks, int nhooks,
			    void (*configure)(void *skel, struct ht_env *env));
/* Detach everything attached and destroy the skeleton, if any. */
void ht_bpf_close(struct ht_env *env);
/* The hooks used, for --check. */
void ht_print_hooks(const struct ht_env *env, FILE *f);

/* Install SIGINT/SIGTERM/SIGHUP handlers and ignore SIGPIPE (loop.c). */
void ht_signals_init(void);

/*
 * Start reporting: open the -o store, print the banner on stderr and, in table mode, the
 * header (after a TIME column) on stdout; with env->once only the store. Returns 0 or 1
 * (message printed).
 */
int ht_start(struct ht_env *env, const char *header_fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* HT_TOOL_H */
