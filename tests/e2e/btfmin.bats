#!/usr/bin/env bats
# The kernel BTF subset for CO-RE (libcommon/btfmin.c, btfwalk.c): relocations identical to
# the ones made against all of kernel BTF whether the subset comes from mapped kernel BTF or
# from a --btf file read through a window, a first start that never reads all of kernel BTF,
# a cache that is reused, rebuilt when damaged, ignored when someone else could have written
# it, and a start that works quietly when the cache cannot be written.
load ../lib/common

setup() {
	require_bpf
	unset HUATUO_BTF HUATUO_BTF_FULL # the suite may run on all of kernel BTF (.ci/run, ASan)
	CACHE=$BATS_TEST_TMPDIR/cache
	export HUATUO_BTF_CACHE=$CACHE
	MNT=
}

teardown() {
	[ -z "$MNT" ] || umount "$MNT" 2>/dev/null || true
}

bpf_tools() {
	local t
	for t in $HT_TOOLS; do
		[ -f "$HT_TOP/bpf/$t.bpf.c" ] && echo "$t"
	done
}

# libbpf's relocation results (-vv), without type ids (they differ between the two BTFs) and
# without the member indexes of a matched field in the kernel's struct ("(0:12 @ offset 256)":
# the subset keeps only the members relocations can match; the field's name path and offset
# stay, and the patched instructions must be the same)
relocations() {
	"$@" --check -vv 2>&1 >/dev/null |
		grep -E "prog '[^']+': relo #|CO-RE relocating" |
		sed -E 's/\[[0-9]+\]/[N]/g; /matching candidate/s/\(([0-9]+:)*[0-9]+ @ /(@ /'
}

# bytes read(2) from FILE by a command (mapped files are not read)
bytes_read() {
	local file=$1
	shift
	strace -f -qq -y -e trace=read,pread64 -e signal=none -o "$BATS_TEST_TMPDIR/strace" "$@" \
		>/dev/null 2>&1
	grep -F "<$file>" "$BATS_TEST_TMPDIR/strace" | sed -nE 's/.*= ([0-9]+)$/\1/p' |
		awk '{ n += $1 } END { print n + 0 }'
}

@test "every CO-RE relocation matches the one made against all of kernel BTF (mapped and read)" {
	local t p compared=0 file=$BATS_TEST_TMPDIR/vmlinux.btf
	cp /sys/kernel/btf/vmlinux "$file" # a regular file: read through the window
	for t in $(bpf_tools); do
		for p in tp_btf raw_tp tracepoint; do
			HUATUO_BTF_FULL=1 "$HT_BUILD/huatuo-$t" --check --probe "$p" >/dev/null 2>&1 ||
				continue
			HUATUO_BTF_FULL=1 relocations "$HT_BUILD/huatuo-$t" --probe "$p" \
				> "$BATS_TEST_TMPDIR/full"
			relocations "$HT_BUILD/huatuo-$t" --probe "$p" > "$BATS_TEST_TMPDIR/subset"
			relocations "$HT_BUILD/huatuo-$t" --probe "$p" --btf "$file" \
				> "$BATS_TEST_TMPDIR/file"
			grep -q "patched insn" "$BATS_TEST_TMPDIR/full" ||
				fail "huatuo-$t --probe $p: no relocation in the log to compare"
			diff -u "$BATS_TEST_TMPDIR/full" "$BATS_TEST_TMPDIR/subset" ||
				fail "huatuo-$t --probe $p: relocations differ with the BTF subset"
			diff -u "$BATS_TEST_TMPDIR/full" "$BATS_TEST_TMPDIR/file" ||
				fail "huatuo-$t --probe $p: relocations differ with the subset of --btf FILE"
			compared=$((compared + 1))
		done
	done
	[ "$compared" -ge 9 ] || fail "only $compared tool/probe pairs compared"
}

# the hook kinds of a tool's BPF object (its programs' sections), but the optional
# cgroup_mkdir hook every container-aware object has
object_kinds() {
	readelf -SW "$HT_BUILD/obj/$1.bpf.o" |
		sed -nE 's#.* (tp_btf|raw_tp|tracepoint)/([^ ]+) .*#\1 \2#p' |
		awk '$2 != "cgroup_mkdir" { print $1 }' | sort -u
}

