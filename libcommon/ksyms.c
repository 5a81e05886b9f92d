// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/kallsyms: load once, sort by address, look up the floor symbol. Offsets are bounded
 * by the next symbol (kallsyms has no sizes), module names are kept, and hidden addresses
 * (kptr_restrict) are detected instead of resolving everything to the first symbol.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>

#include "huatuo.h"

/*
 * No function is this big: an address further past its floor symbol is in a gap (freed init
 * text, the module and BPF area below the symbols loaded there), and kallsyms has no sizes.
 */
#define MAX_SYMBOL_SIZE (1ULL << 20)
#define LOOKUP_CACHE_SLOTS 4096 /* power of two */
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
	bool running;		   /* /proc/kallsyms: the running kernel's */
	uint64_t core_lo, core_hi; /* the core kernel's text: no BPF program or module there */
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

/* ht_ksyms_load(), giving up when *@abandon becomes true (a background load at exit). */
static struct ht_ksyms *ksyms_load(const char *path, const bool *abandon)
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

		if (abandon && __atomic_load_n(abandon, __ATOMIC_RELAXED))
			goto fail;
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
	ks->running = !path;
	if (ks->n)
		qsort(ks->syms, ks->n, sizeof(*ks->syms), cmp_addr);
	ks->core_lo = UINT64_MAX;
	for (size_t i = 0; i < ks->n; i++)
		if (!ks->syms[i].module) {
			if (ks->core_lo == UINT64_MAX)
				ks->core_lo = ks->syms[i].addr;
			ks->core_hi = ks->syms[i].addr; /* sorted: the last one wins */
		}
	ks->cache = calloc(LOOKUP_CACHE_SLOTS, sizeof(*ks->cache)); /* optional */
	return ks;
fail:
	fclose(f);
	ht_ksyms_free(ks);
	return NULL;
}

struct ht_ksyms *ht_ksyms_load(const char *path)
{
	return ksyms_load(path, NULL);
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
	limit = ks->syms[best].addr + MAX_SYMBOL_SIZE;
	if (hi < ks->n && ks->syms[hi].addr < limit)
		limit = ks->syms[hi].addr;
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

/*
 * BPF programs come and go: a frame in a program loaded after the table was read would be
 * named after an older program's symbol, or one since unloaded whose memory it reuses. Frames
 * outside the core kernel's text that the table puts in a BPF program or in no symbol are
 * named from the programs loaded now (bpf_get_prog_name(): "bpf_prog_" TAG "_" NAME, the name
 * from the program's BTF, else its own), or shown as an address when no program covers them.
 */
#define BPF_FUNCS_MAX 64 /* per program: the main function and its subprograms */

struct bpf_func {
	uint64_t start, len;
	__u32 prog_id, idx;
	char name[128]; /* "" until needed */
};

struct bpf_funcs {
	bool fetched;
	struct bpf_func *f;
	size_t n;
};

static void fetch_bpf_funcs(struct bpf_funcs *live)
{
	size_t cap = 0;
	__u32 id = 0;

	live->fetched = true;
	while (!bpf_prog_get_next_id(id, &id)) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info), nr;
		__u64 addrs[BPF_FUNCS_MAX];
		__u32 lens[BPF_FUNCS_MAX];
		int fd = bpf_prog_get_fd_by_id(id);

		if (fd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &info, &len) || !info.nr_jited_ksyms) {
			close(fd);
			continue;
		}
		nr = info.nr_jited_ksyms < BPF_FUNCS_MAX ? info.nr_jited_ksyms : BPF_FUNCS_MAX;
		memset(&info, 0, sizeof(info));
		info.nr_jited_ksyms = info.nr_jited_func_lens = nr;
		info.jited_ksyms = (uintptr_t)addrs;
		info.jited_func_lens = (uintptr_t)lens;
		len = sizeof(info);
		if (bpf_obj_get_info_by_fd(fd, &info, &len))
			nr = 0;
		close(fd);
		for (__u32 i = 0; i < nr; i++) {
			if (live->n == cap) {
				struct bpf_func *grown;

				cap = cap ? cap * 2 : 64;
				grown = realloc(live->f, cap * sizeof(*grown));
				if (!grown)
					return;
				live->f = grown;
			}
			live->f[live->n++] = (struct bpf_func){ addrs[i], lens[i], id, i, "" };
		}
	}
}

