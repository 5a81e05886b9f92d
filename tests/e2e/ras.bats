#!/usr/bin/env bats
# huatuo-ras: this kernel raises no hardware errors (no EDAC/MCE/APEI/AER injection,
# kernel-triggers.md section 9), so the tracer runs with --probe raw_tp and its raw_tp
# programs are driven with synthetic tracepoint arguments (BPF_PROG_TEST_RUN, ht-testrun).
# mce/mce_record and ras/aer_event do not exist here: tests/unit/ras.bats covers them.
load ../lib/common

setup() {
	require_bpf
	OUT=$BATS_TEST_TMPDIR/out
	ERR=$BATS_TEST_TMPDIR/err
	PROM=$BATS_TEST_TMPDIR/ras.prom
	TESTRUN=$HT_BUILD/ht-testrun
	[ -x "$TESTRUN" ] || skip "no $TESTRUN (make builds it)"
}

teardown() {
	stop_tracer
}

has_tp() {
	[ -d "/sys/kernel/tracing/events/$1" ] || [ -d "/sys/kernel/debug/tracing/events/$1" ]
}

# Three kernel string addresses (tracepoint_string constants) for pointer arguments.
kernel_strings() {
	sed -n 's/^\(0x[0-9a-f]*\) : "\([A-Za-z_ -]*\)"$/\1 \2/p' \
		/sys/kernel/tracing/printk_formats 2>/dev/null | sort -u -k2 | head -3
}

@test "--check attaches every hardware-error tracepoint present, lists the missing ones" {
	run --separate-stderr "$HT_BUILD/huatuo-ras" --check -v
	assert_success
	n=0
	for tp in mc_event non_standard_event arm_event aer_event; do
		if has_tp "ras/$tp"; then
			# raw_tp first with the kernel BTF subset, tp_btf on all of kernel BTF (btfmin.bats)
			assert_line --regexp "^  $tp +$(default_kind) +$tp "
			n=$((n + 1))
		else
			[[ "$stderr" == *"skipping $tp ("* ]] || fail "no -v note for missing $tp: $stderr"
			assert_line --regexp "^  $tp +no such tracepoint on this kernel$"
		fi
	done
	if has_tp mce/mce_record; then
		assert_line --regexp "^  mce_record +$(default_kind) +mce_record "
	else
		[[ "$stderr" == *"skipping mce_record ("*"no such tracepoint"* ]] || fail "$stderr"
		# an x86 SRE must not assume machine checks are covered: said without -v
		run --separate-stderr "$HT_BUILD/huatuo-ras" --check
		assert_success
		assert_line "not available here (not covered):"
		assert_line --regexp "^  mce_record +no such tracepoint on this kernel$"
		run --separate-stderr "$HT_BUILD/huatuo-ras" --check -j
		jq -e '.unavailable | any(.hook == "mce_record" and .why == "no such tracepoint on this kernel")' \
			<<<"$output" > /dev/null || fail "$output"
	fi
	[ "$n" -gt 0 ] || skip "no ras tracepoint on this kernel"
	# JSON form and the other flavors
	run --separate-stderr "$HT_BUILD/huatuo-ras" --check -j
	assert_success
	printf '%s' "$output" | jq -e --argjson n "$n" '[.hooks[] | select(.target | test("_event$"))] | length == $n' >/dev/null ||
		fail "$output"
	for kind in raw_tp tracepoint; do
		run --separate-stderr "$HT_BUILD/huatuo-ras" --check --probe "$kind" -j
		assert_success
		printf '%s' "$output" | jq -e --arg k "$kind" '[.hooks[].kind] | all(. == $k)' >/dev/null ||
			fail "$kind: $output"
	done
}

@test "no usable hook: one clear line, exit 1" {
	# RAS has no fentry/kprobe flavor: nothing can attach
	for kind in kprobe fentry; do
		run --separate-stderr "$HT_BUILD/huatuo-ras" --check --probe "$kind"
		assert_equal "$status" 1
		assert_equal "${#stderr_lines[@]}" 1
		[[ "$stderr" == "huatuo-ras: no $kind hooks: hardware errors are seen only through tracepoints"* ]] ||
			fail "$stderr"
	done
}

