#include <doctest/doctest.h>

#include "alarms/alarm_engine.h"
#include "racktel/driver.h"

using namespace racktel;
using namespace std::chrono_literals;

namespace {

sensor_meta temperature(const std::string& id, const std::string& location = "") {
  sensor_meta m;
  m.driver = "rack";
  m.id = id;
  m.kind = RACKTEL_KIND_TEMPERATURE;
  m.unit = "Cel";
  m.resolution = 0.1;
  m.warn_high = 90.0;
  m.crit_high = 105.0;
  m.location = parse_location(location);
  return m;
}

sensor_meta state_sensor(const std::string& id) {
  sensor_meta m;
  m.driver = "rack";
  m.id = id;
  m.kind = RACKTEL_KIND_STATE;
  m.resolution = 1.0;
  return m;
}

// Feeds readings and returns the events, as "raised warning warn_high" / "cleared critical crit_high".
struct fixture {
  alarm_engine engine;
  std::vector<alarm_event> events;

  explicit fixture(std::vector<sensor_meta> sensors, std::vector<alarm_rule> rules = {}) {
    engine.configure(sensors, rules, 0, events);
  }
  std::vector<std::string> feed(std::size_t sensor, std::vector<double> values, std::int64_t start_ms = 1000,
                                std::int64_t step_ms = 1000, std::uint32_t status = RACKTEL_READING_OK) {
    events.clear();
    std::int64_t t = start_ms;
    for (double v : values) {
      engine.observe(sensor, status, v, t, events);
      t += step_ms;
    }
    std::vector<std::string> out;
    for (const auto& e : events) {
      out.push_back(std::string(e.raised ? "raised " : "cleared ") + alarm_severity_name(e.severity) + " " + e.limit);
    }
    return out;
  }
};

}  // namespace

TEST_CASE("a reading past a limit raises, a worse one escalates, and it clears past the hysteresis") {
  alarm_rule rule;
  rule.match = "chip*.die_temp";
  rule.hysteresis = 2.0;
  fixture f({temperature("chip12.die_temp")}, {rule});
  CHECK(f.feed(0, {80, 89.9}).empty());
  CHECK(f.feed(0, {90}) == std::vector<std::string>{"raised warning warn_high"});  // at the limit itself
  CHECK(f.feed(0, {104.9, 105}) == std::vector<std::string>{"raised critical crit_high"});
  // Back below crit_high but within 2 degrees: still critical. Past it: steps down to warning.
  CHECK(f.feed(0, {104, 103.1}).empty());
  CHECK(f.feed(0, {103}) == std::vector<std::string>{"raised warning warn_high"});
  CHECK(f.feed(0, {89, 88.1}).empty());
  CHECK(f.feed(0, {88}) == std::vector<std::string>{"cleared warning warn_high"});
  CHECK(f.engine.active().empty());
}

TEST_CASE("without hysteresis a value flapping around the limit raises and clears each time") {
  fixture f({temperature("chip12.die_temp")});
  CHECK(f.feed(0, {90, 89.9, 90}) ==
        std::vector<std::string>{"raised warning warn_high", "cleared warning warn_high", "raised warning warn_high"});
}

TEST_CASE("an on-delay keeps a short excursion from raising") {
  alarm_rule rule;
  rule.match = "rack/chip12.die_temp";
  rule.on_delay = 3s;
  fixture f({temperature("chip12.die_temp")}, {rule});
  // Two seconds over the limit (three readings, 1 s apart) is not three seconds.
  CHECK(f.feed(0, {95, 95, 95, 80}).empty());
  // Held for three seconds: raised at the reading that completes them.
  const auto events = f.feed(0, {95, 95, 95, 95}, 10000);
  CHECK(events == std::vector<std::string>{"raised warning warn_high"});
  CHECK(f.events[0].time_ms == 13000);
  CHECK(f.engine.active().front().since_ms == 13000);

  alarm_rule by_count;
  by_count.match = "*";
  by_count.on_readings = 3;
  fixture g({temperature("chip12.die_temp")}, {by_count});
  CHECK(g.feed(0, {95, 95, 80, 95, 95}).empty());
  CHECK(g.feed(0, {95}, 6000) == std::vector<std::string>{"raised warning warn_high"});
  // A failed read interrupts a condition that was waiting.
  fixture h({temperature("chip12.die_temp")}, {by_count});
  h.feed(0, {95, 95});
  h.feed(0, {0}, 3000, 1000, RACKTEL_READING_ERROR);
  CHECK(h.feed(0, {95, 95}, 4000).empty());
}

