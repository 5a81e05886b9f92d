# Real docker and podman for e2e tests. Load after ../lib/common, call ct_setup in setup_file
# and ct_teardown in teardown_file. Each test file runs its own dockerd and podman storage in
# state directories of its own ($CT_DIR): the host's daemon, images and containers are never
# touched, and nothing else's. Quirks of the CI machine: dockerd without iptables or a bridge
# and with lowered default ulimits (raising rlimits is not permitted), podman with runc and
# cgroupfs (crun refuses the hybrid cgroup layout), no registry: one image made from
# busybox-static.

# ct_setup PREFIX: sets CT_DIR, DOCKER_HOST, CT_IMAGE, and the HUATUO_*_ROOT variables the
# tools read runtime state through; starts dockerd. Skips the file when docker or podman is
# missing.
ct_setup() {
	require_root
	require_cmd dockerd runc podman busybox
	[ -x /usr/bin/docker ] || skip "needs /usr/bin/docker"
	[ -n "$(memcg_root)" ] || skip "no memory cgroup controller"
	CT_DIR=/tmp/rtest_ct_$1
	export CT_DIR
	rm -rf "$CT_DIR"
	mkdir -p "$CT_DIR"
	# the client of the daemon's own version (a newer client on PATH may need a newer API)
	export DOCKER_HOST=unix://$CT_DIR/docker.sock
	export HUATUO_DOCKER_ROOT=$CT_DIR/docker
	export HUATUO_STORAGE_ROOT=$CT_DIR/storage HUATUO_STORAGE_RUNROOT=$CT_DIR/run
	export HUATUO_CONTAINERD_ROOT=$CT_DIR/containerd
	CT_IMAGE=rtest-ct-$1:1
	export CT_IMAGE
	dockerd --iptables=false --bridge=none --default-ulimit nofile=1024:1024 \
		--default-ulimit nproc=1000:1000 --data-root "$CT_DIR/docker" \
		--exec-root "$CT_DIR/exec" --pidfile "$CT_DIR/docker.pid" -H "$DOCKER_HOST" \
		> "$CT_DIR/dockerd.log" 2>&1 &
	echo $! > "$CT_DIR/dockerd.started"
	for _ in $(seq 150); do
		docker version > /dev/null 2>&1 && break
		kill -0 "$(cat "$CT_DIR/dockerd.started")" 2>/dev/null || break
		sleep 0.1
	done
	docker version > /dev/null 2>&1 || { cat "$CT_DIR/dockerd.log" >&2; return 1; }
	ct_make_rootfs "$CT_DIR/rootfs"
	tar -C "$CT_DIR/rootfs" -cf "$CT_DIR/rootfs.tar" .
	docker import "$CT_DIR/rootfs.tar" "$CT_IMAGE" > /dev/null
	podman import "$CT_DIR/rootfs.tar" "$CT_IMAGE" > /dev/null
	# a host where docker has run a container has its cgroups (/docker, made at the first
	# one, never removed): the tests' --cgroup /docker needs them before their containers
	docker_run --rm "$CT_IMAGE" true > /dev/null
}

# The docker client of the daemon the test started.
docker() {
	/usr/bin/docker "$@"
}

# podman on the test's own storage; runc and cgroupfs (see above). From $CT_DIR: Debian 12's
# conmon writes an 'oom' file into its working directory when the container is OOM killed.
podman() {
	(cd "$CT_DIR" && command podman --root "$CT_DIR/storage" --runroot "$CT_DIR/run" \
		--tmpdir "$CT_DIR/ptmp" --runtime runc --cgroup-manager cgroupfs --events-backend none "$@")
}

# docker_run ARGS...: docker run with the options this machine needs
docker_run() {
	docker run --network none "$@"
}

podman_run() {
	podman_run_net none "$@"
}

