#include "maintenance.h"

#include <algorithm>

namespace racktel {

std::vector<std::string> check_maintenance_request(const maintenance_request& r) {
  std::vector<std::string> problems;
  if (r.match.empty() && r.location.empty()) {
    problems.emplace_back("say which sensors: --match GLOB (e.g. 'rack/tray03*'), --location KEY=GLOB, or both; "
                          "--match '*' for the whole rack");
  }
  for (const auto& [key, value] : r.location) {
    if (key.empty() || value.empty()) problems.emplace_back("a location is KEY=GLOB, e.g. tray=3");
  }
  if (r.duration <= std::chrono::milliseconds(0)) problems.emplace_back("--for must be a duration such as 2h");
  if (r.duration > max_maintenance_duration) problems.emplace_back("--for is at most 7d");
  if (r.reason.empty()) problems.emplace_back("--reason must say why, e.g. \"tray swap\"");
  if (r.by.empty()) problems.emplace_back("--by must name who is working on the rack");
  return problems;
}

void maintenance_book::restore(std::vector<maintenance_window> windows, std::uint64_t next_id) {
  windows_ = std::move(windows);
  next_id_ = next_id;
  for (const auto& w : windows_) next_id_ = std::max(next_id_, w.id + 1);
}

const maintenance_window& maintenance_book::start(maintenance_request r, std::int64_t now_ms) {
  maintenance_window w;
  w.id = next_id_++;
  w.match = std::move(r.match);
  w.location = std::move(r.location);
  w.reason = std::move(r.reason);
  w.by = std::move(r.by);
  w.start_ms = now_ms;
  w.until_ms = now_ms + r.duration.count();
  windows_.push_back(std::move(w));
  return windows_.back();
}

bool maintenance_book::end(std::uint64_t id) {
  auto it = std::find_if(windows_.begin(), windows_.end(), [&](const auto& w) { return w.id == id; });
  if (it == windows_.end()) return false;
  windows_.erase(it);
  return true;
}

std::vector<maintenance_window> maintenance_book::expire(std::int64_t now_ms) {
  std::vector<maintenance_window> ended;
  std::erase_if(windows_, [&](maintenance_window& w) {
    if (w.until_ms > now_ms) return false;
    ended.push_back(std::move(w));
    return true;
  });
  return ended;
}

std::optional<std::int64_t> maintenance_book::next_expiry_ms() const {
  if (windows_.empty()) return std::nullopt;
  return std::min_element(windows_.begin(), windows_.end(),
                          [](const auto& a, const auto& b) { return a.until_ms < b.until_ms; })
      ->until_ms;
}

std::vector<std::uint64_t> maintenance_book::coverage(const std::vector<sensor_meta>& sensors) const {
  std::vector<std::uint64_t> out(sensors.size(), 0);
  if (windows_.empty()) return out;
  for (std::size_t i = 0; i < sensors.size(); ++i) {
    for (const maintenance_window& w : windows_) {
      if (w.covers(sensors[i])) {
        out[i] = w.id;
        break;
      }
    }
  }
  return out;
}

}  // namespace racktel
