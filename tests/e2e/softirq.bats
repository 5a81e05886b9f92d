#!/usr/bin/env bats
# huatuo-softirq against real late ticks: KERN_ERR lines written to /dev/kmsg are printed on
# the serial console with interrupts off (~16-20 ms per 950-character line), on the writer's
# CPU (kernel-triggers.md, section 6). Everything is filtered to that CPU with --cpu.
load ../lib/common

CPU=1

setup() {
	require_bpf
	[ "$(nproc)" -ge 2 ] || CPU=0
	OUT=$BATS_TEST_TMPDIR/out
	ERR=$BATS_TEST_TMPDIR/err
}

teardown() {
	stop_tracer
	[ -n "${BUSY_PID:-}" ] && kill "$BUSY_PID" 2>/dev/null
	true
}

# A console that prints KERN_ERR synchronously is needed for real irq-off gaps.
require_console() {
	local level
	level=$(awk '{print $1}' /proc/sys/kernel/printk)
	[ "$level" -gt 3 ] || skip "console_loglevel $level hides KERN_ERR lines"
	grep -q . /proc/consoles 2>/dev/null || skip "no console registered"
}

# Writes 10 long KERN_ERR lines from CPU $CPU; prints the writer's pid.
kmsg_writer() {
	taskset -c "$CPU" sh -c '
		echo $$
		L=$(printf "K%.0s" $(seq 1 950))
		for i in 1 2 3 4 5 6 7 8 9 10; do echo "<3>rtest-softirq $i $L" > /dev/kmsg; done'
}

@test "--check: tick and tick_stop hooks attach without kprobes" {
	run --separate-stderr "$HT_BUILD/huatuo-softirq" --check --json
	assert_success
	jq -e '[.hooks[].hook] | index("tick") != null and index("tick_stop") != null' <<<"$output"
	jq -e '[.hooks[] | select(.hook == "tick") | .target][0] | test("hrtimer_expire_entry|account_process_tick")' <<<"$output"
}

@test "console printk with irqs off: late ticks on that CPU, offtime >= threshold, writer's stack" {
	require_console
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-softirq" -j -t 10ms --cpu "$CPU" -d 30
	run kmsg_writer
	assert_success
	writer=${lines[0]}
	sleep 0.3
	stop_tracer
	assert_equal "$TRACER_RC" 0
	assert_ndjson "$OUT"
	# every event: this CPU, at or above the threshold, with the contract's fields
	jq -e --argjson cpu "$CPU" '.tracer_name == "softirq" and .tracer_type == "auto"
		and .tracer_data.cpu == $cpu and .tracer_data.threshold == 10000000
		and .tracer_data.offtime >= .tracer_data.threshold
		and (.tracer_data.now | type) == "number" and (.tracer_data.comm | type) == "string"
		and (.tracer_data.pid | type) == "number"' "$OUT" > /dev/null ||
		fail "bad event: $(cat "$OUT")"
	run jq -c --argjson pid "$writer" 'select(.tracer_data.pid == $pid)' "$OUT"
	[ "${#lines[@]}" -ge 1 ] || fail "no late tick while $writer printed: $(cat "$OUT" "$ERR")"
	# the late tick interrupted the console output, not BPF machinery
	jq -e --argjson pid "$writer" 'select(.tracer_data.pid == $pid) | .tracer_data.stack
		| (test("console|printk|serial8250|uart")) and (test("^bpf_trace_run") | not)' "$OUT" > /dev/null ||
		fail "stack does not show the console path: $(cat "$OUT")"
}

@test "default threshold (100ms) on an idle CPU: no report in 3 s (NO_HZ idle gaps excluded)" {
	run --separate-stderr "$HT_BUILD/huatuo-softirq" -j -d 3
	assert_success
	assert_equal "$output" ""
}

@test "a tiny threshold on a busy CPU is rate limited per CPU (--rate)" {
	taskset -c "$CPU" sh -c 'while :; do :; done' &
	BUSY_PID=$!
	run --separate-stderr timeout --preserve-status -s INT 10 \
		"$HT_BUILD/huatuo-softirq" -j -t 1ns --cpu "$CPU" --rate 2 -d 2.5
	kill "$BUSY_PID"
	BUSY_PID=
	assert_success
	n=${#lines[@]}
	# 4 ms ticks: ~600 gaps above 1 ns; 2 per second pass -> at most 6 in 2.5 s
	[ "$n" -ge 2 ] && [ "$n" -le 6 ] || fail "$n reports with --rate 2 over 2.5 s"
	printf '%s\n' "${lines[@]}" | jq -e --argjson cpu "$CPU" 'select(.tracer_data.cpu != $cpu)' && fail "event of another CPU"
	true
}

@test "fallback flavors (raw_tp, classic tracepoint) measure ticks too" {
	taskset -c "$CPU" sh -c 'while :; do :; done' &
	BUSY_PID=$!
	for kind in raw_tp tracepoint; do
		run --separate-stderr timeout --preserve-status -s INT 10 \
			"$HT_BUILD/huatuo-softirq" -j -t 1ns --cpu "$CPU" --probe "$kind" -c 3
		assert_success
		assert_equal "${#lines[@]}" 3
		# a busy CPU at HZ=100..1000 ticks every 1-10 ms (a missed tick or steal allowed)
		printf '%s\n' "${lines[@]}" | jq -e --argjson cpu "$CPU" '.tracer_data.cpu == $cpu
			and .tracer_data.offtime > 500000 and .tracer_data.offtime < 50000000' > /dev/null ||
			fail "$kind: ${lines[*]}"
	done
}

@test "SIGTERM and a closed pipe end with exit 0 and release every BPF program" {
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-softirq" -j
	ids=$(bpf_ids_of_pid "$TRACER_PID")
	kill -TERM "$TRACER_PID"
	wait "$TRACER_PID"
	rc=$?
	TRACER_PID=
	assert_equal "$rc" 0
	assert_bpf_released "$ids"

	taskset -c "$CPU" sh -c 'while :; do :; done' &
	BUSY_PID=$!
	run bash -c "set -o pipefail; timeout --preserve-status -s INT 20 '$HT_BUILD/huatuo-softirq' -j -t 1ns --cpu $CPU | head -n 1 > /dev/null"
	assert_success
}

@test "bad --cpu and --rate values exit 64 naming the option" {
	run --separate-stderr "$HT_BUILD/huatuo-softirq" --cpu 99999
	assert_equal "$status" 64
	[[ "$stderr" == *"--cpu"* ]] || fail "$stderr"
	run --separate-stderr "$HT_BUILD/huatuo-softirq" --rate x
	assert_equal "$status" 64
	[[ "$stderr" == *"--rate"* ]] || fail "$stderr"
}
