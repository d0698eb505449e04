#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "status/metrics_text.h"

using namespace racktel;

namespace {

sensor_meta meta(const std::string& id, std::uint32_t kind, const std::string& unit, double resolution,
                 std::vector<std::pair<std::string, std::string>> location = {}) {
  sensor_meta m;
  m.driver = "rack";
  m.id = id;
  m.name = id;
  m.kind = kind;
  m.unit = unit;
  m.resolution = resolution;
  m.location = location_labels(location);
  return m;
}

latest_reading reading(double v, std::uint32_t status = 0) {
  latest_reading r{v, 1000, status == 0 ? 1000U : 0U};
  r.status = status & 0xFFU;
  return r;
}

std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("/metrics: a gauge per sensor family, named and labelled as racktel-ingest names it") {
  const std::vector<sensor_meta> sensors{
      meta("chip00.die_temp", 1, "Cel", 0.1, {{"tray", "0"}, {"chip", "0"}}),
      meta("chip01.die_temp", 1, "Cel", 0.1, {{"tray", "0"}, {"chip", "1"}}),
      meta("shelf0.psu0.power", 2, "W", 1),
      meta("chip02.die_temp", 1, "Cel", 0.1),  // never read
      meta("cdu.leak", 10, "", 1),
      meta("chip03.die_temp", 1, "Cel", 0.1),  // failing
      meta("chip04.die_temp", 1, "Cel", 0.1),  // stale
  };
  const std::vector<latest_reading> latest{reading(57.83), reading(61.0), reading(3200.4), latest_reading{},
                                           reading(0), reading(0, 1), reading(70, 4)};
  status_report r;
  r.site = "lab";
  r.rack = "r\"01";  // a value to escape
  const std::string text = metrics_text(sensors, latest, r);
  CHECK(count(text, "# TYPE racktel_temperature_celsius gauge\n") == 1);
  CHECK(text.find("racktel_temperature_celsius{chip=\"0\",driver=\"rack\",rack=\"r\\\"01\",sensor=\"chip00.die_temp\","
                  "site=\"lab\",tray=\"0\"} 57.8\n") != std::string::npos);
  CHECK(text.find("racktel_power_watts{driver=\"rack\",rack=\"r\\\"01\",sensor=\"shelf0.psu0.power\",site=\"lab\"} 3200\n") !=
        std::string::npos);
  CHECK(text.find("racktel_state{driver=\"rack\",rack=\"r\\\"01\",sensor=\"cdu.leak\",site=\"lab\"} 0\n") != std::string::npos);
  CHECK(text.find("chip02.die_temp") == std::string::npos);  // never read: nothing
  // Not OK: no value, a status series (1 error, 4 stale).
  CHECK(text.find("racktel_temperature_celsius{driver=\"rack\",rack=\"r\\\"01\",sensor=\"chip03") == std::string::npos);
  CHECK(text.find("racktel_reading_status{driver=\"rack\",rack=\"r\\\"01\",sensor=\"chip03.die_temp\",site=\"lab\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("racktel_reading_status{driver=\"rack\",rack=\"r\\\"01\",sensor=\"chip04.die_temp\",site=\"lab\"} 4\n") !=
        std::string::npos);
  // The family's samples are together: the temperature family ends before the next begins.
  const auto first = text.find("racktel_temperature_celsius{");
  const auto last = text.rfind("racktel_temperature_celsius{");
  CHECK(text.substr(first, last - first).find("# TYPE") == std::string::npos);
  // The agent's figures.
  CHECK(text.find("# TYPE racktel_agent_broker_connected gauge\nracktel_agent_broker_connected{rack=") != std::string::npos);
  CHECK(text.find("# TYPE racktel_agent_dropped_readings_total counter") != std::string::npos);
}

TEST_CASE("/metrics values: shortest round trip, and the text format's NaN and infinities") {
  CHECK(metric_value(57.8) == "57.8");
  CHECK(metric_value(3200) == "3200");
  CHECK(metric_value(-0.001) == "-0.001");
  CHECK(metric_value(NAN) == "NaN");
  CHECK(metric_value(INFINITY) == "+Inf");
  CHECK(metric_value(-INFINITY) == "-Inf");
  CHECK(metric_value(quantised_value(57.83, 0.1)) == "57.8");
  CHECK(metric_value(quantised_value(12.049, 0.05)) == "12.05");
  CHECK(metric_value(quantised_value(1234.4, 360000)) == "0");
  CHECK(metric_value(quantised_value(0.5, 0.25)) == "0.5");
}
