// Decides the status a reading is published with. A sensor that fails
// `stale_after` reads in a row is reported stale, so a dead sensor never looks
// like a steady one; its last good value is never repeated. Pure.
#pragma once

#include <cstdint>
#include <vector>

#include "racktel/driver.h"

namespace racktel {

class sensor_health {
 public:
  explicit sensor_health(std::uint32_t stale_after) : stale_after_(stale_after) {}

  void resize(std::size_t sensors) { failures_.assign(sensors, 0); }

  // Records a read of `sensor` with the driver's (or host's) status and returns
  // the status to publish.
  std::uint32_t observe(std::size_t sensor, std::uint32_t status) {
    std::uint32_t& failures = failures_[sensor];
    const bool has_value = status == RACKTEL_READING_OK || status == RACKTEL_READING_OUT_OF_RANGE;
    if (has_value) {
      failures = 0;
      return status;
    }
    if (failures < UINT32_MAX) ++failures;
    return failures >= stale_after_ ? static_cast<std::uint32_t>(RACKTEL_READING_STALE) : status;
  }

  std::uint32_t consecutive_failures(std::size_t sensor) const { return failures_[sensor]; }

 private:
  std::uint32_t stale_after_;
  std::vector<std::uint32_t> failures_;
};

}  // namespace racktel
