// For drivers whose sensors are all read together: the one read group "all",
// at the instance's interval, as the driver ABI's group functions.
#pragma once

#include <cstdint>

#include "racktel/driver.h"

namespace racktel::drivers {

inline const char* const single_group_names[] = {"all", nullptr};

inline std::uint32_t single_group_count(void*) noexcept { return 1; }

inline int single_group_info(void*, std::uint32_t index, racktel_group_info* info) noexcept {
  if (index != 0) return RACKTEL_DRIVER_FAILED;
  info->name = single_group_names[0];
  info->default_interval_ms = 0;  // the instance's interval
  return RACKTEL_DRIVER_OK;
}

}  // namespace racktel::drivers
