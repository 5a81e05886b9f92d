#!/usr/bin/env bats
# The raw BTF walker behind the kernel BTF subset (libcommon/btfwalk.c), on fixture files
# (fixtures/mkbtf.py: every kind, flavours, a name inside another string, a name longer than
# the read window, sections spanning several windows, a module's split BTF) and on kernel BTF.
load ../lib/common

setup() {
	require_cmd bpftool python3
	D=$BATS_TEST_TMPDIR
	unset HUATUO_BTF HUATUO_BTF_FULL # the suite may run on all of kernel BTF (.ci/run, ASan)
	python3 "$BATS_TEST_DIRNAME/fixtures/mkbtf.py" "$D"
}

U() { "$HT_BUILD/ht-unit" "$@"; }

# subset FILE MODDIR ROOT...: both ways of reading must give the same bytes; the dump of the
# subset (type lines only) on stdout
subset() {
	local file=$1 moddir=$2
	shift 2
	U btf-subset "$file" map "$moddir" "$@" > "$D/map" 2> "$D/map.err" || {
		cat "$D/map.err"
		return 1
	}
	U btf-subset "$file" read "$moddir" "$@" > "$D/read" 2> "$D/read.err" || return 2
	cmp "$D/map" "$D/read" || return 3
	# kept and total types
	[ "$(cut -d' ' -f1-2 "$D/map.err")" = "$(cut -d' ' -f1-2 "$D/read.err")" ] || return 4
	bpftool btf dump file "$D/map" | grep '^\[' | sed -E "s/'L{256,}'/'LONG'/"
}

@test "a root keeps what it embeds by value; pointers out of the set become void" {
	run -0 subset "$D/base.btf" - a
	# roots in file order (with long int, libbpf's pointer size), then depth first
	assert_output "[1] INT 'long int' size=8 bits_offset=0 nr_bits=64 encoding=SIGNED
[2] STRUCT 'a' size=16 vlen=3
[3] STRUCT 'a___v2' size=4 vlen=1
[4] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED
[5] STRUCT 'b' size=4 vlen=1
[6] PTR '(anon)' type_id=0
[7] ARRAY '(anon)' type_id=8 index_type_id=4 nr_elems=1
[8] TYPEDEF 't' type_id=9
[9] CONST '(anon)' type_id=4"
	run -0 bpftool btf dump file "$D/map"
	assert_output --partial "'y' type_id=5 bits_offset=32"
	assert_output --partial "'p' type_id=6 bits_offset=64"
}

@test "pruned: only members named like an accessed field, and anonymous ones, are kept" {
	run -0 subset "$D/base.btf" - pr .keep .inner
	# drop (struct b) and gone (struct c) are left out, and so is what they embed
	assert_output "[1] INT 'long int' size=8 bits_offset=0 nr_bits=64 encoding=SIGNED
[2] STRUCT 'pr' size=12 vlen=2
[3] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED
[4] UNION '(anon)' size=4 vlen=1"
	run -0 bpftool btf dump file "$D/map"
	# offsets and sizes as in the file
	assert_output --partial "'keep' type_id=3 bits_offset=0"
	assert_output --partial "'(anon)' type_id=4 bits_offset=64"
	assert_output --partial "'inner' type_id=3 bits_offset=0"
	refute_output --partial "'drop'"
	refute_output --partial "'gone'"
	# without member names nothing is pruned
	run -0 subset "$D/base.btf" - pr
	assert_output --partial "[2] STRUCT 'pr' size=12 vlen=3"
	assert_output --partial "STRUCT 'b' size=4 vlen=1"
	assert_output --partial "STRUCT 'c' size=4 vlen=1"
}

@test "names as libbpf compares them: flavours, a name inside another string, a 70000-byte name" {
	local long
	long=$(printf 'L%.0s' $(seq 70000))
	run -0 subset "$D/base.btf" - ab mid "$long" e e64
	assert_output "[1] INT 'long int' size=8 bits_offset=0 nr_bits=64 encoding=SIGNED
[2] ENUM 'e' encoding=UNSIGNED size=4 vlen=2
[3] STRUCT 'mid' size=4 vlen=1
[4] STRUCT 'ab___c' size=4 vlen=1
[5] ENUM64 'e64' encoding=UNSIGNED size=8 vlen=1
[6] STRUCT 'LONG' size=4 vlen=1
[7] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED"
	run -0 bpftool btf dump file "$D/map"
	assert_output --partial "'E2' val=2"
	assert_output --partial "'E64' val=8589934593ULL"
	assert_output --partial "STRUCT '$long' size=4"
	# a name shorter than the essential name, or longer, is not a flavour of it
	run -0 subset "$D/base.btf" - a_ abc
	assert_output "[1] INT 'long int' size=8 bits_offset=0 nr_bits=64 encoding=SIGNED"
}

