// SPDX-License-Identifier: GPL-2.0
/* Strict parsers for durations, sizes and integers given on the command line. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "huatuo.h"

struct unit {
	const char *suffix;
	uint64_t mult;
};

/* Digits with an optional fraction, then a unit from @units (or none: @bare). */
static int parse_scaled(const char *s, const struct unit *units, uint64_t bare, uint64_t *out)
{
	uint64_t whole = 0, frac = 0, frac_scale = 1, mult = 0, v;
	const char *p = s;
	int digits = 0;

	if (!s || !isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++, digits++) {
		if (whole > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		whole = whole * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		for (; isdigit((unsigned char)*p); p++) {
			if (frac_scale >= 1000000000ULL)
				continue; /* beyond 1e-9: ignored */
			frac = frac * 10 + (uint64_t)(*p - '0');
			frac_scale *= 10;
		}
	}
	if (!*p) {
		mult = bare;
	} else {
		for (const struct unit *u = units; u->suffix; u++) {
			if (!strcmp(p, u->suffix)) {
				mult = u->mult;
				break;
			}
		}
	}
	if (!mult)
		return -EINVAL;
	if (whole > UINT64_MAX / mult)
		return -ERANGE;
	v = whole * mult;
	if (frac) {
		uint64_t f = mult / frac_scale * frac + (mult % frac_scale) * frac / frac_scale;

		if (v > UINT64_MAX - f)
			return -ERANGE;
		v += f;
	}
	(void)digits;
	*out = v;
	return 0;
}

int ht_parse_duration(const char *s, uint64_t bare_unit_ns, uint64_t *out_ns)
{
	static const struct unit units[] = {
		{ "ns", 1 },	       { "us", NSEC_PER_USEC },	   { "ms", NSEC_PER_MSEC },
		{ "s", NSEC_PER_SEC }, { "m", 60 * NSEC_PER_SEC }, { "h", 3600 * NSEC_PER_SEC },
		{ NULL, 0 },
	};

	return parse_scaled(s, units, bare_unit_ns, out_ns);
}

int ht_parse_size(const char *s, uint64_t *out_bytes)
{
	static const struct unit units[] = {
		{ "K", 1ULL << 10 },   { "k", 1ULL << 10 },   { "KiB", 1ULL << 10 },
		{ "M", 1ULL << 20 },   { "MiB", 1ULL << 20 }, { "G", 1ULL << 30 },
		{ "GiB", 1ULL << 30 }, { NULL, 0 },
	};

	return parse_scaled(s, units, 1, out_bytes);
}

int ht_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		if (v > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

const char *ht_fmt_duration(uint64_t ns, char *buf, size_t len)
{
	if (ns >= 10 * NSEC_PER_SEC)
		snprintf(buf, len, "%.1fs", (double)ns / NSEC_PER_SEC);
	else if (ns >= NSEC_PER_SEC)
		snprintf(buf, len, "%.2fs", (double)ns / NSEC_PER_SEC);
	else if (ns >= NSEC_PER_MSEC)
		snprintf(buf, len, "%.1fms", (double)ns / NSEC_PER_MSEC);
	else if (ns >= NSEC_PER_USEC)
		snprintf(buf, len, "%.1fus", (double)ns / NSEC_PER_USEC);
	else
		snprintf(buf, len, "%lluns", (unsigned long long)ns);
	return buf;
}

const char *ht_fmt_bytes(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "KMGTP";
	double v = (double)bytes;
	int u = -1;

	if (bytes == UINT64_MAX) {
		snprintf(buf, len, "max");
		return buf;
	}
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%lluB", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%.1f%c", v, units[u]);
	return buf;
}
