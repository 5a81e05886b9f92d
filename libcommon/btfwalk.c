// SPDX-License-Identifier: GPL-2.0
/*
 * The CO-RE subset of a raw BTF file in one walk (btfwalk.h), for btfmin.c.
 *
 * Raw BTF is a header, a type section (records of 12 bytes plus a kind-specific tail; type
 * ids count from 1 in file order) and a string section (NUL-terminated, "" at offset 0).
 * libbpf's btf__parse() reads all of it into memory, copies it once more, and indexes every
 * type: 11 MB and most of a first start for kernel BTF. Here:
 *
 *  1. One pass over the type headers notes the offset of every 16th type and the types
 *     named like a root. A mapped file's type section is walked in pieces side by side
 *     (scan_mapped()), the names it meets read where they are, a batch at a time. On a
 *     file read through a window, one pass over the strings first marks where each string
 *     starts (a bitmap) and which strings name a root, so the type pass reads no strings; a
 *     name offset that is not the start of a string (deduplicated BTF has none) is read on
 *     its own.
 *  2. The closure by value, depth first: each kept type is found from the nearest indexed
 *     offset (at most 15 headers on).
 *  3. The kept types, copied in the order they were kept: names interned into a new string
 *     section in first-use order, type ids renumbered, pointers to types left out made
 *     pointers to void. This is what btf__add_type() and btf__raw_data() wrote before.
 *
 * Everything read is bounds-checked: --btf FILE is whatever the user gives.
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/btf.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "btfwalk.h"
#include "huatuo.h"

#define IDX_SHIFT 4		    /* an index entry every 16 types */
#define CHAINS 4		    /* pieces of a mapped type section walked side by side */
#define SYNC_RECORDS 32		    /* records a piece's first offset must parse as */
#define SYNC_SEARCH (64u << 10)	    /* bytes searched for a piece's first record */
#define WIN_SCAN (64u << 10)	    /* read-ahead of the sequential passes */
#define WIN_LOOKUP 1024u	    /* read-ahead of a type or name looked up by offset */
#define MAX_MODULE_FILE (64u << 20) /* module BTF is KBs */
#define MAX_TYPES 0x7fffffffu	    /* libbpf's BTF_MAX_NR_TYPES */

enum { W_TYPES, W_STRS, W_N };

struct window {
	char *buf;
	size_t cap;
	uint64_t off;
	size_t len;
};

/* The file: mapped, or read through one window for types and one for strings. */
struct src {
	int fd;
	const char *map;
	uint64_t size;
	struct window w[W_N];
	int err;
};

/* A string of the file that names a root (read mode, from the strings pass). */
struct hit {
	uint32_t off;
	int root;
	bool is_long;
};

struct walk {
	struct src s;
	const struct ht_btf_roots *r;
	uint64_t pairs[1024]; /* see maybe_root() */
	uint64_t types, types_end, strs;
	uint32_t str_len;
	uint32_t n; /* ids 1..n-1 */
	/*
	 * Where the types are: chain c's records have ids base[c], base[c] + 1, ... and
	 * idx[c][k] is the offset (from types) of its record 16 * k. One chain unless the
	 * mapped file was walked in pieces (scan_mapped()).
	 */
	int nchains;
	uint32_t base[CHAINS];
	uint32_t *idx[CHAINS];
	/* read mode: string starts and the strings naming a root */
	uint8_t *starts;
	struct hit *hits;
	size_t nhits, hits_cap;
	/* kept types: order[new id] = old id; map: old id -> new id; stack: to visit */
	uint32_t *order, *stack, *map_key, *map_val;
	size_t norder, order_cap, top, stack_cap, map_cap, map_n;
	bool found[HT_BTF_MAX_ROOTS];
	int missing;
	/* kept records as read (arena, rec_at[new id]), then the subset */
	char *arena;
	size_t alen, acap;
	uint32_t *rec_at;
	size_t rec_cap;
	char *tout, *sout;
	size_t tlen, tcap, slen, scap;
	uint32_t *stab; /* interned strings: offset + 1 in sout, 0 empty */
	size_t stab_cap, stab_n;
	uint16_t mset[2 * HT_BTF_MAX_MEMBERS]; /* r->prune: member names, index + 1 by hash */
};

/* Whether @s has "___": any three bytes in a row hold one at an index 2 mod 3. */
static bool has_triple_underscore(const char *s, size_t n)
{
	for (size_t i = 2; i < n; i += 3)
		if (s[i] == '_' &&
		    ((s[i - 1] == '_' && (s[i - 2] == '_' || (i + 1 < n && s[i + 1] == '_'))) ||
		     (i + 2 < n && s[i + 1] == '_' && s[i + 2] == '_')))
			return true;
	return false;
}

/* libbpf's bpf_core_essential_name_len(): the part before the last "X___Y" flavour mark */
static size_t essential_len(const char *s, size_t n)
{
	if (n < 5 || !has_triple_underscore(s, n))
		return n; /* most names: no mark to look for from the end */
	for (size_t i = n - 4; i-- > 0;)
		if (s[i] != '_' && s[i + 1] == '_' && s[i + 2] == '_' && s[i + 3] == '_' &&
		    s[i + 4] != '_')
			return i + 1;
	return n;
}

size_t ht_btf_essential_len(const char *name)
{
	return essential_len(name, strlen(name));
}

int ht_btf_add_root(struct ht_btf_roots *r, const char *name)
{
	size_t len = ht_btf_essential_len(name);

	if (!len)
		return -EINVAL; /* libbpf cannot relocate anonymous types either */
	for (int i = 0; i < r->n; i++)
		if (r->len[i] == len && !memcmp(r->name[i], name, len))
			return 0;
	if (r->n == HT_BTF_MAX_ROOTS)
		return -E2BIG;
	r->name[r->n] = name;
	r->len[r->n++] = len;
	return 0;
}

int ht_btf_add_member(struct ht_btf_roots *r, const char *name)
{
	for (int i = 0; i < r->nmembers; i++)
		if (!strcmp(r->member[i], name))
			return 0;
	if (r->nmembers == HT_BTF_MAX_MEMBERS)
		return -E2BIG;
	r->member[r->nmembers++] = name;
	return 0;
}

