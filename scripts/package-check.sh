#!/usr/bin/env bash
# Builds the Debian package, installs it with dpkg on this machine, checks
# what an operator relies on, and removes it again. Needs root. Run by CI.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build/package
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
  -DRACKTEL_BUILD_TESTS=OFF -DRACKTEL_BUILD_BENCH=OFF \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache >/dev/null
cmake --build "$build"
(cd "$build" && cpack -G DEB >/dev/null)
deb=$(ls "$build"/racktel_*.deb)
echo "package: $deb"
dpkg-deb --info "$deb" | sed -n '/Depends/p'

dpkg -i "$deb"
trap 'dpkg -r racktel >/dev/null || true' EXIT
fail() { echo "package check FAILED: $*" >&2; exit 1; }
for f in /usr/bin/racktel-agent /usr/bin/racktel /etc/racktel/racktel.toml /usr/lib/systemd/system/racktel.service \
         /usr/bin/racktel-ingest /etc/racktel/ingest.toml /usr/lib/systemd/system/racktel-ingest.service \
         /usr/share/racktel/profiles/cdu-generic.toml /usr/share/racktel/profiles/snmp-apc-rpdu2.toml \
         /usr/lib/sysusers.d/racktel.conf /usr/include/racktel/driver.h /usr/share/racktel/proto/racktel/v1/racktel.proto; do
  [ -e "$f" ] || fail "$f is missing"
done
ls /usr/lib/*/cmake/racktel/racktelConfig.cmake >/dev/null || fail "the CMake package is missing"
dpkg-query -W -f='${Conffiles}\n' racktel | grep -q /etc/racktel/racktel.toml || fail "racktel.toml is not a conffile"
getent passwd racktel >/dev/null || fail "the racktel user was not created"
# The packaged file describes no rack: check-config says what to fill in and the agent does not start on it.
if out=$(racktel check-config /etc/racktel/racktel.toml 2>&1); then fail "the packaged racktel.toml passes check-config"; fi
case "$out" in *'"site" must be'*'no [[drivers]] table'*|*'no [[drivers]] table'*'"site" must be'*) ;;
  *) fail "check-config on the packaged file does not say what to fill in: $out" ;; esac
racktel-agent --version
# The shipped ingest configuration is valid as it is (a local broker and Prometheus).
racktel-ingest --check-config --config /etc/racktel/ingest.toml || fail "the packaged ingest.toml does not pass --check-config"
dpkg-query -W -f='${Conffiles}\n' racktel | grep -q /etc/racktel/ingest.toml || fail "ingest.toml is not a conffile"
# Test hooks (a status-socket command that blocks the main loop) exist only in debug builds.
hooks=$(racktel-agent --enable-test-hooks --config /nonexistent/racktel.toml 2>&1 || true)
case "$hooks" in
  *"was not expected: --enable-test-hooks"*) ;;
  *) fail "the packaged agent accepts --enable-test-hooks: $hooks" ;;
esac
strings /usr/bin/racktel-agent | grep -q "test-stall" && fail "the packaged agent contains the test-stall hook"
echo "package check passed"