@test "EDAC mc_event, corrected memory error: numeric fields, location and info line" {
	has_tp ras/mc_event || skip "no ras/mc_event"
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-ras" --probe raw_tp -j -d 30
	# err_type msg label error_count mc_index top mid low address grain_bits syndrome detail;
	# the string pointers are junk: the copies come out empty
	run "$TESTRUN" htras_mc_raw 0 0 0xdeadbeef 1 2 1 0 -1 0x12345000 6 0xbeef 0xffffffffffffff00
	assert_success
	wait_lines 1
	stop_tracer
	assert_equal "$TRACER_RC" 0
	assert_ndjson "$OUT"
	jq -e '.tracer_name == "ras" and .tracer_type == "auto"
		and .tracer_data.dev == "MEM" and .tracer_data.event == "EDAC"
		and .tracer_data.type == "CORRECTED"
		and (.tracer_data.timestamp | type == "number" and . > 0)
		and (.tracer_data.observed_timestamp | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{9}(Z|[+-][0-9]{2}:[0-9]{2})$"))
		and .tracer_data.detail.err_type == 0 and .tracer_data.detail.error_count == 1
		and .tracer_data.detail.mc_index == 2 and .tracer_data.detail.top_layer == 1
		and .tracer_data.detail.middle_layer == 0 and .tracer_data.detail.lower_layer == -1
		and .tracer_data.detail.address == 305418240 and .tracer_data.detail.grain == 64
		and .tracer_data.detail.syndrome == 48879
		and .tracer_data.detail.msg == "" and .tracer_data.detail.label == ""
		and .tracer_data.detail.driver_detail == ""
		and .tracer_data.info == "1 Corrected error: on  (mc:2 location:1:0:-1 address:0x12345000 grain:64 syndrome:0x0000beef)"' \
		"$OUT" >/dev/null || fail "$(cat "$OUT")"
}

@test "EDAC mc_event, uncorrected errors with kernel strings: msg, label and driver detail copied" {
	has_tp ras/mc_event || skip "no ras/mc_event"
	mapfile -t strs < <(kernel_strings)
	[ "${#strs[@]}" -eq 3 ] || skip "no kernel string addresses in printk_formats"
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-ras" --probe raw_tp -j -d 30
	run "$TESTRUN" htras_mc_raw 1 "${strs[0]%% *}" "${strs[1]%% *}" 3 0 0 0 0 0x2000 12 0 "${strs[2]%% *}"
	assert_success
	wait_lines 1
	stop_tracer
	jq -e --arg m "${strs[0]#* }" --arg l "${strs[1]#* }" --arg d "${strs[2]#* }" '
		.tracer_data.type == "UNCORRECTED" and .tracer_data.detail.err_type == 1
		and .tracer_data.detail.error_count == 3 and .tracer_data.detail.grain == 4096
		and .tracer_data.detail.address == 8192
		and .tracer_data.detail.msg == $m and .tracer_data.detail.label == $l
		and .tracer_data.detail.driver_detail == $d
		and .tracer_data.info == "3 Uncorrected errors: \($m) on \($l) (mc:0 location:0:0:0 address:0x00002000 grain:4096 syndrome:0x00000000 \($d))"' \
		"$OUT" >/dev/null || fail "$(cat "$OUT")"
}

@test "EDAC err_type maps to DEFERRED, FATAL and INFO" {
	has_tp ras/mc_event || skip "no ras/mc_event"
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-ras" --probe raw_tp -j -d 30
	for t in 2 3 4; do
		"$TESTRUN" htras_mc_raw "$t" 0 0 1 0 0 0 0 0 0 0 0 >/dev/null
	done
	wait_lines 3
	stop_tracer
	run jq -r '.tracer_data.type' "$OUT"
	assert_output $'DEFERRED\nFATAL\nINFO'
}

@test "GHES non_standard_event and arm_event with fake pointers: severities, empty strings" {
	has_tp ras/non_standard_event || skip "no ras/non_standard_event"
	has_tp ras/arm_event || skip "no ras/arm_event"
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-ras" --probe raw_tp -j -d 30
	# sec_type fru_id fru_text sev err len
	"$TESTRUN" htras_ns_raw 0 0 0 3 0 100 >/dev/null
	# proc pei_err pei_len ctx_err ctx_len oem oem_len sev cpu
	"$TESTRUN" htras_arm_raw 0 0 16 0 0 0 0 1 7 >/dev/null
	wait_lines 2
	stop_tracer
	assert_ndjson "$OUT"
	jq -e -s '.[0].tracer_data.dev == "ACPI" and .[0].tracer_data.event == "NON_STANDARD"
		and .[0].tracer_data.type == "FATAL" and .[0].tracer_data.detail.data_len == 100
		and .[0].tracer_data.detail.fru_text == ""
		and .[1].tracer_data.dev == "CPU" and .[1].tracer_data.event == "ARM"
		and .[1].tracer_data.type == "CORRECTED" and .[1].tracer_data.detail.cpu == 7
		and .[1].tracer_data.detail.pei_len == 16' "$OUT" >/dev/null || fail "$(cat "$OUT")"
}

@test "table output: header and one row per error" {
	has_tp ras/mc_event || skip "no ras/mc_event"
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-ras" --probe raw_tp -d 30
	"$TESTRUN" htras_mc_raw 0 0 0 1 0 0 0 0 0x1000 0 0 0 >/dev/null
	wait_lines 2
	stop_tracer
	run cat "$OUT"
	assert_line --index 0 --regexp '^TIME +DEV +EVENT +TYPE +INFO$'
	assert_line --index 1 --regexp '^[0-9:]{8} +MEM +EDAC +CORRECTED +1 Corrected error: .*address:0x00001000 '
}

@test "--metrics: Prometheus counters written at start, every --interval and at the end" {
	has_tp ras/mc_event || skip "no ras/mc_event"
	local hr="host=\"$(hostname)\",region=\"rtest\""
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-ras" --probe raw_tp -j -d 30 --metrics "$PROM" \
		--interval 1 --region rtest
	[ -f "$PROM" ] || fail "no metrics file at start"
	grep -qx "huatuo_bamai_ras_hw_total{$hr} 0" "$PROM" || fail "$(cat "$PROM")"
	# held open, the first file's inode cannot be freed and its number reused by a later one
	exec {held}<"$PROM"
	ino0=$(stat -L -c %i "/dev/fd/$held")
	"$TESTRUN" htras_mc_raw 0 0 0 1 0 0 0 0 0 0 0 0 >/dev/null
	"$TESTRUN" htras_mc_raw 0 0 0 1 0 0 0 0 0 0 0 0 >/dev/null
	wait_lines 2
	# the next --interval rewrite has them, before the end
	for _ in $(seq 30); do
		grep -qx "huatuo_bamai_ras_hw_total{$hr} 2" "$PROM" && break
		sleep 0.1
	done
	grep -qx "huatuo_bamai_ras_hw_total{$hr} 2" "$PROM" || fail "not rewritten: $(cat "$PROM")"
	"$TESTRUN" htras_mc_raw 1 0 0 1 0 0 0 0 0 0 0 0 >/dev/null
	wait_lines 3
	stop_tracer
	assert_equal "$TRACER_RC" 0
	run cat "$PROM"
	assert_line '# HELP huatuo_bamai_ras_hw_total Hardware errors reported by the kernel'"'"'s RAS tracepoints since huatuo-ras started, threshold interrupts held back by --thr-backoff included'
	assert_line '# TYPE huatuo_bamai_ras_hw_total counter'
	assert_line "huatuo_bamai_ras_hw_total{$hr} 3"
	assert_line '# TYPE huatuo_bamai_ras_events_total counter'
	assert_line "huatuo_bamai_ras_events_total{dev=\"MEM\",event=\"EDAC\",type=\"CORRECTED\",$hr} 2"
	assert_line "huatuo_bamai_ras_events_total{dev=\"MEM\",event=\"EDAC\",type=\"UNCORRECTED\",$hr} 1"
	assert_line "huatuo_bamai_ras_lost_total{$hr} 0"
	# replaced by rename, not rewritten in place; no temporary file left; readable by others
	[ "$(stat -c %i "$PROM")" != "$ino0" ] || fail "file rewritten in place"
	exec {held}<&-
	assert_equal "$(stat -c %a "$PROM")" 644
	assert_equal "$(ls -A "$BATS_TEST_TMPDIR" | grep -c '^\.ras\.prom\.')" 0
	if command -v promtool >/dev/null; then
		promtool check metrics < "$PROM"
	fi
}

@test "--metrics in a directory the tool cannot write: one line, exit 1" {
	has_tp ras/mc_event || skip "no ras/mc_event"
	mkdir "$BATS_TEST_TMPDIR/ro"
	mount -t tmpfs -o ro,size=64k rtest_ras "$BATS_TEST_TMPDIR/ro" || skip "cannot mount a read-only tmpfs"
	run --separate-stderr "$HT_BUILD/huatuo-ras" -d 1 --metrics "$BATS_TEST_TMPDIR/ro/ras.prom"
	umount "$BATS_TEST_TMPDIR/ro"
	assert_equal "$status" 1
	assert_equal "${#stderr_lines[@]}" 1
	[[ "$stderr" == *"--metrics"*"Read-only file system"* ]] || fail "$stderr"
}

@test "-c N stops after N events; SIGTERM, SIGINT, -d and a closed pipe exit 0 and leave no BPF program" {
	has_tp ras/mc_event || skip "no ras/mc_event"
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-ras" --probe raw_tp -j -c 2 -d 30
	ids=$(bpf_ids_of_pid "$TRACER_PID")
	for _ in 1 2 3; do "$TESTRUN" htras_mc_raw 0 0 0 1 0 0 0 0 0 0 0 0 >/dev/null || true; done
	wait_tracer 10
	assert_equal "$TRACER_RC" 0
	assert_equal "$(wc -l < "$OUT")" 2
	assert_bpf_released "$ids"
	for sig in TERM INT; do
		assert_signal_exit "$sig" "$HT_BUILD/huatuo-ras" -j
	done
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-ras" -d 1
	ids=$(bpf_ids_of_pid "$TRACER_PID")
	wait_tracer 5
	assert_equal "$TRACER_RC" 0
	assert_bpf_released "$ids"
	# reader gone (stdout a pipe whose reader exits): the tool notices and exits 0
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	sleep 60 < "$BATS_TEST_TMPDIR/fifo" &
	reader=$!
	start_tracer "$BATS_TEST_TMPDIR/fifo" "$ERR.pipe" "$HT_BUILD/huatuo-ras" --probe raw_tp -j -d 30
	ids=$(bpf_ids_of_pid "$TRACER_PID")
	kill "$reader"
	for _ in $(seq 30); do kill -0 "$TRACER_PID" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$TRACER_PID" 2>/dev/null && fail "still running 3 s after its reader went away"
	wait "$TRACER_PID"
	assert_equal "$?" 0
	TRACER_PID=
	assert_bpf_released "$ids"
}

@test "the perf-buffer path (HUATUO_PERFBUF=1, kernels without a BPF ring buffer)" {
	has_tp ras/mc_event || skip "no ras/mc_event"
	run env HUATUO_PERFBUF=1 "$HT_BUILD/huatuo-ras" --check
	assert_success
	assert_output --partial "perf buffer"
	HUATUO_PERFBUF=1 start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-ras" --probe raw_tp -j -d 30
	"$TESTRUN" htras_mc_raw 3 0 0 2 0 0 0 0 0x4000 12 0x77 0 >/dev/null
	wait_lines 1
	stop_tracer
	assert_equal "$TRACER_RC" 0
	jq -e '.tracer_data.type == "FATAL" and .tracer_data.detail.address == 16384
		and .tracer_data.detail.syndrome == 119 and .tracer_data.detail.error_count == 2' \
		"$OUT" >/dev/null || fail "$(cat "$OUT")"
}

@test "memcheck: reporting errors with kernel strings and --metrics, 0 errors, 0 definite leaks" {
	has_tp ras/mc_event || skip "no ras/mc_event"
	require_cmd valgrind
	! sanitized_build || skip "ASan build: valgrind cannot run sanitized binaries"
	mapfile -t strs < <(kernel_strings)
	[ "${#strs[@]}" -eq 3 ] || skip "no kernel string addresses in printk_formats"
	start_tracer "$OUT" "$ERR" valgrind --error-exitcode=3 --leak-check=full \
		--errors-for-leak-kinds=definite --suppressions="$HT_TOP/tests/valgrind.supp" \
		--log-file="$BATS_TEST_TMPDIR/vg" "$HT_BUILD/huatuo-ras" --probe raw_tp -j -d 60 \
		--metrics "$PROM"
	"$TESTRUN" htras_mc_raw 0 "${strs[0]%% *}" "${strs[1]%% *}" 1 0 0 0 0 0x1000 6 0 "${strs[2]%% *}" >/dev/null
	"$TESTRUN" htras_ns_raw 0 0 0 1 0 8 >/dev/null
	"$TESTRUN" htras_arm_raw 0 0 0 0 0 0 0 2 1 >/dev/null
	wait_lines 3
	stop_tracer
	[ "$TRACER_RC" -eq 0 ] || fail "exit $TRACER_RC: $(tail -30 "$BATS_TEST_TMPDIR/vg")"
	grep -q "ERROR SUMMARY: 0 errors" "$BATS_TEST_TMPDIR/vg" || fail "$(tail -30 "$BATS_TEST_TMPDIR/vg")"
	grep -q '^huatuo_bamai_ras_hw_total{.*} 3$' "$PROM" || fail "$(cat "$PROM")"
}
