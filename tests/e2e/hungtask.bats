#!/usr/bin/env bats
# huatuo-hungtask against a real hung task: dd writes 16-24 KiB with conv=fsync to a loop
# device whose writes are throttled to 4 KiB/s on the root blkio cgroup, so it sleeps in
# folio_wait_writeback (D state) for 4-6 s; hung_task_timeout_secs=1 makes khungtaskd report
# it after ~2 s (kernel-triggers.md, section 7, recipe A). hung_task_warnings=0 keeps the
# kernel log quiet (the tracepoint fires anyway). Teardown lifts the throttle, detaches the
# loop device and restores both sysctls, whatever happened.
load ../lib/common

THROTTLE=/sys/fs/cgroup/blkio/blkio.throttle.write_bps_device
SYS=/proc/sys/kernel

setup() {
	require_bpf
	require_cmd losetup lsblk dd
	[ -f "$THROTTLE" ] || skip "needs the v1 blkio throttle ($THROTTLE)"
	[ -f "$SYS/hung_task_timeout_secs" ] || skip "kernel without CONFIG_DETECT_HUNG_TASK"
	OUT=$BATS_TEST_TMPDIR/out
	ERR=$BATS_TEST_TMPDIR/err
	OLD_TIMEOUT=$(cat "$SYS/hung_task_timeout_secs")
	OLD_WARNINGS=$(cat "$SYS/hung_task_warnings")
	# a previous run that died may have left the test value behind
	[ "$OLD_TIMEOUT" -gt 1 ] || OLD_TIMEOUT=120
	WORK=$(mktemp -d /var/tmp/rtest_hung.XXXXXX)
	truncate -s 16M "$WORK/img"
	LOOP=$(losetup -f --show "$WORK/img")
	MAJMIN=$(lsblk -dno MAJ:MIN "$LOOP" | tr -d ' ')
}

teardown() {
	stop_tracer
	[ -n "${MAJMIN:-}" ] && echo "$MAJMIN 0" > "$THROTTLE"
	[ -n "${DD_PID:-}" ] && { kill "$DD_PID" 2>/dev/null; wait "$DD_PID" 2>/dev/null; }
	[ -n "${OLD_TIMEOUT:-}" ] && echo "$OLD_TIMEOUT" > "$SYS/hung_task_timeout_secs"
	[ -n "${OLD_WARNINGS:-}" ] && echo "$OLD_WARNINGS" > "$SYS/hung_task_warnings"
	[ -n "${LOOP:-}" ] && losetup -d "$LOOP"
	rm -rf "${WORK:?}"
}

# start_hung KIB: one write of KIB KiB (one folio) with fsync in the background at 4 KiB/s; sets DD_PID
start_hung() {
	echo "$MAJMIN 4096" > "$THROTTLE"
	dd if=/dev/zero of="$LOOP" bs="$1"k count=1 conv=fsync 2>/dev/null &
	DD_PID=$!
}

# wait until dd is in D state (at most 5 s)
wait_dstate() {
	local i
	for i in $(seq 50); do
		[ "$(awk '{print $3}' /proc/"$DD_PID"/stat 2>/dev/null)" = D ] && return 0
		sleep 0.1
	done
	fail "dd ($DD_PID) never entered D state"
}

finish_hung() {
	wait "$DD_PID"
	DD_PID=
}

lower_timeout() {
	echo 0 > "$SYS/hung_task_warnings"
	echo 1 > "$SYS/hung_task_timeout_secs"
}

@test "--check: sched_process_hang, D-state iterator and cpus_stack hooks" {
	run --separate-stderr "$HT_BUILD/huatuo-hungtask" --check --json
	assert_success
	jq -e '[.hooks[].hook] | index("sched_process_hang") != null and index("d_state_tasks") != null
		and index("cpus_stack") != null' <<<"$output"
}

