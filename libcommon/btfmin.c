// SPDX-License-Identifier: GPL-2.0
/*
 * A small kernel BTF for CO-RE, built once per kernel and BPF object and cached.
 *
 * libbpf 1.1 reads all of /sys/kernel/btf/vmlinux (5-6 MB, ~130k types) to relocate a few
 * struct fields, scans all of it once per relocated type, and holds two copies of it while
 * loading: most of a tool's start time and peak RSS. One object's relocations only look at
 * a handful of types. From kernel BTF we keep every type named like a relocation's root
 * (struct task_struct, enum skb_drop_reason, ...) with what it embeds by value (members,
 * arrays, typedefs, modifiers). Pointers to types outside that set become pointers to void:
 * one relocation never follows a pointer (BPF_CORE_READ(a, b, c) relocates each hop on its
 * own root type) and any pointer member matches a pointer field (bpf_core_fields_are_compat).
 * The result, a few KB, is passed to libbpf as btf_custom_path.
 *
 * Whenever the answer could differ from full kernel BTF, this returns NULL and libbpf uses
 * kernel BTF as before: relocation kinds that follow pointers or name kernel type ids
 * (TYPE_ID_TARGET, TYPE_MATCHES, type relocations on pointers/arrays/functions), and root
 * types that vmlinux BTF does not have (they may live in a module's BTF, which libbpf only
 * searches without btf_custom_path).
 *
 * Cache: $HUATUO_BTF_CACHE (default /var/cache/huatuo-tools; "off" disables), one file per
 * (kernel release + version + BTF size, BPF object, kept types), reached as safedir.c says
 * (no planted link followed); files not owned by us or writable by others are ignored.
 * Without a usable directory the subset goes to a memfd.
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/btf.h>

#include "huatuo.h"

#define BTFMIN_FORMAT 1 /* bump when the subset rules change: old cache files are ignored */
#define BTFMIN_MAX_FILE (16u << 20)
#define MAX_ROOTS 256
#define VMLINUX_BTF "/sys/kernel/btf/vmlinux"

struct roots {
	const char *name[MAX_ROOTS]; /* essential names (no ___flavour suffix), not owned */
	size_t len[MAX_ROOTS];
	int n;
	int required; /* the first @required must exist in vmlinux BTF (relocation roots) */
};

static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static uint32_t get_u32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Section @name of an in-memory ELF64 object, bounds-checked; NULL if absent or malformed. */
const void *ht_elf_section(const void *elf, size_t size, const char *name, size_t *len)
{
	const char *base = elf;
	Elf64_Ehdr eh;
	Elf64_Shdr strtab, sh;

	if (size < sizeof(eh))
		return NULL;
	memcpy(&eh, base, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shoff > size ||
	    eh.e_shnum > (size - eh.e_shoff) / sizeof(Elf64_Shdr) || eh.e_shstrndx >= eh.e_shnum)
		return NULL;
	memcpy(&strtab, base + eh.e_shoff + (size_t)eh.e_shstrndx * sizeof(sh), sizeof(strtab));
	if (strtab.sh_offset > size || strtab.sh_size > size - strtab.sh_offset)
		return NULL;
	for (size_t i = 0; i < eh.e_shnum; i++) {
		size_t room;

		memcpy(&sh, base + eh.e_shoff + i * sizeof(sh), sizeof(sh));
		if (sh.sh_name >= strtab.sh_size || sh.sh_type == SHT_NOBITS)
			continue;
		room = strtab.sh_size - sh.sh_name;
		if (strnlen(base + strtab.sh_offset + sh.sh_name, room) == room ||
		    strcmp(base + strtab.sh_offset + sh.sh_name, name))
			continue;
		if (sh.sh_offset > size || sh.sh_size > size - sh.sh_offset)
			return NULL;
		*len = sh.sh_size;
		return base + sh.sh_offset;
	}
	return NULL;
}

/* libbpf's bpf_core_essential_name_len(): "task_struct___old" -> 11 */
static size_t essential_len(const char *name)
{
	size_t n = strlen(name);

	for (size_t i = n > 5 ? n - 5 : 0; i > 0; i--)
		if (name[i] == '_' && name[i + 1] == '_' && name[i + 2] == '_')
			return i;
	return n;
}

