/* SPDX-License-Identifier: GPL-2.0 */
/* Small helpers shared by the bench drivers (evdriver, udpflood). */
#ifndef HUATUO_BENCH_H
#define HUATUO_BENCH_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#define SLICE_NS 1000000ULL /* drivers pace their load in 1 ms slices */

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* A whole unsigned number (decimal, 0x hex); -1 on junk, sign or overflow. */
static inline int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || end == s || *end || *s == '-' ? -1 : 0;
}

#endif