@test "a real hung dd is reported with its pid, D-state tasks and every CPU's stack" {
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-hungtask" -j --comm dd -d 40
	lower_timeout
	start_hung 16
	dd_pid=$DD_PID
	finish_hung
	stop_tracer
	assert_equal "$TRACER_RC" 0
	assert_ndjson "$OUT"
	run jq -c --argjson pid "$dd_pid" 'select(.tracer_data.pid == $pid)' "$OUT"
	[ "${#lines[@]}" -ge 1 ] || fail "no event for dd ($dd_pid): $(cat "$OUT" "$ERR")"
	ncpu=$(grep -c '^processor' /proc/cpuinfo)
	jq -e --argjson pid "$dd_pid" --argjson ncpu "$ncpu" 'select(.tracer_data.pid == $pid) |
		.tracer_name == "hungtask" and .tracer_type == "auto"
		and .tracer_data.comm == "dd" and .tracer_data.tid == $pid
		and .tracer_data.d_process_count >= 1
		and (.tracer_data.d_process_count == (.tracer_data.blocked_processes | length))
		and (.tracer_data.blocked_processes_stack | contains("pid \($pid) tid \($pid) comm dd state D"))
		and ([.tracer_data.blocked_processes[] | select(.tid == $pid)][0]
		     | (.stack | test("wait|fsync")) and .wait_ns >= 100000000)
		and (.tracer_data.stack | test("folio_wait|fsync|wait"))
		and (.tracer_data.cpus_stack | [scan("(?m)^CPU#[0-9]+: (pid|no answer)")] | length) == $ncpu
		and (.tracer_data.cpus_stack | [scan("(?m)^CPU#[0-9]+: pid")] | length) >= 1
		and .tracer_data.hung_task_timeout_secs == 1' "$OUT" > /dev/null ||
		fail "unexpected event: $(jq -c --argjson pid "$dd_pid" 'select(.tracer_data.pid == $pid)' "$OUT")"
}

@test "--backoff: repeated reports of one task are suppressed, --backoff 0 reports each" {
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-hungtask" -j --comm dd -d 40 --backoff 0
	tracer0=$TRACER_PID
	start_tracer "$OUT.b" "$ERR.b" "$HT_BUILD/huatuo-hungtask" -j --comm dd -d 40
	lower_timeout
	start_hung 32
	dd_pid=$DD_PID
	finish_hung
	stop_tracer
	TRACER_PID=$tracer0
	stop_tracer
	n0=$(jq --argjson pid "$dd_pid" 'select(.tracer_data.pid == $pid)' -c "$OUT" | wc -l)
	nb=$(jq --argjson pid "$dd_pid" 'select(.tracer_data.pid == $pid)' -c "$OUT.b" | wc -l)
	[ "$n0" -ge 2 ] || fail "--backoff 0: $n0 reports over a ~8 s hang"
	[ "$nb" -eq 1 ] || fail "default back-off: $nb reports, want 1"
	# the report after suppressed ones would count them; the first has none
	jq -e 'select(.tracer_data.hang_count == 1) | .tracer_data.suppressed == 0' "$OUT.b" > /dev/null
}

@test "fallback flavors (raw_tp, classic tracepoint) report the same pid, comm and stack" {
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-hungtask" -j --comm dd -d 40 --probe raw_tp
	t0=$TRACER_PID
	start_tracer "$OUT.tp" "$ERR.tp" "$HT_BUILD/huatuo-hungtask" -j --comm dd -d 40 --probe tracepoint
	lower_timeout
	start_hung 16
	dd_pid=$DD_PID
	finish_hung
	stop_tracer
	TRACER_PID=$t0
	stop_tracer
	for f in "$OUT" "$OUT.tp"; do
		jq -e --argjson pid "$dd_pid" 'select(.tracer_data.tid == $pid) |
			.tracer_data.pid == $pid and .tracer_data.comm == "dd"
			and (.tracer_data.stack | test("folio_wait|fsync|wait"))' "$f" > /dev/null ||
			fail "$f: no complete event for dd ($dd_pid): $(cat "$f")"
	done
}

