#!/usr/bin/env bats
# What the tools write as root, attacked by a local user (nobody), and strings the kernel
# hands over that the user controls (command, cgroup and device names):
#  - a link planted where -o or --metrics writes (DIR/<tracer_name>, the next rotated name,
#    a parent directory for mkdir -p, DIR/x.prom) is refused with one line and exit 1, and
#    its target is left byte for byte as it was; a directory others can write is refused
#    unless it is sticky;
#  - hostile names keep every output valid: NDJSON (jq and UTF-8), the -o file, and a table
#    that stays one line per event without control bytes.
load ../lib/common

setup() {
	require_bpf
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	require_cmd setpriv python3 iconv
	# under /tmp itself: nobody must reach it (bats's own temporary directory is 0700)
	T=/tmp/rtest_sec_$$
	mkdir -p "$T"
	chmod 755 "$T"
	mkdir -m 0777 "$T/ww" && chmod 0777 "$T/ww"     # world-writable, not sticky
	mkdir -m 1777 "$T/sticky" && chmod 1777 "$T/sticky" # like /tmp
	mkdir "$T/victimdir"
	VICTIM=$T/victim
	head -c 300 /dev/urandom > "$VICTIM"
	VICTIM_SUM=$(sha256sum < "$VICTIM")
	NS=rtest_sec_$$
	ip netns add "$NS"
	ip -n "$NS" link set lo up
	OUT=$BATS_TEST_TMPDIR/out
	ERR=$BATS_TEST_TMPDIR/err
}

teardown() {
	stop_tracer
	[ -n "${TABLE_PID:-}" ] && kill -INT "$TABLE_PID" 2>/dev/null && wait "$TABLE_PID"
	ip netns del "$NS" 2>/dev/null || true
	[ -n "${CG:-}" ] && remove_cgroup "$CG"
	rm -rf "${T:?}"
}

# as_nobody CMD...: what the local attacker runs
as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
}

victim_untouched() {
	assert_equal "$(sha256sum < "$VICTIM")" "$VICTIM_SUM"
	[ -z "$(ls -A "$T/victimdir")" ] || fail "written into the victim directory: $(ls -A "$T/victimdir")"
}

# refused TOOL ARGS...: the tool must exit 1 before tracing, with one line on stderr
refused() {
	run --separate-stderr timeout 30 "$@"
	assert_equal "$status" 1
	assert_equal "${#stderr_lines[@]}" 1
	[[ "$stderr" != *Tracing* ]] || fail "started: $stderr"
}

assert_utf8() {
	iconv -f UTF-8 -t UTF-8 "$1" > /dev/null || fail "$1 is not valid UTF-8: $(od -c "$1" | head)"
}

# UDP to a closed port in the test's netns, from a process named $1 (bytes, as python sees them)
drops_from() {
	ip netns exec "$NS" python3 -c '
import ctypes, socket, sys
ctypes.CDLL(None).prctl(15, eval(sys.argv[1]), 0, 0, 0)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(int(sys.argv[2])):
    try:
        s.sendto(b"x" * 10, ("127.0.0.1", 9))
    except ConnectionRefusedError:
        pass' "$1" "$2"
}

@test "-o into a world-writable directory (not sticky): refused before a planted DIR/dropwatch is touched" {
	as_nobody ln -s "$VICTIM" "$T/ww/dropwatch"
	refused "$HT_BUILD/huatuo-dropwatch" -j -d 5 --netns "$NS" -o "$T/ww"
	assert_equal "$stderr" "huatuo-dropwatch: cannot use --output $T/ww: $T/ww is writable by other users (mode 0777) and not sticky, so they could plant links in it: use a directory only root can write (chmod go-w), such as /var/log/huatuo"
	victim_untouched
}

