#!/usr/bin/env bats
# Container attribution against real docker and podman containers (own dockerd and podman
# storage, tests/lib/containers.bash): OOM kills of --rm containers attributed although the
# runtime removes the cgroup and the state at once, Kubernetes metadata from cri-dockerd
# labels, CRI-O annotations and a containerd (CRI) bundle, hostile names.
load ../lib/common
load ../lib/containers

setup_file() {
	ct_setup "$$"
}

teardown_file() {
	ct_teardown
}

setup() {
	OUT=$BATS_TEST_TMPDIR/out
	ERR=$BATS_TEST_TMPDIR/err
	NAME=rtest_ct_$$_${BATS_TEST_NUMBER}
}

teardown() {
	stop_tracer
	stop_tracer2
	[ -n "${CG:-}" ] && remove_cgroup "$CG"
	[ -n "${CG:-}" ] && rmdir "$(dirname "$CG")" 2>/dev/null
	[ -n "${SENDER:-}" ] && kill "$SENDER" 2>/dev/null && wait "$SENDER" 2>/dev/null
	[ -n "${NETNS:-}" ] && ip netns del "$NETNS" 2>/dev/null
	return 0
}

# oom_docker N ARGS...: run container N (--rm, 32 MiB) whose dd is OOM-killed; its id in $CT_DIR/cid.N
oom_docker() {
	local n=$1
	shift
	rm -f "$CT_DIR/cid.$n"
	run docker_run --rm --cidfile "$CT_DIR/cid.$n" -m 32m --memory-swap 32m "$@" "$CT_IMAGE" \
		sh -c "$CT_OOM_CMD"
	assert_equal "$status" 137
}

@test "docker: 10 --rm containers killed by the OOM in a row: 10 attributed events, with and without --cgroup" {
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-oom" -j -d 120
	start_tracer2 "$OUT.cg" "$ERR.cg" "$HT_BUILD/huatuo-oom" -j -d 120 --cgroup /docker
	for i in $(seq 10); do
		# cri-dockerd's labels; every other one a pod's sandbox
		type=container
		[ $((i % 2)) -eq 0 ] && type=podsandbox
		oom_docker "$i" --name "${NAME}_$i" --hostname "host-$i" \
			--label io.kubernetes.pod.namespace="ns-$i" --label io.kubernetes.pod.name="pod-$i" \
			--label io.kubernetes.container.name="web-$i" --label io.kubernetes.docker.type=$type
	done
	# the runtime removed every container and its cgroup by now
	for i in $(seq 10); do
		[ ! -e "$HUATUO_DOCKER_ROOT/containers/$(cat "$CT_DIR/cid.$i")" ] || fail "container $i not removed yet"
	done
	sleep 0.3 # the tracers read their buffers every 100 ms
	stop_tracers_ok
	assert_ndjson "$OUT"
	assert_ndjson "$OUT.cg"
	for out in "$OUT" "$OUT.cg"; do
		attributed=0
		for i in $(seq 10); do
			type=normal
			[ $((i % 2)) -eq 0 ] && type=sandbox
			one_event "$out" '.container_id == $id' '
				.container_hostname == "host-\($i)" and .container_name == "web-\($i)"
				and .container_pod_name == "pod-\($i)" and .container_host_namespace == "ns-\($i)"
				and .container_type == $type
				and .tracer_data.victim_container_id == $id
				and .tracer_data.victim_container_name == "web-\($i)"
				and .tracer_data.victim_container_pod_name == "pod-\($i)"
				and .tracer_data.victim_container_host_namespace == "ns-\($i)"
				and .tracer_data.victim_container_type == $type
				and .tracer_data.victim_memcg == "/docker/\($id)"
				and .tracer_data.victim_process_name == "dd"' \
				--arg id "$(cat "$CT_DIR/cid.$i")" --arg i "$i" --arg type "$type" &&
				attributed=$((attributed + 1))
		done
		echo "# huatuo-oom$([ "$out" = "$OUT" ] || echo ' --cgroup /docker'): $attributed of 10 attributed" >&3
		[ "$attributed" = 10 ] || fail "$(cat "$out")"
	done
}

