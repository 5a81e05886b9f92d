#!/bin/sh
# Build a static archive from a Debian source package, for libraries Debian ships only as
# shared objects (cjson), so that 'make STATIC=1' gives self-contained binaries.
#   scripts/build-static-lib.sh cjson  OUTDIR   -> OUTDIR/libcjson.a, OUTDIR/include/cjson/cJSON.h
# Sources come from deb-src of the running Debian release, fetched with apt-get source into
# OUTDIR/src (kept out of git under build/).
set -eu
pkg=$1
out=$(mkdir -p "$2" && cd "$2" && pwd)
src=$out/src
CC=${CC:-cc}
mkdir -p "$src" "$out/include"

. /etc/os-release
suite=${VERSION_CODENAME:-bookworm}
lists=$src/lists
mkdir -p "$lists/partial"
cat > "$src/sources.list" <<EOS
deb-src http://deb.debian.org/debian $suite main
EOS
apt_opts="-o Dir::Etc::SourceList=$src/sources.list -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists=$lists -o APT::Sandbox::User=root"
if ! ls "$src"/"$pkg"-*/ >/dev/null 2>&1; then
	# shellcheck disable=SC2086
	apt-get $apt_opts update -qq >&2
	# shellcheck disable=SC2086
	(cd "$src" && apt-get $apt_opts source -qq "$pkg" >&2)
fi
dir=$(ls -d "$src"/"$pkg"-*/ | head -n1)

case $pkg in
cjson)
	mkdir -p "$out/include/cjson"
	cp "$dir/cJSON.h" "$out/include/cjson/"
	$CC -O2 -fPIC -c "$dir/cJSON.c" -o "$out/cJSON.o"
	ar rcs "$out/libcjson.a" "$out/cJSON.o"
	;;
*)
	echo "build-static-lib.sh: don't know how to build $pkg" >&2
	exit 1
	;;
esac
echo "built $out/lib${pkg#lib}.a" >&2
