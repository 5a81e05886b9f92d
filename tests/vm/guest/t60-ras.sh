# 4. huatuo-ras with machine-check errors injected in software by mce-inject.ko
# (flags=sw: the kernel's MCE poll path logs a record we made up; mce:mce_record fires).
W=/tmp/t60
mkdir -p $W
MI=/sys/kernel/debug/mce-inject
T=/sys/kernel/tracing
# inject STATUS [BANK]: a software-injected MCE on CPU 0; writing "bank" triggers it
inject() {
	echo sw > $MI/flags && echo 0 > $MI/cpu 2>/dev/null
	echo "$1" > $MI/status && echo 0x1234000 > $MI/addr && echo 0 > $MI/misc &&
		echo "${2:-1}" > $MI/bank
}
if ! grep -qw mce /proc/cpuinfo; then
	not_ok "the guest CPU has MCE/MCA (qemu -cpu max)"
elif ! modprobe mce-inject 2> $W/err || [ ! -d $MI ]; then
	not_ok "mce-inject.ko loads and offers $MI"
	diag_file $W/err
	ls /sys/kernel/debug > $W/ls 2>&1
	diag_file $W/ls
else
	ok "mce-inject.ko loads and offers $MI ($(ls $MI | tr '\n' ' '))"
	# does the injection reach the tracepoint the tool uses? (independent of the tool)
	echo 1 > $T/events/mce/mce_record/enable
	echo > $T/trace
	inject 0x9c00000000000090 1 2> $W/err
	sleep 1
	echo 0 > $T/events/mce/mce_record/enable
	if grep -q mce_record $T/trace; then
		ok "a software-injected corrected MCE raises mce:mce_record"
		grep mce_record $T/trace | head -2 > $W/tr
		diag_file $W/tr
	else
		not_ok "a software-injected corrected MCE raises mce:mce_record"
		diag_file $W/err
		dmesg | tail -5 > $W/dmesg
		diag_file $W/dmesg
	fi
	if ! have_tool ras; then
		skip "huatuo-ras reports injected machine-check errors" "huatuo-ras not built"
	else
		for kind in $(usable_kinds ras); do
			desc="huatuo-ras via $kind reports a software-injected corrected MCE"
			if ! start_tracer $W/out $W/err huatuo-ras -j -d 120 --probe $kind; then
				not_ok "$desc"
				diag "tracer did not start (rc ${TRACER_RC:-?})"
				diag_file $W/err
				continue
			fi
			inject 0x9c00000000000090 2
			sleep 2
			stop_tracer
			if [ "$TRACER_RC" = 0 ] && jq -s -e '
				[.[] | select(.tracer_name == "ras" and .tracer_data.type == "CORRECTED")]
				| length > 0' $W/out > /dev/null; then
				ok "$desc"
				diag "$(head -1 $W/out | cut -c1-400)"
			else
				not_ok "$desc"
				diag "tracer rc=$TRACER_RC; $(wc -l < $W/out) events"
				diag_file $W/out
				diag_file $W/err
			fi
		done
	fi
fi