@test "every tp_btf, raw_tp and tracepoint flavour a tool has loads; one it lacks exits 64" {
	local t p kinds full n=0
	require_cmd readelf
	for t in $(bpf_tools); do
		kinds=$(object_kinds "$t")
		[ -n "$kinds" ] || fail "huatuo-$t: no hook kinds in $HT_BUILD/obj/$t.bpf.o"
		for p in tp_btf raw_tp tracepoint; do
			# the subset (raw_tp first, tp_btf when forced) and all of kernel BTF (CI's
			# sanitizer pass, hosts where tp_btf is preferred)
			for full in "" 1; do
				HUATUO_BTF_FULL=$full run --separate-stderr \
					"$HT_BUILD/huatuo-$t" --check --probe "$p" -j
				if grep -qx "$p" <<< "$kinds"; then
					[ "$status" -eq 0 ] ||
						fail "huatuo-$t --probe $p (HUATUO_BTF_FULL=$full): exit $status: $stderr"
					# (perf events, iterators and the cgroup_mkdir hook are no flavour)
					jq -e --arg p "$p" '[.hooks[] | select(.hook != "cgroup_mkdir") |
						.kind | select(IN("tp_btf", "raw_tp", "tracepoint",
						"fentry", "kprobe"))] | length > 0 and all(. == $p)' \
						<<< "$output" >/dev/null ||
						fail "huatuo-$t --probe $p: hooks $output"
					n=$((n + 1))
				else
					[ "$status" -eq 64 ] ||
						fail "huatuo-$t has no $p program; --probe $p exit $status, want 64"
					[[ "$stderr" == *"--probe"* ]] || fail "huatuo-$t: $stderr"
				fi
			done
		done
	done
	[ "$n" -ge 30 ] || fail "only $n tool/kind/BTF runs loaded"
}

@test "the subset of kernel BTF mapped, of a copy read through the window, of an ELF: same bytes" {
	local t file=$BATS_TEST_TMPDIR/vmlinux.btf elf=$BATS_TEST_TMPDIR/vmlinux.elf n=0
	require_cmd objcopy
	cp /sys/kernel/btf/vmlinux "$file"
	# an ELF image with the kernel's BTF as its .BTF section, as a vmlinux has it
	objcopy --add-section .BTF="$file" --set-section-flags .BTF=readonly \
		"$HT_BUILD/huatuo-oom" "$elf"
	for t in $(bpf_tools); do
		"$HT_BUILD/huatuo-$t" --check >/dev/null 2>&1 || continue
		HUATUO_BTF_CACHE=$CACHE/kernel run -0 "$HT_BUILD/huatuo-$t" --check -v
		assert_output --partial "new subset"
		HUATUO_BTF_CACHE=$CACHE/file run -0 "$HT_BUILD/huatuo-$t" --check -v --btf "$file"
		assert_output --regexp "new subset: [0-9]+ of [0-9]+ types of $file, read\)"
		cmp "$CACHE"/kernel/huatuo-"$t"-*.btf "$CACHE"/file/huatuo-"$t"-*.btf ||
			fail "huatuo-$t: the subsets differ"
		HUATUO_BTF_CACHE=$CACHE/elf run -0 "$HT_BUILD/huatuo-$t" --check -v --btf "$elf"
		assert_output --regexp "new subset: [0-9]+ of [0-9]+ types of $elf, read\)"
		cmp "$CACHE"/kernel/huatuo-"$t"-*.btf "$CACHE"/elf/huatuo-"$t"-*.btf ||
			fail "huatuo-$t: the subset of the ELF differs"
		n=$((n + 1))
	done
	[ "$n" -ge 5 ]
}

