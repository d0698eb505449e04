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

// Alarm limit names live as static strings: a raised alarm points at one.
const char* canonical_limit(std::string_view name) {
  for (const char* known : {"crit_high", "crit_low", "warn_high", "warn_low", "state", "stale", "failing"}) {
    if (name == known) return known;
  }
  return "unknown";
}

// The bytes that tell two sensors' limits apart, to share one copy.
std::string limits_identity(const alarm_limits& l) {
  std::string out = l.rule;
  auto add = [&out](const auto& v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); };
  for (const auto* limit : {&l.warn_low, &l.warn_high, &l.crit_low, &l.crit_high}) {
    add(limit->has_value());
    add(limit->value_or(0.0));
  }
  add(l.hysteresis);
  add(l.on_delay.count());
  add(l.on_readings);
  add(l.state);
  add(l.state_severity);
  add(l.failing_after.count());
  add(l.failing_severity);
  add(l.suppressed);
  return out;
}

}  // namespace

std::string alarm_engine::key(std::size_t index) const {
  const sensor_name& k = keys_[index];
  std::string text;
  text.reserve(k.driver.size() + 1 + k.id.size());
  return text.append(k.driver).append("/").append(k.id);
}

alarm_engine::raised_pair* alarm_engine::raised(std::size_t index) {
  if (!sensors_[index].raised) return nullptr;
  auto it = raised_.find(index);
  return it == raised_.end() ? nullptr : &it->second;
}

const alarm_engine::raised_pair* alarm_engine::raised(std::size_t index) const {
  if (!sensors_[index].raised) return nullptr;
  auto it = raised_.find(index);
  return it == raised_.end() ? nullptr : &it->second;
}

alarm_engine::raised_pair& alarm_engine::raise(std::size_t index) {
  sensors_[index].raised = true;
  return raised_[index];
}

void alarm_engine::forget_if_clear(std::size_t index) {
  auto it = raised_.find(index);
  if (it == raised_.end() || it->second.value_alarm || it->second.failing_alarm) return;
  raised_.erase(it);
  sensors_[index].raised = false;
}

void alarm_engine::configure(const std::vector<sensor_meta>& sensors, const std::vector<alarm_rule>& rules,
                             std::int64_t now_ms, std::vector<alarm_event>& out) {
  // Only sensors with something to carry (an alarm, a pending or failing run, a window) are remembered.
  std::unordered_map<std::string, carried> previous;
  for (std::size_t i = 0; i < sensors_.size(); ++i) {
    const sensor_state& s = sensors_[i];
    if (!s.raised && s.pending_level == 0 && s.failing_since_ms == 0 && s.maintenance == 0) continue;
    carried c{s, {}, limit_sets_[s.limits].rule};
    if (const raised_pair* r = raised(i)) c.alarms = *r;
    previous.emplace(key(i), std::move(c));
  }

  std::vector<sensor_state> next(sensors.size());
  std::unordered_map<std::size_t, raised_pair> next_raised;
  std::unordered_map<std::string, std::uint32_t> shared;
  limit_sets_.clear();
  keys_.clear();
  keys_.reserve(sensors.size());
  for (const sensor_meta& m : sensors) keys_.push_back({m.driver, m.id});
  sensors_ = std::move(next);
  raised_.clear();
  for (std::size_t i = 0; i < sensors.size(); ++i) {
    sensor_state& s = sensors_[i];
    raised_pair alarms;
    if (auto it = previous.empty() ? previous.end() : previous.find(key(i)); it != previous.end()) {
      s = it->second.state;
      alarms = std::move(it->second.alarms);
      previous.erase(it);
    }
    const alarm_limits limits = resolve_alarm_limits(sensors[i], rules);
    const auto [at, added] = shared.emplace(limits_identity(limits), static_cast<std::uint32_t>(limit_sets_.size()));
    if (added) limit_sets_.push_back(limits);
    s.limits = at->second;
    if (limits.suppressed) {
      clear_all(i, key(i), s, limits.rule, alarms, now_ms, out);
      s = sensor_state{s.limits, 0, 0, false, 0, 0, s.maintenance};
      continue;
    }
    s.raised = alarms.value_alarm || alarms.failing_alarm;
    if (s.raised) raised_.emplace(i, std::move(alarms));
  }
  limit_sets_.shrink_to_fit();
  // Sensors that left the catalog: their alarms end with them; the key says which sensor it was.
  for (auto& [k, c] : previous) clear_all(alarm_event::no_sensor, k, c.state, c.rule, c.alarms, now_ms, out);
}

