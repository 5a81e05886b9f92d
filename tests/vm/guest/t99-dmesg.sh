# Last: the kernel stayed healthy through the suite (no WARNING/BUG/Oops from our programs).
W=/tmp/t99
mkdir -p $W
dmesg | grep -E 'WARNING:|BUG:|Oops|general protection' > $W/bad
if [ -s $W/bad ]; then
	not_ok "no kernel WARNING, BUG or Oops during the suite"
	dmesg | grep -B2 -A12 -E 'WARNING:|BUG:|Oops' | head -40 > $W/ctx
	diag_file $W/ctx
else
	ok "no kernel WARNING, BUG or Oops during the suite"
fi