static int add_root(struct roots *r, const char *name)
{
	size_t len = essential_len(name);

	if (!len)
		return -EINVAL; /* libbpf cannot relocate anonymous types either */
	for (int i = 0; i < r->n; i++)
		if (r->len[i] == len && !strncmp(r->name[i], name, len))
			return 0;
	if (r->n == MAX_ROOTS)
		return -E2BIG;
	r->name[r->n] = name;
	r->len[r->n++] = len;
	return 0;
}

static const struct btf_type *skip_typedefs(const struct btf *btf, uint32_t id)
{
	const struct btf_type *t = btf__type_by_id(btf, id);

	for (int depth = 0; t && depth < 32; depth++) {
		switch (btf_kind(t)) {
		case BTF_KIND_TYPEDEF:
		case BTF_KIND_VOLATILE:
		case BTF_KIND_CONST:
		case BTF_KIND_RESTRICT:
		case BTF_KIND_TYPE_TAG:
			t = btf__type_by_id(btf, t->type);
			continue;
		default:
			return t;
		}
	}
	return NULL;
}

/*
 * Root types of the object's CO-RE relocations (.BTF.ext core_relo records). Returns 0, or
 * -EOPNOTSUPP with @why set when a relocation needs more than the subset keeps.
 */
static int core_roots(const void *ext, size_t ext_len, const struct btf *local, struct roots *r,
		      const char **why)
{
	const char *p = ext;
	uint32_t hdr_len, off, len, rec_size;
	size_t pos, end;

	*why = "malformed .BTF.ext";
	if (ext_len < 32 || (get_u32(p) & 0xffff) != 0xeB9F)
		return -EINVAL;
	hdr_len = get_u32(p + 4);
	if (hdr_len < 32 || hdr_len > ext_len)
		return hdr_len < 32 ? 0 : -EINVAL; /* no core_relo part: nothing to relocate */
	off = get_u32(p + 24);
	len = get_u32(p + 28);
	if (!len)
		return 0;
	if (off > ext_len - hdr_len || len > ext_len - hdr_len - off || len < 4)
		return -EINVAL;
	pos = hdr_len + off;
	end = pos + len;
	rec_size = get_u32(p + pos);
	if (rec_size < sizeof(struct bpf_core_relo))
		return -EINVAL;
	for (pos += 4; pos + 8 <= end;) {
		uint32_t nrec = get_u32(p + pos + 4);

		pos += 8;
		if (nrec > (end - pos) / rec_size)
			return -EINVAL;
		for (uint32_t i = 0; i < nrec; i++, pos += rec_size) {
			struct bpf_core_relo rec;
			const struct btf_type *t, *real;
			const char *name;

			memcpy(&rec, p + pos, sizeof(rec));
			if (rec.kind == BPF_CORE_TYPE_ID_LOCAL)
				continue; /* answered from the object's own BTF */
			if (rec.kind == BPF_CORE_TYPE_ID_TARGET ||
			    rec.kind > BPF_CORE_ENUMVAL_VALUE) {
				*why = "a relocation names kernel type ids or matches types deeply";
				return -EOPNOTSUPP;
			}
			t = btf__type_by_id(local, rec.type_id);
			name = t ? btf__name_by_offset(local, t->name_off) : NULL;
			if (!name || !*name)
				return -EINVAL;
			real = skip_typedefs(local, rec.type_id);
			if ((rec.kind == BPF_CORE_TYPE_EXISTS || rec.kind == BPF_CORE_TYPE_SIZE) &&
			    (!real || btf_is_ptr(real) || btf_is_array(real) ||
			     btf_is_func_proto(real))) {
				*why = "a type relocation on a pointer, array or function type";
				return -EOPNOTSUPP;
			}
			if (add_root(r, name)) {
				*why = "too many relocated types";
				return -EOPNOTSUPP;
			}
		}
	}
	*why = NULL;
	return 0;
}

