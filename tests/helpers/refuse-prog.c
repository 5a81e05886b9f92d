// SPDX-License-Identifier: GPL-2.0
/*
 * refuse-prog.so: LD_PRELOAD into a tool to have the kernel "refuse" one BPF program.
 *
 *   HT_REFUSE_PROG=NAME LD_PRELOAD=.../refuse-prog.so huatuo-TOOL ...
 *
 * bpf(BPF_PROG_LOAD) of a program named NAME (as the kernel keeps it: 15 characters) with
 * more than two instructions fails with EINVAL, and a log buffer, if given, says so. libbpf
 * calls bpf() through syscall(), which this one stands in for; everything else goes on to
 * the kernel.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/bpf.h>

long syscall(long nr, ...)
{
	static long (*next)(long, ...);
	const char *refuse = getenv("HT_REFUSE_PROG");
	long a[6];
	va_list ap;

	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (nr == __NR_bpf && a[0] == BPF_PROG_LOAD && refuse && *refuse) {
		union bpf_attr *attr = (union bpf_attr *)a[1];

		if (attr->insn_cnt > 2 &&
		    !strncmp(attr->prog_name, refuse, sizeof(attr->prog_name) - 1)) {
			if (attr->log_buf && attr->log_size)
				snprintf((char *)(unsigned long)attr->log_buf, attr->log_size,
					 "refused by refuse-prog.so (HT_REFUSE_PROG=%s)\n", refuse);
			errno = EINVAL;
			return -1;
		}
	}
	if (!next)
		next = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	return next(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