@test "docker: ids equal docker inspect's, memcg limit from the container's -m" {
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-oom" -j -d 60
	docker_run -d --name "$NAME" -m 32m --memory-swap 32m "$CT_IMAGE" \
		sh -c "sleep 0.3; $CT_OOM_CMD" > /dev/null
	id=$(docker inspect -f '{{.Id}}' "$NAME")
	docker wait "$NAME" > /dev/null
	sleep 0.3
	stop_tracer
	assert_equal "$TRACER_RC" 0
	one_event "$OUT" '.container_id == $id' '
		.container_name == $name and .container_type == "normal"
		and .container_hostname == $id[0:12]
		and (has("container_host_namespace") | not) and (has("container_pod_name") | not)
		and .tracer_data.memcg_limit_bytes == 33554432
		and .tracer_data.trigger_container_id == $id' --arg id "$id" --arg name "$NAME" ||
		fail "$(cat "$OUT" "$ERR")"
}

@test "podman: OOM kills of --rm containers with CRI-O annotations, and a plain one by its name" {
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-oom" -j -d 60
	run podman_run --rm --cidfile "$CT_DIR/pcid.1" -m 32m --memory-swap 32m --name "${NAME}_1" \
		--hostname phost --annotation io.kubernetes.pod.namespace=pns \
		--annotation io.kubernetes.pod.name=ppod --annotation io.kubernetes.container.name=pweb \
		--annotation io.kubernetes.cri-o.ContainerType=sandbox "$CT_IMAGE" sh -c "$CT_OOM_CMD"
	assert_equal "$status" 137
	run podman_run --rm --cidfile "$CT_DIR/pcid.2" -m 32m --memory-swap 32m --name "${NAME}_2" \
		"$CT_IMAGE" sh -c "$CT_OOM_CMD"
	assert_equal "$status" 137
	sleep 0.3
	stop_tracer
	assert_equal "$TRACER_RC" 0
	assert_ndjson "$OUT"
	one_event "$OUT" '.container_id == $id' '
		.container_hostname == "phost" and .container_name == "pweb"
		and .container_pod_name == "ppod" and .container_host_namespace == "pns"
		and .container_type == "sandbox"
		and .tracer_data.victim_memcg == "/libpod_parent/libpod-\($id)"' \
		--arg id "$(cat "$CT_DIR/pcid.1")" ||
		fail "$(cat "$OUT" "$ERR")"
	one_event "$OUT" '.container_id == $id' '.container_name == $name
		and .container_type == "normal" and (has("container_pod_name") | not)' \
		--arg id "$(cat "$CT_DIR/pcid.2")" --arg name "${NAME}_2" || fail "$(cat "$OUT" "$ERR")"
}

# A containerd (CRI) container: no containerd on CI, so its OCI bundle is written by the test
# and a process is OOM-killed in a cgroup named as the CRI plugin names it.
@test "containerd: metadata from the task's OCI bundle config.json (CRI annotations)" {
	id=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
	bundle=$HUATUO_CONTAINERD_ROOT/io.containerd.runtime.v2.task/k8s.io/$id
	mkdir -p "$bundle"
	cat > "$bundle/config.json" <<-EOF
	{"ociVersion":"1.1.0","hostname":"cd-host","annotations":{
	 "io.kubernetes.cri.container-type":"container","io.kubernetes.cri.sandbox-namespace":"cd-ns",
	 "io.kubernetes.cri.sandbox-name":"cd-pod","io.kubernetes.cri.container-name":"cd-web"}}
	EOF
	CG=$(make_memcg "rtest_ct_$$/cri-containerd-$id.scope" $((32 << 20)))
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-oom" -j -c 1 -d 30 --cgroup "/rtest_ct_$$"
	# in a UTS namespace of its own, as a container's processes are
	run unshare -u sh -c 'hostname cd-host; echo $$ > "$1/cgroup.procs"; exec python3 "$2" 100' \
		_ "$CG" "$BATS_TEST_DIRNAME/../helpers/mem-alloc.py"
	assert_equal "$status" 137
	wait_tracer 10
	jq -e --arg id "$id" '.container_id == $id and .container_hostname == "cd-host"
		and .container_name == "cd-web" and .container_pod_name == "cd-pod"
		and .container_host_namespace == "cd-ns" and .container_type == "normal"' "$OUT" ||
		fail "$(cat "$OUT" "$ERR")"
}