/* The ids a type refers to, for both marking and remapping. */
static int ref_ids(struct btf_type *t, uint32_t **ids, int max)
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
		break;
	case BTF_KIND_ARRAY:
		ids[n++] = &btf_array(t)->type;
		ids[n++] = &btf_array(t)->index_type;
		break;
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		for (int i = 0; i < btf_vlen(t) && n < max; i++)
			ids[n++] = &btf_members(t)[i].type;
		if (btf_vlen(t) > max)
			return -E2BIG;
		break;
	case BTF_KIND_INT:
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64:
	case BTF_KIND_FLOAT:
	case BTF_KIND_FWD:
		break;
	default:
		return -EOPNOTSUPP; /* FUNC_PROTO, VAR, ...: never embedded in a struct */
	}
	return n;
}

/*
 * A relocated type vmlinux BTF lacks is absent on this kernel (a field of an older layout,
 * a tracepoint not built), unless a module has it: libbpf looks there only when vmlinux has
 * no candidate, and not at all with btf_custom_path. -ENOENT if some module BTF has one.
 */
static int in_module_btf(const struct btf *vmlinux, const struct roots *r, const bool *found)
{
	uint32_t base_cnt = btf__type_cnt(vmlinux);
	struct dirent *de;
	DIR *d = opendir("/sys/kernel/btf");
	int err = 0;

	if (!d)
		return 0;
	while (!err && (de = readdir(d))) {
		char path[300];
		struct btf *mod;

		if (de->d_name[0] == '.' || !strcmp(de->d_name, "vmlinux"))
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/btf/%s", de->d_name);
		mod = btf__parse_split(path, (struct btf *)vmlinux);
		if (!mod)
			continue;
		for (uint32_t id = base_cnt; id < btf__type_cnt(mod) && !err; id++) {
			const char *name =
				btf__name_by_offset(mod, btf__type_by_id(mod, id)->name_off);
			size_t len = name ? essential_len(name) : 0;

			for (int i = 0; i < r->required && len; i++)
				if (!found[i] && r->len[i] == len &&
				    !strncmp(r->name[i], name, len))
					err = -ENOENT;
		}
		btf__free(mod);
	}
	closedir(d);
	return err;
}

#define MAX_REFS 1024

/*
 * The subset: roots (and "long" for libbpf's pointer-size guess) plus their by-value closure,
 * in kernel order. Returns a new BTF or NULL with errno.
 */
static struct btf *build_subset(const struct btf *vmlinux, const struct roots *r)
{
	uint32_t n = btf__type_cnt(vmlinux), next = 1, *map, *order, *stack, top = 0;
	uint32_t **refs = malloc(MAX_REFS * sizeof(*refs));
	int missing = r->required;
	bool found[MAX_ROOTS] = { false };
	struct btf *out = NULL;
	int err = 0;

	map = calloc(n, sizeof(*map));
	order = malloc(n * sizeof(*order));
	stack = malloc(n * sizeof(*stack));
	if (!map || !order || !stack || !refs) {
		err = -ENOMEM;
		goto out;
	}
/* each type is numbered and pushed once, when first seen */
#define MARK(id)                    \
	do {                        \
		map[id] = next;     \
		order[next++] = id; \
		stack[top++] = id;  \
	} while (0)
	for (uint32_t id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(vmlinux, id);
		const char *name = btf__name_by_offset(vmlinux, t->name_off);
		bool keep = false;
		size_t len;

		if (!name || !*name)
			continue;
		if (btf_is_int(t) && !strcmp(name, "long int"))
			keep = true;
		len = essential_len(name);
		for (int i = 0; i < r->n; i++) {
			if (r->len[i] == len && !strncmp(r->name[i], name, len)) {
				keep = true;
				missing -= i < r->required && !found[i];
				found[i] = true;
			}
		}
		if (keep)
			MARK(id);
	}
	if (missing && (err = in_module_btf(vmlinux, r, found)))
		goto out;
	/* by-value references, depth first; pointers are not followed */
	while (top) {
		struct btf_type *t = (struct btf_type *)btf__type_by_id(vmlinux, stack[--top]);
		int nref = ref_ids(t, refs, MAX_REFS);

		if (nref < 0) {
			err = nref;
			goto out;
		}
		if (btf_is_ptr(t))
			continue;
		for (int i = 0; i < nref; i++)
			if (*refs[i] && !map[*refs[i]])
				MARK(*refs[i]);
	}
#undef MARK
	/* copy in id order, renumbering references; pointers outside the set become void * */
	out = btf__new_empty();
	if (!out) {
		err = -errno;
		goto out;
	}
	for (uint32_t want = 1; want < next; want++) {
		struct btf_type *t;
		int new_id, nref;

		new_id = btf__add_type(out, vmlinux, btf__type_by_id(vmlinux, order[want]));
		if (new_id < 0) {
			err = new_id;
			goto out;
		}
		t = (struct btf_type *)btf__type_by_id(out, (uint32_t)new_id);
		nref = ref_ids(t, refs, MAX_REFS);
		for (int i = 0; i < nref; i++)
			*refs[i] = *refs[i] ? map[*refs[i]] : 0;
	}
out:
	free(map);
	free(order);
	free(stack);
	free(refs);
	if (err) {
		btf__free(out);
		errno = -err;
		return NULL;
	}
	return out;
}

