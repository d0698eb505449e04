// The Prometheus remote-write 1.0 request body, encoded straight from a
// decoded batch: a protobuf WriteRequest (TimeSeries of Labels and Samples)
// compressed with snappy's block format. Pure.
//
// The labels of every sensor are encoded once per catalog version (a fleet of
// identical racks shares one catalog), with the rack's site and rack labels
// spliced in where their names sort, so a reading costs a copy, not a
// re-encoding of its labels.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "store/catalog.h"
#include "wire/codec.h"

namespace racktel::ingest {

// One sensor's series, without the rack: the encoded __name__ Label of its
// value series, then its other Labels with the site and rack left out at
// `rack_at` and `site_at` (offsets into `labels`, rack_at <= site_at).
struct series_template {
  std::string value_name;
  std::string labels;
  std::uint32_t rack_at = 0;
  std::uint32_t site_at = 0;
};

// Every sensor of one catalog version.
struct catalog_series {
  explicit catalog_series(const sensor_catalog& catalog);
  std::vector<series_template> sensors;
  std::string status_name;  // the encoded __name__ Label of racktel_reading_status
  std::size_t bytes() const;
};

// The site and rack Labels of one rack, encoded.
struct rack_labels {
  rack_labels(std::string_view site, std::string_view rack);
  std::string site;
  std::string rack;
};

// Prometheus' staleness marker: a NaN with this bit pattern ends a series
// at its timestamp (a STALE reading).
inline constexpr std::uint64_t stale_nan_bits = 0x7ff0000000000002ULL;

// Which series a reading becomes (docs/ingest.md "Readings that are not OK"):
//   OK            a value sample
//   OUT_OF_RANGE  a value sample and a status sample (3)
//   ERROR, TIMEOUT a status sample (1, 2), no value
//   STALE         a staleness marker on the value series and a status sample (4)
struct sample_counts {
  std::size_t values = 0;
  std::size_t statuses = 0;
  std::size_t stale_markers = 0;
  std::size_t total() const { return values + statuses + stale_markers; }
};

// A WriteRequest being filled with whole batches.
class write_request_builder {
 public:
  // Appends the batch's readings (every sensor's samples in time order).
  sample_counts add(const decoded_batch& batch, const catalog_series& series, const rack_labels& rack);
  std::size_t samples() const { return samples_; }
  std::size_t bytes() const { return body_.size(); }
  bool empty() const { return body_.empty(); }
  // The uncompressed WriteRequest; for tests.
  const std::string& body() const { return body_; }
  // The snappy-compressed body, ready to POST; the builder starts over.
  std::string take_compressed();

 private:
  std::string body_;
  std::size_t samples_ = 0;
  // Scratch, kept between batches: readings regrouped by sensor.
  std::vector<std::uint32_t> first_;
  std::vector<std::uint32_t> fill_;
  std::vector<std::uint32_t> order_;
  std::vector<const scan*> scans_;
};

// What an endpoint's answer means for the request.
//   accepted  2xx
//   refused   4xx but 429: the data itself is refused (too old, malformed
//             labels); sending it again would be refused again
//   retry     5xx, 429, or no answer (status 0): the receiver is unwell
// Prometheus 2.42 answers 500 for a sample older than its out-of-order window
// allows ("too old sample"); retried, it would block its shard for ever, so
// a 5xx that says so is a refusal.
enum class write_outcome { accepted, retry, refused };
write_outcome classify_write_response(int status, std::string_view body);

// snappy block format, as remote write wants it.
std::string snappy_compress(std::string_view raw);
bool snappy_uncompress(std::string_view compressed, std::string& raw);

}  // namespace racktel::ingest
