# 2. huatuo-oom end to end: a memcg OOM kill (cgroup v2) seen through each hook kind.
W=/tmp/t30
mkdir -p $W
memcg_ok=
if grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
	echo +memory > /sys/fs/cgroup/cgroup.subtree_control 2>$W/err && memcg_ok=1
fi
if [ -n "$memcg_ok" ]; then
	ok "cgroup v2 with the memory controller (subtree_control: $(cat /sys/fs/cgroup/cgroup.subtree_control))"
else
	not_ok "cgroup v2 with the memory controller"
	diag "cgroup.controllers: $(cat /sys/fs/cgroup/cgroup.controllers 2>&1)"
	diag_file $W/err
fi

# oom_run KIND: a 64 MiB memcg, dd reading 200 MiB into one buffer; one event expected
oom_run() {
	kind=$1
	name=vmoom_$kind
	desc="huatuo-oom e2e via $kind: memcg OOM kill of dd reported with pids, names, memcg, limit"
	if ! have_tool oom; then skip "$desc" "huatuo-oom not built"; return; fi
	if [ -z "$memcg_ok" ]; then skip "$desc" "no memory cgroup"; return; fi
	cg=$(make_memcg $name $((64 << 20)))
	if ! start_tracer $W/out $W/err huatuo-oom -v -j -c 1 -d 120 --probe $kind --cgroup /$name; then
		not_ok "$desc"
		diag "tracer did not start (rc ${TRACER_RC:-?})"
		diag_file $W/err
		remove_cgroup "$cg"
		return
	fi
	sh -c 'echo $$ > "$1/cgroup.procs"; echo $$ > "$2"; exec dd if=/dev/zero of=/dev/null bs=200M count=1' \
		_ "$cg" $W/pid 2>/dev/null
	rc=$?
	pid=$(cat $W/pid)
	wait_tracer 30
	# the kind asked for is the one that saw it
	if [ "$rc" = 137 ] && [ "$TRACER_RC" = 0 ] && [ "$(wc -l < $W/out)" = 1 ] &&
		{ [ $kind = auto ] || grep -q "^huatuo-oom: attached mark_victim: $kind " $W/err; } &&
		jq -e --argjson pid "$pid" --arg cg "/$name" '
			.tracer_name == "oom" and .tracer_type == "auto"
			and .tracer_data.victim_pid == $pid and .tracer_data.trigger_pid == $pid
			and .tracer_data.victim_process_name == "dd"
			and .tracer_data.trigger_process_name == "dd"
			and .tracer_data.victim_memcg == $cg and .tracer_data.trigger_memcg == $cg
			and .tracer_data.memcg_limit_bytes == 67108864' $W/out > /dev/null; then
		ok "$desc"
		diag "$(cut -c1-600 $W/out)"
	else
		not_ok "$desc"
		diag "dd rc=$rc (137 = OOM-killed), tracer rc=$TRACER_RC, dd pid $pid"
		diag_file $W/out
		diag_file $W/err
		dmesg | grep -iE 'oom-kill:|Killed process' | tail -2 > $W/dmesg
		diag_file $W/dmesg
	fi
	remove_cgroup "$cg"
}
for k in auto tracepoint fentry kprobe; do
	oom_run $k
done
