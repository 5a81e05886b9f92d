#!/bin/sh
# Install the Debian packages listed in scripts/packages.txt (root, or sudo when available).
set -eu
cd "$(dirname "$0")"
pkgs=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' packages.txt | tr '\n' ' ')
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
# shellcheck disable=SC2086
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $pkgs
