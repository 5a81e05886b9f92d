// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/kallsyms: load once, sort by address, look up the floor symbol. Offsets are bounded
 * by the next symbol (kallsyms has no sizes), module names are kept, and hidden addresses
 * (kptr_restrict) are detected instead of resolving everything to the first symbol.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>

#include "huatuo.h"
#include "ksyms_scan.h"

/*
 * No function is this big: an address further past its floor symbol is in a gap (freed init
 * text, the module and BPF area below the symbols loaded there), and kallsyms has no sizes.
 */
#define MAX_SYMBOL_SIZE (1ULL << 20)
#define LOOKUP_CACHE_SLOTS 4096 /* power of two */
#define NO_SYMBOL SIZE_MAX
#define NO_MODULE UINT32_MAX
#define VBUF_FIRST (256 << 10)

/*
 * A drop storm symbolizes the same few stacks over and over; a binary search over ~120k
 * symbols per frame was the consumer's top cost (15 %). Recent answers are kept by address.
 */
struct lookup_slot {
	uint64_t addr; /* 0: empty */
	size_t best;   /* index into the table, or NO_SYMBOL */
};

/*
 * An array grown by mremap(): growing never copies, the slack never written is never
 * resident, and vbuf_fit() gives the slack back.
 */
struct vbuf {
	void *p;
	size_t len, cap; /* bytes */
};

/* kallsyms lists a module's symbols together: one run per change of module, in file order */
struct module_run {
	uint32_t name_off; /* the run's first symbol */
	uint32_t module;   /* offset of its name in names, or NO_MODULE */
};

/*
 * ~122k text symbols in ~4 MB: 4 bytes of address (an offset from the lowest, while every
 * one fits), 4 bytes of name offset, and the names, each once, in one blob of their size.
 */
struct ht_ksyms {
	size_t n;
	uint64_t base;	       /* the lowest address: addrs holds offsets from it */
	bool wide;	       /* addrs holds uint64_t addresses: they span more than 4 GB */
	struct vbuf addrs;     /* sorted by address, then file order */
	struct vbuf name_offs; /* uint32_t offsets into names */
	struct vbuf names;     /* symbol and module names, NUL-terminated */
	struct module_run *runs;
	size_t nruns, runs_cap;
	bool hidden;
	bool running;		   /* /proc/kallsyms: the running kernel's */
	uint64_t core_lo, core_hi; /* the core kernel's text: no BPF program or module there */
	struct lookup_slot *cache; /* LOOKUP_CACHE_SLOTS, NULL if it could not be had */
};

static void *vbuf_add(struct vbuf *b, size_t len)
{
	void *at;

	if (len > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : VBUF_FIRST;
		void *p;

		while (cap - b->len < len)
			cap *= 2;
		if (b->p)
			p = mremap(b->p, b->cap, cap, MREMAP_MAYMOVE);
		else
			p = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
				 0);
		if (p == MAP_FAILED)
			return NULL;
		b->p = p;
		b->cap = cap;
	}
	at = (char *)b->p + b->len;
	b->len += len;
	return at;
}

static void vbuf_free(struct vbuf *b)
{
	if (b->p)
		munmap(b->p, b->cap);
	*b = (struct vbuf){ 0 };
}

static void vbuf_fit(struct vbuf *b)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t cap = (b->len + page - 1) / page * page;
	void *p;

	if (!b->p || cap == b->cap)
		return;
	if (!cap) {
		vbuf_free(b);
		return;
	}
	p = mremap(b->p, b->cap, cap, 0); /* in place */
	if (p != MAP_FAILED) {
		b->p = p;
		b->cap = cap;
	}
}

static uint64_t sym_addr(const struct ht_ksyms *ks, size_t i)
{
	if (ks->wide)
		return ((const uint64_t *)ks->addrs.p)[i];
	return ks->base + ((const uint32_t *)ks->addrs.p)[i];
}

static uint32_t sym_name_off(const struct ht_ksyms *ks, size_t i)
{
	return ((const uint32_t *)ks->name_offs.p)[i];
}