@test "a root only a module's BTF has: -ENOENT with the modules, absent without" {
	run -1 U btf-subset "$D/base.btf" map "$D/mod" a m_only
	assert_output "btf-subset: No such file or directory"
	run -1 U btf-subset "$D/base.btf" read "$D/mod" m_only
	assert_output "btf-subset: No such file or directory"
	# a module's type named from the base's strings counts too
	run -1 U btf-subset "$D/base.btf" map "$D/mod" E1
	# libbpf with btf_custom_path never looks at modules: neither does the subset
	run -0 subset "$D/base.btf" - m_only
	assert_output "[1] INT 'long int' size=8 bits_offset=0 nr_bits=64 encoding=SIGNED"
	# every root in the file: modules are not read
	run -0 subset "$D/base.btf" "$D/mod" c
	assert_line --index 1 "[2] STRUCT 'c' size=4 vlen=1"
}

@test "a function named like a root is not kept (no relocation's root is a function)" {
	run -0 subset "$D/base.btf" - f
	assert_output "[1] INT 'long int' size=8 bits_offset=0 nr_bits=64 encoding=SIGNED"
}

@test "not raw BTF or malformed: an error, never a crash" {
	run -1 U btf-subset "$HT_BUILD/ht-unit" read - a # ELF without .BTF: libbpf's business
	assert_output "btf-subset: Protocol error"
	head -c 1000 "$D/base.btf" > "$D/short"
	run -1 U btf-subset "$D/short" read - a
	assert_output "btf-subset: Invalid argument"
	run -1 U btf-subset "$D/short" map - a
	assert_output "btf-subset: Invalid argument"
	: > "$D/empty"
	run -1 U btf-subset "$D/empty" read - a
	# a kind libbpf does not know (31) in the first type
	python3 -c 'import sys; d = bytearray(open(sys.argv[1], "rb").read()); d[24 + 7] = 31; open(sys.argv[2], "wb").write(d)' \
		"$D/base.btf" "$D/kind"
	run -1 U btf-subset "$D/kind" read - a
	assert_output "btf-subset: Invalid argument"
}

@test "the .BTF section of an ELF file gives the subset of the same BTF as a raw file" {
	require_cmd objcopy
	objcopy --add-section .BTF="$D/base.btf" --set-section-flags .BTF=readonly \
		"$HT_BUILD/ht-unit" "$D/elf"
	subset "$D/base.btf" - a b mid > "$D/raw.dump"
	cp "$D/map" "$D/raw"
	run -0 subset "$D/elf" - a b mid
	cmp "$D/raw" "$D/map"
	assert_output "$(cat "$D/raw.dump")"
	# a section cut short: malformed, never read past
	head -c 1000 "$D/base.btf" > "$D/short"
	objcopy --add-section .BTF="$D/short" --set-section-flags .BTF=readonly \
		"$HT_BUILD/ht-unit" "$D/elf-short"
	run -1 U btf-subset "$D/elf-short" read - a
	assert_output "btf-subset: Invalid argument"
}

@test "a mapped file is walked in four pieces: the same subset as one walk" {
	run -0 subset "$D/pieces.btf" - q3 q1 q2
	# q3 (the last quarter) embeds q0 and q1 (the first two): ids run across the pieces
	assert_output "[1] INT 'long int' size=8 bits_offset=0 nr_bits=64 encoding=SIGNED
[2] STRUCT 'q1' size=4 vlen=1
[3] STRUCT 'q2' size=4 vlen=1
[4] STRUCT 'q3' size=12 vlen=3
[5] STRUCT 'q0' size=4 vlen=1
[6] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED"
	run -0 cat "$D/map.err"
	assert_output --regexp ' mapped 4$'
	run -0 cat "$D/read.err"
	assert_output --regexp ' read 1$'
}

@test "a cut that parses as records but is not one is found out: walked again in one piece" {
	# one walk is the reference (subset compares): a wrong cut numbers q1 and what follows
	# wrong, and q3 would embed another type than q1
	run -0 subset "$D/decoy.btf" - q3 decoy
	assert_output "[1] INT 'long int' size=8 bits_offset=0 nr_bits=64 encoding=SIGNED
[2] ENUM 'decoy' encoding=UNSIGNED size=4 vlen=4000
[3] STRUCT 'q3' size=12 vlen=3
[4] STRUCT 'q0' size=4 vlen=1
[5] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED
[6] STRUCT 'q1' size=4 vlen=1"
	run -0 cat "$D/map.err"
	assert_output --regexp ' mapped 1$'
	# a bad record in the third piece: an error, as one walk says
	run -1 U btf-subset "$D/pieces-bad.btf" map - q3
	assert_output "btf-subset: Invalid argument"
	run -1 U btf-subset "$D/pieces-bad.btf" read - q3
	assert_output "btf-subset: Invalid argument"
}

