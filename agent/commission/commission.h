// The commissioning check: is this rack complete and healthy? An expectation
// file (TOML, see docs/commissioning.md) says what the rack must contain, by
// location labels and kinds, and what it must read; the check compares it
// with the agent's catalog, newest readings, active alarms and drivers, and
// lists exactly what is not so. Pure: no clock, no I/O.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "alarms/alarm_engine.h"
#include "store/catalog.h"
#include "store/latest_table.h"

namespace racktel {

// One expectation, as a [[count]], [[state]] or [[range]] table, [alarms] or [drivers].
struct expectation {
  enum class kind { count, state, range, alarms, drivers } what = kind::count;
  std::string name;              // for people: "16 trays", "every ICI link up"
  std::string match;             // sensors: a glob as `racktel status --match` reads it
  location_globs location;       // ... carrying these labels too
  // count: the values `label` must take among the matching sensors (all
  // present, and no others), for each value of `per` when it is set.
  std::string label;
  std::string per;
  std::vector<std::string> values;
  // state: the word (or number) every matching sensor must read.
  std::string state;
  // range: every matching sensor reads within [min, max].
  std::optional<double> min, max;
  // alarms: no active alarm above this severity (nullopt: none at all).
  std::optional<alarm_severity> max_severity;
  bool count_suppressed = true;  // alarms under a maintenance window count too
};

struct expectation_error {
  std::string source;
  int line = 0;
  int column = 0;
  std::string message;
  std::string to_string() const;  // "rack.toml:12:3: ..."
};

struct expectation_file {
  std::string description;
  std::vector<expectation> expectations;
  std::vector<expectation_error> errors;  // empty when the file is usable
};
// `source` names the file in errors.
expectation_file parse_expectations(std::string_view text, const std::string& source);

// "0-15" -> "0".."15"; "a,b" -> "a","b"; "0-3,7" mixes both. Empty on a malformed list.
std::vector<std::string> expand_values(std::string_view text);

// What the rack is now, as the agent sees it.
struct driver_health {
  std::string name;
  std::string state;  // "running", "failed", "disabled"
  std::string error;
};
struct commission_inputs {
  const std::vector<sensor_meta>* sensors = nullptr;
  const std::vector<latest_reading>* readings = nullptr;  // by sensor index
  std::vector<active_alarm> alarms;
  std::vector<driver_health> drivers;
};

struct check_result {
  std::string name;
  bool passed = true;
  std::vector<std::string> findings;  // what is not as expected, one line each
};
struct commission_report {
  bool passed = true;
  // Sensors that the checks need but that have not been read yet: the rack
  // has not settled; the caller waits and asks again.
  std::size_t pending = 0;
  std::vector<check_result> checks;
};
commission_report evaluate_commission(const std::vector<expectation>& expectations, const commission_inputs& rack);

// The report as published (CommissionReport; see wire/codec.h for its bytes).
struct published_commission {
  std::array<std::uint8_t, 16> boot{};
  std::int64_t time_ms = 0;
  std::uint64_t catalog_version = 0;
  std::string by;
  std::string expectations;
  commission_report report;
};


}  // namespace racktel