# podman_run_net NETWORK ARGS...: the same in NETWORK (ns:/run/netns/NAME: a namespace made
# before, as a pod joins the one its CNI made)
podman_run_net() {
	local net=$1
	shift
	podman run --network "$net" --ulimit nofile=1024:1024 --ulimit nproc=1000:1000 "$@"
}

# ct_make_rootfs DIR: busybox-static with every applet, and /lib, /lib64 pointing into /usr so
# that a host /usr mounted read-only runs the tools' dynamic binaries inside the container.
ct_make_rootfs() {
	local dir=$1 a
	mkdir -p "$dir/bin" "$dir/etc" "$dir/tmp" "$dir/proc" "$dir/sys" "$dir/dev" "$dir/usr" \
		"$dir/var/cache"
	cp "$(command -v busybox)" "$dir/bin/busybox"
	for a in $("$dir/bin/busybox" --list); do
		[ -e "$dir/bin/$a" ] || ln -s busybox "$dir/bin/$a"
	done
	ln -sfn usr/lib "$dir/lib"
	ln -sfn usr/lib64 "$dir/lib64"
	echo "root:x:0:0:root:/:/bin/sh" > "$dir/etc/passwd"
}

# ct_teardown: remove every container and image, stop the dockerd we started, unmount and
# remove the state directories. Runs even when tests failed.
ct_teardown() {
	local pid m
	[ -n "${CT_DIR:-}" ] && [ -d "$CT_DIR" ] || return 0
	if docker version > /dev/null 2>&1; then
		docker ps -aq | xargs -r /usr/bin/docker rm -f > /dev/null 2>&1
	fi
	podman rm -a -f -t 0 > /dev/null 2>&1
	podman system reset -f > /dev/null 2>&1
	pid=$(cat "$CT_DIR/dockerd.started" 2>/dev/null)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		for _ in $(seq 150); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
	fi
	# whatever is still mounted below our directories (overlay, netns, shm)
	for m in $(awk -v d="$CT_DIR" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r); do
		umount -l "$m" 2>/dev/null
	done
	rm -rf "$CT_DIR"
}

# ct_oom_cmd: a shell command that is OOM-killed in a 32 MiB container
CT_OOM_CMD='dd if=/dev/zero of=/dev/null bs=100M count=1'

# one_event FILE SELECT CHECK [JQ_ARGS...]: exactly one line of FILE (NDJSON) matches the jq
# condition SELECT, and CHECK holds for it. (jq 1.6's -e only reports on the last line read.)
one_event() {
	local file=$1 sel=$2 check=$3
	shift 3
	jq -e -s "$@" "map(select($sel)) | length == 1 and (.[0] | $check)" "$file" > /dev/null
}

# start_tracer2 OUT ERR tool args...: a second tracer next to start_tracer's, waited for the
# same way; stop_tracer2 ends it (teardown calls it too). Sets TRACER2_PID, TRACER2_RC.
start_tracer2() {
	start_tracer_as TRACER2 "$@"
}

stop_tracer2() {
	stop_tracer_as TRACER2
}

# stop_tracers_ok: stop the test's two tracers; both must exit 0
stop_tracers_ok() {
	stop_tracer
	stop_tracer2
	assert_equal "$TRACER_RC" 0
	assert_equal "$TRACER2_RC" 0
}

# verdicts PID: the tracer's kernel verdicts for --container, "KEY VALUE" lines (key: cgroup id,
# value 1 pass, 2 drop), from the ht_verdicts map among the BPF maps its fds hold
verdicts() {
	local id
	for id in $(bpf_map_ids "$1"); do
		bpftool -j map show id "$id" 2>/dev/null | jq -e '.name == "ht_verdicts"' > /dev/null || continue
		bpftool -j map dump id "$id" | jq -r '.[].formatted | "\(.key) \(.value)"'
	done
}

# cgroup_id_of CONTAINER_ID: the inode of a docker container's memory cgroup
cgroup_id_of() {
	stat -c %i "$(memcg_root)/docker/$1"
}
