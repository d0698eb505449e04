// A sensor as a driver lists it in its catalog, and the one way it is
// written into the ABI's racktel_sensor_info (the strings stay owned here).
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

#include "racktel/driver.h"
#include "support/sensor_states.h"

namespace racktel::drivers {

struct listed_sensor {
  std::string id, name, unit, location, states;
  std::uint32_t kind = 0;
  double resolution = 1;
  std::optional<double> warn_low, warn_high, crit_low, crit_high;
};

// Location labels "a=1" and "b=2" as "a=1,b=2"; either may be empty.
inline std::string join_location(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return a + "," + b;
}

inline void describe(const listed_sensor& s, racktel_sensor_info* info) {
  info->id = s.id.c_str();
  info->name = s.name.c_str();
  info->kind = s.kind;
  info->unit = s.unit.c_str();
  info->location = s.location.c_str();
  info->resolution = s.resolution;
  info->warn_low = s.warn_low.value_or(NAN);
  info->warn_high = s.warn_high.value_or(NAN);
  info->crit_low = s.crit_low.value_or(NAN);
  info->crit_high = s.crit_high.value_or(NAN);
  info->group = 0;
  set_state_words(info, s.states);
}

}  // namespace racktel::drivers
