#!/bin/sh
# Guest suite: run every t*.sh in order, each in its own shell (a broken file cannot take
# the others down); they print TAP lines through lib.sh and share the test number via a file.
. /tests/lib.sh
TOOLS=$(cd /usr/sbin && ls huatuo-* 2>/dev/null | sed 's/^huatuo-//' | tr '\n' ' ')
export TOOLS
diag "tools in the image: $TOOLS"
echo 0 > /tmp/t_num
# htvm.only=PATTERN on the kernel command line (VM_ONLY=t30 make test-vm) runs a subset
only=$(tr ' ' '\n' < /proc/cmdline | sed -n 's/^htvm\.only=//p')
for t in /tests/t*.sh; do
	case $(basename "$t") in ${only:-t}*) ;; *) continue ;; esac
	diag "--- $(basename "$t") (uptime $(uptime_s)s)"
	sh -c '. /tests/lib.sh; T_NUM=$(cat /tmp/t_num); . "$1"; echo $T_NUM > /tmp/t_num' _ "$t" ||
		{ T_NUM=$(cat /tmp/t_num); not_ok "$(basename "$t") ran to its end (a shell error?)"; echo $T_NUM > /tmp/t_num; }
done
T_NUM=$(cat /tmp/t_num)
say "1..$T_NUM"
