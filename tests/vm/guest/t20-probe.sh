# 1b. the fallback paths are chosen when forced: huatuo-oom by --probe and $HUATUO_PROBE.
W=/tmp/t20
mkdir -p $W
if ! have_tool oom; then
	skip "huatuo-oom fallback paths" "huatuo-oom not built"
else
	# expect_hook DESC KIND TARGET cmd...: --check --json reports that kind and target
	expect_hook() {
		desc=$1 kind=$2 target=$3
		shift 3
		if "$@" > $W/json 2> $W/err &&
			jq -e --arg k "$kind" --arg t "$target" \
				'.hooks[0].kind == $k and .hooks[0].target == $t' $W/json > /dev/null; then
			ok "$desc"
		else
			not_ok "$desc"
			diag_file $W/json
			diag_file $W/err
		fi
	}
	expect_hook "huatuo-oom --probe kprobe picks kprobe/oom_kill_process" kprobe oom_kill_process \
		huatuo-oom --check --json --probe kprobe
	expect_hook "HUATUO_PROBE=kprobe picks kprobe/oom_kill_process" kprobe oom_kill_process \
		env HUATUO_PROBE=kprobe huatuo-oom --check --json
	expect_hook "huatuo-oom --probe fentry picks fentry/oom_kill_process" fentry oom_kill_process \
		huatuo-oom --check --json --probe fentry
	# mark_victim passes the task_struct since 6.9 (72ba14de), backported to Debian's 6.1.y
	# (its format then has total_vm); older kernels pass only the pid: tp_btf/raw_tp vetoed
	if grep -q ' total_vm;' /sys/kernel/tracing/events/oom/mark_victim/format; then
		diag "oom/mark_victim has the task_struct argument on this kernel (total_vm in its format)"
		# raw_tp first with the kernel BTF subset (libcommon/btfmin.c), tp_btf on all of it
		expect_hook "huatuo-oom auto picks raw_tp/mark_victim" raw_tp mark_victim \
			huatuo-oom --check --json
		expect_hook "huatuo-oom auto on all of kernel BTF picks tp_btf/mark_victim" tp_btf \
			mark_victim env HUATUO_BTF_FULL=1 huatuo-oom --check --json
		expect_hook "huatuo-oom --probe tracepoint picks oom/mark_victim" tracepoint oom/mark_victim \
			huatuo-oom --check --json --probe tracepoint
	else
		diag "oom/mark_victim passes only the pid on this kernel"
		expect_hook "huatuo-oom auto picks the classic tracepoint oom/mark_victim" \
			tracepoint oom/mark_victim huatuo-oom --check --json
		if huatuo-oom --check --probe tp_btf > $W/out 2> $W/err; then
			not_ok "huatuo-oom --probe tp_btf is refused (mark_victim has only the pid)"
			diag_file $W/out
		else
			ok "huatuo-oom --probe tp_btf is refused (mark_victim has only the pid)"
			diag_file $W/err
		fi
	fi
fi