static uint32_t get_u32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void put_u32(void *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* @len bytes at @off, valid until the next call for the same window; NULL with s->err. */
static const char *src_at(struct src *s, int which, uint64_t off, size_t len, size_t ahead)
{
	struct window *w = &s->w[which];
	size_t want;

	if (off > s->size || len > s->size - off) {
		s->err = -EINVAL;
		return NULL;
	}
	if (s->map)
		return s->map + off;
	if (w->buf && off >= w->off && off - w->off <= w->len && len <= w->len - (off - w->off))
		return w->buf + (off - w->off);
	want = len > ahead ? len : ahead;
	if (want > s->size - off)
		want = s->size - off;
	if (want > w->cap) {
		char *grown = realloc(w->buf, want);

		if (!grown) {
			s->err = -ENOMEM;
			return NULL;
		}
		w->buf = grown;
		w->cap = want;
	}
	w->off = off;
	w->len = 0;
	while (w->len < want) { /* sysfs hands out a page per read */
		ssize_t got = pread(s->fd, w->buf + w->len, want - w->len, (off_t)(off + w->len));

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		w->len += (size_t)got;
	}
	if (w->len < len) {
		w->len = 0;
		s->err = -EIO; /* the file shrank under us */
		return NULL;
	}
	return w->buf;
}

static int src_err(const struct src *s)
{
	return s->err ? s->err : -EINVAL;
}

/* The string at @off of the string section, and its length; NULL if out of range. */
static const char *str_at(struct walk *w, uint32_t off, size_t *len)
{
	size_t room, want;

	if (off >= w->str_len)
		return NULL;
	room = w->str_len - off;
	if (w->s.map) {
		const char *p = w->s.map + w->strs + off;

		*len = strlen(p); /* the section ends with a NUL */
		return p;
	}
	for (want = 256;; want *= 2) {
		const char *p, *nul;

		if (want > room)
			want = room;
		p = src_at(&w->s, W_STRS, w->strs + off, want, WIN_LOOKUP);
		if (!p)
			return NULL;
		nul = memchr(p, 0, want);
		if (nul) {
			*len = (size_t)(nul - p);
			return p;
		}
		if (want == room) {
			w->s.err = -EINVAL;
			return NULL;
		}
	}
}

/*
 * Root index of a name (-1: none), and whether it is "long int" (libbpf's pointer size). A
 * type is a candidate for a root when their essential names are the same, as libbpf's
 * bpf_core_add_cands() compares them: the lengths first.
 */
static int root_of(const struct walk *w, const char *s, size_t n, bool *is_long)
{
	size_t essential = essential_len(s, n);

	*is_long = n == 8 && !memcmp(s, "long int", 8);
	for (int i = 0; i < w->r->n; i++)
		if (w->r->len[i] == essential && !memcmp(w->r->name[i], s, essential))
			return i;
	return -1;
}

/* A quick no: the first two bytes of root names (a NUL or '_' second for 1-byte ones). */
static bool maybe_root(const struct walk *w, const char *s)
{
	unsigned int pair = (unsigned char)s[0] << 8 | (unsigned char)(s[0] ? s[1] : 0);

	return w->pairs[pair / 64] & (1ULL << (pair % 64));
}

static void add_pair(struct walk *w, const char *name, size_t len)
{
	unsigned int pair = (unsigned char)name[0] << 8;

	if (len == 1) {
		w->pairs[pair / 64] |= 1ULL << (pair % 64);
		pair |= '_';
	} else {
		pair |= (unsigned char)name[1];
	}
	w->pairs[pair / 64] |= 1ULL << (pair % 64);
}

/* Read mode: which strings start where, and which name a root. */
static int scan_strings(struct walk *w)
{
	uint32_t pos = 0;

	w->starts = calloc(w->str_len / 8 + 1, 1);
	if (!w->starts)
		return -ENOMEM;
	while (pos < w->str_len) {
		size_t avail = w->str_len - pos < WIN_SCAN ? w->str_len - pos : WIN_SCAN;
		const char *p = src_at(&w->s, W_STRS, w->strs + pos, avail, WIN_SCAN);
		size_t used = 0, len;

		if (!p)
			return src_err(&w->s);
		for (;;) {
			const char *s = p + used, *nul;
			bool is_long = false;
			int root = -1;

			if (used == avail)
				break;
			nul = memchr(s, 0, avail - used);
			if (!nul) {
				if (used)
					break;		  /* the rest starts the next window */
				s = str_at(w, pos, &len); /* longer than a window */
				if (!s)
					return src_err(&w->s);
			} else {
				len = (size_t)(nul - s);
			}
			w->starts[(pos + used) / 8] |= 1u << ((pos + used) % 8);
			if (len && maybe_root(w, s))
				root = root_of(w, s, len, &is_long);
			if (root >= 0 || is_long) {
				if (w->nhits == w->hits_cap) {
					size_t cap = w->hits_cap ? w->hits_cap * 2 : 64;
					struct hit *grown = realloc(w->hits, cap * sizeof(*grown));

					if (!grown)
						return -ENOMEM;
					w->hits = grown;
					w->hits_cap = cap;
				}
				w->hits[w->nhits++] = (struct hit){ .off = pos + (uint32_t)used,
								    .root = root,
								    .is_long = is_long };
			}
			used += len + 1;
			if (!nul)
				break;
		}
		pos += (uint32_t)used;
	}
	return 0;
}

/* Root index of the type name at @name_off (-1: none or anonymous); see root_of(). */
static int name_root(struct walk *w, uint32_t name_off, bool *is_long, int *err)
{
	const char *s;
	size_t len;

	*is_long = false;
	if (!name_off || name_off >= w->str_len)
		return -1; /* anonymous, as btf__name_by_offset() makes it */
	if (w->s.map) {
		s = w->s.map + w->strs + name_off;
		if (!maybe_root(w, s))
			return -1;
		return root_of(w, s, strlen(s), is_long);
	}
	if (w->starts[name_off / 8] & (1u << (name_off % 8))) {
		size_t lo = 0, hi = w->nhits;

		while (lo < hi) { /* hits are in offset order */
			size_t mid = (lo + hi) / 2;

			if (w->hits[mid].off < name_off)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == w->nhits || w->hits[lo].off != name_off)
			return -1;
		*is_long = w->hits[lo].is_long;
		return w->hits[lo].root;
	}
	s = str_at(w, name_off, &len); /* inside another string */
	if (!s) {
		*err = src_err(&w->s);
		return -1;
	}
	return root_of(w, s, len, is_long);
}

/* Record tail by kind: fixed bytes, bytes per vlen item; 0xff: a kind libbpf 1.1 rejects. */
static const uint8_t tail_fixed[32] = {
	[0] = 0xff,
	[BTF_KIND_INT] = 4,
	[BTF_KIND_ARRAY] = sizeof(struct btf_array),
	[BTF_KIND_VAR] = sizeof(struct btf_var),
	[BTF_KIND_DECL_TAG] = sizeof(struct btf_decl_tag),
	[BTF_KIND_ENUM64 + 1 ... 31] = 0xff,
};
static const uint8_t tail_item[32] = {
	[BTF_KIND_ENUM] = sizeof(struct btf_enum),
	[BTF_KIND_ENUM64] = sizeof(struct btf_enum64),
	[BTF_KIND_STRUCT] = sizeof(struct btf_member),
	[BTF_KIND_UNION] = sizeof(struct btf_member),
	[BTF_KIND_FUNC_PROTO] = sizeof(struct btf_param),
	[BTF_KIND_DATASEC] = sizeof(struct btf_var_secinfo),
};

/*
 * 1 << kind for the kinds that can stand for a relocation's root: libbpf takes candidates of
 * the root's own kind only, and a root is never a function, its prototype, a variable, a
 * section or a tag. Skipping them skips most name reads (56k of kernel BTF's 127k types are
 * functions).
 */
#define ROOT_KINDS                                                                      \
	(~((1u << BTF_KIND_FUNC) | (1u << BTF_KIND_FUNC_PROTO) | (1u << BTF_KIND_VAR) | \
	   (1u << BTF_KIND_DATASEC) | (1u << BTF_KIND_DECL_TAG)))

static bool may_be_root(const struct btf_type *t)
{
	return ROOT_KINDS >> BTF_INFO_KIND(t->info) & 1;
}

/* Bytes of a type record from its first 12, or -EINVAL for an unknown kind. */
static int64_t rec_size(const struct btf_type *t)
{
	unsigned int kind = BTF_INFO_KIND(t->info);

	if (tail_fixed[kind] == 0xff)
		return -EINVAL;
	return (int64_t)sizeof(*t) + tail_fixed[kind] +
	       (int64_t)BTF_INFO_VLEN(t->info) * tail_item[kind];
}

/* The record at @off: header in @t, size in @size; -errno if it does not fit the section. */
static inline int header_at(struct walk *w, uint64_t off, size_t ahead, struct btf_type *t,
			    uint64_t *size)
{
	const char *p;
	int64_t sz;

	if (off >= w->types_end || w->types_end - off < sizeof(*t))
		return -EINVAL;
	p = w->s.map ? w->s.map + off : src_at(&w->s, W_TYPES, off, sizeof(*t), ahead);
	if (!p)
		return src_err(&w->s);
	memcpy(t, p, sizeof(*t));
	sz = rec_size(t);
	if (sz < 0 || (uint64_t)sz > w->types_end - off)
		return -EINVAL;
	*size = (uint64_t)sz;
	return 0;
}

/* ---- kept types: id -> new id (open addressing), order of keeping, ids to visit */

static size_t map_find(const struct walk *w, uint32_t id)
{
	size_t mask = w->map_cap - 1, i = (id * 2654435761u) & mask;

	while (w->map_key[i] && w->map_key[i] != id)
		i = (i + 1) & mask;
	return i;
}

static uint32_t new_id(const struct walk *w, uint32_t id)
{
	size_t i = map_find(w, id);

	return w->map_key[i] ? w->map_val[i] : 0;
}

/* Room for @need ids (from 256) or bytes (from 4096): 0 or -ENOMEM. */
#define grow_u32(a, cap, need) ht_grow((a), (cap), (need), sizeof(uint32_t), 256)
#define grow(buf, cap, need) ht_grow((buf), (cap), (need), 1, 4096)

/* Keep @id (once): numbered in keeping order, visited later for what it embeds. */
static int keep(struct walk *w, uint32_t id)
{
	size_t i;

	if ((w->map_n + 1) * 2 > w->map_cap) {
		size_t old_cap = w->map_cap, cap = old_cap ? old_cap * 2 : 1024;
		uint32_t *old_key = w->map_key, *old_val = w->map_val;

		w->map_key = calloc(cap, sizeof(uint32_t));
		w->map_val = calloc(cap, sizeof(uint32_t));
		if (!w->map_key || !w->map_val) {
			free(w->map_key);
			free(w->map_val);
			w->map_key = old_key;
			w->map_val = old_val;
			return -ENOMEM;
		}
		w->map_cap = cap;
		for (size_t j = 0; j < old_cap; j++) {
			if (!old_key[j])
				continue;
			i = map_find(w, old_key[j]);
			w->map_key[i] = old_key[j];
			w->map_val[i] = old_val[j];
		}
		free(old_key);
		free(old_val);
	}
	i = map_find(w, id);
	if (w->map_key[i])
		return 0;
	if (grow_u32(&w->order, &w->order_cap, w->norder + 2) ||
	    grow_u32(&w->stack, &w->stack_cap, w->top + 1))
		return -ENOMEM;
	if (!w->norder)
		w->norder = 1; /* new ids count from 1 */
	w->map_key[i] = id;
	w->map_val[i] = (uint32_t)w->norder;
	w->map_n++;
	w->order[w->norder++] = id;
	w->stack[w->top++] = id;
	return 0;
}

/* ---- pass 1: every type header */

/* Index entries for the records of @bytes of type section (each record is 12 bytes or more). */
static uint32_t *new_index(uint64_t bytes)
{
	return calloc((size_t)(bytes / sizeof(struct btf_type) >> IDX_SHIFT) + 2, sizeof(uint32_t));
}

/* Whether a type of @kind named like root @root (-1: none) or "long int" (@is_long) is kept. */
static bool kept(int root, bool is_long, unsigned int kind)
{
	return root >= 0 || (is_long && kind == BTF_KIND_INT);
}

/* Keep type @id, a candidate for root @root (or, for -1, "long int"). */
static int note_root(struct walk *w, uint32_t id, int root)
{
	if (root >= 0 && !w->found[root]) {
		w->found[root] = true;
		w->missing -= root < w->r->required;
	}
	return keep(w, id);
}

/* Type @id named @name_off, of @kind: kept if it is named like a root (or is "long int"). */
static int note_type(struct walk *w, uint32_t id, uint32_t name_off, unsigned int kind)
{
	bool is_long;
	int err = 0, root = name_root(w, name_off, &is_long, &err);

	if (err)
		return err;
	return kept(root, is_long, kind) ? note_root(w, id, root) : 0;
}

/*
 * One record of a mapped type section: its size, or 0 if it is not a valid record there;
 * its name offset and info word in @name_off and @info.
 */
static inline uint64_t mapped_rec(const struct walk *w, uint64_t off, uint32_t *name_off,
				  uint32_t *info)
{
	const char *p = w->s.map + off;
	unsigned int kind;
	uint64_t size;

	if (w->types_end - off < sizeof(struct btf_type))
		return 0;
	*name_off = get_u32(p);
	*info = get_u32(p + 4);
	kind = BTF_INFO_KIND(*info);
	if (tail_fixed[kind] == 0xff)
		return 0;
	size = sizeof(struct btf_type) + tail_fixed[kind] +
	       (uint64_t)BTF_INFO_VLEN(*info) * tail_item[kind];
	return size <= w->types_end - off ? size : 0;
}

/*
 * Whether @off starts SYNC_RECORDS records (or the records up to the section's end): kinds
 * libbpf knows, the bits BTF leaves unused at zero (24-28 kind, 31 kind_flag, 0-15 vlen),
 * no vlen for a kind without items (a function's is its linkage, 0-2), names inside the
 * string section. Only a guess: the walk of the piece before proves it.
 */
static bool record_starts(const struct walk *w, uint64_t off)
{
	for (int i = 0; i < SYNC_RECORDS && off < w->types_end; i++) {
		uint32_t name_off, info;
		uint64_t size = mapped_rec(w, off, &name_off, &info);
		unsigned int kind;

		if (!size || name_off >= w->str_len)
			return false;
		kind = BTF_INFO_KIND(info);
		if (!kind || (info & 0x60ff0000u) ||
		    (!tail_item[kind] && BTF_INFO_VLEN(info) > (kind == BTF_KIND_FUNC ? 2u : 0u)))
			return false;
		off += size;
	}
	return true;
}

/* A piece of a mapped type section: where its walk is, and what it found. */
struct chain {
	uint64_t off, end;
	uint32_t n;	/* records walked */
	uint32_t npend; /* of pend[]: records that may be a root, names not looked at yet */
	uint32_t *idx;	/* offset of every 16th record */
	bool bad;	/* met a kind libbpf rejects */
};

/* A record of a piece that may be a root: its name fetched on the way, not looked at yet. */
struct named {
	uint32_t rec; /* from the piece's first */
	uint32_t name_off;
	uint32_t kind;
};

/* A piece's records to keep, in walk order. */
struct found {
	struct kept_rec {
		uint32_t rec;
		int root; /* -1: "long int" */
	} * v;
	size_t n, cap;
};

static int chain_init(struct chain *k, uint64_t off, uint64_t end)
{
	*k = (struct chain){ .off = off, .end = end };
	k->idx = new_index(end - off);
	return k->idx ? 0 : -ENOMEM;
}

/* Whether piece @k has a record header left before its end. */
static inline bool chain_more(const struct chain *k)
{
	return k->off + sizeof(struct btf_type) <= k->end;
}

/* What a walk of the pieces reads, in locals: nothing it writes can change them. */
struct section {
	const char *map, *strs;
	uint64_t types;
	uint32_t str_len;
};

/*
 * The next record of piece @k. Only the offset is on the chain of loads: a bad kind is noted
 * on the side, and a record that runs past the piece's end leaves it past its end.
 */
static inline void chain_step(const struct section *sec, struct chain *k, struct named *pend)
{
	const char *p = sec->map + k->off;
	uint32_t name_off = get_u32(p), info = get_u32(p + 4);
	unsigned int kind = BTF_INFO_KIND(info), named;

	if (!(k->n & ((1u << IDX_SHIFT) - 1)))
		k->idx[k->n >> IDX_SHIFT] = (uint32_t)(k->off - sec->types);
	/*
	 * The hardware prefetcher stops at every page: ask for the lines ahead (a prefetch
	 * past the mapping's end does not fault).
	 */
	__builtin_prefetch(p + 2048);
	k->off += sizeof(struct btf_type) + tail_fixed[kind] +
		  (uint64_t)BTF_INFO_VLEN(info) * tail_item[kind];
	k->bad |= tail_fixed[kind] == 0xff;
	/*
	 * No branch on the kind: it would stall the other pieces. A type that may be a root is
	 * noted and its name fetched, to be looked at within NAME_BATCH rounds; another is
	 * written over by the next.
	 */
	named = (ROOT_KINDS >> kind & 1) & (name_off != 0) & (name_off < sec->str_len);
	__builtin_prefetch(sec->strs + (named ? name_off : 0));
	pend[k->npend] = (struct named){ .rec = k->n, .name_off = name_off, .kind = kind };
	k->npend += named;
	k->n++;
}

/* The step of piece @k in a round of the walk, if it has a record left: 1 if it had, else 0. */
static inline int chain_round(const struct section *sec, struct chain *k, struct named *pend)
{
	if (!chain_more(k))
		return 0;
	chain_step(sec, k, pend);
	return 1;
}

/* The names of @n pending records: the roots among them (and "long int") added to @f. */
static int look_at_names(struct walk *w, const struct named *pend, uint32_t n, struct found *f)
{
	for (uint32_t i = 0; i < n; i++) {
		bool is_long;
		int err = 0, root = name_root(w, pend[i].name_off, &is_long, &err);

		if (err)
			return err;
		if (!kept(root, is_long, pend[i].kind))
			continue;
		if (ht_grow(&f->v, &f->cap, f->n + 1, sizeof(*f->v), 16))
			return -ENOMEM;
		f->v[f->n++] = (struct kept_rec){ .rec = pend[i].rec, .root = root };
	}
	return 0;
}

#define NAME_BATCH 64 /* rounds between looks at the names the pieces fetched */

/*
 * Walk the CHAINS pieces in @ch side by side until each is at its end (an unused piece is
 * empty). The pieces are copied into locals so that their offsets stay in registers.
 */
static int walk_pieces(struct walk *w, struct chain *ch, struct found *f)
{
	const struct section sec = { .map = w->s.map,
				     .strs = w->s.map + w->strs,
				     .types = w->types,
				     .str_len = w->str_len };
	/* zeroed for the analyzer only: an entry is written before it is read */
	struct named pend[CHAINS][NAME_BATCH] = { { { 0 } } };
	uint32_t npend[CHAINS];
	struct chain a = ch[0], b = ch[1], c = ch[2], d = ch[3];
	bool more = true;
	int err = 0;

	while (more && !err) {
		/* |, not ||: each piece takes its step */
		for (int round = 0; round < NAME_BATCH && more; round++)
			more = chain_round(&sec, &a, pend[0]) | chain_round(&sec, &b, pend[1]) |
			       chain_round(&sec, &c, pend[2]) | chain_round(&sec, &d, pend[3]);
		npend[0] = a.npend;
		npend[1] = b.npend;
		npend[2] = c.npend;
		npend[3] = d.npend;
		for (int i = 0; i < CHAINS && !err; i++)
			err = look_at_names(w, pend[i], npend[i], &f[i]);
		a.npend = b.npend = c.npend = d.npend = 0;
	}
	ch[0] = a;
	ch[1] = b;
	ch[2] = c;
	ch[3] = d;
	return err;
}

/* Whether the pieces are right: none met a bad kind and each ended where the next starts. */
static bool pieces_right(const struct chain *ch)
{
	for (int c = 0; c < CHAINS; c++)
		if (ch[c].bad || ch[c].off != ch[c].end)
			return false;
	return true;
}

static void free_pieces(struct chain *ch, struct found *f)
{
	for (int c = 0; c < CHAINS; c++) {
		free(ch[c].idx);
		free(f[c].v);
		ch[c] = (struct chain){ .idx = NULL };
		f[c] = (struct found){ .v = NULL };
	}
}

/*
 * scan_types() on a mapped file. The offset of each header comes from the one before, so
 * one walk runs at the speed of that chain of loads. The section is cut into CHAINS pieces,
 * each starting at an offset that parses as records (record_starts()), and the pieces are
 * walked side by side, about twice as fast on one CPU. A piece is right when its walk ends
 * exactly where the next piece starts; if one is not, or a piece meets a bad record, the
 * section is walked again in one piece, which tells a bad file. The names of the types that
 * may be roots are looked at every NAME_BATCH rounds (fetched meanwhile), and the roots
 * kept after the walk, in id order: as one walk keeps them.
 */
static int scan_mapped(struct walk *w)
{
	struct chain ch[CHAINS] = { { .idx = NULL } };
	struct found f[CHAINS] = { { .v = NULL } };
	uint64_t len = w->types_end - w->types, at[CHAINS + 1] = { w->types };
	int n = len >= (uint64_t)CHAINS * SYNC_SEARCH ? CHAINS : 1, err = 0;

	for (int c = 1; c < n; c++) {
		uint64_t stop;

		at[c] = w->types + ((len / CHAINS * (uint64_t)c + 3) & ~3ull);
		for (stop = at[c] + SYNC_SEARCH; at[c] < stop && !record_starts(w, at[c]);
		     at[c] += 4)
			;
		if (at[c] >= stop)
			n = 1; /* no cut found: one piece */
	}
	at[n] = w->types_end;
	for (int c = 0; c < n && !err; c++)
		err = chain_init(&ch[c], at[c], at[c + 1]);
	if (!err)
		err = walk_pieces(w, ch, f);
	if (!err && !pieces_right(ch)) {
		/* a wrong cut, or a bad file: one piece tells which */
		free_pieces(ch, f);
		n = 1;
		err = chain_init(&ch[0], w->types, w->types_end);
		if (!err)
			err = walk_pieces(w, ch, f);
		if (!err && !pieces_right(ch))
			err = -EINVAL;
	}
	/* ids: from 1, piece after piece */
	w->n = 1;
	for (int c = 0; c < n && !err; c++) {
		if (MAX_TYPES - w->n <= ch[c].n) {
			err = -EINVAL;
			break;
		}
		w->base[c] = w->n;
		w->idx[c] = ch[c].idx;
		ch[c].idx = NULL;
		w->n += ch[c].n;
		w->nchains = c + 1;
	}
	for (int c = 0; c < n && !err; c++)
		for (size_t i = 0; i < f[c].n && !err; i++)
			err = note_root(w, w->base[c] + f[c].v[i].rec, f[c].v[i].root);
	free_pieces(ch, f);
	return err;
}

static int scan_types(struct walk *w)
{
	uint64_t off = w->types;
	uint32_t id = 1;
	int err = 0;

	w->missing = w->r->required;
	if (w->s.map)
		return scan_mapped(w);
	w->nchains = 1;
	w->base[0] = 1;
	w->idx[0] = new_index(w->types_end - w->types);
	if (!w->idx[0])
		return -ENOMEM;
	for (; off < w->types_end; id++) {
		struct btf_type t;
		uint64_t size;

		if (id == MAX_TYPES)
			return -EINVAL;
		if (!((id - 1) & ((1u << IDX_SHIFT) - 1)))
			w->idx[0][(id - 1) >> IDX_SHIFT] = (uint32_t)(off - w->types);
		err = header_at(w, off, WIN_SCAN, &t, &size);
		if (err)
			return err;
		off += size;
		if (!may_be_root(&t) || !t.name_off)
			continue;
		err = note_type(w, id, t.name_off, BTF_INFO_KIND(t.info));
		if (err)
			return err;
	}
	w->n = id;
	return 0;
}

/* Offset of type @id, from the nearest indexed one. */
static int type_off(struct walk *w, uint32_t id, uint64_t *off)
{
	int c = w->nchains - 1;
	uint32_t rel, i;
	uint64_t at;

	if (!id || id >= w->n)
		return -EINVAL;
	while (c > 0 && id < w->base[c])
		c--;
	rel = id - w->base[c];
	i = rel & ~((1u << IDX_SHIFT) - 1);
	at = w->types + w->idx[c][rel >> IDX_SHIFT];
	for (; i < rel; i++) {
		struct btf_type t;
		uint64_t size;
		int err = header_at(w, at, WIN_LOOKUP, &t, &size);

		if (err)
			return err;
		at += size;
	}
	*off = at;
	return 0;
}

/* Type @id whole: a pointer valid until the next type read, and its size. */
static const char *type_rec(struct walk *w, uint32_t id, uint64_t *size)
{
	struct btf_type t;
	uint64_t off;
	int err = type_off(w, id, &off);

	if (!err)
		err = header_at(w, off, WIN_LOOKUP, &t, size);
	if (err) {
		w->s.err = err;
		return NULL;
	}
	return src_at(&w->s, W_TYPES, off, *size, WIN_LOOKUP);
}

/*
 * Offsets (in the record) of the type ids a kept record refers to, and whether they are
 * embedded (followed) or pointed to. -EOPNOTSUPP for kinds never embedded in a struct.
 */
static int ref_offs(const struct btf_type *t, uint64_t size, size_t i, size_t *at)
{
	switch (BTF_INFO_KIND(t->info)) {
	case BTF_KIND_PTR:
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_TYPE_TAG:
		*at = offsetof(struct btf_type, type);
		return i < 1;
	case BTF_KIND_ARRAY:
		*at = sizeof(*t) + (i ? offsetof(struct btf_array, index_type) :
					offsetof(struct btf_array, type));
		return i < 2;
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		*at = sizeof(*t) + i * sizeof(struct btf_member) +
		      offsetof(struct btf_member, type);
		return *at + sizeof(uint32_t) <= size;
	case BTF_KIND_INT:
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64:
	case BTF_KIND_FLOAT:
	case BTF_KIND_FWD:
		return 0;
	default:
		return -EOPNOTSUPP; /* FUNC_PROTO, VAR, ...: never embedded in a struct */
	}
}

/* ---- pass 2: what the kept types embed, depth first; each kept record read once */

static uint64_t str_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	return h;
}

