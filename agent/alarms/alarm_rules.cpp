#include "alarm_rules.h"

#include <algorithm>
#include <cmath>

#include "racktel/driver.h"

namespace racktel {

const char* alarm_severity_name(alarm_severity s) { return s == alarm_severity::critical ? "critical" : "warning"; }

std::optional<alarm_severity> parse_alarm_severity(std::string_view text) {
  if (text == "warning") return alarm_severity::warning;
  if (text == "critical") return alarm_severity::critical;
  return std::nullopt;
}

bool alarm_rule_matches(const alarm_rule& rule, const sensor_meta& sensor) {
  return sensor_selected(rule.match, rule.location, sensor);
}

alarm_limits resolve_alarm_limits(const sensor_meta& sensor, const std::vector<alarm_rule>& rules) {
  alarm_limits l;
  l.warn_low = sensor.warn_low;
  l.warn_high = sensor.warn_high;
  l.crit_low = sensor.crit_low;
  l.crit_high = sensor.crit_high;
  l.state = sensor.kind == RACKTEL_KIND_STATE;
  // A state sensor whose catalog gives a critical limit is critical when abnormal.
  if (l.state && (l.crit_high || l.crit_low)) l.state_severity = alarm_severity::critical;
  for (const alarm_rule& r : rules) {
    if (!alarm_rule_matches(r, sensor)) continue;
    l.rule = r.name.empty() ? r.match : r.name;
    if (r.warn_low) l.warn_low = r.warn_low;
    if (r.warn_high) l.warn_high = r.warn_high;
    if (r.crit_low) l.crit_low = r.crit_low;
    if (r.crit_high) l.crit_high = r.crit_high;
    if (r.hysteresis) l.hysteresis = *r.hysteresis;
    if (r.on_delay) l.on_delay = *r.on_delay;
    if (r.on_readings) l.on_readings = *r.on_readings;
    if (r.severity) l.state_severity = *r.severity;
    if (r.failing_after) l.failing_after = *r.failing_after;
    if (r.failing_severity) l.failing_severity = *r.failing_severity;
    if (r.suppress) l.suppressed = true;
  }
  return l;
}

std::vector<std::string> check_alarm_rule(const alarm_rule& r) {
  std::vector<std::string> problems;
  if (r.match.empty()) problems.emplace_back("\"match\" must name the sensors, e.g. \"rack/chip*.die_temp\"");
  if (r.warn_high && r.crit_high && *r.warn_high > *r.crit_high) {
    problems.emplace_back("\"warn_high\" is above \"crit_high\": a value would be critical before it is a warning");
  }
  if (r.warn_low && r.crit_low && *r.warn_low < *r.crit_low) {
    problems.emplace_back("\"warn_low\" is below \"crit_low\": a value would be critical before it is a warning");
  }
  if (r.warn_low && r.warn_high && *r.warn_low >= *r.warn_high) {
    problems.emplace_back("\"warn_low\" must be below \"warn_high\"");
  }
  if (r.crit_low && r.crit_high && *r.crit_low >= *r.crit_high) {
    problems.emplace_back("\"crit_low\" must be below \"crit_high\"");
  }
  for (const auto* v : {&r.warn_low, &r.warn_high, &r.crit_low, &r.crit_high, &r.hysteresis}) {
    if (*v && !std::isfinite(**v)) problems.emplace_back("limits must be finite numbers");
  }
  if (r.hysteresis && *r.hysteresis < 0) problems.emplace_back("\"hysteresis\" must not be negative");
  if (r.on_readings && *r.on_readings == 0) problems.emplace_back("\"on_readings\" must be at least 1");
  return problems;
}

}  // namespace racktel