@test "memreclaim: a direct-reclaim stall inside a docker container is attributed to it" {
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-memreclaim" -j -t 1ms -d 60 --comm dd
	# page cache written past the container's 32 MiB: memcg reclaim on every write
	docker_run --rm --cidfile "$CT_DIR/rcid" -m 32m --memory-swap 32m --label io.kubernetes.pod.name=rpod \
		"$CT_IMAGE" sh -c 'dd if=/dev/zero of=/tmp/f bs=1M count=200 2>/dev/null'
	sleep 0.3
	stop_tracer
	assert_equal "$TRACER_RC" 0
	assert_ndjson "$OUT"
	id=$(cat "$CT_DIR/rcid")
	run jq -s --arg id "$id" 'map(select(.container_id == $id)) | length' "$OUT"
	[ "$output" -ge 1 ] || fail "no event of container $id: $(cat "$OUT" "$ERR")"
	jq -s -e --arg id "$id" 'map(select(.container_id == $id)) | all(
		.container_pod_name == "rpod" and .tracer_data.comm == "dd"
		and .tracer_data.memcg == "/docker/\($id)" and .tracer_data.container_id == $id
		and .tracer_data.deltatime >= 1000000)' "$OUT"
}

@test "hostile names (newline, quotes, backslash, invalid UTF-8) keep NDJSON, the store and the table valid" {
	evil=$(printf 'ev\nil"p\\od\t\001\xff')
	evil2=$(printf 'p\\q\t\xff') # podman's --annotation takes neither newlines nor quotes
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-oom" -j -d 60 -o "$BATS_TEST_TMPDIR/store"
	start_tracer2 "$OUT.table" "$ERR.table" "$HT_BUILD/huatuo-oom" -d 60
	oom_docker 1 --label "io.kubernetes.pod.name=$evil" --label "io.kubernetes.pod.namespace=$evil" \
		--label "io.kubernetes.container.name=$evil"
	run podman_run --rm --cidfile "$CT_DIR/pcid" -m 32m --memory-swap 32m \
		--annotation "io.kubernetes.pod.name=$evil2" "$CT_IMAGE" sh -c "$CT_OOM_CMD"
	assert_equal "$status" 137
	sleep 0.3
	stop_tracers_ok
	assert_ndjson "$OUT"
	assert_ndjson "$BATS_TEST_TMPDIR/store/oom"
	# the runtimes write labels as JSON text (invalid UTF-8 already U+FFFD), and so do we
	want=$(printf 'ev\nil"p\\od\t\001\xef\xbf\xbd')
	want2=$(printf 'p\\q\t\xef\xbf\xbd')
	for f in "$OUT" "$BATS_TEST_TMPDIR/store/oom"; do
		one_event "$f" '.container_id == $id' '.container_pod_name == $want
			and .container_name == $want and .container_host_namespace == $want
			and .tracer_data.victim_container_pod_name == $want' \
			--arg id "$(cat "$CT_DIR/cid.1")" --arg want "$want" || fail "$(cat "$f")"
		one_event "$f" '.container_id == $id' '.container_pod_name == $want' \
			--arg id "$(cat "$CT_DIR/pcid")" --arg want "$want2" || fail "$(cat "$f")"
	done
	# the table: a header and one line per kill, nothing a name could have split or added;
	# the CONTAINER column holds the name with its control bytes as '?', in one column
	assert_equal "$(wc -l < "$OUT.table")" 3
	! grep -q "$(printf '\001')" "$OUT.table"
	assert_equal "$(awk '$2 == "ev?il\"p\\od??\xef\xbf\xbd"' "$OUT.table" | wc -l)" 1
}