static void member_set_init(struct walk *w)
{
	const size_t mask = ARRAY_SIZE(w->mset) - 1;

	for (int i = 0; w->r->prune && i < w->r->nmembers; i++) {
		const char *m = w->r->member[i];
		size_t h = str_hash(m, strlen(m)) & mask;

		while (w->mset[h])
			h = (h + 1) & mask;
		w->mset[h] = (uint16_t)(i + 1);
	}
}

static bool member_wanted(const struct walk *w, const char *s, size_t len)
{
	const size_t mask = ARRAY_SIZE(w->mset) - 1;

	for (size_t h = str_hash(s, len) & mask; w->mset[h]; h = (h + 1) & mask) {
		const char *m = w->r->member[w->mset[h] - 1];

		if (!strncmp(m, s, len) && !m[len])
			return true;
	}
	return false;
}

/*
 * r->prune: drop from the struct or union @rec (a copy, @t its header) the members no
 * relocation can match: named, and not named like a field a relocation accesses. Offsets,
 * bitfield sizes and the type's size stay as they are. @size becomes the record's new size.
 */
static int prune_members(struct walk *w, char *rec, struct btf_type *t, uint64_t *size)
{
	uint32_t vlen = BTF_INFO_VLEN(t->info), kept = 0;
	struct btf_member m;

	for (uint32_t i = 0; i < vlen; i++) {
		memcpy(&m, rec + sizeof(*t) + i * sizeof(m), sizeof(m));
		if (m.name_off) {
			size_t len;
			const char *name = str_at(w, m.name_off, &len);

			if (!name)
				return src_err(&w->s);
			if (len && !member_wanted(w, name, len))
				continue;
		}
		memcpy(rec + sizeof(*t) + kept++ * sizeof(m), &m, sizeof(m));
	}
	t->info = (t->info & ~0xffffu) | kept;
	put_u32(rec + offsetof(struct btf_type, info), t->info);
	*size = sizeof(*t) + (uint64_t)kept * sizeof(m);
	return 0;
}

