// The sim rack's stream as the agent publishes it, made without an agent:
// the catalog (every field the sim driver reports, as driver instance "rack")
// and the scans of each read group for a span of time, from the same pure
// model (drivers/sim/rack_model.*). Shared by racktel-bench and racktel-fleet.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rack_model.h"
#include "wire/codec.h"

namespace racktel::bench {

class sim_stream {
 public:
  explicit sim_stream(std::uint64_t seed = 1);

  const sensor_catalog& catalog() const { return catalog_; }
  // The retained Catalog message, as the agent encodes it.
  std::string encode_catalog(const boot_id& boot, std::int64_t time_ms) const;
  // Every scan whose time is in [from_ms, to_ms), each group on its own interval
  // grid (power every 100 ms, thermal and status every second), in time order.
  std::vector<scan> scans(std::int64_t from_ms, std::int64_t to_ms) const;
  static std::size_t reading_count(const std::vector<scan>& scans);

 private:
  sim::rack_model model_;
  sensor_catalog catalog_;
  std::vector<std::vector<std::uint32_t>> groups_;
  std::vector<std::string> group_names_;  // per sensor
  std::vector<std::uint32_t> interval_ms_;  // per sensor
};

}  // namespace racktel::bench
