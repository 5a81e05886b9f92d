#!/usr/bin/env bats
# huatuo-netdev against real link changes of a veth pair between two network namespaces
# made by the test (rtest_nd_a_PID holds rvl0, rtest_nd_b_PID its peer rvl1).
load ../lib/common

# carrier changes go through linkwatch, delayed up to 1 s and coalesced: space the steps
STEP=1.3

setup() {
	require_root
	require_cmd ip jq
	NA=rtest_nd_a_$$
	NB=rtest_nd_b_$$
	ip netns add "$NA"
	ip netns add "$NB"
	ip link add rvl0 netns "$NA" type veth peer name rvl1 netns "$NB"
	ip -n "$NA" link set rvl0 up
	ip -n "$NB" link set rvl1 up
	sleep "$STEP"
	OUT=$BATS_TEST_TMPDIR/out
	ERR=$BATS_TEST_TMPDIR/err
}

teardown() {
	stop_tracer
	ip netns del "$NA" 2>/dev/null || true
	ip netns del "$NB" 2>/dev/null || true
}

# events OUT: "ifname start action linkstatus mtu old_mtu" per line
events() {
	jq -r '.tracer_data | [.ifname, .start, .action, .linkstatus, .mtu, (.old_mtu // "-")]
		| map(tostring) | join(" ")' "$1"
}

@test "admin down/up, carrier down/up and MTU: one event each, in order, after the baseline" {
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-netdev" -j --netns "$NA"
	ip -n "$NA" link set rvl0 down
	sleep "$STEP"
	ip -n "$NA" link set rvl0 up
	sleep "$STEP"
	ip -n "$NB" link set rvl1 down # carrier lost on rvl0
	sleep "$STEP"
	ip -n "$NB" link set rvl1 up
	sleep "$STEP"
	ip -n "$NA" link set rvl0 mtu 1400
	sleep 0.5
	stop_tracer
	assert_equal "$TRACER_RC" 0
	assert_ndjson "$OUT"
	run events "$OUT"
	assert_line --index 0 "rvl0 true start linkstatus_adminup,linkstatus_carrierup 1500 -"
	assert_line --index 1 "rvl0 false change linkstatus_admindown,linkstatus_carrierdown 1500 -"
	assert_line --index 2 "rvl0 false change linkstatus_adminup,linkstatus_carrierup 1500 -"
	assert_line --index 3 "rvl0 false change linkstatus_carrierdown 1500 -"
	assert_line --index 4 "rvl0 false change linkstatus_carrierup 1500 -"
	assert_line --index 5 "rvl0 false change  1400 1500"
	assert_equal "${#lines[@]}" 6
	mac=$(ip -n "$NA" -j link show rvl0 | jq -r '.[0].address')
	idx=$(ip -n "$NA" -j link show rvl0 | jq -r '.[0].ifindex')
	jq -se --arg mac "$mac" --argjson idx "$idx" 'all(.[];
		.tracer_name == "netdev_events" and .tracer_type == "auto"
		and .tracer_data.mac == $mac and .tracer_data.index == $idx
		and .tracer_data.driver == "veth" and (.tracer_data.driver_version | type) == "string"
		and .tracer_data.firmware_version == "")' "$OUT"
}

@test "a removed device is reported once, as a removal" {
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-netdev" -j --netns "$NA" --dev rvl0
	ip -n "$NA" link set rvl0 mtu 1300
	sleep 0.3
	ip -n "$NA" link del rvl0
	sleep 0.5
	stop_tracer
	assert_equal "$TRACER_RC" 0
	run events "$OUT"
	assert_line --index 0 --regexp '^rvl0 true start '
	assert_line --index 1 "rvl0 false change  1300 1500"
	assert_line --index "$((${#lines[@]} - 1))" --regexp '^rvl0 false remove  1300 -$'
	[ "$(grep -c remove <<<"$output")" -eq 1 ] || fail "$output"
}

