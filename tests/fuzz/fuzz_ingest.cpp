// racktel-ingest's parsers of bytes from outside: a record of its disk buffer
// (which a damaged disk may hand back as anything), a catalog and a batch from
// the broker through the catalog cache and into a remote-write request, an
// ActiveAlarms set into Alertmanager JSON, the topic, and its configuration
// file. Input: u8 selector | the rest.
//   0: u32 catalog length | catalog | buffer record (site, rack, batch)
//   1: topic name
//   2: ingest.toml text
//   3: u32 catalog length | catalog | ActiveAlarms
#include <cstdint>
#include <cstring>
#include <string_view>

#include "ingest/alerts.h"
#include "ingest/ingest_config.h"
#include "ingest/remote_write.h"
#include "ingest/stream.h"

namespace {

// Splits "u32 length | first | second".
bool split(std::string_view bytes, std::string_view& first, std::string_view& second) {
  std::uint32_t length = 0;
  if (bytes.size() < 4) return false;
  std::memcpy(&length, bytes.data(), 4);
  const std::string_view rest = bytes.substr(4);
  first = rest.substr(0, std::min<std::size_t>(length, rest.size()));
  second = rest.substr(first.size());
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  racktel::decode_limits limits;
  limits.max_payload_bytes = 1U << 20U;
  limits.max_sensors = 4096;
  switch (data[0] % 4) {
    case 0: {
      std::string_view catalog_bytes, record_bytes;
      if (!split(bytes, catalog_bytes, record_bytes)) return 0;
      racktel::ingest::catalog_cache cache(4);
      const auto added = cache.add(catalog_bytes, limits);
      auto record = racktel::ingest::decode_buffer_record(record_bytes);
      if (!record) return 0;
      if (record->site.empty() || record->rack.empty()) __builtin_trap();  // the decoder promised names
      auto header = racktel::peek_batch_header(record->batch);
      auto known = cache.find(added.version);
      if (!header || !known) return 0;
      racktel::sensor_catalog catalog = known->decoded.catalog;
      catalog.version = header->catalog_version;  // whatever the batch names
      auto decoded = racktel::decode_data_batch(record->batch, catalog, limits);
      if (!decoded.batch) return 0;
      racktel::ingest::write_request_builder builder;
      const auto counts = builder.add(*decoded.batch, known->series, racktel::ingest::rack_labels(record->site, record->rack));
      if (counts.total() > 3 * decoded.batch->reading_count()) __builtin_trap();
      std::string raw;
      if (!racktel::ingest::snappy_uncompress(builder.take_compressed(), raw)) __builtin_trap();
      break;
    }
    case 1: (void)racktel::ingest::parse_stream_topic(bytes); break;
    case 2: (void)racktel::ingest::parse_ingest_config(bytes, "fuzz.toml"); break;
    case 3: {
      std::string_view catalog_bytes, alarm_bytes;
      if (!split(bytes, catalog_bytes, alarm_bytes)) return 0;
      racktel::ingest::catalog_cache cache(4);
      const auto added = cache.add(catalog_bytes, limits);
      auto set = racktel::decode_active_alarms(alarm_bytes, 4096);
      if (!set) return 0;
      racktel::ingest::alert_book book;
      racktel::ingest::stream_topic rack{racktel::ingest::topic_kind::alarms_active, "s", "r"};
      auto known = cache.find(added.version);
      book.set_alarms(rack, *set, known.get(), 1000);
      (void)book.to_json(book.due(1000), 1000);
      break;
    }
  }
  return 0;
}
