#!/usr/bin/env bats
# make install honours PREFIX and DESTDIR: binaries in sbin, man pages, completions.
load ../lib/common

@test "make install DESTDIR=... PREFIX=/usr puts every piece in place" {
	d=$BATS_TEST_TMPDIR/root
	run make -C "$HT_TOP" -s install OUTPUT="$HT_BUILD" DESTDIR="$d" PREFIX=/usr
	assert_success
	for t in $HT_TOOLS; do
		[ -x "$d/usr/sbin/huatuo-$t" ] || fail "no $d/usr/sbin/huatuo-$t"
		[ -f "$d/usr/share/man/man8/huatuo-$t.8" ] || fail "no man page for huatuo-$t"
		[ -e "$d/usr/share/bash-completion/completions/huatuo-$t" ] ||
			fail "no completion entry for huatuo-$t (bash-completion loads by command name)"
	done
	[ -f "$d/usr/share/man/man7/huatuo-tools.7" ]
	[ -f "$d/usr/share/bash-completion/completions/huatuo-tools" ]
	run make -C "$HT_TOP" -s uninstall OUTPUT="$HT_BUILD" DESTDIR="$d" PREFIX=/usr
	assert_success
	[ -z "$(find "$d" -type f -o -type l)" ] || fail "left after uninstall: $(find "$d" -type f -o -type l)"
}
