#!/usr/bin/env bats
# huatuo-softlockup. A real soft lockup cannot be raised safely here, so:
#  - the kernel-report path gets a record the kernel writes (facility 0) with the exact text
#    watchdog_timer_fn prints: the prefix of an nftables log rule, on one UDP datagram to a
#    port only this test uses (level warn keeps it off the console). The same line written to
#    /dev/kmsg by a user (facility 1) must not count;
#  - the early detector gets a real, short kernel-mode stall: tests/helpers/cpu-spin runs a
#    BPF program through BPF_PROG_TEST_RUN that spins 400 ms in the kernel, interrupts on,
#    without scheduling (PREEMPT_NONE), pinned to one CPU.
load ../lib/common

CPU=1

setup_file() {
	SPIN_DIR="$BATS_FILE_TMPDIR"
	export SPIN_DIR
	build_bpf_helper cpu-spin "$SPIN_DIR" || true
}

setup() {
	require_bpf
	[ "$(nproc)" -ge 2 ] || CPU=0
	OUT=$BATS_TEST_TMPDIR/out
	ERR=$BATS_TEST_TMPDIR/err
	NFT_TABLE=rtest_ps_$$
	NFT_PORT=$((20000 + $$ % 20000))
}

teardown() {
	stop_tracer
	nft delete table ip "$NFT_TABLE" 2>/dev/null
	true
}

require_spinner() {
	[ -x "$SPIN_DIR/cpu-spin" ] || skip "cpu-spin helper not built (needs clang, gcc, libbpf-dev)"
	local p=/sys/kernel/debug/sched/preempt
	if [ -r "$p" ] && ! grep -q '(none)' "$p"; then
		skip "preemptible kernel ($(cat $p)): a test run can be preempted"
	fi
}

# kernel_report CPU COMM PID: a kernel record (facility 0) that reads like watchdog_timer_fn's
# "watchdog: BUG: soft lockup - CPU#1 stuck for 23s! [comm:pid]", printed from CPU $CPU
kernel_report() {
	require_cmd nft
	nft add table ip "$NFT_TABLE" &&
		nft add chain ip "$NFT_TABLE" out '{ type filter hook output priority 0; }' &&
		nft add rule ip "$NFT_TABLE" out ip daddr 127.0.0.1 udp dport "$NFT_PORT" \
			log prefix "\"watchdog: BUG: soft lockup - CPU#$1 stuck for 23s! [$2:$3] \"" level warn ||
		fail "cannot add the nftables log rule"
	taskset -c "$CPU" bash -c "echo x > /dev/udp/127.0.0.1/$NFT_PORT"
	nft delete table ip "$NFT_TABLE"
}

# spin_and_stop MS: hold CPU $CPU in the kernel for MS ms (cpu-spin), then stop the tracer;
# sets SPINNER to the spinner's pid
spin_and_stop() {
	run taskset -c "$CPU" "$SPIN_DIR/cpu-spin" "$SPIN_DIR/cpu-spin.bpf.o" "$1"
	assert_success
	SPINNER=${lines[0]}
	sleep 0.5
	stop_tracer
	assert_equal "$TRACER_RC" 0
}

# user_report CPU COMM PID: the same line written to /dev/kmsg by a user (issue 21)
user_report() {
	taskset -c "$CPU" sh -c "echo '<4>watchdog: BUG: soft lockup - CPU#$1 stuck for 23s! [$2:$3]' > /dev/kmsg"
}

@test "--check: console, sched_switch, early detector and cpus_stack hooks without kprobes" {
	run --separate-stderr "$HT_BUILD/huatuo-softlockup" --check --json
	assert_success
	jq -e '[.hooks[].hook] | index("kernel_report") != null and index("context_switch") != null
		and index("early_detector") != null and index("cpus_stack") != null' <<<"$output"
	jq -e '[.hooks[] | select(.hook == "kernel_report")][0].target == "console"
		or [.hooks[] | select(.hook == "kernel_report")][0].target == "printk/console"' <<<"$output"
	run --separate-stderr "$HT_BUILD/huatuo-softlockup" --check --no-early --json
	assert_success
	jq -e '[.hooks[].hook] | index("early_detector") == null' <<<"$output"
}