void alarm_engine::clear_all(std::size_t index, std::string_view k, const sensor_state& s, const std::string& rule,
                             const raised_pair& r, std::int64_t time_ms, std::vector<alarm_event>& out) {
  if (r.value_alarm) {
    // The kind it was raised as: a limit alarm is on a side, a state alarm is not.
    const alarm_kind kind = r.value_alarm->at.side == 0 ? alarm_kind::state : alarm_kind::limit;
    out.push_back(event_of(index, k, s, rule, kind, *r.value_alarm, false, time_ms));
  }
  if (r.failing_alarm) out.push_back(event_of(index, k, s, rule, alarm_kind::failing, *r.failing_alarm, false, time_ms));
}

void alarm_engine::set_maintenance(const std::vector<std::uint64_t>& window_by_sensor, std::int64_t now_ms,
                                   std::vector<alarm_event>& out) {
  for (std::size_t i = 0; i < sensors_.size() && i < window_by_sensor.size(); ++i) {
    sensor_state& s = sensors_[i];
    if (s.maintenance == window_by_sensor[i]) continue;
    s.maintenance = window_by_sensor[i];
    const raised_pair* r = raised(i);
    if (r == nullptr) continue;
    if (r->value_alarm) out.push_back(event_of(i, key(i), s, limit_sets_[s.limits].rule, value_kind(s), *r->value_alarm, true, now_ms));
    if (r->failing_alarm) out.push_back(event_of(i, key(i), s, limit_sets_[s.limits].rule, alarm_kind::failing, *r->failing_alarm, true, now_ms));
  }
}

void alarm_engine::restore(const std::vector<active_alarm>& alarms) {
  if (alarms.empty()) return;
  // Indexed by the alarms' keys (a few), not the sensors' (thousands of
  // strings made at start-up, among the allocations that stay).
  std::unordered_map<std::string_view, std::size_t> sensor_of;
  for (const active_alarm& a : alarms) sensor_of.emplace(a.sensor_key, sensors_.size());
  std::string k;
  for (std::size_t i = 0; i < sensors_.size(); ++i) {
    k.assign(keys_[i].driver).append("/").append(keys_[i].id);
    if (auto it = sensor_of.find(k); it != sensor_of.end()) it->second = i;
  }
  for (const active_alarm& a : alarms) {
    const std::size_t i = sensor_of.at(a.sensor_key);
    if (i == sensors_.size()) continue;  // no longer in the catalog
    sensor_state& s = sensors_[i];
    if (limit_sets_[s.limits].suppressed) continue;
    const std::int8_t side = a.limit.ends_with("_high") ? +1 : a.limit.ends_with("_low") ? -1 : 0;
    raised_alarm restored{{static_cast<std::int8_t>(level_of(a.severity)), side, canonical_limit(a.limit), a.threshold},
                          a.value, a.since_ms};
    raised_pair& r = raise(i);
    if (a.kind == alarm_kind::failing) {
      r.failing_alarm = restored;
      s.failing_since_ms = a.since_ms;
    } else {
      r.value_alarm = restored;
    }
  }
}

