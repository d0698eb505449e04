// Bounded numbers and durations from a driver's config view: absent keeps
// the default, a wrong type is already an error (the host said where), and a
// value out of range is an error against its key saying what was expected.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "racktel/driver.h"

namespace racktel::drivers {

// `expected`: "a duration from 10ms to 60s". Returns false after an error.
inline bool read_duration(const racktel_config* config, const char* key, std::int64_t min_ms, std::int64_t max_ms,
                          const char* expected, std::chrono::milliseconds& value) {
  std::int64_t ms = value.count();
  if (config->get_duration_ms(config->ctx, key, &ms) < 0) return false;
  if (ms < min_ms || ms > max_ms) {
    config->error(config->ctx, key, (std::string("expected ") + expected).c_str());
    return false;
  }
  value = std::chrono::milliseconds(ms);
  return true;
}

inline bool read_int(const racktel_config* config, const char* key, std::int64_t min, std::int64_t max,
                     const char* expected, std::int64_t& value) {
  std::int64_t v = value;
  if (config->get_int(config->ctx, key, &v) < 0) return false;
  if (v < min || v > max) {
    config->error(config->ctx, key, (std::string("expected ") + expected).c_str());
    return false;
  }
  value = v;
  return true;
}

}  // namespace racktel::drivers
