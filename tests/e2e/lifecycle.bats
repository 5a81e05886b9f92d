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

# The programs a running tool holds, one "ID INSNS NAME" line each (INSNS as the kernel runs it).
held_programs() {
	local kind id
	bpf_ids_of_pid "$1" | while read -r kind id; do
		[ "$kind" = prog ] || continue
		bpftool prog show id "$id" -j | jq -r '"\(.id) \(.bytes_xlated / 8) \(.name)"'
	done
}

@test "the program verified on another CPU is the one held, attached and tail-called; no stand-in is left" {
	local t held map slots id
	for t in $(runnable_tools); do
		start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-$t" -j ||
			fail "huatuo-$t did not start: $(cat "$ERR")"
		held=$(held_programs "$TRACER_PID")
		# libbpf loads a two-instruction stand-in for it (libcommon/bgload.c)
		! awk 'NF && $2 <= 2 { found = 1 } END { exit !found }' <<<"$held" ||
			fail "huatuo-$t holds a stand-in: $held"
		# every program-array slot: a program of the tool's own
		for map in $(bpf_map_ids "$TRACER_PID"); do
			[ "$(bpftool map show id "$map" -j | jq -r .type)" = prog_array ] || continue
			slots=$(bpftool map dump id "$map" -j |
				jq -r '.[].value | map(ltrimstr("0x")) | reverse | join("")')
			[ -n "$slots" ] || fail "huatuo-$t: program array $map is empty"
			for id in $slots; do
				id=$((16#$id))
				grep -q "^$id " <<<"$held" ||
					fail "huatuo-$t: program array $map holds program $id, not one of: $held"
			done
		done
		stop_tracer
	done
	# the ones it is done for here: a tail-called one, a perf_event one, a raw_tp one (not
	# with one CPU to run on)
	taskset -c 0 "$HT_BUILD/huatuo-netrxlat" -v --check 2>&1 | grep -q "verified on another CPU" &&
		fail "huatuo-netrxlat verified a program on another CPU with one CPU to run on"
	[ "$(nproc)" -ge 2 ] || skip "one CPU"
	for t in netrxlat:netrxlat_report softlockup:softlockup_sample memreclaim:memreclaim_fill; do
		run --separate-stderr "$HT_BUILD/huatuo-${t%%:*}" -v --check
		assert_success
		[[ "$stderr" == *"${t#*:} verified on another CPU while libbpf loaded the others"* ]] ||
			fail "huatuo-${t%%:*}: $stderr"
	done
}

# The value of netrxlat's ht_tail_ready, of the maps MAPS (a JSON array of bpftool map show).
tail_gate() {
	local id hex
	id=$(jq -r 'map(select(.name == "ht_tail_ready")) | .[0].id // empty' <<<"$1")
	[ -n "$id" ] || { echo "no ht_tail_ready"; return; }
	hex=$(bpftool map dump id "$id" -j | jq -r '.[0].value | map(ltrimstr("0x")) | reverse | join("")')
	echo $((16#$hex))
}

@test "maps made on another CPU are the ones declared, with the object's BTF; its probes say nothing" {
	local cache=$BATS_TEST_TMPDIR/cache i made= maps stamps btf
	[ "$(nproc)" -ge 2 ] || skip "one CPU"
	# a first start walks kernel BTF meanwhile, time enough for the 2 MB table of stamps
	# (libcommon/bgload.c) but for a late thread: one start of several has to show it (with
	# the subset, whatever the suite's HUATUO_BTF_FULL: without, the load comes at once)
	for i in 1 2 3 4 5 6 7 8; do
		rm -rf "$cache"
		HUATUO_BTF_FULL= HUATUO_BTF_CACHE=$cache \
			start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-netrxlat" -v -j ||
			fail "huatuo-netrxlat did not start: $(cat "$ERR")"
		grep -q "map stamps created on another CPU" "$ERR" && { made=1; break; }
		stop_tracer
	done
	[ -n "$made" ] || fail "no start of 8 took a map made on another CPU: $(cat "$ERR")"
	maps=$(for id in $(bpf_map_ids "$TRACER_PID"); do bpftool map show id "$id" -j; done | jq -s .)
	# one, as bpf/netrxlat.bpf.c declares it: array of 32768 64-byte sets, mmap-able
	stamps=$(jq -c 'map(select(.name == "stamps"))' <<<"$maps")
	assert_equal "$(jq -r 'length' <<<"$stamps")" 1
	assert_equal "$(jq -r '.[0] | "\(.type) \(.bytes_key) \(.bytes_value) \(.max_entries) \(.flags)"' \
		<<<"$stamps")" "array 4 64 32768 1024"
	# its value type in its BTF: the object's struct stamp_set, as libbpf would have given it
	btf=$(jq -r '.[0].btf_id // empty' <<<"$stamps")
	[ -n "$btf" ] || fail "stamps has no BTF: $stamps"
	bpftool btf dump id "$btf" | grep -q "^\[[0-9]*\] STRUCT 'stamp_set'" ||
		fail "BTF $btf of stamps has no struct stamp_set"
	# attached while netrxlat_report was verified, the stages call it: their gate is open
	assert_equal "$(tail_gate "$maps")" 1
	stop_tracer
	# libbpf's messages about the object loaded there for its probes (bpf/prewarm.bpf.c) are
	# not the tool's: none even with -vv, which shows the tool's own
	rm -rf "$cache"
	HUATUO_BTF_CACHE=$cache run --separate-stderr "$HT_BUILD/huatuo-netrxlat" -vv --check
	assert_success
	[[ "$stderr" == *"prog 'netrxlat_report'"* ]] || fail "no libbpf debug lines: $stderr"
	[[ "$stderr" != *prewarm* ]] || fail "$(grep prewarm <<<"$stderr")"
	# the tool's object is opened there too: what libbpf says of the open comes once, before
	# the load's lines; once too when the start ends without a subset and opens it again
	assert_equal "$(grep -c "loading object 'netrxlat_bpf'" <<<"$stderr")" 1
	grep -n -e "loading object 'netrxlat_bpf'" -e "prog 'netrxlat_report'" <<<"$stderr" |
		head -1 | grep -q "loading object" || fail "the open's lines after the load's: $stderr"
	HUATUO_BTF_FULL=1 run --separate-stderr "$HT_BUILD/huatuo-netrxlat" -vv --check
	assert_success
	assert_equal "$(grep -c "loading object 'netrxlat_bpf'" <<<"$stderr")" 1
	[[ "$stderr" == *"loading kernel BTF '/sys/kernel/btf/vmlinux'"* ]] || fail "$stderr"
	# with one CPU to run on, nothing is made or verified elsewhere; the gate opens all the same
	rm -rf "$cache"
	HUATUO_BTF_CACHE=$cache start_tracer "$OUT" "$ERR" taskset -c 0 "$HT_BUILD/huatuo-netrxlat" -v -j ||
		fail "huatuo-netrxlat did not start: $(cat "$ERR")"
	! grep -q "on another CPU" "$ERR" || fail "$(cat "$ERR")"
	maps=$(for id in $(bpf_map_ids "$TRACER_PID"); do bpftool map show id "$id" -j; done | jq -s .)
	assert_equal "$(tail_gate "$maps")" 1
}

@test "a program the kernel refuses while it is verified on another CPU fails the start as before" {
	local so=$HT_BUILD/refuse-prog.so asan=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
	[ -f "$so" ] || skip "no $so (make all builds it)"
	# netrxlat's report program (tail-called) is the one verified on another CPU
	HT_REFUSE_PROG=netrxlat_report LD_PRELOAD=$so ASAN_OPTIONS=$asan \
		run --separate-stderr "$HT_BUILD/huatuo-netrxlat" --check
	assert_failure 1
	assert_equal "${#stderr_lines[@]}" 1
	[[ "$stderr" == *"load error: failed to load BPF skeleton 'netrxlat_bpf': -22)" ]] ||
		fail "$stderr"
	# -v: the program and the verifier's log, as libbpf gives them
	HT_REFUSE_PROG=netrxlat_report LD_PRELOAD=$so ASAN_OPTIONS=$asan \
		run --separate-stderr "$HT_BUILD/huatuo-netrxlat" -v --check
	assert_failure 1
	[[ "$stderr" == *"prog 'netrxlat_report': BPF program load failed: Invalid argument"* ]] ||
		fail "$stderr"
	[[ "$stderr" == *"refused by refuse-prog.so (HT_REFUSE_PROG=netrxlat_report)"* ]] ||
		fail "$stderr"
	# softlockup's perf_event sampler, verified on another CPU too
	HT_REFUSE_PROG=softlockup_samp LD_PRELOAD=$so ASAN_OPTIONS=$asan \
		run --separate-stderr "$HT_BUILD/huatuo-softlockup" --check
	assert_failure 1
	[[ "$stderr" == *"load error: failed to load BPF skeleton 'softlockup_bpf': -22)" ]] ||
		fail "$stderr"
}