static int closure(struct walk *w)
{
	while (w->top) {
		uint32_t id = w->stack[--w->top], nid = new_id(w, id);
		struct btf_type t;
		uint64_t size;
		const char *rec = type_rec(w, id, &size);
		size_t at, i = 0;
		int more;

		if (!rec)
			return src_err(&w->s);
		if (w->alen + size > UINT32_MAX || grow(&w->arena, &w->acap, w->alen + size) ||
		    grow_u32(&w->rec_at, &w->rec_cap, (size_t)nid + 1))
			return -ENOMEM;
		memcpy(w->arena + w->alen, rec, size);
		rec = w->arena + w->alen;
		memcpy(&t, rec, sizeof(t));
		if (w->r->prune && (BTF_INFO_KIND(t.info) == BTF_KIND_STRUCT ||
				    BTF_INFO_KIND(t.info) == BTF_KIND_UNION)) {
			int err = prune_members(w, w->arena + w->alen, &t, &size);

			if (err)
				return err;
		}
		w->rec_at[nid] = (uint32_t)w->alen;
		w->alen += size;
		if (BTF_INFO_KIND(t.info) == BTF_KIND_PTR)
			continue; /* not followed */
		/* in record order (keep() leaves the arena alone) */
		while ((more = ref_offs(&t, size, i++, &at)) > 0) {
			uint32_t ref = get_u32(rec + at);
			int err;

			if (ref >= w->n)
				return -EINVAL;
			err = ref ? keep(w, ref) : 0;
			if (err)
				return err;
		}
		if (more < 0)
			return more;
	}
	return 0;
}

