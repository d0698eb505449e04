// Clock-aligned ticks: a group with a 100 ms interval samples at .000, .100,
// .200 ... of every second, on every rack, without drift. Pure.
#pragma once

#include <chrono>
#include <cstdint>

namespace racktel {

using wall_clock = std::chrono::system_clock;

// The first multiple of `interval` (since the Unix epoch) strictly after `now`.
inline wall_clock::time_point next_aligned_tick(wall_clock::time_point now,
                                                std::chrono::milliseconds interval) {
  const auto since_epoch = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  const auto ticks = since_epoch / interval + 1;
  return wall_clock::time_point(std::chrono::duration_cast<wall_clock::duration>(ticks * interval));
}

// How many ticks were skipped when a tick due at `due` fires at `now`.
inline std::int64_t ticks_missed(wall_clock::time_point due, wall_clock::time_point now,
                                 std::chrono::milliseconds interval) {
  if (now <= due) return 0;
  return std::chrono::duration_cast<std::chrono::milliseconds>(now - due) / interval;
}

}  // namespace racktel
