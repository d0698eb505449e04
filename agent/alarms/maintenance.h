// Maintenance windows: a technician working on part of the rack says so, and
// the alarms of the sensors a window covers are marked suppressed (still
// evaluated, shown and published, but not meant to page anyone) until the
// window ends or expires. Pure: times are passed in; the agent keeps the book
// in its state directory and publishes it in AgentState.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/catalog.h"

namespace racktel {

struct maintenance_window {
  std::uint64_t id = 0;         // given by the agent, never reused (continues across restarts)
  std::string match;            // a sensor glob (see sensor_matches)
  location_globs location;      // labels that must match too (values are globs)
  std::string reason;
  std::string by;               // who started it
  std::int64_t start_ms = 0;
  std::int64_t until_ms = 0;    // it ends by itself then

  bool covers(const sensor_meta& sensor) const { return sensor_selected(match, location, sensor); }
  bool operator==(const maintenance_window&) const = default;
};

// A request to open a window, as `racktel maintenance start` sends it.
struct maintenance_request {
  std::string match;
  location_globs location;
  std::chrono::milliseconds duration{0};
  std::string reason;
  std::string by;
};

// The longest window: one forgotten must not silence a rack for good.
inline constexpr std::chrono::hours max_maintenance_duration{7 * 24};

// What is wrong with a request, empty when nothing.
std::vector<std::string> check_maintenance_request(const maintenance_request& request);

class maintenance_book {
 public:
  // Windows kept from the last run (expired ones are dropped at the next expire()).
  void restore(std::vector<maintenance_window> windows, std::uint64_t next_id);

  // Opens a window from a checked request; returns it.
  const maintenance_window& start(maintenance_request request, std::int64_t now_ms);
  // Ends a window early. False when there is no window with that id.
  bool end(std::uint64_t id);
  // Removes and returns the windows whose time is up.
  std::vector<maintenance_window> expire(std::int64_t now_ms);

  const std::vector<maintenance_window>& windows() const { return windows_; }
  std::uint64_t next_id() const { return next_id_; }
  // When the next window ends; nullopt when there is none.
  std::optional<std::int64_t> next_expiry_ms() const;

  // For each sensor, the id of the first (oldest) window that covers it, 0 when none.
  std::vector<std::uint64_t> coverage(const std::vector<sensor_meta>& sensors) const;

 private:
  std::vector<maintenance_window> windows_;  // oldest first
  std::uint64_t next_id_ = 1;
};

}  // namespace racktel
