#!/usr/bin/env bats
# The metrics pipeline for real: the tools write --metrics files into a directory that a
# node_exporter (textfile collector only) serves, a Prometheus server scrapes it every
# second, and the test asks Prometheus' HTTP query API for figures it caused itself:
#  - tx_dropped of a veth whose peer is down (it drops every frame it is sent), counted by
#    huatuo-netdev, against the frames the test sent (and the kernel's own counter);
#  - huatuo_bamai_ras_hw_total after synthetic RAS errors (BPF_PROG_TEST_RUN, as ras.bats);
#  - huatuo_bamai_dropwatch_events_total of real drops (UDP to a closed port in a netns).
# Both servers run on loopback ports picked free, with their own files under a temporary
# directory, and are stopped in teardown_file whatever happened.
load ../lib/common

# a free loopback TCP port (a server that loses the race to bind it is retried)
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_server NAME LOGFILE CMD...: run it in the background until it listens on the port in
# its --web.listen-address, or fail; its pid in $MX_DIR/NAME.pid
start_server() {
	local name=$1 log=$2 port pid i
	shift 2
	port=$(printf '%s\n' "$@" | sed -n 's/^--web.listen-address=127.0.0.1://p')
	"$@" > "$log" 2>&1 3>&- &
	pid=$!
	echo "$pid" > "$MX_DIR/$name.pid"
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || return 1
		curl -sf -o /dev/null "http://127.0.0.1:$port/" && return 0
		sleep 0.1
	done
	return 1
}

stop_server() {
	local pidfile=$MX_DIR/$1.pid pid i
	[ -f "$pidfile" ] || return 0
	pid=$(cat "$pidfile")
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
}

setup_file() {
	local tries port
	[ "$(id -u)" -eq 0 ] || return 0
	for c in prometheus prometheus-node-exporter curl ip python3; do
		command -v "$c" >/dev/null || return 0
	done
	MX_DIR=$(mktemp -d "/tmp/rtest_mx_$$.XXXXXX")
	export MX_DIR
	mkdir -m 0755 "$MX_DIR/textfile"
	for tries in 1 2 3; do
		port=$(free_port)
		start_server node_exporter "$MX_DIR/node_exporter.log" prometheus-node-exporter \
			--collector.disable-defaults --collector.textfile \
			--collector.textfile.directory="$MX_DIR/textfile" \
			--web.listen-address=127.0.0.1:"$port" && break
		stop_server node_exporter
		port=
	done
	[ -n "$port" ] || return 0
	cat > "$MX_DIR/prometheus.yml" <<-EOF
		global:
		  scrape_interval: 1s
		  scrape_timeout: 1s
		scrape_configs:
		  - job_name: huatuo
		    static_configs:
		      - targets: ['127.0.0.1:$port']
	EOF
	for tries in 1 2 3; do
		port=$(free_port)
		start_server prometheus "$MX_DIR/prometheus.log" prometheus \
			--config.file="$MX_DIR/prometheus.yml" --storage.tsdb.path="$MX_DIR/tsdb" \
			--web.listen-address=127.0.0.1:"$port" && break
		stop_server prometheus
		port=
	done
	[ -n "$port" ] || return 0
	PROM_URL=http://127.0.0.1:$port
	export PROM_URL
}

teardown_file() {
	[ -n "${MX_DIR:-}" ] || return 0
	stop_server prometheus
	stop_server node_exporter
	rm -rf "$MX_DIR"
}

setup() {
	require_root
	require_cmd prometheus prometheus-node-exporter curl ip python3
	[ -n "${PROM_URL:-}" ] ||
		fail "node_exporter or Prometheus did not start: $(tail -5 "$MX_DIR"/*.log 2>/dev/null)"
	TEXTFILE=$MX_DIR/textfile
	OUT=$BATS_TEST_TMPDIR/out
	ERR=$BATS_TEST_TMPDIR/err
	NS=rtest_mx_$$
	REGION=rtest_mx_$$_$BATS_TEST_NUMBER # series of this test only
}

teardown() {
	stop_tracer
	ip netns del "$NS" 2>/dev/null || true
}

