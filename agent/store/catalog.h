// The sensor catalog: every sensor of every driver instance, in one indexed
// list. Data batches refer to sensors by their index here, so names travel
// once, in the retained catalog message, and not with every reading.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "store/location_labels.h"

namespace racktel {

struct sensor_meta {
  std::string driver;  // instance name from the config
  std::string id;      // stable within the instance
  std::string name;
  std::uint32_t kind = 0;  // racktel_sensor_kind
  std::string unit;
  location_labels location;
  double resolution = 1.0;
  std::optional<double> warn_low, warn_high, crit_low, crit_high;
  std::uint32_t group = 0;
  // A state sensor's values in words ({0, "up"}, {1, "down"}); empty when the driver gives none.
  std::vector<std::pair<std::int64_t, std::string>> states;

  std::string key() const { return driver + "/" + id; }  // unique across the rack
};

struct sensor_catalog {
  std::uint64_t version = 0;  // content hash: same sensors, same version, across restarts
  std::vector<sensor_meta> sensors;
};

// "tray=3,chip=12" -> {{"tray","3"},{"chip","12"}}; malformed parts are skipped.
location_labels parse_location(std::string_view text);

// "0=up,1=down" -> {{0,"up"},{1,"down"}}; malformed parts are skipped.
std::vector<std::pair<std::int64_t, std::string>> parse_state_names(std::string_view text);
// What a reading of `meta` means in words ("down"), or empty when its value has none.
std::string state_word(const sensor_meta& meta, double value);
// A value as people read it: the state's word ("link 0 down" reads "down"), else the number and unit ("95.2 Cel").
std::string reading_text(const sensor_meta& meta, double value);

// The one rule for sensor globs (--match, [[alarms]] match): a glob with a
// '/' matches "driver/id", one without matches the id in any driver. An empty
// glob matches everything.
bool sensor_matches(const std::string& glob, const sensor_meta& meta);

// Sensors chosen by a glob and location labels (values are globs), as
// [[alarms]] rules, maintenance windows and commissioning expectations name
// them: the glob matches (see sensor_matches) and every label is present
// with a matching value.
using location_globs = std::vector<std::pair<std::string, std::string>>;
bool sensor_selected(const std::string& glob, const location_globs& location, const sensor_meta& meta);

// What changed between two sensor sets of one driver instance, for the log:
// "tray=14 removed (77 sensors); pmbus_1-0060 added (8 sensors)". Sensors are
// grouped by their first location label, or by the device part of their id
// (before the last '.') when they have none; at most `max_groups` groups are
// named. Empty when nothing changed. Pure.
std::string describe_sensor_changes(std::span<const sensor_meta> before, std::span<const sensor_meta> after,
                                    std::size_t max_groups = 4);

}  // namespace racktel
