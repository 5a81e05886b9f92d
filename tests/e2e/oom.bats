#!/usr/bin/env bats
# huatuo-oom against real OOM kills inside a memory cgroup made by the test.
load ../lib/common

setup() {
	require_bpf
	[ -n "$(memcg_root)" ] || skip "no memory cgroup controller"
	CG=$(make_memcg "rtest_oom_$$" $((64 << 20)))
	OUT=$BATS_TEST_TMPDIR/out
	ERR=$BATS_TEST_TMPDIR/err
}

teardown() {
	stop_tracer
	local d
	# nested ones first, deepest first
	while read -r d; do remove_cgroup "$d"; done < <(find "$CG" -mindepth 1 -depth -type d 2>/dev/null)
	remove_cgroup "$CG"
	if mountpoint -q "$BATS_TEST_TMPDIR/full" 2>/dev/null; then umount "$BATS_TEST_TMPDIR/full"; fi
}

# run_in_cgroup CMD...: run in $CG; prints the pid the command ran as (it execs)
run_in_cgroup() {
	sh -c 'echo $$ > "$1/cgroup.procs"; echo $$; shift; exec "$@"' _ "$CG" "$@"
}

@test "a memcg OOM kill: victim and trigger pids, names, memcg limit and usage" {
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-oom" -j -c 1 -d 30 --cgroup "/rtest_oom_$$"
	run run_in_cgroup python3 "$BATS_TEST_DIRNAME/../helpers/mem-alloc.py" 200
	assert_equal "$status" 137 # SIGKILLed by the OOM killer
	hog=${lines[0]}
	wait_tracer 10
	assert_equal "$TRACER_RC" 0
	assert_equal "$(wc -l < "$OUT")" 1
	assert_ndjson "$OUT"
	jq -e --argjson pid "$hog" --arg cg "/rtest_oom_$$" '
		.tracer_name == "oom" and .tracer_type == "auto"
		and .tracer_data.victim_pid == $pid and .tracer_data.trigger_pid == $pid
		and .tracer_data.victim_process_name == "python3"
		and .tracer_data.trigger_process_name == "python3"
		and .tracer_data.victim_memcg == $cg and .tracer_data.trigger_memcg == $cg
		and (.tracer_data.victim_memcg_css | test("^0x[0-9a-f]+$"))
		and .tracer_data.victim_memcg_css == .tracer_data.trigger_memcg_css
		and .tracer_data.memcg_limit_bytes == 67108864
		and .tracer_data.memcg_usage_bytes > 60000000
		and .tracer_data.victim_rss_bytes > 50000000
		and .tracer_data.victim_container_id == ""' "$OUT"
}

@test "classic tracepoint flavor (the victim's pid only, < 6.9), victim = trigger: all from the kernel" {
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-oom" -j -c 1 -d 30 --probe tracepoint \
		--cgroup "/rtest_oom_$$"
	run run_in_cgroup python3 "$BATS_TEST_DIRNAME/../helpers/mem-alloc.py" 200
	assert_equal "$status" 137
	hog=${lines[0]}
	wait_tracer 10
	assert_equal "$TRACER_RC" 0
	assert_equal "$(wc -l < "$OUT")" 1
	jq -e --argjson pid "$hog" --arg cg "/rtest_oom_$$" '
		.tracer_data.victim_pid == $pid and .tracer_data.trigger_pid == $pid
		and .tracer_data.victim_process_name == "python3"
		and .tracer_data.victim_memcg == $cg and .tracer_data.trigger_memcg == $cg
		and .tracer_data.memcg_limit_bytes == 67108864' "$OUT" ||
		fail "$(cat "$OUT" "$ERR")"
}

# kernel_path DEPTH: the path the kernel recorded (ht_cgroup_paths) for the tracer's cgroup of
# DEPTH levels, as "depth truncated /leaf/.../outer"
kernel_path() {
	local id
	for id in $(bpf_map_ids "$TRACER_PID"); do
		[ "$(bpftool map show id "$id" -j | jq -r .name)" = ht_cgroup_paths ] || continue
		bpftool map dump id "$id" -j | jq -r --argjson d "$1" '.[].formatted.value |
			select(.depth == $d) | "\(.depth) \(.truncated) " +
			(.names[:.depth] | map("/" + .) | join(""))'
	done
}