/* The kernel's name for function @f->idx of program @f->prog_id (kernel/bpf/core.c). */
static void name_bpf_func(struct bpf_func *f)
{
	struct bpf_func_info finfo[BPF_FUNCS_MAX];
	__u8 tags[BPF_FUNCS_MAX][BPF_TAG_SIZE];
	struct bpf_prog_info info = {};
	const char *fname = "";
	struct btf *btf = NULL;
	__u32 len = sizeof(info);
	char *o = f->name;
	int fd = bpf_prog_get_fd_by_id(f->prog_id);

	snprintf(f->name, sizeof(f->name), "bpf_prog");
	if (fd < 0)
		return;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
		__u32 ntags = info.nr_prog_tags < BPF_FUNCS_MAX ? info.nr_prog_tags : BPF_FUNCS_MAX;
		__u32 nfi = info.nr_func_info < BPF_FUNCS_MAX ? info.nr_func_info : BPF_FUNCS_MAX;

		memset(&info, 0, sizeof(info));
		info.nr_prog_tags = ntags;
		info.prog_tags = (uintptr_t)tags;
		info.nr_func_info = nfi;
		info.func_info_rec_size = sizeof(finfo[0]);
		info.func_info = (uintptr_t)finfo;
		len = sizeof(info);
		if (bpf_obj_get_info_by_fd(fd, &info, &len) || (f->idx >= ntags && f->idx)) {
			close(fd);
			return;
		}
		o += snprintf(o, sizeof(f->name), "bpf_prog_");
		for (int i = 0; i < BPF_TAG_SIZE; i++) /* the main function: the program's tag */
			o += snprintf(o, 3, "%02x", f->idx ? tags[f->idx][i] : info.tag[i]);
		if (f->idx < nfi && info.btf_id)
			btf = btf__load_from_kernel_by_id(info.btf_id);
		if (btf) {
			const struct btf_type *t = btf__type_by_id(btf, finfo[f->idx].type_id);

			fname = t ? btf__name_by_offset(btf, t->name_off) : NULL;
		}
		if (!fname || !fname[0])
			fname = info.name;
		if (fname[0])
			snprintf(o, sizeof(f->name) - (size_t)(o - f->name), "_%s", fname);
		btf__free(btf);
	}
	close(fd);
}

/*
 * @addr named from the loaded BPF programs into @buf, if the table cannot be trusted there;
 * false: ht_ksyms_format() names it.
 */
static bool format_bpf_frame(const struct ht_ksyms *ks, uint64_t addr, char *buf, size_t len,
			     struct bpf_funcs *live)
{
	const struct ht_ksym *sym;
	struct bpf_func *f = NULL;
	char hex[24];

	if (!ks || !ks->running || ks->hidden || (addr >= ks->core_lo && addr <= ks->core_hi))
		return false;
	sym = ht_ksyms_find(ks, addr, NULL);
	if (sym && (!sym->module || strcmp(sym->module, "bpf")))
		return false; /* a module's */
	if (!live->fetched)
		fetch_bpf_funcs(live);
	for (size_t i = 0; i < live->n && !f; i++)
		if (addr >= live->f[i].start && addr - live->f[i].start < live->f[i].len)
			f = &live->f[i];
	if (!f) {
		ht_fmt_hex(addr, buf); /* no program there now: a name would be a guess */
		return true;
	}
	if (!f->name[0])
		name_bpf_func(f);
	ht_fmt_hex(addr - f->start, hex);
	snprintf(buf, len, "%s+%s [bpf]", f->name, hex);
	return true;
}