@test "kernel BTF: mapped and read walks give the same subset" {
	require_bpf
	local roots="task_struct sk_buff net_device skb_drop_reason mm_struct trace_event_raw_sys_enter"
	# shellcheck disable=SC2086
	run -0 subset /sys/kernel/btf/vmlinux /sys/kernel/btf $roots
	[ "${#lines[@]}" -gt 100 ]
	assert_output --partial "STRUCT 'task_struct'"
	assert_output --partial "ENUM 'skb_drop_reason'"
	# pruned to the fields tools read: the same both ways, and far smaller
	# shellcheck disable=SC2086
	run -0 subset /sys/kernel/btf/vmlinux /sys/kernel/btf $roots .pid .comm .dev .len .name
	[ "${#lines[@]}" -lt 100 ] || fail "${#lines[@]} types pruned"
	assert_output --regexp "STRUCT 'task_struct' size=[0-9]+ vlen=[2-9]"
	grep -q mapped "$D/map.err" || skip "kernel BTF cannot be mapped here (Linux < 6.16)"
	grep -q ' mapped 4$' "$D/map.err" || fail "kernel BTF not walked in 4 pieces: $(cat "$D/map.err")"
}

# bpf_obj NAME CFLAGS...: a one-program BPF object relocating against task_struct
bpf_obj() {
	local name=$1
	shift
	cat > "$D/$name.bpf.c" <<'C'
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct nonesuch_rtest {
	int field;
} __attribute__((preserve_access_index));

SEC("raw_tp/sched_switch")
int prog(void *ctx)
{
	struct task_struct *t = (void *)bpf_get_current_task();

#ifdef TYPE_ID
	return bpf_core_type_id_kernel(struct task_struct);
#elif defined(ABSENT)
	return bpf_core_field_exists(((struct nonesuch_rtest *)0)->field);
#else
	return BPF_CORE_READ(t, pid);
#endif
}

char LICENSE[] SEC("license") = "GPL";
C
	clang -g -O2 -target bpf -D__TARGET_ARCH_x86 -I"$HT_TOP/vmlinux/x86" "$@" \
		-c "$D/$name.bpf.c" -o "$D/$name.o"
}

@test "ht_btf_min: a subset for field relocations, all of kernel BTF for type id ones" {
	local cached
	require_bpf
	require_cmd clang
	[ "$(uname -m)" = x86_64 ] || skip "objects built for x86 here"
	export HUATUO_BTF_CACHE=$D/cache
	bpf_obj field
	# libbpf reads the subset from a memfd: the bytes written to the cache file
	HT_UNIT_COPY=$D/read run --separate-stderr -0 U btf-min "$D/field.o"
	assert_output --regexp "^/proc/self/fd/[0-9]+$"
	[[ "$stderr" =~ kernel\ BTF\ for\ CO-RE:\ ($D/cache/ht-unit-[0-9a-f]{16}\.btf)\ \(new\ subset:\ .*\ types\ of\ /sys/kernel/btf/vmlinux, ]] ||
		fail "$stderr"
	cached=${BASH_REMATCH[1]}
	cmp "$D/read" "$cached"
	run -0 bpftool btf dump file "$D/read"
	assert_output --partial "STRUCT 'task_struct'"
	# a later start reads the cached file, and libbpf the same bytes from the memfd
	rm "$D/read"
	HT_UNIT_COPY=$D/read run --separate-stderr -0 U btf-min "$D/field.o"
	[[ "$stderr" == *"$cached (cached subset)"* ]] || fail "$stderr"
	cmp "$D/read" "$cached"
	# a type this kernel lacks: absent from the subset as from kernel BTF
	bpf_obj absent -DABSENT
	HT_UNIT_COPY=$D/absent.btf run --separate-stderr -0 U btf-min "$D/absent.o"
	run -0 bpftool btf dump file "$D/absent.btf"
	refute_output --partial nonesuch_rtest
	# kernel type ids: only all of kernel BTF has them
	bpf_obj typeid -DTYPE_ID
	run --separate-stderr -0 U btf-min "$D/typeid.o"
	assert_output all
	assert_equal "$stderr" "ht-unit: kernel BTF for CO-RE: all of /sys/kernel/btf/vmlinux (a relocation names kernel type ids or matches types deeply)"
	# the same from a --btf file (read, not mapped)
	run --separate-stderr -0 U btf-min "$D/field.o" "$D/base.btf"
	[[ "$stderr" == *"types of $D/base.btf, read)"* ]]
	run --separate-stderr -0 U btf-min "$D/typeid.o" "$D/base.btf"
	assert_output all
}
