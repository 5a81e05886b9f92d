// SPDX-License-Identifier: GPL-2.0
/*
 * Names of a kernel enum from BTF, read at run time so a tool reports the running kernel's
 * names (enum skb_drop_reason grows every release) instead of a table compiled in.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>

#include "huatuo.h"

#define MAX_ENUM_VALUE 65536 /* keep the value-indexed table small */

static int fill(struct ht_enum_names *en, const struct btf *btf, const char *enum_name,
		const char *strip)
{
	const struct btf_type *t;
	const struct btf_enum *e;
	size_t strip_len = strip ? strlen(strip) : 0;
	uint32_t max = 0;
	int id, vlen;

	id = btf__find_by_name_kind(btf, enum_name, BTF_KIND_ENUM);
	if (id < 0)
		return -ENOENT;
	t = btf__type_by_id(btf, id);
	e = btf_enum(t);
	vlen = btf_vlen(t);
	for (int i = 0; i < vlen; i++)
		if ((uint32_t)e[i].val < MAX_ENUM_VALUE && (uint32_t)e[i].val >= max)
			max = (uint32_t)e[i].val + 1;
	en->names = calloc(max ? max : 1, sizeof(*en->names));
	if (!en->names)
		return -ENOMEM;
	en->n = max;
	for (int i = 0; i < vlen; i++) {
		const char *name = btf__name_by_offset(btf, e[i].name_off);
		uint32_t v = (uint32_t)e[i].val;

		if (!name || v >= max || en->names[v])
			continue;
		if (strip_len && !strncmp(name, strip, strip_len) && name[strip_len])
			name += strip_len;
		en->names[v] = strdup(name);
		if (!en->names[v])
			return -ENOMEM;
	}
	return 0;
}

int ht_btf_enum_names(const struct ht_env *env, const char *enum_name, const char *strip,
		      struct ht_enum_names *en)
{
	struct btf *btf;
	int err;

	memset(en, 0, sizeof(*en));
	/* the CO-RE subset has the enum when the tool listed it in btf_keep: 5 KB, not 5 MB */
	btf = env->btf_min ? btf__parse(env->btf_min, NULL) : NULL;
	if (btf && btf__find_by_name_kind(btf, enum_name, BTF_KIND_ENUM) < 0) {
		btf__free(btf);
		btf = NULL;
	}
	if (!btf)
		btf = env->btf_path ? btf__parse(env->btf_path, NULL) : btf__load_vmlinux_btf();
	if (!btf)
		return -errno;
	err = fill(en, btf, enum_name, strip);
	btf__free(btf);
	if (err)
		ht_enum_names_free(en);
	return err;
}

/* names[@idx] = @name, growing the table; an index already named keeps its first name */
static int set_name(struct ht_enum_names *en, uint32_t idx, const char *name)
{
	if (idx >= en->n) {
		char **grown = realloc(en->names, (idx + 1) * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		memset(grown + en->n, 0, (idx + 1 - en->n) * sizeof(*grown));
		en->names = grown;
		en->n = idx + 1;
	}
	if (en->names[idx])
		return 0;
	en->names[idx] = strdup(name);
	return en->names[idx] ? 0 : -ENOMEM;
}

/* Enumerators of @btf's own types (not its base's) as ht_btf_enum_range() takes them. */
static int scan_range(const struct btf *btf, const char *suffix, uint32_t base,
		      struct ht_enum_names *en)
{
	const struct btf *base_btf = btf__base_btf(btf);
	size_t suffix_len = strlen(suffix);
	uint32_t first = base_btf ? btf__type_cnt(base_btf) : 1;
	int err = 0;

	for (uint32_t id = first; id < btf__type_cnt(btf) && !err; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		const char *name = btf__name_by_offset(btf, t->name_off);
		size_t len = name ? strlen(name) : 0;
		const struct btf_enum *e;

		if (!name || !btf_is_enum(t) || len < suffix_len ||
		    strcmp(name + len - suffix_len, suffix))
			continue;
		e = btf_enum(t);
		for (int i = 0; i < btf_vlen(t) && !err; i++) {
			const char *ename = btf__name_by_offset(btf, e[i].name_off);
			uint32_t v = (uint32_t)e[i].val;

			if (ename && strncmp(ename, "__", 2) && v >= base && v - base <= 0xffff)
				err = set_name(en, v - base, ename);
		}
	}
	return err;
}

int ht_btf_enum_range(const struct ht_env *env, const char *suffix, uint32_t base,
		      struct ht_enum_names *en)
{
	struct btf *vmlinux;
	struct dirent *d;
	DIR *dir;
	int err;

	memset(en, 0, sizeof(*en));
	vmlinux = env->btf_path ? btf__parse(env->btf_path, NULL) : btf__load_vmlinux_btf();
	if (!vmlinux)
		return -errno;
	err = scan_range(vmlinux, suffix, base, en);
	/* modules' BTF is split on the running kernel's: not with --btf */
	dir = !err && !env->btf_path ? opendir("/sys/kernel/btf") : NULL;
	while (dir && !err && (d = readdir(dir))) {
		char path[300];
		struct btf *mod;

		if (d->d_name[0] == '.' || !strcmp(d->d_name, "vmlinux"))
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/btf/%s", d->d_name);
		mod = btf__parse_split(path, vmlinux);
		if (!mod)
			continue;
		err = scan_range(mod, suffix, base, en);
		btf__free(mod);
	}
	if (dir)
		closedir(dir);
	btf__free(vmlinux);
	if (err)
		ht_enum_names_free(en);
	return err;
}

const char *ht_enum_name(const struct ht_enum_names *en, uint32_t v)
{
	return en && v < en->n ? en->names[v] : NULL;
}

/* Case-insensitive; @name may carry the stripped prefix or be a decimal value. */
int ht_enum_value(const struct ht_enum_names *en, const char *name, const char *strip, uint32_t *v)
{
	size_t strip_len = strip ? strlen(strip) : 0;
	uint64_t num;

	if (!ht_parse_u64(name, 0, UINT32_MAX, &num)) {
		*v = (uint32_t)num;
		return 0;
	}
	if (strip_len && !strncasecmp(name, strip, strip_len))
		name += strip_len;
	for (uint32_t i = 0; en && i < en->n; i++) {
		if (en->names[i] && !strcasecmp(en->names[i], name)) {
			*v = i;
			return 0;
		}
	}
	return -ENOENT;
}

void ht_enum_names_free(struct ht_enum_names *en)
{
	for (uint32_t i = 0; en->names && i < en->n; i++)
		free(en->names[i]);
	free(en->names);
	en->names = NULL;
	en->n = 0;
}
