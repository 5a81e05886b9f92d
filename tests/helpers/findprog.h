/* SPDX-License-Identifier: GPL-2.0 */
/* Find a running tool's raw_tp program by name: shared by ht-testrun and bench/evdriver. */
#ifndef HUATUO_FINDPROG_H
#define HUATUO_FINDPROG_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

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

#endif