/* The object's own BTF, with the root types of its relocations in @r; NULL and @why if not. */
static struct btf *object_roots(const void *elf, size_t elf_len, struct roots *r, const char **why)
{
	const void *btf_sec, *ext_sec;
	size_t btf_len = 0, ext_len = 0;
	struct btf *local;

	btf_sec = ht_elf_section(elf, elf_len, ".BTF", &btf_len);
	ext_sec = ht_elf_section(elf, elf_len, ".BTF.ext", &ext_len);
	if (!btf_sec || !ext_sec || btf_len > UINT32_MAX) {
		*why = "the BPF object has no BTF";
		return NULL;
	}
	local = btf__new(btf_sec, (uint32_t)btf_len);
	if (!local) {
		*why = "cannot parse the object's BTF";
		return NULL;
	}
	if (core_roots(ext_sec, ext_len, local, r, why)) {
		btf__free(local);
		return NULL;
	}
	return local;
}

int ht_btf_core_root_count(const void *elf, size_t elf_len)
{
	struct roots r = { .n = 0 };
	const char *why = NULL;
	struct btf *local = object_roots(elf, elf_len, &r, &why);

	if (!local)
		return -EINVAL;
	btf__free(local);
	return r.n;
}

/* The cache directory, or NULL when caching is off. */
static const char *cache_dir(void)
{
	const char *dir = getenv("HUATUO_BTF_CACHE");

	if (!dir)
		return "/var/cache/huatuo-tools";
	if (!*dir || !strcmp(dir, "off") || !strcmp(dir, "0"))
		return NULL;
	return dir;
}

