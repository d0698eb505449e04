#!/usr/bin/env bash
# Makes an armhf (32-bit ARM, Debian 12) sysroot with racktel's build
# dependencies, for cross builds and for running the results under qemu-arm.
#
#   scripts/armhf-sysroot.sh [DIR]    default: /var/cache/racktel/armhf-sysroot
#
# Debian's armhf -dev packages cannot always be installed beside the build
# machine's own (multiarch needs the same versions of shared packages such as
# libssl3, and the armhf and amd64 archives are not always in step), so the
# armhf libraries live in a tree of their own: debootstrap downloads them
# (first stage only: nothing armhf runs), and every package is unpacked with
# dpkg-deb. Kept between runs; remade when the package list changes.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${1:-/var/cache/racktel/armhf-sysroot}
packages=(libc6-dev libstdc++-12-dev libboost1.81-dev libboost-json1.81-dev libpaho-mqttpp-dev libpaho-mqtt-dev
          libprotobuf-dev libspdlog-dev libfmt-dev libtomlplusplus-dev libssl-dev libsystemd-dev
          libcli11-dev doctest-dev)
stamp="$dir/.racktel-packages"
wanted=$(printf '%s\n' "${packages[@]}")
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
  echo "$dir"
  exit 0
fi

# The Debian mirror this machine's apt uses.
mirror=$({ grep -rhoE '^(URIs:|deb) +[a-z]+://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null || true; } |
         grep -oE '[a-z]+://[^ ]+' | head -n 1 || true)
mirror=${mirror:-http://deb.debian.org/debian}

rm -rf "$dir"
mkdir -p "$dir"
include=$(IFS=,; echo "${packages[*]}")
debootstrap --foreign --arch=armhf --variant=minbase --include="$include" bookworm "$dir" "$mirror" >&2
for deb in "$dir"/var/cache/apt/archives/*.deb; do
  dpkg-deb -x "$deb" "$dir"
done
# Absolute symlinks inside the tree (libfoo.so -> /lib/...) must point into it.
find "$dir" -type l -lname '/*' | while read -r link; do
  target=$(readlink "$link")
  ln -sfn "$dir$target" "$link"
done
printf '%s\n' "${packages[@]}" > "$stamp"
echo "$dir"