@test "the kernel's soft-lockup report (a kernel record) is reported with cpu, pid, comm, cpus_stack" {
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-softlockup" -j --comm rtest-fake -d 30
	kernel_report 1 rtest-fake 4242
	# a line that only looks similar is ignored
	taskset -c "$CPU" sh -c "echo '<4>rtest: no soft lockup - CPU#1 here [rtest-fake:4242]' > /dev/kmsg"
	sleep 1
	stop_tracer
	assert_equal "$TRACER_RC" 0
	assert_ndjson "$OUT"
	assert_equal "$(wc -l < "$OUT")" 1
	ncpu=$(grep -c '^processor' /proc/cpuinfo)
	jq -e --argjson ncpu "$ncpu" '.tracer_name == "softlockup" and .tracer_type == "auto"
		and .tracer_data.source == "kernel" and .tracer_data.cpu == 1
		and .tracer_data.pid == 4242 and .tracer_data.comm == "rtest-fake"
		and .tracer_data.count == 1 and .tracer_data.stuck_ns == 23000000000
		and (.tracer_data.message | contains("BUG: soft lockup - CPU#1 stuck for 23s!"))
		and (.tracer_data.stack | test("printk"))
		and (.tracer_data.cpus_stack | [scan("(?m)^CPU#[0-9]+: (pid|no answer)")] | length) == $ncpu
		and (.tracer_data.cpus_stack | [scan("(?m)^CPU#[0-9]+: pid")] | length) >= 1' "$OUT" > /dev/null ||
		fail "unexpected event: $(cat "$OUT")"
}

@test "a user's /dev/kmsg line with the report's text is not taken for the kernel's (facility 1)" {
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-softlockup" -j -v --comm rtest-fake -d 30 --backoff 0
	user_report 1 rtest-fake 4242 # the line of issue 21
	sleep 1.2                     # the kernel side passes one report per CPU per second
	kernel_report 1 rtest-fake 4247
	for i in $(seq 30); do [ -s "$OUT" ] && break; sleep 0.1; done
	sleep 0.3
	stop_tracer
	assert_equal "$TRACER_RC" 0
	# only the kernel's record: the user's line was seen and dropped
	run jq -c '[.tracer_data.source, .tracer_data.pid, .tracer_data.cpu]' "$OUT"
	assert_output '["kernel",4247,1]'
	grep -q 'written to /dev/kmsg by a user' "$ERR" || fail "no -v note for the user's line: $(cat "$ERR")"
}

@test "fallback flavors (raw_tp, classic tracepoint) catch the kernel's report too" {
	for kind in raw_tp tracepoint; do
		start_tracer "$OUT.$kind" "$ERR" "$HT_BUILD/huatuo-softlockup" -j --comm rtest-fake -d 30 --probe "$kind"
		kernel_report 0 rtest-fake 4246
		sleep 0.5
		stop_tracer
		jq -e '.tracer_data.source == "kernel" and .tracer_data.cpu == 0 and .tracer_data.pid == 4246' \
			"$OUT.$kind" > /dev/null || fail "$kind: $(cat "$OUT.$kind")"
		sleep 1 # one kernel report per CPU per second passes
	done
}

@test "repeated reports of one CPU back off; --backoff 0 reports each and count grows" {
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-softlockup" -j --no-early --comm rtest-fake -d 30 --backoff 0
	t0=$TRACER_PID
	start_tracer "$OUT.b" "$ERR.b" "$HT_BUILD/huatuo-softlockup" -j --no-early --comm rtest-fake -d 30
	kernel_report 1 rtest-fake 4243
	sleep 1.2 # the kernel side passes one report per CPU per second
	kernel_report 1 rtest-fake 4243
	sleep 1
	stop_tracer
	TRACER_PID=$t0
	stop_tracer
	run jq -c '[.tracer_data.count]' "$OUT"
	assert_equal "${#lines[@]}" 2
	assert_equal "${lines[1]}" "[2]"
	assert_equal "$(wc -l < "$OUT.b")" 1
}

