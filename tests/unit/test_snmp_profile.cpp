#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "racktel/driver.h"
#include "snmp_profile.h"

using namespace racktel::snmp;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

oid_path o(std::string_view text) { return parse_oid(text).value(); }

varbind num(std::string_view oid, double v) { return {o(oid), {value::type::number, v, {}}}; }
varbind txt(std::string_view oid, std::string t) { return {o(oid), {value::type::text, 0, std::move(t)}}; }

const char* outlet_profile = R"(
description = "test"
[[scalars]]
oid = "1.3.6.1.4.1.99.1.0"
id = "input_voltage"
kind = "voltage"
unit = "V"
scale = 0.1

[[tables]]
id = "outlet"
oid = "1.3.6.1.4.1.99.2.1"
index = ["outlet"]
name_column = 2

[[tables.columns]]
column = 3
id = "current"
kind = "current"
unit = "A"
scale = 0.1

[[tables.columns]]
column = 4
id = "state"
kind = "state"
remap = "2:0,1:1"
states = "0=on,1=off"
)";

}  // namespace

TEST_CASE("OIDs are parsed strictly") {
  CHECK(parse_oid("1.3.6.1.2.1.1.3.0") == oid_path{1, 3, 6, 1, 2, 1, 1, 3, 0});
  CHECK(parse_oid(".1.3.6") == oid_path{1, 3, 6});
  CHECK(format_oid(o("1.3.6.1.4294967295")) == "1.3.6.1.4294967295");
  for (const char* bad : {"", "1", "1..3", "1.3.", "a.b", "1.3.-1", "1.3.4294967296", "1.3 .6", "sysUpTime.0"}) {
    INFO(bad);
    CHECK_FALSE(parse_oid(bad).has_value());
  }
  std::string long_oid = "1";
  for (int i = 0; i < 128; ++i) long_oid += ".1";
  CHECK_FALSE(parse_oid(long_oid).has_value());  // 129 sub-identifiers
}

TEST_CASE("a profile names scalars and table columns") {
  const profile_result r = parse_profile(outlet_profile, "t.toml");
  for (const auto& e : r.errors) INFO(e);
  REQUIRE(r.ok());
  REQUIRE(r.p.scalars.size() == 1);
  CHECK(r.p.scalars[0].oid == o("1.3.6.1.4.1.99.1.0"));
  CHECK(r.p.scalars[0].kind == RACKTEL_KIND_VOLTAGE);
  CHECK(r.p.scalars[0].resolution == doctest::Approx(0.1));
  REQUIRE(r.p.tables.size() == 1);
  CHECK(r.p.tables[0].columns[0].oid == o("1.3.6.1.4.1.99.2.1.3"));
  CHECK(r.p.tables[0].name_column == o("1.3.6.1.4.1.99.2.1.2"));
  CHECK(r.p.tables[0].columns[1].remap == std::vector<std::pair<std::int64_t, std::int64_t>>{{2, 0}, {1, 1}});
}

TEST_CASE("a bad profile is refused with file:line:column") {
  const char* text = R"(
[[scalars]]
oid = "1.3.6.x"
id = "a"

[[tables]]
id = "outlet"
colour = "red"

[[tables.columns]]
column = 3
id = "current"

[[tables.columns]]
oid = "1.3.6.1.9"
id = "current"
remap = "on:off"
)";
  const profile_result r = parse_profile(text, "p.toml");
  for (const auto& e : r.errors) INFO(e);
  REQUIRE(r.errors.size() == 5);
  CHECK(r.errors[0].starts_with("p.toml:3:7: \"oid\" must be a numeric OID"));
  CHECK(r.errors[1].starts_with("p.toml:8:10: unknown key \"colour\" in [[tables]]"));
  CHECK(r.errors[2].starts_with("p.toml:11:10: a column number needs the table's \"oid\""));
  CHECK(r.errors[3].starts_with("p.toml:16:6: a second sensor with the id \"current\""));
  CHECK(r.errors[4].starts_with("p.toml:17:9: expected \"remap\" as raw:reported pairs"));
  CHECK(parse_profile("description = \"x\"\n", "e.toml").errors.at(0).starts_with("e.toml: nothing to read"));
  CHECK(parse_profile("[[tables]\n", "s.toml").errors.at(0).starts_with("s.toml:1:"));
}

