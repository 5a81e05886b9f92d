#!/usr/bin/env bats
# huatuo-ras user space on real-shaped records (tests/unit/ras-unit.c feeds the tool's own
# decoders, --thr-backoff and --metrics): MCE and AER cannot be raised or even attached on
# the CI kernel, so their decoding is proven here. No root needed.
load ../lib/common

setup() {
	UNIT=$HT_BUILD/ras-unit
	[ -x "$UNIT" ] || skip "no $UNIT (built from tests/unit/ras-unit.c)"
	PROM=$BATS_TEST_TMPDIR/ras.prom
}

# feed RECORDS... : one record per argument, JSON tracer_data lines on stdout
feed() {
	printf '%s\n' "$@" | "$UNIT" -j | jq -c .tracer_data
}

@test "MCE: Intel corrected memory-controller read error (CMCI-logged, EN clear)" {
	run feed "mce ts=1000 status=0x8c00004000010091 bank=8 cpu=3 addr=0x1234000 misc=0x140000086 cpuvendor=0 cpuid=0x50654 socketid=1 apicid=6"
	assert_success
	jq -e '.dev == "MEM" and .event == "MCE" and .type == "CORRECTED"
		and .detail.bank == 8 and .detail.cpu == 3 and .detail.status == "0x8c00004000010091"
		and .detail.status_bits == ["VAL", "MISCV", "ADDRV"]
		and .detail.mcacod == 145 and .detail.mscod == 1 and .detail.addr == "0x1234000"
		and .detail.error == "memory controller read error, channel 1"
		and (.info | startswith("Machine check on CPU 3 bank 8: memory controller read error, channel 1, corrected; status 0x8c00004000010091 [VAL MISCV ADDRV] MCACOD 0x0091 MSCOD 0x0001 count 1; ADDR 0x1234000; MISC 0x140000086;"))
		and (.info | test("SOCKET 1 APIC 0x6"))' <<<"$output" || fail "$output"
}

@test "MCE: software-recoverable action-required data load (SRAR) is UNCORRECTED on the CPU" {
	run feed "mce ts=1 status=0xbd80000000100134 bank=1 cpu=5 addr=0x7f00123 misc=0x86 mcgstatus=0x6 ip=0xffffffff81000000 cs=0x10"
	jq -e '.dev == "CPU" and .type == "UNCORRECTED"
		and .detail.status_bits == ["VAL", "UC", "EN", "MISCV", "ADDRV", "S", "AR"]
		and .detail.severity == "action required (SRAR)"
		and .detail.error == "L0 data cache: data read error"
		and (.info | test("RIP !INEXACT! 10:0xffffffff81000000"))' <<<"$output" || fail "$output"
}

@test "MCE: processor context corrupt is FATAL; UC without S is UCNA; overflow flagged" {
	run feed "mce ts=1 status=0xbe00000000800400 bank=6 mcgstatus=0x5" \
		"mce ts=1 status=0xf000000000000150 bank=3" "mce ts=1 status=0x0000000000000000 bank=2"
	assert_equal "${#lines[@]}" 3
	jq -e '.type == "FATAL" and .detail.severity == "processor context corrupt"
		and .detail.error == "internal timer error"
		and (.detail.status_bits | index("PCC")) != null' <<<"${lines[0]}" || fail "${lines[0]}"
	jq -e '.type == "UNCORRECTED" and .detail.severity == "uncorrected, no action (UCNA)"
		and .detail.status_bits == ["VAL", "OVER", "UC", "EN"]
		and .detail.error == "L0 instruction cache: instruction fetch error"' <<<"${lines[1]}" || fail "${lines[1]}"
	jq -e '(.info | startswith("Invalid (VAL clear) Machine check")) and .detail.status_bits == []' \
		<<<"${lines[2]}" || fail "${lines[2]}"
}

