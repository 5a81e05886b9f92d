/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A few kernel symbol addresses without loading the whole /proc/kallsyms table (ksyms.c
 * keeps ~7 MB of it): tools that only need an address or two before attaching use this
 * and leave the full table for the first stack to symbolize.
 */
#ifndef HT_KSYMS_SCAN_H
#define HT_KSYMS_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Read PATH (NULL = /proc/kallsyms) once; addrs[i] = address of the first text symbol named
 * names[i], or 0. With first_only, stop at the first name found (alternatives, e.g. a
 * function under its old and new names: the kernel generates kallsyms text slowly, ~50 ms
 * for all of it). Returns how many names were found, or -errno when PATH cannot be read.
 * *hidden is set when text symbols were seen but all their addresses are zero
 * (kernel.kptr_restrict).
 */
int ht_kallsyms_scan(const char *path, const char *const *names, uint64_t *addrs, size_t n,
		     bool first_only, bool *hidden);

#endif
