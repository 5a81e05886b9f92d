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
 * Of a struct or union we keep only the members named like a field some relocation accesses
 * and the anonymous ones (libbpf matches fields by name, looking inside anonymous members,
 * and computes a relocation from the matched member's offset, type and size alone): of
 * task_struct's ~250 members, the few read, and nothing that only the others embed.
 * The result, a few KB, is passed to libbpf as btf_custom_path. It is made by one walk over
 * the raw file that never loads the rest (btfwalk.c): a first start costs about what a
 * cached one does. A --btf FILE ($HUATUO_BTF: raw BTF, or an ELF file's .BTF section) gets
 * the same treatment.
 *
 * Whenever the answer could differ from full kernel BTF, this returns NULL and libbpf uses
 * kernel BTF (or the --btf file) as before: relocation kinds that follow pointers or name
 * kernel type ids (TYPE_ID_TARGET, TYPE_MATCHES, type relocations on pointers/arrays/
 * functions), and root types that vmlinux BTF does not have but a module's BTF does (libbpf
 * only searches modules without btf_custom_path). HUATUO_BTF_FULL=1 (a test knob) does the
 * same always: the reference tests/e2e/btfmin.bats compares with.
 *
 * Cache: $HUATUO_BTF_CACHE (default /var/cache/huatuo-tools; "off" disables), one file per
 * (kernel release + version + BTF size, or the --btf file's path and identity, BPF object,
 * kept types), reached as safedir.c says (no planted link followed); files not owned by us
 * or writable by others are ignored. libbpf reads the subset from a memfd
 * (ht_btf_min_target()), the bytes checked or made here; without a usable directory it is
 * only there.
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/btf.h>

#include "btfwalk.h"
#include "huatuo.h"

#define BTFMIN_FORMAT 3 /* bump when the subset rules change: old cache files are ignored */
#define BTFMIN_MAX_FILE (16u << 20)
#define VMLINUX_BTF "/sys/kernel/btf/vmlinux"

/* The cache key's hash, 8 bytes a step: every start hashes the BPF object (40-170 KB). */
static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t w;

	for (; len >= sizeof(w); p += sizeof(w), len -= sizeof(w)) {
		memcpy(&w, p, sizeof(w));
		h = (h ^ w) * 0x100000001b3ULL;
		h ^= h >> 32;
	}
	for (; len; p++, len--)
		h = (h ^ *p) * 0x100000001b3ULL;
	return h;
}

static uint32_t get_u32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/*
 * Call @fn for each named section of an in-memory ELF64 object (bounds-checked) until it
 * returns true; false if none did or the ELF is malformed.
 */
static bool each_section(const void *elf, size_t size,
			 bool (*fn)(const char *name, const char *data, size_t len, void *ctx),
			 void *ctx)
{
	const char *base = elf;
	Elf64_Ehdr eh;
	Elf64_Shdr strtab, sh;

	if (size < sizeof(eh))
		return false;
	memcpy(&eh, base, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shoff > size ||
	    eh.e_shnum > (size - eh.e_shoff) / sizeof(Elf64_Shdr) || eh.e_shstrndx >= eh.e_shnum)
		return false;
	memcpy(&strtab, base + eh.e_shoff + (size_t)eh.e_shstrndx * sizeof(sh), sizeof(strtab));
	if (strtab.sh_offset > size || strtab.sh_size > size - strtab.sh_offset)
		return false;
	for (size_t i = 0; i < eh.e_shnum; i++) {
		const char *name;
		size_t room;

		memcpy(&sh, base + eh.e_shoff + i * sizeof(sh), sizeof(sh));
		if (sh.sh_name >= strtab.sh_size || sh.sh_type == SHT_NOBITS)
			continue;
		room = strtab.sh_size - sh.sh_name;
		name = base + strtab.sh_offset + sh.sh_name;
		if (strnlen(name, room) == room)
			continue;
		if (sh.sh_offset > size || sh.sh_size > size - sh.sh_offset)
			return false;
		if (fn(name, base + sh.sh_offset, sh.sh_size, ctx))
			return true;
	}
	return false;
}

struct section_query {
	const char *name;
	const char *data;
	size_t len;
};

static bool section_named(const char *name, const char *data, size_t len, void *ctx)
{
	struct section_query *q = ctx;

	if (strcmp(name, q->name))
		return false;
	q->data = data;
	q->len = len;
	return true;
}

