#!/usr/bin/env bats
# The tracer inside a container, as SREs run it on a node: a debug container with the host's
# pid namespace (docker, podman --privileged -v /sys:/sys), and one without it; the envelope's
# hostname, what -v and the one warning say, tracefs left as found, and the error a missing
# capability, a seccomp profile or an unmountable tracefs gives. The tools run from the build
# tree with the host's /usr mounted read-only.
load ../lib/common
load ../lib/containers

setup_file() {
	ct_setup "in$$"
}

teardown_file() {
	ct_teardown
}

setup() {
	require_bpf
	NAME=rtest_ct_in$$_${BATS_TEST_NUMBER}
	OUTDIR=$CT_DIR/out.$BATS_TEST_NUMBER
	mkdir -p "$OUTDIR"
	TRACER_CT=
}

teardown() {
	[ -z "${TRACER_CT:-}" ] || $TRACER_RT rm -f "$TRACER_CT" > /dev/null 2>&1
	return 0
}

# The options every tracer container gets: the build tree and the host's /usr (libraries)
# read-only, the runtimes' state read-only where the tools look for it, the output directory.
tracer_mounts() {
	echo "-v /usr:/usr:ro -v $HT_BUILD:$HT_BUILD:ro -v $OUTDIR:/out"
	echo "-v $HUATUO_DOCKER_ROOT:$HUATUO_DOCKER_ROOT:ro -e HUATUO_DOCKER_ROOT"
	[ -z "${HUATUO_BTF:-}" ] || echo "-e HUATUO_BTF"
}

# start_in RUNTIME "RUNTIME OPTIONS" TOOL ARGS...: the tool in a container of its own, in
# the background, until it says it is tracing. Sets TRACER_CT and TRACER_RT.
start_in() {
	local rt=$1 opts=$2 tool=$3
	shift 3
	TRACER_RT=$rt
	TRACER_CT=${NAME}_tracer
	# shellcheck disable=SC2046,SC2086
	${rt}_run -d --name "$TRACER_CT" $opts $(tracer_mounts) "$CT_IMAGE" \
		sh -c "exec $HT_BUILD/huatuo-$tool $* > /out/out 2> /out/err" > /dev/null
	for _ in $(seq 150); do
		grep -q '^Tracing ' "$OUTDIR/err" 2>/dev/null && return 0
		[ "$($rt inspect -f '{{.State.Running}}' "$TRACER_CT")" = true ] || break
		sleep 0.1
	done
	cat "$OUTDIR/err" >&2
	return 1
}

# stop_in: SIGTERM to the tool (pid 1 of its container); sets TRACER_RC
stop_in() {
	$TRACER_RT stop -t 10 "$TRACER_CT" > /dev/null
	TRACER_RC=$($TRACER_RT inspect -f '{{.State.ExitCode}}' "$TRACER_CT")
}

# victim N: a --rm docker container on the host, OOM-killed; its id in $CT_DIR/victim.N
victim() {
	run docker_run --rm --cidfile "$CT_DIR/victim.$1" -m 32m --memory-swap 32m \
		--label io.kubernetes.pod.name="pod-$1" --label io.kubernetes.pod.namespace=ns-in \
		"$CT_IMAGE" sh -c "$CT_OOM_CMD"
	assert_equal "$status" 137
	sleep 0.3 # the tool reads its buffer every 100 ms
}

DOCKER_PRIV="--cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined"

@test "docker debug container (--pid=host, runtime state mounted): attributed, the node's hostname, no warning" {
	start_in docker "$DOCKER_PRIV --pid=host --hostname dbg-$$" oom -j -v
	victim 1
	stop_in
	assert_equal "$TRACER_RC" 0
	assert_ndjson "$OUTDIR/out"
	one_event "$OUTDIR/out" '.container_id == $id' '.hostname == $node
		and .container_pod_name == "pod-1" and .container_host_namespace == "ns-in"
		and .tracer_data.victim_memcg == "/docker/\($id)"' \
		--arg id "$(cat "$CT_DIR/victim.1")" --arg node "$(hostname)" ||
		fail "$(cat "$OUTDIR/out" "$OUTDIR/err")"
	grep -q "containers: ids from cgroup paths the kernel records at the event; metadata from docker $HUATUO_DOCKER_ROOT; network namespaces from /proc (the host's processes)" "$OUTDIR/err" ||
		fail "no -v line: $(cat "$OUTDIR/err")"
	! grep -q warning "$OUTDIR/err" || fail "$(cat "$OUTDIR/err")"
}

@test "docker container without --pid=host: attributed all the same, its own hostname, one warning saying what is missing" {
	start_in docker "$DOCKER_PRIV --hostname own-$$" oom -j
	victim 2
	stop_in
	assert_equal "$TRACER_RC" 0
	one_event "$OUTDIR/out" '.container_id == $id' '.hostname == $h
		and .container_pod_name == "pod-2"' \
		--arg id "$(cat "$CT_DIR/victim.2")" --arg h "own-$$" ||
		fail "$(cat "$OUTDIR/out" "$OUTDIR/err")"
	assert_equal "$(grep -c warning "$OUTDIR/err")" 1
	grep -q "warning: running in a container: not in the host's pid namespace.*--pid=host" "$OUTDIR/err"
}

