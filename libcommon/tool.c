// SPDX-License-Identifier: GPL-2.0
/*
 * A tool's life in one call: options, kernel side, --check or report, and the way out. Every
 * huatuo-* main() is its options and ht_main().
 */
#include <stdio.h>
#include <string.h>

#include "huatuo.h"
#include "tool.h"

/* The tool's start stage, then the -o store, --metrics, the banner and the header. */
static int start(struct ht_env *env, const struct ht_tool *tool)
{
	const char *const *c = tool->header.cols;

	if (tool->start && tool->start(env))
		return 1;
	/* a format uses the columns it names; printf ignores the ones past its end */
	if (ht_start(env, tool->header.fmt, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8],
		     c[9]))
		return 1;
	env->ksyms_preload = tool->stacks;
	return 0;
}

static int run(struct ht_env *env, const struct ht_tool *tool)
{
	if (tool->run)
		return tool->run(env);
	return ht_run(env, env->skel_ops->object(env->skel), tool->on_event, tool->ctx, tool->tick,
		      tool->tick_ns);
}

int ht_tool_main(const char *src, const struct ht_tool *tool, int argc, char **argv)
{
	static struct ht_env the_env;
	static char name[64];
	struct ht_env *env = &the_env;
	const char *file = strrchr(src, '/') ? strrchr(src, '/') + 1 : src;
	int err = 0;

	snprintf(name, sizeof(name), "huatuo-%.*s", (int)strcspn(file, "."), file);
	env->tool = name;
	if (tool->skel)
		env->opt_flags |= HT_OPT_BPF;
	ht_parse_args(env, tool, argc, argv);
	if (tool->skel)
		ht_bpf_check_probe(env, tool->skel, tool->hooks);
	ht_signals_init();
	if (ht_metrics_setup(env, tool) || (tool->prepare && tool->prepare(env)) ||
	    (tool->skel &&
	     ht_bpf_open_load_attach(env, tool->skel, tool->hooks, tool->configure))) {
		if (tool->cleanup)
			tool->cleanup();
		ht_metrics_close(env);
		return 1;
	}
	if ((tool->setup && tool->setup(env)) || (!env->check && start(env, tool)))
		env->exit_code = 1;
	else if (env->check)
		ht_print_hooks(env, stdout);
	else {
		err = run(env, tool);
		/* --metrics: the counters as they are at the end, the runs skipped until now too */
		ht_bpf_skipped(env);
		if (ht_metrics_update(env, true))
			env->exit_code = 1;
	}
	if (tool->cleanup)
		tool->cleanup();
	ht_bpf_close(env);
	ht_metrics_close(env);
	return ht_finish(env, err);
}