/* ---- pass 3: the subset */

/* The name at @off of the file in the subset's strings (first use, deduplicated). */
static int intern(struct walk *w, char *field)
{
	uint32_t off = get_u32(field);
	const char *s;
	size_t len, mask, i;

	if (!off)
		return 0; /* "" stays 0 */
	s = str_at(w, off, &len);
	if (!s)
		return src_err(&w->s);
	if (!len) {
		put_u32(field, 0); /* "" is at 0 */
		return 0;
	}
	if ((w->stab_n + 1) * 2 > w->stab_cap) {
		size_t cap = w->stab_cap ? w->stab_cap * 2 : 1024;
		uint32_t *tab = calloc(cap, sizeof(*tab));

		if (!tab)
			return -ENOMEM;
		for (size_t j = 0; j < w->stab_cap; j++) {
			const char *o;

			if (!w->stab[j])
				continue;
			o = w->sout + w->stab[j] - 1;
			for (i = str_hash(o, strlen(o)) & (cap - 1); tab[i];
			     i = (i + 1) & (cap - 1))
				;
			tab[i] = w->stab[j];
		}
		free(w->stab);
		w->stab = tab;
		w->stab_cap = cap;
	}
	mask = w->stab_cap - 1;
	for (i = str_hash(s, len) & mask; w->stab[i]; i = (i + 1) & mask) {
		const char *o = w->sout + w->stab[i] - 1;

		if (!strncmp(o, s, len) && !o[len]) {
			put_u32(field, w->stab[i] - 1);
			return 0;
		}
	}
	if (w->slen + len + 1 > UINT32_MAX || grow(&w->sout, &w->scap, w->slen + len + 1))
		return -ENOMEM;
	memcpy(w->sout + w->slen, s, len);
	w->sout[w->slen + len] = '\0';
	w->stab[i] = (uint32_t)w->slen + 1;
	w->stab_n++;
	put_u32(field, (uint32_t)w->slen);
	w->slen += len + 1;
	return 0;
}