/* Ours and not writable by others: a file anyone could swap would steer our relocations. */
static bool trusted(const struct stat *st)
{
	return st->st_uid == geteuid() && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

/* A cached subset is used only if it is ours, small and parses (safedir.c's rules for @dir). */
static bool cache_valid(const char *dir, const char *name)
{
	struct ht_dir d;
	struct stat st;
	struct btf *btf;
	void *buf;
	bool ok = false;
	int fd;

	if (ht_dir_open(&d, dir, false))
		return false;
	fd = ht_dir_open_file(&d, name, O_RDONLY);
	ht_dir_close(&d);
	if (fd < 0)
		return false;
	if (!fstat(fd, &st) && trusted(&st) && st.st_size > 0 && st.st_size < BTFMIN_MAX_FILE &&
	    (buf = malloc((size_t)st.st_size))) {
		if (read(fd, buf, (size_t)st.st_size) == st.st_size &&
		    (btf = btf__new(buf, (uint32_t)st.st_size))) {
			ok = btf__type_cnt(btf) > 1;
			btf__free(btf);
		}
		free(buf);
	}
	close(fd);
	return ok;
}

/* Write @data as @dir/@name atomically (a reader sees the old file or the whole new one). */
static int cache_write(const char *dir, const char *name, const void *data, size_t len)
{
	struct ht_dir d;
	int err = ht_dir_open(&d, dir, true);

	if (!err)
		err = ht_dir_replace(&d, name, data, len, 0644);
	ht_dir_close(&d);
	return err;
}

/* No cache directory: the subset lives in a memfd for this run only. */
static bool memfd_path(const void *data, size_t len, char *path, size_t path_len)
{
	int fd = memfd_create("huatuo-btf", MFD_CLOEXEC);

	if (fd < 0)
		return false;
	if (write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return false;
	}
	snprintf(path, path_len, "/proc/self/fd/%d", fd); /* kept open until exit */
	return true;
}

/* Which modules have BTF (loading one may bring a type the subset left out as absent). */
static uint64_t module_btf_key(uint64_t h)
{
	uint64_t sum = 0;
	struct dirent *de;
	DIR *d = opendir("/sys/kernel/btf");

	if (!d)
		return h;
	while ((de = readdir(d)))
		sum += fnv(0xcbf29ce484222325ULL, de->d_name, strlen(de->d_name)); /* any order */
	closedir(d);
	return fnv(h, &sum, sizeof(sum));
}

const char *ht_btf_min(struct ht_env *env, const void *elf, size_t elf_len)
{
	static char path[PATH_MAX]; /* one BPF object per tool, and libbpf reads it at load */
	const char *dir = cache_dir(), *why = NULL;
	bool have = false;
	struct roots roots = { .n = 0 };
	struct btf *local = NULL, *vmlinux = NULL, *subset = NULL;
	char file[PATH_MAX], name[128];
	struct utsname u;
	struct stat st;
	const void *raw;
	uint32_t raw_len;
	uint64_t h = 0xcbf29ce484222325ULL;
	int format = BTFMIN_FORMAT;

	if (env->btf_path || !elf)
		return NULL; /* the user's BTF (--btf) is used as given */
	if (stat(VMLINUX_BTF, &st) || uname(&u))
		return NULL;
	/* key: this kernel's BTF (release, build, size), the object, kept types, our rules */
	h = fnv(h, u.release, strlen(u.release) + 1);
	h = fnv(h, u.version, strlen(u.version) + 1);
	h = fnv(h, &st.st_size, sizeof(st.st_size));
	h = fnv(h, &format, sizeof(format));
	h = fnv(h, elf, elf_len);
	for (const char *const *k = env->btf_keep; k && *k; k++)
		h = fnv(h, *k, strlen(*k) + 1);
	h = module_btf_key(h);
	snprintf(name, sizeof(name), "%s-%016llx.btf", env->tool, (unsigned long long)h);
	if (dir && (size_t)snprintf(file, sizeof(file), "%s/%s", dir, name) < sizeof(file) &&
	    cache_valid(dir, name)) {
		ht_info(env, "kernel BTF for CO-RE: %s (cached subset)", file);
		snprintf(path, sizeof(path), "%s", file);
		return path;
	}

	local = object_roots(elf, elf_len, &roots, &why);
	if (!local)
		goto full;
	roots.required = roots.n;
	for (const char *const *k = env->btf_keep; k && *k && roots.n < MAX_ROOTS; k++)
		add_root(&roots, *k);
	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux) {
		why = "cannot read " VMLINUX_BTF;
		goto full;
	}
	subset = build_subset(vmlinux, &roots);
	if (!subset) {
		why = errno == ENOENT ? "a relocated type is in a module's BTF" :
					"cannot build the subset";
		goto full;
	}
	raw = btf__raw_data(subset, &raw_len);
	if (!raw) {
		why = "cannot serialize the subset";
		goto full;
	}
	if (dir && !cache_write(dir, name, raw, raw_len)) {
		have = true;
		snprintf(path, sizeof(path), "%s", file);
		ht_info(env, "kernel BTF for CO-RE: %s (new subset: %u of %u types)", file,
			btf__type_cnt(subset) - 1, btf__type_cnt(vmlinux) - 1);
	} else {
		have = memfd_path(raw, raw_len, path, sizeof(path));
		if (have)
			ht_info(env, "kernel BTF for CO-RE: subset of %u types in memory (%s)",
				btf__type_cnt(subset) - 1,
				dir ? "cache directory not usable" : "HUATUO_BTF_CACHE=off");
		else
			why = "cannot keep the subset in a memfd";
	}
full:
	if (why)
		ht_info(env, "kernel BTF for CO-RE: all of " VMLINUX_BTF " (%s)", why);
	btf__free(subset);
	btf__free(vmlinux);
	btf__free(local);
	return have ? path : NULL;
}
