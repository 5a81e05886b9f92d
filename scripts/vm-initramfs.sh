#!/usr/bin/env bash
# Build the test VM's initramfs (an uncompressed newc cpio):
#   scripts/vm-initramfs.sh KERNEL_TREE TOOLS_DIR GUEST_DIR OUT.cpio
# KERNEL_TREE: unpacked linux-image package (scripts/vm-kernel.sh); TOOLS_DIR: the static
# build (huatuo-*, ht-testrun); GUEST_DIR: tests/vm/guest (init + guest suite).
# Puts in: busybox (static), the tools (stripped), jq and ip with their shared libraries,
# and the kernel modules the guest suite loads, with their dependencies and a modules.dep.
set -euo pipefail
ktree=$(cd "${1:?}" && pwd)
tools=$(cd "${2:?}" && pwd)
guest=$(cd "${3:?}" && pwd)
out=${4:?usage: vm-initramfs.sh KERNEL_TREE TOOLS_DIR GUEST_DIR OUT.cpio}
# modules the guest suite may load (missing ones are skipped in the guest)
MODULES=${VM_MODULES:-"bonding veth mce-inject"}

abi=$(basename "$(ls -d "$ktree"/lib/modules/*/ | head -1)")
root=$(mktemp -d "${TMPDIR:-/tmp}/vm-root.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib,lib64,proc,sys,dev,tmp,run,etc,root,tests} \
	"$root/lib/modules/$abi"

# busybox: a static build is required (no libc in the image for it)
bb=$(command -v busybox) || { echo "vm-initramfs.sh: busybox not found (apt-get install busybox-static)" >&2; exit 1; }
file -L "$bb" | grep -q 'statically linked' ||
	{ echo "vm-initramfs.sh: $bb is not static (apt-get install busybox-static)" >&2; exit 1; }
cp "$bb" "$root/bin/busybox"

# our tools: every huatuo-* present, plus the test-run helper
n=0
for f in "$tools"/huatuo-* "$tools"/ht-testrun; do
	[ -x "$f" ] || continue
	strip --strip-debug -o "$root/usr/sbin/$(basename "$f")" "$f"
	n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "vm-initramfs.sh: no tools in $tools" >&2; exit 1; }

# host binaries with their shared libraries (the loader path is the same in the guest)
copy_dyn() {
	local bin=$1 dest=$2 lib
	cp -L "$bin" "$root$dest"
	for lib in $(ldd "$bin" 2>/dev/null | grep -o '/[^ ]*'); do
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}
for b in jq ip; do
	p=$(command -v "$b" 2>/dev/null) || { echo "vm-initramfs.sh: no $b on the host (skipped)" >&2; continue; }
	copy_dyn "$p" "/usr/bin/$b"
done

# kernel modules and what they depend on
mdir="$ktree/lib/modules/$abi"
declare -A seen=()
add_module() {
	local name=$1 f dep
	[ -n "${seen[$name]:-}" ] && return 0
	seen[$name]=1
	f=$(find "$mdir/kernel" -name "$name.ko*" -o -name "${name//-/_}.ko*" | head -1)
	if [ -z "$f" ]; then
		grep -q "/${name//-/[-_]}\.ko" "$mdir/modules.builtin" 2>/dev/null ||
			echo "vm-initramfs.sh: module $name not in $abi (skipped)" >&2
		return 0
	fi
	mkdir -p "$root/lib/modules/$abi/$(dirname "${f#"$mdir"/}")"
	cp "$f" "$root/lib/modules/$abi/${f#"$mdir"/}"
	for dep in $(modinfo -F depends "$f" | tr ',' ' '); do
		add_module "$dep"
	done
}
for m in $MODULES; do
	add_module "$m"
done
cp "$mdir"/modules.builtin* "$mdir"/modules.order "$root/lib/modules/$abi/" 2>/dev/null || true
depmod -b "$root" "$abi"

# the guest side
cp -r "$guest"/. "$root/tests/"
mv "$root/tests/init" "$root/init"
chmod +x "$root/init" "$root"/tests/*.sh
echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"
echo "root:x:0:" > "$root/etc/group"

mkdir -p "$(dirname "$out")"
(cd "$root" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) > "$out.tmp"
mv "$out.tmp" "$out"
