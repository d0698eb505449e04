#!/usr/bin/env bash
# Installs what is missing, builds racktel, starts a mosquitto broker on
# 127.0.0.1:18830, runs the agent on the simulated rack (config/demo.toml),
# prints the address of its page (http://127.0.0.1:18080/) and shows the
# decoded stream. Ctrl-C stops everything.
#
#   MATCH=chip12.   which sensors to show (default: chip 12, which runs hot)
#   VIEW=lines      every reading as a line instead of the live table
#   DEMO_SECONDS=N  stop after N seconds (default: run until Ctrl-C)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release

bin=build/release/agent
work=/tmp/racktel-demo
mkdir -p "$work"
port=18830
cat > "$work/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
persistence false
set_tcp_nodelay true
$( [ "$(id -u)" -eq 0 ] && echo "user root" )
CONF

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
pids+=($!)
sleep 0.5
"$bin/racktel" check-config config/demo.toml
"$bin/racktel-agent" --config config/demo.toml 2>"$work/agent.log" &
pids+=($!)
sleep 2.5

echo
echo "=== the rack's page: open http://127.0.0.1:18080/ in a browser on this machine ==="
echo "    (from a laptop: ssh -L 18080:127.0.0.1:18080 <this host>, then the same address)"
echo "    /metrics for Prometheus: http://127.0.0.1:18080/metrics"
echo
echo "=== racktel status (what a technician sees at the rack) ==="
"$bin/racktel" status --socket "$work/status.sock"
echo
echo "=== the decoded stream (racktel subscribe), sensors matching '${MATCH:-chip12.}' ==="
subscribe=("$bin/racktel" subscribe --broker "tcp://127.0.0.1:$port" --site demo --rack ironwood-01 --match "${MATCH:-chip12.}")
# VIEW=lines prints every reading as it arrives instead of the live table.
[ "${VIEW:-table}" = "table" ] && subscribe+=(--table)
if [ -n "${DEMO_SECONDS:-}" ]; then
  timeout "$DEMO_SECONDS" "${subscribe[@]}" || [ $? -eq 124 ]
else
  "${subscribe[@]}"
fi
echo "agent log: $work/agent.log"
