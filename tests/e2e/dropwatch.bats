#!/usr/bin/env bats
# huatuo-dropwatch against real drops inside a network namespace made by the test:
# UDP to a closed port (NO_SOCKET), an nft drop rule (NETFILTER_DROP), a TCP SYN to a closed
# port, and a flood that overflows a tiny ring buffer.
load ../lib/common

setup() {
	require_bpf
	require_cmd nft
	NS=rtest_dw_$$
	ip netns add "$NS"
	ip -n "$NS" link set lo up
	ip netns exec "$NS" nft add table inet rtest_dw
	ip netns exec "$NS" nft add chain inet rtest_dw input '{ type filter hook input priority 0; }'
	ip netns exec "$NS" nft add rule inet rtest_dw input udp dport 9999 drop
	OUT=$BATS_TEST_TMPDIR/out
	ERR=$BATS_TEST_TMPDIR/err
	SEND="$BATS_TEST_DIRNAME/../helpers/udp-send.py"
}

teardown() {
	stop_tracer
	ip netns del "$NS" 2>/dev/null || true
}

in_ns() {
	ip netns exec "$NS" "$@"
}

# dropwatch ARGS...: trace drops of the test's netns only
dropwatch() {
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-dropwatch" --netns "$NS" "$@"
}

@test "UDP to a closed port: NO_SOCKET at __udp4_lib_rcv with addresses, ports and sender" {
	dropwatch -j -c 5 -d 20
	sender=$(in_ns "$SEND" 127.0.0.1 9 5 | head -1)
	wait_tracer 10
	assert_equal "$TRACER_RC" 0
	assert_ndjson "$OUT"
	assert_equal "$(wc -l < "$OUT")" 5
	netns=$(stat -L -c %i "/run/netns/$NS")
	jq -e --argjson pid "$sender" --argjson ns "$netns" '
		.tracer_name == "dropwatch" and .tracer_type == "auto" and (.tracer_id | length) == 20
		and .tracer_data.reason == "NO_SOCKET" and .tracer_data.type == "common_drop"
		and (.tracer_data.location | startswith("__udp4_lib_rcv+0x"))
		and (.tracer_data.drop_location | test("^0x[0-9a-f]+$"))
		and .tracer_data.proto == "udp" and .tracer_data.family == "ipv4"
		and .tracer_data.saddr == "127.0.0.1" and .tracer_data.daddr == "127.0.0.1"
		and .tracer_data.dport == 9 and .tracer_data.sport > 0
		and .tracer_data.pid == $pid and .tracer_data.comm == "python3"
		and .tracer_data.ifname == "lo" and .tracer_data.pkt_len == 18
		and .tracer_data.netns_inum == $ns
		and (.tracer_data.stack | split("\n") | any(startswith("__udp4_lib_rcv+")))
		and (.tracer_data.stack | split("\n")[0] | test("bpf|trace") | not)' "$OUT" > /dev/null
}

# no_filter_drops KIND: huatuo-dropwatch --probe KIND with no filter (every drop on the machine:
# the dropwatch_* programs), three UDP drops and a TCP SYN to closed ports in the test's netns;
# A TCP SYN to closed port 7 of ::1 in the test's namespace (answered by a reset)
syn_to_closed_port6() {
	in_ns python3 -c 'import socket
s = socket.socket(socket.AF_INET6)
try:
    s.connect(("::1", 7))
except ConnectionRefusedError:
    pass'
}

# OURS: ours (tracer_data, one a line); SENDER: the UDP sender's pid
no_filter_drops() {
	local netns
	OURS=
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-dropwatch" -j --rate 10000000 -d 20 \
		--probe "$1"
	SENDER=$(in_ns "$SEND" 127.0.0.1 9 3 | head -1)
	syn_to_closed_port6
	sleep 0.5
	stop_tracer
	[ "$TRACER_RC" = 0 ] || return 1
	assert_ndjson "$OUT"
	netns=$(stat -L -c %i "/run/netns/$NS")
	OURS=$(jq -c --argjson ns "$netns" 'select(.tracer_data.netns_inum == $ns) | .tracer_data' \
		"$OUT")
}

