#!/usr/bin/env bats
# Runs of a tool's BPF programs that the kernel skipped are reported as lost, as many as the
# kernel counted (each program's recursion_misses, read here with bpftool).
# Raising them: on CPU 0 a task frees skbs in process context (unix-purge.py), so the
# kfree_skb programs run there, while RPS steers a UDP flood sent from CPU 1 to CPU 0's
# backlog; CPU 1 kicks CPU 0 with an interrupt (IPI) whose softirq drops the datagrams. When
# that interrupt lands while the program runs, the kernel does not run it again.
load ../lib/common

setup() {
	require_bpf
	[ "$(nproc)" -ge 2 ] || skip "needs two CPUs"
	NS=recur$$
	ip netns add "$NS"
	ip -n "$NS" link set lo up
	# ip netns exec mounts the namespace's own sysfs: this lo's receive queue only
	rps=/sys/class/net/lo/queues/rx-0/rps_cpus
	in_ns sh -c "[ -w $rps ] && echo 1 > $rps" ||
		skip "no RPS (CONFIG_RPS) to steer the flood to CPU 0"
	HELPERS=$BATS_TEST_DIRNAME/../helpers
	TRACERS=()
}

teardown() {
	local t
	stop_tracer
	if [ -n "${CAPTURE_PID:-}" ]; then
		kill -INT "$CAPTURE_PID" 2>/dev/null
		wait "$CAPTURE_PID" || true
	fi
	for t in "${TRACERS[@]}"; do
		stop_tracer_as "$t"
	done
	ip netns del "$NS" 2>/dev/null || true
}

in_ns() {
	ip netns exec "$NS" "$@"
}

# storm SECONDS: process-context drops on CPU 0 while CPU 0's interrupts drop a UDP flood
storm() {
	local flood
	in_ns taskset -c 1 timeout "$1" python3 "$HELPERS/udp-send.py" 127.0.0.1 9 100000000 \
		> /dev/null &
	flood=$!
	in_ns taskset -c 0 python3 "$HELPERS/unix-purge.py" "$1"
	wait "$flood" || true # timeout's 124
}

# storm_until_skipped PID: storms of 3 s (up to 4: whether an interrupt lands inside a run
# is chance, and a loaded machine makes it rarer) until the kernel counted a skipped run of
# PID's programs; prints the settled count
storm_until_skipped() {
	local try truth=0
	for try in 1 2 3 4; do
		storm 3 >/dev/null
		truth=$(settled_skipped "$1") || return 1
		[ "$truth" -gt 0 ] && break
	done
	echo "$truth"
}

# kernel_skipped PID: the sum of recursion_misses over the BPF programs PID holds
kernel_skipped() {
	local id sum=0 n
	for id in $(bpf_ids_of_pid "$1" | sed -n 's/^prog //p'); do
		n=$(bpftool prog show id "$id" -j | jq '.recursion_misses // 0') || return 1
		sum=$((sum + n))
	done
	echo "$sum"
}

# settled_skipped PID...: kernel_skipped of each PID, once two reads 0.5 s apart agree
settled_skipped() {
	local pid now last="" i
	for i in $(seq 20); do
		now=$(for pid in "$@"; do kernel_skipped "$pid"; done | xargs)
		[ "$now" = "$last" ] && { echo "$now"; return 0; }
		last=$now
		sleep 0.5
	done
	echo "the kernel's counts did not settle: $now" >&2
	return 1
}

# reported_skipped ERR: the runs the tool said at exit the kernel skipped (0 if it said none)
reported_skipped() {
	local n
	n=$(grep -oE '[0-9]+ runs skipped by the kernel' "$1" | grep -oE '^[0-9]+')
	echo "${n:-0}"
}

# warned_skipped ERR: the sum of the tool's per-program lines
warned_skipped() {
	grep -oE 'warning: [0-9]+ runs of [a-z0-9_]+ \(' "$1" | awk '{ n += $2 } END { print n + 0 }'
}