TEST_CASE("a GETBULK walk reads all columns of a table together") {
  table_walk w({o("1.3.6.9.1.3"), o("1.3.6.9.1.4")});
  CHECK(w.next_request() == std::vector<oid_path>{o("1.3.6.9.1.3"), o("1.3.6.9.1.4")});
  CHECK(w.repetitions(100) == max_varbinds_per_request / 2);
  CHECK(w.repetitions(10) == 10);
  // Two rows per answer, row by row: (col3 row, col4 row) x 2.
  const std::vector<varbind> first{num("1.3.6.9.1.3.1", 10), num("1.3.6.9.1.4.1", 2), num("1.3.6.9.1.3.2", 20),
                                   num("1.3.6.9.1.4.2", 1)};
  w.absorb(first);
  CHECK_FALSE(w.done());
  CHECK(w.next_request() == std::vector<oid_path>{o("1.3.6.9.1.3.2"), o("1.3.6.9.1.4.2")});
  // Column 3 has one more row; column 4 runs into column 5 (past its end).
  const std::vector<varbind> second{num("1.3.6.9.1.3.7", 70), num("1.3.6.9.1.5.1", 0)};
  w.absorb(second);
  CHECK_FALSE(w.done());
  CHECK(w.next_request() == std::vector<oid_path>{o("1.3.6.9.1.3.7")});
  // The rest of the answer belonged to the finished column and is ignored.
  w.absorb(std::vector<varbind>{{o("1.3.6.9.1.3.7"), {value::type::end_of_view, 0, {}}}});
  CHECK(w.done());
  CHECK_FALSE(w.truncated());
  REQUIRE(w.rows().size() == 3);
  CHECK(w.rows().at(oid_path{1})[0].number == 10);
  CHECK(w.rows().at(oid_path{2})[1].number == 1);
  CHECK(w.rows().at(oid_path{7})[0].number == 70);
  CHECK(w.rows().at(oid_path{7})[1].t == value::type::missing);  // the row has no column 4
  w.restart();
  CHECK(w.rows().empty());
  CHECK(w.next_request().size() == 2);
}

TEST_CASE("a walk ends on an agent that loops, an empty answer or too many rows") {
  table_walk looping({o("1.3.6.9.1.3")});
  looping.absorb(std::vector<varbind>{num("1.3.6.9.1.3.5", 1)});
  looping.absorb(std::vector<varbind>{num("1.3.6.9.1.3.5", 1)});  // the same OID again
  CHECK(looping.done());
  CHECK(looping.truncated());
  table_walk empty({o("1.3.6.9.1.3")});
  empty.absorb({});
  CHECK(empty.done());
  table_walk big({o("1.3.6.9.1.3")}, 3);
  big.absorb(std::vector<varbind>{num("1.3.6.9.1.3.1", 1), num("1.3.6.9.1.3.2", 1), num("1.3.6.9.1.3.3", 1),
                                  num("1.3.6.9.1.3.4", 1)});
  CHECK(big.done());
  CHECK(big.truncated());
  CHECK(big.rows().size() == 3);
}

TEST_CASE("values become readings: scale, remapped states, text numbers, errors") {
  value_spec spec;
  spec.scale = 0.1;
  CHECK(convert(spec, {value::type::number, 2304, {}}).value == doctest::Approx(230.4));
  CHECK(convert(spec, {value::type::text, 0, " 2304 "}).value == doctest::Approx(230.4));
  CHECK(convert(spec, {value::type::text, 0, "n/a"}).status == RACKTEL_READING_ERROR);
  CHECK(convert(spec, {value::type::missing, 0, {}}).status == RACKTEL_READING_ERROR);
  CHECK(convert(spec, {value::type::unusable, 0, {}}).status == RACKTEL_READING_ERROR);
  value_spec state;
  state.remap = {{2, 0}, {1, 1}};
  CHECK(convert(state, {value::type::number, 2, {}}).value == 0);
  CHECK(convert(state, {value::type::number, 1, {}}).value == 1);
  CHECK(convert(state, {value::type::number, 7, {}}).value == 7);  // unlisted: as sent
}

TEST_CASE("ENTITY-SENSOR-MIB values carry their own scale and precision") {
  CHECK(entity_sensor_multiplier(9, 0) == doctest::Approx(1));        // units
  CHECK(entity_sensor_multiplier(9, 1) == doctest::Approx(0.1));      // one decimal
  CHECK(entity_sensor_multiplier(8, 0) == doctest::Approx(0.001));    // milli
  CHECK(entity_sensor_multiplier(10, 2) == doctest::Approx(10));      // kilo, two decimals
  CHECK(entity_sensor_kind(8).kind == RACKTEL_KIND_TEMPERATURE);
  CHECK(std::string(entity_sensor_kind(6).unit) == "W");
  CHECK(entity_sensor_kind(11).factor == 1000);  // cubic metres per minute to L/min
  const auto row = [](double type, double scale, double precision, double v, double status) {
    return std::vector<value>{{value::type::number, type, {}}, {value::type::number, scale, {}},
                              {value::type::number, precision, {}}, {value::type::number, v, {}},
                              {value::type::number, status, {}}};
  };
  CHECK(entity_sensor_reading(row(8, 9, 1, 415, 1)).value == doctest::Approx(41.5));
  CHECK(entity_sensor_reading(row(4, 8, 0, 12050, 1)).value == doctest::Approx(12.05));  // mV
  CHECK(entity_sensor_reading(row(8, 9, 1, 415, 2)).status == RACKTEL_READING_ERROR);    // unavailable
  CHECK(entity_sensor_reading(row(12, 9, 0, 1, 1)).value == 1);                           // true
  CHECK(entity_sensor_reading(row(12, 9, 0, 2, 1)).value == 0);                           // false
  CHECK(entity_sensor_reading({}).status == RACKTEL_READING_ERROR);
}

