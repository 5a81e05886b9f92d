// SPDX-License-Identifier: GPL-2.0
/*
 * Shared by the stall tracers (softirq, softlockup, hungtask): online CPUs, all-CPU kernel
 * stacks captured with BPF (no sysrq, which may be compiled out), and report back-off.
 */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "huatuo.h"
#include "cpustack.h"

#define CAPTURE_PERIOD_NS (1 * NSEC_PER_MSEC)
#define QUIET_RESET_NS (3600 * NSEC_PER_SEC)

int ht_online_cpus(bool *online, int max)
{
	char buf[4096], *p, *end;
	int n = 0;

	memset(online, 0, (size_t)max * sizeof(*online));
	if (ht_read_file("/sys/devices/system/cpu/online", buf, sizeof(buf)) <= 0)
		return -ENOENT;
	for (p = buf; *p && *p != '\n';) {
		long lo = strtol(p, &end, 10), hi = lo;

		if (end == p)
			return -EINVAL;
		if (*end == '-') {
			p = end + 1;
			hi = strtol(p, &end, 10);
			if (end == p)
				return -EINVAL;
		}
		for (long c = lo; c <= hi && c < max; c++) {
			if (c >= 0 && !online[c]) {
				online[c] = true;
				n++;
			}
		}
		p = *end == ',' ? end + 1 : end;
	}
	return n;
}

static int open_cpu_clock(int cpu)
{
	struct perf_event_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_SOFTWARE;
	attr.config = PERF_COUNT_SW_CPU_CLOCK;
	attr.sample_period = CAPTURE_PERIOD_NS;
	attr.disabled = 1;
	return (int)syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

/* Append printf output to a growing string. */
static int appendf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int appendf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = ht_vsnprintf(*buf + *len, *cap - *len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return -EINVAL;
		if (*len + (size_t)n < *cap)
			break;
		char *grown = realloc(*buf, *cap * 2 + (size_t)n);

		if (!grown)
			return -ENOMEM;
		*buf = grown;
		*cap = *cap * 2 + (size_t)n;
	}
	*len += (size_t)n;
	return 0;
}

static char *format_slots(const struct ht_cpu_stack *slots, size_t stride, int ncpus,
			  const bool *online, uint64_t gen)
{
	size_t len = 0, cap = 4096;
	char *out = malloc(cap);

	if (!out)
		return NULL;
	out[0] = '\0';
	for (int c = 0; c < ncpus; c++) {
		const struct ht_cpu_stack *s =
			(const void *)((const char *)slots + stride * (size_t)c);
		char comm[HT_COMM_LEN * 3 + 1], *stack;

		if (!online[c])
			continue;
		if (s->gen != gen) {
			if (appendf(&out, &len, &cap, "%sCPU#%d: no answer\n", len ? "\n" : "", c))
				goto fail;
			continue;
		}
		/* a line of text: a newline in a command name must not forge another CPU's */
		ht_printable(s->comm, sizeof(s->comm), comm, sizeof(comm));
		if (appendf(&out, &len, &cap, "%sCPU#%d: pid %u tid %u comm %s%s\n",
			    len ? "\n" : "", c, s->pid, s->tid, comm,
			    s->user	? " (user mode)" :
			    s->tid == 0 ? " (idle)" :
					  ""))
			goto fail;
		if (s->user || s->nr <= 0)
			continue;
		stack = ht_stack_string(ht_kernel_ksyms(), (const uint64_t *)s->ips,
					s->nr < HT_STACK_DEPTH ? s->nr : HT_STACK_DEPTH);
		if (!stack)
			goto fail;
		for (char *line = strtok(stack, "\n"); line; line = strtok(NULL, "\n"))
			if (appendf(&out, &len, &cap, "  %s\n", line)) {
				free(stack);
				goto fail;
			}
		free(stack);
	}
	return out;
fail:
	free(out);
	return NULL;
}

void ht_cpus_stack_hook(struct ht_env *env)
{
	ht_add_hook(env, "cpus_stack", HT_PROBE_PERF, "cpu-clock on each CPU, on demand");
}

char *ht_cpus_stack(const struct ht_env *env, struct bpf_object *obj, uint64_t timeout_ns)
{
	static uint64_t gen;
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, "ht_cpu_capture");
	struct bpf_map *req = bpf_object__find_map_by_name(obj, "ht_capture_req");
	struct bpf_map *slots_map = bpf_object__find_map_by_name(obj, "ht_cpu_stacks");
	int ncpus = libbpf_num_possible_cpus();
	size_t stride = (sizeof(struct ht_cpu_stack) + 7) & ~(size_t)7;
	struct bpf_link **links = NULL;
	struct ht_cpu_stack *slots = NULL;
	bool *online = NULL;
	uint32_t zero = 0;
	uint64_t deadline;
	char *text = NULL;
	int nonline;

	if (!prog || !req || !slots_map || ncpus <= 0 || bpf_program__fd(prog) < 0) {
		errno = ENOENT;
		return NULL;
	}
	online = calloc((size_t)ncpus, sizeof(*online));
	links = calloc((size_t)ncpus, sizeof(struct bpf_link *));
	slots = calloc((size_t)ncpus, stride);
	if (!online || !links || !slots)
		goto out;
	nonline = ht_online_cpus(online, ncpus);
	if (nonline <= 0)
		goto out;
	gen++;
	if (bpf_map_update_elem(bpf_map__fd(req), &zero, &gen, BPF_ANY))
		goto out;
	for (int c = 0; c < ncpus; c++) {
		int fd;

		if (!online[c])
			continue;
		fd = open_cpu_clock(c);
		if (fd < 0) {
			ht_info(env, "cpus_stack: perf_event_open on CPU %d: %s", c,
				strerror(errno));
			continue;
		}
		links[c] = bpf_program__attach_perf_event(prog, fd);
		if (!links[c]) {
			ht_info(env, "cpus_stack: attach on CPU %d: %s", c, strerror(errno));
			close(fd);
		}
	}
	deadline = ht_now_mono_ns() + timeout_ns;
	for (;;) {
		int answered = 0;

		if (bpf_map_lookup_elem(bpf_map__fd(slots_map), &zero, slots))
			break;
		for (int c = 0; c < ncpus; c++) {
			const struct ht_cpu_stack *s =
				(const void *)((char *)slots + stride * (size_t)c);

			if (online[c] && s->gen == gen)
				answered++;
		}
		if (answered >= nonline || ht_now_mono_ns() >= deadline || ht_exiting())
			break;
		nanosleep(&(struct timespec){ .tv_nsec = 2 * 1000 * 1000 }, NULL);
	}
	/* stop sampling before formatting: the answers are in @slots */
	for (int c = 0; c < ncpus; c++)
		bpf_link__destroy(links[c]); /* closes the perf event too */
	free(links);
	links = NULL;
	text = format_slots(slots, stride, ncpus, online, gen);
out:
	if (links)
		for (int c = 0; c < ncpus; c++)
			bpf_link__destroy(links[c]);
	free(links);
	free(online);
	free(slots);
	return text;
}

bool ht_backoff_allow(struct ht_backoff *b, uint64_t now_ns)
{
	if (!b->base_ns)
		return true;
	if (b->cur_ns && now_ns - b->last_ns < b->cur_ns) {
		b->suppressed++;
		return false;
	}
	if (!b->cur_ns || now_ns - b->last_ns > b->cur_ns + QUIET_RESET_NS)
		b->cur_ns = b->base_ns;
	else
		b->cur_ns = b->cur_ns * 2 > b->max_ns ? b->max_ns : b->cur_ns * 2;
	b->last_ns = now_ns;
	return true;
}