@test "dropwatch's kfree_skb program nested by an interrupt: skipped runs reported, as many as the kernel counted" {
	local kind why truth err=$BATS_TEST_TMPDIR/err prom=$BATS_TEST_TMPDIR/recur$$.prom
	for kind in tp_btf raw_tp tracepoint; do
		start_tracer "$BATS_TEST_TMPDIR/out" "$err" "$HT_BUILD/huatuo-dropwatch" -j \
			--netns "$NS" --probe "$kind" --metrics "$prom"
		truth=$(storm_until_skipped "$TRACER_PID")
		stop_tracer
		assert_equal "$TRACER_RC" 0
		[ "$truth" -gt 0 ] ||
			fail "--probe $kind: the kernel skipped no run (bpftool) in 4 storms"
		echo "# --probe $kind: the kernel skipped $truth runs" >&3
		assert_equal "$(reported_skipped "$err")" "$truth"
		assert_equal "$(warned_skipped "$err")" "$truth"
		# no ring-buffer loss here (the exit line says 0): lost_total is the skipped runs
		grep -qE "^huatuo_bamai_dropwatch_lost_total\{.*\} $truth\$" "$prom" ||
			fail "--probe $kind: $(grep lost_total "$prom")"
		why="it was already running on that CPU"
		[ "$kind" = tracepoint ] && why="another BPF program was running on that CPU"
		grep -qE "^huatuo-dropwatch: warning: [0-9]+ runs of dropfilt_[a-z0-9]+ \($kind [a-z/:]*kfree_skb\) skipped by the kernel, $truth in total: $why; what they would have reported is lost$" \
			"$err" || fail "--probe $kind: $(cat "$err")"
		grep -qE "^huatuo-dropwatch: warning: [0-9]+ events reported, [0-9]+ held back by the rate limit, 0 lost in the kernel \(buffer full\), $truth runs skipped by the kernel \(a BPF program was already running on that CPU\)$" \
			"$err" || fail "--probe $kind: $(cat "$err")"
	done
}

@test "every BPF tool at once through a storm: the skipped runs each reports are the kernel's count, none said when none" {
	local t truth pids=() names=() i=0 counts err
	for t in $HT_TOOLS; do
		[ -f "$HT_TOP/bpf/$t.bpf.c" ] || continue
		"$HT_BUILD/huatuo-$t" --check > /dev/null 2>&1 || continue
		start_tracer_as "T_$t" "$BATS_TEST_TMPDIR/$t.out" "$BATS_TEST_TMPDIR/$t.err" \
			"$HT_BUILD/huatuo-$t" -j -v
		TRACERS+=("T_$t")
		names+=("$t")
		pid_var=T_${t}_PID
		pids+=("${!pid_var}")
	done
	[ "${#names[@]}" -ge 2 ] || fail "fewer than two BPF tools run here: ${names[*]}"
	storm 2
	read -r -a counts <<< "$(settled_skipped "${pids[@]}")"
	for t in "${TRACERS[@]}"; do
		stop_tracer_as "$t"
		rc_var=${t}_RC
		assert_equal "${!rc_var}" 0
	done
	TRACERS=()
	echo "# skipped runs: ${names[*]}: ${counts[*]}" >&3
	for t in "${names[@]}"; do
		truth=${counts[i++]}
		err=$BATS_TEST_TMPDIR/$t.err
		[ "$(reported_skipped "$err")" = "$truth" ] ||
			fail "huatuo-$t: the kernel skipped $truth runs: $(grep -E 'skipped|lost' "$err")"
		assert_equal "$(warned_skipped "$err")" "$truth"
		if [ "$truth" = 0 ] && grep -q ' lost in the kernel (buffer full)$' "$err"; then
			: # ring-buffer losses or a rate limit: the exit line, without skipped runs
		elif [ "$truth" = 0 ]; then
			grep -qE "^huatuo-$t: [0-9]+ events reported, none lost$" "$err" ||
				fail "huatuo-$t: $(tail -3 "$err")"
		fi
	done
}

@test "huatuo-capture through a storm: dropwatch's LOST in summary.txt is the runs the kernel skipped" {
	local b=$BATS_TEST_TMPDIR/bundle err=$BATS_TEST_TMPDIR/err dw truth rc=0
	"$HT_BUILD/huatuo-capture" -o "$b" --tool-args "dropwatch:--netns $NS" \
		> "$BATS_TEST_TMPDIR/out" 2> "$err" &
	CAPTURE_PID=$!
	for _ in $(seq 600); do
		grep -q '^Tracing with ' "$err" && break
		kill -0 "$CAPTURE_PID" 2>/dev/null || fail "huatuo-capture ended: $(cat "$err")"
		sleep 0.1
	done
	dw=$(pgrep -P "$CAPTURE_PID" -f huatuo-dropwatch) || fail "no dropwatch: $(cat "$err")"
	truth=$(storm_until_skipped "$dw")
	kill -INT "$CAPTURE_PID"
	wait "$CAPTURE_PID" || rc=$?
	CAPTURE_PID=
	assert_equal "$rc" 0
	echo "# dropwatch under huatuo-capture: the kernel skipped $truth runs" >&3
	[ "$truth" -gt 0 ] || fail "the kernel skipped no run of dropwatch's program (bpftool) in 4 storms"
	grep -qE " 0 lost in the kernel \(buffer full\), $truth runs skipped by the kernel " \
		"$b/dropwatch.log" || fail "$(tail -3 "$b/dropwatch.log")"
	assert_equal "$(awk '$1 == "dropwatch" { print $4; exit }' "$b/summary.txt")" "$truth"
}