TEST_CASE("the catalog follows the rows a device has") {
  const profile p = parse_profile(outlet_profile, "t.toml").p;
  std::vector<table_walk> walks = walks_for(p, 100);
  REQUIRE(walks.size() == 1);
  CHECK(walks[0].columns().size() == 3);  // current, state, and the name column
  // Before the device answered: the scalars only.
  auto cat = catalog_for(p, "pdu-a", "rack=r1", walks);
  REQUIRE(cat.size() == 1);
  CHECK(cat[0].id == "pdu-a.input_voltage");
  CHECK(cat[0].location == "device=pdu-a,rack=r1");
  const std::uint64_t before = shape_of(p, walks);
  walks[0].absorb(std::vector<varbind>{num("1.3.6.1.4.1.99.2.1.3.1", 12), num("1.3.6.1.4.1.99.2.1.4.1", 2),
                                       txt("1.3.6.1.4.1.99.2.1.2.1", "gpu-tray-1"), num("1.3.6.1.4.1.99.2.1.3.2", 7),
                                       num("1.3.6.1.4.1.99.2.1.4.2", 1), txt("1.3.6.1.4.1.99.2.1.2.2", "")});
  const std::uint64_t two = shape_of(p, walks);
  CHECK(two != before);
  cat = catalog_for(p, "pdu-a", "", walks);
  REQUIRE(cat.size() == 5);
  CHECK(cat[1].id == "pdu-a.outlet.1.current");
  CHECK(cat[1].name == "pdu-a outlet 1 (gpu-tray-1) current");
  CHECK(cat[1].location == "device=pdu-a,outlet=1");
  CHECK(cat[2].id == "pdu-a.outlet.1.state");
  CHECK(cat[2].states == "0=on,1=off");
  CHECK(cat[3].name == "pdu-a outlet 2 current");
  const std::vector<value> scalars{{value::type::number, 2301, {}}};
  CHECK(read_sensor(p, cat[0], scalars, walks).value == doctest::Approx(230.1));
  CHECK(read_sensor(p, cat[1], scalars, walks).value == doctest::Approx(1.2));
  CHECK(read_sensor(p, cat[2], scalars, walks).value == 0);
  CHECK(read_sensor(p, cat[4], scalars, walks).value == 1);
  // The same rows with other values: the same shape; an outlet more: another.
  walks[0].restart();
  walks[0].absorb(std::vector<varbind>{num("1.3.6.1.4.1.99.2.1.3.1", 99), num("1.3.6.1.4.1.99.2.1.4.1", 1),
                                       txt("1.3.6.1.4.1.99.2.1.2.1", "renamed"), num("1.3.6.1.4.1.99.2.1.3.2", 7),
                                       num("1.3.6.1.4.1.99.2.1.4.2", 1), txt("1.3.6.1.4.1.99.2.1.2.2", "")});
  CHECK(shape_of(p, walks) == two);
  walks[0].absorb(std::vector<varbind>{num("1.3.6.1.4.1.99.2.1.3.3", 1), num("1.3.6.1.4.1.99.2.1.4.3", 2),
                                       txt("1.3.6.1.4.1.99.2.1.2.3", "")});
  CHECK(shape_of(p, walks) != two);
  CHECK(catalog_for(p, "pdu-a", "", walks).size() == 7);
}

TEST_CASE("entity sensors are named by entPhysicalName and typed by entPhySensorType") {
  profile p;
  p.entity_sensors = true;
  std::vector<table_walk> walks = walks_for(p, 100);
  REQUIRE(walks.size() == 2);
  walks[0].absorb(std::vector<varbind>{num("1.3.6.1.2.1.99.1.1.1.1.5", 8), num("1.3.6.1.2.1.99.1.1.1.2.5", 9),
                                       num("1.3.6.1.2.1.99.1.1.1.3.5", 1), num("1.3.6.1.2.1.99.1.1.1.4.5", 387),
                                       num("1.3.6.1.2.1.99.1.1.1.5.5", 1)});
  walks[1].absorb(std::vector<varbind>{txt("1.3.6.1.2.1.47.1.1.1.1.7.5", "Inlet Temp")});
  const auto cat = catalog_for(p, "sw1", "", walks);
  REQUIRE(cat.size() == 1);
  CHECK(cat[0].id == "sw1.entity.5");
  CHECK(cat[0].name == "sw1 Inlet Temp");
  CHECK(cat[0].unit == "Cel");
  CHECK(cat[0].resolution == doctest::Approx(0.1));
  CHECK(read_sensor(p, cat[0], {}, walks).value == doctest::Approx(38.7));
}

TEST_CASE("the shipped SNMP profiles are valid") {
  for (const char* name : {"snmp-apc-rpdu2.toml", "snmp-eaton-epdu.toml", "snmp-entity-sensor.toml"}) {
    const std::string path = std::string(RACKTEL_SOURCE_DIR) + "/config/profiles/" + name;
    const profile_result r = parse_profile(read_file(path), path);
    INFO(name);
    for (const auto& e : r.errors) INFO(e);
    CHECK(r.ok());
  }
}
