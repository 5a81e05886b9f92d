/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The CO-RE subset of a raw BTF file (btfmin.c) made in one walk over the file, without
 * parsing all of it into memory: kernel BTF is 5-6 MB and ~130k types, the subset a few
 * hundred types.
 */
#ifndef HT_BTFWALK_H
#define HT_BTFWALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HT_BTF_MAX_ROOTS 256
#define HT_BTF_MAX_MEMBERS 512

/*
 * Names of the types to keep, as libbpf compares them: essential names, no ___flavour. With
 * @prune, a kept struct or union keeps only the members named in @member (the fields the
 * relocations access, at any depth) and its anonymous ones (libbpf looks for a name inside
 * them): the relocations come out the same, as libbpf computes them from the matched member's
 * own offset, type and size and the struct's size, all kept.
 */
struct ht_btf_roots {
	const char *name[HT_BTF_MAX_ROOTS]; /* not owned; name[i] may go on past len[i] */
	size_t len[HT_BTF_MAX_ROOTS];
	int n;
	int required; /* the first @required must be in the file (relocation roots) */
	bool prune;
	int nmembers;
	const char *member[HT_BTF_MAX_MEMBERS]; /* not owned, NUL-terminated */
};

/* libbpf's bpf_core_essential_name_len(): "task_struct___old" -> 11 */
size_t ht_btf_essential_len(const char *name);
/* Add @name (its essential part) unless present: 0, -EINVAL (anonymous) or -E2BIG. */
int ht_btf_add_root(struct ht_btf_roots *r, const char *name);
/* Add a member name for @prune unless present: 0 or -E2BIG. */
int ht_btf_add_member(struct ht_btf_roots *r, const char *name);

/* How ht_btf_subset() reads the file. */
enum {
	HT_BTF_READ = 1, /* through a small buffer, never mapped (tests, fuzzing) */
	HT_BTF_MAP = 2,	 /* mapped whatever the file system (fuzzing: a memfd) */
};

struct ht_btf_subset {
	void *raw; /* raw BTF, malloc'd: what libbpf's btf__raw_data() writes */
	uint32_t len;
	uint32_t kept;	/* types in the subset */
	uint32_t total; /* types in the file */
	bool mapped;	/* the file was mapped, not read */
	int pieces;	/* mapped: type section walked in this many pieces (1 after a wrong cut) */
};

/*
 * The subset of the BTF file @fd (raw, or the .BTF section of an ELF file): every type named like a root (of a kind a relocation's
 * root can have: not a function, prototype, variable, section or tag), "long int",
 * and what they embed by value (members, array elements, typedefs, modifiers), in that
 * order; pointers to types outside it become pointers to void. Without @r->prune, byte for
 * byte what btfmin.c built with libbpf from all of the file (btf__add_type() and
 * renumbering); with it, the same but for the members left out (and what only they embed).
 *
 * The file is mapped where that costs no memory (sysfs: /sys/kernel/btf/vmlinux, Linux
 * 6.16+), else read once through a 64 KB window with an index of every 16th type's offset.
 * A required root the file lacks is looked for in the split BTF files of @moddir (module
 * BTF on top of this file; NULL: not looked for).
 *
 * Returns 0, or -errno: -EPROTO neither native-endian raw BTF nor an ELF file with .BTF, -EINVAL
 * malformed, -EOPNOTSUPP a kept type of a kind the subset does not carry (a member that is a
 * function, say),
 * -ENOENT a required root is in a module's BTF, -ENOMEM, -EIO.
 */
int ht_btf_subset(int fd, const struct ht_btf_roots *r, const char *moddir, unsigned int flags,
		  struct ht_btf_subset *out);

#endif
