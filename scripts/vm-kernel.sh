#!/usr/bin/env bash
# Fetch Debian's own kernel package (linux-image-amd64 -> linux-image-<abi>) with apt-get
# download into a cache directory and unpack it there; never installs it on the host.
#   scripts/vm-kernel.sh CACHE_DIR   -> prints the unpacked tree (boot/vmlinuz-*, lib/modules/*)
# Offline, the newest tree already unpacked in CACHE_DIR is used. VM_KERNEL_PKG overrides the
# package (e.g. linux-image-6.1.0-56-amd64).
set -euo pipefail
cache=${1:?usage: vm-kernel.sh CACHE_DIR}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
cd "$cache"

pkg=${VM_KERNEL_PKG:-}
if [ -z "$pkg" ]; then
	# the metapackage names the current ABI package of this Debian release
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -1) || true
fi
if [ -n "$pkg" ] && [ -d "$pkg/boot" ]; then
	echo "$cache/$pkg"
	exit 0
fi
if [ -n "$pkg" ]; then
	ls "$pkg"_*.deb >/dev/null 2>&1 ||
		(apt-get download "$pkg" 2>&1 | grep -v -e unsandboxed -e '^Get:' -e '^Fetched' >&2) || true
	deb=$(ls -t "$pkg"_*.deb 2>/dev/null | head -1) || true
	if [ -n "$deb" ]; then
		rm -rf "$pkg.tmp"
		mkdir "$pkg.tmp"
		dpkg-deb -x "$deb" "$pkg.tmp"
		mv "$pkg.tmp" "$pkg"
		echo "$cache/$pkg"
		exit 0
	fi
fi
# offline: whatever was unpacked before
tree=$(ls -td "$cache"/linux-image-*/ 2>/dev/null | head -1) || true
[ -n "$tree" ] && [ -d "$tree/boot" ] || {
	echo "vm-kernel.sh: cannot fetch ${pkg:-linux-image-amd64} and nothing cached in $cache" >&2
	exit 1
}
echo "${tree%/}"
