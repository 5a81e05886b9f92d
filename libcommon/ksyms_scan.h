/* SPDX-License-Identifier: GPL-2.0 */
/*
 * /proc/kallsyms read line by line through one fixed buffer: the reader both the symbol
 * table (ksyms.c) and the streaming name scan use. Tools that only need an address or two
 * before attaching use the scan and leave the full table for the first stack to symbolize.
 */
#ifndef HT_KSYMS_SCAN_H
#define HT_KSYMS_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "ADDR TYPE NAME" or "ADDR TYPE NAME\t[MODULE]": names point into the reader's buffer. */
struct ht_kallsyms_line {
	uint64_t addr;
	const char *name;
	const char *module; /* NULL for the core kernel */
	size_t name_len, module_len;
};

/*
 * Call @fn for every text symbol of PATH (NULL = /proc/kallsyms), in file order, until it
 * returns false. Text symbols (types t, T, w, W) are the only ones a stack frame can point
 * into: functions, and the kernel's code that kallsyms lists under a module name (BPF
 * programs as [bpf], trampolines as [__builtin__ftrace]); data and rodata never appear in
 * a stack. Lines that are not such a symbol, or longer than the buffer, are skipped.
 * Returns 0, or -errno when PATH cannot be read.
 */
int ht_kallsyms_each(const char *path, bool (*fn)(const struct ht_kallsyms_line *l, void *ctx),
		     void *ctx);

/*
 * Read PATH (NULL = /proc/kallsyms) once; addrs[i] = address of the first text symbol named
 * names[i], or 0. With first_only, stop at the first name found (alternatives, e.g. a
 * function under its old and new names: the kernel formats kallsyms text slowly, tens of ms
 * for all of it). Returns how many names were found, or -errno when PATH cannot be read.
 * *hidden is set when text symbols were seen but all their addresses are zero
 * (kernel.kptr_restrict).
 */
int ht_kallsyms_scan(const char *path, const char *const *names, uint64_t *addrs, size_t n,
		     bool first_only, bool *hidden);

#endif