@test "a first start reads none of kernel BTF (mapped), a --btf file once" {
	local file=$BATS_TEST_TMPDIR/vmlinux.btf size
	run -0 huatuo-oom --check -v
	if [[ "$output" == *", mapped)"* ]]; then
		rm -rf "$CACHE"
		[ "$(bytes_read /sys/kernel/btf/vmlinux huatuo-memreclaim --check)" -eq 0 ] ||
			fail "a first start read kernel BTF"
	fi
	cp /sys/kernel/btf/vmlinux "$file"
	size=$(stat -c %s "$file")
	n=$(bytes_read "$file" huatuo-memreclaim --check --btf "$file")
	# one pass over types and strings, plus the few types and names looked up after it
	[ "$n" -ge "$size" ] && [ "$n" -lt $((size + size / 4)) ] ||
		fail "$n bytes read from a $size-byte file"
	# a later start reads the cached subset only
	[ "$(bytes_read "$file" huatuo-memreclaim --check --btf "$file")" -eq 0 ]
	[ "$(bytes_read /sys/kernel/btf/vmlinux huatuo-memreclaim --check --btf "$file")" -eq 0 ]
	# an ELF image carrying it: its .BTF is walked once too, never parsed whole (13 MB of
	# RSS when libbpf parses it; the peak of a whole start stays under 8 MB, but in a
	# sanitizer build, whose RSS is the sanitizer's)
	command -v objcopy >/dev/null || return 0
	objcopy --add-section .BTF="$file" --set-section-flags .BTF=readonly \
		"$HT_BUILD/huatuo-oom" "$file.elf"
	n=$(bytes_read "$file.elf" huatuo-memreclaim --check --btf "$file.elf")
	[ "$n" -ge "$size" ] && [ "$n" -lt $((size + size / 4)) ] ||
		fail "$n bytes read from an ELF with a $size-byte .BTF"
	sanitized_build && return 0
	rm -rf "$CACHE"
	/usr/bin/time -f %M -o "$BATS_TEST_TMPDIR/rss" huatuo-memreclaim -d 0 --btf "$file.elf" \
		>/dev/null 2>&1
	[ "$(tail -1 "$BATS_TEST_TMPDIR/rss")" -lt 8192 ] ||
		fail "peak RSS $(tail -1 "$BATS_TEST_TMPDIR/rss") KB with an ELF --btf"
}

@test "the subset says which raw tracepoints exist and which fields their records have: no tracefs read or mounted, same hooks" {
	local t n=0 trace=$BATS_TEST_TMPDIR/strace
	require_cmd strace unshare
	for t in $(bpf_tools); do
		"$HT_BUILD/huatuo-$t" --check >/dev/null 2>&1 || continue
		# first start (subset made) and a later one (subset read), where tracefs is not
		# mounted (a private mount namespace without it)
		for pass in first later; do
			# (LeakSanitizer cannot run under ptrace: the ASan pass)
			ASAN_OPTIONS=detect_leaks=0 unshare -m sh -c '
				umount -l /sys/kernel/tracing 2>/dev/null
				umount -l /sys/kernel/debug/tracing 2>/dev/null
				exec strace -f -qq -e trace=openat,mount -o "$1" "$2" --check -j' \
				sh "$trace" "$HT_BUILD/huatuo-$t" > "$BATS_TEST_TMPDIR/hooks" 2>/dev/null ||
				fail "huatuo-$t: --check failed ($pass start)"
			# ras looks its optional tracepoints up in tracefs (some are not in this kernel)
			[ "$t" = ras ] && continue
			! grep -q available_events "$trace" ||
				fail "huatuo-$t read tracefs' event list ($pass start)"
			! grep -q 'mount(' "$trace" || fail "huatuo-$t mounted tracefs ($pass start)"
		done
		HUATUO_BTF_FULL=1 "$HT_BUILD/huatuo-$t" --check -j --probe raw_tp |
			jq -c '[.hooks[] | [.hook, .kind, .program]]' > "$BATS_TEST_TMPDIR/full"
		jq -c '[.hooks[] | [.hook, .kind, .program]]' "$BATS_TEST_TMPDIR/hooks" |
			diff - "$BATS_TEST_TMPDIR/full" || fail "huatuo-$t: other hooks with the subset"
		n=$((n + 1))
	done
	[ "$n" -ge 5 ]
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
	HUATUO_BTF_FULL=1 run -0 huatuo-memreclaim --check -j
	jq -e '[.hooks[].kind] | all(. == "tp_btf")' <<< "$output"
	# a --btf file gets its subset too
	run -0 huatuo-memreclaim --check -j --btf /sys/kernel/btf/vmlinux
	jq -e '[.hooks[].kind] | all(. == "raw_tp")' <<< "$output"
}

