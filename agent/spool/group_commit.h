// When to fdatasync the spool: at a batch boundary, at most once per sync
// interval. Pure, so the policy is tested without a disk or a clock.
#pragma once

#include <chrono>

namespace racktel {

struct sync_decision {
  bool now = false;                   // sync at this batch boundary
  std::chrono::milliseconds wait{0};  // otherwise: sync after this long (if nothing else did)
};

inline sync_decision decide_sync(std::chrono::steady_clock::time_point now,
                                 std::chrono::steady_clock::time_point last_sync,
                                 std::chrono::milliseconds interval) {
  if (now - last_sync >= interval) return {true, std::chrono::milliseconds(0)};
  const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(last_sync + interval - now);
  return {false, std::max(wait, std::chrono::milliseconds(1))};
}

}  // namespace racktel
