/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Find a running tool's raw_tp program by name and set up its test run: shared by ht-testrun
 * and bench/evdriver.
 */
#ifndef HUATUO_FINDPROG_H
#define HUATUO_FINDPROG_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

/* Does process @pid hold BPF program @id (a prog_id line in one of its fds' fdinfo)? */
static inline bool pid_holds_prog(const char *pid, __u32 id)
{
	char path[64], line[128];
	bool held = false;

	for (int fd = 0; fd < 1024 && !held; fd++) {
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%s/fdinfo/%d", pid, fd);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (!held && fgets(line, sizeof(line), f))
			held = !strncmp(line, "prog_id:", 8) && strtoul(line + 8, NULL, 10) == id;
		fclose(f);
	}
	return held;
}

/*
 * An fd of the newest loaded raw_tp program named @name, or -ENOENT. The newest: a tool that
 * just exited may leave its program behind for a moment (the kernel frees it after an RCU
 * grace period), and an event run through that one reaches nobody. With $HT_TESTRUN_PID, only
 * a program that process holds: another test run on the same kernel may have loaded a newer
 * one of the same name.
 */
static inline int find_raw_tp_prog(const char *name)
{
	const char *pid = getenv("HT_TESTRUN_PID");
	__u32 id = 0;
	int found = -ENOENT;

	while (!bpf_prog_get_next_id(id, &id)) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(id);

		if (fd < 0)
			continue;
		if (pid && *pid && !pid_holds_prog(pid, id)) {
			close(fd);
			continue;
		}
		/* kernel names are cut at 15 characters; ids only grow */
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) &&
		    info.type == BPF_PROG_TYPE_RAW_TRACEPOINT &&
		    !strncmp(info.name, name, sizeof(info.name) - 1)) {
			if (found >= 0)
				close(found);
			found = fd;
			continue;
		}
		close(fd);
	}
	return found;
}

/*
 * For a test run of raw_tp program @prog with the @n numbers of @arg (decimal or 0x-hex; -1 is
 * all ones) as its u64 context: @args gets them, @opts points to them; returns the program's
 * fd (find_raw_tp_prog()), or -64 (bad argument) or -1 (no such program) with the message
 * printed as @who's.
 */
static inline int raw_tp_test_setup(const char *who, const char *prog, char **arg, int n,
				    __u64 *args, struct bpf_test_run_opts *opts)
{
	int fd;

	for (int i = 0; i < n; i++) {
		char *end;

		errno = 0;
		args[i] = strtoull(arg[i], &end, 0);
		if (errno || *end) {
			fprintf(stderr, "%s: bad argument '%s'\n", who, arg[i]);
			return -64;
		}
	}
	fd = find_raw_tp_prog(prog);
	if (fd < 0) {
		fprintf(stderr, "%s: no loaded raw_tp program named %s\n", who, prog);
		return -1;
	}
	opts->ctx_in = args;
	opts->ctx_size_in = (n > 0 ? n : 1) * sizeof(__u64);
	return fd;
}

#endif
