#include "ingest/remote_write.h"

#include <snappy.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <numeric>

#include "export/metric_naming.h"

namespace racktel::ingest {
namespace {

// Protobuf wire format, by hand: the messages are three levels deep and the
// hot path copies pre-encoded labels, which a generated class cannot do.
void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80U) {
    out += static_cast<char>((v & 0x7FU) | 0x80U);
    v >>= 7U;
  }
  out += static_cast<char>(v);
}

std::size_t varint_size(std::uint64_t v) {
  std::size_t n = 1;
  while (v >= 0x80U) {
    v >>= 7U;
    ++n;
  }
  return n;
}

// A length-delimited field: tag, length, bytes.
void put_bytes_field(std::string& out, std::uint8_t tag, std::string_view bytes) {
  out += static_cast<char>(tag);
  put_varint(out, bytes.size());
  out.append(bytes);
}

// Label { string name = 1; string value = 2; } as a TimeSeries.labels (field 1) entry.
std::string encode_label(std::string_view name, std::string_view value) {
  std::string label;
  put_bytes_field(label, 0x0A, name);
  put_bytes_field(label, 0x12, value);
  std::string entry;
  put_bytes_field(entry, 0x0A, label);
  return entry;
}

// Sample { double value = 1; int64 timestamp = 2; } as a TimeSeries.samples (field 2) entry,
// made in a local buffer and appended at once: this runs for every reading.
void put_sample(std::string& out, double value, std::int64_t time_ms) {
  char buffer[32];
  char* at = buffer;
  const auto ts = static_cast<std::uint64_t>(time_ms);
  *at++ = '\x12';
  *at++ = static_cast<char>(9 + 1 + varint_size(ts));  // < 128: one byte
  *at++ = '\x09';
  const auto bits = std::bit_cast<std::uint64_t>(value);
  for (unsigned i = 0; i < 8; ++i) *at++ = static_cast<char>((bits >> (8U * i)) & 0xFFU);
  *at++ = '\x10';
  std::uint64_t v = ts;
  while (v >= 0x80U) {
    *at++ = static_cast<char>((v & 0x7FU) | 0x80U);
    v >>= 7U;
  }
  *at++ = static_cast<char>(v);
  out.append(buffer, static_cast<std::size_t>(at - buffer));
}

std::size_t sample_size(std::int64_t time_ms) {
  const std::size_t inner = 9 + 1 + varint_size(static_cast<std::uint64_t>(time_ms));
  return 1 + varint_size(inner) + inner;
}

constexpr std::uint32_t status_ok = 0, status_out_of_range = 3, status_stale = 4;

}  // namespace

catalog_series::catalog_series(const sensor_catalog& catalog) {
  status_name = encode_label("__name__", reading_status_metric);
  sensors.reserve(catalog.sensors.size());
  for (const sensor_meta& meta : catalog.sensors) {
    series_template t;
    t.value_name = encode_label("__name__", metric_name(meta));
    bool rack_seen = false, site_seen = false;
    for (const auto& [name, value] : series_labels(meta, "", "")) {
      if (name == "rack") {
        t.rack_at = static_cast<std::uint32_t>(t.labels.size());
        rack_seen = true;
      } else if (name == "site") {
        t.site_at = static_cast<std::uint32_t>(t.labels.size());
        site_seen = true;
      } else {
        t.labels += encode_label(name, value);
      }
    }
    if (!rack_seen || !site_seen) t.rack_at = t.site_at = 0;  // cannot happen: series_labels always has both
    sensors.push_back(std::move(t));
  }
}

std::size_t catalog_series::bytes() const {
  std::size_t n = sizeof(*this) + status_name.capacity();
  for (const auto& s : sensors) n += sizeof(s) + s.value_name.capacity() + s.labels.capacity();
  return n;
}

rack_labels::rack_labels(std::string_view site_id, std::string_view rack_id)
    : site(encode_label("site", site_id)), rack(encode_label("rack", rack_id)) {}