@test "no filter at all (the rate limit before anything else), every hook kind: drops reported whole, TCP fields too" {
	local kind try
	for kind in tp_btf raw_tp tracepoint; do
		# another test's drop storm elsewhere on the machine can fill the ring: the tool
		# says so (lost), and that try does not count
		for try in 1 2 3; do
			no_filter_drops "$kind" || fail "--probe $kind: tracer failed: $(cat "$ERR")"
			grep -q 'lost' "$ERR" || break
		done
		grep -q 'lost' "$ERR" &&
			skip "drops lost in each of 3 tries: other drop storms on the machine"
		[ "$(wc -l <<<"$OURS")" = 4 ] || fail "--probe $kind: $OURS"
		jq -se --argjson pid "$SENDER" '.[0:3] | all(.reason == "NO_SOCKET"
			and .proto == "udp" and .family == "ipv4" and .saddr == "127.0.0.1"
			and .daddr == "127.0.0.1" and .dport == 9 and .sport > 0 and .pid == $pid
			and .ifname == "lo" and .pkt_len == 18
			and (.location | startswith("__udp4_lib_rcv+0x")))' \
			<<<"$OURS" > /dev/null || fail "--probe $kind, UDP: $OURS"
		jq -se '.[3] | .reason == "NO_SOCKET" and .proto == "tcp" and .family == "ipv6"
			and .saddr == "::1" and .daddr == "::1" and .dport == 7 and .sport > 0
			and .tcp_flags == "SYN" and (.seq | type) == "number" and .ack_seq == 0
			and (.location | startswith("tcp_v6_rcv+"))' <<<"$OURS" > /dev/null ||
			fail "--probe $kind, TCP: $OURS"
	done
}

@test "every hook kind (tp_btf, raw_tp, classic tracepoint) reports the drop reason" {
	local kind
	for kind in tp_btf raw_tp tracepoint; do
		dropwatch -j -c 2 -d 20 --probe "$kind"
		in_ns "$SEND" 127.0.0.1 9 2 > /dev/null
		wait_tracer 10
		assert_equal "$TRACER_RC" 0
		jq -se 'length == 2 and all(.tracer_data.reason == "NO_SOCKET")' "$OUT" > /dev/null ||
			fail "--probe $kind: $(cat "$OUT")"
	done
}

@test "an nft drop rule: NETFILTER_DROP at nft_do_chain; --reason keeps only it" {
	dropwatch -j -c 3 -d 20 --reason NETFILTER_DROP
	in_ns "$SEND" 127.0.0.1 9 20 > /dev/null     # NO_SOCKET: filtered out in the kernel
	in_ns "$SEND" 127.0.0.1 9999 3 > /dev/null   # dropped by the rule
	wait_tracer 10
	assert_equal "$TRACER_RC" 0
	assert_equal "$(wc -l < "$OUT")" 3
	jq -e '.tracer_data.reason == "NETFILTER_DROP" and .tracer_data.dport == 9999
		and (.tracer_data.location | startswith("nft_do_chain+"))' "$OUT" > /dev/null
}

@test "TCP SYN to a closed port over IPv6: NO_SOCKET with TCP fields; --proto and --port filter" {
	dropwatch -j -c 1 -d 20 --proto tcp --port 7 --saddr ::1
	in_ns "$SEND" ::1 7 10 > /dev/null    # UDP to port 7: not TCP
	syn_to_closed_port6
	wait_tracer 10
	assert_equal "$TRACER_RC" 0
	assert_equal "$(wc -l < "$OUT")" 1
	jq -e '.tracer_data.reason == "NO_SOCKET" and .tracer_data.proto == "tcp"
		and .tracer_data.family == "ipv6" and .tracer_data.saddr == "::1"
		and .tracer_data.dport == 7 and .tracer_data.tcp_flags == "SYN"
		and (.tracer_data.seq | type) == "number"
		and (.tracer_data.location | startswith("tcp_v6_rcv+"))' "$OUT" > /dev/null
}

@test "--stack: each row with its stack under it, through the emitter (-c, -o)" {
	dropwatch -c 2 -d 20 --stack -o "$BATS_TEST_TMPDIR/store"
	in_ns "$SEND" 127.0.0.1 9 5 > /dev/null
	wait_tracer 10
	assert_equal "$TRACER_RC" 0
	# header, then 2 rows (-c 2), each followed by its tab-indented frames, nothing after
	run grep -c $'^[0-9:]\\{8\\} ' "$OUT"
	assert_output 2
	run awk 'NR > 1 && !/^\t/ { rows++ } NR > 1 && /^\t/ && rows == 0 { bad = 1 }
		END { exit bad || rows != 2 }' "$OUT"
	assert_success
	grep -q $'^\t__udp4_lib_rcv+0x' "$OUT" || fail "no stack under the rows: $(cat "$OUT")"
	# the -o store got both events as JSON lines, stacks included
	assert_equal "$(wc -l < "$BATS_TEST_TMPDIR/store/dropwatch")" 2
	jq -se 'all(.tracer_data.stack | contains("__udp4_lib_rcv+"))' \
		"$BATS_TEST_TMPDIR/store/dropwatch" > /dev/null
}