alarm_engine::condition alarm_engine::judge_value(const alarm_limits& l, const raised_pair* r, double v) const {
  if (l.state) {
    if (v != 0.0) return {static_cast<std::int8_t>(level_of(l.state_severity)), 0, "state", std::nullopt};
    return {};
  }
  const condition* active = r && r->value_alarm ? &r->value_alarm->at : nullptr;
  // Entering a limit takes the limit itself; staying takes only the limit
  // minus the hysteresis, on the side the active alarm is on.
  auto holds = [&](const std::optional<double>& limit, int level, int side) {
    if (!limit) return false;
    if (side > 0 ? v >= *limit : v <= *limit) return true;
    if (active == nullptr || active->level < level || active->side != side || l.hysteresis <= 0) return false;
    return side > 0 ? v > *limit - l.hysteresis : v < *limit + l.hysteresis;
  };
  if (holds(l.crit_high, 2, +1)) return {2, +1, "crit_high", l.crit_high};
  if (holds(l.crit_low, 2, -1)) return {2, -1, "crit_low", l.crit_low};
  if (holds(l.warn_high, 1, +1)) return {1, +1, "warn_high", l.warn_high};
  if (holds(l.warn_low, 1, -1)) return {1, -1, "warn_low", l.warn_low};
  return {};
}

void alarm_engine::observe(std::size_t index, std::uint32_t status, double value, std::int64_t time_ms,
                           std::vector<alarm_event>& out) {
  if (index >= sensors_.size()) return;
  sensor_state& s = sensors_[index];
  if (limit_sets_[s.limits].suppressed) return;
  if (status == RACKTEL_READING_OK || status == RACKTEL_READING_OUT_OF_RANGE) {
    if (raised_pair* r = raised(index); r && r->failing_alarm) {
      out.push_back(event_of(index, key(index), s, limit_sets_[s.limits].rule, alarm_kind::failing, *r->failing_alarm, false, time_ms));
      r->failing_alarm.reset();
      forget_if_clear(index);
    }
    s.failing_since_ms = 0;
    observe_value(index, s, value, time_ms, out);
  } else {
    observe_failure(index, s, status, time_ms, out);
  }
}

void alarm_engine::observe_value(std::size_t index, sensor_state& s, double value, std::int64_t time_ms,
                                 std::vector<alarm_event>& out) {
  const alarm_limits& l = limit_sets_[s.limits];
  raised_pair* r = raised(index);
  const condition now = judge_value(l, r, value);
  const alarm_kind kind = value_kind(s);
  std::optional<raised_alarm>* active = r && r->value_alarm ? &r->value_alarm : nullptr;
  const int active_level = active ? (*active)->at.level : 0;
  if (active) (*active)->value = value;

  if (now.level > active_level) {
    // Worse than what is raised: it must hold for the on-delay and the readings.
    if (s.pending_level == 0) {
      s.pending_since_ms = time_ms;
      s.pending_readings = 0;
    }
    s.pending_level = now.level;
    if (s.pending_readings < UINT16_MAX) ++s.pending_readings;
    const bool long_enough = time_ms - s.pending_since_ms >= l.on_delay.count();
    if (!long_enough || s.pending_readings < l.on_readings) return;
    const std::int64_t since = active ? (*active)->since_ms : time_ms;
    raised_pair& pair = raise(index);
    pair.value_alarm = raised_alarm{now, value, since};
    s.pending_level = 0;
    out.push_back(event_of(index, key(index), s, limit_sets_[s.limits].rule, kind, *pair.value_alarm, true, time_ms));
    return;
  }
  s.pending_level = 0;  // the worse condition did not last
  if (now.level == active_level) {
    if (active && now.level > 0 && std::string_view(now.limit) != (*active)->at.limit) {
      (*active)->at = now;  // crossed to the other side at the same severity: same alarm, new limit
      out.push_back(event_of(index, key(index), s, limit_sets_[s.limits].rule, kind, **active, true, time_ms));
    }
    return;
  }
  // Better than what is raised, past the hysteresis: clear at once, or step down.
  if (now.level == 0) {
    out.push_back(event_of(index, key(index), s, limit_sets_[s.limits].rule, kind, **active, false, time_ms));
    active->reset();
    forget_if_clear(index);
  } else {
    (*active)->at = now;
    out.push_back(event_of(index, key(index), s, limit_sets_[s.limits].rule, kind, **active, true, time_ms));
  }
}

