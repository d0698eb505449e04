#include <doctest/doctest.h>

#include "commission/commission.h"
#include "racktel/driver.h"
#include "wire/codec.h"

using namespace racktel;

namespace {

sensor_meta sensor(const std::string& id, const std::string& location, std::uint32_t kind = RACKTEL_KIND_TEMPERATURE) {
  sensor_meta m;
  m.driver = "rack";
  m.id = id;
  m.name = id;
  m.kind = kind;
  m.unit = kind == RACKTEL_KIND_STATE ? "" : "Cel";
  m.resolution = 0.1;
  m.location = parse_location(location);
  if (kind == RACKTEL_KIND_STATE) m.states = parse_state_names("0=up,1=down");
  return m;
}

// Two trays of two chips, each chip with a die and two links.
struct small_rack {
  std::vector<sensor_meta> sensors;
  std::vector<latest_reading> readings;
  std::vector<driver_health> drivers{{"rack", "running", ""}};
  std::vector<active_alarm> alarms;

  small_rack() {
    for (int chip = 0; chip < 4; ++chip) {
      const std::string where = "tray=" + std::to_string(chip / 2) + ",chip=" + std::to_string(chip);
      sensors.push_back(sensor("chip" + std::to_string(chip) + ".die_temp", where));
      for (int link = 0; link < 2; ++link) {
        sensors.push_back(sensor("chip" + std::to_string(chip) + ".link" + std::to_string(link),
                                 where + ",link=" + std::to_string(link), RACKTEL_KIND_STATE));
      }
    }
    readings.assign(sensors.size(), latest_reading{});
    for (std::size_t i = 0; i < sensors.size(); ++i) {
      readings[i] = {sensors[i].kind == RACKTEL_KIND_STATE ? 0.0 : 60.0, 1000, 1000, RACKTEL_READING_OK};
    }
  }
  void remove(const std::string& id_prefix) {
    for (std::size_t i = sensors.size(); i-- > 0;) {
      if (sensors[i].id.starts_with(id_prefix)) {
        sensors.erase(sensors.begin() + static_cast<long>(i));
        readings.erase(readings.begin() + static_cast<long>(i));
      }
    }
  }
  latest_reading& reading(const std::string& id) {
    for (std::size_t i = 0; i < sensors.size(); ++i) {
      if (sensors[i].id == id) return readings[i];
    }
    FAIL("no sensor " << id);
    return readings[0];
  }
  commission_report check(const std::string& text) {
    const expectation_file file = parse_expectations(text, "rack.toml");
    for (const auto& e : file.errors) FAIL(e.to_string());
    return evaluate_commission(file.expectations, {&sensors, &readings, alarms, drivers});
  }
};

const char* const expected = R"(
description = "two trays"
[[count]]
name = "2 trays"
label = "tray"
values = "0-1"
[[count]]
name = "4 chips"
label = "chip"
values = "0-3"
[[count]]
name = "2 links per chip"
match = "rack/chip*.link*"
label = "link"
per = "chip"
values = "0,1"
[[state]]
name = "links up"
match = "chip*.link*"
expect = "up"
[[range]]
name = "dies below 85"
match = "rack/chip*.die_temp"
max = 85
[alarms]
max_severity = "warning"
[drivers]
all_running = true
)";

// "name: finding" for every finding, in order.
std::vector<std::string> findings(const commission_report& r) {
  std::vector<std::string> out;
  for (const auto& c : r.checks) {
    for (const auto& f : c.findings) out.push_back(c.name + ": " + f);
  }
  return out;
}

}  // namespace

TEST_CASE("a complete, healthy rack passes every check") {
  small_rack rack;
  const auto report = rack.check(expected);
  CHECK(report.passed);
  CHECK(report.checks.size() == 7);
  CHECK(findings(report).empty());
}

