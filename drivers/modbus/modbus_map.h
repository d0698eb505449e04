// Modbus register maps as data: what to read from a coolant distribution
// unit, a power shelf or a meter, and how a register's words become a value.
// Pure: no sockets, no libmodbus. The modbus driver (modbus_driver.cpp) reads
// the spans planned here; profiles live in config/profiles/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/profile_fields.h"

namespace racktel::modbus {

enum class function : std::uint8_t { holding, input, coil, discrete };
enum class value_type : std::uint8_t { u16, s16, u32, s32, f32, u64, bit };
// Which word of a multi-word value comes first: Modbus' own convention is the
// most significant ("big"); many devices send the least significant first.
enum class word_order : std::uint8_t { big, little };

// A register's sensor fields (id, name, kind, unit, scale, limits...) are the
// profile's common ones (support/profile_fields.h).
struct register_spec : drivers::sensor_fields {
  function fn = function::holding;
  std::uint16_t address = 0;  // 0-based protocol address
  value_type type = value_type::u16;
  word_order order = word_order::big;
  std::optional<unsigned> bit;  // one bit (0-15) of a 16-bit register: alarm and leak words

  // Registers (or bits, for coils and discrete inputs) the value occupies.
  std::uint16_t width() const;
};

// One request: `count` registers (or bits) of one function from `start`.
struct read_span {
  function fn = function::holding;
  std::uint16_t start = 0;
  std::uint16_t count = 0;
  std::vector<std::size_t> registers;  // indices into the map, in address order
};

// The protocol's limits per request (Modbus application protocol 1.1b3, 6.1-6.4).
inline constexpr std::uint16_t max_registers_per_read = 125;
inline constexpr std::uint16_t max_bits_per_read = 2000;

// Registers of the same function that are contiguous or overlap share a
// request, up to the protocol's limit; gaps are never read (a device may
// answer "illegal data address" for a register it does not have).
std::vector<read_span> plan_reads(const std::vector<register_spec>& map);

// The value of `spec` from the span's words (`words[0]` is the span's first
// register); for coils and discrete inputs `bits` holds one byte per bit.
double decode_register(const register_spec& spec, const std::uint16_t* words);
double decode_bit(const std::uint8_t* bits);

// A profile file: [[registers]] tables. Every error names file:line:column.
struct map_result {
  std::vector<register_spec> registers;
  std::vector<std::string> errors;
  bool ok() const { return errors.empty(); }
};
map_result parse_register_map(std::string_view toml_text, const std::string& source_name);

const char* function_name(function f);  // "holding", ...

}  // namespace racktel::modbus
