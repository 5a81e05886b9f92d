// SPDX-License-Identifier: GPL-2.0
/*
 * huatuo-softirq: report CPUs whose scheduler tick came late (interrupts held off, long
 * hard-irq work, a vCPU that did not run), with the task and kernel stack the late tick hit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "huatuo.h"
#include "ksyms_scan.h"
#include "softirq.h"
#include "softirq.skel.h"

static const char doc[] =
	"Report scheduler ticks that came late on a CPU (interrupts or bottom halves held off "
	"too long), NO_HZ idle gaps excluded, with the interrupted task and kernel stack.\n"
	"\v"
	"Examples:\n"
	"  huatuo-softirq                  # tick gaps of 100 ms or more until Ctrl-C\n"
	"  huatuo-softirq -t 20ms -j       # lower threshold, JSON lines\n"
	"  huatuo-softirq --cpu 1 -c 5     # the first 5 gaps on CPU 1\n"
	"  huatuo-softirq -o /var/log/huatuo -d 1h\n";

static struct {
	int cpu;
	uint32_t rate;
} opts = { .cpu = -1, .rate = 10 };

static void parse_cpu(struct argp_state *state, const struct ht_option *o, const char *arg)
{
	int ncpus = libbpf_num_possible_cpus();
	uint64_t v;

	if (ncpus <= 0 || ht_parse_u64(arg, 0, (uint64_t)ncpus - 1, &v))
		ht_usage_error(state, "invalid --cpu '%s': expected a CPU from 0 to %d", arg,
			       ncpus - 1);
	*(int *)o->dest = (int)v;
}

static const struct ht_option options[] = {
	HT_CALL("cpu", "CPU", parse_cpu, &opts.cpu, "Only this CPU (filtered in the kernel)"),
	HT_UINT("rate", "N", &opts.rate, 0, 100000,
		"At most N reports per CPU per second (default 10, 0 = no limit)"),
	{ 0 },
};

static const struct ht_hook hooks[] = {
	{ .name = "tick_stop",
	  .progs = { "softirq_tick_stop_btf", "softirq_tick_stop_raw", "softirq_tick_stop_tp" } },
	{ .name = "tick",
	  .progs = { "softirq_tick_btf", "softirq_tick_raw", "softirq_tick_tp",
		     "softirq_tick_kprobe" } },
	{ 0 },
};

/*
 * Functions that only switch interrupts back on: a tick held off by a stall is taken right
 * there, but the code that held it off is their caller. Paravirt and native irq-flag ops
 * (x86 PVM, KVM/native, Xen), unlocks that restore interrupts, the BPF kfunc.
 */
static const char *const irq_flag_helpers[] = {
	"pvm_irq_enable",
	"pvm_irq_disable",
	"pvm_save_fl",
	"pvm_restore_fl",
	"pv_native_irq_enable",
	"pv_native_irq_disable",
	"pv_native_save_fl",
	"native_irq_enable",
	"native_save_fl",
	"native_restore_fl",
	"xen_irq_enable",
	"xen_irq_enable_direct",
	"xen_restore_fl",
	"xen_restore_fl_direct",
	"_raw_spin_unlock_irqrestore",
	"_raw_spin_unlock_irq",
	"_raw_read_unlock_irqrestore",
	"_raw_read_unlock_irq",
	"_raw_write_unlock_irqrestore",
	"_raw_write_unlock_irq",
	"bpf_local_irq_restore",
	"trace_hardirqs_on",
};

static bool is_irq_flag_helper(const char *frame, size_t len)
{
	size_t name_len = strcspn(frame, "+");

	if (name_len > len)
		name_len = len;
	for (size_t i = 0; i < ARRAY_SIZE(irq_flag_helpers); i++)
		if (strlen(irq_flag_helpers[i]) == name_len &&
		    !strncmp(frame, irq_flag_helpers[i], name_len))
			return true;
	return false;
}

static bool is_interrupt_entry(const char *frame)
{
	return !strncmp(frame, "asm_sysvec_", 11) || !strncmp(frame, "asm_common_interrupt", 20) ||
	       !strncmp(frame, "el1_interrupt", 13);
}

/*
 * What the late tick interrupted, into @buf: the first frame below the interrupt entry that
 * is not an irq-flag helper, "(user space)" when the interrupt entry is the last kernel
 * frame, the top frame when there is no interrupt entry, "-" for an empty stack.
 */
static const char *interrupted_frame(const char *stack, char *buf, size_t len)
{
	const char *p = stack, *hit = stack, *nl;

	for (; p && *p; p = nl ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		if (is_interrupt_entry(p)) {
			hit = nl ? nl + 1 : "";
			break;
		}
	}
	if (p && *p) { /* below an interrupt entry: skip the helpers that re-enabled irqs */
		while (*hit) {
			size_t flen = strcspn(hit, "\n");

			if (!is_irq_flag_helper(hit, flen) || !hit[flen])
				break;
			hit += flen + 1;
		}
		if (!*hit) {
			snprintf(buf, len, "(user space)");
			return buf;
		}
	}
	snprintf(buf, len, "%.*s", (int)strcspn(hit, "\n"), hit);
	if (!buf[0])
		snprintf(buf, len, "-");
	return buf;
}

