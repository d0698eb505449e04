// Modbus register maps: a profile file (whoever writes it), planned into
// requests, and every register decoded from words a device sent (anything).
// Input: the profile text, then (after a NUL) the device's bytes.
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "modbus_map.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const std::size_t nul = all.find('\0');
  const std::string_view text = all.substr(0, nul);
  const std::string_view device = nul == std::string_view::npos ? std::string_view() : all.substr(nul + 1);
  const auto map = racktel::modbus::parse_register_map(text, "fuzz.toml");
  if (!map.ok()) return 0;
  for (const auto& span : racktel::modbus::plan_reads(map.registers)) {
    const bool bits = span.fn == racktel::modbus::function::coil || span.fn == racktel::modbus::function::discrete;
    if (span.count == 0 || span.count > (bits ? racktel::modbus::max_bits_per_read : racktel::modbus::max_registers_per_read)) {
      __builtin_trap();  // the plan promised the protocol's limits
    }
    std::vector<std::uint16_t> words(span.count);
    std::vector<std::uint8_t> bytes(span.count);
    for (std::size_t i = 0; i < span.count && !device.empty(); ++i) {
      words[i] = static_cast<std::uint16_t>(static_cast<unsigned char>(device[i % device.size()]) * 257U);
      bytes[i] = static_cast<std::uint8_t>(device[i % device.size()]) & 1U;
    }
    for (std::size_t index : span.registers) {
      const auto& r = map.registers[index];
      const std::size_t at = r.address - span.start;
      if (at + r.width() > span.count) __builtin_trap();  // each value lies inside its span
      (void)(bits ? racktel::modbus::decode_bit(&bytes[at]) : racktel::modbus::decode_register(r, &words[at]));
    }
  }
  return 0;
}