@test "MCE: AMD deferred error is DEFERRED; the same bit on Intel is not" {
	run feed "mce ts=1 status=0xbc00100000000813 bank=4 cpuvendor=2 synd=0x5 ipid=0x9600050f00" \
		"mce ts=1 status=0x9c00100000000813 bank=4 cpuvendor=0"
	jq -e '.type == "DEFERRED" and .detail.cpuvendor == "AMD"
		and (.detail.status_bits | index("DEFERRED")) != null
		and .detail.synd == "0x5" and .detail.ipid == "0x9600050f00"
		and (.info | test("SYND 0x5; IPID 0x9600050f00"))' <<<"${lines[0]}" || fail "${lines[0]}"
	jq -e '.type == "CORRECTED" and (.detail.status_bits | index("DEFERRED")) == null' \
		<<<"${lines[1]}" || fail "${lines[1]}"
}

@test "MCE: ppin and microcode (Linux 5.19+/6.10+ records) appear only when the kernel has them" {
	run feed "mce ts=1 status=0x9c00000000000005 has_ppin=1 ppin=0xabcdef has_microcode=1 microcode=0x2007006" \
		"mce ts=1 status=0x9c00000000000005"
	jq -e '.detail.ppin == "0xabcdef" and .detail.microcode == "0x2007006"
		and (.info | test("microcode 0x2007006 PPIN 0xabcdef$"))' <<<"${lines[0]}" || fail "${lines[0]}"
	jq -e '(.detail | has("ppin") | not) and (.detail | has("microcode") | not)
		and .detail.error == "internal parity error"' <<<"${lines[1]}" || fail "${lines[1]}"
}

@test "MCE: TLB and bus/interconnect compound codes" {
	run feed "mce ts=1 status=0x9000000000000015 bank=0" "mce ts=1 status=0x9000000000000e0b bank=0" \
		"mce ts=1 status=0x9000000000000a2f bank=0"
	assert_equal "$(jq -r .detail.error <<<"${lines[0]}")" "L1 data TLB error"
	assert_equal "$(jq -r .detail.error <<<"${lines[1]}")" "I/O error"
	assert_equal "$(jq -r .detail.error <<<"${lines[2]}")" \
		"bus/interconnect write error (local processor responded, other, LG)"
}

@test "AER: corrected errors on a root port, named as the kernel names them" {
	run feed "aer ts=1 dev_name=0000:00:1c.0 status=0x41 severity=2"
	jq -e '.dev == "PCIe 0000:00:1c.0" and .event == "AER" and .type == "CORRECTED"
		and .detail.errors == ["Receiver Error", "Bad TLP"] and .detail.tlp_header == null
		and .info == "0000:00:1c.0 PCIe Bus Error: severity=Corrected, Receiver Error|Bad TLP, TLP Header=Not available"' \
		<<<"$output" || fail "$output"
}

@test "AER: uncorrected non-fatal and fatal with a TLP header; unknown bits by number" {
	run feed "aer ts=1 dev_name=0000:3b:00.0 status=0x100000 severity=0" \
		"aer ts=1 dev_name=0000:3b:00.0 status=0x41000 severity=1 tlp_header_valid=1 tlp_header=4a0000000f0001ff00000000efbeadde" \
		"aer ts=1 dev_name=0000:3b:00.0 status=0x200 severity=2"
	jq -e '.type == "UNCORRECTED" and .detail.severity_name == "Uncorrected, non-fatal"
		and .detail.errors == ["Unsupported Request Error"]' <<<"${lines[0]}" || fail "${lines[0]}"
	jq -e '.type == "FATAL" and .detail.errors == ["Poisoned TLP", "Malformed TLP"]
		and .detail.tlp_header == ["0x0000004a", "0xff01000f", "0x00000000", "0xdeadbeef"]
		and (.info | endswith("severity=Fatal, Poisoned TLP|Malformed TLP, TLP Header={0x4a,0xff01000f,0x0,0xdeadbeef}"))' \
		<<<"${lines[1]}" || fail "${lines[1]}"
	jq -e '.detail.errors == ["bit 9"]' <<<"${lines[2]}" || fail "${lines[2]}"
}