@test "early detector: a CPU held in the kernel for 400 ms is reported before the kernel would" {
	require_spinner
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-softlockup" -j -t 100ms --comm cpu-spin -d 30
	sleep 0.3 # a few samples, so every CPU has a last switch
	spin_and_stop 400
	spinner=$SPINNER
	assert_ndjson "$OUT"
	run jq -c --argjson pid "$spinner" 'select(.tracer_data.pid == $pid)' "$OUT"
	assert_equal "${#lines[@]}" 1 # once per stall
	jq -e --argjson pid "$spinner" --argjson cpu "$CPU" 'select(.tracer_data.pid == $pid) |
		.tracer_data.source == "early" and .tracer_data.cpu == $cpu
		and .tracer_data.comm == "cpu-spin" and .tracer_data.tid == $pid
		and .tracer_data.stuck_ns >= 100000000 and .tracer_data.stuck_ns < 400000000
		and .tracer_data.threshold == 100000000 and .tracer_data.count == 1
		and (.tracer_data.stack | test("bpf_prog_test_run|__sys_bpf"))
		and (.tracer_data.stack | test("(?m)^bpf_prog_[0-9a-f]{16}_cpu_spin\\+0x[0-9a-f]+ \\[bpf\\]$"))
		and (.tracer_data.cpus_stack | contains("CPU#\($cpu): pid \($pid) "))' "$OUT" > /dev/null ||
		fail "unexpected event: $(cat "$OUT")"
}

@test "early detector at -t 15ms never reports the tool itself (its loading, stacks, kallsyms)" {
	require_spinner
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-softlockup" -j -t 15ms -d 30 --backoff 0
	self=$TRACER_PID
	kernel_report 1 rtest-fake 4248 # the tool captures every CPU's stack
	spin_and_stop 100
	jq -e --argjson pid "$SPINNER" 'select(.tracer_data.pid == $pid)' "$OUT" > /dev/null ||
		fail "the detector missed the 100 ms stall: $(cat "$OUT")"
	run jq -c --argjson self "$self" 'select(.tracer_data.pid == $self) | .tracer_data | del(.cpus_stack)' "$OUT"
	assert_output ""
}

@test "early detector: busy CPUs that keep scheduling are not reported" {
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-softlockup" -j -t 100ms --comm dd -d 30
	# syscall-heavy and alone on its CPU: mostly in the kernel, never blocking
	run timeout 2 taskset -c "$CPU" dd if=/dev/zero of=/dev/null bs=64k
	sleep 0.3
	stop_tracer
	assert_equal "$TRACER_RC" 0
	assert_equal "$(wc -c < "$OUT")" 0
}

@test "SIGINT and a closed pipe end with exit 0 and release every BPF program and perf link" {
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-softlockup" -j
	ids=$(bpf_ids_of_pid "$TRACER_PID")
	[ "$(grep -c '^link' <<<"$ids")" -ge 3 ] || fail "expected tracepoint and perf links: $ids"
	stop_tracer
	assert_equal "$TRACER_RC" 0
	assert_bpf_released "$ids"

	( sleep 1; kernel_report 1 rtest-fake 4244 ) &
	run bash -c "set -o pipefail; timeout --preserve-status -s INT 20 '$HT_BUILD/huatuo-softlockup' -j --comm rtest-fake | head -n 1"
	assert_success
	[[ "$output" == *'"pid":4244'* ]] || fail "$output"
}

@test "bad --backoff exits 64 naming the option" {
	run --separate-stderr "$HT_BUILD/huatuo-softlockup" --backoff soon
	assert_equal "$status" 64
	[[ "$stderr" == *"--backoff"* ]] || fail "$stderr"
}
