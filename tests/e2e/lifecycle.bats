#!/usr/bin/env bats
# Clean exits for every tool that can run on this kernel: SIGINT, SIGTERM, SIGHUP,
# --duration and a reader that goes away all exit 0 and release every BPF program and link
# the tool held.
load ../lib/common

setup() {
	require_bpf
	OUT=$BATS_TEST_TMPDIR/out
	ERR=$BATS_TEST_TMPDIR/err
}

teardown() {
	stop_tracer
}

runnable_tools() {
	local t
	for t in $HT_TOOLS; do
		"$HT_BUILD/huatuo-$t" --check >/dev/null 2>&1 && echo "$t"
	done
}

@test "SIGINT, SIGTERM and SIGHUP: exit 0, BPF released, output whole" {
	for t in $(runnable_tools); do
		for sig in INT TERM HUP; do
			start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-$t" -j ||
				fail "huatuo-$t did not start: $(cat "$ERR")"
			ids=$(bpf_ids_of_pid "$TRACER_PID")
			kill -"$sig" "$TRACER_PID"
			wait "$TRACER_PID"
			rc=$?
			TRACER_PID=
			[ "$rc" -eq 0 ] || fail "huatuo-$t on SIG$sig: exit $rc"
			[ -z "$ids" ] || assert_bpf_released "$ids"
			assert_ndjson "$OUT"
		done
	done
}

@test "--duration ends the run with exit 0 in time" {
	for t in $(runnable_tools); do
		start=$(date +%s%N)
		run timeout -s KILL 10 "$HT_BUILD/huatuo-$t" -j -d 1
		[ "$status" -eq 0 ] || fail "huatuo-$t -d 1: exit $status: $output"
		elapsed=$((($(date +%s%N) - start) / 1000000))
		[ "$elapsed" -lt 5000 ] || fail "huatuo-$t -d 1 took ${elapsed} ms"
	done
}

@test "a reader that goes away (| head) ends the tool at once with exit 0" {
	for t in $(runnable_tools); do
		run bash -c "timeout -s KILL 10 '$HT_BUILD/huatuo-$t' -j 2>/dev/null | head -c 0; echo \${PIPESTATUS[0]}"
		assert_equal "${lines[-1]}" 0
	done
}

@test "-d 0 attaches and leaves at once" {
	for t in $(runnable_tools); do
		run timeout -s KILL 10 "$HT_BUILD/huatuo-$t" -d 0
		[ "$status" -eq 0 ] || fail "huatuo-$t -d 0: exit $status: $output"
	done
}

@test "the kernel accepts every tool's BTF (libbpf would drop it silently)" {
	for t in $(runnable_tools); do
		run --separate-stderr "$HT_BUILD/huatuo-$t" -v -d 0
		[[ "$stderr" != *"BTF loading error"* ]] || fail "huatuo-$t: the kernel rejected its BTF"
	done
}

@test "tools that print stacks read /proc/kallsyms once they run, not when stopped at once" {
	local t trace=$BATS_TEST_TMPDIR/strace
	require_cmd strace
	for t in dropwatch hungtask softirq softlockup; do
		"$HT_BUILD/huatuo-$t" --check >/dev/null 2>&1 || continue
		ASAN_OPTIONS=detect_leaks=0 strace -f -qq -e trace=openat -e signal=none -o "$trace" \
			"$HT_BUILD/huatuo-$t" -d 0 >/dev/null 2>&1 || fail "huatuo-$t -d 0 failed"
		! grep -q '"/proc/kallsyms"' "$trace" || fail "huatuo-$t -d 0 read /proc/kallsyms"
		ASAN_OPTIONS=detect_leaks=0 strace -f -qq -e trace=openat -e signal=none -o "$trace" \
			"$HT_BUILD/huatuo-$t" -d 1 >/dev/null 2>&1 || fail "huatuo-$t -d 1 failed"
		grep -q '"/proc/kallsyms"' "$trace" || fail "huatuo-$t -d 1 did not read /proc/kallsyms"
	done
}
