#!/usr/bin/env bats
# huatuo-memreclaim against real memcg reclaim stalls: dd writing through a 64 MiB memory
# cgroup onto a loop device whose writes are throttled (kernel-triggers.md, section 2).
load ../lib/common

setup() {
	require_bpf
	require_cmd losetup mkfs.ext4 dd
	[ -f /sys/fs/cgroup/blkio/blkio.throttle.write_bps_device ] ||
		skip "needs the v1 blkio throttle (write_bps_device)"
	[ -n "$(memcg_root)" ] || skip "no memory cgroup controller"
	WORK=$(mktemp -d /var/tmp/rtest_rcl.XXXXXX)
	OUT=$BATS_TEST_TMPDIR/out
	ERR=$BATS_TEST_TMPDIR/err
	truncate -s 512M "$WORK/img"
	LOOP=$(losetup -f --show "$WORK/img")
	MAJMIN=$(lsblk -dno MAJ:MIN "$LOOP" | tr -d ' ')
	mkfs.ext4 -q -F "$LOOP"
	mkdir "$WORK/mnt"
	mount "$LOOP" "$WORK/mnt"
	# a loop device's bdi may keep limits from an earlier user: reset them
	echo 0 > "/sys/class/bdi/$MAJMIN/strict_limit" 2>/dev/null || true
	echo 100 > "/sys/class/bdi/$MAJMIN/max_ratio" 2>/dev/null || true
	echo "$MAJMIN $((32 << 20))" > /sys/fs/cgroup/blkio/blkio.throttle.write_bps_device
	CG=$(make_memcg "rtest_rcl_$$" $((64 << 20)))
}

teardown() {
	stop_tracer
	[ -n "${MAJMIN:-}" ] && echo "$MAJMIN 0" > /sys/fs/cgroup/blkio/blkio.throttle.write_bps_device
	remove_cgroup "${CG:-}"
	mountpoint -q "$WORK/mnt" 2>/dev/null && umount "$WORK/mnt"
	[ -n "${LOOP:-}" ] && losetup -d "$LOOP"
	rm -rf "${WORK:?}"
}

# dd of 160 MiB in the memcg; prints dd's pid first
slow_writer() {
	sh -c 'echo $$ > "$1/cgroup.procs"; echo $$; exec dd if=/dev/zero of="$2/f" bs=1M count=160 2>/dev/null' \
		_ "$CG" "$WORK/mnt"
}

@test "memcg reclaim stalls of a dd are reported with its pid and deltatime >= threshold" {
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-memreclaim" -j -t 50ms -d 60 --comm dd
	run slow_writer
	assert_success
	dd_pid=${lines[0]}
	stop_tracer
	assert_equal "$TRACER_RC" 0
	assert_ndjson "$OUT"
	run jq -c --argjson pid "$dd_pid" 'select(.tracer_data.pid == $pid)' "$OUT"
	[ "${#lines[@]}" -ge 1 ] || fail "no event for dd ($dd_pid): $(cat "$OUT" "$ERR")"
	jq -e --argjson pid "$dd_pid" --arg cg "/rtest_rcl_$$" '
		select(.tracer_data.pid == $pid) |
		.tracer_name == "memory_reclaim_events" and .tracer_data.comm == "dd"
		and .tracer_data.deltatime >= 50000000 and .tracer_data.threshold == 50000000
		and .tracer_data.deltatime <= 1100000000 * (.tracer_data.nr_reclaims)
		and .tracer_data.max_single_ns <= .tracer_data.deltatime
		and .tracer_data.nr_reclaims >= 1 and .tracer_data.reclaim_type == "memcg"
		and .tracer_data.memcg == $cg' "$OUT" > /dev/null
}

@test "at most one report per task per 1 s window" {
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-memreclaim" -j -t 1ms -d 60 --comm dd
	run slow_writer
	stop_tracer
	run jq -r '.tracer_data.pid' "$OUT"
	[ "${#lines[@]}" -ge 1 ] || fail "no event"
	# each window starts >= 1 s after the previous one reported for the same task
	n=$(wc -l < "$OUT")
	[ "$n" -le 8 ] || fail "$n reports for a ~4 s run with 1 s windows"
}

@test "a threshold above any stall reports nothing" {
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-memreclaim" -j -t 30s -d 60 --comm dd
	run slow_writer
	stop_tracer
	assert_equal "$TRACER_RC" 0
	assert_equal "$(wc -c < "$OUT")" 0
}
