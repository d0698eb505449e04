// Alarm rules: what makes a reading an alarm, as the configuration's
// [[alarms]] tables and the drivers' catalog limits say. Pure data and pure
// functions; the engine that keeps alarm state is alarm_engine.h.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/catalog.h"

namespace racktel {

enum class alarm_severity : std::uint8_t { warning = 1, critical = 2 };
const char* alarm_severity_name(alarm_severity s);  // "warning", "critical"
std::optional<alarm_severity> parse_alarm_severity(std::string_view text);

// One [[alarms]] table. Every field it sets overrides what the catalog (or an
// earlier matching rule) said for the sensors it matches.
struct alarm_rule {
  std::string name;   // for people and in events; the match when not given
  std::string match;  // glob on "driver/id", or on the id when it has no '/'
  std::vector<std::pair<std::string, std::string>> location;  // labels that must match (values are globs)
  std::optional<double> warn_low, warn_high, crit_low, crit_high;
  std::optional<double> hysteresis;                 // in the sensor's unit; >= 0
  std::optional<std::chrono::milliseconds> on_delay;  // a condition must hold this long to raise
  std::optional<std::uint32_t> on_readings;         // ... and for this many readings in a row
  std::optional<alarm_severity> severity;           // of a state sensor's abnormal value
  std::optional<std::chrono::milliseconds> failing_after;  // errors this long raise "sensor failing"
  std::optional<alarm_severity> failing_severity;
  bool suppress = false;                            // matched sensors raise nothing (a known-bad sensor)

  bool operator==(const alarm_rule&) const = default;
};

bool alarm_rule_matches(const alarm_rule& rule, const sensor_meta& sensor);

// What applies to one sensor: the catalog's limits, then every matching rule
// in file order, each field from the last rule that sets it.
struct alarm_limits {
  std::optional<double> warn_low, warn_high, crit_low, crit_high;
  double hysteresis = 0.0;
  std::chrono::milliseconds on_delay{0};
  std::uint32_t on_readings = 1;
  bool state = false;  // SENSOR_KIND_STATE: non-zero is abnormal
  alarm_severity state_severity = alarm_severity::warning;
  std::chrono::milliseconds failing_after{30000};
  alarm_severity failing_severity = alarm_severity::warning;
  bool suppressed = false;
  std::string rule;  // the last rule that applied, empty for the catalog alone
};

alarm_limits resolve_alarm_limits(const sensor_meta& sensor, const std::vector<alarm_rule>& rules);

// Checks a rule as the configuration gives it; the problems, empty when none.
std::vector<std::string> check_alarm_rule(const alarm_rule& rule);

}  // namespace racktel
