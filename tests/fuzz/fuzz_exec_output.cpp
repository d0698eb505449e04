// What a command prints, as the exec driver parses it.
#include <cstdint>
#include <string_view>

#include "exec_output.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const auto& parsed : {racktel::exec::parse_json(text), racktel::exec::parse_influx(text)}) {
    for (const auto& s : parsed.sensors) {
      (void)racktel::exec::sensor_kind_from_name(s.kind);
      if (s.id.empty()) __builtin_trap();  // a sensor always has an id
    }
  }
  const auto lines = racktel::exec::stderr_for_log(text, 5, 300);
  for (const auto& line : lines.lines) {
    for (char c : line) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) __builtin_trap();  // escaped, always
    }
  }
  return 0;
}
