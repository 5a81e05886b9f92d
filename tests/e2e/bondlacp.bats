#!/usr/bin/env bats
# huatuo-bondlacp: this kernel has no bonding driver, so the real-kernel tests check the clear
# "no bonding interface" refusal (exit 1, also for --check) inside a fresh network namespace,
# and that --wait keeps watching rtnetlink and ends cleanly. The change tracking itself runs on
# synthetic rtnetlink messages in tests/unit/bondlacp.bats. Where a bonding driver exists, a
# real 802.3ad bond over veths in rtest namespaces is flapped.
load ../lib/common

NS=rtest_bond_$$

setup() {
	require_root
	require_cmd ip
	OUT=$BATS_TEST_TMPDIR/out
	ERR=$BATS_TEST_TMPDIR/err
}

teardown() {
	stop_tracer
	ip netns del "$NS" 2>/dev/null || true
	ip netns del "${NS}_b" 2>/dev/null || true
}

has_bonding() {
	[ -d /proc/net/bonding ] || [ -d /sys/module/bonding ] || modprobe -q bonding 2>/dev/null
}

@test "no bond in the namespace: one clear line, exit 1 (run and --check)" {
	ip netns add "$NS"
	has_bonding && [ -n "$(ls /proc/net/bonding 2>/dev/null)" ] &&
		skip "bonds exist host-wide (/proc/net/bonding is not per namespace here)"
	run --separate-stderr ip netns exec "$NS" "$HT_BUILD/huatuo-bondlacp" -d 5
	assert_equal "$status" 1
	assert_equal "${#stderr_lines[@]}" 1
	[[ "$stderr" == "huatuo-bondlacp: no bonding interface"*"--wait"* ]] || fail "$stderr"
	assert_output ""
	run --separate-stderr ip netns exec "$NS" "$HT_BUILD/huatuo-bondlacp" --check
	assert_equal "$status" 1
	assert_equal "${#stderr_lines[@]}" 1
	[[ "$stderr" == "huatuo-bondlacp: no bonding interface"* ]] || fail "$stderr"
	run --separate-stderr ip netns exec "$NS" "$HT_BUILD/huatuo-bondlacp" --check --json
	assert_equal "$status" 1
}

@test "--wait: watches rtnetlink without a bond, link changes of plain devices are ignored" {
	ip netns add "$NS"
	start_tracer "$OUT" "$ERR" ip netns exec "$NS" "$HT_BUILD/huatuo-bondlacp" --wait -j -d 30
	ip -n "$NS" link add rtest_v0 type veth peer name rtest_v1
	ip -n "$NS" link set rtest_v0 up
	ip -n "$NS" link set rtest_v1 up
	ip -n "$NS" link set rtest_v0 mtu 1400
	sleep 1.2
	kill -0 "$TRACER_PID" || fail "tracer died: $(cat "$ERR")"
	stop_tracer
	assert_equal "$TRACER_RC" 0
	assert_equal "$(wc -c < "$OUT")" 0
	grep -q '^Tracing bond LACP state changes' "$ERR" || fail "$(cat "$ERR")"
}

@test "without root: one line naming it, exit 1" {
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	run --separate-stderr setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$HT_BUILD/huatuo-bondlacp" --wait -d 1
	assert_equal "$status" 1
	[[ "$stderr" == "huatuo-bondlacp: need root"* ]] || fail "$stderr"
}

@test "real 802.3ad bond: a slave going down is reported with the bond's text" {
	has_bonding || skip "no bonding driver in this kernel (CONFIG_BONDING off)"
	ip netns add "$NS"
	ip netns add "${NS}_b"
	for side in "$NS" "${NS}_b"; do
		ip -n "$side" link add rtbond0 type bond mode 802.3ad lacp_rate fast miimon 100 ||
			skip "cannot create an 802.3ad bond"
	done
	for i in 0 1; do
		ip -n "$NS" link add rtest_a$i type veth peer name rtest_b$i netns "${NS}_b"
		ip -n "$NS" link set rtest_a$i master rtbond0
		ip -n "${NS}_b" link set rtest_b$i master rtbond0
	done
	ip -n "$NS" link set rtbond0 up
	ip -n "${NS}_b" link set rtbond0 up
	sleep 4 # LACP negotiation
	start_tracer "$OUT" "$ERR" ip netns exec "$NS" "$HT_BUILD/huatuo-bondlacp" -j -d 30
	ip -n "${NS}_b" link set rtest_b1 down
	for i in $(seq 50); do [ -s "$OUT" ] && break; sleep 0.1; done
	stop_tracer
	assert_equal "$TRACER_RC" 0
	assert_ndjson "$OUT"
	jq -e -s 'any(.[]; .tracer_data.bond == "rtbond0" and .tracer_data.slave == "rtest_a1"
		and (.tracer_data.content | contains("Slave Interface: rtest_a1")))' "$OUT" >/dev/null ||
		fail "$(cat "$OUT")"
}