@test "dropwatch --reason reads the names from the subset of a --btf file" {
	local file=$BATS_TEST_TMPDIR/vmlinux.btf size n
	cp /sys/kernel/btf/vmlinux "$file"
	size=$(stat -c %s "$file")
	# once for the subset, not a second time for the names
	n=$(bytes_read "$file" huatuo-dropwatch --check --reason NO_SOCKET --btf "$file")
	[ "$n" -lt $((size + size / 4)) ] || fail "$n bytes read from a $size-byte file"
	run -0 huatuo-dropwatch --check --reason NO_SOCKET --btf "$file"
	run -64 huatuo-dropwatch --check --reason NO_SUCH_REASON --btf "$file"
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
	assert_output --partial "subset in memory"
	assert_output --partial "not cached: $CACHE is writable by other users (mode 0777)"
	[ -z "$(ls "$CACHE")" ]
}

# quiet_start DESCRIPTION: a start that cannot write the cache works and says nothing on
# stderr; with -v, one line says where the subset is and why (the warning of a run on a host
# that is itself a container, /.dockerenv, is not about the cache)
quiet_start() {
	run --separate-stderr -0 huatuo-oom --check -j
	jq -e '.hooks | length > 0' <<< "$output" >/dev/null || fail "$1: no hooks"
	[ -z "$stderr" ] || fail "$1: said '$stderr' without -v"
	run --separate-stderr -0 huatuo-oom -d 1
	[ "$(grep -v '^huatuo-oom: warning: running in a container: ' <<< "$stderr")" = \
		"Tracing OOM kills for 1s... Hit Ctrl-C to end." ] || fail "$1: said '$stderr'"
	run --separate-stderr -0 huatuo-oom --check -v
	[ "$(grep -c 'BTF' <<< "$stderr")" -eq 1 ] || fail "$1: $stderr"
	grep -q 'kernel BTF for CO-RE: subset in memory' <<< "$stderr" || fail "$1: $stderr"
	! grep -qiE 'warn|error|fail' <<< "$stderr" || fail "$1: $stderr"
}

@test "an unwritable cache directory: the start works and stays quiet" {
	# owned by another user
	mkdir -p "$CACHE"
	chown nobody "$CACHE"
	quiet_start "a directory owned by nobody"
	[ -z "$(ls -A "$CACHE")" ]
	# read-only mounts: the directory there, or under it
	chown root "$CACHE"
	MNT=$CACHE
	mount --bind -o ro "$CACHE" "$CACHE" || skip "cannot bind-mount read-only here"
	quiet_start "a read-only mount"
	HUATUO_BTF_CACHE=$CACHE/sub quiet_start "a directory to create on a read-only mount"
	umount "$CACHE"
	MNT=
	# read-only mode, for a root without CAP_DAC_OVERRIDE
	chmod 555 "$CACHE"
	run --separate-stderr -0 setpriv --inh-caps=-dac_override --ambient-caps=-dac_override \
		--bounding-set=-dac_override huatuo-oom --check -v
	assert_equal "$(grep -c 'BTF' <<< "$stderr")" 1
	grep -qE "not cached: cannot create $CACHE/\.huatuo-oom-[0-9a-f.]+btf\.[0-9a-f]+: Permission denied" \
		<<< "$stderr" || fail "$stderr"
	[ -z "$(ls -A "$CACHE")" ]
}

@test "HUATUO_BTF_CACHE=off: the subset lives in memory, nothing is written" {
	HUATUO_BTF_CACHE=off run -0 huatuo-dropwatch --check -v
	assert_output --partial "subset in memory"
	assert_output --partial "not cached: HUATUO_BTF_CACHE=off)"
	[ ! -e "$CACHE" ]
}

@test "the default cache is /var/cache/huatuo-tools" {
	[ ! -e /var/cache/huatuo-tools ] || [ -O /var/cache/huatuo-tools ] ||
		skip "/var/cache/huatuo-tools belongs to someone else"
	unset HUATUO_BTF_CACHE
	run -0 huatuo-softirq --check -v
	assert_output --regexp "kernel BTF for CO-RE: /var/cache/huatuo-tools/huatuo-softirq-[0-9a-f]{16}\.btf"
}
