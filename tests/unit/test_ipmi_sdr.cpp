#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ipmi_sdr.h"
#include "racktel/driver.h"

using namespace racktel::ipmi;

namespace {

// A full sensor record (IPMI 2.0 table 43-1) of a linear analog sensor:
// value = M x raw x 10^R. Thresholds are raw bytes; 0 means "not readable".
std::vector<std::uint8_t> full_record(std::uint16_t id, std::uint8_t number, const std::string& name,
                                      std::uint8_t base_unit, std::int16_t m, std::int8_t r_exp,
                                      std::uint8_t unc, std::uint8_t uc, std::uint8_t unr, std::uint8_t lnc = 0,
                                      std::uint8_t sensor_type = 0x01, std::uint8_t event_type = 0x01) {
  std::vector<std::uint8_t> r(48, 0);
  r[0] = static_cast<std::uint8_t>(id & 0xFF);
  r[1] = static_cast<std::uint8_t>(id >> 8);
  r[2] = 0x51;  // SDR version
  r[3] = 0x01;  // full sensor record
  r[5] = 0x20;  // owner: the BMC
  r[7] = number;
  r[8] = 0x07;  // system board
  r[9] = 0x01;
  r[10] = 0x7F;
  r[11] = 0x48;  // thresholds readable (bits 3:2 = 01), auto re-arm
  r[12] = sensor_type;
  r[13] = event_type;
  std::uint8_t readable = 0;
  if (lnc != 0) readable |= 0x01;
  if (unc != 0) readable |= 0x08;
  if (uc != 0) readable |= 0x10;
  if (unr != 0) readable |= 0x20;
  r[18] = readable;
  r[20] = 0x00;  // unsigned, no rate, no modifier, not a percentage
  r[21] = base_unit;
  r[23] = 0x00;  // linear
  r[24] = static_cast<std::uint8_t>(m & 0xFF);
  r[25] = static_cast<std::uint8_t>((m >> 2) & 0xC0);
  r[29] = static_cast<std::uint8_t>((r_exp & 0x0F) << 4);
  r[34] = 0xFF;  // sensor maximum
  r[36] = unr;
  r[37] = uc;
  r[38] = unc;
  r[41] = lnc;
  r[47] = static_cast<std::uint8_t>(0xC0 | name.size());  // 8-bit ASCII
  for (char ch : name) r.push_back(static_cast<std::uint8_t>(ch));
  r[4] = static_cast<std::uint8_t>(r.size() - 5);
  return r;
}

}  // namespace

TEST_CASE("a full SDR record gives the sensor, its unit, resolution and thresholds") {
  const auto bytes = full_record(7, 1, "GPU0 Temp", 1, 1, 0, 0x70, 0x90, 0xa0);
  const auto s = parse_sdr_record(bytes.data(), bytes.size());
  REQUIRE(s);
  CHECK(s->record_id == 7);
  CHECK(s->number == 1);
  CHECK(s->name == "GPU0 Temp");
  CHECK(s->threshold());
  CHECK(s->base_unit == 1);
  CHECK(s->resolution == doctest::Approx(1.0));
  REQUIRE(s->upper_non_critical);
  CHECK(*s->upper_non_critical == doctest::Approx(112));
  CHECK(*s->upper_critical == doctest::Approx(144));
  CHECK(*s->upper_non_recoverable == doctest::Approx(160));
  CHECK_FALSE(s->lower_critical);
  CHECK(s->record == bytes);

  const auto volts = full_record(8, 2, "P12V", 4, 5, -2, 0, 0, 0, 200);
  const auto v = parse_sdr_record(volts.data(), volts.size());
  REQUIRE(v);
  CHECK(v->resolution == doctest::Approx(0.05));
  REQUIRE(v->lower_non_critical);
  CHECK(*v->lower_non_critical == doctest::Approx(10.0));
}

