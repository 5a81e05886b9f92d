#!/usr/bin/env bats
# libcommon pieces through the ht-unit driver.
load ../lib/common

U() { "$HT_BUILD/ht-unit" "$@"; }

@test "duration parser: units, bare numbers, fractions" {
	local cases=(
		"1ns 1" "250us 250000" "5ms 5000000" "1.5ms 1500000" "2s 2000000000" "1m 60000000000"
		"1h 3600000000000" "100 100000000" "0 0" "0.5s 500000000" "0.000000001s 1"
		"18446744073ms 18446744073000000"
	)
	for c in "${cases[@]}"; do
		run U duration ${c% *}
		assert_success
		assert_output "${c#* }"
	done
	run U duration 30 1000000000
	assert_output 30000000000
}

@test "duration parser: strict errors" {
	for bad in "" "-1" "+1" " 1" "1 " "1.5.5s" "1e3" "ms" "1sec" "1S" "1.s" ".5s" "0x10" "1ms2"; do
		run U duration "$bad"
		assert_failure
		assert_output "error EINVAL"
	done
	for big in 18446744073709551616 18446744073709551615s 99999999999999999999999h; do
		run U duration "$big"
		assert_failure
		assert_output "error ERANGE"
	done
}

@test "size parser" {
	run U size 4096; assert_output 4096
	run U size 64K; assert_output 65536
	run U size 16M; assert_output 16777216
	run U size 1G; assert_output 1073741824
	run U size 1.5K; assert_output 1536
	run U size 1X; assert_failure
	run U size -1; assert_failure
}

@test "kallsyms: floor lookup, bounded offsets, modules, unsorted input" {
	f=$BATS_TEST_TMPDIR/kallsyms
	cat > "$f" <<-'K'
	ffffffff81000100 T second
	ffffffff81000000 T first
	ffffffff81000200 t third
	ffffffff81000300 D data_not_text
	ffffffffc0000000 t mod_func	[veth]
	K
	run U ksyms "$f" ffffffff81000000 ffffffff81000105 ffffffff810002ff ffffffffc0000010 ffffffff80000000 =third =nope
	assert_success
	assert_line --index 0 "first+0x0"
	assert_line --index 1 "second+0x5"
	assert_line --index 2 "third+0xff"
	assert_line --index 3 "mod_func+0x10 [veth]"
	assert_line --index 4 "0xffffffff80000000"
	assert_line --index 5 "ffffffff81000200"
	assert_line --index 6 "0"
}

@test "kallsyms: an address far past the last symbol is not resolved" {
	f=$BATS_TEST_TMPDIR/kallsyms
	printf 'ffffffff81000000 T only\n' > "$f"
	run U ksyms "$f" ffffffff81000010 ffffffff91000000
	assert_line --index 0 "only+0x10"
	assert_line --index 1 "0xffffffff91000000"
}

@test "kallsyms: an address more than 1 MB past its floor symbol (a gap) is not resolved" {
	f=$BATS_TEST_TMPDIR/kallsyms
	printf 'ffffffff81000000 T _einittext\nffffffffc0000000 t bpf_prog_1_x\t[bpf]\n' > "$f"
	run U ksyms "$f" ffffffff810fffff ffffffff81100000 ffffffffbfffffff
	assert_line --index 0 "_einittext+0xfffff"
	assert_line --index 1 "0xffffffff81100000"
	assert_line --index 2 "0xffffffffbfffffff"
}