@test "--hostname and \$HUATUO_HOSTNAME name the envelope's host; bad values exit 64" {
	start_in docker "$DOCKER_PRIV --pid=host -e HUATUO_HOSTNAME=from-env-$$" oom -j
	victim 3
	stop_in
	one_event "$OUTDIR/out" '.container_id == $id' '.hostname == $h' \
		--arg id "$(cat "$CT_DIR/victim.3")" --arg h "from-env-$$" || fail "$(cat "$OUTDIR/out")"
	docker rm "$TRACER_CT" > /dev/null
	start_in docker "$DOCKER_PRIV --pid=host -e HUATUO_HOSTNAME=from-env-$$" oom -j --hostname "node-7.$$"
	victim 4
	stop_in
	one_event "$OUTDIR/out" '.container_id == $id' '.hostname == $h' \
		--arg id "$(cat "$CT_DIR/victim.4")" --arg h "node-7.$$" || fail "$(cat "$OUTDIR/out")"
	run "$HT_BUILD/huatuo-oom" --hostname 'a b' --check
	assert_equal "$status" 64
	assert_output --partial "invalid --hostname 'a b'"
	HUATUO_HOSTNAME='x/y' run "$HT_BUILD/huatuo-oom" --check
	assert_equal "$status" 64
	assert_output --partial "invalid HUATUO_HOSTNAME"
}

@test "podman debug container (--privileged --pid=host -v /sys:/sys, its cgroup mounts over the host's): attributed, the node's hostname" {
	start_in podman "--privileged --pid=host -v /sys:/sys" oom -j
	victim 5
	stop_in
	assert_equal "$TRACER_RC" 0
	one_event "$OUTDIR/out" '.container_id == $id' '.hostname == $node
		and .container_pod_name == "pod-5" and .tracer_data.victim_memcg == "/docker/\($id)"
		and .tracer_data.memcg_limit_bytes == 33554432' \
		--arg id "$(cat "$CT_DIR/victim.5")" --arg node "$(hostname)" ||
		fail "$(cat "$OUTDIR/out" "$OUTDIR/err")"
}

@test "podman --privileged without --pid=host: attributed; the tracefs the tool mounted is gone when it exits" {
	start_in podman "--privileged --hostname pod-own-$$" oom -j
	victim 6
	stop_in
	assert_equal "$TRACER_RC" 0
	one_event "$OUTDIR/out" '.container_id == $id' '.hostname == $h' \
		--arg id "$(cat "$CT_DIR/victim.6")" --arg h "pod-own-$$" ||
		fail "$(cat "$OUTDIR/out" "$OUTDIR/err")"
	# tracefs is not mounted in such a container: the tool mounts it and takes it away
	# shellcheck disable=SC2046
	run podman_run --rm --privileged $(tracer_mounts) "$CT_IMAGE" sh -c "
		grep -c ' - tracefs ' /proc/self/mountinfo
		$HT_BUILD/huatuo-oom --check --probe tracepoint > /dev/null; echo rc=\$?
		grep -c ' - tracefs ' /proc/self/mountinfo"
	assert_equal "${lines[*]}" "0 rc=0 0"
}

@test "errors in a container say which: capabilities, a seccomp profile refusing bpf(), tracefs that cannot be mounted; CAP_BPF+CAP_PERFMON suffice" {
	# shellcheck disable=SC2046
	run docker_run --rm $(tracer_mounts) "$CT_IMAGE" "$HT_BUILD/huatuo-oom" --check
	assert_equal "$status" 1
	assert_output --partial "root without CAP_SYS_ADMIN, or CAP_BPF and CAP_PERFMON"
	echo '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["bpf"],"action":"SCMP_ACT_ERRNO"}]}' \
		> "$CT_DIR/no-bpf.json"
	# shellcheck disable=SC2046
	run docker_run --rm --cap-add ALL --cap-drop SYS_RESOURCE \
		--security-opt seccomp="$CT_DIR/no-bpf.json" $(tracer_mounts) "$CT_IMAGE" \
		"$HT_BUILD/huatuo-oom" --check
	assert_equal "$status" 1
	assert_output --partial "a seccomp filter is on this process"
	assert_equal "${#lines[@]}" 1
	# CAP_BPF and CAP_PERFMON only, no tracefs (an empty tmpfs where it would be mounted)
	# shellcheck disable=SC2046
	run podman_run --rm --cap-drop ALL --cap-add BPF --cap-add PERFMON \
		--security-opt seccomp=unconfined --tmpfs /sys/kernel/tracing $(tracer_mounts) \
		"$CT_IMAGE" sh -c "$HT_BUILD/huatuo-oom --check && $HT_BUILD/huatuo-oom --check --probe tracepoint"
	assert_equal "$status" 1
	assert_output --regexp "mark_victim +raw_tp +mark_victim"
	assert_output --partial "tracefs is not mounted at /sys/kernel/tracing and mounting it failed: Operation not permitted"
}