@test "a container whose /etc/hostname is a symlink to a host file gets no host data into any output" {
	secret=$CT_DIR/host-secret
	echo "HOSTSECRET$$" > "$secret"
	rm -rf "$CT_DIR/evilfs"
	cp -a "$CT_DIR/rootfs" "$CT_DIR/evilfs"
	ln -sfn "$secret" "$CT_DIR/evilfs/etc/hostname"
	tar -C "$CT_DIR/evilfs" -cf "$CT_DIR/evil.tar" .
	docker import "$CT_DIR/evil.tar" "rtest-ct-evil-$$:1" > /dev/null
	podman import "$CT_DIR/evil.tar" "rtest-ct-evil-$$:1" > /dev/null
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-oom" -j -d 60 -o "$BATS_TEST_TMPDIR/store"
	start_tracer2 "$OUT.table" "$ERR.table" "$HT_BUILD/huatuo-oom" -d 60
	run docker_run --rm --cidfile "$CT_DIR/ecid" -m 32m --memory-swap 32m "rtest-ct-evil-$$:1" \
		sh -c "$CT_OOM_CMD"
	assert_equal "$status" 137
	run podman_run --rm --cidfile "$CT_DIR/epcid" -m 32m --memory-swap 32m "rtest-ct-evil-$$:1" \
		sh -c "$CT_OOM_CMD"
	assert_equal "$status" 137
	sleep 0.3
	stop_tracers_ok
	one_event "$OUT" '.container_id == $id' '.container_hostname == $id[0:12]' \
		--arg id "$(cat "$CT_DIR/ecid")" || fail "$(cat "$OUT")"
	one_event "$OUT" '.container_id == $id' '.container_hostname == $id[0:12]' \
		--arg id "$(cat "$CT_DIR/epcid")" || fail "$(cat "$OUT")"
	run grep -l "HOSTSECRET" "$OUT" "$ERR" "$OUT.table" "$ERR.table" "$BATS_TEST_TMPDIR/store/oom"
	assert_failure
}

@test "--container: by name, pod name or id prefix, decided in the kernel; a second container's events stay out" {
	# a container running before the tool, named by an id prefix
	docker_run -d --name "${NAME}_c" -m 32m --memory-swap 32m "$CT_IMAGE" sleep 60 > /dev/null
	cid=$(docker inspect -f '{{.Id}}' "${NAME}_c")
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-oom" -j -d 60 --container "${NAME}_a"
	start_tracer2 "$OUT.pod" "$ERR.pod" "$HT_BUILD/huatuo-oom" -d 60 --container "pod-b-$$"
	a_tracer=$TRACER_PID
	"$HT_BUILD/huatuo-oom" -j -d 60 --container "${cid:0:12}" > "$OUT.id" 2> "$ERR.id" &
	id_tracer=$!
	for _ in $(seq 100); do grep -q '^Tracing' "$ERR.id" && break; sleep 0.1; done
	# none of a and b exists yet: said once; c does
	assert_equal "$(grep -c "no container matches --container ${NAME}_a yet" "$ERR")" 1
	assert_equal "$(grep -c "no container matches" "$ERR.id")" 0
	# a: started after the tools, by its name; b: two kills in one container, by its pod name
	oom_docker a --name "${NAME}_a"
	docker_run -d --cidfile "$CT_DIR/cid.b" --name "${NAME}_b" -m 32m --memory-swap 32m \
		--label io.kubernetes.pod.name="pod-b-$$" "$CT_IMAGE" \
		sh -c "$CT_OOM_CMD; $CT_OOM_CMD; sleep 60" > /dev/null
	docker exec "${NAME}_c" sh -c "$CT_OOM_CMD" || true
	for _ in $(seq 50); do
		[ "$(docker inspect -f '{{.State.Pid}}' "${NAME}_b")" != 0 ] &&
			[ "$(grep -c . "$OUT.pod")" -ge 3 ] && break
		sleep 0.1
	done
	sleep 0.3
	# the first kill of b told a's tracer that b's cgroup is not wanted: the second stayed
	# in the kernel
	b=$(cat "$CT_DIR/cid.b")
	run verdicts "$a_tracer"
	assert_line "$(cgroup_id_of "$b") 2"
	stop_tracer
	assert_equal "$TRACER_RC" 0
	TRACER_PID=$id_tracer
	stop_tracer
	stop_tracer2
	docker rm -f "${NAME}_b" "${NAME}_c" > /dev/null
	assert_ndjson "$OUT"
	# a's tracer: a's kill only
	assert_equal "$(jq -r .container_id "$OUT" | sort -u)" "$(cat "$CT_DIR/cid.a")"
	# the pod's: b's two kills, in a table with the CONTAINER column
	assert_equal "$(head -1 "$OUT.pod" | awk '{print $2}')" CONTAINER
	assert_equal "$(grep -c " ${NAME}_b " "$OUT.pod")" 2
	assert_equal "$(wc -l < "$OUT.pod")" 3
	# the id prefix's: c's kill only (docker exec joins the container's cgroup)
	assert_equal "$(jq -r .container_id "$OUT.id" | sort -u)" "$cid"
}

