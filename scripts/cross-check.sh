#!/usr/bin/env bash
# Cross-builds racktel for aarch64 (Debian's cross compiler and multiarch
# libraries) and for 32-bit armhf (cross compiler and a sysroot of Debian's
# armhf packages, scripts/armhf-sysroot.sh), runs the unit tests and the fuzz
# corpora under qemu-aarch64 and qemu-arm, and prints the stripped binary
# sizes. Installs what is missing (needs root or sudo). Run by CI.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
arm64=(g++-aarch64-linux-gnu binutils-aarch64-linux-gnu qemu-user
       g++-arm-linux-gnueabihf binutils-arm-linux-gnueabihf debootstrap
       libboost1.81-dev:arm64 libboost-json1.81-dev:arm64 libpaho-mqttpp-dev:arm64 libpaho-mqtt-dev:arm64
       libprotobuf-dev:arm64 libspdlog-dev:arm64 libtomlplusplus-dev:arm64 libssl-dev:arm64 libsystemd-dev:arm64)
missing=()
for p in "${arm64[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "racktel: installing ${missing[*]}"
  $sudo dpkg --add-architecture arm64
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

build=build/arm64
cmake -S . -B "$build" -G Ninja -DCMAKE_TOOLCHAIN_FILE=toolchains/aarch64-linux-gnu.cmake \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRACKTEL_BUILD_BENCH=OFF -DRACKTEL_BUILD_INGEST=OFF -DRACKTEL_DRIVER_MODBUS=OFF -DRACKTEL_DRIVER_SNMP=OFF -DRACKTEL_DRIVER_IPMI=OFF -DRACKTEL_WERROR=ON \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache >/dev/null
cmake --build "$build"
file "$build/agent/racktel-agent" | grep -q "ARM aarch64" || { echo "not an aarch64 binary" >&2; exit 1; }
(cd "$build" && ctest --output-on-failure)
for b in racktel-agent racktel; do
  aarch64-linux-gnu-strip -o "$build/$b.stripped" "$build/agent/$b"
  echo "aarch64 $b stripped: $(stat -c %s "$build/$b.stripped") bytes"
done

# armhf: 32-bit ARM (Cortex-A7 class) rack controllers.
sysroot=$(scripts/armhf-sysroot.sh)
build=build/armhf
cmake -S . -B "$build" -G Ninja -DCMAKE_TOOLCHAIN_FILE=toolchains/arm-linux-gnueabihf.cmake \
  -DRACKTEL_SYSROOT="$sysroot" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRACKTEL_BUILD_BENCH=OFF -DRACKTEL_BUILD_INGEST=OFF -DRACKTEL_DRIVER_MODBUS=OFF -DRACKTEL_DRIVER_SNMP=OFF -DRACKTEL_DRIVER_IPMI=OFF -DRACKTEL_WERROR=ON \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache >/dev/null
cmake --build "$build"
file "$build/agent/racktel-agent" | grep -q "32-bit.*ARM" || { echo "not a 32-bit ARM binary" >&2; exit 1; }
(cd "$build" && ctest --output-on-failure)
# The tool itself runs on the target: it validates the shipped configuration.
qemu-arm -L "$sysroot" "$build/agent/racktel" check-config config/demo.toml
for b in racktel-agent racktel; do
  arm-linux-gnueabihf-strip -o "$build/$b.stripped" "$build/agent/$b"
  echo "armhf $b stripped: $(stat -c %s "$build/$b.stripped") bytes"
done
