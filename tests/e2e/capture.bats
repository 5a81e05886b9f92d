#!/usr/bin/env bats
# huatuo-capture running every tracer at once while the test causes a real memcg OOM kill
# and UDP drops in its own network namespace; Ctrl-C, a second Ctrl-C, --archive, bad usage,
# and nothing left attached.
load ../lib/common

setup() {
	require_bpf
	[ -n "$(memcg_root)" ] || skip "no memory cgroup controller"
	CG=$(make_memcg "rtest_cap_$$" $((64 << 20)))
	NS=rtest_cap_$$
	ip netns add "$NS"
	ip -n "$NS" link set lo up
	B=$BATS_TEST_TMPDIR/bundle
	OUT=$BATS_TEST_TMPDIR/out
	ERR=$BATS_TEST_TMPDIR/err
	PORT=$((20000 + $$ % 20000))
	# the kernel is shared with other test runs: only our cgroup's kills, our netns's drops
	MINE=(--tool-args "oom:--cgroup /rtest_cap_$$" --tool-args "dropwatch:--netns $NS")
}

teardown() {
	if [ -n "${TRACER_PID:-}" ]; then
		kill -INT "$TRACER_PID" 2>/dev/null
		sleep 0.5
		kill -INT "$TRACER_PID" 2>/dev/null
		wait "$TRACER_PID" || true
		TRACER_PID=
	fi
	[ -n "${FLOOD_PID:-}" ] && kill "$FLOOD_PID" 2>/dev/null && wait "$FLOOD_PID" 2>/dev/null
	remove_cgroup "$CG"
	ip netns del "$NS" 2>/dev/null || true
}

# start_capture ARGS...: in the background until its banner (every tool attached or skipped)
start_capture() {
	"$HT_BUILD/huatuo-capture" "$@" > "$OUT" 2> "$ERR" &
	TRACER_PID=$!
	for _ in $(seq 600); do
		grep -q '^Tracing with ' "$ERR" 2>/dev/null && return 0
		kill -0 "$TRACER_PID" 2>/dev/null || { cat "$ERR" >&2; return 1; }
		sleep 0.1
	done
	fail "huatuo-capture did not start within 60 s: $(cat "$ERR")"
}

# child_bpf_ids: the BPF programs and links the capture's tools hold now
child_bpf_ids() {
	local p
	for p in $(pgrep -P "$TRACER_PID"); do bpf_ids_of_pid "$p"; done | sort -u
}

# stop_capture [SIGNALS]: SIGINT (a second one 1 s later with 2) and wait; sets CAPTURE_RC
stop_capture() {
	kill -INT "$TRACER_PID"
	if [ "${1:-1}" -eq 2 ]; then
		sleep 1
		kill -INT "$TRACER_PID"
	fi
	CAPTURE_RC=0
	wait "$TRACER_PID" || CAPTURE_RC=$?
	TRACER_PID=
}