@test "kallsyms: addresses more than 4 GB apart, a symbol in the last MB of the address space" {
	f=$BATS_TEST_TMPDIR/kallsyms
	cat > "$f" <<-'K'
	ffff800080000000 T core
	0000000000001000 t low
	ffffffffc0000000 t mod_func	[m1]
	ffffffffc0000100 t other_mod	[m2]
	ffffffffc0000200 t back_in_m1	[m1]
	ffff800080000000 T core_alias
	ffffffffffffff00 t top
	K
	run U ksyms "$f" ffff800080000010 1001 ffffffffc0000010 ffffffffc0000110 ffffffffc0000210 \
		ffffffffffffffff fff =core_alias
	assert_success
	assert_line --index 0 "core_alias+0x10" # aliases: the last one read
	assert_line --index 1 "low+0x1"
	assert_line --index 2 "mod_func+0x10 [m1]"
	assert_line --index 3 "other_mod+0x10 [m2]"
	assert_line --index 4 "back_in_m1+0x10 [m1]"
	assert_line --index 5 "top+0xff"
	assert_line --index 6 "0xfff"
	assert_line --index 7 "ffff800080000000"
}

@test "kallsyms: a line longer than the read buffer is skipped, the next one is read" {
	f=$BATS_TEST_TMPDIR/kallsyms
	{
		printf 'ffffffff81000000 T %s\n' "$(head -c 9000 /dev/zero | tr '\0' x)"
		printf 'ffffffff81000100 T after\nffffffff81000200 T last_without_newline'
	} > "$f"
	run U ksyms "$f" ffffffff81000000 ffffffff81000101 ffffffff81000201
	assert_line --index 0 "0xffffffff81000000"
	assert_line --index 1 "after+0x1"
	assert_line --index 2 "last_without_newline+0x1"
}

@test "kallsyms: hidden addresses (kptr_restrict) are detected, not resolved" {
	f=$BATS_TEST_TMPDIR/kallsyms
	printf '0000000000000000 T a\n0000000000000000 T b\n' > "$f"
	run U ksyms "$f" ffffffff81000010
	assert_line --index 0 "hidden"
	assert_line --index 1 "0xffffffff81000010"
}

@test "kallsyms: the running kernel's table resolves a known function" {
	[ -r /proc/kallsyms ] || skip "no /proc/kallsyms"
	addr=$(awk '$3 == "tcp_v4_rcv" {print $1; exit}' /proc/kallsyms)
	[ -n "$addr" ] && [ "$addr" != 0000000000000000 ] || skip "addresses hidden"
	run U ksyms /proc/kallsyms "$addr"
	assert_output --partial "tcp_v4_rcv+0x0"
}

@test "cgroup path -> container id for real path shapes" {
	id=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
	local cases=(
		"/docker/$id|$id docker -"
		"/system.slice/docker-$id.scope|$id docker -"
		"/kubepods/burstable/pod6e3c5b1a-9a0b-4c5d-8e7f-001122334455/$id|$id cri burstable"
		"/kubepods/pod6e3c5b1a-9a0b-4c5d-8e7f-001122334455/$id|$id cri guaranteed"
		"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod6e3c5b1a_9a0b.slice/cri-containerd-$id.scope|$id containerd besteffort"
		"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podabc.slice/crio-$id.scope|$id crio burstable"
		"/kubepods.slice/kubepods-podabc.slice/docker-$id.scope|$id docker guaranteed"
		"/machine.slice/libpod-$id.scope|$id podman -"
		"/machine.slice/libpod-$id.scope/container|$id podman -"
		"/system.slice/containerd.service/kubepods-burstable-podx.slice:cri-containerd:$id|none"
		"/machine.slice/libpod-conmon-$id.scope|none"
		"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podabc.slice/crio-conmon-$id.scope|none"
		"/user.slice/user-0.slice/session-1.scope|none"
		"/|none"
		"/docker/${id:0:63}|none"
		"/docker/${id^^}|none"
		"/rtest_oom|none"
	)
	for c in "${cases[@]}"; do
		run U container "${c%%|*}"
		assert_success
		assert_output "${c#*|}"
	done
}

@test "JSON strings stay valid whatever bytes come in" {
	inputs=(
		'plain' 'quote"back\slash' $'new\nline\ttab' $'\x01\x02\x1f\x7f' $'\xff\xfe' $'\xc3\x28'
		$'\xed\xa0\x80' $'\xf4\x90\x80\x80' $'\xe0\x80\xaf' 'é漢字🙂' $'trunc\xe6\xbc'
	)
	for s in "${inputs[@]}"; do
		run bash -c 'printf "%s" "$1" | "$2" json | jq -e ".s | type == \"string\""' _ "$s" "$HT_BUILD/ht-unit"
		assert_success
	done
	run bash -c "printf 'é漢字🙂' | '$HT_BUILD/ht-unit' json | jq -r .s"
	assert_output 'é漢字🙂'
}

