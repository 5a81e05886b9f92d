#!/usr/bin/env bats
# huatuo-pfc on this machine, where no device has DCB (veth, virtio): the PFC counters of real
# DCB replies are covered by the unit suite (fake RTM_GETDCB replies); here the real kernel
# answers RTM_GETDCB for a veth in a netns made by the test, and the tool must say so clearly.
load ../lib/common

setup() {
	require_root
	require_cmd ip
	NS=rtest_pfc_$$
	ip netns add "$NS"
	ip -n "$NS" link add rvp0 type veth peer name rvp1
	ERR=$BATS_TEST_TMPDIR/err
}

teardown() {
	ip netns del "$NS" 2>/dev/null || true
}

@test "--dev without DCB: names the device and why, exit 1" {
	run --separate-stderr "$HT_BUILD/huatuo-pfc" --netns "$NS" --dev rvp0
	assert_equal "$status" 1
	[[ "$stderr" == *"rvp0 (no DCB support)"* ]] || fail "$stderr"
	[[ "$stderr" == *"none of the --dev devices has DCB"* ]] || fail "$stderr"
	[ -z "$output" ] || fail "wrote to stdout: $output"
	run --separate-stderr "$HT_BUILD/huatuo-pfc" --netns "$NS" --dev rtest_nodev
	assert_equal "$status" 1
	[[ "$stderr" == *"rtest_nodev (no such device)"* ]] || fail "$stderr"
}

@test "every device, none with DCB: one stderr line naming them, empty exposition, exit 0" {
	run --separate-stderr "$HT_BUILD/huatuo-pfc" --netns "$NS"
	assert_success
	assert_equal "${#stderr_lines[@]}" 1
	[[ "$stderr" == *"rvp0 (no DCB support)"* && "$stderr" == *"rvp1 (no DCB support)"* ]] ||
		fail "$stderr"
	[[ "$stderr" != *"lo ("* ]] || fail "loopback is not a candidate: $stderr"
	assert_line '# TYPE huatuo_bamai_netdev_dcb_pfc_received_total counter'
	assert_line '# TYPE huatuo_bamai_netdev_dcb_pfc_send_total counter'
	assert_equal "${#lines[@]}" 4
	run --separate-stderr "$HT_BUILD/huatuo-pfc" --netns "$NS" -j
	assert_success
	assert_output ""
}

@test "-o is checked like in every tool: an unusable directory is one line and exit 1" {
	run --separate-stderr "$HT_BUILD/huatuo-pfc" --netns "$NS" -o /etc/passwd/x
	assert_equal "$status" 1
	assert_equal "${#stderr_lines[@]}" 1
	[[ "$stderr" == *"cannot use --output /etc/passwd/x: /etc/passwd is not a directory"* ]] || fail "$stderr"
	[ -z "$output" ] || fail "wrote to stdout: $output"
	run --separate-stderr "$HT_BUILD/huatuo-pfc" --netns "$NS" -o "$BATS_TEST_TMPDIR/store"
	assert_success
	[ -d "$BATS_TEST_TMPDIR/store" ] || fail "the -o directory was not made"
}

@test "--check: no DCB device here is one line and exit 1" {
	run --separate-stderr "$HT_BUILD/huatuo-pfc" --netns "$NS" --check
	assert_equal "$status" 1
	assert_equal "${#stderr_lines[@]}" 1
	[[ "$stderr" == *"no device with DCB"*"rvp0"* ]] || fail "$stderr"
}

@test "--metrics rewrites the file every --interval until stopped" {
	prom=$BATS_TEST_TMPDIR/pfc.prom
	"$HT_BUILD/huatuo-pfc" --netns "$NS" --metrics "$prom" --interval 1 -v > /dev/null 2> "$ERR" &
	pid=$!
	for _ in $(seq 50); do [ -s "$prom" ] && break; sleep 0.1; done
	first=$(stat -c %Y.%i "$prom")
	sleep 2.2
	second=$(stat -c %Y.%i "$prom")
	kill -INT "$pid"
	rc=0
	wait "$pid" || rc=$?
	assert_equal "$rc" 0
	[ "$first" != "$second" ] || fail "not rewritten: $first"
	assert_equal "$(stat -c %a "$prom")" 644
	grep -qx '# TYPE huatuo_bamai_netdev_dcb_pfc_send_total counter' "$prom"
	# a PFC tool, not an event tool: no events_total or lost_total
	! grep -q '_events_total\|_lost_total' "$prom" || fail "$(cat "$prom")"
	if command -v promtool >/dev/null; then
		promtool check metrics < "$prom" || fail "promtool: $(cat "$prom")"
	fi
	grep -q '^Tracing PFC counters' "$ERR"
	# -v: the devices without DCB on every round
	[ "$(grep -c 'rvp0 (no DCB support)' "$ERR")" -ge 2 ] || fail "$(cat "$ERR")"
	[ -z "$(ls -A "$BATS_TEST_TMPDIR" | grep -v -e '^pfc.prom$' -e '^err$')" ] ||
		fail "temporary files left: $(ls -A "$BATS_TEST_TMPDIR")"
}

@test "bad options exit 64 naming the option" {
	for case in "--interval 5s:--interval" "--metrics /x.prom --interval 0:--interval" \
		"--metrics /nonexistent/dir/x.prom:--metrics" "--dev '':--dev" \
		"--netns rtest_pfc_none:--netns"; do
		args=${case%%:*}
		name=${case##*:}
		eval "set -- $args"
		run --separate-stderr "$HT_BUILD/huatuo-pfc" "$@"
		[ "$status" -eq 64 ] || fail "$args: exit $status"
		[[ "$stderr" == *"$name"* ]] || fail "$args: $stderr"
	done
}
