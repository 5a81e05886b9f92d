#!/usr/bin/env bats
# Container runtimes' state on disk (libcommon/runtime.c): what each reader takes from docker's
# config.v2.json, an OCI config.json and containers/storage's containers.json, and that files
# a container can influence never lead it out of the state directory, never block and never
# hand over more than a bounded size.
load ../lib/common

U() {
	"$HT_BUILD/ht-unit" "$@"
}

ID=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef

setup() {
	ROOT=$BATS_TEST_TMPDIR/root
	mkdir -p "$ROOT/docker/containers/$ID"
	export HUATUO_DOCKER_ROOT=$ROOT/docker HUATUO_CONTAINERD_ROOT=$ROOT/containerd
	export HUATUO_STORAGE_ROOT=$ROOT/storage HUATUO_STORAGE_RUNROOT=$ROOT/run
	DOCKER_JSON='{"Name":"/web","Config":{"Hostname":"h1","Labels":{"io.kubernetes.pod.namespace":"ns1","io.kubernetes.pod.name":"pod1","io.kubernetes.container.name":"c1","io.kubernetes.docker.type":"podsandbox"}}}'
}

@test "docker config.v2.json: name, hostname and cri-dockerd's labels" {
	echo "$DOCKER_JSON" > "$ROOT/docker/containers/$ID/config.v2.json"
	run -0 U runtime fill "$ID" docker
	echo "$output" | jq -e '.runtime == "docker" and .runtime_name == "web"
		and .container_name == "c1" and .container_hostname == "h1"
		and .container_pod_name == "pod1" and .container_host_namespace == "ns1"
		and .container_type == "sandbox"'
	# without Kubernetes labels: the runtime's name, an application container
	echo '{"Name":"/plain","Config":{"Hostname":"h2"}}' > "$ROOT/docker/containers/$ID/config.v2.json"
	run -0 U runtime docker "$ROOT/docker/containers/$ID/config.v2.json"
	echo "$output" | jq -e '.container_name == "plain" and .container_type == "normal"
		and (has("container_pod_name") | not)'
}

@test "OCI config.json: containerd CRI and CRI-O annotations" {
	f=$BATS_TEST_TMPDIR/config.json
	echo '{"hostname":"h","annotations":{"io.kubernetes.cri.container-type":"container","io.kubernetes.cri.sandbox-namespace":"kube-system","io.kubernetes.cri.sandbox-name":"dns-1","io.kubernetes.cri.container-name":"dns"}}' > "$f"
	run -0 U runtime oci "$f"
	echo "$output" | jq -e '.container_name == "dns" and .container_pod_name == "dns-1"
		and .container_host_namespace == "kube-system" and .container_type == "normal"'
	echo '{"annotations":{"io.kubernetes.pod.namespace":"n","io.kubernetes.pod.name":"p","io.kubernetes.container.name":"POD","io.kubernetes.cri-o.ContainerType":"sandbox"}}' > "$f"
	run -0 U runtime oci "$f"
	echo "$output" | jq -e '.container_type == "sandbox" and .container_host_namespace == "n"
		and .runtime == ""'
	echo '{"annotations":{"io.container.manager":"libpod"}}' > "$f"
	run -0 U runtime oci "$f"
	echo "$output" | jq -e '.runtime == "podman"'
}

@test "truncated, non-object or hostile files give no metadata, never a crash" {
	f=$BATS_TEST_TMPDIR/config.json
	echo "$DOCKER_JSON" | head -c 60 > "$f"
	run -0 U runtime docker "$f"
	assert_output none
	for text in '[]' '"x"' '' 'null' '{"Config":[1,2]}' '{"Config":{"Labels":"x"}}' \
		"$(printf '%0.s[' $(seq 5000))"; do
		printf '%s' "$text" > "$f"
		run -0 U runtime docker "$f"
		[ "$output" = none ] || echo "$output" | jq -e '(.container_name // "") == ""' > /dev/null ||
			fail "'${text:0:20}': $output"
	done
}

@test "hostile names: newlines, quotes, backslashes and invalid UTF-8 stay valid JSON strings" {
	printf '{"Name":"/a\\nb\\"c\\\\d\xff\xfe","Config":{"Labels":{"io.kubernetes.pod.name":"p\\u0001\\r\\t\xc3"}}}' \
		> "$ROOT/docker/containers/$ID/config.v2.json"
	run -0 U runtime fill "$ID" docker
	echo "$output" | jq -e '.container_name == "a\nb\"c\\d\ufffd\ufffd"
		and .container_pod_name == "p\u0001\r\t\ufffd"'
}

