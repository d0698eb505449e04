#!/usr/bin/env bash
# Installs what is missing, builds racktel (warnings are errors) and runs every test:
# unit tests, and integration tests against a real mosquitto on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake --preset dev
cmake --build --preset dev
ctest --preset dev "$@"