static int emit(struct walk *w, struct ht_btf_subset *out)
{
	struct btf_header h = { .magic = BTF_MAGIC,
				.version = BTF_VERSION,
				.hdr_len = sizeof(struct btf_header) };
	int err = grow(&w->sout, &w->scap, 1);

	if (err)
		return err;
	w->sout[0] = '\0';
	w->slen = 1;
	for (size_t k = 1; k < w->norder; k++) {
		const char *rec = w->arena + w->rec_at[k];
		struct btf_type t;
		uint64_t size;
		char *copy;
		size_t at, i = 0, vlen, step = 0, first = 0;
		int more;

		memcpy(&t, rec, sizeof(t));
		size = (uint64_t)rec_size(&t); /* checked when read */
		if (w->tlen + size > UINT32_MAX || grow(&w->tout, &w->tcap, w->tlen + size))
			return -ENOMEM;
		copy = w->tout + w->tlen;
		memcpy(copy, rec, size);
		w->tlen += size;
		memcpy(&t, copy, sizeof(t));
		/* names, as btf_type_visit_str_offs() visits them: the type's, then members' */
		err = intern(w, copy + offsetof(struct btf_type, name_off));
		if (err)
			return err;
		vlen = BTF_INFO_VLEN(t.info);
		switch (BTF_INFO_KIND(t.info)) {
		case BTF_KIND_STRUCT:
		case BTF_KIND_UNION:
			step = sizeof(struct btf_member);
			first = offsetof(struct btf_member, name_off);
			break;
		case BTF_KIND_ENUM:
			step = sizeof(struct btf_enum);
			first = offsetof(struct btf_enum, name_off);
			break;
		case BTF_KIND_ENUM64:
			step = sizeof(struct btf_enum64);
			first = offsetof(struct btf_enum64, name_off);
			break;
		default:
			vlen = 0;
		}
		for (size_t m = 0; m < vlen; m++) {
			err = intern(w, copy + sizeof(t) + m * step + first);
			if (err)
				return err;
		}
		/* ids renumbered; a pointer to a type left out points to void */
		while ((more = ref_offs(&t, size, i++, &at)) > 0) {
			uint32_t ref = get_u32(copy + at);

			put_u32(copy + at, ref ? new_id(w, ref) : 0);
		}
		if (more < 0)
			return more;
	}
	h.type_len = (uint32_t)w->tlen;
	h.str_off = (uint32_t)w->tlen;
	h.str_len = (uint32_t)w->slen;
	out->len = (uint32_t)(sizeof(h) + w->tlen + w->slen);
	out->raw = malloc(out->len);
	if (!out->raw)
		return -ENOMEM;
	memcpy(out->raw, &h, sizeof(h));
	if (w->tlen) /* no type kept: no buffer either */
		memcpy((char *)out->raw + sizeof(h), w->tout, w->tlen);
	memcpy((char *)out->raw + sizeof(h) + w->tlen, w->sout, w->slen);
	out->kept = (uint32_t)(w->norder ? w->norder - 1 : 0);
	out->total = w->n - 1;
	return 0;
}