@test "--container: bad values exit 64 naming the option" {
	for v in '' 'a b' 'x/y' "$(printf 'a\nb')" "$(head -c 300 /dev/zero | tr '\0' a)"; do
		run "$HT_BUILD/huatuo-oom" --container "$v" --check
		assert_equal "$status" 64
		assert_output --partial "invalid --container"
	done
	run "$HT_BUILD/huatuo-dropwatch" --summary --container web --check
	assert_equal "$status" 64
	assert_output --partial -- "--container and --summary"
}

@test "dropwatch: drops in a container's own network namespace, from its process and from a host process in it" {
	docker_run -d --name "${NAME}_d" --label io.kubernetes.pod.name="pod-d-$$" "$CT_IMAGE" sleep 60 > /dev/null
	docker_run -d --name "${NAME}_e" "$CT_IMAGE" sleep 60 > /dev/null
	did=$(docker inspect -f '{{.Id}}' "${NAME}_d")
	dpid=$(docker inspect -f '{{.State.Pid}}' "${NAME}_d")
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-dropwatch" -j -d 60 --netns "/proc/$dpid/ns/net"
	start_tracer2 "$OUT.ct" "$ERR.ct" "$HT_BUILD/huatuo-dropwatch" -j -d 60 --container "pod-d-$$"
	# the container's own nc: a SYN to a closed port (NO_SOCKET), in its process context
	docker exec "${NAME}_d" nc -w 1 127.0.0.1 9 < /dev/null || true
	docker exec "${NAME}_e" nc -w 1 127.0.0.1 9 < /dev/null || true
	# drops of this (host) cgroup in the host's namespace first: not the pod's, and no verdict
	# on the cgroup that would keep its drops in the pod's namespace out below
	python3 "$BATS_TEST_DIRNAME/../helpers/udp-send.py" 127.0.0.1 9 3 > /dev/null
	sleep 0.5
	# a host process (host cgroup) in the container's namespace: the namespace's container
	sender=$(nsenter -t "$dpid" -n python3 "$BATS_TEST_DIRNAME/../helpers/udp-send.py" 127.0.0.1 9 3 | head -1)
	sleep 0.5
	stop_tracer
	stop_tracer2
	docker rm -f "${NAME}_d" "${NAME}_e" > /dev/null
	assert_ndjson "$OUT"
	jq -s -e --arg id "$did" --arg pod "pod-d-$$" 'map(select(.tracer_data.comm == "nc")) |
		length >= 1 and all(.container_id == $id and .container_pod_name == $pod)' "$OUT" ||
		fail "$(cat "$OUT")"
	jq -s -e --arg id "$did" --argjson pid "$sender" 'map(select(.tracer_data.pid == $pid)) |
		length == 3 and all(.container_id == $id and .tracer_data.reason == "NO_SOCKET")' "$OUT" ||
		fail "$(cat "$OUT")"
	# --container: d's drops only (e's nc dropped in e's namespace)
	jq -s -e --arg id "$did" 'length >= 4 and all(.container_id == $id)' "$OUT.ct" ||
		fail "$(cat "$OUT.ct")"
}