@test "--dev: only the named devices; one that does not exist yet is reported when it appears" {
	ip link add rvl2 netns "$NA" type veth peer name rvl3 netns "$NB"
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-netdev" -j --netns "$NA" --dev rvl2 --dev rvl4
	grep -q -- "--dev rvl4: no such device" "$ERR" || fail "no warning: $(cat "$ERR")"
	ip -n "$NA" link set rvl0 down # not selected
	ip -n "$NA" link set rvl2 up
	ip link add rvl4 netns "$NA" type veth peer name rvl5 netns "$NB"
	sleep 0.5
	stop_tracer
	assert_equal "$TRACER_RC" 0
	run events "$OUT"
	assert_line --index 0 "rvl2 true start linkstatus_admindown,linkstatus_carrierdown 1500 -"
	assert_line --index 1 --regexp '^rvl2 false change linkstatus_adminup 1500 -$'
	assert_line --index 2 "rvl4 false add linkstatus_admindown,linkstatus_carrierdown 1500 -"
	assert_equal "${#lines[@]}" 3
}

@test "--netns by path, table output, -c ends the run" {
	ip netns exec "$NA" sleep 30 &
	holder=$!
	sleep 0.2
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-netdev" -c 2 -d 20 --netns "/proc/$holder/ns/net"
	ip -n "$NA" link set rvl0 mtu 1280
	wait_tracer 10
	kill "$holder"
	assert_equal "$TRACER_RC" 0
	run cat "$OUT"
	assert_line --index 0 --regexp '^TIME +IFNAME +INDEX +STATUS +MTU +MAC +START$'
	assert_line --index 1 --regexp '^[0-9:]{8} +rvl0 +[0-9]+ +adminup,carrierup +1500 +([0-9a-f]{2}:){5}[0-9a-f]{2} +true$'
	assert_line --index 2 --regexp '^[0-9:]{8} +rvl0 +[0-9]+ +mtu 1500->1280 +1280 +.* false$'
	assert_equal "${#lines[@]}" 3
}

@test "table: a removal says removed, an MTU change its old and new MTU, a new device added" {
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-netdev" --netns "$NA"
	ip -n "$NA" link set rvl0 mtu 1300
	ip -n "$NA" link del rvl0
	ip link add rvl2 netns "$NA" type veth peer name rvl3 netns "$NB"
	sleep 0.5
	stop_tracer
	assert_equal "$TRACER_RC" 0
	run cat "$OUT"
	assert_line --index 1 --regexp '^[0-9:]{8} +rvl0 +[0-9]+ +adminup,carrierup +1500 +.* true$'
	assert_line --index 2 --regexp '^[0-9:]{8} +rvl0 +[0-9]+ +mtu 1500->1300 +1300 +.* false$'
	# deleting a device that is up takes it down first
	assert_line --index 3 --regexp '^[0-9:]{8} +rvl0 +[0-9]+ +admindown,carrierdown +1300 +.* false$'
	assert_line --index 4 --regexp '^[0-9:]{8} +rvl0 +[0-9]+ +removed +1300 +.* false$'
	assert_line --index 5 --regexp '^[0-9:]{8} +rvl2 +[0-9]+ +added,admindown,carrierdown +1500 +.* false$'
	assert_equal "${#lines[@]}" 6
}

@test "--netns deleted while watched (ip netns del, or its process exits): one line on stderr, exit 0" {
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-netdev" -j --netns "$NA"
	ip netns del "$NA"
	wait_tracer 5
	assert_equal "$TRACER_RC" 0
	run grep -c "no longer names the namespace" "$ERR"
	assert_output 1
	# by path: the namespace of a process, which exits
	ip netns exec "$NB" sleep 30 &
	holder=$!
	sleep 0.2
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-netdev" -j --netns "/proc/$holder/ns/net"
	kill "$holder"
	wait "$holder" || true
	wait_tracer 5
	assert_equal "$TRACER_RC" 0
	grep -q "/proc/$holder/ns/net no longer names the namespace" "$ERR" || fail "$(cat "$ERR")"
	# a namespace that stays is watched on
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-netdev" -j --netns "$NB" -d 1
	wait_tracer 5
	assert_equal "$TRACER_RC" 0
	run grep -c "no longer" "$ERR"
	assert_output 0
}

@test "the host namespace is not mixed in: only this netns's devices" {
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-netdev" -j --netns "$NA"
	stop_tracer
	assert_equal "$TRACER_RC" 0
	run jq -r '.tracer_data.ifname' "$OUT"
	assert_output "rvl0"
}

