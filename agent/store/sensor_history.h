// The recent past of every sensor, for the page's charts: per sensor a ring of
// fixed time steps (by default 180 steps of 5 s: 15 minutes), each holding the
// last reading of its step as a whole number of the sensor's quanta. One flat
// array for the whole rack, allocated once per catalog: 4 bytes a step and 8
// bytes a sensor (720 + 8 bytes a sensor by default). Pure.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

namespace racktel {

class sensor_history {
 public:
  // A step in which nothing was read, and one whose reading had no value.
  static constexpr std::int32_t nothing = std::numeric_limits<std::int32_t>::min();
  static constexpr std::int32_t no_value = nothing + 1;

  explicit sensor_history(std::chrono::milliseconds step = std::chrono::seconds(5), std::size_t steps = 180);

  void resize(std::size_t sensors);  // every sensor empty
  // After the catalog changed: `old_index_of_new[i]` is the old index of new
  // sensor i, or npos for a sensor that is new; the others' pasts are kept.
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  void remap(const std::vector<std::size_t>& old_index_of_new);

  // A reading taken at `time_ms`; `value` counts only when `has_value`. Values
  // beyond what 31 bits of quanta hold are kept at that bound.
  void record(std::size_t sensor, std::int64_t time_ms, bool has_value, double value, double resolution);

  struct point {
    std::int64_t time_ms;          // start of the step
    std::optional<double> value;   // the step's last value, on the quantum
    bool failed = false;           // read in that step without a value
  };
  // The steps from `now_ms - span()` to `now_ms`, oldest first, steps with
  // nothing read left out.
  std::vector<point> read(std::size_t sensor, double resolution, std::int64_t now_ms) const;

  std::chrono::milliseconds step() const { return std::chrono::milliseconds(step_ms_); }
  std::chrono::milliseconds span() const { return std::chrono::milliseconds(step_ms_ * static_cast<std::int64_t>(steps_)); }
  std::size_t sensors() const { return last_step_.size(); }
  std::size_t memory_bytes() const;

 private:
  std::int32_t* ring(std::size_t sensor) { return cells_.data() + sensor * steps_; }
  const std::int32_t* ring(std::size_t sensor) const { return cells_.data() + sensor * steps_; }

  std::int64_t step_ms_;
  std::size_t steps_;
  std::vector<std::int32_t> cells_;      // sensors x steps
  std::vector<std::int64_t> last_step_;  // per sensor: the newest step written (time_ms / step), -1: none
};

}  // namespace racktel