/* Section @name of an in-memory ELF64 object, bounds-checked; NULL if absent or malformed. */
const void *ht_elf_section(const void *elf, size_t size, const char *name, size_t *len)
{
	struct section_query q = { .name = name };

	if (!each_section(elf, size, section_named, &q))
		return NULL;
	*len = q.len;
	return q.data;
}

/*
 * Names, '\0'-separated: "btf_trace_<tracepoint>" of each raw_tp/ and tp_btf/ program section
 * (trace_name()), the records and fields hooks check (hook_fields())
 */
struct trace_names {
	char buf[4096];
	size_t used;
};

/* Append a '\0'-terminated name to @t, if it fits. */
static void __attribute__((format(printf, 2, 3)))
add_name(struct trace_names *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->used, sizeof(t->buf) - t->used, fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof(t->buf) - t->used)
		t->used += (size_t)n + 1;
}

static bool trace_name(const char *name, const char *data, size_t len, void *ctx)
{
	struct trace_names *t = ctx;
	const char *tp = !strncmp(name, "raw_tp/", 7) ? name + 7 :
			 !strncmp(name, "tp_btf/", 7) ? name + 7 :
							NULL;

	(void)data;
	(void)len;
	if (tp && *tp)
		add_name(t, "btf_trace_%s", tp);
	return false;
}

/*
 * Of each tracepoint a hook checks a field of (needs_field), its record "trace_event_raw_<event>"
 * into @records and the fields into @fields: ht_tracepoint_has_field() answers from the subset,
 * with no tracefs to mount
 */
static void hook_fields(const struct ht_hook *hooks, struct trace_names *records,
			struct trace_names *fields)
{
	for (const struct ht_hook *h = hooks; h && h->name; h++) {
		const char *event = h->tracepoint ? strchr(h->tracepoint, '/') : NULL;
		bool wanted = false;

		for (size_t c = 0; event && c < ARRAY_SIZE(h->needs_field); c++) {
			if (!h->needs_field[c])
				continue;
			wanted = true;
			add_name(fields, "%s", h->needs_field[c]);
		}
		if (wanted)
			add_name(records, "trace_event_raw_%s", event + 1);
	}
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
 * The names of the fields a field relocation's access string "0:3:1" walks through (@root's
 * member 3, then member 1 of its type), for the subset's member pruning; anonymous members
 * have none (libbpf skips them in the local spec and searches the target's). Array indexes
 * name no field. 0, or -EINVAL for a string that does not fit the object's BTF.
 */
static int access_names(const struct btf *local, uint32_t root, const char *access,
			struct ht_btf_roots *r)
{
	uint32_t id = root;
	char *end;

	if (!access || !*access)
		return -EINVAL;
	strtoul(access, &end, 10); /* the first index is into an array of @root */
	while (*end == ':') {
		unsigned long idx = strtoul(end + 1, &end, 10);
		const struct btf_type *t = skip_typedefs(local, id);
		const char *name;

		if (!t)
			return -EINVAL;
		if (btf_is_array(t)) {
			id = btf_array(t)->type;
			continue;
		}
		if (!btf_is_composite(t) || idx >= btf_vlen(t))
			return -EINVAL;
		name = btf__name_by_offset(local, btf_members(t)[idx].name_off);
		if (name && *name && ht_btf_add_member(r, name))
			r->prune = false; /* too many to list: keep all members */
		id = btf_members(t)[idx].type;
	}
	return *end ? -EINVAL : 0;
}

/*
 * Root types of the object's CO-RE relocations (.BTF.ext core_relo records), and the fields
 * they access (access_names()). Returns 0, or -EOPNOTSUPP with @why set when a relocation
 * needs more than the subset keeps.
 */
static int core_roots(const void *ext, size_t ext_len, const struct btf *local,
		      struct ht_btf_roots *r, const char **why)
{
	const char *p = ext;
	uint32_t hdr_len, off, len, rec_size;
	size_t pos, end;

	*why = "malformed .BTF.ext";
	r->prune = true;
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
			if (ht_btf_add_root(r, name)) {
				*why = "too many relocated types";
				return -EOPNOTSUPP;
			}
			if (rec.kind <= BPF_CORE_FIELD_RSHIFT_U64 &&
			    access_names(local, rec.type_id,
					 btf__name_by_offset(local, rec.access_str_off), r))
				return -EINVAL;
		}
	}
	*why = NULL;
	return 0;
}

/* The object's own BTF, with the root types of its relocations in @r; NULL and @why if not. */
static struct btf *object_roots(const void *elf, size_t elf_len, struct ht_btf_roots *r,
				const char **why)
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
	struct ht_btf_roots r = { .n = 0 };
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

