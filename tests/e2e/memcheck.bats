#!/usr/bin/env bats
# valgrind memcheck of real tool runs: 0 errors, 0 definite leaks (libbpf-internal syscall
# parameter reports are suppressed in tests/valgrind.supp, with the reason).
load ../lib/common

setup() {
	require_bpf
	require_cmd valgrind
	! sanitized_build || skip "ASan build: valgrind cannot run sanitized binaries"
	CG=
}

teardown() {
	[ -z "$CG" ] || remove_cgroup "$CG"
}

@test "memcheck: every BPF tool, a short run, 0 errors and 0 definite leaks" {
	for t in $HT_TOOLS; do
		"$HT_BUILD/huatuo-$t" --check >/dev/null 2>&1 || continue
		run valgrind --error-exitcode=3 --leak-check=full --errors-for-leak-kinds=definite \
			--suppressions="$HT_TOP/tests/valgrind.supp" "$HT_BUILD/huatuo-$t" -j -d 1
		[ "$status" -eq 0 ] || fail "huatuo-$t under valgrind: exit $status: $(grep -E '==[0-9]+==' <<<"$output" | tail -20)"
		assert_output --partial "ERROR SUMMARY: 0 errors"
		assert_output --regexp "definitely lost: 0 bytes|no leaks are possible"
	done
}

@test "memcheck: huatuo-capture running tools and writing its bundle, 0 errors and 0 definite leaks" {
	run valgrind --error-exitcode=3 --leak-check=full --errors-for-leak-kinds=definite \
		--suppressions="$HT_TOP/tests/valgrind.supp" "$HT_BUILD/huatuo-capture" -d 1 \
		-o "$BATS_TEST_TMPDIR/bundle" --tools oom,hungtask,netdev,pfc --archive
	[ "$status" -eq 0 ] || fail "huatuo-capture under valgrind: exit $status: $(grep -E '==[0-9]+==' <<<"$output" | tail -20)"
	assert_output --partial "ERROR SUMMARY: 0 errors"
	assert_output --regexp "definitely lost: 0 bytes|no leaks are possible"
	[ -s "$BATS_TEST_TMPDIR/bundle/summary.txt" ] && [ -s "$BATS_TEST_TMPDIR/bundle.tar.gz" ]
}

@test "memcheck: huatuo-oom reporting a real kill" {
	[ -n "$(memcg_root)" ] || skip "no memory cgroup"
	CG=$(make_memcg "rtest_vg_$$" $((64 << 20)))
	OUT=$BATS_TEST_TMPDIR/out
	valgrind --error-exitcode=3 --leak-check=full --errors-for-leak-kinds=definite \
		--suppressions="$HT_TOP/tests/valgrind.supp" --log-file="$BATS_TEST_TMPDIR/vg" \
		"$HT_BUILD/huatuo-oom" -j -c 1 -d 60 --cgroup "/rtest_vg_$$" > "$OUT" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	for _ in $(seq 200); do grep -q '^Tracing' "$BATS_TEST_TMPDIR/err" && break; sleep 0.1; done
	sh -c 'echo $$ > "$1/cgroup.procs"; exec python3 "$2" 200' _ "$CG" \
		"$BATS_TEST_DIRNAME/../helpers/mem-alloc.py" || true
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 0 ] || fail "exit $rc: $(tail -30 "$BATS_TEST_TMPDIR/vg")"
	jq -e '.tracer_name == "oom"' "$OUT"
	grep -q "ERROR SUMMARY: 0 errors" "$BATS_TEST_TMPDIR/vg"
}
