#include "modbus_map.h"

#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "racktel/driver.h"
#include "support/profile_fields.h"

namespace racktel::modbus {

std::uint16_t register_spec::width() const {
  switch (type) {
    case value_type::u32:
    case value_type::s32:
    case value_type::f32: return 2;
    case value_type::u64: return 4;
    default: return 1;
  }
}

const char* function_name(function f) {
  switch (f) {
    case function::holding: return "holding";
    case function::input: return "input";
    case function::coil: return "coil";
    case function::discrete: return "discrete";
  }
  return "holding";
}

std::vector<read_span> plan_reads(const std::vector<register_spec>& map) {
  std::vector<std::size_t> order(map.size());
  for (std::size_t i = 0; i < map.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (map[a].fn != map[b].fn) return map[a].fn < map[b].fn;
    return map[a].address < map[b].address;
  });
  std::vector<read_span> spans;
  for (std::size_t i : order) {
    const register_spec& r = map[i];
    const bool bits = r.fn == function::coil || r.fn == function::discrete;
    const std::uint32_t limit = bits ? max_bits_per_read : max_registers_per_read;
    const std::uint32_t end = static_cast<std::uint32_t>(r.address) + r.width();  // one past
    if (!spans.empty()) {
      read_span& s = spans.back();
      const std::uint32_t span_end = static_cast<std::uint32_t>(s.start) + s.count;
      if (s.fn == r.fn && r.address <= span_end && std::max(span_end, end) - s.start <= limit) {
        s.count = static_cast<std::uint16_t>(std::max(span_end, end) - s.start);
        s.registers.push_back(i);
        continue;
      }
    }
    spans.push_back({r.fn, r.address, static_cast<std::uint16_t>(end - r.address), {i}});
  }
  return spans;
}

double decode_register(const register_spec& spec, const std::uint16_t* words) {
  const unsigned n = spec.width();
  // Most significant word first, whatever the device sent.
  std::array<std::uint16_t, 4> w{};
  for (unsigned i = 0; i < n; ++i) w[i] = spec.order == word_order::big ? words[i] : words[n - 1 - i];
  std::uint64_t raw = 0;
  for (unsigned i = 0; i < n; ++i) raw = (raw << 16U) | w[i];
  double value = 0;
  switch (spec.type) {
    case value_type::u16:
      value = spec.bit ? static_cast<double>((raw >> *spec.bit) & 1U) : static_cast<double>(raw);
      break;
    case value_type::s16: value = static_cast<double>(static_cast<std::int16_t>(raw)); break;
    case value_type::u32: value = static_cast<double>(static_cast<std::uint32_t>(raw)); break;
    case value_type::s32: value = static_cast<double>(static_cast<std::int32_t>(raw)); break;
    case value_type::f32: value = static_cast<double>(std::bit_cast<float>(static_cast<std::uint32_t>(raw))); break;
    case value_type::u64: value = static_cast<double>(raw); break;
    case value_type::bit: value = static_cast<double>(raw & 1U); break;
  }
  return value * spec.scale + spec.offset;
}

double decode_bit(const std::uint8_t* bits) { return bits[0] != 0 ? 1.0 : 0.0; }

map_result parse_register_map(std::string_view text, const std::string& source_name) {
  map_result out;
  drivers::profile_reader r(source_name, out.errors);
  const std::optional<toml::table> document = r.parse(text);
  if (!document) return out;
  for (const auto& [key, node] : *document) {
    if (key.str() != "registers" && key.str() != "description") {
      r.error(node, "unknown key \"" + std::string(key.str()) + "\"; expected [[registers]] tables and a description");
    }
  }
  const toml::array* list = (*document)["registers"].as_array();
  if (list == nullptr || list->empty()) {
    r.error("no [[registers]] table: a profile lists the registers to read");
    return out;
  }
  static const std::set<std::string, std::less<>> own{"function", "address", "type", "word_order", "bit"};
  std::set<std::string> ids;
  for (const toml::node& element : *list) {
    const toml::table* t = element.as_table();
    if (t == nullptr) {
      r.error(element, "expected a [[registers]] table");
      continue;
    }
    r.check_keys(*t, own, "[[registers]]");
    register_spec spec;
    const std::size_t errors_before = r.error_count();
    const std::string fn = r.get<std::string>(*t, "function", "a string").value_or("holding");
    static const std::map<std::string, function, std::less<>> functions{
        {"holding", function::holding}, {"input", function::input}, {"coil", function::coil},
        {"discrete", function::discrete}};
    if (auto f = functions.find(fn); f != functions.end()) {
      spec.fn = f->second;
    } else {
      r.error(*t->get("function"), "\"function\" must be holding, input, coil or discrete");
    }
    const bool bits = spec.fn == function::coil || spec.fn == function::discrete;
    const bool has_bit = t->get("bit") != nullptr;
    static_cast<drivers::sensor_fields&>(spec) = r.read_sensor_fields(*t, ids, bits || has_bit ? "state" : "other");
    if (const toml::node* a = t->get("address")) {
      const auto v = a->value<std::int64_t>();
      if (!v || *v < 0 || *v > 65535) {
        r.error(*a, "\"address\" must be an integer from 0 to 65535 (the protocol address, 0-based)");
      } else {
        spec.address = static_cast<std::uint16_t>(*v);
      }
    } else {
      r.error(*t, "register \"" + spec.id + "\" has no \"address\"");
    }
    const std::string type = r.get<std::string>(*t, "type", "a string").value_or(bits ? "bit" : "u16");
    static const std::map<std::string, value_type, std::less<>> types{
        {"u16", value_type::u16}, {"s16", value_type::s16}, {"u32", value_type::u32}, {"s32", value_type::s32},
        {"f32", value_type::f32}, {"u64", value_type::u64}, {"bit", value_type::bit}};
    if (auto ty = types.find(type); ty != types.end() && ((ty->second == value_type::bit) == bits)) {
      spec.type = ty->second;
    } else {
      r.error(t->get("type") ? *t->get("type") : static_cast<const toml::node&>(*t),
              bits ? "coils and discrete inputs are single bits: \"type\" is \"bit\" or absent"
                   : "\"type\" must be u16, s16, u32, s32, f32 or u64 for holding and input registers");
    }
    if (auto order = r.get<std::string>(*t, "word_order", "a string")) {
      if (*order == "big") {
        spec.order = word_order::big;
      } else if (*order == "little") {
        spec.order = word_order::little;
      } else {
        r.error(*t->get("word_order"), "\"word_order\" must be \"big\" (most significant word first) or \"little\"");
      }
    }
    if (const toml::node* b = t->get("bit")) {
      const auto v = b->value<std::int64_t>();
      if (!v || *v < 0 || *v > 15 || spec.type != value_type::u16) {
        r.error(*b, "\"bit\" must be 0-15, on a u16 register");
      } else {
        spec.bit = static_cast<unsigned>(*v);
      }
    }
    if (static_cast<std::uint32_t>(spec.address) + spec.width() > 65536U) {
      r.error(*t->get("address"), "the value runs past register 65535");
    }
    if (r.error_count() == errors_before) out.registers.push_back(std::move(spec));
  }
  return out;
}

}  // namespace racktel::modbus