TEST_CASE("low limits mirror high ones, and crossing to the other side is the same alarm with a new limit") {
  alarm_rule rule;
  rule.match = "*";
  rule.warn_low = 10;
  rule.crit_low = 5;
  rule.hysteresis = 1;
  fixture f({temperature("cdu.supply_temp")}, {rule});
  CHECK(f.feed(0, {10}) == std::vector<std::string>{"raised warning warn_low"});
  CHECK(f.feed(0, {5}) == std::vector<std::string>{"raised critical crit_low"});
  CHECK(f.feed(0, {5.9}).empty());
  CHECK(f.feed(0, {6}) == std::vector<std::string>{"raised warning warn_low"});
  CHECK(f.feed(0, {95}) == std::vector<std::string>{"raised warning warn_high"});
  CHECK(f.engine.active().size() == 1);
}

TEST_CASE("state sensors raise with their rule's severity while non-zero") {
  alarm_rule leak;
  leak.match = "tray*.leak";
  leak.severity = alarm_severity::critical;
  fixture f({state_sensor("tray03.leak"), state_sensor("chip12.link0")}, {leak});
  CHECK(f.feed(0, {0, 0}).empty());
  CHECK(f.feed(0, {1}) == std::vector<std::string>{"raised critical state"});
  CHECK(f.events[0].kind == alarm_kind::state);
  CHECK(f.feed(0, {0}) == std::vector<std::string>{"cleared critical state"});
  CHECK(f.feed(1, {1}) == std::vector<std::string>{"raised warning state"});  // no rule: a warning
}

TEST_CASE("a sensor that stops reading is itself an alarm") {
  alarm_rule rule;
  rule.match = "*";
  rule.failing_after = 5s;
  rule.failing_severity = alarm_severity::critical;
  fixture f({temperature("cdu.flow")}, {rule});
  // Errors: raised once they have lasted failing_after.
  CHECK(f.feed(0, {0, 0, 0, 0, 0}, 1000, 1000, RACKTEL_READING_ERROR).empty());
  CHECK(f.feed(0, {0}, 6000, 1000, RACKTEL_READING_ERROR) == std::vector<std::string>{"raised critical failing"});
  CHECK(f.events[0].kind == alarm_kind::failing);
  CHECK_FALSE(f.events[0].value);
  CHECK(f.feed(0, {0}, 7000, 1000, RACKTEL_READING_TIMEOUT).empty());  // raised once
  CHECK(f.feed(0, {20}, 8000) == std::vector<std::string>{"cleared critical failing"});
  // STALE (several failed reads in a row, as the host judges) raises at once.
  fixture g({temperature("cdu.flow")});
  CHECK(g.feed(0, {0}, 1000, 1000, RACKTEL_READING_STALE) == std::vector<std::string>{"raised warning stale"});
  // A failing sensor keeps its last limit alarm: nothing says it has cooled down.
  fixture h({temperature("chip1.die_temp")});
  h.feed(0, {95});
  h.feed(0, {0}, 2000, 1000, RACKTEL_READING_STALE);
  CHECK(h.engine.active().size() == 2);
  CHECK(h.engine.active_count(alarm_severity::warning) == 2);
}

TEST_CASE("rules override the catalog's limits in file order, matched by id and location") {
  alarm_rule all;
  all.match = "*.die_temp";
  all.warn_high = 85;
  alarm_rule tray3;
  tray3.name = "tray 3 runs hot";
  tray3.match = "rack/*";
  tray3.location = {{"tray", "3"}};
  tray3.warn_high = 95;
  alarm_rule quiet;
  quiet.match = "chip13.die_temp";
  quiet.suppress = true;
  const std::vector<alarm_rule> rules{all, tray3, quiet};
  const auto chip12 = temperature("chip12.die_temp", "tray=3,chip=12");
  const auto chip40 = temperature("chip40.die_temp", "tray=10,chip=40");
  CHECK(resolve_alarm_limits(chip12, rules).warn_high == 95.0);
  CHECK(resolve_alarm_limits(chip12, rules).rule == "tray 3 runs hot");
  CHECK(resolve_alarm_limits(chip12, rules).crit_high == 105.0);  // from the catalog
  CHECK(resolve_alarm_limits(chip40, rules).warn_high == 85.0);
  CHECK(resolve_alarm_limits(chip40, rules).rule == "*.die_temp");
  CHECK(resolve_alarm_limits(temperature("chip13.die_temp"), rules).suppressed);
  CHECK(resolve_alarm_limits(temperature("cdu.supply_temp"), rules).rule.empty());
}