sample_counts write_request_builder::add(const decoded_batch& batch, const catalog_series& series,
                                         const rack_labels& rack) {
  sample_counts counts;
  // Scans in time order (a stable sort keeps equal times as sent), then the
  // readings grouped by sensor with a counting sort: each sensor's samples
  // come out in time order, as one series' samples must be.
  std::vector<const scan*>& scans = scans_;
  scans.clear();
  for (const scan& s : batch.scans) scans.push_back(&s);
  std::stable_sort(scans.begin(), scans.end(), [](const scan* a, const scan* b) { return a->time_ms < b->time_ms; });

  const std::size_t sensor_count = series.sensors.size();
  first_.assign(sensor_count + 1, 0);
  std::size_t readings = 0;
  for (const scan* s : scans) {
    for (const reading& r : s->readings) {
      if (r.sensor < sensor_count) ++first_[r.sensor + 1];
    }
    readings += s->readings.size();
  }
  std::partial_sum(first_.begin(), first_.end(), first_.begin());
  // order_ holds (scan number, position) as two u32 per reading; grown, never
  // shrunk or cleared (every slot used is written below).
  if (order_.size() < readings * 2) order_.resize(readings * 2);
  std::vector<std::uint32_t>& fill = fill_;
  fill.assign(first_.begin(), first_.end() - 1);
  for (std::uint32_t si = 0; si < scans.size(); ++si) {
    const auto& rs = scans[si]->readings;
    for (std::uint32_t pi = 0; pi < rs.size(); ++pi) {
      if (rs[pi].sensor >= sensor_count) continue;
      const std::uint32_t slot = fill[rs[pi].sensor]++;
      order_[2 * slot] = si;
      order_[2 * slot + 1] = pi;
    }
  }

  std::string& out = body_;
  // Room for the batch: a sample is at most 22 bytes, a series' labels a few hundred.
  out.reserve(out.size() + readings * 2 * 22 + series.sensors.size() * 8);
  auto open_series = [&](const series_template& t, std::string_view name, std::size_t samples_bytes) {
    const std::size_t size = name.size() + t.labels.size() + rack.rack.size() + rack.site.size() + samples_bytes;
    out += '\x0A';  // WriteRequest.timeseries
    put_varint(out, size);
    out.append(name);
    out.append(t.labels, 0, t.rack_at);
    out.append(rack.rack);
    out.append(t.labels, t.rack_at, t.site_at - t.rack_at);
    out.append(rack.site);
    out.append(t.labels, t.site_at, std::string::npos);
  };

  for (std::size_t sensor = 0; sensor < sensor_count; ++sensor) {
    const std::uint32_t begin = first_[sensor], end = first_[sensor + 1];
    if (begin == end) continue;
    const series_template& t = series.sensors[sensor];
    std::size_t value_bytes = 0, status_bytes = 0;
    std::size_t values = 0, statuses = 0;
    for (std::uint32_t k = begin; k < end; ++k) {
      const scan& s = *scans[order_[2 * k]];
      const reading& r = s.readings[order_[2 * k + 1]];
      if (r.status == status_ok || r.status == status_out_of_range || r.status == status_stale) {
        value_bytes += sample_size(s.time_ms);
        ++values;
      }
      if (r.status != status_ok) {
        status_bytes += sample_size(s.time_ms);
        ++statuses;
      }
    }
    if (values > 0) {
      open_series(t, t.value_name, value_bytes);
      for (std::uint32_t k = begin; k < end; ++k) {
        const scan& s = *scans[order_[2 * k]];
        const reading& r = s.readings[order_[2 * k + 1]];
        if (r.status == status_ok || r.status == status_out_of_range) {
          put_sample(out, r.value, s.time_ms);
          ++counts.values;
        } else if (r.status == status_stale) {
          put_sample(out, std::bit_cast<double>(stale_nan_bits), s.time_ms);
          ++counts.stale_markers;
        }
      }
    }
    if (statuses > 0) {
      open_series(t, series.status_name, status_bytes);
      for (std::uint32_t k = begin; k < end; ++k) {
        const scan& s = *scans[order_[2 * k]];
        const reading& r = s.readings[order_[2 * k + 1]];
        if (r.status != status_ok) {
          put_sample(out, static_cast<double>(r.status), s.time_ms);
          ++counts.statuses;
        }
      }
    }
  }
  samples_ += counts.total();
  return counts;
}

std::string write_request_builder::take_compressed() {
  std::string compressed = snappy_compress(body_);
  body_.clear();
  samples_ = 0;
  return compressed;
}

write_outcome classify_write_response(int status, std::string_view body) {
  if (status >= 200 && status < 300) return write_outcome::accepted;
  if (status >= 400 && status < 500 && status != 429) return write_outcome::refused;
  if (status >= 500 && (body.find("too old sample") != std::string_view::npos ||
                        body.find("out of bounds") != std::string_view::npos)) {
    return write_outcome::refused;
  }
  return write_outcome::retry;
}

std::string snappy_compress(std::string_view raw) {
  std::string out;
  snappy::Compress(raw.data(), raw.size(), &out);
  return out;
}

bool snappy_uncompress(std::string_view compressed, std::string& raw) {
  return snappy::Uncompress(compressed.data(), compressed.size(), &raw);
}

}  // namespace racktel::ingest
