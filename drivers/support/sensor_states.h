// racktel_sensor_info.states arrived in ABI 1.3: a host built before it hands
// a smaller struct, with no room for the field. One check, for every driver
// that describes its state sensors' values in words.
#pragma once

#include <cstddef>
#include <string>

#include "racktel/driver.h"

namespace racktel::drivers {

inline void set_state_words(racktel_sensor_info* info, const char* words) {
  if (info->struct_size >= offsetof(racktel_sensor_info, states) + sizeof(info->states)) {
    info->states = words == nullptr || *words == '\0' ? nullptr : words;
  }
}
inline void set_state_words(racktel_sensor_info* info, const std::string& words) {
  set_state_words(info, words.c_str());
}

}  // namespace racktel::drivers
