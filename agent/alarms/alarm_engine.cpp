#include "alarm_engine.h"

#include <algorithm>
#include <tuple>
#include <unordered_map>

#include "racktel/driver.h"

namespace racktel {

const char* alarm_kind_name(alarm_kind k) {
  switch (k) {
    case alarm_kind::limit: return "limit";
    case alarm_kind::state: return "state";
    case alarm_kind::failing: return "failing";
  }
  return "unknown";
}

namespace {

int level_of(alarm_severity s) { return static_cast<int>(s); }
alarm_severity severity_of(int level) { return level >= 2 ? alarm_severity::critical : alarm_severity::warning; }

}  // namespace

void alarm_engine::configure(const std::vector<sensor_meta>& sensors, const std::vector<alarm_rule>& rules,
                             std::int64_t now_ms, std::vector<alarm_event>& out) {
  std::unordered_map<std::string, sensor_state> previous;
  previous.reserve(sensors_.size());
  for (std::size_t i = 0; i < sensors_.size(); ++i) previous.emplace(sensors_[i].key, std::move(sensors_[i]));

  std::vector<sensor_state> next(sensors.size());
  for (std::size_t i = 0; i < sensors.size(); ++i) {
    sensor_state& s = next[i];
    if (auto it = previous.find(sensors[i].key()); it != previous.end()) {
      s = std::move(it->second);
      previous.erase(it);
    }
    s.key = sensors[i].key();
    s.limits = resolve_alarm_limits(sensors[i], rules);
    if (s.limits.suppressed) {
      clear_all(i, s, now_ms, out);
      s = sensor_state{s.key, s.limits, {}, 0, 0, 0, 0, {}, s.maintenance};
    }
  }
  // Sensors that left the catalog: their alarms end with them; the key says which sensor it was.
  for (auto& [key, s] : previous) clear_all(alarm_event::no_sensor, s, now_ms, out);
  sensors_ = std::move(next);
}

void alarm_engine::clear_all(std::size_t index, const sensor_state& s, std::int64_t time_ms,
                             std::vector<alarm_event>& out) {
  if (s.value_alarm) {
    // The kind it was raised as: a limit alarm is on a side, a state alarm is not.
    const alarm_kind kind = s.value_alarm->at.side == 0 ? alarm_kind::state : alarm_kind::limit;
    out.push_back(event_of(index, s, kind, *s.value_alarm, false, time_ms));
  }
  if (s.failing_alarm) out.push_back(event_of(index, s, alarm_kind::failing, *s.failing_alarm, false, time_ms));
}

void alarm_engine::set_maintenance(const std::vector<std::uint64_t>& window_by_sensor, std::int64_t now_ms,
                                   std::vector<alarm_event>& out) {
  for (std::size_t i = 0; i < sensors_.size() && i < window_by_sensor.size(); ++i) {
    sensor_state& s = sensors_[i];
    if (s.maintenance == window_by_sensor[i]) continue;
    s.maintenance = window_by_sensor[i];
    if (s.value_alarm) {
      out.push_back(event_of(i, s, s.limits.state ? alarm_kind::state : alarm_kind::limit, *s.value_alarm, true, now_ms));
    }
    if (s.failing_alarm) out.push_back(event_of(i, s, alarm_kind::failing, *s.failing_alarm, true, now_ms));
  }
}

void alarm_engine::restore(const std::vector<active_alarm>& alarms) {
  std::unordered_map<std::string_view, std::size_t> by_key;
  for (std::size_t i = 0; i < sensors_.size(); ++i) by_key.emplace(sensors_[i].key, i);
  for (const active_alarm& a : alarms) {
    auto it = by_key.find(a.sensor_key);
    if (it == by_key.end()) continue;
    sensor_state& s = sensors_[it->second];
    if (s.limits.suppressed) continue;
    const int side = a.limit.ends_with("_high") ? +1 : a.limit.ends_with("_low") ? -1 : 0;
    raised_alarm restored{{level_of(a.severity), a.limit, a.threshold, side}, a.value, a.since_ms};
    if (a.kind == alarm_kind::failing) {
      s.failing_alarm = restored;
      s.failing_since_ms = a.since_ms;
    } else {
      s.value_alarm = restored;
    }
  }
}

alarm_engine::condition alarm_engine::judge_value(const sensor_state& s, double v) const {
  const alarm_limits& l = s.limits;
  if (l.state) {
    if (v != 0.0) return {level_of(l.state_severity), "state", std::nullopt, 0};
    return {};
  }
  const condition* active = s.value_alarm ? &s.value_alarm->at : nullptr;
  // Entering a limit takes the limit itself; staying takes only the limit
  // minus the hysteresis, on the side the active alarm is on.
  auto holds = [&](const std::optional<double>& limit, int level, int side) {
    if (!limit) return false;
    if (side > 0 ? v >= *limit : v <= *limit) return true;
    if (active == nullptr || active->level < level || active->side != side || l.hysteresis <= 0) return false;
    return side > 0 ? v > *limit - l.hysteresis : v < *limit + l.hysteresis;
  };
  if (holds(l.crit_high, 2, +1)) return {2, "crit_high", l.crit_high, +1};
  if (holds(l.crit_low, 2, -1)) return {2, "crit_low", l.crit_low, -1};
  if (holds(l.warn_high, 1, +1)) return {1, "warn_high", l.warn_high, +1};
  if (holds(l.warn_low, 1, -1)) return {1, "warn_low", l.warn_low, -1};
  return {};
}

void alarm_engine::observe(std::size_t index, std::uint32_t status, double value, std::int64_t time_ms,
                           std::vector<alarm_event>& out) {
  if (index >= sensors_.size()) return;
  sensor_state& s = sensors_[index];
  if (s.limits.suppressed) return;
  if (status == RACKTEL_READING_OK || status == RACKTEL_READING_OUT_OF_RANGE) {
    if (s.failing_alarm) {
      out.push_back(event_of(index, s, alarm_kind::failing, *s.failing_alarm, false, time_ms));
      s.failing_alarm.reset();
    }
    s.failing_since_ms = 0;
    observe_value(index, s, value, time_ms, out);
  } else {
    observe_failure(index, s, status, time_ms, out);
  }
}

void alarm_engine::observe_value(std::size_t index, sensor_state& s, double value, std::int64_t time_ms,
                                 std::vector<alarm_event>& out) {
  const condition now = judge_value(s, value);
  const alarm_kind kind = s.limits.state ? alarm_kind::state : alarm_kind::limit;
  const int active_level = s.value_alarm ? s.value_alarm->at.level : 0;
  if (s.value_alarm) s.value_alarm->value = value;

  if (now.level > active_level) {
    // Worse than what is raised: it must hold for the on-delay and the readings.
    if (s.pending_level == 0) {
      s.pending_since_ms = time_ms;
      s.pending_readings = 0;
    }
    s.pending_level = now.level;
    ++s.pending_readings;
    const bool long_enough = time_ms - s.pending_since_ms >= s.limits.on_delay.count();
    if (!long_enough || s.pending_readings < s.limits.on_readings) return;
    const std::int64_t since = s.value_alarm ? s.value_alarm->since_ms : time_ms;
    s.value_alarm = raised_alarm{now, value, since};
    s.pending_level = 0;
    out.push_back(event_of(index, s, kind, *s.value_alarm, true, time_ms));
    return;
  }
  s.pending_level = 0;  // the worse condition did not last
  if (now.level == active_level) {
    if (s.value_alarm && now.level > 0 && now.limit != s.value_alarm->at.limit) {
      s.value_alarm->at = now;  // crossed to the other side at the same severity: same alarm, new limit
      out.push_back(event_of(index, s, kind, *s.value_alarm, true, time_ms));
    }
    return;
  }
  // Better than what is raised, past the hysteresis: clear at once, or step down.
  if (now.level == 0) {
    out.push_back(event_of(index, s, kind, *s.value_alarm, false, time_ms));
    s.value_alarm.reset();
  } else {
    s.value_alarm->at = now;
    out.push_back(event_of(index, s, kind, *s.value_alarm, true, time_ms));
  }
}

void alarm_engine::observe_failure(std::size_t index, sensor_state& s, std::uint32_t status, std::int64_t time_ms,
                                   std::vector<alarm_event>& out) {
  s.pending_level = 0;  // a failed read interrupts a condition waiting to be raised
  if (s.failing_since_ms == 0) s.failing_since_ms = time_ms;
  if (s.failing_alarm) return;
  const bool stale = status == RACKTEL_READING_STALE;
  if (!stale && time_ms - s.failing_since_ms < s.limits.failing_after.count()) return;
  condition c{level_of(s.limits.failing_severity), stale ? "stale" : "failing", std::nullopt, 0};
  s.failing_alarm = raised_alarm{c, std::nullopt, time_ms};
  out.push_back(event_of(index, s, alarm_kind::failing, *s.failing_alarm, true, time_ms));
}

alarm_event alarm_engine::event_of(std::size_t index, const sensor_state& s, alarm_kind kind, const raised_alarm& a,
                                   bool raised, std::int64_t time_ms) {
  return {index,      s.key,          kind,          severity_of(a.at.level), raised,     a.value,
          a.at.limit, a.at.threshold, s.limits.rule, time_ms,                 a.since_ms, s.maintenance};
}

std::vector<active_alarm> alarm_engine::active() const {
  std::vector<active_alarm> list;
  for (std::size_t i = 0; i < sensors_.size(); ++i) {
    const sensor_state& s = sensors_[i];
    auto add = [&](alarm_kind kind, const raised_alarm& a) {
      list.push_back({i, s.key, kind, severity_of(a.at.level), a.value, a.at.limit, a.at.threshold, s.limits.rule,
                      a.since_ms, s.maintenance});
    };
    if (s.value_alarm) add(s.limits.state ? alarm_kind::state : alarm_kind::limit, *s.value_alarm);
    if (s.failing_alarm) add(alarm_kind::failing, *s.failing_alarm);
  }
  std::stable_sort(list.begin(), list.end(), [](const active_alarm& a, const active_alarm& b) {
    const bool a_suppressed = a.maintenance != 0, b_suppressed = b.maintenance != 0;
    return std::tie(a_suppressed, b.severity, a.sensor_key) < std::tie(b_suppressed, a.severity, b.sensor_key);
  });
  return list;
}

std::size_t alarm_engine::active_count(alarm_severity severity) const {
  std::size_t n = 0;
  for (const sensor_state& s : sensors_) {
    if (s.maintenance != 0) continue;
    if (s.value_alarm && severity_of(s.value_alarm->at.level) == severity) ++n;
    if (s.failing_alarm && severity_of(s.failing_alarm->at.level) == severity) ++n;
  }
  return n;
}

std::size_t alarm_engine::suppressed_count() const {
  std::size_t n = 0;
  for (const sensor_state& s : sensors_) {
    if (s.maintenance != 0) n += (s.value_alarm ? 1 : 0) + (s.failing_alarm ? 1 : 0);
  }
  return n;
}

}  // namespace racktel