@test "EDAC: the kernel's own text, including label and driver detail" {
	run feed "edac ts=1 err_type=0 error_count=1 msg=memory%20read%20error label=CPU_SrcID#0_MC#0_Chan#1_DIMM#0 middle_layer=1 lower_layer=-1 address=0x12345000 grain_bits=6 syndrome=0xbeef driver_detail=APEI%20location:%20node:0%20card:0"
	jq -e '.type == "CORRECTED" and .detail.address == 305418240 and .detail.grain == 64
		and .info == "1 Corrected error: memory read error on CPU_SrcID#0_MC#0_Chan#1_DIMM#0 (mc:0 location:0:1:-1 address:0x12345000 grain:64 syndrome:0x0000beef APEI location: node:0 card:0)"' \
		<<<"$output" || fail "$output"
}

@test "hostile kernel strings still give valid JSON and a printable table row" {
	run feed "edac ts=1 msg=%ff%fe%0a%1b[31m label=%22%5c" "aer ts=1 dev_name=%c3%28bad"
	assert_equal "${#lines[@]}" 2
	run bash -c "printf 'edac ts=1 msg=a%%0ab%%1bc\n' | '$UNIT'"
	assert_success
	[ "${#lines[@]}" -eq 1 ] || fail "table row split by a newline in a kernel string: $output"
}

@test "GHES sections: guid, raw payload (truncated), ARM before 6.16 has no severity" {
	run feed "ns ts=1 sev=1 sec_type=00112233445566778899aabbccddeeff len=4 raw=deadbeef fru_text=slot3" \
		"ns ts=1 sev=3 len=1000" "arm ts=1 mpidr=0x81000100 midr=0x410fd0c0 running_state=1 affinity=2 cpu=-1"
	jq -e '.type == "CORRECTED" and .dev == "ACPI"
		and .info == "severity: 1; sec type:00112233-4455-6677-8899-aabbccddeeff; FRU: 00000000-0000-0000-0000-000000000000 slot3; data len:4; raw data:de ad be ef"' \
		<<<"${lines[0]}" || fail "${lines[0]}"
	jq -e '.type == "FATAL" and (.detail.raw_data | endswith(" ..."))' <<<"${lines[1]}" || fail "${lines[1]}"
	jq -e '.type == "INFO" and .event == "ARM" and .detail.mpidr == "0x81000100"
		and .detail.running == "running" and (.detail | has("severity") | not)
		and (.info | startswith("affinity level: 2; MPIDR: 0000000081000100"))' <<<"${lines[2]}" || fail "${lines[2]}"
}

@test "extlog and memory failure events" {
	run feed "extlog ts=1 err_seq=3 sev=2 error_type=2 validation_bits=0x3ce physical_addr=0x1234567000 physical_addr_mask=0xfffffffffffff000 bank=3 device=4 fru_text=DIMM_A1" \
		"mf ts=1 pfn=0x1234 type=3 result=1"
	jq -e '.dev == "MEM" and .event == "EXTLOG" and .type == "CORRECTED"
		and .detail.physical_addr == 78187491328 and .detail.bank == 3
		and (.info | startswith("3 corrected error: single-bit ECC physical addr: 0000001234567000 (mask lsb: c) node: 0 bank: 3 device: 4"))' \
		<<<"${lines[0]}" || fail "${lines[0]}"
	jq -e '.event == "MEMORY_FAILURE" and .type == "UNCORRECTED" and .detail.result_name == "Failed"' \
		<<<"${lines[1]}" || fail "${lines[1]}"
}

thr_storm() {
	# threshold interrupts at 1 s, 2 s, 3 s, 1 s + 29 min, 1 s + 30 min, 1 s + 31 min
	printf 'thr ts=%s vector=0xf9 cpu=1\n' 1000000000 2000000000 3000000000 \
		$((1000000000 + 29 * 60 * 1000000000)) $((1000000000 + 30 * 60 * 1000000000)) \
		$((1000000000 + 31 * 60 * 1000000000))
}

