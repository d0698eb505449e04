#include "sim_stream.h"

#include <cmath>

#include "racktel/driver.h"

namespace racktel::bench {
namespace {
constexpr const char* group_names[sim::group_count] = {"power", "thermal", "status"};
constexpr std::int64_t group_intervals_ms[sim::group_count] = {100, 1000, 1000};
}  // namespace

sim_stream::sim_stream(std::uint64_t seed) : model_(seed, {}), groups_(sim::group_count) {
  for (std::uint32_t i = 0; i < model_.sensor_count(); ++i) {
    const sim::sensor_spec s = model_.spec(i);
    sensor_meta m;
    m.driver = "rack";
    m.id = s.id;
    m.name = s.name;
    m.kind = s.kind;
    m.unit = s.unit;
    m.location = parse_location(s.location);
    m.resolution = s.resolution;
    if (std::isfinite(s.warn_high)) m.warn_high = s.warn_high;
    if (std::isfinite(s.crit_high)) m.crit_high = s.crit_high;
    m.group = static_cast<std::uint32_t>(s.read_group);
    m.states = parse_state_names(s.states);
    catalog_.sensors.push_back(std::move(m));
    const auto g = static_cast<std::size_t>(s.read_group);
    groups_[g].push_back(i);
    group_names_.emplace_back(group_names[g]);
    interval_ms_.push_back(static_cast<std::uint32_t>(group_intervals_ms[g]));
  }
  catalog_.version = compute_catalog_version(catalog_.sensors, interval_ms_);
}

std::string sim_stream::encode_catalog(const boot_id& boot, std::int64_t time_ms) const {
  return racktel::encode_catalog(catalog_, boot, time_ms, group_names_, interval_ms_);
}

std::vector<scan> sim_stream::scans(std::int64_t from_ms, std::int64_t to_ms) const {
  std::vector<scan> out;
  const std::int64_t first = (from_ms + 99) / 100 * 100;
  for (std::int64_t t = first; t < to_ms; t += 100) {
    for (std::size_t g = 0; g < groups_.size(); ++g) {
      if (t % group_intervals_ms[g] != 0) continue;
      scan s{t, {}};
      s.readings.reserve(groups_[g].size());
      for (std::uint32_t i : groups_[g]) {
        const double v = model_.value(i, static_cast<double>(t) / 1000.0);
        s.readings.push_back({i, model_.in_range(i, v) ? RACKTEL_READING_OK : RACKTEL_READING_OUT_OF_RANGE, v});
      }
      out.push_back(std::move(s));
    }
  }
  return out;
}

std::size_t sim_stream::reading_count(const std::vector<scan>& scans) {
  std::size_t n = 0;
  for (const auto& s : scans) n += s.readings.size();
  return n;
}

}  // namespace racktel::bench