/* The subset in use, parsed, for ht_btf_min_has() (kept for the process: a few KB). */
static struct btf *in_use;

bool ht_btf_min_has(const char *name, int kind)
{
	return in_use && btf__find_by_name_kind(in_use, name, kind) > 0;
}

int ht_btf_min_has_member(const char *strct, const char *member)
{
	int id = in_use ? btf__find_by_name_kind(in_use, strct, BTF_KIND_STRUCT) : -1;
	const struct btf_type *t = id > 0 ? btf__type_by_id(in_use, id) : NULL;

	if (!t)
		return -1;
	for (int i = 0; i < btf_vlen(t); i++)
		if (!strcmp(btf__name_by_offset(in_use, btf_members(t)[i].name_off), member))
			return 1;
	return 0;
}

static bool into_memfd(const void *data, size_t len, char *path, size_t path_len);

/*
 * A cached subset is used only if it is ours, small and parses (safedir.c's rules for @dir);
 * then it is the one in_use, and in @path: the memfd of ht_btf_min_target() holding the
 * bytes checked here, or @dir/@name.
 */
static bool cache_valid(const char *dir, const char *name, char *path, size_t path_len)
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
			if (ok && !into_memfd(buf, (size_t)st.st_size, path, path_len))
				snprintf(path, path_len, "%s/%s", dir, name);
			if (ok) {
				btf__free(in_use);
				in_use = btf;
			} else {
				btf__free(btf);
			}
		}
		free(buf);
	}
	close(fd);
	return ok;
}

/*
 * Write @data as @dir/@name atomically (a reader sees the old file or the whole new one):
 * 0, or -errno with @d->why saying why when safedir.c refused the directory or the file.
 */
static int cache_write(struct ht_dir *d, const char *dir, const char *name, const void *data,
		       size_t len)
{
	int err = ht_dir_open(d, dir, true);

	if (!err)
		err = ht_dir_replace_nosync(d, name, data, len, 0644); /* checked when read */
	ht_dir_close(d);
	return err;
}

/* The memfd of ht_btf_min_target(): -1 until made, -2 when there can be none */
static int target_fd = -1;
static char target_path[32];

const char *ht_btf_min_target(void)
{
	int fd;

	if (target_fd == -1) {
		target_fd = -2;
		fd = memfd_create("huatuo-btf", MFD_CLOEXEC);
		if (fd < 0)
			return NULL;
		snprintf(target_path, sizeof(target_path), "/proc/self/fd/%d", fd);
		/* libbpf opens it by that name: not without /proc */
		if (access(target_path, R_OK)) {
			close(fd);
			return NULL;
		}
		target_fd = fd; /* kept open until exit */
	}
	return target_fd >= 0 ? target_path : NULL;
}

/*
 * The subset @data, for libbpf, into ht_btf_min_target()'s memfd; its path in @path. False
 * when there is no memfd (no /proc) or it could not be written.
 */
