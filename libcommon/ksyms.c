// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/kallsyms: load once, sort by address, look up the floor symbol. Offsets are bounded
 * by the next symbol (kallsyms has no sizes), module names are kept, and hidden addresses
 * (kptr_restrict) are detected instead of resolving everything to the first symbol.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "huatuo.h"

#define MAX_LAST_SYMBOL_SIZE (1ULL << 20) /* no next symbol to bound the last one */
#define LOOKUP_CACHE_SLOTS 4096		  /* power of two */
#define NO_SYMBOL SIZE_MAX

/*
 * A drop storm symbolizes the same few stacks over and over; a binary search over ~120k
 * symbols per frame was the consumer's top cost (15 %). Recent answers are kept by address.
 */
struct lookup_slot {
	uint64_t addr; /* 0: empty */
	size_t best;   /* index into syms, or NO_SYMBOL */
};

struct ht_ksyms {
	struct ht_ksym *syms;
	size_t n, cap;
	char *strs;
	size_t strs_len, strs_cap;
	bool hidden;
	struct lookup_slot *cache; /* LOOKUP_CACHE_SLOTS, NULL if it could not be had */
};

static int add_str(struct ht_ksyms *ks, const char *s, size_t *off)
{
	size_t n = strlen(s) + 1;

	if (ks->strs_len + n > ks->strs_cap) {
		size_t cap = ks->strs_cap ? ks->strs_cap * 2 : 1 << 20;
		char *grown;

		while (cap < ks->strs_len + n)
			cap *= 2;
		grown = realloc(ks->strs, cap);
		if (!grown)
			return -ENOMEM;
		ks->strs = grown;
		ks->strs_cap = cap;
	}
	memcpy(ks->strs + ks->strs_len, s, n);
	*off = ks->strs_len;
	ks->strs_len += n;
	return 0;
}

static int cmp_addr(const void *a, const void *b)
{
	const struct ht_ksym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x < y ? -1 : x > y; /* stable enough: keep file order for aliases */
}

struct ht_ksyms *ht_ksyms_load(const char *path)
{
	struct ht_ksyms *ks = calloc(1, sizeof(*ks));
	char line[512], name[256], mod[128];
	unsigned long long addr;
	bool any_nonzero = false;
	FILE *f;
	char type;

	if (!ks)
		return NULL;
	f = fopen(path ? path : "/proc/kallsyms", "re");
	if (!f) {
		free(ks);
		return NULL;
	}
	while (fgets(line, sizeof(line), f)) {
		size_t name_off, mod_off = (size_t)-1;
		int fields;

		mod[0] = '\0';
		fields = sscanf(line, "%llx %c %255s [%127[^]]]", &addr, &type, name, mod);
		if (fields < 3)
			continue;
		/* text symbols only: stacks point into code */
		if (type != 't' && type != 'T' && type != 'w' && type != 'W')
			continue;
		if (addr)
			any_nonzero = true;
		if (ks->n == ks->cap) {
			size_t cap = ks->cap ? ks->cap * 2 : 65536;
			struct ht_ksym *grown = realloc(ks->syms, cap * sizeof(*grown));

			if (!grown)
				goto fail;
			ks->syms = grown;
			ks->cap = cap;
		}
		if (add_str(ks, name, &name_off) || (mod[0] && add_str(ks, mod, &mod_off)))
			goto fail;
		ks->syms[ks->n].addr = addr;
		/* offsets for now: strs may still move */
		ks->syms[ks->n].name = (const char *)(uintptr_t)name_off;
		ks->syms[ks->n].module = (const char *)(uintptr_t)mod_off;
		ks->n++;
	}
	fclose(f);
	for (size_t i = 0; i < ks->n; i++) {
		size_t mo = (size_t)(uintptr_t)ks->syms[i].module;

		ks->syms[i].name = ks->strs + (size_t)(uintptr_t)ks->syms[i].name;
		ks->syms[i].module = mo == (size_t)-1 ? NULL : ks->strs + mo;
	}
	ks->hidden = ks->n && !any_nonzero;
	if (ks->n)
		qsort(ks->syms, ks->n, sizeof(*ks->syms), cmp_addr);
	ks->cache = calloc(LOOKUP_CACHE_SLOTS, sizeof(*ks->cache)); /* optional */
	return ks;
fail:
	fclose(f);
	ht_ksyms_free(ks);
	return NULL;
}

void ht_ksyms_free(struct ht_ksyms *ks)
{
	if (!ks)
		return;
	free(ks->syms);
	free(ks->strs);
	free(ks->cache);
	free(ks);
}