@test "-o into a sticky directory: a DIR/dropwatch link planted by another user is refused, its target untouched" {
	as_nobody ln -s "$VICTIM" "$T/sticky/dropwatch"
	refused "$HT_BUILD/huatuo-dropwatch" -j -d 5 --netns "$NS" -o "$T/sticky"
	assert_equal "$stderr" "huatuo-dropwatch: cannot use --output $T/sticky: $T/sticky/dropwatch is a symbolic link, not a file huatuo-tools wrote (it may have been planted to make root write elsewhere): remove it or use another directory"
	victim_untouched
	# the same directory without the link: written, mode 0640, valid lines
	rm "$T/sticky/dropwatch"
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-dropwatch" -j -c 3 -d 20 --netns "$NS" -o "$T/sticky"
	drops_from 'b"rtest-sec"' 3
	wait_tracer 10
	assert_equal "$TRACER_RC" 0
	assert_equal "$(stat -c '%a %U' "$T/sticky/dropwatch")" "640 root"
	assert_equal "$(wc -l < "$T/sticky/dropwatch")" 3
	assert_ndjson "$T/sticky/dropwatch"
	victim_untouched
}

@test "-o DIR/new/dir: mkdir -p does not follow a parent directory link planted by another user" {
	as_nobody ln -s "$T/victimdir" "$T/ww/logs"
	refused "$HT_BUILD/huatuo-dropwatch" -j -d 5 --netns "$NS" -o "$T/ww/logs/huatuo"
	assert_equal "$stderr" "huatuo-dropwatch: cannot use --output $T/ww/logs/huatuo: $T/ww/logs is a symbolic link in a directory other users can write (it may have been planted): give the directory it points to if you trust it, or use a directory only root can write"
	as_nobody ln -s "$T/victimdir" "$T/sticky/logs"
	refused "$HT_BUILD/huatuo-dropwatch" -j -d 5 --netns "$NS" -o "$T/sticky/logs/huatuo"
	[[ "$stderr" == *"$T/sticky/logs is a symbolic link in a directory other users can write"* ]] ||
		fail "$stderr"
	victim_untouched
	# root's own link in the same sticky directory is followed, and mkdir -p goes on
	ln -s "$T/victimdir" "$T/sticky/mine"
	run --separate-stderr timeout 30 "$HT_BUILD/huatuo-dropwatch" -j -d 1 --netns "$NS" -o "$T/sticky/mine/a/b"
	assert_success
	[ -f "$T/victimdir/a/b/dropwatch" ] || fail "not created through a link of ours: $stderr"
}

@test "-o rotation: a link planted as the next rotated name stops the tool with one line, nothing written through it" {
	# every name the next 40 s can give a rotated file (<name>-<local time>.<ms>)
	as_nobody /usr/bin/python3 -c '
import os, sys, time
d, victim = sys.argv[1], sys.argv[2]
now = int(time.time())
for s in range(now - 1, now + 40):
    stamp = time.strftime("%Y-%m-%dT%H-%M-%S", time.localtime(s))
    for ms in range(1000):
        os.symlink(victim, "%s/dropwatch-%s.%03d" % (d, stamp, ms))' "$T/sticky" "$VICTIM"
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-dropwatch" -j -d 30 --netns "$NS" \
		-o "$T/sticky" --output-max 4096
	for _ in $(seq 100); do
		kill -0 "$TRACER_PID" 2>/dev/null || break
		drops_from 'b"rtest-sec"' 5
	done
	wait_tracer 10
	assert_equal "$TRACER_RC" 1
	# one line (besides the warning of a host that is itself a container, /.dockerenv)
	run bash -c "grep '^huatuo-dropwatch:' '$ERR' | grep -vc ': warning: running in a container: '"
	assert_output 1
	grep -q "^huatuo-dropwatch: cannot go on with --output $T/sticky: $T/sticky/dropwatch-[0-9T-]*\.[0-9]\{3\} is a symbolic link, not a file huatuo-tools wrote" "$ERR" ||
		fail "$(cat "$ERR")"
	victim_untouched
	# the current file is whole, and no rotated file of ours was made
	assert_ndjson "$T/sticky/dropwatch"
	assert_equal "$(find "$T/sticky" -name 'dropwatch-*' -type f | wc -l)" 0
}

@test "-o rotation without a plant: rotated files are ours, 0640, whole lines, pruned to --output-keep" {
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-dropwatch" -j -d 30 --netns "$NS" \
		-o "$T/sticky" --output-max 4096 --output-keep 2
	for _ in $(seq 40); do
		drops_from 'b"rtest-sec"' 5
		[ "$(find "$T/sticky" -name 'dropwatch-*' | wc -l)" -ge 2 ] && [ "$(wc -l < "$OUT")" -ge 30 ] && break
	done
	stop_tracer
	assert_equal "$TRACER_RC" 0
	assert_equal "$(find "$T/sticky" -name 'dropwatch-*' -type f | wc -l)" 2
	for f in "$T/sticky"/dropwatch*; do
		assert_equal "$(stat -c '%a %U' "$f")" "640 root"
		assert_ndjson "$f"
	done
}

