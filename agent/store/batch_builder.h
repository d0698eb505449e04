// Collects scans until the batch is due (time) or full (readings), encoding
// each as it comes (held as wire bytes, not readings), then hands out the
// batch. Sequence numbers are assigned here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "wire/codec.h"

namespace racktel {

class batch_builder {
 public:
  explicit batch_builder(std::uint32_t max_readings, std::uint64_t next_sequence = 1)
      : max_readings_(max_readings), sequence_(next_sequence > 0 ? next_sequence - 1 : 0) {}

  // A scan taken under `catalog` (every scan of a batch is under the same
  // one). Returns true when the batch is full and should be flushed now.
  bool add(const scan& s, const sensor_catalog& catalog) {
    encoder_.add(s, catalog);
    return encoder_.readings() >= max_readings_;
  }
  bool empty() const { return encoder_.empty(); }
  std::size_t readings() const { return encoder_.readings(); }
  std::int64_t first_time_ms() const { return encoder_.first_time_ms(); }

  // The batch's DataBatch bytes; the builder is empty again.
  std::string take(const batch_header& header) { return encoder_.finish(header); }
  std::uint64_t next_sequence() { return ++sequence_; }
  // Continue a numbering persisted elsewhere (the spool): the next batch gets `next`.
  void continue_from(std::uint64_t next) { sequence_ = next > 0 ? next - 1 : 0; }
  std::uint64_t last_sequence() const { return sequence_; }

 private:
  std::uint32_t max_readings_;
  data_batch_encoder encoder_;
  std::uint64_t sequence_ = 0;
};

}  // namespace racktel