bool ht_ksyms_hidden(const struct ht_ksyms *ks)
{
	return ks && ks->hidden;
}

static size_t find_uncached(const struct ht_ksyms *ks, uint64_t addr)
{
	size_t lo = 0, hi = ks->n, best;
	uint64_t limit;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (ks->syms[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	best = lo;
	/* bound the offset by the next distinct symbol */
	while (hi < ks->n && ks->syms[hi].addr == ks->syms[best].addr)
		hi++;
	limit = hi < ks->n ? ks->syms[hi].addr : ks->syms[best].addr + MAX_LAST_SYMBOL_SIZE;
	return addr < limit ? best : NO_SYMBOL;
}

const struct ht_ksym *ht_ksyms_find(const struct ht_ksyms *ks, uint64_t addr, uint64_t *offset)
{
	struct lookup_slot *slot = NULL;
	size_t best;

	if (!ks || !ks->n || ks->hidden || addr < ks->syms[0].addr)
		return NULL;
	if (ks->cache)
		slot = &ks->cache[(addr ^ (addr >> 12)) & (LOOKUP_CACHE_SLOTS - 1)];
	if (slot && slot->addr == addr) {
		best = slot->best;
	} else {
		best = find_uncached(ks, addr);
		if (slot)
			*slot = (struct lookup_slot){ addr, best };
	}
	if (best == NO_SYMBOL)
		return NULL;
	if (offset)
		*offset = addr - ks->syms[best].addr;
	return &ks->syms[best];
}

uint64_t ht_ksyms_addr(const struct ht_ksyms *ks, const char *name)
{
	if (!ks)
		return 0;
	for (size_t i = 0; i < ks->n; i++)
		if (!strcmp(ks->syms[i].name, name))
			return ks->syms[i].addr ? ks->syms[i].addr : 1;
	return 0;
}

/* "name+0x1f [module]" or "0xffff..."; hand-made: it runs for every frame of every stack. */
const char *ht_ksyms_format(const struct ht_ksyms *ks, uint64_t addr, char *buf, size_t len)
{
	uint64_t off = 0;
	const struct ht_ksym *sym = ht_ksyms_find(ks, addr, &off);
	size_t name_len, mod_len, need;
	char hex[24], *o = buf;

	if (!len)
		return buf;
	if (!sym) {
		ht_fmt_hex(addr, hex);
		snprintf(buf, len, "%s", hex);
		return buf;
	}
	name_len = strlen(sym->name);
	mod_len = sym->module ? strlen(sym->module) : 0;
	need = name_len + 1 + ht_fmt_hex(off, hex) + (sym->module ? mod_len + 3 : 0) + 1;
	if (need > len) {
		snprintf(buf, len, "%s+%s%s%s%s", sym->name, hex, sym->module ? " [" : "",
			 sym->module ? sym->module : "", sym->module ? "]" : "");
		return buf;
	}
	memcpy(o, sym->name, name_len);
	o += name_len;
	*o++ = '+';
	o = stpcpy(o, hex);
	if (sym->module) {
		*o++ = ' ';
		*o++ = '[';
		memcpy(o, sym->module, mod_len);
		o += mod_len;
		*o++ = ']';
	}
	*o = '\0';
	return buf;
}

char *ht_stack_string(const struct ht_ksyms *ks, const uint64_t *ips, int n)
{
	size_t cap = 64 * (size_t)(n > 0 ? n : 1) + 1, used = 0;
	char *out = malloc(cap), frame[320];

	if (!out)
		return NULL;
	out[0] = '\0';
	for (int i = 0; i < n && ips[i]; i++) {
		size_t len;

		ht_ksyms_format(ks, ips[i], frame, sizeof(frame));
		len = strlen(frame);
		if (used + len + 2 > cap) {
			char *grown = realloc(out, cap = (used + len + 2) * 2);

			if (!grown) {
				free(out);
				return NULL;
			}
			out = grown;
		}
		if (used)
			out[used++] = '\n';
		memcpy(out + used, frame, len + 1);
		used += len;
	}
	return out;
}

const struct ht_ksyms *ht_kernel_ksyms(void)
{
	static struct ht_ksyms *ks;
	static bool tried;

	if (!tried) {
		tried = true;
		ks = ht_ksyms_load(NULL);
		if (ks && ks->hidden)
			fprintf(stderr, "huatuo: warning: /proc/kallsyms addresses are hidden "
					"(kernel.kptr_restrict); stacks show raw addresses\n");
	}
	return ks;
}