@test "nothing is followed out of the state directory: symlinks, FIFOs, oversized files" {
	outside=$BATS_TEST_TMPDIR/outside
	mkdir -p "$outside"
	echo "$DOCKER_JSON" > "$outside/config.v2.json"
	d=$ROOT/docker/containers/$ID
	# the file itself a symlink
	ln -s "$outside/config.v2.json" "$d/config.v2.json"
	run -0 U runtime fill "$ID" docker
	assert_output none
	# the container's directory a symlink
	rm -rf "$d"
	ln -s "$outside" "$d"
	run -0 U runtime fill "$ID" docker
	assert_output none
	# a relative symlink with ..
	rm "$d"
	mkdir "$d"
	ln -s ../../../outside/config.v2.json "$d/config.v2.json"
	run -0 U runtime fill "$ID" docker
	assert_output none
	# a FIFO does not block the reader
	rm "$d/config.v2.json"
	mkfifo "$d/config.v2.json"
	run -0 timeout 5 "$HT_BUILD/ht-unit" runtime fill "$ID" docker
	assert_output none
	# larger than the bound (1 MiB): not read
	rm "$d/config.v2.json"
	{ printf '{"Name":"/big","Pad":"'; head -c $((2 << 20)) /dev/zero | tr '\0' x; printf '"}'; } \
		> "$d/config.v2.json"
	run -0 U runtime fill "$ID" docker
	assert_output none
	# the real thing in place: read
	echo "$DOCKER_JSON" > "$d/config.v2.json"
	run -0 U runtime fill "$ID" docker
	echo "$output" | jq -e '.runtime_name == "web"'
}

@test "containers/storage: bundle annotations, podman's name from containers.json, no symlinks" {
	d=$ROOT/storage/overlay-containers
	mkdir -p "$d/$ID/userdata"
	echo '{"hostname":"ph","annotations":{"io.container.manager":"libpod"}}' > "$d/$ID/userdata/config.json"
	echo "[{\"id\":\"ff\",\"names\":[\"other\"]},{\"id\":\"$ID\",\"names\":[\"pweb\",\"alias\"]}]" > "$d/containers.json"
	run -0 U runtime fill "$ID" podman
	echo "$output" | jq -e '.runtime == "podman" and .container_name == "pweb"
		and .runtime_name == "pweb" and .container_hostname == "ph"'
	# a symlinked list of names is not read
	mv "$d/containers.json" "$BATS_TEST_TMPDIR/containers.json"
	ln -s "$BATS_TEST_TMPDIR/containers.json" "$d/containers.json"
	run -0 U runtime fill "$ID" podman
	echo "$output" | jq -e '(.container_name // "") == "" and .runtime == "podman"'
	# the run root is read when the graph root has no bundle (CRI-O)
	rm -rf "$d/$ID"
	mkdir -p "$ROOT/run/overlay-containers/$ID/userdata"
	echo '{"annotations":{"io.kubernetes.pod.name":"cp"}}' > "$ROOT/run/overlay-containers/$ID/userdata/config.json"
	run -0 U runtime fill "$ID" crio
	echo "$output" | jq -e '.runtime == "crio" and .container_pod_name == "cp"'
}

@test "containerd: the bundle of any namespace, not through a symlinked namespace" {
	d=$ROOT/containerd/io.containerd.runtime.v2.task
	mkdir -p "$d/k8s.io/$ID" "$BATS_TEST_TMPDIR/elsewhere/$ID"
	echo '{"annotations":{"io.kubernetes.cri.sandbox-name":"p1"}}' > "$d/k8s.io/$ID/config.json"
	run -0 U runtime fill "$ID" containerd
	echo "$output" | jq -e '.runtime == "containerd" and .container_pod_name == "p1"'
	rm -rf "$d/k8s.io"
	echo '{"annotations":{"io.kubernetes.cri.sandbox-name":"p2"}}' > "$BATS_TEST_TMPDIR/elsewhere/$ID/config.json"
	ln -s "$BATS_TEST_TMPDIR/elsewhere" "$d/k8s.io"
	run -0 U runtime fill "$ID" containerd
	assert_output none
}
