# 1. every tool attaches (--check) on this kernel; the hook kinds each can use when forced.
W=/tmp/t10
mkdir -p $W
# the clear exit 1 of a tool whose device is absent (no bond yet: t50 makes one; no DCB NIC)
no_device='no bonding interface|no device with DCB PFC'
for t in $TOOLS; do
	[ "$t" = capture ] && continue # runs the others: no --check of its own
	if timeout 60 huatuo-$t --check > $W/out 2> $W/err; then
		ok "huatuo-$t --check attaches on $(uname -r)"
		diag_file $W/out
	elif grep -qE "$no_device" $W/err; then
		skip "huatuo-$t --check attaches on $(uname -r)" "$(head -1 $W/err)"
		skip "huatuo-$t --check --json lists its hooks" "no device"
		continue
	else
		not_ok "huatuo-$t --check attaches on $(uname -r)"
		diag_file $W/err
	fi
	if timeout 60 huatuo-$t --check --json > $W/json 2> $W/err && jq -e '.hooks | length > 0' $W/json > /dev/null; then
		ok "huatuo-$t --check --json lists its hooks"
	else
		not_ok "huatuo-$t --check --json lists its hooks"
		diag_file $W/json
		diag_file $W/err
	fi
	# informational: which forced kinds attach (a tool need not have every flavour)
	row=
	for k in tp_btf raw_tp tracepoint fentry kprobe; do
		if timeout 60 huatuo-$t --check --json --probe $k > $W/json 2> $W/err; then
			row="$row $k=yes($(jq -r '[.hooks[].target] | join(",")' $W/json))"
		else
			row="$row $k=no"
			echo "$t/$k: $(head -1 $W/err)" >> /tmp/probe-refusals
		fi
	done
	diag "huatuo-$t forced kinds:$row"
done
[ -s /tmp/probe-refusals ] && diag "why forced kinds were refused:" && diag_file /tmp/probe-refusals
# the biggest program of these verified on another CPU while libbpf loads the others
# (libcommon/bgload.c): the kernel takes the real program in the stand-in's place here too
for t in netrxlat softlockup memreclaim; do
	have_tool $t || continue
	if [ "$(nproc)" -lt 2 ]; then
		skip "huatuo-$t verifies a program on another CPU" "one CPU"
	elif timeout 60 huatuo-$t -v --check > $W/out 2> $W/err &&
		grep -q "verified on another CPU while libbpf loaded the others" $W/err; then
		ok "huatuo-$t verifies a program on another CPU: $(grep 'verified on another CPU' $W/err | cut -d' ' -f2)"
	else
		not_ok "huatuo-$t verifies a program on another CPU"
		diag_file $W/err
	fi
done
