#!/usr/bin/env bats
# libcommon/safedir.c: the directory and file rules behind -o, --metrics and the BTF cache.
# Other users' files and links are made with chown (root), owned by nobody.
load ../lib/common

S() { "$HT_BUILD/ht-unit" safedir "$@"; }

setup() {
	require_root
	T=$BATS_TEST_TMPDIR/rtest_sec_$$
	mkdir -p "$T"
	chmod 755 "$T"
	echo "victim $$" > "$T/victim"
	VICTIM_SUM=$(sha256sum < "$T/victim")
}

victim_untouched() {
	assert_equal "$(sha256sum < "$T/victim")" "$VICTIM_SUM"
}

@test "a directory others can write is refused unless sticky; ours or root's only" {
	mkdir -m 777 "$T/ww" && chmod 777 "$T/ww"
	run S open "$T/ww"
	assert_failure
	assert_output "error $T/ww is writable by other users (mode 0777) and not sticky, so they could plant links in it: use a directory only root can write (chmod go-w), such as /var/log/huatuo"
	chmod 775 "$T/ww"
	run S open "$T/ww"
	assert_failure
	assert_output --partial "(mode 0775) and not sticky"
	chmod 1777 "$T/ww"
	run S open "$T/ww"
	assert_success
	chown nobody "$T/ww"
	run S open "$T/ww"
	assert_failure
	assert_output --partial "belongs to uid $(id -u nobody), who could swap"
	chmod 755 "$T/ww"
	run S open "$T/ww"
	assert_failure
	run S open /tmp
	assert_success
}

@test "mkdir -p creates what is missing, 0755, and never through a link" {
	run S mkdir "$T/a/b/c"
	assert_success
	assert_equal "$(stat -c %a "$T/a" "$T/a/b/c" | sort -u)" 755
	run S open "$T/missing"
	assert_failure
	assert_output "error $T/missing does not exist"
	touch "$T/file"
	run S mkdir "$T/file/x"
	assert_failure
	assert_output "error $T/file is not a directory"
	# a planted parent: a link in a world-writable directory, then one of nobody's in a sticky one
	mkdir "$T/ww" "$T/target"
	chmod 777 "$T/ww"
	ln -s "$T/target" "$T/ww/p"
	run S mkdir "$T/ww/p/q"
	assert_failure
	assert_output "error $T/ww/p is a symbolic link in a directory other users can write (it may have been planted): give the directory it points to if you trust it, or use a directory only root can write"
	chmod 1777 "$T/ww"
	chown -h nobody "$T/ww/p"
	run S mkdir "$T/ww/p/q"
	assert_failure
	assert_output --partial "$T/ww/p is a symbolic link in a directory other users can write"
	[ -z "$(ls -A "$T/target")" ] || fail "created through the link: $(ls -A "$T/target")"
}

@test "links nobody else could plant are followed: absolute, relative, root's in a sticky directory" {
	mkdir -p "$T/real/sub" "$T/st"
	ln -s "$T/real" "$T/abs"
	ln -s real/sub "$T/rel"
	ln -s .. "$T/real/sub/up"
	run S mkdir "$T/abs/sub/new"
	assert_success
	[ -d "$T/real/sub/new" ]
	run S mkdir "$T/rel/up/sub/new2"
	assert_success
	[ -d "$T/real/sub/new2" ]
	chmod 1777 "$T/st"
	ln -s "$T/real" "$T/st/mine"
	run S open "$T/st/mine"
	assert_success
	ln -s loop "$T/loop"
	run S open "$T/loop"
	assert_failure
	assert_output --partial "Too many levels of symbolic links"
	(cd "$T" && S mkdir rel/relative)
	[ -d "$T/real/sub/relative" ]
}

@test "an existing name is used only if it is a regular file of ours with one link" {
	chmod 1777 "$T"
	ln -s "$T/victim" "$T/oom"
	run S append "$T" oom "data"
	assert_failure
	assert_output "error $T/oom is a symbolic link, not a file huatuo-tools wrote (it may have been planted to make root write elsewhere): remove it or use another directory"
	rm "$T/oom"
	ln "$T/victim" "$T/oom"
	run S append "$T" oom "data"
	assert_failure
	assert_output "error $T/oom has 2 hard links, and another name of it may be a file we must not write: remove it or use another directory"
	rm "$T/oom"
	mkfifo "$T/oom"
	run timeout 5 "$HT_BUILD/ht-unit" safedir append "$T" oom "data"
	assert_failure 1
	assert_output --partial "$T/oom is not a regular file"
	rm "$T/oom"
	echo theirs > "$T/oom"
	chown nobody "$T/oom"
	run S append "$T" oom "data"
	assert_failure
	assert_output --partial "$T/oom belongs to uid $(id -u nobody), not to us"
	assert_equal "$(cat "$T/oom")" theirs
	victim_untouched
	rm "$T/oom"
	run S append "$T" oom "one"
	assert_success
	run S append "$T" oom "two"
	assert_success
	assert_equal "$(cat "$T/oom")" onetwo
}

@test "files are created exclusively with exactly their mode, whatever the umask" {
	run bash -c "umask 077; '$HT_BUILD/ht-unit' safedir create '$T' a"
	assert_success
	run bash -c "umask 000; '$HT_BUILD/ht-unit' safedir create '$T' b"
	assert_success
	assert_equal "$(stat -c %a "$T/a") $(stat -c %a "$T/b")" "640 640"
	run S create "$T" a
	assert_failure
	assert_output --partial "cannot create $T/a: File exists"
	ln -s "$T/victim" "$T/c"
	run S create "$T" c
	assert_failure
	victim_untouched
	run S create "$T" ../x
	assert_failure
	assert_output "error invalid file name '../x'"
}

@test "replace: atomic, mode 0644, refuses a planted link, leaves no temporary" {
	run S replace "$T" m.prom "v1"
	assert_success
	ino=$(stat -c %i "$T/m.prom")
	run S replace "$T" m.prom "v2"
	assert_success
	assert_equal "$(cat "$T/m.prom")" v2
	[ "$(stat -c %i "$T/m.prom")" != "$ino" ] || fail "rewritten in place"
	assert_equal "$(stat -c %a "$T/m.prom")" 644
	ln -s "$T/victim" "$T/p.prom"
	run S replace "$T" p.prom "x"
	assert_failure
	assert_output --partial "$T/p.prom is a symbolic link, not a file huatuo-tools wrote"
	[ -L "$T/p.prom" ]
	victim_untouched
	assert_equal "$(ls -A "$T" | grep -c '^\.')" 0
}

@test "rename never replaces; prune-style unlink and list see only our files" {
	echo a > "$T/a"
	echo b > "$T/b"
	run S rename "$T" a b
	assert_failure
	assert_output "error cannot rename $T/a to b: File exists"
	ln -s "$T/victim" "$T/planted"
	run S rename "$T" a planted
	assert_failure
	assert_output --partial "$T/planted is a symbolic link, not a file huatuo-tools wrote"
	run S rename "$T" a c
	assert_success
	[ -f "$T/c" ] && [ ! -e "$T/a" ]
	echo theirs > "$T/theirs"
	chown nobody "$T/theirs"
	run S list "$T"
	assert_success
	assert_equal "$(printf '%s\n' "${lines[@]}" | sort | tr '\n' ' ')" "b c victim "
	run S unlink "$T" planted
	assert_failure
	[ -L "$T/planted" ]
	run S unlink "$T" theirs
	assert_failure
	run S unlink "$T" c
	assert_success
	[ ! -e "$T/c" ]
	victim_untouched
}
