# Shared bats helpers for every suite. Load with: load ../lib/common
bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert

HT_BUILD="${HT_BUILD:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/build}"
HT_TOP="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
# tools/X.c is a tool, tools/X_PART.c a part of tool X (Makefile)
HT_TOOLS=$(cd "$HT_TOP/tools" && ls *.c | sed 's/\.c$//' | grep -v _ | sort)
# Tools that run the others (no events of their own: no -j, -c, --check...)
HT_RUNNERS="capture"

is_runner() {
	[[ " $HT_RUNNERS " == *" $1 "* ]]
}

require_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
}

require_bpf() {
	require_root
	[ -r /sys/kernel/btf/vmlinux ] || skip "kernel has no BTF (/sys/kernel/btf/vmlinux)"
}

# The hook kind a tool attaches by default: raw_tp with the kernel BTF subset (btfmin.c),
# tp_btf when the suite runs on all of kernel BTF ($HUATUO_BTF_FULL, the ASan pass of .ci/run).
default_kind() {
	if [ -n "${HUATUO_BTF_FULL:-}" ]; then echo tp_btf; else echo raw_tp; fi
}

# True for a sanitizer build (make SANITIZE=1, CI's first pass): valgrind cannot run it, and
# its RSS is mostly the sanitizer's shadow memory.
sanitized_build() {
	ldd "$HT_BUILD/huatuo-oom" 2>/dev/null | grep -q libasan
}

require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "needs $c"
	done
}