void alarm_engine::observe_failure(std::size_t index, sensor_state& s, std::uint32_t status, std::int64_t time_ms,
                                   std::vector<alarm_event>& out) {
  s.pending_level = 0;  // a failed read interrupts a condition waiting to be raised
  if (s.failing_since_ms == 0) s.failing_since_ms = time_ms;
  if (const raised_pair* r = raised(index); r && r->failing_alarm) return;
  const alarm_limits& l = limit_sets_[s.limits];
  const bool stale = status == RACKTEL_READING_STALE;
  if (!stale && time_ms - s.failing_since_ms < l.failing_after.count()) return;
  condition c{static_cast<std::int8_t>(level_of(l.failing_severity)), 0, stale ? "stale" : "failing", std::nullopt};
  raised_pair& pair = raise(index);
  pair.failing_alarm = raised_alarm{c, std::nullopt, time_ms};
  out.push_back(event_of(index, key(index), s, limit_sets_[s.limits].rule, alarm_kind::failing, *pair.failing_alarm, true, time_ms));
}

alarm_event alarm_engine::event_of(std::size_t index, std::string_view k, const sensor_state& s, const std::string& rule,
                                   alarm_kind kind, const raised_alarm& a, bool raised, std::int64_t time_ms) {
  return {index,      std::string(k), kind,    severity_of(a.at.level), raised,     a.value,
          a.at.limit, a.at.threshold, rule,    time_ms,                 a.since_ms, s.maintenance};
}

std::vector<active_alarm> alarm_engine::active() const {
  std::vector<active_alarm> list;
  for (const auto& [i, r] : raised_) {
    const sensor_state& s = sensors_[i];
    auto add = [&, i = i](alarm_kind kind, const raised_alarm& a) {
      list.push_back({i, std::string(key(i)), kind, severity_of(a.at.level), a.value, a.at.limit, a.at.threshold,
                      limit_sets_[s.limits].rule, a.since_ms, s.maintenance});
    };
    if (r.value_alarm) add(value_kind(s), *r.value_alarm);
    if (r.failing_alarm) add(alarm_kind::failing, *r.failing_alarm);
  }
  // By sensor index first, so that the order does not depend on the hash map's.
  std::sort(list.begin(), list.end(), [](const active_alarm& a, const active_alarm& b) {
    return std::tie(a.sensor, a.kind) < std::tie(b.sensor, b.kind);
  });
  std::stable_sort(list.begin(), list.end(), [](const active_alarm& a, const active_alarm& b) {
    const bool a_suppressed = a.maintenance != 0, b_suppressed = b.maintenance != 0;
    return std::tie(a_suppressed, b.severity, a.sensor_key) < std::tie(b_suppressed, a.severity, b.sensor_key);
  });
  return list;
}

std::size_t alarm_engine::active_count(alarm_severity severity) const {
  std::size_t n = 0;
  for (const auto& [i, r] : raised_) {
    if (sensors_[i].maintenance != 0) continue;
    if (r.value_alarm && severity_of(r.value_alarm->at.level) == severity) ++n;
    if (r.failing_alarm && severity_of(r.failing_alarm->at.level) == severity) ++n;
  }
  return n;
}

std::size_t alarm_engine::suppressed_count() const {
  std::size_t n = 0;
  for (const auto& [i, r] : raised_) {
    if (sensors_[i].maintenance != 0) n += (r.value_alarm ? 1 : 0) + (r.failing_alarm ? 1 : 0);
  }
  return n;
}

std::size_t alarm_engine::memory_bytes() const {
  return sensors_.capacity() * sizeof(sensor_state) + keys_.capacity() * sizeof(sensor_name) +
         limit_sets_.capacity() * sizeof(alarm_limits) + raised_.size() * (sizeof(raised_pair) + 32);
}

}  // namespace racktel
