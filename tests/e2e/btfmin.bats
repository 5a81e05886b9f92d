#!/usr/bin/env bats
# The kernel BTF subset for CO-RE (libcommon/btfmin.c): relocations identical to the ones
# made against all of kernel BTF, a cache that is reused, rebuilt when damaged and ignored
# when someone else could have written it.
load ../lib/common

setup() {
	require_bpf
	unset HUATUO_BTF # the suite may run on all of kernel BTF (.ci/run, ASan pass)
	CACHE=$BATS_TEST_TMPDIR/cache
	export HUATUO_BTF_CACHE=$CACHE
}

bpf_tools() {
	local t
	for t in $HT_TOOLS; do
		[ -f "$HT_TOP/bpf/$t.bpf.c" ] && echo "$t"
	done
}

# libbpf's relocation results (-vv), without type ids (they differ between the two BTFs)
relocations() {
	"$@" --check -vv 2>&1 >/dev/null |
		grep -E "prog '[^']+': relo #|CO-RE relocating" |
		sed -E 's/\[[0-9]+\]/[N]/g'
}

@test "every CO-RE relocation matches the one made against all of kernel BTF" {
	local t p compared=0
	for t in $(bpf_tools); do
		for p in tp_btf raw_tp tracepoint; do
			"$HT_BUILD/huatuo-$t" --check --probe "$p" --btf /sys/kernel/btf/vmlinux \
				>/dev/null 2>&1 || continue
			relocations "$HT_BUILD/huatuo-$t" --probe "$p" --btf /sys/kernel/btf/vmlinux \
				> "$BATS_TEST_TMPDIR/full"
			relocations "$HT_BUILD/huatuo-$t" --probe "$p" > "$BATS_TEST_TMPDIR/subset"
			grep -q "patched insn" "$BATS_TEST_TMPDIR/full" ||
				fail "huatuo-$t --probe $p: no relocation in the log to compare"
			diff -u "$BATS_TEST_TMPDIR/full" "$BATS_TEST_TMPDIR/subset" ||
				fail "huatuo-$t --probe $p: relocations differ with the BTF subset"
			compared=$((compared + 1))
		done
	done
	[ "$compared" -ge 9 ] || fail "only $compared tool/probe pairs compared"
}

@test "the first start builds the subset, the next one reads it" {
	run -0 huatuo-oom --check -v
	assert_output --partial "new subset"
	f=$(ls "$CACHE"/huatuo-oom-*.btf)
	[ "$(stat -c %a "$f")" = 644 ]
	run -0 huatuo-oom --check -v
	assert_output --partial "$f (cached subset)"
	# and it is small: a few types, not the kernel's ~100k
	[ "$(stat -c %s "$f")" -lt 200000 ]
}

@test "with the subset raw_tp is attached; with all of kernel BTF, tp_btf" {
	run -0 huatuo-memreclaim --check -j
	jq -e '[.hooks[].kind] | all(. == "raw_tp")' <<< "$output"
	run -0 huatuo-memreclaim --check -j --btf /sys/kernel/btf/vmlinux
	jq -e '[.hooks[].kind] | all(. == "tp_btf")' <<< "$output"
}

@test "a damaged cache file is rebuilt" {
	run -0 huatuo-oom --check
	f=$(ls "$CACHE"/huatuo-oom-*.btf)
	printf 'not BTF' > "$f"
	run -0 huatuo-oom --check -v
	assert_output --partial "new subset"
	[ "$(stat -c %s "$f")" -gt 100 ]
}

@test "a cache file or directory others can write is not used" {
	run -0 huatuo-oom --check
	f=$(ls "$CACHE"/huatuo-oom-*.btf)
	chmod 666 "$f"
	run -0 huatuo-oom --check -v
	refute_output --partial "cached subset"
	[ "$(stat -c %a "$f")" = 644 ] # replaced by one of ours
	rm -f "$f"
	chmod 777 "$CACHE"
	run -0 huatuo-oom --check -v
	assert_output --partial "in memory (cache directory not usable)"
	[ -z "$(ls "$CACHE")" ]
}

@test "HUATUO_BTF_CACHE=off: the subset lives in memory, nothing is written" {
	HUATUO_BTF_CACHE=off run -0 huatuo-dropwatch --check -v
	assert_output --partial "in memory (HUATUO_BTF_CACHE=off)"
	[ ! -e "$CACHE" ]
}

@test "the default cache is /var/cache/huatuo-tools" {
	[ ! -e /var/cache/huatuo-tools ] || [ -O /var/cache/huatuo-tools ] ||
		skip "/var/cache/huatuo-tools belongs to someone else"
	unset HUATUO_BTF_CACHE
	run -0 huatuo-softirq --check -v
	assert_output --regexp "kernel BTF for CO-RE: /var/cache/huatuo-tools/huatuo-softirq-[0-9a-f]{16}\.btf"
}
