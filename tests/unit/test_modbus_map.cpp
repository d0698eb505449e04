// Modbus register maps: every type and word order, request planning within the
// protocol's limits, and profile files with file:line:column errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <fstream>
#include <sstream>

#include "modbus_map.h"
#include "racktel/driver.h"

using namespace racktel::modbus;

namespace {

register_spec reg(function fn, std::uint16_t address, value_type type, word_order order = word_order::big) {
  register_spec r;
  r.id = "r" + std::to_string(address);
  r.fn = fn;
  r.address = address;
  r.type = type;
  r.order = order;
  return r;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("every type in both word orders") {
  const std::uint16_t s16[] = {0xFF85};  // -123
  CHECK(decode_register(reg(function::holding, 0, value_type::s16), s16) == -123);
  CHECK(decode_register(reg(function::holding, 0, value_type::u16), s16) == 65413);

  const std::uint16_t u32_big[] = {0x0001, 0x86A0};     // 100000
  const std::uint16_t u32_little[] = {0x86A0, 0x0001};
  CHECK(decode_register(reg(function::input, 0, value_type::u32), u32_big) == 100000);
  CHECK(decode_register(reg(function::input, 0, value_type::u32, word_order::little), u32_little) == 100000);

  const std::uint16_t s32_big[] = {0xFFFF, 0xFFFE};  // -2
  CHECK(decode_register(reg(function::input, 0, value_type::s32), s32_big) == -2);
  const std::uint16_t s32_little[] = {0xFFFE, 0xFFFF};
  CHECK(decode_register(reg(function::input, 0, value_type::s32, word_order::little), s32_little) == -2);

  const auto f = std::bit_cast<std::uint32_t>(21.5f);
  const std::uint16_t f32_big[] = {static_cast<std::uint16_t>(f >> 16U), static_cast<std::uint16_t>(f & 0xFFFFU)};
  const std::uint16_t f32_little[] = {f32_big[1], f32_big[0]};
  CHECK(decode_register(reg(function::input, 0, value_type::f32), f32_big) == 21.5);
  CHECK(decode_register(reg(function::input, 0, value_type::f32, word_order::little), f32_little) == 21.5);

  const std::uint16_t u64_big[] = {0x0000, 0x0001, 0x0000, 0x0002};  // 2^32 + 2
  const std::uint16_t u64_little[] = {0x0002, 0x0000, 0x0001, 0x0000};
  CHECK(decode_register(reg(function::input, 0, value_type::u64), u64_big) == 4294967298.0);
  CHECK(decode_register(reg(function::input, 0, value_type::u64, word_order::little), u64_little) == 4294967298.0);

  register_spec scaled = reg(function::input, 0, value_type::s16);
  scaled.scale = 0.1;
  scaled.offset = -40;
  const std::uint16_t raw[] = {655};
  CHECK(decode_register(scaled, raw) == doctest::Approx(25.5));

  register_spec bit = reg(function::holding, 0, value_type::u16);
  bit.bit = 2;
  const std::uint16_t alarms[] = {0b0100};
  CHECK(decode_register(bit, alarms) == 1);
  bit.bit = 1;
  CHECK(decode_register(bit, alarms) == 0);
  const std::uint8_t coil[] = {1};
  CHECK(decode_bit(coil) == 1);
}

TEST_CASE("contiguous registers share requests, within 125 registers, gaps never read") {
  std::vector<register_spec> map;
  map.push_back(reg(function::input, 4, value_type::f32));   // 4-5
  map.push_back(reg(function::input, 0, value_type::s16));   // 0
  map.push_back(reg(function::input, 1, value_type::u32));   // 1-2
  map.push_back(reg(function::input, 3, value_type::u16));   // 3
  map.push_back(reg(function::input, 10, value_type::u16));  // a gap: a second request
  map.push_back(reg(function::holding, 0, value_type::u16)); // another function: a third
  register_spec b0 = reg(function::holding, 0, value_type::u16);
  b0.id = "bit";
  b0.bit = 3;
  map.push_back(b0);  // the same register again: no new request
  const auto spans = plan_reads(map);
  REQUIRE(spans.size() == 3);
  CHECK(spans[0].fn == function::holding);
  CHECK(spans[0].count == 1);
  CHECK(spans[0].registers.size() == 2);
  CHECK(spans[1].fn == function::input);
  CHECK(spans[1].start == 0);
  CHECK(spans[1].count == 6);
  CHECK(spans[1].registers == std::vector<std::size_t>{1, 2, 3, 0});
  CHECK(spans[2].start == 10);

  // 300 contiguous registers: 125 + 125 + 50.
  std::vector<register_spec> wide;
  for (std::uint16_t a = 0; a < 300; ++a) wide.push_back(reg(function::holding, a, value_type::u16));
  const auto parts = plan_reads(wide);
  REQUIRE(parts.size() == 3);
  CHECK(parts[0].count == 125);
  CHECK(parts[1].start == 125);
  CHECK(parts[2].count == 50);
  // A 2-register value never straddles two requests.
  std::vector<register_spec> pairs;
  for (std::uint16_t a = 0; a < 200; a += 2) pairs.push_back(reg(function::input, a, value_type::u32));
  for (const auto& s : plan_reads(pairs)) CHECK(s.count % 2 == 0);
  // Coils: up to 2000 bits a request.
  std::vector<register_spec> coils;
  for (std::uint16_t a = 0; a < 2500; ++a) coils.push_back(reg(function::coil, a, value_type::bit));
  CHECK(plan_reads(coils).front().count == 2000);
}

TEST_CASE("the shipped profiles are valid and read in few requests") {
  for (const auto& [name, requests] : {std::pair{"cdu-generic.toml", 3U}, std::pair{"power-shelf-generic.toml", 2U}}) {
    const std::string path = std::string(RACKTEL_SOURCE_DIR) + "/config/profiles/" + name;
    const map_result m = parse_register_map(read_file(path), path);
    INFO(name);
    for (const auto& e : m.errors) INFO(e);
    REQUIRE(m.ok());
    CHECK(m.registers.size() >= 10);
    CHECK(plan_reads(m.registers).size() == requests);  // as docs/drivers.md says
  }
  const auto cdu = parse_register_map(read_file(std::string(RACKTEL_SOURCE_DIR) + "/config/profiles/cdu-generic.toml"), "cdu");
  const auto leak = std::find_if(cdu.registers.begin(), cdu.registers.end(), [](const auto& r) { return r.id == "leak"; });
  REQUIRE(leak != cdu.registers.end());
  CHECK(leak->kind == RACKTEL_KIND_STATE);
  CHECK(leak->type == value_type::bit);
  CHECK(leak->states == "0=none,1=detected");
}

TEST_CASE("a profile's errors name file, line and column") {
  const char* text = R"([[registers]]
id = "a"
function = "input"
address = 70000
type = "s16"

[[registers]]
id = "b"
function = "coil"
address = 1
type = "u32"

[[registers]]
id = "a"
address = 2
colour = "red"
word_order = "middle"
)";
  const map_result m = parse_register_map(text, "p.toml");
  REQUIRE(m.errors.size() == 5);
  CHECK(m.errors[0] == "p.toml:4:11: \"address\" must be an integer from 0 to 65535 (the protocol address, 0-based)");
  CHECK(m.errors[1].starts_with("p.toml:11:8: coils and discrete inputs are single bits"));
  CHECK(m.errors[2].starts_with("p.toml:16:10: unknown key \"colour\""));
  CHECK(m.errors[3].starts_with("p.toml:14:6: a second sensor with the id \"a\""));
  CHECK(m.errors[4].starts_with("p.toml:17:14: \"word_order\" must be"));
  CHECK(parse_register_map("registers = 3", "q.toml").errors.size() == 1);
  CHECK(parse_register_map("[[registers]\n", "q.toml").errors[0].starts_with("q.toml:1:"));
}