# wait_lines FILE N: until FILE has N lines (the capture appends as the tools report)
wait_lines() {
	for _ in $(seq 200); do
		[ -f "$1" ] && [ "$(wc -l < "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	fail "$1 has $(wc -l < "$1" 2>/dev/null) lines, want $2"
}

# summary_count TRACER COLUMN(2 events, 3 snapshots): from summary.txt's table
summary_count() {
	awk -v t="$1" -v c="$2" '$1 == t { print $c; exit }' "$B/summary.txt"
}

@test "a capture during a memcg OOM kill and UDP drops: pids, ports, summary and tools.txt" {
	start_capture -d 120 -o "$B" "${MINE[@]}"
	ids=$(child_bpf_ids)
	run sh -c 'echo $$ > "$1/cgroup.procs"; echo $$; exec python3 "$2" 200' _ "$CG" \
		"$BATS_TEST_DIRNAME/../helpers/mem-alloc.py"
	assert_equal "$status" 137
	hog=${lines[0]}
	sender=$(ip netns exec "$NS" "$BATS_TEST_DIRNAME/../helpers/udp-send.py" 127.0.0.1 "$PORT" 7 | head -1)
	wait_lines "$B/oom" 1
	wait_lines "$B/dropwatch" 7
	stop_capture
	assert_equal "$CAPTURE_RC" 0
	assert_bpf_released "$ids"

	# the tracers' own lines, one file per tracer_name
	for f in "$B"/*; do
		case $f in *.txt | *.log) continue ;; esac
		assert_ndjson "$f"
	done
	assert_equal "$(wc -l < "$B/oom")" 1
	jq -e --argjson pid "$hog" '.tracer_name == "oom" and .tracer_type == "auto"
		and .tracer_data.victim_pid == $pid and .tracer_data.trigger_pid == $pid
		and .tracer_data.memcg_limit_bytes == 67108864' "$B/oom" || fail "$(cat "$B/oom")"
	assert_equal "$(wc -l < "$B/dropwatch")" 7
	assert_equal "$(jq -s --argjson pid "$sender" --argjson port "$PORT" '[.[] |
		select(.tracer_data.dport == $port and .tracer_data.pid == $pid
		       and .tracer_data.reason == "NO_SOCKET" and .tracer_data.proto == "udp")] |
		length' "$B/dropwatch")" 7
	# hungtask snapshots at the start and the end, tracer_type manual
	assert_equal "$(jq -s '[.[] | select(.tracer_type == "manual")] | length' "$B/hungtask")" 2
	# netdev: its baseline at the start, and a snapshot of every device at the start and the end
	devs=$(jq -s '[.[] | select(.tracer_data.action == "start")] | length' "$B/netdev_events")
	[ "$devs" -gt 0 ]
	assert_equal "$(jq -s '[.[] | select(.tracer_type == "manual" and .tracer_data.action == "snapshot")]
		| length' "$B/netdev_events")" $((2 * devs))

	# summary.txt: the counts of the files, the victim, the reason; printed at the end too
	assert_equal "$(summary_count oom 2)" 1
	assert_equal "$(summary_count dropwatch 2)" 7
	assert_equal "$(summary_count dropwatch 4)" 0
	assert_equal "$(summary_count hungtask 3)" 2
	want=$(jq -r 'select(.tracer_type == "manual") | .tracer_data.d_process_count' "$B/hungtask" | xargs)
	grep -qx "hungtask: tasks in D state at each snapshot: $want" "$B/summary.txt" ||
		fail "want D-state counts $want: $(cat "$B/summary.txt")"
	assert_equal "$(summary_count netdev_events 3)" $((2 * devs))
	grep -qE "^ +1  pid=$hog comm=python3 container=- memcg=/rtest_cap_$$ " "$B/summary.txt" ||
		fail "no OOM victim $hog in: $(cat "$B/summary.txt")"
	grep -qE '^ +7  reason=NO_SOCKET$' "$B/summary.txt" || fail "$(cat "$B/summary.txt")"
	grep -qE '^ +7  location=__udp4_lib_rcv\+0x' "$B/summary.txt" || fail "$(cat "$B/summary.txt")"
	assert_equal "$(cat "$OUT")" "$(cat "$B/summary.txt")"

	# tools.txt: one line per tool, each attached, a snapshot or skipped with its reason
	assert_equal "$(wc -l < "$B/tools.txt")" "$(grep -cvx capture <<<"$HT_TOOLS")"
	for t in $HT_TOOLS; do
		[ "$t" = capture ] && continue
		grep -qE "^$t +(attached|snapshot|skipped) " "$B/tools.txt" || fail "$t: $(cat "$B/tools.txt")"
	done
	grep -qE "^oom +attached +[0-9.]+ +hooks: $(default_kind) mark_victim(, [^;]*)?; events 1; ended: exit 0$" \
		"$B/tools.txt" || fail "$(cat "$B/tools.txt")"
	grep -qE "^dropwatch +attached .* events 7; ended: exit 0$" "$B/tools.txt" || fail "$(cat "$B/tools.txt")"
	grep -qE "^pfc +(snapshot|skipped) " "$B/tools.txt"
	# every tool that attached has its log; the banner counts them
	n=$(grep -cE '^[a-z]+ +attached ' "$B/tools.txt")
	grep -q "^Tracing with $n tools into $B " "$ERR" || fail "$(cat "$ERR")"
	[ -s "$B/oom.log" ] && [ -s "$B/dropwatch.log" ]

	# host.txt: the kernel log of the window has the kill
	grep -q "Killed process $hog (python3)" "$B/host.txt" || fail "no kill in the kernel log of host.txt"
	grep -q '^== load average' "$B/host.txt"
	assert_equal "$(grep -c -e '^======== at the start$' -e '^======== at the end$' -e '^== RAS interrupts' \
		-e '^== bonding' "$B/host.txt")" 6
}

@test "Ctrl-C mid-capture: exit 0, a complete bundle, nothing left attached" {
	start_capture -o "$B" "${MINE[@]}"
	ids=$(child_bpf_ids)
	stop_capture
	assert_equal "$CAPTURE_RC" 0
	assert_bpf_released "$ids"
	for f in tools.txt host.txt summary.txt oom dropwatch oom.log; do
		[ -f "$B/$f" ] || fail "no $f in the bundle: $(ls "$B")"
	done
	grep -q 'ended by INT' "$B/summary.txt"
	grep -q '== kernel log of the capture window' "$B/host.txt"
	grep -qE "^oom +attached .* ended: exit 0$" "$B/tools.txt" || fail "$(cat "$B/tools.txt")"
}

@test "a second Ctrl-C kills what is left: exit 0, whole lines only" {
	start_capture -o "$B" --tools dropwatch,oom,hungtask --tool-args "dropwatch:--netns $NS --rate 0"
	ids=$(child_bpf_ids)
	ip netns exec "$NS" "$BATS_TEST_DIRNAME/../helpers/udp-send.py" 127.0.0.1 "$PORT" 100000000 > /dev/null &
	FLOOD_PID=$!
	wait_lines "$B/dropwatch" 1000
	# a tool that does not stop at SIGINT (stopped mid-write: its pipe may end in half a
	# line): the capture waits for it until the second Ctrl-C, which kills it
	dw=$(pgrep -P "$TRACER_PID" -f huatuo-dropwatch)
	kill -STOP "$dw"
	stop_capture 2
	assert_equal "$CAPTURE_RC" 0
	assert_bpf_released "$ids"
	grep -qE '^dropwatch +attached .* ended: killed by SIGKILL \(by us: a second Ctrl-C' "$B/tools.txt" ||
		fail "$(cat "$B/tools.txt")"
	assert_ndjson "$B/dropwatch"
	assert_equal "$(tail -c 1 "$B/dropwatch" | od -An -c | tr -d ' ')" '\n'
	[ -f "$B/summary.txt" ] && [ -f "$B/tools.txt" ]
	# what the file holds is what the summary counted
	assert_equal "$(summary_count dropwatch 2)" "$(wc -l < "$B/dropwatch")"
	grep -qE '^softirq +skipped +- +not selected' "$B/tools.txt"
}

@test "--archive: DIR.tar.gz lists every file of the bundle" {
	run -0 --separate-stderr "$HT_BUILD/huatuo-capture" -d 1 -o "$B" --archive --tools oom,pfc
	[ -f "$B.tar.gz" ] || fail "no archive: $stderr"
	run -0 tar -tzf "$B.tar.gz"
	for f in $(cd "$B" && ls); do
		assert_line "bundle/$f"
	done
	assert_equal "${#lines[@]}" "$(ls "$B" | wc -l)"
	tar -xzf "$B.tar.gz" -C "$BATS_TEST_TMPDIR" --to-stdout bundle/summary.txt | cmp - "$B/summary.txt"
}

@test "-d 0: attach, snapshots, stop" {
	run -0 --separate-stderr "$HT_BUILD/huatuo-capture" -d 0 -o "$B" --tools hungtask
	assert_equal "$(jq -s 'map(select(.tracer_type == "manual")) | length' "$B/hungtask")" 2
	grep -qE '^hungtask +attached .*snapshots: start exit 0, end exit 0$' "$B/tools.txt"
}

@test "a tool that crashes or cannot attach does not stop the others; tools next to the capture first" {
	bin=$BATS_TEST_TMPDIR/bin
	mkdir -p "$bin"
	cp "$HT_BUILD/huatuo-capture" "$bin/"
	ln -s "$HT_BUILD/huatuo-oom" "$bin/huatuo-oom"
	# attaches, reports one late tick, then crashes
	cat > "$bin/huatuo-softirq" <<-'EOF'
		#!/bin/sh
		echo "huatuo-softirq: version 9.9.9 (huatuo-tools, fake)" >&2
		echo "huatuo-softirq: attached tick: raw_tp fake_tick" >&2
		echo "Tracing fake ticks... Hit Ctrl-C to end." >&2
		echo '{"tracer_name":"softirq","tracer_type":"auto","tracer_data":{"cpu":1,"offtime":250000000}}'
		sleep 1
		kill -SEGV $$
	EOF
	# cannot attach on this kernel
	printf '#!/bin/sh\necho "huatuo-txtimeout: no tracepoint net:net_dev_xmit_timeout here" >&2\nexit 1\n' \
		> "$bin/huatuo-txtimeout"
	chmod +x "$bin/huatuo-softirq" "$bin/huatuo-txtimeout"
	# $PATH without the build: netdev is not installed for this capture
	run --separate-stderr env PATH=/usr/sbin:/usr/bin:/sbin:/bin "$bin/huatuo-capture" -d 3 -o "$B" \
		--tools softirq,txtimeout,oom,netdev
	assert_equal "$status" 0
	[[ "$stderr" == *"txtimeout skipped: no tracepoint net:net_dev_xmit_timeout here"* ]] || fail "$stderr"
	grep -qE '^softirq +attached +9\.9\.9 +hooks: raw_tp fake_tick; events 1; ended: killed by SIGSEGV after 1\.[0-9]s \(crashed: see softirq\.log\)$' \
		"$B/tools.txt" || fail "$(cat "$B/tools.txt")"
	grep -qE '^txtimeout +skipped +- +no tracepoint net:net_dev_xmit_timeout here$' "$B/tools.txt" ||
		fail "$(cat "$B/tools.txt")"
	grep -qE '^oom +attached .*ended: exit 0$' "$B/tools.txt" || fail "$(cat "$B/tools.txt")"
	grep -qE '^netdev +skipped +- +not installed' "$B/tools.txt" || fail "$(cat "$B/tools.txt")"
	assert_equal "$(summary_count softirq 2)" 1
	assert_equal "$(summary_count softirq 4)" "?" # killed before it could say
	grep -qE '^ +250\.0ms +1  cpu=1$' "$B/summary.txt" || fail "$(cat "$B/summary.txt")"
	[ ! -e "$B/netdev_events" ] && [ ! -e "$B/netdev_txqueue_timeout" ] && [ -s "$B/txtimeout.log" ]
}

@test "bad usage exits 64 naming the option; a tool rejecting its --tool-args too" {
	run --separate-stderr "$HT_BUILD/huatuo-capture" --tools oom,nosuch
	assert_equal "$status" 64
	[[ "$stderr" == *"--tools"*"nosuch"* ]] || fail "$stderr"
	run --separate-stderr "$HT_BUILD/huatuo-capture" --exclude capture
	assert_equal "$status" 64
	run --separate-stderr "$HT_BUILD/huatuo-capture" -d 5parsecs
	assert_equal "$status" 64
	[[ "$stderr" == *"--duration"* ]] || fail "$stderr"
	run --separate-stderr "$HT_BUILD/huatuo-capture" --tool-args 'nocolon'
	assert_equal "$status" 64
	run --separate-stderr "$HT_BUILD/huatuo-capture" --json
	assert_equal "$status" 64
	[ ! -e "$B" ]
	run --separate-stderr "$HT_BUILD/huatuo-capture" -d 5 -o "$B" --tools softirq,oom \
		--tool-args 'softirq:-t 0'
	assert_equal "$status" 64
	[[ "$stderr" == *"invalid --tool-args 'softirq:-t 0': "*"--threshold"* ]] || fail "$stderr"
}

@test "nothing could attach: exit 1 with tools.txt saying why" {
	[ -z "$(ls /proc/net/bonding 2>/dev/null)" ] || skip "this host has a bond"
	ip link show type bond 2>/dev/null | grep -q . && skip "this host has a bond"
	run --separate-stderr "$HT_BUILD/huatuo-capture" -d 1 -o "$B" --tools bondlacp
	assert_equal "$status" 1
	[[ "$stderr" == *"no tool could attach"* ]] || fail "$stderr"
	grep -qE '^bondlacp +skipped +[0-9.]+ +no bonding interface' "$B/tools.txt"
}

@test "an existing bundle is not appended to" {
	run -0 --separate-stderr "$HT_BUILD/huatuo-capture" -d 0 -o "$B" --tools oom
	run --separate-stderr "$HT_BUILD/huatuo-capture" -d 0 -o "$B" --tools oom
	assert_equal "$status" 1
	assert_equal "$stderr" "huatuo-capture: cannot write the bundle: $B/tools.txt exists: give a new directory (-o) for each capture"
}

@test "hostile names (newlines, escapes) keep summary.txt one line per item" {
	start_capture -o "$B" "${MINE[@]}" --tools oom
	run sh -c 'echo $$ > "$1/cgroup.procs"; echo $$; exec python3 -c "
import ctypes
ctypes.CDLL(None).prctl(15, b\"x\nTRACER y\x1b[2J\", 0, 0, 0)
b = bytearray(200 << 20)
for i in range(0, len(b), 4096): b[i] = 1"' _ "$CG"
	hog=${lines[0]}
	wait_lines "$B/oom" 1
	stop_capture
	assert_equal "$CAPTURE_RC" 0
	run grep -c "^ \+1  pid=$hog comm=x?TRACER y?\[2J container=- " "$B/summary.txt"
	assert_output 1
	run grep -c '^TRACER' "$B/summary.txt"
	assert_output 1
	! grep -q $'\x1b' "$B/summary.txt"
}