@test "dropwatch: a namespace that is no container's is looked for again 1, 2, 4, then 8 s apart; a container that joins it later is found" {
	NETNS=rtest_ctns_$$
	ip netns add "$NETNS"
	ip -n "$NETNS" link set lo up
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-dropwatch" -j -v -d 60 --netns "/run/netns/$NETNS"
	# a host process in the namespace (no container's): a datagram to a closed port every 0.1 s
	ip netns exec "$NETNS" python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
while True:
    s.sendto(b"x", ("127.0.0.1", 9))
    time.sleep(0.1)' &
	SENDER=$!
	# /proc walked at 0, 1 and 3 s; the container joins the namespace the CNI way, after it
	sleep 4.5
	podman_run_net "ns:/run/netns/$NETNS" -d --name "${NAME}_ns" "$CT_IMAGE" sleep 60 > "$CT_DIR/nscid"
	cid=$(cat "$CT_DIR/nscid")
	# found at the next walk: 7 s after the first, or 15 s (podman took longer)
	for _ in $(seq 1 130); do
		jq -e -s --arg id "$cid" 'any(.container_id == $id)' "$OUT" > /dev/null 2>&1 && break
		sleep 0.1
	done
	kill "$SENDER"
	wait "$SENDER" 2>/dev/null || true
	SENDER=
	stop_tracer
	podman rm -f -t 0 "${NAME}_ns" > /dev/null
	assert_equal "$TRACER_RC" 0
	assert_ndjson "$OUT"
	# the walks that found nothing, and when each said it would look again
	waits=$(sed -n "s/.*network namespace [0-9]* is no container's (looked for again in \([0-9]*\) s)/\1/p" "$ERR" |
		tr '\n' ' ')
	[[ "$waits" == "1 2 4 " || "$waits" == "1 2 4 8 " ]] || fail "walks: '$waits'; $(cat "$ERR")"
	# before: nobody's; after: the container's, all of them
	jq -s -e --arg id "$cid" 'map(.container_id // "") | length >= 40 and .[0] == "" and
		.[-1] == $id and (unique == (["", $id] | sort))' "$OUT" ||
		fail "$(jq -c '[.time, .container_id]' "$OUT")"
}

