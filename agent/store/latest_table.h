// The newest reading of every sensor, for the status API and the CLI.
#pragma once

#include <cstdint>
#include <vector>

namespace racktel {

// 24 bytes, one per sensor: the status shares a word with the last good
// time (56 bits of Unix milliseconds reach two million years).
struct latest_reading {
  static constexpr std::uint64_t time_bits = (std::uint64_t{1} << 56U) - 1U;
  double value = 0.0;
  std::int64_t time_ms = 0;           // 0: never read
  std::uint64_t last_ok_ms : 56 = 0;  // last time it had a value, so a stuck sensor is visible
  std::uint64_t status : 8 = 0;       // racktel_reading_status
};
static_assert(sizeof(latest_reading) == 24);

class latest_table {
 public:
  void resize(std::size_t sensors) { entries_.assign(sensors, {}); }
  void update(std::size_t sensor, std::uint32_t status, double value, std::int64_t time_ms, bool has_value) {
    latest_reading& e = entries_[sensor];
    e.status = status & 0xFFU;  // statuses are 0..4
    e.time_ms = time_ms;
    if (has_value) {
      e.value = value;
      e.last_ok_ms = static_cast<std::uint64_t>(time_ms) & latest_reading::time_bits;
    }
  }
  const std::vector<latest_reading>& entries() const { return entries_; }

 private:
  std::vector<latest_reading> entries_;
};

}  // namespace racktel
