# 3. huatuo-bondlacp on a real 802.3ad bond: bond0 (here) and bond1 (netns "peer") over two
# veth pairs, LACP rate fast; a slave down/up changes the LACP state.
W=/tmp/t50
# busybox sh prefers its own applets: name iproute2 by path (bond and netns options)
IP=/usr/bin/ip
mkdir -p $W
bond_state() { cat /proc/net/bonding/bond0 2>/dev/null; }
# wait_lacp N SECONDS: wait until N slaves of bond0 are in the aggregator with a partner
wait_lacp() {
	# actor and partner "port state" 61/63: activity, aggregation, sync, collecting, distributing
	i=0
	while [ $i -lt $(($2 * 5)) ]; do
		[ "$(grep -cE 'port state: 6[13]$' /proc/net/bonding/bond0 2>/dev/null)" -ge $(($1 * 2)) ] &&
			return 0
		sleep 0.2
		i=$((i + 1))
	done
	return 1
}
if ! modprobe bonding max_bonds=0 2> $W/err || ! modprobe veth 2>> $W/err; then
	not_ok "bonding.ko and veth.ko load from the kernel package"
	diag_file $W/err
else
	ok "bonding.ko and veth.ko load from the kernel package ($(lsmod | awk 'NR>1 {print $1}' | tr '\n' ' '))"
	{
		set -e
		$IP netns add peer
		$IP -n peer link set lo up
		$IP link add bond0 type bond mode 802.3ad lacp_rate fast miimon 100
		$IP -n peer link add bond1 type bond mode 802.3ad lacp_rate fast miimon 100
		for i in 0 1; do
			$IP link add va$i type veth peer name vb$i
			$IP link set vb$i netns peer
			$IP link set va$i master bond0
			$IP -n peer link set vb$i master bond1
			$IP link set va$i up
			$IP -n peer link set vb$i up
		done
		$IP link set bond0 up
		$IP -n peer link set bond1 up
	} > $W/setup 2>&1 || diag "bond setup failed: $(tr '\n' ' ' < $W/setup)"
	if wait_lacp 2 60; then
		ok "802.3ad bond over veth slaves negotiates LACP (both slaves collecting/distributing)"
	else
		not_ok "802.3ad bond over veth slaves negotiates LACP (both slaves collecting/distributing)"
		bond_state > $W/bond
		diag_file $W/bond
	fi
	# the tool (if built) watches a peer slave going down and up again
	desc="huatuo-bondlacp on a real 802.3ad bond: slave down/up gives events with /proc/net/bonding text"
	traced=
	if have_tool bondlacp; then
		if start_tracer $W/out $W/err huatuo-bondlacp -j -d 180; then
			traced=1
		else
			not_ok "$desc"
			diag "tracer did not start (rc ${TRACER_RC:-?})"
			diag_file $W/err
		fi
	fi
	$IP -n peer link set vb1 down
	sleep 3
	if [ "$(grep -cE 'port state: 6[13]$' /proc/net/bonding/bond0)" -lt 4 ]; then
		ok "a slave down on the partner side changes bond0's LACP port state"
	else
		not_ok "a slave down on the partner side changes bond0's LACP port state"
		bond_state > $W/bond
		diag_file $W/bond
	fi
	$IP -n peer link set vb1 up
	wait_lacp 2 30 || diag "LACP did not settle again within 30 s"
	sleep 2
	if ! have_tool bondlacp; then
		skip "huatuo-bondlacp on a real 802.3ad bond: slave down/up" "huatuo-bondlacp not built"
	elif [ -n "$traced" ]; then
		stop_tracer
		if [ "$TRACER_RC" = 0 ] && jq -s -e '
			[.[] | select(.tracer_name == "netdev_bonding_lacp"
				and (.tracer_data.content | test("802.3ad"))
				and (.tracer_data.content | test("Slave Interface: va1")))] | length >= 2' \
			$W/out > /dev/null; then
			ok "$desc"
			diag "$(wc -l < $W/out) events; first: $(head -1 $W/out | cut -c1-300)"
		else
			not_ok "$desc"
			diag "tracer rc=$TRACER_RC; $(wc -l < $W/out) events"
			diag_file $W/out
			diag_file $W/err
		fi
	fi
	$IP link del bond0 2>/dev/null
	$IP netns del peer 2>/dev/null
fi