@test "ht_snprintf writes and returns what snprintf does (widths, flags, truncation)" {
	run "$HT_BUILD/ht-unit" printf
	assert_success
	assert_output "0 mismatches"
}

@test "ht_printable: controls become ?, a cut never splits a UTF-8 character" {
	run bash -c "printf 'a\tb' | '$HT_BUILD/ht-unit' printable 16"
	assert_output 'a?b'
	# "aé漢": a (1) + é (2) + 漢 (3) bytes; room for 1, 2, 3, 5 bytes and the NUL
	for want in 2:a 3:a 4:aé 6:aé 7:aé漢; do
		run bash -c "printf 'aé漢' | '$HT_BUILD/ht-unit' printable ${want%%:*}"
		assert_output "${want#*:}"
	done
	# ESC, a C1 CSI (U+009B), bidi override U+202E, line separator U+2028, 0xff, a cut
	# sequence: one '?' each; DEL too; valid characters stay
	run bash -c "printf 'a\x1b[1m\xc2\x9bb\xe2\x80\xaec\xe2\x80\xa8d\xffe\x7f漢\xe6\xbc' | '$HT_BUILD/ht-unit' printable 64"
	assert_output 'a?[1m?b?c?d?e?漢??'
}

@test "JSON strings a tool added raw are valid UTF-8 in the envelope (U+FFFD for each bad byte)" {
	run bash -c "printf 'a\xffb\xc3(\xe6\xbc\xa2\xed\xa0\x80\xf4\x90\x80\x80\xc0\xafq\x1b' | '$HT_BUILD/ht-unit' raw-string"
	assert_success
	iconv -f UTF-8 -t UTF-8 <<<"$output" > /dev/null || fail "not UTF-8: $output"
	# overlong (c0 af), surrogate (ed a0 80) and > U+10FFFF (f4 90 80 80): a U+FFFD per byte
	assert_equal "$(jq -c .tracer_data.s <<<"$output")" \
		"\"a�b�(漢���������q\\u001b\""
}

@test "64-bit integers are exact, pointers are hex strings" {
	run bash -c "printf x | '$HT_BUILD/ht-unit' json"
	assert_output --partial '"u64max":18446744073709551615'
	assert_output --partial '"hex":"0xffff888104d55780"'
}