char *ht_stack_string(const struct ht_ksyms *ks, const uint64_t *ips, int n)
{
	size_t cap = 64 * (size_t)(n > 0 ? n : 1) + 1, used = 0;
	char *out = malloc(cap), frame[320];
	struct bpf_funcs live = { 0 };

	if (!out)
		return NULL;
	out[0] = '\0';
	for (int i = 0; i < n && ips[i]; i++) {
		size_t len;

		if (!format_bpf_frame(ks, ips[i], frame, sizeof(frame), &live))
			ht_ksyms_format(ks, ips[i], frame, sizeof(frame));
		len = strlen(frame);
		if (used + len + 2 > cap) {
			char *grown = realloc(out, cap = (used + len + 2) * 2);

			if (!grown) {
				free(out);
				out = NULL;
				break;
			}
			out = grown;
		}
		if (used)
			out[used++] = '\n';
		memcpy(out + used, frame, len + 1);
		used += len;
	}
	free(live.f);
	return out;
}

/*
 * The kernel's symbols, loaded once. Reading /proc/kallsyms takes 50-150 ms (the kernel
 * formats ~120k lines), too long for the first event to wait: a tool that prints stacks
 * starts the load in the background once it is attached, and the first stack waits only
 * for what is left of it.
 */
static struct {
	struct ht_ksyms *ks;
	bool loaded;  /* ks is final (NULL: unreadable) */
	bool loading; /* the loader thread runs or has not been joined yet */
	bool abandon; /* read by the loader thread: __atomic */
	pthread_t loader;
} kernel_syms;

static void *kernel_ksyms_load(void *arg)
{
	(void)arg;
	kernel_syms.ks = ksyms_load(NULL, &kernel_syms.abandon);
	return NULL;
}

static void kernel_ksyms_join(void)
{
	if (!kernel_syms.loading)
		return;
	pthread_join(kernel_syms.loader, NULL);
	kernel_syms.loading = false;
	kernel_syms.loaded = true;
}

/* At exit: a table nobody asked for is not worth waiting for (-d 0 would take 100 ms more). */
static void kernel_ksyms_abandon(void)
{
	if (!kernel_syms.loading)
		return;
	__atomic_store_n(&kernel_syms.abandon, true, __ATOMIC_RELAXED);
	kernel_ksyms_join();
}

void ht_kernel_ksyms_preload(void)
{
	sigset_t all, old;

	if (kernel_syms.loaded || kernel_syms.loading)
		return;
	/* signals stay with the main thread: its poll() must see EINTR */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	kernel_syms.loading = !pthread_create(&kernel_syms.loader, NULL, kernel_ksyms_load, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (kernel_syms.loading)
		atexit(kernel_ksyms_abandon); /* no thread left loading at exit */
}

const struct ht_ksyms *ht_kernel_ksyms(void)
{
	if (kernel_syms.loaded)
		return kernel_syms.ks;
	if (kernel_syms.loading)
		kernel_ksyms_join();
	else
		kernel_syms.ks = ht_ksyms_load(NULL);
	kernel_syms.loaded = true;
	if (kernel_syms.ks && kernel_syms.ks->hidden)
		fprintf(stderr, "huatuo: warning: /proc/kallsyms addresses are hidden "
				"(kernel.kptr_restrict); stacks show raw addresses\n");
	return kernel_syms.ks;
}

int ht_stack_skip_tracing(const struct ht_ksyms *ks, const uint64_t *ips, int n)
{
	static const char *const machinery[] = { "bpf_trace_run", "__bpf_trace_", "trace_call_bpf",
						 "perf_trace_", "__traceiter_" };
	int skip = 0;

	for (int i = 0; i < n && i < 8 && ips[i]; i++) {
		const struct ht_ksym *sym = ht_ksyms_find(ks, ips[i], NULL);

		if (!sym)
			continue;
		if (sym->module && !strcmp(sym->module, "bpf"))
			skip = i + 1; /* a BPF program (bpf_jit_kallsyms) */
		for (size_t m = 0; m < ARRAY_SIZE(machinery); m++)
			if (!strncmp(sym->name, machinery[m], strlen(machinery[m])))
				skip = i + 1;
	}
	return skip;
}