@test "--snapshot: each device's state now, tracer_type manual, no banner, exit 0" {
	ip -n "$NA" link set rvl0 mtu 1400
	ip -n "$NA" link add rvl2 type veth peer name rvl3
	run -0 --separate-stderr timeout 10 "$HT_BUILD/huatuo-netdev" --snapshot -j --netns "$NA"
	[ -z "$stderr" ] || fail "$stderr"
	assert_equal "$(printf '%s\n' "$output" | jq -r '[.tracer_type, .tracer_data.ifname,
		.tracer_data.action, .tracer_data.start, .tracer_data.linkstatus, .tracer_data.mtu]
		| map(tostring) | join(" ")' | sort)" \
"manual rvl0 snapshot true linkstatus_adminup,linkstatus_carrierup 1400
manual rvl2 snapshot true linkstatus_admindown,linkstatus_carrierdown 1500
manual rvl3 snapshot true linkstatus_admindown,linkstatus_carrierdown 1500"
	run -0 --separate-stderr timeout 10 "$HT_BUILD/huatuo-netdev" --snapshot --netns "$NA" --dev rvl2
	assert_line --index 0 --regexp '^TIME +IFNAME +INDEX +STATUS'
	assert_line --index 1 --regexp '^[0-9:]{8} rvl2 '
	assert_equal "${#lines[@]}" 2
}

@test "bad options exit 64 naming the option" {
	run --separate-stderr "$HT_BUILD/huatuo-netdev" --netns rtest_nd_none_$$
	assert_equal "$status" 64
	[[ "$stderr" == *"--netns"* ]] || fail "$stderr"
	run --separate-stderr "$HT_BUILD/huatuo-netdev" --netns /nonexistent/ns
	assert_equal "$status" 64
	[[ "$stderr" == *"--netns"* ]] || fail "$stderr"
	run --separate-stderr "$HT_BUILD/huatuo-netdev" --dev ""
	assert_equal "$status" 64
	[[ "$stderr" == *"--dev"* ]] || fail "$stderr"
	run --separate-stderr "$HT_BUILD/huatuo-netdev" --dev a-name-longer-than-15
	assert_equal "$status" 64
	[[ "$stderr" == *"--dev"* ]] || fail "$stderr"
}

@test "--netns that is not a network namespace: one line, exit 1" {
	run --separate-stderr "$HT_BUILD/huatuo-netdev" --netns /proc/self/ns/uts -d 0
	assert_equal "$status" 1
	[[ "$stderr" == *"--netns"* ]] || fail "$stderr"
	assert_equal "${#stderr_lines[@]}" 1
}

# wait_file FILE FIXED-STRING [absent]: until a rewrite has (or no longer has) it, up to 5 s
wait_file() {
	local i
	for i in $(seq 50); do
		if [ "${3:-}" = absent ]; then
			grep -qF -- "$2" "$1" || return 0
		else
			grep -qF -- "$2" "$1" && return 0
		fi
		sleep 0.1
	done
	fail "$1 ${3:-has no} $2: $(cat "$1")"
}