static int handle_event(struct ht_env *env, void *ctx, const void *data, size_t size)
{
	const struct softirq_event *e = data;
	char comm[HT_COMM_LEN * 3 + 1], pcomm[HT_COMM_LEN], off[32], where[160], *stack;
	struct ht_container ct;
	int nr, skip;
	cJSON *d;

	(void)ctx;
	if (size < sizeof(*e))
		return 0;
	/* the interrupted task's container */
	if (!ht_attribute(env, e->cgroup_id, 0, NULL, &ct, NULL, 0))
		return 0;
	nr = e->nr < HT_STACK_DEPTH ? e->nr : HT_STACK_DEPTH;
	skip = ht_stack_skip_tracing(ht_kernel_ksyms(), (const uint64_t *)e->ips, nr);
	stack = ht_stack_string(ht_kernel_ksyms(), (const uint64_t *)e->ips + skip, nr - skip);
	ht_utf8_sanitize(e->comm, sizeof(e->comm), comm, sizeof(comm));

	d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "comm", comm);
	cJSON_AddNumberToObject(d, "pid", e->pid);
	cJSON_AddNumberToObject(d, "tid", e->tid);
	cJSON_AddNumberToObject(d, "cpu", e->cpu);
	cJSON_AddStringToObject(d, "stack", stack ? stack : "");
	ht_json_add_u64(d, "now", e->now_ns);
	ht_json_add_u64(d, "offtime", e->offtime_ns);
	if (e->expires_ns && e->now_ns >= e->expires_ns)
		ht_json_add_u64(d, "tick_late", e->now_ns - e->expires_ns);
	ht_json_add_u64(d, "threshold", env->threshold_ns);

	ht_printable(e->comm, sizeof(e->comm), pcomm, sizeof(pcomm));
	interrupted_frame(stack ? stack : "", where, sizeof(where));
	free(stack);
	return ht_emit(env, d, &ct, "auto", "%-4u %-7u %-16s %9s %s", e->cpu, e->pid, pcomm,
		       ht_fmt_duration(e->offtime_ns, off, sizeof(off)), where);
}

HT_SKEL_OPS(softirq);

/* the tick handler: tick_nohz_handler since 6.8, tick_sched_timer before */
static const char *const tick_names[] = { "tick_nohz_handler", "tick_sched_timer" };
static uint64_t tick_fns[2];

static bool lookup_in_bpf; /* bpf_kallsyms_lookup_name instead of a /proc/kallsyms scan */

static void configure(void *skel, struct ht_env *env)
{
	struct softirq_bpf *s = skel;

	bpf_program__set_autoload(s->progs.softirq_find_tick, lookup_in_bpf);
	s->rodata->threshold_ns = env->threshold_ns;
	s->rodata->target_cpu = opts.cpu;
	s->rodata->rate_burst = opts.rate;
}

/* Without bpf_kallsyms_lookup_name: the tick handlers' addresses from /proc/kallsyms now. */
static int prepare(struct ht_env *env)
{
	bool hidden;
	int found;

	if (ht_check_privilege(env))
		return 1;
	lookup_in_bpf = libbpf_probe_bpf_helper(BPF_PROG_TYPE_SYSCALL,
						BPF_FUNC_kallsyms_lookup_name, NULL) == 1;
	if (lookup_in_bpf)
		return 0;
	/* one address only: the full symbol table waits for the first stack */
	found = ht_kallsyms_scan(NULL, tick_names, tick_fns, ARRAY_SIZE(tick_fns), true, &hidden);
	if (found < 0 || hidden) {
		ht_err(env, "cannot read tick handler addresses from /proc/kallsyms%s",
		       found < 0 ? "" : " (hidden by kernel.kptr_restrict)");
		return 1;
	}
	return 0;
}

/* The tick handlers' addresses: looked up by the loaded program, or handed to it. */
static int setup(struct ht_env *env)
{
	struct softirq_bpf *s = env->skel;

	if (lookup_in_bpf) {
		LIBBPF_OPTS(bpf_test_run_opts, run);

		if (bpf_prog_test_run_opts(bpf_program__fd(s->progs.softirq_find_tick), &run))
			ht_warn(env, "cannot run the tick handler lookup: %s", strerror(errno));
		tick_fns[0] = s->bss->tick_fn;
		tick_fns[1] = s->bss->tick_fn_old;
	} else {
		s->bss->tick_fn = tick_fns[0];
		s->bss->tick_fn_old = tick_fns[1];
	}
	ht_info(env, "tick handlers from %s: %s %s, %s %s",
		lookup_in_bpf ? "bpf_kallsyms_lookup_name" : "/proc/kallsyms", tick_names[0],
		tick_fns[0] ? "found" : "absent", tick_names[1], tick_fns[1] ? "found" : "absent");
	if (!tick_fns[0] && !tick_fns[1] && env->probe != HT_PROBE_KPROBE) {
		ht_err(env,
		       "no tick handler (tick_nohz_handler, tick_sched_timer) in the kernel's "
		       "symbols%s",
		       ht_kernel_ksyms() && ht_ksyms_hidden(ht_kernel_ksyms()) ?
			       " (their addresses are hidden from this process: it needs "
			       "CAP_SYSLOG)" :
			       "");
		return 1;
	}
	return 0;
}

static const struct ht_tool tool = {
	.what = "late scheduler ticks",
	.doc = doc,
	.opt_flags = HT_OPT_THRESHOLD | HT_OPT_CONTAINER,
	.threshold_ns = 100 * NSEC_PER_MSEC,
	.options = options,
	.skel = &softirq_skel_ops,
	.hooks = hooks,
	.configure = configure,
	.kconfig_hz = true, /* extern CONFIG_HZ __kconfig: the tick period */
	.prepare = prepare,
	.setup = setup,
	.header = { "%-4s %-7s %-16s %9s %s", { "CPU", "PID", "COMM", "OFFTIME", "INTERRUPTED" } },
	.stacks = true,
	.on_event = handle_event,
};

int main(int argc, char **argv)
{
	return ht_main(&tool, argc, argv);
}