@test "--thr-backoff: default 30m reports one threshold interrupt per cool-down and counts all" {
	run bash -c "$(declare -f thr_storm); thr_storm | '$UNIT' -j --metrics '$PROM' | jq -c .tracer_data"
	assert_success
	assert_equal "${#lines[@]}" 2
	jq -e '.event == "THRESHOLD" and .type == "CORRECTED" and .detail.suppressed == 0
		and .detail.vector == 249 and .detail.cpu == 1' <<<"${lines[0]}" || fail "${lines[0]}"
	jq -e '.detail.suppressed == 3 and (.info | endswith("; 3 more since the last report (cool-down 30m)"))' \
		<<<"${lines[1]}" || fail "${lines[1]}"
	# every interrupt in the hardware error total, the two reports in events_total
	grep -qx "huatuo_bamai_ras_hw_total{host=\"$(hostname)\",region=\"\"} 6" "$PROM" ||
		fail "$(cat "$PROM")"
	grep -qx "huatuo_bamai_ras_events_total{dev=\"CPU\",event=\"THRESHOLD\",type=\"CORRECTED\",host=\"$(hostname)\",region=\"\"} 2" "$PROM" ||
		fail "$(cat "$PROM")"
}

@test "--thr-backoff: 0 reports every interrupt, a bare number is seconds" {
	run bash -c "$(declare -f thr_storm); thr_storm | '$UNIT' -j --thr-backoff 0 | jq -c .tracer_data"
	assert_equal "${#lines[@]}" 6
	run bash -c "printf 'thr ts=%s\n' 1000000000 50000000000 95000000000 96000000000 | '$UNIT' -j --thr-backoff 90 | jq -c .tracer_data.timestamp"
	assert_output $'1000000000\n95000000000'
}

@test "--thr-backoff: bad values exit 64 naming the option, good ones are accepted" {
	for v in abc -1 25h 8d 5parsecs 1.x ""; do
		run --separate-stderr "$HT_BUILD/huatuo-ras" --thr-backoff "$v" --usage
		[ "$status" -eq 64 ] || fail "--thr-backoff '$v': exit $status"
		[[ "$stderr" == *"--thr-backoff"* ]] || fail "--thr-backoff '$v': $stderr"
	done
	for v in 0 90 30m 1h 24h 500ms; do
		run --separate-stderr "$HT_BUILD/huatuo-ras" --thr-backoff "$v" --usage
		[ "$status" -eq 0 ] || fail "--thr-backoff '$v' rejected: $stderr"
	done
}

@test "--metrics: bad paths exit 64 naming the option" {
	for v in "" /nonexistent/dir/ras.prom "$BATS_TEST_TMPDIR"; do
		run --separate-stderr "$HT_BUILD/huatuo-ras" --metrics "$v" --usage
		[ "$status" -eq 64 ] || fail "--metrics '$v': exit $status"
		[[ "$stderr" == *"--metrics"* ]] || fail "--metrics '$v': $stderr"
	done
	run --separate-stderr "$HT_BUILD/huatuo-ras" --metrics ras.prom --usage
	assert_success
}

