// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: arbitrary /proc/kallsyms text loads and every lookup stays in bounds; every
 * line the reader (ksyms_scan.h) hands over is in the loaded table at its own address, and
 * the streaming name scan finds at most what it may.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "huatuo.h"
#include "ksyms_scan.h"

struct check {
	const struct ht_ksyms *ks;
};

static bool check_line(const struct ht_kallsyms_line *l, void *ctx)
{
	struct check *c = ctx;
	struct ht_ksym sym;
	uint64_t off;

	if (!l->name_len || (l->module && !l->module_len))
		abort();
	if (ht_ksyms_hidden(c->ks))
		return true;
	if (!ht_ksyms_find(c->ks, l->addr, &sym, &off) || sym.addr != l->addr || off)
		abort(); /* its own address: a symbol there, at offset 0 */
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("kallsyms", 0);
	static const char *const names[] = { "tcp_v4_rcv", "tick_nohz_handler", "" };
	uint64_t addrs[3];
	struct ht_ksyms *ks;
	char path[64], buf[320];
	bool hidden;

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (ht_kallsyms_scan(path, names, addrs, 3, false, &hidden) > 3 || addrs[2] ||
	    ht_kallsyms_scan(path, names, addrs, 3, true, &hidden) > 1)
		abort(); /* at most one hit per name (one with first_only), none for "" */
	ks = ht_ksyms_load(path);
	if (ks) {
		struct check c = { ks };
		uint64_t probes[] = { 0, 1, 0xffffffff81000000ULL, UINT64_MAX, size };

		for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
			ht_ksyms_format(ks, probes[i], buf, sizeof(buf));
		free(ht_stack_string(ks, probes, 5));
		ht_ksyms_addr(ks, "tcp_v4_rcv");
		if (ht_kallsyms_each(path, check_line, &c))
			abort();
		ht_ksyms_free(ks);
	}
	close(fd);
	return 0;
}