TEST_CASE("each fault fails exactly the checks it breaks, naming what is wrong") {
  SUBCASE("a missing tray") {
    small_rack rack;
    rack.remove("chip2.");
    rack.remove("chip3.");
    CHECK(findings(rack.check(expected)) ==
          std::vector<std::string>{"2 trays: tray 1 missing", "4 chips: chip 2, 3 missing"});
  }
  SUBCASE("a link down, and a link not there") {
    small_rack rack;
    rack.reading("chip1.link0").value = 1.0;
    rack.remove("chip3.link1");
    CHECK(findings(rack.check(expected)) ==
          std::vector<std::string>{"2 links per chip: chip 3: link 1 missing", "links up: chip1.link0: down, expected up"});
  }
  SUBCASE("a hot die, a sensor that does not read, one not read yet") {
    small_rack rack;
    rack.reading("chip0.die_temp").value = 91.26;
    rack.reading("chip1.die_temp").status = RACKTEL_READING_STALE;
    rack.reading("chip2.die_temp").time_ms = 0;
    const auto report = rack.check(expected);
    CHECK(findings(report) == std::vector<std::string>{"dies below 85: chip0.die_temp: 91.3 Cel, expected at most 85 Cel",
                                                       "dies below 85: chip1.die_temp: stale",
                                                       "dies below 85: chip2.die_temp: not read yet"});
    CHECK(report.pending == 1);
    CHECK_FALSE(report.passed);
  }
  SUBCASE("alarms above the allowed severity, and a driver that failed") {
    small_rack rack;
    active_alarm critical;
    critical.sensor = 0;
    critical.sensor_key = "rack/chip0.die_temp";
    critical.severity = alarm_severity::critical;
    critical.value = 110.0;
    critical.limit = "crit_high";
    critical.threshold = 105.0;
    active_alarm warning = critical;
    warning.severity = alarm_severity::warning;
    rack.alarms = {critical, warning};
    rack.drivers.push_back({"bmc-3", "failed", "the driver could not open: connection refused"});
    CHECK(findings(rack.check(expected)) ==
          std::vector<std::string>{
              "no active alarm above warning: critical limit alarm: rack/chip0.die_temp 110 Cel (crit_high 105)",
              "every driver instance running: driver bmc-3: the driver could not open: connection refused"});
  }
}

TEST_CASE("an expectation file with mistakes is refused with file:line:column") {
  auto errors = [](const std::string& text) {
    std::vector<std::string> out;
    for (const auto& e : parse_expectations(text, "x.toml").errors) out.push_back(e.to_string());
    return out;
  };
  CHECK(errors("[[count]]\nname = \"t\"\nlabel = \"tray\"\nvalues = \"0-15\"\nvalus = 3\n") ==
        std::vector<std::string>{"x.toml:5:1: unknown key \"valus\" in [[count]]"});
  CHECK(errors("[[range]]\nname = \"flow\"\nmatch = \"*.flow\"\nmin = 9\nmax = 3\n") ==
        std::vector<std::string>{"x.toml:1:1: \"min\" is above \"max\""});
  CHECK(errors("[alarms]\nmax_severity = \"severe\"\n") ==
        std::vector<std::string>{"x.toml:2:16: \"max_severity\" must be \"none\", \"warning\" or \"critical\""});
  CHECK(errors("[[count]]\nname = \"t\"\nlabel = \"tray\"\nvalues = \"9-1\"\n").size() == 1);
  CHECK(errors("[[state]]\nname = \"s\"\nexpect = \"up\"\n").size() == 1);  // no sensors named
  CHECK(errors("description = \"nothing\"\n").size() == 1);                 // expects nothing
  CHECK(errors("[[count]\n").front().starts_with("x.toml:1:"));             // not TOML
}

TEST_CASE("label value lists") {
  CHECK(expand_values("0-3,7") == std::vector<std::string>{"0", "1", "2", "3", "7"});
  CHECK(expand_values("a, b") == std::vector<std::string>{"a", "b"});
  CHECK(expand_values("3-1").empty());
  CHECK(expand_values("1,,2").empty());
}

TEST_CASE("the published report round-trips, and a hostile one is bounded") {
  published_commission c;
  c.time_ms = 1234;
  c.catalog_version = 0xabc;
  c.by = "alice (tech3)";
  c.expectations = "ironwood.toml: TPU v7";
  c.report.passed = false;
  c.report.checks = {{"16 trays", false, {"tray 7 missing"}}, {"no leak", true, {}}};
  const auto back = decode_commission(encode_commission(c));
  REQUIRE(back);
  CHECK(back->by == c.by);
  CHECK(back->expectations == c.expectations);
  CHECK_FALSE(back->report.passed);
  REQUIRE(back->report.checks.size() == 2);
  CHECK(back->report.checks[0].findings == std::vector<std::string>{"tray 7 missing"});
  CHECK_FALSE(decode_commission(encode_commission(c), 2));
}
