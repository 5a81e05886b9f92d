#!/usr/bin/env bats
# huatuo-txtimeout: net:net_dev_xmit_timeout cannot be raised here (only virtio_net has
# ndo_tx_timeout, kernel-triggers.md section 5), so the tests prove the attach of every flavour
# and drive the raw_tp program with synthetic arguments (BPF_PROG_TEST_RUN via ht-testrun).
load ../lib/common

setup() {
	require_bpf
	[ -d /sys/kernel/tracing/events/net/net_dev_xmit_timeout ] ||
		[ -d /sys/kernel/debug/tracing/events/net/net_dev_xmit_timeout ] ||
		skip "no net:net_dev_xmit_timeout tracepoint"
	OUT=$BATS_TEST_TMPDIR/out
	ERR=$BATS_TEST_TMPDIR/err
	TESTRUN=$HT_BUILD/ht-testrun
	[ -x "$TESTRUN" ] || skip "no $TESTRUN (make builds it)"
}

teardown() {
	stop_tracer
}

# A fake struct net_device * whose name field is a kernel string constant (printk_formats):
# prints "POINTER STRING". Other fields read whatever memory follows, safely.
fake_dev() {
	local off addr str
	off=$(bpftool btf dump file /sys/kernel/btf/vmlinux format raw 2>/dev/null |
		awk "/^\[[0-9]+\] STRUCT 'net_device' /{f=1;next} f&&/^\[/{exit}
		     f&&/^\t'name' /{sub(/.*bits_offset=/,\"\"); print \$1/8; exit}")
	[ -n "$off" ] || return 1
	read -r addr str < <(sed -n 's/^\(0x[0-9a-f]*\) : "\([a-z_]\{4,15\}\)"$/\1 \2/p' \
		/sys/kernel/tracing/printk_formats 2>/dev/null | head -1)
	[ -n "$addr" ] || return 1
	printf '0x%x %s\n' $((addr - off)) "$str"
}

@test "--check attaches tp_btf, raw_tp and the classic tracepoint" {
	run --separate-stderr "$HT_BUILD/huatuo-txtimeout" --check
	assert_success
	# raw_tp first with the kernel BTF subset, tp_btf on all of kernel BTF (btfmin.bats)
	assert_line --regexp "^  net_dev_xmit_timeout +$(default_kind) +net_dev_xmit_timeout "
	for kind in tp_btf raw_tp tracepoint; do
		run --separate-stderr "$HT_BUILD/huatuo-txtimeout" --check --probe "$kind" -j
		assert_success
		printf '%s' "$output" | jq -e --arg k "$kind" '.hooks | length == 1 and .[0].kind == $k' \
			>/dev/null || fail "$kind: $output"
	done
}

@test "no kprobe/fentry flavour: --probe kprobe is bad usage, one line naming it, exit 64" {
	run --separate-stderr "$HT_BUILD/huatuo-txtimeout" --check --probe kprobe
	assert_equal "$status" 64
	assert_equal "${#stderr_lines[@]}" 1
	[[ "$stderr" == "huatuo-txtimeout: invalid --probe 'kprobe': hook net_dev_xmit_timeout"* ]] ||
		fail "$stderr"
}

@test "bogus device pointers: queue_index reported, empty ifname and driver, no crash" {
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-txtimeout" --probe raw_tp -j -d 30
	run "$TESTRUN" txtimeout_raw 0 3
	assert_success
	run "$TESTRUN" txtimeout_raw 1 7
	assert_success
	run "$TESTRUN" txtimeout_raw 0xffffffffffff0000 -1
	assert_success
	wait_lines 3
	stop_tracer
	assert_equal "$TRACER_RC" 0
	assert_ndjson "$OUT"
	run jq -c '[.tracer_name, .tracer_type, .tracer_data.queue_index, .tracer_data.ifname,
		.tracer_data.driver, (.tracer_data | has("ifindex") or has("queue_state"))]' "$OUT"
	assert_output - <<-'EOT'
	["netdev_txqueue_timeout","auto",3,"","",false]
	["netdev_txqueue_timeout","auto",7,"","",false]
	["netdev_txqueue_timeout","auto",-1,"","",false]
	EOT
}

@test "ifname read from the device; --dev filters in the kernel" {
	read -r dev name < <(fake_dev) || skip "no net_device BTF offset or kernel string"
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-txtimeout" --probe raw_tp -j -d 30 --dev "$name"
	run "$TESTRUN" txtimeout_raw 0 1   # no name: filtered out
	assert_success
	run "$TESTRUN" txtimeout_raw "$dev" 2
	assert_success
	wait_lines 1
	sleep 0.3
	stop_tracer
	assert_equal "$TRACER_RC" 0
	assert_equal "$(wc -l < "$OUT")" 1
	jq -e --arg n "$name" '.tracer_data.ifname == $n and .tracer_data.device_name == $n
		and .tracer_data.queue_index == 2 and (.tracer_data.ifindex | type == "number")
		and (.tracer_data.netns | type == "number")' "$OUT" >/dev/null || fail "$(cat "$OUT")"
}

@test "table output: header and one row" {
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-txtimeout" --probe raw_tp -d 30
	run "$TESTRUN" txtimeout_raw 0 4
	assert_success
	wait_lines 2
	stop_tracer
	assert_equal "$TRACER_RC" 0
	run cat "$OUT"
	assert_line --index 0 --regexp "^TIME +IFNAME +QUEUE +DRIVER +AGE\(ms\) +STATE$"
	assert_line --index 1 --regexp "^[0-9:. -]+ +- +4 +- +- +-$"
}

@test "--dev of a device this namespace lacks: said once at start, exit 0; an existing one: nothing" {
	run --separate-stderr "$HT_BUILD/huatuo-txtimeout" -j --dev nosuch0 -d 0.3
	assert_success
	assert_output ""
	run grep -c -- "--dev nosuch0: no such device in this network namespace (yet)" <<<"$stderr"
	assert_output 1
	run --separate-stderr "$HT_BUILD/huatuo-txtimeout" --dev lo -d 0.3
	assert_success
	[[ "$stderr" != *"no such device"* ]] || fail "$stderr"
}

@test "bad --dev values exit 64 naming the option" {
	for v in "" "a-very-long-interface-name" "a/b"; do
		run --separate-stderr "$HT_BUILD/huatuo-txtimeout" --dev "$v"
		assert_equal "$status" 64
		[[ "$stderr" == *"--dev"* ]] || fail "$stderr"
	done
}

@test "no kernel config file (containers, minimal hosts): CONFIG_HZ is estimated, the tool loads" {
	run --separate-stderr env HUATUO_NO_KCONFIG=1 "$HT_BUILD/huatuo-txtimeout" --check -v
	assert_success
	[[ "$stderr" =~ CONFIG_HZ=([0-9]+)\ estimated ]] || fail "no estimate: $stderr"
	hz=${BASH_REMATCH[1]}
	if [ -r /proc/config.gz ]; then
		assert_equal "$hz" "$(zcat /proc/config.gz | sed -n 's/^CONFIG_HZ=//p')"
	else
		[[ " 100 250 300 1000 " == *" $hz "* ]] || fail "HZ $hz"
	fi
}