@test "--metrics: Prometheus text format, one series per dev/event/type, escaped labels" {
	printf '%s\n' "aer ts=1 dev_name=0000:00:1c.0 status=1 severity=2" \
		"aer ts=1 dev_name=0000:00:1c.0 status=1 severity=2" \
		'aer ts=1 dev_name=a%22b%5cc%0a%01%ff status=1 severity=0' \
		"mce ts=1 status=0xbe00000000800400" | "$UNIT" --metrics "$PROM" --region 'r"1' >/dev/null
	run cat "$PROM"
	local hr="host=\"$(hostname)\",region=\"r\\\"1\""
	assert_equal "${lines[0]}" "# HELP huatuo_bamai_ras_events_total Events huatuo-ras reported since it started"
	assert_equal "${lines[1]}" "# TYPE huatuo_bamai_ras_events_total counter"
	assert_line "huatuo_bamai_ras_events_total{dev=\"PCIe 0000:00:1c.0\",event=\"AER\",type=\"CORRECTED\",$hr} 2"
	# quote and backslash escaped; control bytes are '?' in ras's dev, junk is U+FFFD
	assert_line "huatuo_bamai_ras_events_total{dev=\"PCIe a\\\"b\\\\c??"$'\xef\xbf\xbd'"\",event=\"AER\",type=\"UNCORRECTED\",$hr} 1"
	assert_line "huatuo_bamai_ras_events_total{dev=\"CPU\",event=\"MCE\",type=\"FATAL\",$hr} 1"
	assert_line "# TYPE huatuo_bamai_ras_lost_total counter"
	assert_line "huatuo_bamai_ras_lost_total{$hr} 0"
	assert_line "# HELP huatuo_bamai_ras_hw_total Hardware errors reported by the kernel's RAS tracepoints since huatuo-ras started, threshold interrupts held back by --thr-backoff included"
	assert_line "# TYPE huatuo_bamai_ras_hw_total counter"
	assert_line "huatuo_bamai_ras_hw_total{$hr} 4"
	assert_equal "${#lines[@]}" 11
	[ "$(tail -c 1 "$PROM" | od -An -c | tr -d ' ')" = '\n' ] || fail "no final newline"
	if command -v promtool >/dev/null; then
		promtool check metrics < "$PROM" || fail "promtool: $(cat "$PROM")"
	fi
}

@test "--metrics: hostile device names (newline, quote, backslash, ESC, 0xff) keep the exposition valid" {
	echo 'aer ts=1 dev_name=a%0ab%22c%5cd%1b[1m%ff status=1 severity=0' | "$UNIT" --metrics "$PROM" >/dev/null
	# ras shows controls as '?' in dev; the exposition escapes the rest
	want='huatuo_bamai_ras_events_total{dev="PCIe a?b\"c\\d?[1m'$'\xef\xbf\xbd''",event="AER",type="UNCORRECTED",host="'$(hostname)'",region=""} 1'
	run grep -c '^huatuo_bamai_ras_events_total{' "$PROM"
	assert_output 1
	grep -qxF "$want" "$PROM" || fail "$(cat -A "$PROM")"
	iconv -f UTF-8 -t UTF-8 "$PROM" > /dev/null
	if command -v promtool >/dev/null; then
		promtool check metrics < "$PROM"
	fi
}

@test "--metrics: atomic rewrite, a concurrent reader never sees a partial file" {
	"$UNIT" --metrics "$PROM" </dev/null
	grep -q '^huatuo_bamai_ras_hw_total{.*} 0$' "$PROM" || fail "not written at start: $(cat "$PROM")"
	for i in $(seq 400); do echo "edac ts=$i err_type=$((i % 5))"; done > "$BATS_TEST_TMPDIR/recs"
	"$UNIT" --metrics "$PROM" < "$BATS_TEST_TMPDIR/recs" > /dev/null &
	writer=$!
	bad=0 reads=0
	while kill -0 "$writer" 2>/dev/null; do
		content=$(cat "$PROM")
		reads=$((reads + 1))
		# complete: 3 families, total = sum of the per-type series
		total=$(sed -n 's/^huatuo_bamai_ras_hw_total{.*} \([0-9]*\)$/\1/p' <<<"$content")
		sum=$(awk '/^huatuo_bamai_ras_events_total\{/ {s += $NF} END {print s + 0}' <<<"$content")
		[ "$(grep -c '^# TYPE' <<<"$content")" -eq 3 ] && [ -n "$total" ] && [ "$total" -eq "$sum" ] ||
			{ bad=$((bad + 1)); echo "partial read: $content" >&2; }
	done
	wait "$writer"
	assert_equal "$bad" 0
	[ "$reads" -gt 5 ] || skip "writer too fast to race ($reads reads)"
	grep -q '^huatuo_bamai_ras_hw_total{.*} 400$' "$PROM" || fail "$(cat "$PROM")"
	assert_equal "$(ls -A "$BATS_TEST_TMPDIR" | grep -c '^\.ras\.prom\.')" 0
}
