#include "store/sensor_history.h"

#include <algorithm>
#include <cmath>

#include "store/quantum.h"

namespace racktel {

sensor_history::sensor_history(std::chrono::milliseconds step, std::size_t steps)
    : step_ms_(std::max<std::int64_t>(1, step.count())), steps_(std::max<std::size_t>(1, steps)) {}

void sensor_history::resize(std::size_t sensors) {
  cells_.assign(sensors * steps_, nothing);
  last_step_.assign(sensors, -1);
  cells_.shrink_to_fit();
  last_step_.shrink_to_fit();
}

void sensor_history::remap(const std::vector<std::size_t>& old_index_of_new) {
  std::vector<std::int32_t> cells(old_index_of_new.size() * steps_, nothing);
  std::vector<std::int64_t> last(old_index_of_new.size(), -1);
  for (std::size_t i = 0; i < old_index_of_new.size(); ++i) {
    const std::size_t old = old_index_of_new[i];
    if (old == npos || old >= last_step_.size()) continue;
    std::copy_n(ring(old), steps_, cells.data() + i * steps_);
    last[i] = last_step_[old];
  }
  cells_ = std::move(cells);
  last_step_ = std::move(last);
}

void sensor_history::record(std::size_t sensor, std::int64_t time_ms, bool has_value, double value, double resolution) {
  if (sensor >= last_step_.size() || time_ms < 0) return;
  std::int32_t cell = no_value;
  if (has_value && std::isfinite(value)) {
    const double quanta = quanta_of(value, resolution > 0 ? resolution : 1.0);
    constexpr double high = std::numeric_limits<std::int32_t>::max();
    constexpr double low = no_value + 1;
    cell = static_cast<std::int32_t>(std::clamp(quanta, low, high));
  }
  const std::int64_t step = time_ms / step_ms_;
  std::int64_t& last = last_step_[sensor];
  std::int32_t* r = ring(sensor);
  const auto steps = static_cast<std::int64_t>(steps_);
  if (last < 0 || step <= last - steps || step - last >= steps) {
    // The first reading, a clock set back past the ring, or a gap longer than
    // the ring: nothing in it is of this window any more.
    std::fill_n(r, steps_, nothing);
    last = step;
  } else {
    // The steps skipped since the last reading read nothing.
    for (std::int64_t s = last + 1; s < step; ++s) r[s % steps] = nothing;
    last = std::max(last, step);  // a late reading fills its own step
  }
  r[step % steps] = cell;
}

std::vector<sensor_history::point> sensor_history::read(std::size_t sensor, double resolution,
                                                        std::int64_t now_ms) const {
  std::vector<point> out;
  if (sensor >= last_step_.size() || last_step_[sensor] < 0) return out;
  const auto steps = static_cast<std::int64_t>(steps_);
  const std::int64_t last = last_step_[sensor];
  const std::int64_t newest = std::max(now_ms / step_ms_, last);
  const double quantum = resolution > 0 ? resolution : 1.0;
  for (std::int64_t s = std::max<std::int64_t>(0, newest - steps + 1); s <= last; ++s) {
    const std::int32_t cell = ring(sensor)[s % steps];
    if (cell == nothing) continue;
    point p{s * step_ms_, std::nullopt, cell == no_value};
    if (cell != no_value) p.value = value_of_quanta(cell, quantum);
    out.push_back(p);
  }
  return out;
}

std::size_t sensor_history::memory_bytes() const {
  return cells_.capacity() * sizeof(std::int32_t) + last_step_.capacity() * sizeof(std::int64_t);
}

}  // namespace racktel
