// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: the raw BTF walker behind the kernel BTF subset (libcommon/btfwalk.c), which
 * also reads the --btf FILE users give. The input is the BTF file (raw, or an ELF file with a
 * .BTF section), and once more a module's split BTF on top of it. Besides not crashing:
 *  - read through the window and mapped, the walk gives the same answer, byte for byte,
 *    also with the structs pruned to a few member names;
 *  - a subset parses with libbpf;
 *  - where libbpf parses the input, the subset is the one built from libbpf's parse the way
 *    btfmin.c used to (btf__add_type() and renumbering): the walker is an exact shortcut.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <elf.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/btf.h>

#include "btfwalk.h"
#include "huatuo.h"

static const char *const names[] = { "a", "b", "c", "t", "e", "e64", "mid", "ab", "f", "m_only" };
static const char *const members[] = { "x", "y", "w", "inner", "keep", "v" };

static int silent(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

static int root_of(const struct ht_btf_roots *r, const char *name)
{
	size_t e = ht_btf_essential_len(name);

	for (int i = 0; i < r->n; i++)
		if (r->len[i] == e && !strncmp(r->name[i], name, e))
			return i;
	return -1;
}

/* The ids a type refers to (as btfmin.c's ref_ids did); -1 for kinds never embedded. */
static int refs(const struct btf_type *t, const __u32 **ids, int max)
{
	int n = 0;

	switch (btf_kind(t)) {
	case BTF_KIND_PTR:
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_TYPE_TAG:
		ids[n++] = &t->type;
		return n;
	case BTF_KIND_ARRAY:
		ids[n++] = &btf_array(t)->type;
		ids[n++] = &btf_array(t)->index_type;
		return n;
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		for (int i = 0; i < btf_vlen(t) && n < max; i++)
			ids[n++] = &btf_members(t)[i].type;
		return btf_vlen(t) > max ? -1 : n;
	case BTF_KIND_INT:
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64:
	case BTF_KIND_FLOAT:
	case BTF_KIND_FWD:
		return 0;
	default:
		return -1;
	}
}

/* Every name a copy would intern resolves (btf__add_type() would crash otherwise). */
static bool names_ok(const struct btf *btf, const struct btf_type *t)
{
	int vlen = btf_vlen(t);

	if (t->name_off && !btf__str_by_offset(btf, t->name_off))
		return false;
	for (int i = 0; i < vlen; i++) {
		__u32 off = btf_is_composite(t) ? btf_members(t)[i].name_off :
			    btf_is_enum(t)	? btf_enum(t)[i].name_off :
			    btf_is_enum64(t)	? btf_enum64(t)[i].name_off :
						  0;

		if (off && !btf__str_by_offset(btf, off))
			return false;
	}
	return true;
}

/* The subset built from libbpf's parse; 0, or -1 where btfmin.c gave up or libbpf cannot. */
static int oracle(const void *data, size_t size, const struct ht_btf_roots *r, void **raw,
		  __u32 *len)
{
	const __u32 *ids[1024];
	struct btf *src = btf__new(data, (__u32)size), *out = NULL;
	__u32 n, next = 1, top = 0, *map = NULL, *order = NULL, *stack = NULL;
	int err = -1;

	if (!src)
		return -1;
	n = btf__type_cnt(src);
	map = calloc(n, sizeof(*map));
	order = calloc(n, sizeof(*order));
	stack = calloc(n, sizeof(*stack));
	if (!map || !order || !stack)
		goto out;
#define MARK(id)                    \
	do {                        \
		map[id] = next;     \
		order[next++] = id; \
		stack[top++] = id;  \
	} while (0)
	for (__u32 id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(src, id);
		const char *name = btf__name_by_offset(src, t->name_off);

		if (!name || !*name || btf_is_func(t) || btf_is_func_proto(t) || btf_is_var(t) ||
		    btf_is_datasec(t) || btf_is_decl_tag(t))
			continue; /* never a relocation's root (libbpf matches kinds) */
		if ((btf_is_int(t) && !strcmp(name, "long int")) || root_of(r, name) >= 0)
			MARK(id);
	}
	while (top) {
		const struct btf_type *t = btf__type_by_id(src, stack[--top]);
		int nref = refs(t, ids, 1024);

		if (nref < 0)
			goto out;
		if (btf_is_ptr(t))
			continue;
		for (int i = 0; i < nref; i++) {
			if (*ids[i] >= n)
				goto out;
			if (*ids[i] && !map[*ids[i]])
				MARK(*ids[i]);
		}
	}
#undef MARK
	out = btf__new_empty();
	if (!out)
		goto out;
	for (__u32 k = 1; k < next; k++) {
		const struct btf_type *t = btf__type_by_id(src, order[k]);
		struct btf_type *copy;
		int id, nref;

		if (!names_ok(src, t))
			goto out;
		id = btf__add_type(out, src, t);
		if (id < 0)
			goto out;
		copy = (struct btf_type *)btf__type_by_id(out, (__u32)id);
		nref = refs(copy, ids, 1024);
		for (int i = 0; i < nref; i++)
			*(__u32 *)ids[i] = *ids[i] < n && *ids[i] ? map[*ids[i]] : 0;
	}
	{
		const void *p = btf__raw_data(out, len);

		*raw = p ? malloc(*len) : NULL;
		if (*raw) {
			memcpy(*raw, p, *len);
			err = 0;
		}
	}
out:
	btf__free(out);
	btf__free(src);
	free(map);
	free(order);
	free(stack);
	return err;
}

static int walk(int fd, const struct ht_btf_roots *r, const char *moddir, unsigned int flags,
		struct ht_btf_subset *out)
{
	int err = ht_btf_subset(fd, r, moddir, flags, out);

	if (!err) {
		struct btf *check = btf__new(out->raw, out->len);

		if (!check || btf__type_cnt(check) != out->kept + 1 || out->kept > out->total)
			abort(); /* a subset libbpf cannot read, or that miscounts */
		btf__free(check);
	}
	return err;
}

static void same(int err1, const struct ht_btf_subset *s1, int err2, const struct ht_btf_subset *s2)
{
	if (err1 != err2 || (!err1 && (s1->len != s2->len || memcmp(s1->raw, s2->raw, s1->len))))
		abort(); /* the read and the mapped walk disagree */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char dir[] = "/tmp/rtest_fuzz_btfwalk.XXXXXX", mod[sizeof(dir) + 4];
	struct ht_btf_roots r = { .n = 0 };
	struct ht_btf_subset rd, mp;
	int err_rd, err_mp, mfd;
	void *want = NULL;
	__u32 want_len = 0;
	struct btf_header h;
	const void *btf;
	size_t btf_len;

	if (fd < 0) {
		libbpf_set_print(silent);
		fd = memfd_create("fuzz-btf", MFD_CLOEXEC);
		if (fd < 0 || !mkdtemp(dir))
			abort();
		snprintf(mod, sizeof(mod), "%s/m1", dir);
	}
	if (ftruncate(fd, 0) || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		ht_btf_add_root(&r, names[i]);
	r.required = r.n;

	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++)
		ht_btf_add_member(&r, members[i]);
	r.prune = true;
	err_rd = walk(fd, &r, NULL, HT_BTF_READ, &rd);
	err_mp = walk(fd, &r, NULL, HT_BTF_MAP, &mp);
	same(err_rd, &rd, err_mp, &mp);
	free(rd.raw);
	free(mp.raw);
	r.prune = false;

	err_rd = walk(fd, &r, NULL, HT_BTF_READ, &rd);
	err_mp = walk(fd, &r, NULL, HT_BTF_MAP, &mp);
	same(err_rd, &rd, err_mp, &mp);
	/* an ELF file: its .BTF section is the BTF (little-endian here, as the walker wants) */
	btf = data;
	btf_len = size;
	if (size > EI_DATA && !memcmp(data, ELFMAG, SELFMAG)) {
		btf = data[EI_DATA] == ELFDATA2LSB ? ht_elf_section(data, size, ".BTF", &btf_len) :
						     NULL;
		if (!btf)
			btf_len = 0;
	}
	/* the walker is stricter than libbpf 1.1 only on the header's version and length */
	if (btf_len >= sizeof(h)) {
		memcpy(&h, btf, sizeof(h));
		/* types at an offset not 4-aligned: libbpf 1.1 reads them misaligned (UB) */
		if (h.magic == BTF_MAGIC && h.version == BTF_VERSION && h.hdr_len >= sizeof(h) &&
		    !((h.hdr_len + h.type_off) % 4) &&
		    !oracle(btf, btf_len, &r, &want, &want_len) &&
		    (err_rd || rd.len != want_len || memcmp(rd.raw, want, want_len)))
			abort(); /* not what the full parse gives */
	}
	free(want);
	free(rd.raw);
	free(mp.raw);

	/* the same bytes as a module's split BTF: names of roots the file lacks */
	mfd = open(mod, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (mfd < 0 || (size && write(mfd, data, size) != (ssize_t)size) || close(mfd))
		abort();
	err_rd = walk(fd, &r, dir, HT_BTF_READ, &rd);
	err_mp = walk(fd, &r, dir, HT_BTF_MAP, &mp);
	same(err_rd, &rd, err_mp, &mp);
	free(rd.raw);
	free(mp.raw);
	return 0;
}