TEST_CASE("records that are not sensors, and malformed ones, are skipped") {
  auto bytes = full_record(7, 1, "GPU0 Temp", 1, 1, 0, 0x70, 0x90, 0xa0);
  auto locator = bytes;
  locator[3] = 0x12;  // a management controller device locator
  CHECK_FALSE(parse_sdr_record(locator.data(), locator.size()));
  CHECK_FALSE(parse_sdr_record(bytes.data(), 4));
  CHECK_FALSE(parse_sdr_record(nullptr, 0));
  auto short_name = bytes;
  short_name[47] = 0xC0 | 16;  // says 16 characters, has 9
  const auto s = parse_sdr_record(short_name.data(), short_name.size());
  if (s) CHECK(s->name.size() <= 16);  // FreeIPMI may refuse it or cut it; never read past the record
}

TEST_CASE("IPMI units map to racktel's kinds, converting where the unit differs") {
  CHECK(map_unit(1, false, 0).kind == RACKTEL_KIND_TEMPERATURE);
  const unit_mapping f = map_unit(2, false, 0);
  CHECK(f.unit == "Cel");
  CHECK(212 * f.scale + f.offset == doctest::Approx(100));
  CHECK(map_unit(4, false, 0).unit == "V");
  CHECK(map_unit(18, false, 0).kind == RACKTEL_KIND_FAN_SPEED);
  CHECK(map_unit(37, false, 4).kind == RACKTEL_KIND_FLOW);
  CHECK(map_unit(37, false, 0).kind == RACKTEL_KIND_OTHER);
  CHECK(map_unit(15, false, 0).scale == doctest::Approx(6.894757));
  CHECK(map_unit(0, true, 0).kind == RACKTEL_KIND_RATIO);
  CHECK(map_unit(99, false, 0).unit.empty());
}

TEST_CASE("a threshold sensor's state is the worst threshold crossed") {
  CHECK(state_of(0) == threshold_state::ok);
  CHECK(state_of(0x08) == threshold_state::non_critical);         // upper non-critical
  CHECK(state_of(0x08 | 0x10) == threshold_state::critical);      // and upper critical
  CHECK(state_of(0x01 | 0x02 | 0x04) == threshold_state::non_recoverable);
  CHECK(state_of(0xFFC0) == threshold_state::ok);                 // bits beyond the six thresholds
}

TEST_CASE("the catalog: a value and the BMC's verdict per threshold sensor, ids from names") {
  std::vector<sdr_sensor> sdrs;
  for (const auto& bytes : {full_record(1, 1, "GPU0 Temp", 1, 1, 0, 0x70, 0x90, 0xa0),
                            full_record(2, 2, "GPU0 Temp", 2, 1, 0, 0, 0, 0),   // the same name again, Fahrenheit
                            full_record(3, 3, "PSU1 Status", 0, 1, 0, 0, 0, 0, 0, 0x08, 0x6F),
                            full_record(4, 4, "", 4, 1, 0, 0, 0, 0)}) {
    auto s = parse_sdr_record(bytes.data(), bytes.size());
    REQUIRE(s);
    sdrs.push_back(*s);
  }
  const auto cat = catalog_for("tray3", "tray=3", sdrs);
  REQUIRE(cat.size() == 7);
  CHECK(cat[0].id == "tray3.gpu0_temp");
  CHECK(cat[0].name == "tray3 GPU0 Temp");
  CHECK(cat[0].unit == "Cel");
  CHECK(cat[0].location == "bmc=tray3,tray=3");
  CHECK(*cat[0].warn_high == doctest::Approx(112));
  CHECK(*cat[0].crit_high == doctest::Approx(144));
  CHECK_FALSE(cat[0].warn_low);
  CHECK(cat[1].id == "tray3.gpu0_temp.state");
  CHECK(cat[1].kind == RACKTEL_KIND_STATE);
  CHECK(cat[1].bmc_state);
  CHECK(cat[2].id == "tray3.gpu0_temp_2");     // a clashing name gets its record id
  CHECK(cat[2].mapping.offset != 0);           // Fahrenheit converted
  CHECK(cat[4].id == "tray3.psu1_status");     // a discrete sensor: one state sensor
  CHECK(cat[4].kind == RACKTEL_KIND_STATE);
  CHECK(cat[5].id == "tray3.sensor4");         // no name: its number
  CHECK(id_of("  CPU1 -- VCore (mV)  ") == "cpu1_vcore_mv");
}