@test "--summary counts every drop by reason and location (--rate does not apply)" {
	dropwatch -j --summary --interval 1 --rate 1
	in_ns "$SEND" 127.0.0.1 9 250 > /dev/null
	in_ns "$SEND" 127.0.0.1 9999 40 > /dev/null
	sleep 1.5
	stop_tracer
	assert_equal "$TRACER_RC" 0
	assert_ndjson "$OUT"
	run jq -s '[.[].tracer_data.drops[] | select(.reason == "NO_SOCKET"
		and .location == "__udp4_lib_rcv") | .count] | add' "$OUT"
	assert_output 250
	run jq -s '[.[].tracer_data.drops[] | select(.reason == "NETFILTER_DROP"
		and .location == "nft_do_chain") | .count] | add' "$OUT"
	assert_output 40
	run jq -s '[.[].tracer_data.total] | add' "$OUT"
	assert_output 290
}

@test "--summary with no filter: 300 keys driven through the raw_tp program, every count exact (per-CPU slots, and the hash for keys whose slot is taken)" {
	local loc r k keys=300
	[ -x "$HT_BUILD/ht-testrun" ] || skip "no $HT_BUILD/ht-testrun (make builds it)"
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-dropwatch" --probe raw_tp -j --summary \
		--interval 1
	# a location no drop comes from, reasons past the kernel's: only ours are at both;
	# 300 keys in 256 slots per CPU: some go to the hash
	loc=0x$(awk '$3 == "schedule" { print $1; exit }' /proc/kallsyms)
	for r in $(seq 150 $((150 + keys - 1))); do
		for k in $(seq $((r % 3 + 1))); do
			HT_TESTRUN_PID=$TRACER_PID "$HT_BUILD/ht-testrun" dropfilt_raw 0 "$loc" "$r" 0 \
				> /dev/null || fail "ht-testrun failed"
		done
	done
	sleep 1.5
	stop_tracer
	assert_equal "$TRACER_RC" 0
	assert_ndjson "$OUT"
	jq -e -s --argjson keys "$keys" '
		[.[].tracer_data.drops[] | select(.location == "schedule")]
		| group_by(.reason_code) | map({ r: .[0].reason_code, n: (map(.count) | add) })
		| length == $keys and all(.n == .r % 3 + 1)' "$OUT" ||
		fail "$(jq -c '.tracer_data.drops[] | select(.location == "schedule")' "$OUT")"
}

@test "--summary table: a header per interval, rows sorted by count" {
	dropwatch --summary --interval 1
	in_ns "$SEND" 127.0.0.1 9999 3 > /dev/null
	in_ns "$SEND" 127.0.0.1 9 30 > /dev/null
	sleep 1.5
	stop_tracer
	assert_equal "$TRACER_RC" 0
	grep -q 'drops in' "$OUT"
	run grep -A3 -m1 'COUNT  REASON' "$OUT"
	assert_line --index 1 --regexp '^ +30  NO_SOCKET +__udp4_lib_rcv$'
	assert_line --index 2 --regexp '^ +3  NETFILTER_DROP +nft_do_chain$'
}

@test "--rate holds drops back in the kernel and says how many" {
	dropwatch -j --rate 5
	in_ns "$SEND" 127.0.0.1 9 200 > /dev/null
	sleep 1.2
	stop_tracer
	assert_equal "$TRACER_RC" 0
	n=$(wc -l < "$OUT")
	# one-second windows: the 200 drops span at most two of them
	[ "$n" -ge 5 ] && [ "$n" -le 10 ] || fail "$n events reported with --rate 5"
	held=$(grep -oE '[0-9]+ held back by the rate limit' "$ERR" | grep -oE '^[0-9]+')
	assert_equal $((n + held)) 200
}

