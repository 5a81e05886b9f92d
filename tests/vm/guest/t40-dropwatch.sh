# 2b. huatuo-dropwatch end to end: UDP to a closed port on lo (traceroute's probes to 33434+)
# is dropped with reason NO_SOCKET; checked through every hook kind the tool can use here.
W=/tmp/t40
mkdir -p $W
T=/sys/kernel/tracing
# the trigger itself, seen through tracefs (independent of the tool)
echo 1 > $T/events/skb/kfree_skb/enable
echo > $T/trace
traceroute -n -m 1 -q 1 -w 1 127.0.0.1 > $W/tr 2>&1
echo 0 > $T/events/skb/kfree_skb/enable
if grep -q 'kfree_skb:.*reason: NO_SOCKET' $T/trace; then
	ok "UDP to a closed port on lo raises skb:kfree_skb with reason NO_SOCKET"
	grep -m1 'reason: NO_SOCKET' $T/trace > $W/line
	diag_file $W/line
else
	not_ok "UDP to a closed port on lo raises skb:kfree_skb with reason NO_SOCKET"
	diag_file $W/tr
	grep kfree_skb $T/trace | head -5 > $W/line
	diag_file $W/line
fi
if ! have_tool dropwatch; then
	skip "huatuo-dropwatch e2e (UDP to a closed port on lo)" "huatuo-dropwatch not built"
else
	for kind in $(usable_kinds dropwatch); do
		desc="huatuo-dropwatch e2e via $kind: UDP to a closed port on lo, reason NO_SOCKET"
		if ! start_tracer $W/out $W/err huatuo-dropwatch -j -d 120 --probe $kind; then
			not_ok "$desc"
			diag "tracer did not start (rc ${TRACER_RC:-?})"
			diag_file $W/err
			continue
		fi
		traceroute -n -m 1 -q 3 -w 1 127.0.0.1 > $W/tr 2>&1
		sleep 2
		stop_tracer
		if [ "$TRACER_RC" = 0 ] && jq -s -e '
			[.[] | select(.tracer_name == "dropwatch"
				and (.tracer_data.dport >= 33434 and .tracer_data.dport < 33500)
				and (.tracer_data.reason | tostring | test("NO_SOCKET")))] | length > 0' \
			$W/out > /dev/null; then
			ok "$desc"
			diag "$(jq -c 'select(.tracer_data.dport >= 33434) | .tracer_data' $W/out | head -1 | cut -c1-400)"
		else
			not_ok "$desc"
			diag "tracer rc=$TRACER_RC; $(wc -l < $W/out) events; traceroute: $(head -2 $W/tr | tr '\n' ' ')"
			diag_file $W/out
			diag_file $W/err
		fi
	done
fi