@test "the path the kernel records: the levels of a nested memcg, leaf first; 8 at most, then truncated" {
	local sub path lvls=() n
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-oom" -j -d 60 --cgroup "/rtest_oom_$$"
	# 3 levels below the root, 8 (all kept), 9 (the outermost is left out)
	for n in 2 7 8; do
		sub=$(seq -s / 1 "$n")
		mkdir -p "$CG/$sub"
		CG=$CG/$sub run run_in_cgroup python3 "$BATS_TEST_DIRNAME/../helpers/mem-alloc.py" 200
		assert_equal "$status" 137
		lvls+=("$sub")
	done
	wait_lines 3
	jq -e --arg cg "/rtest_oom_$$" --arg a "${lvls[0]}" --arg b "${lvls[1]}" --arg c "${lvls[2]}" -s '
		map(.tracer_data.victim_memcg) == [$cg + "/" + $a, $cg + "/" + $b, $cg + "/" + $c]' \
		"$OUT" || fail "$(cat "$OUT" "$ERR")"
	# leaf first in the map: 2, 1, rtest_oom_$$
	assert_equal "$(kernel_path 3)" "3 0 /2/1/rtest_oom_$$"
	assert_equal "$(kernel_path 8 | sort)" "$(printf '8 0 /7/6/5/4/3/2/1/rtest_oom_%s\n8 1 /8/7/6/5/4/3/2/1' $$)"
}

# fat_and_hog TOOL_ARGS...: an idle fat process (40 MiB held, the likely victim by RSS) and a
# growing hog in $CG; sets FAT and HOG (pids), the tracer's output in $OUT
fat_and_hog() {
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-oom" -j -c 1 -d 30 --cgroup "/rtest_oom_$$" "$@"
	run_in_cgroup python3 "$BATS_TEST_DIRNAME/../helpers/mem-alloc.py" 44 30 > "$BATS_TEST_TMPDIR/fat" &
	for _ in $(seq 50); do
		[ -s "$BATS_TEST_TMPDIR/fat" ] && grep -q python3 "/proc/$(cat "$BATS_TEST_TMPDIR/fat")/comm" 2>/dev/null &&
			awk '/^VmRSS/ {exit !($2 > 40000)}' "/proc/$(cat "$BATS_TEST_TMPDIR/fat")/status" && break
		sleep 0.1
	done
	FAT=$(cat "$BATS_TEST_TMPDIR/fat")
	run run_in_cgroup python3 -c 'import time; b=[]
for i in range(30):
    b.append(bytearray(1 << 20)); time.sleep(0.005)
time.sleep(1)'
	HOG=${lines[0]}
	wait_tracer 10
	assert_equal "$TRACER_RC" 0
}

@test "victim differs from trigger: an idle fat process is killed for a growing one" {
	fat_and_hog
	jq -e --argjson fat "$FAT" --argjson hog "$HOG" '
		.tracer_data.victim_pid == $fat and .tracer_data.trigger_pid == $hog' "$OUT"
}

@test "classic tracepoint flavor, victim not the trigger: /proc facts only while they are true" {
	fat_and_hog --probe tracepoint
	# the victim is exiting, or already reaped, when we look: its memcg then reads as the
	# root and its name is gone; neither may be reported wrong (empty instead)
	jq -e --argjson fat "$FAT" --argjson hog "$HOG" --arg cg "/rtest_oom_$$" '
		.tracer_data.victim_pid == $fat and .tracer_data.trigger_pid == $hog
		and (.tracer_data.victim_process_name == "python3"
		     or .tracer_data.victim_process_name == "")
		and .tracer_data.trigger_memcg == $cg
		and (.tracer_data.victim_memcg == $cg or .tracer_data.victim_memcg == "")' "$OUT" ||
		fail "$(cat "$OUT" "$ERR")"
}