# sample EXPR AFTER: the value of the newest sample of the one series EXPR selects, from a
# scrape that started after AFTER (epoch seconds: after the tool wrote its last file), as
# Prometheus returns it; waits up to 30 s for that scrape (the first one comes a few seconds
# after Prometheus starts).
sample() {
	local expr=$1 after=$2 out v i
	for i in $(seq 300); do
		out=$(curl -sfG "$PROM_URL/api/v1/query" --data-urlencode "query=$expr[1m]") &&
			v=$(jq -r --argjson t "$after" '.data.result | select(length == 1)
				| .[0].values[-1] | select(.[0] > $t) | .[1]' <<<"$out") &&
			[ -n "$v" ] && { echo "$v"; return 0; }
		sleep 0.1
	done
	echo "Prometheus has no sample of $expr scraped after $after: $out" >&2
	return 1
}

# Every file the pipeline served is valid for Prometheus' own checker too.
promtool_check() {
	if command -v promtool >/dev/null; then
		promtool check metrics < "$1" || fail "promtool: $(cat "$1")"
	fi
}

@test "pipeline: tx_dropped of a veth whose peer is down, as Prometheus scraped it from huatuo-netdev" {
	local name=$'rq"\\\x01\xff' want
	ip netns add "$NS"
	ip netns exec "$NS" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
	ip -n "$NS" link add rmx0 type veth peer name rmx1
	ip -n "$NS" link add "$name" type veth peer name rmx2
	ip -n "$NS" link set rmx0 up # rmx1 stays down: rmx0 has no carrier and drops what it sends
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-netdev" -j --netns "$NS" --region "$REGION" \
		--metrics "$TEXTFILE/netdev.prom" --interval 1
	want=$((RANDOM % 50 + 20))
	sent=$(ip netns exec "$NS" "$BATS_TEST_DIRNAME/../helpers/frame-send.py" rmx0 "$want")
	assert_equal "$sent" "$want"
	stop_tracer
	assert_equal "$TRACER_RC" 0
	after=$(date +%s.%N)
	promtool_check "$TEXTFILE/netdev.prom"
	got=$(sample "huatuo_bamai_netdev_tx_dropped_total{device=\"rmx0\",driver=\"veth\",region=\"$REGION\"}" "$after")
	echo "# tx_dropped: Prometheus $got, frames sent $want" >&3
	assert_equal "$got" "$want"
	assert_equal "$(ip -n "$NS" -j -s link show rmx0 | jq '.[0].stats64.tx.dropped')" "$want"
	got=$(sample "huatuo_bamai_netdev_up{device=\"rmx0\",link=\"carrier\",region=\"$REGION\"}" "$after")
	assert_equal "$got" 0
	got=$(sample "huatuo_bamai_netdev_up{device=\"rmx0\",link=\"admin\",region=\"$REGION\"}" "$after")
	assert_equal "$got" 1
	# a hostile device name reaches Prometheus as the label value the file escaped
	out=$(curl -sfG "$PROM_URL/api/v1/query" \
		--data-urlencode "query=huatuo_bamai_netdev_rx_dropped_total{device=~\"rq.*\",region=\"$REGION\"}")
	jq -e '.data.result | length == 1 and .[0].metric.device == "rq\"\\\u0001\ufffd"
		and .[0].metric.driver == "veth"' <<<"$out" >/dev/null || fail "$out"
}

@test "pipeline: huatuo_bamai_ras_hw_total after synthetic hardware errors" {
	require_bpf
	[ -d /sys/kernel/tracing/events/ras/mc_event ] || skip "no ras/mc_event tracepoint"
	[ -x "$HT_BUILD/ht-testrun" ] || skip "no $HT_BUILD/ht-testrun (make builds it)"
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-ras" --probe raw_tp -j --region "$REGION" \
		--metrics "$TEXTFILE/ras.prom" --interval 1
	# EDAC mc_event: two corrected errors, one uncorrected, into this tracer's program
	for type in 0 0 1; do
		HT_TESTRUN_PID=$TRACER_PID "$HT_BUILD/ht-testrun" htras_mc_raw "$type" 0 0 1 0 0 0 0 0 0 0 0 >/dev/null
	done
	wait_lines 3
	stop_tracer
	assert_equal "$TRACER_RC" 0
	assert_equal "$(wc -l < "$OUT")" 3
	after=$(date +%s.%N)
	promtool_check "$TEXTFILE/ras.prom"
	got=$(sample "huatuo_bamai_ras_hw_total{region=\"$REGION\"}" "$after")
	echo "# ras_hw_total: Prometheus $got, errors raised 3" >&3
	assert_equal "$got" 3
	got=$(sample "huatuo_bamai_ras_events_total{type=\"UNCORRECTED\",region=\"$REGION\"}" "$after")
	assert_equal "$got" 1
	got=$(sample "huatuo_bamai_ras_events_total{type=\"CORRECTED\",dev=\"MEM\",event=\"EDAC\",region=\"$REGION\"}" "$after")
	assert_equal "$got" 2
}

@test "pipeline: huatuo_bamai_dropwatch_events_total of real drops, by reason" {
	require_bpf
	ip netns add "$NS"
	ip -n "$NS" link set lo up
	start_tracer "$OUT" "$ERR" "$HT_BUILD/huatuo-dropwatch" -j --rate 0 --netns "$NS" \
		--region "$REGION" --metrics "$TEXTFILE/dropwatch.prom" --interval 1
	want=$((RANDOM % 50 + 20))
	ip netns exec "$NS" "$BATS_TEST_DIRNAME/../helpers/udp-send.py" 127.0.0.1 9 "$want" > /dev/null
	wait_lines "$want"
	stop_tracer
	assert_equal "$TRACER_RC" 0
	after=$(date +%s.%N)
	assert_equal "$(jq -r 'select(.tracer_data.reason == "NO_SOCKET") | 1' "$OUT" | wc -l)" "$want"
	promtool_check "$TEXTFILE/dropwatch.prom"
	got=$(sample "huatuo_bamai_dropwatch_events_total{reason=\"NO_SOCKET\",region=\"$REGION\"}" "$after")
	echo "# dropwatch events_total{reason=NO_SOCKET}: Prometheus $got, datagrams sent $want" >&3
	assert_equal "$got" "$want"
	got=$(sample "huatuo_bamai_dropwatch_lost_total{region=\"$REGION\"}" "$after")
	assert_equal "$got" 0
}