TEST_CASE("a new sensor set keeps the alarms of sensors that stay and clears those that left") {
  fixture f({temperature("chip1.die_temp"), temperature("chip2.die_temp")});
  f.feed(0, {95});
  f.feed(1, {110});
  REQUIRE(f.engine.active().size() == 2);
  CHECK(f.engine.active().front().sensor_key == "rack/chip2.die_temp");  // most severe first
  f.events.clear();
  // chip1 leaves (its tray was pulled); chip2 moves to index 0.
  f.engine.configure({temperature("chip2.die_temp"), temperature("chip3.die_temp")}, {}, 5000, f.events);
  REQUIRE(f.events.size() == 1);
  CHECK_FALSE(f.events[0].raised);
  CHECK(f.events[0].sensor_key == "rack/chip1.die_temp");
  CHECK(f.events[0].time_ms == 5000);
  REQUIRE(f.engine.active().size() == 1);
  CHECK(f.engine.active()[0].sensor == 0);
  CHECK(f.engine.active()[0].severity == alarm_severity::critical);
  // A rule that now suppresses the sensor clears its alarm.
  alarm_rule quiet;
  quiet.match = "chip2.*";
  quiet.suppress = true;
  f.events.clear();
  f.engine.configure({temperature("chip2.die_temp")}, {quiet}, 6000, f.events);
  REQUIRE(f.events.size() == 1);
  CHECK(f.events[0].limit == "crit_high");
  CHECK_FALSE(f.events[0].raised);
  CHECK(f.feed(0, {120}).empty());
}

TEST_CASE("rules that cannot work are refused with what is wrong") {
  alarm_rule r;
  CHECK(check_alarm_rule(r) == std::vector<std::string>{"\"match\" must name the sensors, e.g. \"rack/chip*.die_temp\""});
  r.match = "*";
  r.warn_high = 100;
  r.crit_high = 100;
  CHECK(check_alarm_rule(r).empty());  // equal: critical and warning at once is allowed
  r.warn_high = 100.5;
  CHECK(check_alarm_rule(r) ==
        std::vector<std::string>{"\"warn_high\" is above \"crit_high\": a value would be critical before it is a warning"});
  r.warn_high.reset();
  r.hysteresis = -0.1;
  CHECK(check_alarm_rule(r) == std::vector<std::string>{"\"hysteresis\" must not be negative"});
  r.hysteresis = 0;
  r.warn_low = 5;
  r.crit_low = 5.5;
  CHECK(check_alarm_rule(r).size() == 1);
}

TEST_CASE("alarms active when the agent stopped are restored: kept if they still hold, cleared if not") {
  const std::vector<sensor_meta> sensors{temperature("chip1.die_temp"), temperature("chip2.die_temp"),
                                         temperature("cdu.flow")};
  std::vector<active_alarm> before{
      {0, "rack/chip1.die_temp", alarm_kind::limit, alarm_severity::critical, 110.0, "crit_high", 105.0, "", 5000},
      {1, "rack/chip2.die_temp", alarm_kind::limit, alarm_severity::warning, 95.0, "warn_high", 90.0, "", 6000},
      {2, "rack/cdu.flow", alarm_kind::failing, alarm_severity::warning, std::nullopt, "stale", std::nullopt, "", 7000},
      {9, "rack/gone.sensor", alarm_kind::limit, alarm_severity::warning, 1.0, "warn_high", 0.5, "", 8000}};
  fixture f(sensors);
  f.engine.restore(before);
  REQUIRE(f.engine.active().size() == 3);  // the sensor that is gone is not restored
  CHECK(f.engine.active()[0].sensor_key == "rack/chip1.die_temp");
  // Still critical: nothing new, and it keeps its start.
  CHECK(f.feed(0, {111}, 20000).empty());
  CHECK(f.engine.active()[0].since_ms == 5000);
  // Back to normal since the restart: cleared at the first reading.
  CHECK(f.feed(1, {60}, 20000) == std::vector<std::string>{"cleared warning warn_high"});
  CHECK(f.feed(2, {20}, 20000) == std::vector<std::string>{"cleared warning stale"});
  CHECK(f.engine.active().size() == 1);
}