@test "table output: header and one row per kill" {
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-oom" -c 1 -d 30 --cgroup "/rtest_oom_$$"
	run run_in_cgroup python3 "$BATS_TEST_DIRNAME/../helpers/mem-alloc.py" 200
	hog=${lines[0]}
	wait_tracer 10
	assert_equal "$TRACER_RC" 0
	run cat "$OUT"
	assert_line --index 0 --regexp '^TIME +CONTAINER +TPID +TRIGGER +VPID +VICTIM +ANON +FILE +SHMEM +USAGE +LIMIT +MEMCG$'
	assert_line --index 1 --regexp "^[0-9:]{8} +- +$hog +python3 +$hog +python3 .* 64\.0M /rtest_oom_$$\$"
	assert_equal "${#lines[@]}" 2
}

# kib_to_table KIB: what the table shows for that many KiB (ht_fmt_bytes: 1024-based, one decimal)
kib_to_table() {
	awk -v k="$1" 'BEGIN { v = k * 1024; u = 0; split("K M G T P", n, " ")
		while (v >= 1024 && u < 5) { v /= 1024; u++ }
		if (u) printf "%.1f%s\n", v, n[u]; else printf "%dB\n", v }'
}

@test "victim memory: the kernel's own OOM report to the page, and the table's ANON within LIMIT" {
	# The field test read RSS 68.9M against LIMIT 64.0M: file pages the victim maps (the
	# python interpreter, its libraries) count in its RSS but are charged to the memcg that
	# read them first. Table and JSON (-o) of one kill, against dmesg's "Killed process" line.
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-oom" -c 1 -d 30 --cgroup "/rtest_oom_$$" \
		-o "$BATS_TEST_TMPDIR/store"
	run run_in_cgroup python3 "$BATS_TEST_DIRNAME/../helpers/mem-alloc.py" 200
	assert_equal "$status" 137
	hog=${lines[0]}
	wait_tracer 10
	assert_equal "$TRACER_RC" 0
	kill_line=$(dmesg | grep "Killed process $hog (" | tail -1)
	[[ $kill_line =~ anon-rss:([0-9]+)kB,\ file-rss:([0-9]+)kB,\ shmem-rss:([0-9]+)kB ]] ||
		fail "no OOM report for $hog in dmesg: $kill_line"
	anon=${BASH_REMATCH[1]} file=${BASH_REMATCH[2]} shmem=${BASH_REMATCH[3]}
	jq -e --argjson a "$anon" --argjson f "$file" --argjson s "$shmem" '.tracer_data |
		.victim_anon_rss_bytes == $a * 1024 and .victim_file_rss_bytes == $f * 1024
		and .victim_shmem_rss_bytes == $s * 1024
		and .victim_rss_bytes == ($a + $f + $s) * 1024
		and .memcg_limit_bytes == 67108864
		and .victim_anon_rss_bytes <= .memcg_usage_bytes
		and .memcg_usage_bytes <= .memcg_limit_bytes
		and .memcg_usage_bytes >= .memcg_limit_bytes - 2097152' "$BATS_TEST_TMPDIR/store/oom" ||
		fail "dmesg: $kill_line; JSON: $(cat "$BATS_TEST_TMPDIR/store/oom")"
	# USAGE: the memcg's charge when the kernel gave up, up to 2 MB under LIMIT (above)
	usage=$(jq '.tracer_data.memcg_usage_bytes / 1024 | floor' "$BATS_TEST_TMPDIR/store/oom")
	run cat "$OUT"
	assert_line --index 1 --regexp "^[0-9:]{8} +- +$hog +python3 +$hog +python3 +$(kib_to_table "$anon") +$(kib_to_table "$file") +$(kib_to_table "$shmem") +$(kib_to_table "$usage") +64\.0M /rtest_oom_$$\$"
}

@test "-o DIR keeps the same JSON lines in DIR/oom" {
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-oom" -j -c 1 -d 30 --cgroup "/rtest_oom_$$" \
		-o "$BATS_TEST_TMPDIR/store"
	run run_in_cgroup python3 "$BATS_TEST_DIRNAME/../helpers/mem-alloc.py" 200
	wait_tracer 10
	assert_equal "$TRACER_RC" 0
	assert_equal "$(cat "$BATS_TEST_TMPDIR/store/oom")" "$(cat "$OUT")"
}

@test "--pid filter in the kernel: another process's kill is not reported" {
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-oom" -j -d 3 --pid 1
	run run_in_cgroup python3 "$BATS_TEST_DIRNAME/../helpers/mem-alloc.py" 200
	assert_equal "$status" 137
	wait_tracer 10
	assert_equal "$TRACER_RC" 0
	assert_equal "$(wc -c < "$OUT")" 0
}