static bool into_memfd(const void *data, size_t len, char *path, size_t path_len)
{
	if (!ht_btf_min_target() || ftruncate(target_fd, 0) ||
	    pwrite(target_fd, data, len, 0) != (ssize_t)len)
		return false;
	snprintf(path, path_len, "%s", target_path);
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

/* Why the subset could not be made from the file (all of it is then used). */
static const char *subset_error(int err)
{
	switch (err) {
	case -EPROTO:
		return "neither raw BTF nor ELF with .BTF: libbpf reads it";
	case -ENOENT:
		return "a relocated type is in a module's BTF";
	case -EOPNOTSUPP:
		return "a relocated type is a function or variable";
	case -EINVAL:
		return "malformed BTF";
	default:
		return strerror(-err);
	}
}

const char *ht_btf_min(struct ht_env *env, const void *elf, size_t elf_len)
{
	static char path[PATH_MAX]; /* one BPF object per tool, and libbpf reads it at load */
	const char *src = env->btf_path ? env->btf_path : VMLINUX_BTF;
	const char *dir = cache_dir(), *why = NULL, *unusable, *full = getenv("HUATUO_BTF_FULL");
	struct ht_btf_roots roots = { .n = 0 };
	struct ht_btf_subset sub = { .raw = NULL };
	struct ht_dir cdir = { .fd = -1 };
	/* the roots and members point into these */
	struct trace_names traces = { .used = 0 }, records = { .used = 0 }, fields = { .used = 0 };
	struct btf *local = NULL;
	bool have = false;
	char file[PATH_MAX], name[128];
	struct utsname u;
	struct stat st;
	uint64_t h = 0xcbf29ce484222325ULL;
	int format = BTFMIN_FORMAT, fd, err;

	if (!elf || (full && *full))
		return NULL; /* test knob: CO-RE against all of it, as libbpf does alone */
	fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL; /* libbpf says why */
	if (fstat(fd, &st) || uname(&u)) {
		close(fd);
		return NULL;
	}
	/* key: this kernel's BTF (release, build, size) or the file, the object, kept types */
	h = fnv(h, u.release, strlen(u.release) + 1);
	h = fnv(h, u.version, strlen(u.version) + 1);
	h = fnv(h, &st.st_size, sizeof(st.st_size));
	if (env->btf_path) {
		h = fnv(h, src, strlen(src) + 1);
		h = fnv(h, &st.st_dev, sizeof(st.st_dev));
		h = fnv(h, &st.st_ino, sizeof(st.st_ino));
		h = fnv(h, &st.st_mtim, sizeof(st.st_mtim));
		h = fnv(h, &st.st_ctim, sizeof(st.st_ctim));
	} else {
		h = module_btf_key(h);
	}
	h = fnv(h, &format, sizeof(format));
	h = fnv(h, elf, elf_len);
	for (const char *const *k = env->btf_keep; k && *k; k++)
		h = fnv(h, *k, strlen(*k) + 1);
	hook_fields(env->hooks, &records, &fields);
	h = fnv(h, records.buf, records.used);
	h = fnv(h, fields.buf, fields.used);
	snprintf(name, sizeof(name), "%s-%016llx.btf", env->tool, (unsigned long long)h);
	if (dir && (size_t)snprintf(file, sizeof(file), "%s/%s", dir, name) < sizeof(file) &&
	    cache_valid(dir, name, path, sizeof(path))) {
		close(fd);
		ht_info(env, "kernel BTF for CO-RE: %s (cached subset)", file);
		return path;
	}

	local = object_roots(elf, elf_len, &roots, &why);
	if (!local)
		goto out;
	roots.required = roots.n;
	for (const char *const *k = env->btf_keep; k && *k; k++)
		ht_btf_add_root(&roots, *k);
	/* whether each raw tracepoint exists, without reading tracefs (ht_btf_min_has()) */
	each_section(elf, elf_len, trace_name, &traces);
	for (size_t at = 0; at < traces.used; at += strlen(traces.buf + at) + 1)
		ht_btf_add_root(&roots, traces.buf + at);
	for (size_t at = 0; at < records.used; at += strlen(records.buf + at) + 1)
		ht_btf_add_root(&roots, records.buf + at);
	for (size_t at = 0; at < fields.used; at += strlen(fields.buf + at) + 1)
		ht_btf_add_member(&roots, fields.buf + at);
	/* modules' BTF is looked at only for the kernel's: libbpf does the same */
	err = ht_btf_subset(fd, &roots, env->btf_path ? NULL : "/sys/kernel/btf", 0, &sub);
	if (err) {
		why = subset_error(err);
		goto out;
	}
	unusable = "HUATUO_BTF_CACHE=off";
	if (dir) {
		err = cache_write(&cdir, dir, name, sub.raw, sub.len);
		if (err && !*cdir.why)
			snprintf(cdir.why, sizeof(cdir.why), "%s: %s", dir, strerror(-err));
		unusable = err ? cdir.why : NULL;
	}
	if (!unusable) {
		have = true;
		if (!into_memfd(sub.raw, sub.len, path, sizeof(path)))
			snprintf(path, sizeof(path), "%s", file);
		ht_info(env, "kernel BTF for CO-RE: %s (new subset: %u of %u types of %s, %s)",
			file, sub.kept, sub.total, src, sub.mapped ? "mapped" : "read");
	} else {
		/* the run works the same: only the next start builds the subset again */
		have = into_memfd(sub.raw, sub.len, path, sizeof(path));
		if (have)
			ht_info(env,
				"kernel BTF for CO-RE: subset in memory (%u of %u types of %s, %s; "
				"not cached: %s)",
				sub.kept, sub.total, src, sub.mapped ? "mapped" : "read", unusable);
		else
			why = "cannot keep the subset in a memfd";
	}
	if (have) {
		btf__free(in_use);
		in_use = btf__new(sub.raw, sub.len);
	}
out:
	if (why)
		ht_info(env, "kernel BTF for CO-RE: all of %s (%s)", src, why);
	close(fd);
	free(sub.raw);
	btf__free(local);
	return have ? path : NULL;
}