@test "--metrics (ras, pfc): a planted link is refused with one line, exit 1, its target untouched" {
	for tool in ras pfc; do
		args=(-d 2)
		[ "$tool" = pfc ] && args=(-d 2 --netns "$NS" --interval 1)
		as_nobody ln -s "$VICTIM" "$T/sticky/$tool.prom"
		refused "$HT_BUILD/huatuo-$tool" "${args[@]}" --metrics "$T/sticky/$tool.prom"
		assert_equal "$stderr" "huatuo-$tool: cannot write --metrics $T/sticky/$tool.prom: $T/sticky/$tool.prom is a symbolic link, not a file huatuo-tools wrote (it may have been planted to make root write elsewhere): remove it or use another directory"
		as_nobody ln -s "$VICTIM" "$T/ww/$tool.prom"
		refused "$HT_BUILD/huatuo-$tool" "${args[@]}" --metrics "$T/ww/$tool.prom"
		[[ "$stderr" == "huatuo-$tool: cannot write --metrics $T/ww/$tool.prom: $T/ww is writable by other users (mode 0777) and not sticky"* ]] ||
			fail "$stderr"
		victim_untouched
		[ -L "$T/sticky/$tool.prom" ] && [ -L "$T/ww/$tool.prom" ]
		# no temporary file left behind
		[ -z "$(ls -A "$T/sticky" "$T/ww" | grep '^\.')" ] || fail "left: $(ls -A "$T/sticky" "$T/ww")"
		# the same directory, another name: written, readable by node_exporter
		run --separate-stderr timeout 30 "$HT_BUILD/huatuo-$tool" "${args[@]}" --metrics "$T/sticky/$tool-ok.prom"
		assert_success
		assert_equal "$(stat -c '%a %U' "$T/sticky/$tool-ok.prom")" "644 root"
		grep -q '^# TYPE huatuo_bamai_' "$T/sticky/$tool-ok.prom"
	done
}

@test "huatuo-capture: DIR/oom or DIR/summary.txt planted as a link is refused with one line before any tool starts" {
	mkdir -m 1777 "$T/sticky/bundle" && chmod 1777 "$T/sticky/bundle"
	for name in oom summary.txt; do
		as_nobody ln -s "$VICTIM" "$T/sticky/bundle/$name"
		refused "$HT_BUILD/huatuo-capture" -d 1 -o "$T/sticky/bundle" --tools oom,hungtask
		assert_equal "$stderr" "huatuo-capture: cannot write the bundle: $T/sticky/bundle/$name is a symbolic link, not a file huatuo-tools wrote (it may have been planted to make root write elsewhere): remove it or use another directory"
		victim_untouched
		[ -L "$T/sticky/bundle/$name" ]
		# nothing made, no tool ran: the directory holds the link only
		assert_equal "$(ls -A "$T/sticky/bundle")" "$name"
		rm "$T/sticky/bundle/$name"
	done
	# a directory others can write, not sticky: refused as for -o
	refused "$HT_BUILD/huatuo-capture" -d 1 -o "$T/ww" --tools oom
	[[ "$stderr" == "huatuo-capture: cannot use $T/ww for the bundle: $T/ww is writable by other users (mode 0777) and not sticky"* ]] ||
		fail "$stderr"
	# the archive beside DIR: a planted DIR.tar.gz is refused, its target untouched
	as_nobody ln -s "$VICTIM" "$T/sticky/ok.tar.gz"
	run --separate-stderr timeout 60 "$HT_BUILD/huatuo-capture" -d 0 -o "$T/sticky/ok" --tools oom --archive
	assert_equal "$status" 1
	[[ "$stderr" == *"cannot write the archive: cannot create $T/sticky/ok.tar.gz: File exists"* ]] ||
		fail "$stderr"
	victim_untouched
	[ -f "$T/sticky/ok/summary.txt" ]
}

