#!/usr/bin/env bash
# Fuzzes racktel's parsers of outside bytes with libFuzzer (clang-14, with
# AddressSanitizer and UndefinedBehaviorSanitizer), starting from the corpora
# in tests/fuzz/corpus. See tests/fuzz/README.md.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     default: 60 s each, every target
#
# New inputs libFuzzer finds go to build/fuzz/corpus/<target>; a crash leaves
# build/fuzz/crash-* (or leak-*, timeout-*) and stops that target.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(wire config spool redfish exec_output hwmon ingest modbus_map snmp_profile ipmi_sdr)

scripts/install-deps.sh
missing=()
for p in clang-14 libclang-rt-14-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

flags="-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"
cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
  -DRACKTEL_FUZZ=ON -DRACKTEL_BUILD_BENCH=OFF -DRACKTEL_WERROR=OFF >/dev/null
cmake --build build/fuzz -j2 --target "${targets[@]/#/fuzz_}"

summary=()
for t in "${targets[@]}"; do
  mkdir -p "build/fuzz/corpus/$t"
  log="build/fuzz/$t.log"
  echo "== fuzz_$t for ${seconds}s"
  status=0
  (cd build/fuzz && "./tests/fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 \
     "corpus/$t" "../../tests/fuzz/corpus/$t") >"$log" 2>&1 || status=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*$' || echo "?")
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*$' || echo "?")
  corpus=$(ls "build/fuzz/corpus/$t" | wc -l)
  result="ok"; [ $status -ne 0 ] && result="FAILED (see $log)"
  summary+=("$(printf '%-12s %10s execs  cov %6s  ft %6s  %5s new inputs  %s' "$t" "$execs" "$cov" "$ft" "$corpus" "$result")")
done
printf '%s\n' "${summary[@]}"
for line in "${summary[@]}"; do
  case "$line" in *FAILED*) exit 1 ;; esac
done
