// The newest reading of every sensor, for the status API and the CLI.
#pragma once

#include <cstdint>
#include <vector>

namespace racktel {

struct latest_reading {
  double value = 0.0;
  std::uint32_t status = 0;
  std::int64_t time_ms = 0;     // 0: never read
  std::int64_t last_ok_ms = 0;  // last time it had a value, so a stuck sensor is visible
};

class latest_table {
 public:
  void resize(std::size_t sensors) { entries_.assign(sensors, {}); }
  void update(std::size_t sensor, std::uint32_t status, double value, std::int64_t time_ms, bool has_value) {
    latest_reading& e = entries_[sensor];
    e.status = status;
    e.time_ms = time_ms;
    if (has_value) {
      e.value = value;
      e.last_ok_ms = time_ms;
    }
  }
  const std::vector<latest_reading>& entries() const { return entries_; }

 private:
  std::vector<latest_reading> entries_;
};

}  // namespace racktel
