// The configuration loader, on whatever text a file holds.
#include <cstdint>
#include <string_view>

#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const racktel::config_result r = racktel::parse_config(text, "fuzz.toml");
  // Every error names the file and a position in it (0 for the whole file).
  for (const auto& e : r.errors) {
    if (e.file != "fuzz.toml" || e.line < 0 || e.column < 0) __builtin_trap();
  }
  return 0;
}