@test "envelope: keys, formats and container fields" {
	id=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
	run U envelope "/kubepods/besteffort/podx/$id"
	assert_success
	echo "$output" | jq -e --arg id "$id" '
		.hostname != "" and .region == "r1" and .tracer_name == "oom" and .tracer_type == "auto"
		and (.tracer_id | test("^[0-9a-v]{20}$"))
		and (.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3} [+-][0-9]{4}$"))
		and .time == .tracer_time
		and (.uploaded_time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{9}(Z|[+-][0-9]{2}:[0-9]{2})$"))
		and .container_id == $id and .container_hostname == "web-1" and .container_qos == "besteffort"
		and .tracer_data.victim_pid == 42'
	# key order as the platform writes it
	assert_equal "$(echo "$output" | jq -c 'keys_unsorted')" \
		'["hostname","region","uploaded_time","time","tracer_name","tracer_id","tracer_time","tracer_type","container_id","container_hostname","container_qos","tracer_data"]'
	run U envelope /user.slice
	echo "$output" | jq -e 'has("container_id") | not'
}

@test "tracer_data is printed byte for byte as cJSON prints it (numbers, escapes, nesting)" {
	run U tracer-data
	assert_success
	assert_output same
}

@test "tracer ids are unique and time-sortable" {
	run U tracer-id 2000
	assert_success
	assert_equal "$(printf '%s\n' "${lines[@]}" | sort -u | wc -l)" 2000
}

@test "local store: appends whole lines and rotates under its cap" {
	d=$BATS_TEST_TMPDIR/store
	run U store "$d" 10000 3 500 100
	assert_success
	assert_output ok
	[ -f "$d/oom" ]
	rotated=$(ls "$d" | grep -c '^oom-[0-9]\{4\}-[0-9-]*T[0-9-]*\.[0-9]\{3\}$')
	assert_equal "$rotated" 3
	for f in "$d"/oom*; do
		[ "$(stat -c %s "$f")" -le 10000 ] || fail "$f exceeds the cap"
		jq -e . "$f" >/dev/null || fail "$f has a torn line"
	done
	# the newest lines are the ones kept
	tail -n1 "$d/oom" | jq -e '.n == 499'
}

@test "local store: a file where the directory should be is a clear error" {
	f=$BATS_TEST_TMPDIR/notadir
	touch "$f"
	run U store "$f" 10000 3 1
	assert_failure
	assert_output --partial "not a directory"
}

@test "local store: a full disk leaves no torn line" {
	require_root
	d=$BATS_TEST_TMPDIR/full
	mkdir -p "$d"
	mount -t tmpfs -o size=64k tmpfs "$d" || skip "cannot mount tmpfs"
	run U store "$d" 10000000 3 1000 200
	umount_rc=0
	jq_rc=0
	jq -c . "$d/oom" > /dev/null 2>&1 || jq_rc=1
	lines=$(wc -l < "$d/oom")
	last=$(tail -c1 "$d/oom" | od -An -c | tr -d ' ')
	umount "$d" || umount_rc=1
	assert_failure
	assert_output --partial "No space left"
	[ "$lines" -gt 0 ]
	assert_equal "$jq_rc" 0
	assert_equal "$last" '\n'
	assert_equal "$umount_rc" 0
}

@test "Prometheus label values: valid UTF-8, backslash, quote and newline escaped, cut at a character, closed" {
	run U metrics-labels dev $'a\nb"c\\d\xff' event 'ééééééééééééééééééé'
	assert_success
	assert_line --index 0 '68 {dev="a\nb\"c\\d'$'\xef\xbf\xbd''",event="ééééééééééééééééééé"}'
	# 40 bytes: the second value is cut between two characters, the set still closed
	assert_line --index 1 '38 {dev="a\nb\"c\\d'$'\xef\xbf\xbd''",event="éééé"}'
	# a long value is cut to 256 bytes so that the other labels still fit
	run U metrics-labels dev "$(printf 'x%.0s' $(seq 300))" event AER type FATAL
	assert_line --index 0 "289 {dev=\"$(printf 'x%.0s' $(seq 256))\",event=\"AER\",type=\"FATAL\"}"
	run U metrics-labels
	assert_line --index 0 '0 '
}

@test "cgroup id -> path through the controller hierarchy" {
	require_root
	root=$(memcg_root)
	[ -n "$root" ] || skip "no memory cgroup"
	dir=$(make_memcg "rtest_unit_$$" 67108864)
	ino=$(stat -c %i "$dir")
	run U cgroup-path memory "$ino"
	remove_cgroup "$dir"
	assert_success
	assert_output "/rtest_unit_$$"
}

@test "process -> cgroup path (v1 controller line) and container" {
	require_root
	root=$(memcg_root)
	[ -n "$root" ] || skip "no memory cgroup"
	dir=$(make_memcg "rtest_pid_$$" 67108864)
	sh -c 'echo $$ > "$1/cgroup.procs"; exec sleep 5' _ "$dir" &
	pid=$!
	sleep 0.2
	run U pid-cgroup "$pid" memory
	kill "$pid"; wait "$pid" 2>/dev/null || true
	remove_cgroup "$dir"
	assert_success
	assert_output "/rtest_pid_$$ none"
	run U pid-cgroup 999999999 memory
	assert_failure
}

@test "/proc/<pid>/stack and /proc/<pid>/stat parsers" {
	run bash -c "printf '[<0>] folio_wait_bit+0x14c/0x2a0\n[<0>] __x64_sys_fsync+0x3b/0x70\n' | '$HT_BUILD/ht-unit' procfs stack"
	assert_success
	assert_output $'folio_wait_bit+0x14c\n__x64_sys_fsync+0x3b'
	run bash -c "printf '' | '$HT_BUILD/ht-unit' procfs stack"
	assert_output ""
	# comm may hold spaces and ')': it runs to the last ')'
	run bash -c "printf '1234 (a b) c) D 1 1 1 0' | '$HT_BUILD/ht-unit' procfs stat"
	assert_output "D|a b) c"
	run bash -c "printf '1234 (x) S 1' | '$HT_BUILD/ht-unit' procfs stat"
	assert_output "S|x"
	run bash -c "printf '1234 no-parens' | '$HT_BUILD/ht-unit' procfs stat"
	assert_failure
}

@test "DCB reply parser: PFC counters and their Prometheus exposition" {
	run U dcb pfc 'eth"0'
	assert_success
	assert_line --index 0 'ifname=eth"0 ieee=1 pfc=1 cap=8 en=0x18'
	assert_line '# TYPE huatuo_bamai_netdev_dcb_pfc_received_total counter'
	assert_line '# TYPE huatuo_bamai_netdev_dcb_pfc_send_total counter'
	# requests = sent, indications = received; label values escaped; full 64-bit range
	assert_line 'huatuo_bamai_netdev_dcb_pfc_send_total{device="eth\"0",prio="3"} 3001'
	assert_line 'huatuo_bamai_netdev_dcb_pfc_received_total{device="eth\"0",prio="3"} 6002'
	assert_line 'huatuo_bamai_netdev_dcb_pfc_received_total{device="eth\"0",prio="7"} 18446744073709551615'
	[ "$(grep -c '^huatuo_bamai_netdev_dcb_pfc_send_total{' <<<"$output")" -eq 8 ] || fail "$output"
	[ "$(grep -c '^huatuo_bamai_netdev_dcb_pfc_received_total{' <<<"$output")" -eq 8 ] || fail "$output"
	# the received family comes first, each family once with its HELP
	[ "$(grep -c '^# HELP' <<<"$output")" -eq 2 ] || fail "$output"
}

@test "DCB reply parser: no PFC, no DCB, malformed replies" {
	run U dcb nopfc eth1
	assert_success
	assert_output 'ifname=eth1 ieee=1 pfc=0 cap=0 en=0x0'
	run U dcb eopnotsupp eth1
	assert_failure
	assert_output 'error Operation not supported'
	run U dcb truncated eth1
	assert_failure
	assert_output 'error Invalid argument'
	run U dcb overrun eth1
	assert_failure
	assert_output 'error Invalid argument'
}

@test "Prometheus exposition: hostile label values stay one valid line each" {
	long=$(printf 'a%.0s' $(seq 300))
	run U metrics 'a"b\c' $'x\ny' $'\x01\x7f' $'\xff\xfe' "" plain plain "$long"
	assert_success
	assert_line --index 0 'bad names: -22 -22'
	assert_line '# HELP t_total Help with a \\ and a\nnewline'
	assert_line '# TYPE t_total counter'
	# quote, backslash and newline escaped, other bytes as they are (lossless); junk U+FFFD
	assert_line 't_total{v="a\"b\\c",host="h",region="r"} 1'
	assert_line 't_total{v="x\ny",host="h",region="r"} 1'
	assert_line "t_total{v=\"$(printf '\x01\x7f')\",host=\"h\",region=\"r\"} 1"
	assert_line "t_total{v=\"$(printf '\xef\xbf\xbd\xef\xbf\xbd')\",host=\"h\",region=\"r\"} 1"
	assert_line 't_total{v="",host="h",region="r"} 1'
	assert_line 't_total{v="plain",host="h",region="r"} 2'
	# at most 256 bytes of a value
	assert_line "t_total{v=\"${long:0:256}\",host=\"h\",region=\"r\"} 1"
	assert_equal "${#lines[@]}" 10
	if command -v promtool >/dev/null; then
		run bash -c "'$HT_BUILD/ht-unit' metrics 'a\"b\\c' \$'x\\ny' \$'\\x01' \$'\\xff' | tail -n +2 | promtool check metrics"
		assert_success
	fi
}

@test "Prometheus exposition: at most 1000 series a family, the rest counted as other" {
	run U metrics-cap 1005
	assert_success
	# a counter folds the 5 label sets past the cap into v="other"; a gauge refuses them
	assert_line --index 0 'added=1000 overflow=5 other=5 e2big=5 reset=7'
	[ "$(grep -c '^c_total{' <<<"$output")" -eq 1001 ] || fail "$(grep -c '^c_total{' <<<"$output") series"
	assert_line 'c_total{v="other"} 5'
	# reset forgets every series of the family
	[ "$(grep -c '^g{' <<<"$output")" -eq 1 ] || fail "$output"
	assert_line 'g{v="after-reset"} 7'
}

@test "subsystem enum names from BTF: enums ending in the suffix, values in the base's range" {
	require_cmd clang
	# a subsystem's drop reasons as mac80211 and openvswitch declare them (base << 16, then codes)
	cat > "$BATS_TEST_TMPDIR/e.c" <<-'C'
	enum mac80211_drop_reason { RX_CONTINUE = 1, __RX_DROP_UNUSABLE_BASE = 0x10000,
		RX_DROP_U_MIC_FAIL, RX_DROP_U_REPLAY };
	enum ovs_drop_reason { __OVS_DROP_REASON = 0x20000, OVS_DROP_LAST_ACTION, OVS_DROP_MAX };
	enum unrelated_reason { OTHER = 0x10003 };
	enum mac80211_drop_reason a; enum ovs_drop_reason b; enum unrelated_reason c;
	C
	clang -g -target bpf -c "$BATS_TEST_TMPDIR/e.c" -o "$BATS_TEST_TMPDIR/e.o"
	run U enum-range "$BATS_TEST_TMPDIR/e.o" drop_reason 0x10000
	assert_success
	assert_output $'1 RX_DROP_U_MIC_FAIL\n2 RX_DROP_U_REPLAY'
	run U enum-range "$BATS_TEST_TMPDIR/e.o" drop_reason 0x20000
	assert_success
	assert_output $'1 OVS_DROP_LAST_ACTION\n2 OVS_DROP_MAX'
	run U enum-range "$BATS_TEST_TMPDIR/e.o" drop_reason 0x30000
	assert_success
	assert_output ""
}

# huatuo-capture's summary (libcommon/evsummary.c) of the lines on stdin
@test "capture summary: events, snapshots and losses per tracer; OOM victims by container name and pod, else id" {
	run U evsummary oom:0:2 hungtask:1:0 dropwatch <<-'EOF'
		{"tracer_name":"oom","tracer_type":"auto","container_id":"abc","container_name":"web","container_pod_name":"web-1","tracer_data":{"victim_pid":12,"victim_process_name":"py","victim_memcg":"/kubepods/x","trigger_pid":12,"trigger_process_name":"py"}}
		{"tracer_name":"oom","tracer_type":"auto","container_id":"0123abcd","tracer_data":{"victim_pid":13,"victim_process_name":"java","victim_memcg":"/docker/0123abcd","trigger_pid":14,"trigger_process_name":"sh"}}
		{"tracer_name":"oom","tracer_type":"auto","tracer_data":{"victim_pid":15,"victim_process_name":"hog","victim_memcg":"/t","trigger_pid":15,"trigger_process_name":"hog"}}
		{"tracer_name":"hungtask","tracer_type":"manual","tracer_data":{"pid":0,"d_process_count":3}}
		{"tracer_name":"hungtask","tracer_type":"manual","tracer_data":{"pid":0,"d_process_count":0}}
	EOF
	assert_success
	assert_line --regexp '^oom +3 +0 +0 +2$'
	assert_line --regexp '^hungtask +0 +2 +1 +0$'
	assert_line --regexp '^dropwatch +0 +0 +\? +\?$'
	assert_line '         1  pid=12 comm=py container=web(pod web-1) memcg=/kubepods/x trigger_pid=12 trigger=py'
	assert_line '         1  pid=13 comm=java container=0123abcd memcg=/docker/0123abcd trigger_pid=14 trigger=sh'
	assert_line '         1  pid=15 comm=hog container=- memcg=/t trigger_pid=15 trigger=hog'
	assert_line 'hungtask: tasks in D state at each snapshot: 3 0'
}

@test "capture summary: drop reasons by count, top 10 then the others; worst latencies by value" {
	input=$(
		for r in R1 R1 R1 R1 R1 R2 R2 R2 R3 R4 R5 R6 R7 R8 R9 R10 R11 R12; do
			printf '{"tracer_name":"dropwatch","tracer_type":"auto","tracer_data":{"reason":"%s","location":"f+0x1"}}\n' "$r"
		done
		for l in 5:1001 250:1002 30:1003 250:1002; do
			printf '{"tracer_name":"net_rx_latency","tracer_type":"auto","tracer_data":{"where":"TO_USER_COPY","comm":"srv","pid":7,"saddr":"10.0.0.1","sport":%s,"daddr":"10.0.0.2","dport":80,"latency_ms":%s}}\n' "${l#*:}" "${l%%:*}"
		done
		printf '{"tracer_name":"softirq","tracer_type":"auto","tracer_data":{"cpu":1,"offtime":150000000}}\n'
	)
	run U evsummary dropwatch:0:40 net_rx_latency:0:0 softirq:0:0 <<<"$input"
	assert_success
	assert_line --regexp '^dropwatch +18 +0 +0 +40$'
	# R1 5, R2 3, then eight of the ten single ones (ties by name), the last two as others
	assert_equal "$(grep -A12 '^dropwatch: drop reasons$' <<<"$output" | sed -n '3,13p' | xargs)" \
		"5 reason=R1 3 reason=R2 1 reason=R10 1 reason=R11 1 reason=R12 1 reason=R3 1 reason=R4 1 reason=R5 1 reason=R6 1 reason=R7 2 (others)"
	assert_line '        18  location=f+0x1'
	assert_equal "$(grep -A5 '^net_rx_latency: worst receive latencies$' <<<"$output" | sed -n '3,5p' | xargs)" \
		"250ms 2 where=TO_USER_COPY comm=srv pid=7 saddr=10.0.0.1 sport=1002 daddr=10.0.0.2 dport=80 30ms 1 where=TO_USER_COPY comm=srv pid=7 saddr=10.0.0.1 sport=1003 daddr=10.0.0.2 dport=80 5ms 1 where=TO_USER_COPY comm=srv pid=7 saddr=10.0.0.1 sport=1001 daddr=10.0.0.2 dport=80"
	assert_line --regexp '^ +150\.0ms +1  cpu=1$'
}

@test "capture summary: hostile names stay on their line, lines that are not events are counted" {
	run U evsummary oom:0:0 <<-'EOF'
		{"tracer_name":"oom","tracer_type":"auto","container_name":"c\nTRACER x","tracer_data":{"victim_pid":1,"victim_process_name":"a\nb\u001b[2J\u00ff","victim_memcg":"/"}}
		not json at all
		{"tracer_name":"evil\nname","tracer_type":"auto","tracer_data":{}}
	EOF
	assert_success
	assert_line '1 lines were not JSON event lines'
	assert_line --regexp '^evil\?name +1 +0 +- +-$'
	assert_equal "$(grep -c '^TRACER' <<<"$output")" 1
	assert_line --regexp '^ +1  pid=1 comm=a\?b\?\[2J.* container=c\?TRACER x memcg=/ '
	! grep -q $'\x1b' <<<"$output"
}
