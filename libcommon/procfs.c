// SPDX-License-Identifier: GPL-2.0
/*
 * Parsers for /proc/<pid>/stack and /proc/<pid>/stat text (fuzzed in tests/fuzz), and what
 * is read through them: a task's exit state, the kernel's HZ from /proc/timer_list.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "huatuo.h"

char *ht_parse_proc_stack(const char *text, size_t len)
{
	size_t cap = len + 1, used = 0;
	char *out = malloc(cap);
	const char *p = text, *end = text + len;

	if (!out)
		return NULL;
	/* "[<0>] folio_wait_bit+0x14c/0x2a0" -> "folio_wait_bit+0x14c", one frame a line */
	while (p < end && *p) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *sym, *stop;
		size_t n;

		if (!eol)
			eol = end;
		sym = p;
		for (const char *q = p; q + 1 < eol; q++)
			if (q[0] == ']' && q[1] == ' ') {
				sym = q + 2;
				break;
			}
		stop = memchr(sym, '/', (size_t)(eol - sym));
		n = (size_t)((stop ? stop : eol) - sym);
		n = strnlen(sym, n);
		if (n) {
			if (used)
				out[used++] = '\n';
			memcpy(out + used, sym, n);
			used += n;
		}
		p = eol + 1;
	}
	out[used] = '\0';
	return out;
}

int ht_parse_proc_stat(const char *text, char *state, char *comm, size_t comm_len)
{
	const char *open = strchr(text, '('), *close = strrchr(text, ')');

	/* "123 (comm with ) and spaces) D 1 ..." : comm is between the first '(' and last ')' */
	if (!open || !close || close < open || close[1] != ' ' || !close[2])
		return -1;
	*state = close[2];
	if (comm)
		ht_utf8_sanitize(open + 1, (size_t)(close - open - 1), comm, comm_len);
	return 0;
}

bool ht_task_exiting(pid_t pid)
{
	char path[64], text[1024], state, *close;
	unsigned long flags = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (ht_read_file(path, text, sizeof(text)) <= 0 ||
	    ht_parse_proc_stat(text, &state, NULL, 0))
		return true; /* gone */
	if (state == 'Z' || state == 'X')
		return true;
	/* state ppid pgrp session tty_nr tpgid flags: PF_EXITING is 0x4 */
	close = strrchr(text, ')');
	if (sscanf(close + 2, "%*c %*d %*d %*d %*d %*d %lu", &flags) != 1)
		return true;
	return flags & 0x4;
}

/* "now at N nsecs" and the first "jiffies: N" of /proc/timer_list. */
static int timer_list_sample(uint64_t *ns, uint64_t *jiffies)
{
	char buf[16384];
	const char *now, *jif;

	if (ht_read_file("/proc/timer_list", buf, sizeof(buf)) < 0)
		return -1;
	now = strstr(buf, "now at ");
	jif = strstr(buf, "\njiffies: ");
	if (!now || !jif || sscanf(now, "now at %" SCNu64, ns) != 1 ||
	    sscanf(jif, "\njiffies: %" SCNu64, jiffies) != 1)
		return -1;
	return 0;
}

int ht_kernel_hz_estimate(void)
{
	static const int candidates[] = { 100, 250, 300, 1000 };
	uint64_t ns0, j0, ns1, j1, hz;
	int best = 0;

	if (timer_list_sample(&ns0, &j0))
		return 0;
	usleep(50 * 1000); /* HZ=250: 12.5 +- 1 jiffies, far enough from 300's 15 */
	if (timer_list_sample(&ns1, &j1) || ns1 <= ns0 || j1 < j0)
		return 0;
	hz = (j1 - j0) * 1000000000ULL / (ns1 - ns0);
	for (size_t i = 0; i < ARRAY_SIZE(candidates); i++) {
		uint64_t d = hz > (uint64_t)candidates[i] ? hz - candidates[i] : candidates[i] - hz;
		uint64_t bd = hz > (uint64_t)best ? hz - best : best - hz;

		if (!best || d < bd)
			best = candidates[i];
	}
	return best;
}