/* ---- module BTF: split on top of the file (ids and string offsets go on from its own) */

/* -ENOENT if the split BTF @buf names a required root the file lacks; 0 otherwise. */
static int module_names_root(struct walk *w, const char *buf, size_t len)
{
	struct btf_header h;
	uint64_t off, end, strs;

	if (len < sizeof(h))
		return 0;
	memcpy(&h, buf, sizeof(h));
	if (h.magic != BTF_MAGIC || h.hdr_len < sizeof(h) || h.hdr_len > len ||
	    (uint64_t)h.str_off + h.str_len > len - h.hdr_len ||
	    (uint64_t)h.type_off + h.type_len > h.str_off)
		return 0; /* libbpf would not parse it either */
	strs = h.hdr_len + (uint64_t)h.str_off;
	if (h.str_len && buf[strs + h.str_len - 1])
		return 0;
	end = h.hdr_len + (uint64_t)h.type_off + h.type_len;
	for (off = h.hdr_len + (uint64_t)h.type_off; off < end;) {
		struct btf_type t;
		const char *name = NULL;
		size_t name_len = 0;
		int64_t size;
		bool is_long;
		int root;

		if (end - off < sizeof(t))
			return 0;
		memcpy(&t, buf + off, sizeof(t));
		size = rec_size(&t);
		if (size < 0 || (uint64_t)size > end - off)
			return 0;
		off += (uint64_t)size;
		if (!may_be_root(&t))
			continue;
		if (t.name_off < w->str_len) {
			name = str_at(w, t.name_off, &name_len);
			if (!name)
				return src_err(&w->s);
		} else if (t.name_off - w->str_len < h.str_len) {
			name = buf + strs + (t.name_off - w->str_len);
			name_len = strlen(name);
		}
		root = name ? root_of(w, name, name_len, &is_long) : -1;
		if (root >= 0 && root < w->r->required && !w->found[root])
			return -ENOENT;
	}
	return 0;
}

