// The sensor catalog: every sensor of every driver instance, in one indexed
// list. Data batches refer to sensors by their index here, so names travel
// once, in the retained catalog message, and not with every reading.
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "store/location_labels.h"
#include "store/shared_text.h"

namespace racktel {

// A state sensor's values in words ({0, "up"}, {1, "down"}), in 8 bytes: one
// shared_text of values and words each ended by a unit separator (0x1f),
// shared by the sensors that have the same list when a text_pool built them
// (a rack's links all say "up" and "down"). A word holding a NUL or a unit
// separator is cut there. Iterates as pairs of value and word.
class state_names {
 public:
  using list = std::vector<std::pair<std::int64_t, std::string>>;
  using value_type = std::pair<std::int64_t, std::string_view>;

  // Over the pairs of text the values and words are kept as (location_labels' form).
  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = state_names::value_type;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = value_type;

    iterator() = default;
    value_type operator*() const;
    iterator& operator++() {
      ++at_;
      return *this;
    }
    iterator operator++(int) {
      iterator before = *this;
      ++*this;
      return before;
    }
    bool operator==(const iterator&) const = default;

   private:
    friend class state_names;
    explicit iterator(location_labels::iterator at) : at_(at) {}
    location_labels::iterator at_;
  };

  state_names() = default;
  state_names(const list& names);
  state_names(std::initializer_list<std::pair<std::int64_t, std::string_view>> names);

  bool empty() const { return pairs_.empty(); }
  std::size_t size() const { return pairs_.size(); }
  iterator begin() const { return iterator(pairs_.begin()); }
  iterator end() const { return iterator(pairs_.end()); }
  value_type operator[](std::size_t i) const { return *std::next(begin(), static_cast<std::ptrdiff_t>(i)); }
  bool operator==(const state_names& other) const { return pairs_ == other.pairs_; }
  // The same list, sharing its text with every other made by `pool`.
  void share(text_pool& pool) { pairs_.share(pool); }

 private:
  location_labels pairs_;  // value (as decimal text), word
};

// What the rack knows of one sensor. A rack holds ten thousand of these, so
// the texts are shared_text (driver name, unit and state words shared between
// sensors by the pools that build a catalog) and absent limits are NaN:
// 96 bytes where std::strings and optionals took 285.
struct sensor_meta {
  shared_text driver;  // instance name from the config
  shared_text id;      // stable within the instance
  shared_text name;
  std::uint32_t kind = 0;   // racktel_sensor_kind
  std::uint32_t group = 0;  // read group within the instance
  shared_text unit;
  location_labels location;
  double resolution = 1.0;
  optional_limit warn_low, warn_high, crit_low, crit_high;
  state_names states;  // empty when the driver gives none

  std::string key() const;  // "driver/id": unique across the rack
};

static_assert(sizeof(void*) != 8 || sizeof(sensor_meta) == 96, "a rack holds ten thousand: mind the size");

struct sensor_catalog {
  std::uint64_t version = 0;  // content hash: same sensors, same version, across restarts
  std::vector<sensor_meta> sensors;
};

// "tray=3,chip=12" -> {{"tray","3"},{"chip","12"}}; malformed parts are skipped.
location_labels parse_location(std::string_view text);

// "0=up,1=down" -> {{0,"up"},{1,"down"}}; malformed parts are skipped.
state_names::list parse_state_names(std::string_view text);
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