# A v1 or v2 memory cgroup root where tests can create children; "" if none.
memcg_root() {
	if [ -f /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then
		echo /sys/fs/cgroup/memory
	elif grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
		echo /sys/fs/cgroup
	fi
}

# make_memcg NAME BYTES -> prints the cgroup directory (v1 or v2)
make_memcg() {
	local root dir
	root=$(memcg_root)
	[ -n "$root" ] || return 1
	dir="$root/$1"
	mkdir -p "$dir" || return 1
	if [ -f "$dir/memory.limit_in_bytes" ]; then
		echo "$2" > "$dir/memory.limit_in_bytes" || return 1
	else
		echo "+memory" > "$root/cgroup.subtree_control" 2>/dev/null
		echo "$2" > "$dir/memory.max" || return 1
		echo 0 > "$dir/memory.swap.max" 2>/dev/null
	fi
	echo "$dir"
}

# remove_cgroup DIR: kill what is left inside and remove it
remove_cgroup() {
	local dir=$1 i
	[ -d "$dir" ] || return 0
	for i in 1 2 3 4 5 6 7 8 9 10; do
		xargs -r kill -9 < "$dir/cgroup.procs" 2>/dev/null
		rmdir "$dir" 2>/dev/null && return 0
		sleep 0.2
	done
	echo "could not remove $dir" >&2
	return 1
}

# start_tracer_as NAME OUT ERR tool args...: run in the background, wait until attached.
# Sets ${NAME}_PID. Fails if the tool exits or does not attach within 10 s.
start_tracer_as() {
	local name=$1 out=$2 err=$3 pid i
	shift 3
	# emptied first: until the background shell truncates it, a previous tracer's "Tracing"
	# line would pass for this one's
	: > "$err"
	"$@" > "$out" 2> "$err" &
	pid=$!
	printf -v "${name}_PID" '%s' "$pid"
	for i in $(seq 1 100); do
		grep -q '^Tracing ' "$err" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || { cat "$err" >&2; return 1; }
		sleep 0.1
	done
	echo "tracer did not attach within 10 s" >&2
	cat "$err" >&2
	return 1
}

# stop_tracer_as NAME: SIGINT and wait; sets ${NAME}_RC
stop_tracer_as() {
	local pid_var=${1}_PID rc=0
	[ -n "${!pid_var:-}" ] || return 0
	kill -INT "${!pid_var}" 2>/dev/null
	wait "${!pid_var}" || rc=$?
	printf -v "${1}_RC" '%s' "$rc"
	printf -v "$pid_var" '%s' ""
}

# start_tracer OUT ERR tool args..., stop_tracer: the test's tracer (TRACER_PID, TRACER_RC)
start_tracer() {
	start_tracer_as TRACER "$@"
}

stop_tracer() {
	stop_tracer_as TRACER
}

# ring_size: max_entries of the running tracer's event ring buffer (the map "events"; a
# container-aware tool has another ring, for new cgroups)
ring_size() {
	local id
	for id in $(bpf_map_ids "$TRACER_PID"); do
		bpftool map show id "$id" -j 2>/dev/null
	done | jq -rs 'map(select(.name == "events" and .type == "ringbuf")) | .[0].max_entries'
}

# wait_tracer SECONDS: wait for a tracer that ends by itself (-c/-d); sets TRACER_RC
wait_tracer() {
	local i
	for i in $(seq 1 $(($1 * 10))); do
		kill -0 "$TRACER_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$TRACER_PID" 2>/dev/null && kill -INT "$TRACER_PID"
	TRACER_RC=0
	wait "$TRACER_PID" || TRACER_RC=$?
	TRACER_PID=
}

# Every line of FILE must be a JSON object (one jq for the whole file: a storm test writes
# thousands of lines, and a jq per line took minutes).
assert_ndjson() {
	local bad
	bad=$(jq -R -n -r 'foreach inputs as $line (0; . + 1;
		. as $n | $line | try (fromjson | type) catch "invalid" |
		select(. != "object") | $n)' "$1" | head -1) || fail "jq could not read $1"
	[ -z "$bad" ] || fail "line $bad of $1 is not a JSON object: $(sed -n "${bad}p" "$1")"
}

# bpf_map_ids PID: IDs of the BPF maps a process's fds hold. cat, not awk, reads the fdinfo
# files: an fd the process closes between the glob and the read (it still works after its
# banner) makes awk stop at that file, and the maps of the fds after it were missed.
bpf_map_ids() {
	cat /proc/"$1"/fdinfo/* 2>/dev/null | sed -n 's/^map_id:[[:space:]]*//p' | sort -un
}

# IDs of the BPF programs and links a process holds, from its fds' fdinfo ("prog 12").
bpf_ids_of_pid() {
	cat /proc/"$1"/fdinfo/* 2>/dev/null |
		sed -n 's/^prog_id:[[:space:]]*\([0-9]*\)/prog \1/p; s/^link_id:[[:space:]]*\([0-9]*\)/link \1/p' |
		sort -u
}

# assert_bpf_released IDS: none of those programs/links exists any more (the kernel frees
# them asynchronously after the last fd closes: allow 3 s). The kernel is shared with other
# test runs, so only the IDs our tracer held are checked.
assert_bpf_released() {
	local ids=$1 left i kind id
	[ -n "$ids" ] || fail "no BPF program was recorded for the tracer"
	for i in $(seq 30); do
		left=
		while read -r kind id; do
			bpftool "$kind" show id "$id" >/dev/null 2>&1 && left="$left $kind $id"
		done <<<"$ids"
		[ -z "$left" ] && return 0
		sleep 0.1
	done
	fail "BPF objects left behind:$left"
}

# assert_signal_exit SIG tool args...: the tracer, once attached, exits 0 on SIG and leaves
# none of its BPF programs and links behind
assert_signal_exit() {
	local sig=$1 ids rc=0
	shift
	start_tracer "$OUT" "$ERR" "$@"
	ids=$(bpf_ids_of_pid "$TRACER_PID")
	kill -"$sig" "$TRACER_PID"
	wait "$TRACER_PID" || rc=$?
	TRACER_PID=
	assert_equal "$rc" 0
	assert_bpf_released "$ids"
}

# wait_lines N: until $OUT has N lines (up to 5 s)
wait_lines() {
	local i
	for i in $(seq 50); do
		[ "$(wc -l < "$OUT")" -ge "$1" ] && return 0
		sleep 0.1
	done
	fail "expected $1 lines, got: $(cat "$OUT" "$ERR")"
}

# Programs whose name contains $1 (racy when other test runs share the kernel: prefer
# bpf_ids_of_pid + assert_bpf_released).
bpf_prog_count() {
	bpftool prog list 2>/dev/null | grep -c "$1" || true
}

# build_bpf_helper NAME DIR: tests/helpers/NAME.bpf.c and NAME.c into DIR/NAME.bpf.o and
# DIR/NAME (test helpers that run a BPF program in their own context). Returns 1 without
# clang, gcc or libbpf-dev; callers skip on a missing DIR/NAME.
build_bpf_helper() {
	local name=$1 dir=$2 arch
	command -v clang >/dev/null && command -v gcc >/dev/null || return 1
	arch=$(uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
	clang -O2 -g -target bpf -D__TARGET_ARCH_"$arch" -I"$HT_TOP/vmlinux/$arch" \
		-c "$HT_TOP/tests/helpers/$name.bpf.c" -o "$dir/$name.bpf.o" &&
		gcc -O2 -Wall -Wextra -Werror -o "$dir/$name" "$HT_TOP/tests/helpers/$name.c" -lbpf
}
