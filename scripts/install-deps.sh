#!/usr/bin/env bash
# Installs the Debian 12 packages racktel needs to build, run and test.
# Installs only what is missing; needs root (or sudo) when something is.
set -euo pipefail

packages=(
  # build, and the Debian package (dpkg-shlibdeps, file)
  cmake ninja-build ccache g++ pkg-config dpkg-dev file
  # libraries
  libboost1.81-dev libboost-json1.81-dev libpaho-mqttpp-dev libpaho-mqtt-dev
  libprotobuf-dev protobuf-compiler libspdlog-dev libtomlplusplus-dev libcli11-dev doctest-dev
  libssl-dev libsystemd-dev libsnappy-dev libmodbus-dev libsnmp-dev libfreeipmi-dev
  # the broker the demo and the tests run; openssl makes the tests' certificates;
  # systemd-analyze checks the unit
  mosquitto openssl systemd
  # the integration tests (Debian's Python: /usr/bin/python3); racktel-ingest's
  # tests write to a real Prometheus and Alertmanager, and cross a NATS cluster
  python3 python3-pytest python3-paho-mqtt python3-protobuf
  prometheus prometheus-alertmanager nats-server
  # the modbus driver's tests run a real Modbus TCP server (pymodbus 3.0 needs pyserial)
  python3-pymodbus python3-serial python3-serial-asyncio
  # the snmp driver's tests run a real SNMP agent (net-snmp's snmpd, serving
  # the tests' values through pass_persist); the ipmi driver's, OpenIPMI's
  # BMC simulator
  snmpd openipmi
  # the page's browser test: Debian's Chromium, driven headless through
  # ChromeDriver by Selenium
  chromium chromium-driver python3-selenium
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "racktel: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