static const char *sym_name(const struct ht_ksyms *ks, size_t i)
{
	return (const char *)ks->names.p + sym_name_off(ks, i);
}

/* Symbol @i's module: that of the last run starting at or before its name. */
static const char *sym_module(const struct ht_ksyms *ks, size_t i)
{
	uint32_t off = sym_name_off(ks, i);
	size_t lo = 0, hi = ks->nruns;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (ks->runs[mid].name_off <= off)
			lo = mid;
		else
			hi = mid;
	}
	if (!ks->nruns || ks->runs[lo].module == NO_MODULE)
		return NULL;
	return (const char *)ks->names.p + ks->runs[lo].module;
}

struct loader {
	struct ht_ksyms *ks;
	const bool *abandon;
	uint64_t first, lo, hi; /* addresses: the first read, the lowest and highest so far */
	bool any_nonzero, failed;
};

/* Names are NUL-terminated in the blob: offsets must stay below 4 GB. */
static bool add_name(struct ht_ksyms *ks, const char *s, size_t len, uint32_t *off)
{
	char *at;

	if (ks->names.len + len + 1 > UINT32_MAX)
		return false;
	*off = (uint32_t)ks->names.len;
	at = vbuf_add(&ks->names, len + 1);
	if (!at)
		return false;
	memcpy(at, s, len);
	at[len] = '\0';
	return true;
}

/* Offset of module @name in names, added the first time it is seen. */
static bool intern_module(struct ht_ksyms *ks, const char *name, size_t len, uint32_t *off)
{
	const char *names = ks->names.p;

	for (size_t i = ks->nruns; i-- > 0;) {
		uint32_t m = ks->runs[i].module;

		if (m != NO_MODULE && strlen(names + m) == len && !memcmp(names + m, name, len)) {
			*off = m;
			return true;
		}
	}
	return add_name(ks, name, len, off);
}

static bool add_run(struct ht_ksyms *ks, uint32_t name_off, uint32_t module)
{
	if (ks->nruns && ks->runs[ks->nruns - 1].module == module)
		return true;
	if (ht_grow(&ks->runs, &ks->runs_cap, ks->nruns + 1, sizeof(*ks->runs), 16))
		return false;
	ks->runs[ks->nruns++] = (struct module_run){ name_off, module };
	return true;
}

/*
 * Offsets are kept from the first address read while every address so far lies within 4 GB
 * of each other; past that, they become addresses: addr = lo + (offset - (lo - first)).
 */
static bool widen_addrs(struct loader *ld)
{
	struct ht_ksyms *ks = ld->ks;
	const uint32_t *narrow = ks->addrs.p;
	uint32_t shift = (uint32_t)(ld->lo - ld->first);
	struct vbuf wide = { 0 };
	uint64_t *a = vbuf_add(&wide, ks->n * sizeof(*a));

	if (!a && ks->n)
		return false;
	for (size_t i = 0; i < ks->n; i++)
		a[i] = ld->lo + (uint32_t)(narrow[i] - shift);
	vbuf_free(&ks->addrs);
	ks->addrs = wide;
	ks->wide = true;
	return true;
}

static bool add_addr(struct loader *ld, uint64_t addr)
{
	struct ht_ksyms *ks = ld->ks;
	void *at;

	if (!ks->n) {
		ld->first = ld->lo = ld->hi = addr;
	} else if (!ks->wide) {
		uint64_t lo = addr < ld->lo ? addr : ld->lo, hi = addr > ld->hi ? addr : ld->hi;

		if (hi - lo > UINT32_MAX && !widen_addrs(ld))
			return false;
		ld->lo = lo;
		ld->hi = hi;
	}
	at = vbuf_add(&ks->addrs, ks->wide ? sizeof(uint64_t) : sizeof(uint32_t));
	if (!at)
		return false;
	if (ks->wide)
		*(uint64_t *)at = addr;
	else
		*(uint32_t *)at = (uint32_t)(addr - ld->first);
	return true;
}