@test "--metrics: events_total by reason counts the drops reported, suppressed_total the rest" {
	local prom=$BATS_TEST_TMPDIR/dropwatch.prom hr="host=\"$(hostname)\",region=\"rtest\""
	dropwatch -j --rate 5 --metrics "$prom" --region rtest
	in_ns "$SEND" 127.0.0.1 9 200 > /dev/null
	sleep 1.2
	stop_tracer
	assert_equal "$TRACER_RC" 0
	n=$(jq -r 'select(.tracer_data.reason == "NO_SOCKET") | 1' "$OUT" | wc -l)
	held=$(grep -oE '[0-9]+ held back by the rate limit' "$ERR" | grep -oE '^[0-9]+')
	assert_equal "$(wc -l < "$OUT")" "$n"
	assert_equal $((n + held)) 200
	grep -qxF "huatuo_bamai_dropwatch_events_total{reason=\"NO_SOCKET\",$hr} $n" "$prom" ||
		fail "$n reported: $(cat "$prom")"
	grep -qxF "huatuo_bamai_dropwatch_suppressed_total{$hr} $held" "$prom" ||
		fail "$held held back: $(cat "$prom")"
	grep -qxF "huatuo_bamai_dropwatch_lost_total{$hr} 0" "$prom" || fail "$(cat "$prom")"
	if command -v promtool >/dev/null; then
		promtool check metrics < "$prom" || fail "promtool: $(cat "$prom")"
	fi
}

@test "--metrics with --summary: events_total counts every drop, by reason" {
	local prom=$BATS_TEST_TMPDIR/dropwatch.prom hr="host=\"$(hostname)\",region=\"rtest\""
	dropwatch -j --summary --interval 1 --rate 1 --metrics "$prom" --region rtest
	in_ns "$SEND" 127.0.0.1 9 250 > /dev/null
	in_ns "$SEND" 127.0.0.1 9999 40 > /dev/null
	sleep 1.5
	stop_tracer
	assert_equal "$TRACER_RC" 0
	grep -qxF "huatuo_bamai_dropwatch_events_total{reason=\"NO_SOCKET\",$hr} 250" "$prom" ||
		fail "$(cat "$prom")"
	grep -qxF "huatuo_bamai_dropwatch_events_total{reason=\"NETFILTER_DROP\",$hr} 40" "$prom" ||
		fail "$(cat "$prom")"
	assert_equal "$(grep -c '^huatuo_bamai_dropwatch_events_total{' "$prom")" 2
}

@test "a drop storm into a 4 KiB buffer: every drop is reported or counted as lost" {
	dropwatch -j --rate 0 --buffer-size 4K
	in_ns "$SEND" 127.0.0.1 9 20000 > /dev/null
	sleep 1.2
	stop_tracer
	assert_equal "$TRACER_RC" 0
	assert_ndjson "$OUT"
	n=$(wc -l < "$OUT")
	lost=$(grep -oE '[0-9]+ lost in the kernel' "$ERR" | grep -oE '^[0-9]+')
	[ -n "$lost" ] && [ "$lost" -gt 0 ] || fail "no loss reported for 20000 drops into 4 KiB: $(cat "$ERR")"
	grep -q 'lost .* events (kernel buffer full)' "$ERR"
	assert_equal $((n + lost)) 20000
}

@test "the default ring holds one second of --rate reports (256K at 100/s, 4M without a limit)" {
	local args want
	while IFS=: read -r args want; do
		# shellcheck disable=SC2086
		dropwatch -j $args
		assert_equal "$(ring_size)" "$want"
		stop_tracer
		assert_equal "$TRACER_RC" 0
	done <<-EOF
		:262144
		--rate 1000:1048576
		--rate 0:4194304
		--summary --rate 0:262144
		--rate 0 --buffer-size 64K:65536
	EOF
}

