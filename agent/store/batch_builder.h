// Collects scans until the batch is due (time) or full (readings), then hands
// them out for encoding. Sequence numbers are assigned here.
#pragma once

#include <cstdint>
#include <vector>

#include "wire/codec.h"

namespace racktel {

class batch_builder {
 public:
  explicit batch_builder(std::uint32_t max_readings, std::uint64_t next_sequence = 1)
      : max_readings_(max_readings), sequence_(next_sequence > 0 ? next_sequence - 1 : 0) {}

  // Returns true when the batch is full and should be flushed now.
  bool add(scan s) {
    readings_ += s.readings.size();
    scans_.push_back(std::move(s));
    return readings_ >= max_readings_;
  }
  bool empty() const { return scans_.empty(); }
  std::size_t readings() const { return readings_; }

  std::vector<scan> take() {
    readings_ = 0;
    return std::exchange(scans_, {});
  }
  std::uint64_t next_sequence() { return ++sequence_; }
  // Continue a numbering persisted elsewhere (the spool): the next batch gets `next`.
  void continue_from(std::uint64_t next) { sequence_ = next > 0 ? next - 1 : 0; }
  std::uint64_t last_sequence() const { return sequence_; }

 private:
  std::uint32_t max_readings_;
  std::vector<scan> scans_;
  std::size_t readings_ = 0;
  std::uint64_t sequence_ = 0;
};

}  // namespace racktel