@test "--metrics: a veth whose peer is down counts what it is sent in tx_dropped; devices come and go" {
	local prom=$BATS_TEST_TMPDIR/netdev.prom hr="host=\"$(hostname)\",region=\"rtest\""
	local name=$'rq"\\\x01\xff' shown='device="rq\"\\'$'\x01\xef\xbf\xbd''"'
	# rvl0 loses its carrier: what it sends is dropped; no IPv6 router solicitations of its own
	ip netns exec "$NA" sysctl -qw net.ipv6.conf.rvl0.disable_ipv6=1
	ip -n "$NB" link set rvl1 down
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-netdev" -j --netns "$NA" --metrics "$prom" \
		--interval 1 --region rtest
	# written before the banner: the state at start
	grep -qxF "huatuo_bamai_netdev_tx_dropped_total{device=\"rvl0\",driver=\"veth\",$hr} 0" "$prom" ||
		fail "$(cat "$prom")"
	grep -qxF "huatuo_bamai_netdev_up{device=\"rvl0\",driver=\"veth\",link=\"admin\",$hr} 1" "$prom"
	grep -qxF "huatuo_bamai_netdev_up{device=\"rvl0\",driver=\"veth\",link=\"carrier\",$hr} 0" "$prom"
	! grep -q 'device="lo"' "$prom" || fail "loopback is written: $(cat "$prom")"
	sent=$(ip netns exec "$NA" "$BATS_TEST_DIRNAME/../helpers/frame-send.py" rvl0 37)
	assert_equal "$sent" 37
	# a device that appears is added (its name escaped), one that goes away leaves the file
	ip -n "$NA" link add "$name" type veth peer name rvl2
	wait_file "$prom" "huatuo_bamai_netdev_tx_dropped_total{device=\"rvl0\",driver=\"veth\",$hr} 37"
	wait_file "$prom" "huatuo_bamai_netdev_rx_dropped_total{$shown,driver=\"veth\",$hr} 0"
	wait_file "$prom" "huatuo_bamai_netdev_up{device=\"rvl2\",driver=\"veth\",link=\"admin\",$hr} 0"
	if command -v promtool >/dev/null; then
		promtool check metrics < "$prom" || fail "promtool: $(cat "$prom")"
	fi
	ip -n "$NA" link del rvl2
	wait_file "$prom" 'device="rvl2"' absent
	wait_file "$prom" "$shown" absent
	stop_tracer
	assert_equal "$TRACER_RC" 0
	# the kernel's own figure agrees, and the last write has it
	assert_equal "$(ip -n "$NA" -j -s link show rvl0 | jq '.[0].stats64.tx.dropped')" 37
	grep -qxF "huatuo_bamai_netdev_tx_dropped_total{device=\"rvl0\",driver=\"veth\",$hr} 37" "$prom"
	for f in rx_dropped rx_missed_errors rx_fifo_errors rx_crc_errors rx_errors tx_errors; do
		grep -qxF "huatuo_bamai_netdev_${f}_total{device=\"rvl0\",driver=\"veth\",$hr} 0" "$prom" ||
			fail "$f: $(cat "$prom")"
		grep -qx "# TYPE huatuo_bamai_netdev_${f}_total counter" "$prom"
	done
	grep -qx '# TYPE huatuo_bamai_netdev_up gauge' "$prom"
	# carrier changes: the kernel's count
	changes=$(ip -n "$NA" -d -j link show rvl0 | jq '.[0].carrier_changes // empty')
	[ -z "$changes" ] ||
		grep -qxF "huatuo_bamai_netdev_carrier_changes_total{device=\"rvl0\",driver=\"veth\",$hr} $changes" "$prom" ||
		fail "carrier_changes $changes: $(cat "$prom")"
	# the event stream is unchanged, and events_total counts its lines by action
	for action in start add remove change; do
		n=$(jq -r --arg a "$action" 'select(.tracer_data.action == $a) | 1' "$OUT" | wc -l)
		if [ "$n" -gt 0 ]; then
			grep -qxF "huatuo_bamai_netdev_events_events_total{action=\"$action\",$hr} $n" "$prom" ||
				fail "$action $n: $(cat "$prom")"
		fi
	done
	[ "$(jq -r 'select(.tracer_data.action == "start") | .tracer_data.ifname' "$OUT")" = rvl0 ] ||
		fail "$(cat "$OUT")"
	if command -v promtool >/dev/null; then
		promtool check metrics < "$prom" || fail "promtool: $(cat "$prom")"
	fi
	[ -z "$(ls -A "$BATS_TEST_TMPDIR" | grep '^\.netdev\.prom\.')" ] || fail "temporary file left"
}

@test "--metrics with --dev: only those devices" {
	local prom=$BATS_TEST_TMPDIR/netdev.prom
	ip -n "$NA" link add rvl3 type veth peer name rvl4
	run --separate-stderr "$HT_BUILD/huatuo-netdev" --netns "$NA" --dev rvl3 --metrics "$prom" -d 0
	assert_success
	grep -q 'device="rvl3"' "$prom" || fail "$(cat "$prom")"
	! grep -q 'device="rvl[04]"' "$prom" || fail "$(cat "$prom")"
}