# first_drop_latency: huatuo-dropwatch -c 1 with a 4K ring, three drops at once a second after it
# attached; prints the first line's arrival on stdout minus the time before the first sendto()
first_drop_latency() {
	local stamped=$BATS_TEST_TMPDIR/stamped sent arrival line
	: > "$ERR"
	("$HT_BUILD/huatuo-dropwatch" --netns "$NS" -j -c 1 -d 20 --buffer-size 4K |
		"$HT_TOP/tests/helpers/stamp-lines.py" > "$stamped") 2> "$ERR" &
	for _ in $(seq 100); do grep -q '^Tracing ' "$ERR" && break; sleep 0.1; done
	sleep 1 # what an incident sees: the tool has been running a while
	sent=$(in_ns python3 -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
t = time.monotonic_ns()
for _ in range(3):
    s.sendto(b"x", ("127.0.0.1", 9))
print(t)')
	wait
	read -r arrival line < "$stamped"
	jq -e '.tracer_data.reason == "NO_SOCKET"' <<<"$line" > /dev/null || return 1
	echo $((arrival - sent))
}

@test "the first drop is on stdout within 50 ms of the kernel's time when it wakes the tool (kallsyms, reason names read at start)" {
	local lat tries=
	# --buffer-size 4K and three drops at once: they cross an eighth of the ring and wake the
	# tool at once, so this is the tool's own work for its first event (165 ms when it read
	# /proc/kallsyms then). A drop happens inside sendto() on lo: the time before the first
	# sendto() bounds its kernel time. Best of three tries (each a new tool): another
	# process's burst of CPU can delay one wakeup, the tool's own work would delay all three.
	for _ in 1 2 3; do
		lat=$(first_drop_latency) || fail "not a NO_SOCKET drop: $(cat "$BATS_TEST_TMPDIR/stamped")"
		[ "$lat" -lt 50000000 ] && return 0
		tries+=" $lat"
	done
	fail "first drop after$tries ns: $(cat "$ERR")"
}

# doze_flag: the tracer's ht_doze value (1: it dozes, the next record wakes it)
doze_flag() {
	local id
	for id in $(bpf_map_ids "$TRACER_PID"); do
		[ "$(bpftool map show id "$id" -j | jq -r .name)" = ht_doze ] || continue
		bpftool map lookup id "$id" key 0 0 0 0 -j |
			jq -r '.formatted.value // (.value[0] | ltrimstr("0x") | tonumber)'
		return
	done
}

# voluntary_switches: how often the tracer went to sleep so far
voluntary_switches() {
	awk '/^voluntary_ctxt_switches:/ { print $2 }' /proc/"$TRACER_PID"/status
}

@test "an idle tool dozes (one look a second) and the next drop wakes it at once" {
	local i n lat tries=
	dropwatch -j
	for i in $(seq 50); do [ "$(doze_flag)" = 1 ] && break; sleep 0.1; done
	assert_equal "$(doze_flag)" 1
	# awake it looks every 100 ms: 30 sleeps in 3 s; dozing, 3 (and one per bpftool/jq run
	# above is not counted: they are other processes)
	n=$(voluntary_switches)
	sleep 3
	n=$(($(voluntary_switches) - n))
	[ "$n" -le 6 ] || fail "$n sleeps in 3 s of dozing"
	# a drop sent 50 ms after one of its looks: printed at once when the record wakes the
	# tool, about 950 ms later when it waits for the next look. Best of three (a busy
	# neighbour can delay one wakeup; waiting for the look delays all three)
	for i in 1 2 3; do
		lat=$(in_ns "$BATS_TEST_DIRNAME/../helpers/doze-wake.py" "$TRACER_PID" "$OUT" \
			127.0.0.1 9) || fail "doze-wake.py failed"
		[ "$lat" -lt 400000000 ] && break
		tries+=" $lat"
		sleep 1.5 # dozing again
	done
	[ "$lat" -lt 400000000 ] || fail "drops printed after$tries ns"
	stop_tracer
	assert_equal "$TRACER_RC" 0
	assert_ndjson "$OUT"
	jq -e '.tracer_data.reason == "NO_SOCKET"' "$OUT" > /dev/null
}

@test "--netns, --pid and --comm keep other drops out" {
	dropwatch -j --comm rtest-nomatch
	in_ns "$SEND" 127.0.0.1 9 20 > /dev/null
	sleep 1.2
	stop_tracer
	assert_equal "$TRACER_RC" 0
	assert_equal "$(wc -l < "$OUT")" 0
	dropwatch -j --pid 1
	in_ns "$SEND" 127.0.0.1 9 20 > /dev/null
	sleep 1.2
	stop_tracer
	assert_equal "$(wc -l < "$OUT")" 0
}

@test "bad options exit 64 naming the option" {
	for args in "--proto sctp:--proto" "--port 0:--port" "--port 70000:--port" \
		"--saddr 1.2.3:--saddr" "--daddr ::g:--daddr" "--netns /nonexistent:--netns" \
		"--netns rtest_no_such_ns:--netns" "--reason NO_SUCH_REASON:--reason" \
		"--exclude-reason ,:--exclude-reason" "--interval 1s:--interval" \
		"--metrics /nonexistent/x.prom:--metrics" \
		"--summary --interval 0:--interval" "--rate -1:--rate" "--rate x:--rate" \
		"--summary --stack:--stack" "--reason 999:--reason" "--reason 200:--reason" \
		"--reason MAX:--reason" "--reason 0x30001:--reason" \
		"--reason NO_SOCKET --exclude-reason NO_SOCKET:--exclude-reason" \
		"--reason NO_SOCKET,0x10001 --exclude-reason 0x10001,NO_SOCKET:--exclude-reason"; do
		# shellcheck disable=SC2086
		run --separate-stderr timeout 10 "$HT_BUILD/huatuo-dropwatch" ${args%%:*}
		[ "$status" -eq 64 ] || fail "${args%%:*}: exit $status, want 64"
		[[ "$stderr" == *"${args##*:}"* ]] || fail "${args%%:*}: $stderr"
		[ -z "$output" ] || fail "${args%%:*}: wrote to stdout"
	done
}

# The name of value $2 in the BTF enums whose names end in $1 (kernel, then modules), if any.
btf_enumerator() {
	local f base
	for f in /sys/kernel/btf/vmlinux /sys/kernel/btf/*; do
		base=()
		[ "$f" = /sys/kernel/btf/vmlinux ] || base=(--base-btf /sys/kernel/btf/vmlinux)
		bpftool btf dump file "$f" "${base[@]}" 2>/dev/null | awk -v suffix="$1'" -v val="$2" '
			/^\[/ { in_enum = $2 == "ENUM" && substr($3, length($3) - length(suffix) + 1) == suffix }
			in_enum && $2 == "val=" val { gsub("\047", "", $1); print $1; exit }'
	done | head -1
}

# testrun REASON...: run the raw_tp program once per reason, at a location only this test uses
testrun() {
	local r
	for r in "$@"; do
		"$HT_BUILD/ht-testrun" dropwatch_raw 0 "$MARK" "$r" 0 > /dev/null ||
			fail "ht-testrun dropwatch_raw failed"
	done
}

# marked_reasons N: wait for N events of this test, then print their reason codes and names
marked_reasons() {
	local i mark
	mark=$(printf '0x%x' "$MARK")
	for i in $(seq 100); do
		[ "$(grep -c "\"drop_location\":\"$mark\"" "$OUT")" -ge "$1" ] && break
		sleep 0.1
	done
	jq -r --arg mark "$mark" 'select(.tracer_data.drop_location == $mark) |
		"\(.tracer_data.reason_code) \(.tracer_data.reason)"' "$OUT"
}

@test "subsystem drop reasons (0x10001) follow --reason and --exclude-reason, named from BTF" {
	[ -x "$HT_BUILD/ht-testrun" ] || skip "no ht-testrun (make builds it)"
	subsys=$(btf_enumerator drop_reason_subsys 1)
	[ -n "$subsys" ] || skip "no subsystem drop reasons on this kernel (< 6.0)"
	# the subsystem's own name for code 1 where its enum is in BTF (module loaded), else ours
	name=$(btf_enumerator _drop_reason 65537)
	[ -n "$name" ] || name="SUBSYS_${subsys#SKB_DROP_REASON_SUBSYS_}:1"
	MARK=$((0x7e5700000000 + $$))

	# raw_tp without --netns: the synthetic skb (NULL) has no namespace
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-dropwatch" --probe raw_tp -j --rate 0 \
		--reason "NO_SOCKET,$name" -d 30
	testrun 3 5 0x10002 0x10001 3
	run marked_reasons 3
	stop_tracer
	assert_equal "$TRACER_RC" 0
	assert_output "$(printf '3 NO_SOCKET\n65537 %s\n3 NO_SOCKET' "$name")"

	# excluded by its number, the other subsystem reasons and core ones still reported
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-dropwatch" --probe raw_tp -j --rate 0 \
		--exclude-reason 0x10001,NO_SOCKET -d 30
	testrun 0x10001 3 0x10002 5
	run marked_reasons 2
	stop_tracer
	assert_equal "$TRACER_RC" 0
	name2=$(btf_enumerator _drop_reason 65538)
	assert_output "$(printf '65538 %s\n5 SOCKET_FILTER' \
		"${name2:-SUBSYS_${subsys#SKB_DROP_REASON_SUBSYS_}:2}")"
}