static bool load_line(const struct ht_kallsyms_line *l, void *ctx)
{
	struct loader *ld = ctx;
	struct ht_ksyms *ks = ld->ks;
	uint32_t module = NO_MODULE, name_off, *at;

	if (ld->abandon && __atomic_load_n(ld->abandon, __ATOMIC_RELAXED))
		return false;
	if ((l->module && !intern_module(ks, l->module, l->module_len, &module)) ||
	    !add_name(ks, l->name, l->name_len, &name_off) || !add_run(ks, name_off, module) ||
	    !add_addr(ld, l->addr) || !(at = vbuf_add(&ks->name_offs, sizeof(*at)))) {
		ld->failed = true;
		return false;
	}
	*at = name_off;
	ks->n++;
	if (l->addr)
		ld->any_nonzero = true;
	if (!l->module) {
		if (l->addr < ks->core_lo)
			ks->core_lo = l->addr;
		if (l->addr > ks->core_hi)
			ks->core_hi = l->addr;
	}
	return true;
}

/* Address order, file order for aliases (name offsets grow with it): a total order. */
static bool sym_before(const struct ht_ksyms *ks, size_t i, size_t j)
{
	uint64_t a = sym_addr(ks, i), b = sym_addr(ks, j);

	return a != b ? a < b : sym_name_off(ks, i) < sym_name_off(ks, j);
}

static void sym_swap(struct ht_ksyms *ks, size_t i, size_t j)
{
	uint32_t *off = ks->name_offs.p, o = off[i];

	off[i] = off[j];
	off[j] = o;
	if (ks->wide) {
		uint64_t *a = ks->addrs.p, t = a[i];

		a[i] = a[j];
		a[j] = t;
	} else {
		uint32_t *a = ks->addrs.p, t = a[i];

		a[i] = a[j];
		a[j] = t;
	}
}

static void sift_down(struct ht_ksyms *ks, size_t root, size_t n)
{
	for (size_t child; (child = 2 * root + 1) < n; root = child) {
		if (child + 1 < n && sym_before(ks, child, child + 1))
			child++;
		if (!sym_before(ks, root, child))
			return;
		sym_swap(ks, root, child);
	}
}

/*
 * In place (qsort's merge sort would take a copy of the table): /proc/kallsyms is in address
 * order but for the BPF programs and trampolines at its end, and a sorted table is left as is.
 */
static void sort_syms(struct ht_ksyms *ks)
{
	size_t i;

	for (i = 1; i < ks->n && sym_before(ks, i - 1, i); i++)
		;
	if (i >= ks->n)
		return;
	for (i = ks->n / 2; i-- > 0;)
		sift_down(ks, i, ks->n);
	for (i = ks->n; i-- > 1;) {
		sym_swap(ks, 0, i);
		sift_down(ks, 0, i);
	}
}

/* ht_ksyms_load(), giving up when *@abandon becomes true (a background load at exit). */
static struct ht_ksyms *ksyms_load(const char *path, const bool *abandon)
{
	struct ht_ksyms *ks = calloc(1, sizeof(*ks));
	struct loader ld = { .ks = ks, .abandon = abandon };

	if (!ks)
		return NULL;
	ks->core_lo = UINT64_MAX;
	if (ht_kallsyms_each(path, load_line, &ld) || ld.failed ||
	    (abandon && __atomic_load_n(abandon, __ATOMIC_RELAXED))) {
		ht_ksyms_free(ks);
		return NULL;
	}
	if (ks->n && !ks->wide) {
		uint32_t *a = ks->addrs.p, shift = (uint32_t)(ld.lo - ld.first);

		for (size_t i = 0; i < ks->n; i++)
			a[i] -= shift;
		ks->base = ld.lo;
	}
	vbuf_fit(&ks->addrs);
	vbuf_fit(&ks->name_offs);
	vbuf_fit(&ks->names);
	ks->hidden = ks->n && !ld.any_nonzero;
	ks->running = !path;
	sort_syms(ks);
	ks->cache = calloc(LOOKUP_CACHE_SLOTS, sizeof(*ks->cache)); /* optional */
	return ks;
}

struct ht_ksyms *ht_ksyms_load(const char *path)
{
	return ksyms_load(path, NULL);
}