# Two tracers at once, one JSON (+ -o), one table: both see the same events.
start_both() {
	local tool=$1
	shift
	mkdir -p "$T/store"
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-$tool" -j -o "$T/store" "$@"
	"$HT_BUILD/huatuo-$tool" "$@" > "$OUT.table" 2> "$ERR.table" &
	TABLE_PID=$!
	for _ in $(seq 100); do
		grep -q '^Tracing ' "$ERR.table" && return 0
		sleep 0.1
	done
	fail "table tracer did not start: $(cat "$ERR.table")"
}

# wait_both: both tracers end by themselves (-c/-d); sets TRACER_RC and TABLE_RC
wait_both() {
	wait_tracer 10
	for _ in $(seq 100); do kill -0 "$TABLE_PID" 2>/dev/null || break; sleep 0.1; done
	kill -INT "$TABLE_PID" 2>/dev/null || true
	TABLE_RC=0
	wait "$TABLE_PID" || TABLE_RC=$?
	TABLE_PID=
}

# valid_outputs EVENTS: NDJSON on stdout and in the -o file, valid UTF-8, EVENTS lines each;
# the table: its header and EVENTS rows, no control byte (an escape sequence, a newline)
valid_outputs() {
	assert_equal "$TRACER_RC" 0
	assert_equal "$TABLE_RC" 0
	for f in "$OUT" "$T/store"/*; do
		assert_ndjson "$f"
		assert_utf8 "$f"
		assert_equal "$(wc -l < "$f")" "$1"
	done
	assert_utf8 "$OUT.table"
	assert_equal "$(wc -l < "$OUT.table")" $(($1 + 1))
	! LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$OUT.table" ||
		fail "control bytes in the table: $(od -c "$OUT.table" | head -20)"
}

@test "hostile command and cgroup names (newline, quote, backslash, ESC, 0xff): oom's JSON, -o file and table stay valid" {
	root=$(memcg_root)
	[ -n "$root" ] || skip "no memory cgroup"
	name=$'rtest_sec_'$$$'"\\\xff\x1b[1m'
	CG=$(make_memcg "$name" $((64 << 20))) || skip "cannot make a memory cgroup named with quotes and 0xff"
	start_both oom -c 1 -d 30 --cgroup "/$name"
	sh -c 'echo $$ > "$1/cgroup.procs"; exec python3 -c "$2"' _ "$CG" '
import ctypes
ctypes.CDLL(None).prctl(15, b"a\"b\\c\nd\x1b[1m\xff", 0, 0, 0)
b = bytearray(200 << 20)
for i in range(0, len(b), 4096): b[i] = 1' || true
	wait_both
	valid_outputs 1
	# quote, backslash, newline and ESC as JSON escapes; 0xff as U+FFFD
	assert_equal "$(jq -c .tracer_data.victim_process_name "$OUT")" '"a\"b\\c\nd\u001b[1m'$'\xef\xbf\xbd''"'
	assert_equal "$(jq -c .tracer_data.victim_memcg "$OUT")" '"/rtest_sec_'$$'\"\\'$'\xef\xbf\xbd''\u001b[1m"'
	cmp "$OUT" "$T/store/oom" || fail "the -o file differs from stdout"
}

@test "hostile command and device names: dropwatch and netdev JSON and table stay valid" {
	start_both dropwatch -c 3 -d 30 --netns "$NS"
	drops_from 'b"q\"b\\c\nd\x1b]0;x\x07\xff"' 3
	wait_both
	valid_outputs 3
	assert_equal "$(jq -c .tracer_data.comm "$OUT" | sort -u)" '"q\"b\\c\nd\u001b]0;x\u0007'$'\xef\xbf\xbd''"'

	rm -rf "$T/store" "$OUT"*
	dev=$'r"\\\x1b[1m\xff'
	start_both netdev -c 2 -d 30 --netns "$NS"
	ip -n "$NS" link add "$dev" type veth peer name rtest_sec_p ||
		skip "cannot name a device with quotes, ESC and 0xff"
	wait_both
	valid_outputs 2
	jq -e '.tracer_data.ifname == "r\"\\\u001b[1m\ufffd"' "$OUT" > /dev/null ||
		fail "no event for the hostile device: $(cat "$OUT")"
}
