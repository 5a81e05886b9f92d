# Guest suite helpers (busybox sh). TAP lines prefixed "HTVM: " for the host.
T_NUM=0

say() { echo "HTVM: $*"; }
diag() { echo "HTVM: # $*"; }
# diag_file FILE: each line of FILE as a diagnostic (at most 40)
diag_file() { [ -s "$1" ] && head -40 "$1" | while IFS= read -r l; do echo "HTVM: #   $l"; done; return 0; }
ok() { T_NUM=$((T_NUM + 1)); say "ok $T_NUM - $*"; }
not_ok() { T_NUM=$((T_NUM + 1)); say "not ok $T_NUM - $*"; }
# todo DESC REASON: a known failure, reported to the lead (counted as skipped by the host)
todo() { T_NUM=$((T_NUM + 1)); say "not ok $T_NUM - $1 # TODO $2"; }
skip() { T_NUM=$((T_NUM + 1)); say "ok $T_NUM - $1 # skip $2"; }
have_tool() { [ -x "/usr/sbin/huatuo-$1" ]; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }

# start_tracer OUT ERR cmd...: background, wait until "Tracing" on stderr (60 s under TCG)
start_tracer() {
	out=$1 err=$2
	shift 2
	# emptied first: the background shell truncates it only when it gets to run, and until
	# then the last run's "Tracing" line would pass for this one's (its hooks not attached)
	: > "$err"
	"$@" > "$out" 2> "$err" &
	TRACER_PID=$!
	i=0
	while [ $i -lt 600 ]; do
		grep -q '^Tracing ' "$err" 2>/dev/null && return 0
		kill -0 "$TRACER_PID" 2>/dev/null || { wait "$TRACER_PID"; TRACER_RC=$?; TRACER_PID=; return 1; }
		sleep 0.1
		i=$((i + 1))
	done
	kill -INT "$TRACER_PID"
	return 1
}

# wait_tracer SECONDS: wait for a tracer that ends by itself, else SIGINT it; sets TRACER_RC
wait_tracer() {
	i=0
	while [ $i -lt $(($1 * 10)) ] && kill -0 "$TRACER_PID" 2>/dev/null; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -0 "$TRACER_PID" 2>/dev/null && kill -INT "$TRACER_PID"
	wait "$TRACER_PID"
	TRACER_RC=$?
	TRACER_PID=
}

stop_tracer() {
	[ -n "${TRACER_PID:-}" ] || return 0
	kill -INT "$TRACER_PID" 2>/dev/null
	wait "$TRACER_PID"
	TRACER_RC=$?
	TRACER_PID=
}

# make_memcg NAME BYTES -> directory (cgroup v2, memory enabled by the suite)
make_memcg() {
	mkdir -p "/sys/fs/cgroup/$1" && echo "$2" > "/sys/fs/cgroup/$1/memory.max" &&
		echo 0 > "/sys/fs/cgroup/$1/memory.swap.max" 2>/dev/null
	echo "/sys/fs/cgroup/$1"
}

remove_cgroup() {
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		xargs -r kill -9 < "$1/cgroup.procs" 2>/dev/null
		rmdir "$1" 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}

# usable_kinds TOOL: "auto" plus each hook kind --probe KIND can attach (so the fallbacks
# are driven end to end too)
usable_kinds() {
	kinds=auto
	for k in tp_btf raw_tp tracepoint fentry kprobe; do
		timeout 60 huatuo-$1 --check --probe $k > /dev/null 2>&1 && kinds="$kinds $k"
	done
	echo $kinds
}