@test "reports of one khungtaskd pass share one D-state list; a report 1.5 s later gets a new one" {
	local testrun=$HT_BUILD/ht-testrun i
	[ -x "$testrun" ] || skip "no $testrun (make builds it)"
	start_hung 24
	wait_dstate
	# synthetic reports (BPF_PROG_TEST_RUN of the raw_tp program) while dd is in D state
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-hungtask" -j --probe raw_tp --backoff 0 \
		--burst 0 -d 30
	for i in 1 2 3 4 5; do
		"$testrun" hungtask_hang_raw 0 > /dev/null || fail "ht-testrun failed"
	done
	sleep 1.5
	"$testrun" hungtask_hang_raw 0 > /dev/null || fail "ht-testrun failed"
	wait_lines 6
	stop_tracer
	assert_equal "$TRACER_RC" 0
	assert_ndjson "$OUT"
	# how long dd had been blocked, as each report's D-state list saw it
	run jq -r --argjson pid "$DD_PID" \
		'[.tracer_data.blocked_processes[] | select(.tid == $pid) | .wait_ns][0] // "none"' "$OUT"
	assert_equal "${#lines[@]}" 6
	for i in 1 2 3 4; do
		assert_equal "${lines[$i]}" "${lines[0]}"
	done
	[ "${lines[0]}" != none ] && [ "${lines[5]}" != none ] ||
		fail "dd missing from a report: ${lines[*]}"
	[ "${lines[5]}" -gt $((lines[0] + 1000000000)) ] ||
		fail "the report 1.5 s later reused the first pass: ${lines[*]}"
	finish_hung
}

@test "--snapshot lists a D-state task now (tracer_type manual), table and JSON" {
	start_hung 12
	wait_dstate
	run --separate-stderr "$HT_BUILD/huatuo-hungtask" --snapshot -j
	assert_success
	assert_equal "${#lines[@]}" 1
	jq -e --argjson pid "$DD_PID" '.tracer_type == "manual" and .tracer_name == "hungtask"
		and .tracer_data.d_process_count >= 1
		and ([.tracer_data.blocked_processes[] | select(.pid == $pid and .comm == "dd")] | length) == 1
		and (.tracer_data.blocked_processes_stack | contains("pid \($pid) "))
		and (.tracer_data.cpus_stack | test("^CPU#"))' <<<"$output" ||
		fail "snapshot without dd ($DD_PID): $output"
	run --separate-stderr "$HT_BUILD/huatuo-hungtask" --snapshot -o "$BATS_TEST_TMPDIR/store"
	assert_success
	assert_output --partial "tasks in D state"
	assert_output --partial "pid $DD_PID tid $DD_PID comm dd state D"
	[[ "$stderr" != *Tracing* ]] || fail "a snapshot printed the tracing banner: $stderr"
	# the -o store keeps the snapshot's JSON line, like any event
	jq -e '.tracer_type == "manual"' "$BATS_TEST_TMPDIR/store/hungtask" ||
		fail "no snapshot in the -o store"
	run --separate-stderr "$HT_BUILD/huatuo-hungtask" --snapshot -o /etc/passwd/x
	assert_equal "$status" 1
	[[ "$stderr" == *"cannot use --output /etc/passwd/x"* ]] || fail "$stderr"
	finish_hung
}

@test "-p filters in the kernel; SIGTERM exits 0 and releases every BPF program" {
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-hungtask" -j -p 1 -d 40
	ids=$(bpf_ids_of_pid "$TRACER_PID")
	lower_timeout
	start_hung 12
	finish_hung
	kill -TERM "$TRACER_PID"
	wait "$TRACER_PID"
	rc=$?
	TRACER_PID=
	assert_equal "$rc" 0
	assert_equal "$(wc -c < "$OUT")" 0
	assert_bpf_released "$ids"
}

@test "bad --backoff and --burst values exit 64 naming the option" {
	run --separate-stderr "$HT_BUILD/huatuo-hungtask" --backoff 5h
	assert_equal "$status" 64
	[[ "$stderr" == *"--backoff"* ]] || fail "$stderr"
	run --separate-stderr "$HT_BUILD/huatuo-hungtask" --burst -3
	assert_equal "$status" 64
	[[ "$stderr" == *"--burst"* ]] || fail "$stderr"
}