@test "SIGTERM, SIGINT, SIGHUP, -d and a closed pipe exit 0 and leave no BPF program" {
	for sig in TERM INT HUP; do
		assert_signal_exit "$sig" "$HT_BUILD/huatuo-oom" -j
	done
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-oom" -d 1
	ids=$(bpf_ids_of_pid "$TRACER_PID")
	wait_tracer 5
	assert_equal "$TRACER_RC" 0
	assert_bpf_released "$ids"
	# reader gone: the tool sees EPIPE at its next event and exits 0
	( sh -c 'echo $$ > "$0"; exec "$@"' "$BATS_TEST_TMPDIR/pid" "$HT_BUILD/huatuo-oom" -j \
		--cgroup "/rtest_oom_$$" -d 30 2>"$ERR.pipe"; echo "rc=$?" > "$BATS_TEST_TMPDIR/rc" ) | head -n 1 > /dev/null &
	for _ in $(seq 100); do grep -q '^Tracing' "$ERR.pipe" 2>/dev/null && break; sleep 0.1; done
	ids=$(bpf_ids_of_pid "$(cat "$BATS_TEST_TMPDIR/pid")")
	run_in_cgroup python3 "$BATS_TEST_DIRNAME/../helpers/mem-alloc.py" 200 || true
	for _ in $(seq 50); do [ -s "$BATS_TEST_TMPDIR/rc" ] && break; sleep 0.1; done
	assert_equal "$(cat "$BATS_TEST_TMPDIR/rc")" "rc=0"
	assert_bpf_released "$ids"
}

@test "hostile process names (quotes, backslashes, newlines, control bytes, bad UTF-8) stay valid JSON" {
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-oom" -j -c 1 -d 30 --cgroup "/rtest_oom_$$"
	run run_in_cgroup python3 -c '
import ctypes
ctypes.CDLL(None).prctl(15, b"a\"b\\c\nd\x01\xff\xfe", 0, 0, 0)
b = bytearray(200 << 20)
for i in range(0, len(b), 4096): b[i] = 1'
	wait_tracer 10
	assert_equal "$TRACER_RC" 0
	assert_ndjson "$OUT"
	run jq -r '.tracer_data.victim_process_name' "$OUT"
	# quote, backslash, newline and \x01 survive as JSON escapes; 0xff 0xfe become U+FFFD
	assert_equal "$(jq -c '.tracer_data.victim_process_name' "$OUT")" '"a\"b\\c\nd\u0001��"'
}

@test "-o on a full disk: one clear line, exit 1, no torn line" {
	d=$BATS_TEST_TMPDIR/full
	mkdir -p "$d"
	mount -t tmpfs -o size=8k tmpfs "$d" || skip "cannot mount tmpfs"
	head -c 7000 /dev/zero > "$d/filler" 2>/dev/null || true
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-oom" -j -d 30 --cgroup "/rtest_oom_$$" -o "$d"
	run_in_cgroup python3 "$BATS_TEST_DIRNAME/../helpers/mem-alloc.py" 200 || true
	wait_tracer 10
	size=$(stat -c %s "$d/oom")
	assert_equal "$TRACER_RC" 1
	assert_equal "$size" 0
	run grep -c 'writing to .*/oom failed: No space left on device' "$ERR"
	assert_output 1
}

@test "the perf-buffer path for kernels without a BPF ring buffer (HUATUO_PERFBUF=1)" {
	run env HUATUO_PERFBUF=1 "$HT_BUILD/huatuo-oom" --check
	assert_success
	assert_output --partial "per-CPU perf buffers"
	HUATUO_PERFBUF=1 start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-oom" -j -c 1 -d 30 --cgroup "/rtest_oom_$$"
	run run_in_cgroup python3 "$BATS_TEST_DIRNAME/../helpers/mem-alloc.py" 200
	hog=${lines[0]}
	wait_tracer 10
	assert_equal "$TRACER_RC" 0
	jq -e --argjson pid "$hog" '.tracer_data.victim_pid == $pid and .tracer_data.memcg_limit_bytes == 67108864' "$OUT"
}