static int modules_name_root(struct walk *w, const char *moddir)
{
	DIR *d = opendir(moddir);
	struct dirent *de;
	int err = 0;

	if (!d)
		return 0;
	while (!err && (de = readdir(d))) {
		struct stat st;
		char *buf;
		size_t got = 0;
		int fd;

		if (de->d_name[0] == '.' || !strcmp(de->d_name, "vmlinux"))
			continue;
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
		    st.st_size > MAX_MODULE_FILE || !(buf = malloc((size_t)st.st_size))) {
			close(fd);
			continue;
		}
		while (got < (size_t)st.st_size) {
			ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		close(fd);
		err = module_names_root(w, buf, got);
		free(buf);
	}
	closedir(d);
	return err;
}

/* ---- the walk */

/* Where the .BTF section of an ELF file (a vmlinux image, say) is, as libbpf would read it. */
static int elf_btf(struct src *s, uint64_t *base, uint64_t *size)
{
	const unsigned char native = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB :
										 ELFDATA2MSB;
	const char *p = src_at(s, W_TYPES, 0, sizeof(Elf64_Ehdr), WIN_LOOKUP);
	Elf64_Shdr strtab, sh;
	Elf64_Ehdr eh;

	if (!p)
		return -EPROTO;
	memcpy(&eh, p, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != native ||
	    eh.e_shentsize != sizeof(sh) || !eh.e_shnum || eh.e_shstrndx >= eh.e_shnum)
		return -EPROTO; /* 32-bit, foreign or odd: libbpf's business */
	p = src_at(s, W_TYPES, eh.e_shoff + (uint64_t)eh.e_shstrndx * sizeof(sh), sizeof(sh),
		   WIN_LOOKUP);
	if (!p)
		return -EINVAL;
	memcpy(&strtab, p, sizeof(strtab));
	for (uint64_t i = 0; i < eh.e_shnum; i++) {
		p = src_at(s, W_TYPES, eh.e_shoff + i * sizeof(sh), sizeof(sh), WIN_LOOKUP);
		if (!p)
			return -EINVAL;
		memcpy(&sh, p, sizeof(sh));
		if (sh.sh_name >= strtab.sh_size || strtab.sh_size - sh.sh_name < sizeof(".BTF") ||
		    sh.sh_type == SHT_NOBITS)
			continue;
		p = src_at(s, W_STRS, strtab.sh_offset + sh.sh_name, sizeof(".BTF"), WIN_LOOKUP);
		if (!p)
			return -EINVAL;
		if (memcmp(p, ".BTF", sizeof(".BTF")))
			continue;
		if (sh.sh_offset > s->size || sh.sh_size > s->size - sh.sh_offset)
			return -EINVAL;
		*base = sh.sh_offset;
		*size = sh.sh_size;
		return 0;
	}
	return -EPROTO; /* no .BTF: libbpf says so */
}

static int open_src(struct walk *w, int fd, unsigned int flags)
{
	uint64_t base = 0, size;
	struct btf_header h;
	struct statfs fs;
	struct stat st;
	const char *p;
	int err;

	w->s.fd = fd;
	if (fstat(fd, &st))
		return -EIO; /* a bad fd: the caller opened it */
	if (!S_ISREG(st.st_mode))
		return -EPROTO; /* a pipe, say: libbpf reads it */
	if (st.st_size < (off_t)sizeof(h))
		return -EINVAL;
	w->s.size = (uint64_t)st.st_size;
	/* mapped where the pages are the kernel's, not page cache counted as ours */
	if (!(flags & HT_BTF_READ) &&
	    ((flags & HT_BTF_MAP) || (!fstatfs(fd, &fs) && fs.f_type == SYSFS_MAGIC))) {
		void *m = mmap(NULL, w->s.size, PROT_READ, MAP_PRIVATE, fd, 0);

		if (m != MAP_FAILED)
			w->s.map = m;
	}
	size = w->s.size;
	p = src_at(&w->s, W_TYPES, 0, SELFMAG, WIN_SCAN);
	if (p && !memcmp(p, ELFMAG, SELFMAG)) {
		err = elf_btf(&w->s, &base, &size);
		if (err)
			return err;
	}
	p = size >= sizeof(h) ? src_at(&w->s, W_TYPES, base, sizeof(h), WIN_SCAN) : NULL;
	if (!p)
		return src_err(&w->s);
	memcpy(&h, p, sizeof(h));
	if (h.magic != BTF_MAGIC)
		return -EPROTO; /* the other byte order, say: libbpf's business */
	if (h.version != BTF_VERSION || h.hdr_len < sizeof(h) || h.hdr_len > size ||
	    (uint64_t)h.str_off + h.str_len > size - h.hdr_len ||
	    (uint64_t)h.type_off + h.type_len > h.str_off || h.type_off % 4 || !h.str_len)
		return -EINVAL;
	w->types = base + h.hdr_len + h.type_off;
	w->types_end = w->types + h.type_len;
	w->strs = base + h.hdr_len + h.str_off;
	w->str_len = h.str_len;
	/* libbpf: "" first, NUL last (every name ends inside the section) */
	p = src_at(&w->s, W_STRS, w->strs, 1, 1);
	if (!p || *p)
		return -EINVAL;
	p = src_at(&w->s, W_STRS, w->strs + w->str_len - 1, 1, 1);
	if (!p || *p)
		return -EINVAL;
	return 0;
}

int ht_btf_subset(int fd, const struct ht_btf_roots *r, const char *moddir, unsigned int flags,
		  struct ht_btf_subset *out)
{
	struct walk w = { .r = r };
	int err;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < r->n; i++)
		add_pair(&w, r->name[i], r->len[i]);
	add_pair(&w, "long int", 8);
	member_set_init(&w);
	err = open_src(&w, fd, flags);
	if (!err && !w.s.map)
		err = scan_strings(&w);
	if (!err)
		err = scan_types(&w);
	if (!err && w.missing && moddir)
		err = modules_name_root(&w, moddir);
	if (!err)
		err = closure(&w);
	if (!err)
		err = emit(&w, out);
	out->mapped = w.s.map != NULL;
	out->pieces = w.nchains;
	if (w.s.map)
		munmap((void *)w.s.map, w.s.size);
	for (int i = 0; i < W_N; i++)
		free(w.s.w[i].buf);
	for (int c = 0; c < CHAINS; c++)
		free(w.idx[c]);
	free(w.starts);
	free(w.hits);
	free(w.order);
	free(w.stack);
	free(w.map_key);
	free(w.map_val);
	free(w.arena);
	free(w.rec_at);
	free(w.tout);
	free(w.sout);
	free(w.stab);
	return err;
}
