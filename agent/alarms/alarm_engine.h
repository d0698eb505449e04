// Judges every reading against its sensor's alarm limits and keeps the set of
// active alarms: hysteresis (a value must come back past the limit by a
// margin to clear), an on-delay (a condition must hold for a time and a
// number of readings to raise), state sensors, and sensors that keep failing.
// Pure: readings and times in, alarm events out; no clock, no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "alarms/alarm_rules.h"

namespace racktel {

enum class alarm_kind : std::uint8_t {
  limit = 1,    // a value at or beyond a warning or critical limit
  state = 2,    // a state sensor reads abnormal (non-zero)
  failing = 3,  // the sensor itself does not read (stale, or errors for failing_after)
};
const char* alarm_kind_name(alarm_kind k);  // "limit", "state", "failing"

// A change of an alarm. A `raised` event for an alarm that is already active
// changes its severity (warning -> critical, or back while it clears), its
// limit, or whether a maintenance window suppresses it.
struct alarm_event {
  // Index in the catalog the engine was configured with; no_sensor for a
  // sensor that has just left it (its key still says which it was).
  static constexpr std::size_t no_sensor = static_cast<std::size_t>(-1);
  std::size_t sensor = 0;
  std::string sensor_key;  // driver/id
  alarm_kind kind = alarm_kind::limit;
  alarm_severity severity = alarm_severity::warning;
  bool raised = true;      // false: cleared
  std::optional<double> value;      // the reading that caused it; none for a failing sensor
  std::string limit;                // "crit_high", "warn_low", "state", "stale", "failing"
  std::optional<double> threshold;  // the limit's value
  std::string rule;                 // the configuration rule that set the limit, empty for the catalog's
  std::int64_t time_ms = 0;         // the reading's time (for a removed sensor, the time of the change)
  std::int64_t since_ms = 0;        // when the alarm was first raised
  std::uint64_t maintenance = 0;    // the maintenance window that suppresses it, 0 when none
};

struct active_alarm {
  std::size_t sensor = 0;
  std::string sensor_key;
  alarm_kind kind = alarm_kind::limit;
  alarm_severity severity = alarm_severity::warning;
  std::optional<double> value;  // the latest reading while active
  std::string limit;
  std::optional<double> threshold;
  std::string rule;
  std::int64_t since_ms = 0;    // when it was raised (a severity change keeps it)
  std::uint64_t maintenance = 0;  // the maintenance window that suppresses it, 0 when none
};

class alarm_engine {
 public:
  // A new sensor set or new rules. Sensors that stay (same driver/id) keep
  // their alarms and pending conditions; alarms of sensors that left, or that
  // a rule now suppresses, are cleared (events appended to `out`).
  void configure(const std::vector<sensor_meta>& sensors, const std::vector<alarm_rule>& rules, std::int64_t now_ms,
                 std::vector<alarm_event>& out);

  // Alarms that were active when the agent last stopped (by sensor key), taken
  // as raised, with their start times: a condition that still holds at the
  // next reading raises nothing new, one that is gone clears. Call after
  // configure(); alarms of sensors not in the catalog are ignored.
  void restore(const std::vector<active_alarm>& alarms);

  // For each sensor, the maintenance window that covers it (0: none), as
  // maintenance_book::coverage says. Active alarms whose window changes are
  // announced again (a `raised` event with the new window). Call after configure().
  void set_maintenance(const std::vector<std::uint64_t>& window_by_sensor, std::int64_t now_ms,
                       std::vector<alarm_event>& out);

  // One reading of sensor `index` (status as on the wire). Events appended to `out`.
  void observe(std::size_t index, std::uint32_t status, double value, std::int64_t time_ms,
               std::vector<alarm_event>& out);

  // Every active alarm: those not suppressed first, then most severe first, then by sensor.
  std::vector<active_alarm> active() const;
  // Active alarms of a severity that no maintenance window suppresses.
  std::size_t active_count(alarm_severity severity) const;
  std::size_t suppressed_count() const;  // active alarms that a maintenance window suppresses
  const alarm_limits& limits(std::size_t index) const { return limit_sets_[sensors_[index].limits]; }
  std::size_t size() const { return sensors_.size(); }
  // What the engine holds for its sensors, for the memory figures.
  std::size_t memory_bytes() const;

 private:
  // Every sensor has a small fixed state; the few with an alarm raised have
  // its details in `raised_`, and the limits are shared by every sensor that
  // has the same (a rack has a handful of kinds of sensor): 56 bytes a
  // sensor, key included, where a full state each took about 430.
  struct condition {
    std::int8_t level = 0;          // 0 none, else the alarm_severity
    std::int8_t side = 0;           // +1 a high limit, -1 a low one, 0 a state
    const char* limit = "";         // "crit_high" ... (static names)
    std::optional<double> threshold;
  };
  struct raised_alarm {
    condition at;
    std::optional<double> value;
    std::int64_t since_ms = 0;
  };
  struct raised_pair {
    std::optional<raised_alarm> value_alarm;  // limit or state
    std::optional<raised_alarm> failing_alarm;
  };
  struct sensor_state {  // 32 bytes
    std::uint32_t limits = 0;  // index in limit_sets_
    // A condition above the active one, waiting for its on-delay and readings
    // (on_readings is at most 65535).
    std::uint16_t pending_readings = 0;
    std::int8_t pending_level = 0;
    bool raised = false;  // it has an entry in raised_
    std::int64_t pending_since_ms = 0;
    // Failing: the first failed reading of the current run, 0 while it reads.
    std::int64_t failing_since_ms = 0;
    std::uint64_t maintenance = 0;  // the window that covers it, 0 when none
  };
  static_assert(sizeof(sensor_state) == 32, "one per sensor");
  // A sensor's whole state, as configure() carries it from one catalog to the next.
  struct carried {
    sensor_state state;
    raised_pair alarms;
    std::string rule;  // of the limits it had, for the events that clear its alarms if it leaves
  };

  std::string key(std::size_t index) const;  // "driver/id"
  raised_pair* raised(std::size_t index);
  const raised_pair* raised(std::size_t index) const;
  raised_pair& raise(std::size_t index);
  void forget_if_clear(std::size_t index);
  condition judge_value(const alarm_limits& l, const raised_pair* r, double value) const;
  void observe_value(std::size_t index, sensor_state& s, double value, std::int64_t time_ms,
                     std::vector<alarm_event>& out);
  void observe_failure(std::size_t index, sensor_state& s, std::uint32_t status, std::int64_t time_ms,
                       std::vector<alarm_event>& out);
  // Cleared events for every alarm of a sensor (leaving, or now suppressed).
  static void clear_all(std::size_t index, std::string_view key, const sensor_state& s, const std::string& rule,
                        const raised_pair& r, std::int64_t time_ms, std::vector<alarm_event>& out);
  static alarm_event event_of(std::size_t index, std::string_view key, const sensor_state& s, const std::string& rule,
                              alarm_kind kind, const raised_alarm& a, bool raised, std::int64_t time_ms);
  alarm_kind value_kind(const sensor_state& s) const {
    return limit_sets_[s.limits].state ? alarm_kind::state : alarm_kind::limit;
  }

  std::vector<sensor_state> sensors_;
  std::vector<alarm_limits> limit_sets_;
  // Every sensor's driver and id: the catalog's own texts, shared (16 bytes a
  // sensor, where a copy of "driver/id" took 25).
  struct sensor_name {
    shared_text driver, id;
  };
  std::vector<sensor_name> keys_;
  std::unordered_map<std::size_t, raised_pair> raised_;  // by sensor index: the sensors with an alarm raised
};

}  // namespace racktel