void ht_ksyms_free(struct ht_ksyms *ks)
{
	if (!ks)
		return;
	vbuf_free(&ks->addrs);
	vbuf_free(&ks->name_offs);
	vbuf_free(&ks->names);
	free(ks->runs);
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
	uint64_t start, size = MAX_SYMBOL_SIZE;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (sym_addr(ks, mid) <= addr)
			lo = mid;
		else
			hi = mid;
	}
	best = lo;
	start = sym_addr(ks, best);
	/* bound the offset by the next distinct symbol (sizes: no end past 2^64 to wrap) */
	while (hi < ks->n && sym_addr(ks, hi) == start)
		hi++;
	if (hi < ks->n && sym_addr(ks, hi) - start < size)
		size = sym_addr(ks, hi) - start;
	return addr - start < size ? best : NO_SYMBOL;
}

bool ht_ksyms_find(const struct ht_ksyms *ks, uint64_t addr, struct ht_ksym *sym, uint64_t *offset)
{
	struct lookup_slot *slot = NULL;
	size_t best;

	if (!ks || !ks->n || !ks->names.p || ks->hidden || addr < sym_addr(ks, 0))
		return false;
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
		return false;
	sym->addr = sym_addr(ks, best);
	sym->name = sym_name(ks, best);
	sym->module = sym_module(ks, best);
	if (offset)
		*offset = addr - sym->addr;
	return true;
}

uint64_t ht_ksyms_addr(const struct ht_ksyms *ks, const char *name)
{
	if (!ks)
		return 0;
	for (size_t i = 0; i < ks->n; i++)
		if (!strcmp(sym_name(ks, i), name))
			return sym_addr(ks, i) ? sym_addr(ks, i) : 1;
	return 0;
}

/* "name+0x1f [module]" or "0xffff..."; hand-made: it runs for every frame of every stack. */
const char *ht_ksyms_format(const struct ht_ksyms *ks, uint64_t addr, char *buf, size_t len)
{
	uint64_t off = 0;
	struct ht_ksym sym;
	size_t name_len, mod_len, need;
	char hex[24], *o = buf;

	if (!len)
		return buf;
	if (!ht_ksyms_find(ks, addr, &sym, &off)) {
		ht_fmt_hex(addr, hex);
		snprintf(buf, len, "%s", hex);
		return buf;
	}
	name_len = strlen(sym.name);
	mod_len = sym.module ? strlen(sym.module) : 0;
	need = name_len + 1 + ht_fmt_hex(off, hex) + (sym.module ? mod_len + 3 : 0) + 1;
	if (need > len) {
		snprintf(buf, len, "%s+%s%s%s%s", sym.name, hex, sym.module ? " [" : "",
			 sym.module ? sym.module : "", sym.module ? "]" : "");
		return buf;
	}
	memcpy(o, sym.name, name_len);
	o += name_len;
	*o++ = '+';
	o = stpcpy(o, hex);
	if (sym.module) {
		*o++ = ' ';
		*o++ = '[';
		memcpy(o, sym.module, mod_len);
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
	struct ht_ksym sym;
	struct bpf_func *f = NULL;
	char hex[24];

	if (!ks || !ks->running || ks->hidden || (addr >= ks->core_lo && addr <= ks->core_hi))
		return false;
	if (ht_ksyms_find(ks, addr, &sym, NULL) && (!sym.module || strcmp(sym.module, "bpf")))
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
 * formats ~120k lines), too long for an event to wait: a tool that prints stacks starts
 * the load in the background at its first look at the ring (ht_run()), and a stack after
 * that waits only for what is left of it.
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
		struct ht_ksym sym;

		if (!ht_ksyms_find(ks, ips[i], &sym, NULL))
			continue;
		if (sym.module && !strcmp(sym.module, "bpf"))
			skip = i + 1; /* a BPF program (bpf_jit_kallsyms) */
		for (size_t m = 0; m < ARRAY_SIZE(machinery); m++)
			if (!strncmp(sym.name, machinery[m], strlen(machinery[m])))
				skip = i + 1;
	}
	return skip;
}