@test "dropwatch: a namespace's number given again by the kernel is not the old container's" {
	NETNS=rtest_ctnsa_$$
	ip netns add "$NETNS"
	ip -n "$NETNS" link set lo up
	inum=$(stat -L -c %i "/run/netns/$NETNS")
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-dropwatch" -j -v -d 60 --port 9
	podman_run_net "ns:/run/netns/$NETNS" -d --name "${NAME}_c" "$CT_IMAGE" sleep 60 > "$CT_DIR/nscid"
	cid=$(cat "$CT_DIR/nscid")
	# a host process in the container's namespace: the namespace's container
	ip netns exec "$NETNS" python3 "$BATS_TEST_DIRNAME/../helpers/udp-send.py" 127.0.0.1 9 3 > /dev/null
	wait_lines 3
	podman rm -f -t 0 "${NAME}_c" > /dev/null
	ip netns del "$NETNS"
	# the next namespace made gets the freed number (the kernel hands out the lowest free one,
	# once its cleanup work has freed the old namespace)
	for _ in $(seq 1 20); do
		sleep 0.25
		ip netns add "$NETNS"
		[ "$(stat -L -c %i "/run/netns/$NETNS")" = "$inum" ] && break
		ip netns del "$NETNS"
	done
	[ "$(stat -L -c %i "/run/netns/$NETNS")" = "$inum" ] || skip "the kernel did not give $inum again"
	ip -n "$NETNS" link set lo up
	# nobody's, then another container's
	ip netns exec "$NETNS" python3 "$BATS_TEST_DIRNAME/../helpers/udp-send.py" 127.0.0.1 9 3 > /dev/null
	wait_lines 6
	podman_run_net "ns:/run/netns/$NETNS" -d --name "${NAME}_w" "$CT_IMAGE" sleep 60 > "$CT_DIR/nswid"
	wid=$(cat "$CT_DIR/nswid")
	sleep 1.2 # past the retry of the walk that found nobody
	ip netns exec "$NETNS" python3 "$BATS_TEST_DIRNAME/../helpers/udp-send.py" 127.0.0.1 9 3 > /dev/null
	wait_lines 9
	stop_tracer
	assert_equal "$TRACER_RC" 0
	podman rm -f -t 0 "${NAME}_w" > /dev/null
	assert_ndjson "$OUT"
	jq -s -e --arg c "$cid" --arg w "$wid" --argjson inum "$inum" 'length == 9 and
		all(.tracer_data.net_namespace_inum == $inum) and
		(map(.container_id // "") == [$c, $c, $c, "", "", "", $w, $w, $w])' "$OUT" ||
		fail "$(jq -c '[.time, .tracer_data.net_namespace_inum, .container_id]' "$OUT")"
}

@test "netrxlat: the reader in a container (user copy), and the container of the packet's namespace (TCP stage)" {
	docker_run -d --name "${NAME}_r" --label io.kubernetes.pod.name="pod-r-$$" "$CT_IMAGE" \
		nc -ll -p 8080 -e /bin/cat > /dev/null
	rid=$(docker inspect -f '{{.Id}}' "${NAME}_r")
	rpid=$(docker inspect -f '{{.State.Pid}}' "${NAME}_r")
	for _ in $(seq 50); do
		docker exec "${NAME}_r" netstat -ltn | grep -q ':8080 ' && break
		sleep 0.1
	done
	# the first stage over its threshold is reported: TCP for one tracer, the copy for the other
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-netrxlat" -j -d 60 --rate 0 \
		--netns "/proc/$rpid/ns/net" --netif-threshold 3600s --tcp-threshold 1ns
	start_tracer2 "$OUT.copy" "$ERR.copy" "$HT_BUILD/huatuo-netrxlat" -j -d 60 --rate 0 \
		--netns "/proc/$rpid/ns/net" --netif-threshold 3600s --tcp-threshold 3600s \
		--user-threshold 1ns --container "pod-r-$$"
	for i in 1 2 3; do
		docker exec "${NAME}_r" sh -c "echo hello-$i | nc -w 1 127.0.0.1 8080" || true
	done
	sleep 0.5
	stop_tracer
	stop_tracer2
	docker rm -f "${NAME}_r" > /dev/null
	assert_ndjson "$OUT"
	assert_ndjson "$OUT.copy"
	jq -s -e --arg id "$rid" --arg pod "pod-r-$$" 'map(select(.tracer_data.where == "TO_TCPV4_RCV")) |
		length >= 1 and all(.container_id == $id and .container_pod_name == $pod)' "$OUT" ||
		fail "$(cat "$OUT")"
	jq -s -e --arg id "$rid" 'map(select(.tracer_data.where == "TO_USER_COPY")) | length >= 1
		and all(.container_id == $id)' "$OUT.copy" ||
		fail "$(cat "$OUT.copy")"
}

@test "softlockup: a CPU held in the kernel by a container's process is that container's stall; --container keeps another's out" {
	local spin=$CT_DIR/spin cpu=1
	[ "$(nproc)" -ge 2 ] || cpu=0
	mkdir -p "$spin"
	build_bpf_helper cpu-spin "$spin" || skip "cpu-spin helper not built (needs clang, gcc, libbpf-dev)"
	for c in s t; do
		docker_run -d --name "${NAME}_$c" --cap-add ALL --cap-drop SYS_RESOURCE \
			--security-opt seccomp=unconfined -v /usr:/usr:ro -v "$spin:$spin:ro" \
			--label io.kubernetes.pod.name="pod-$c-$$" "$CT_IMAGE" sleep 60 > /dev/null
	done
	sid=$(docker inspect -f '{{.Id}}' "${NAME}_s")
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-softlockup" -j -t 100ms -d 60 --comm cpu-spin \
		--container "pod-s-$$"
	sleep 0.3 # a few samples, so every CPU has a last switch
	# t's stall first: its cgroup is decided (not wanted) at its first event
	for c in t s; do
		docker exec "${NAME}_$c" taskset -c "$cpu" "$spin/cpu-spin" "$spin/cpu-spin.bpf.o" 400 \
			> /dev/null
	done
	sleep 0.5
	stop_tracer
	assert_equal "$TRACER_RC" 0
	docker rm -f "${NAME}_s" "${NAME}_t" > /dev/null
	assert_ndjson "$OUT"
	jq -s -e --arg id "$sid" --arg pod "pod-s-$$" 'length == 1 and (.[0] |
		.container_id == $id and .container_pod_name == $pod
		and .tracer_data.source == "early" and .tracer_data.comm == "cpu-spin")' "$OUT" ||
		fail "$(cat "$OUT" "$ERR")"
}
