// The configuration loader and the commissioning expectation file, on
// whatever text a file holds.
#include <cstdint>
#include <string_view>

#include "commission/commission.h"
#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const racktel::config_result r = racktel::parse_config(text, "fuzz.toml");
  // Every error names the file and a position in it (0 for the whole file).
  for (const auto& e : r.errors) {
    if (e.file != "fuzz.toml" || e.line < 0 || e.column < 0) __builtin_trap();
  }
  const racktel::expectation_file expected = racktel::parse_expectations(text, "fuzz.toml");
  for (const auto& e : expected.errors) {
    if (e.source != "fuzz.toml" || e.line < 0 || e.column < 0) __builtin_trap();
  }
  // A usable file can be checked against an empty rack without harm.
  if (expected.errors.empty()) {
    const std::vector<racktel::sensor_meta> sensors;
    const std::vector<racktel::latest_reading> readings;
    (void)racktel::evaluate_commission(expected.expectations, {&sensors, &readings, {}, {}});
  }
  return 0;
}
