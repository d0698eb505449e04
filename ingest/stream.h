// What racktel-ingest knows about the stream, as pure logic: which topic is
// which, the catalogs it has seen, the batches it has already taken, and the
// batches that wait for a catalog. No I/O; the daemon (ingest_daemon.cpp)
// feeds it messages and the clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ingest/remote_write.h"
#include "wire/codec.h"

namespace racktel::ingest {

// racktel/v1/<site>/<rack>/<what>
enum class topic_kind { data, catalog, state, alarms_active, other };
struct stream_topic {
  topic_kind kind = topic_kind::other;
  std::string site;
  std::string rack;
  std::string rack_key() const { return site + "/" + rack; }
};
// nullopt for a topic outside racktel/v1/<site>/<rack>/...
std::optional<stream_topic> parse_stream_topic(std::string_view topic);

// A decoded catalog with its remote-write labels, shared by every rack that
// publishes the same sensors (the version is a hash of the sensor list).
struct known_catalog {
  known_catalog(decoded_catalog decoded, std::string payload);
  decoded_catalog decoded;
  std::string payload;  // as published, for the buffer's catalog files
  catalog_series series;
  std::size_t bytes() const;
};

// Catalogs by version, the least recently used dropped beyond `max_catalogs`.
class catalog_cache {
 public:
  explicit catalog_cache(std::size_t max_catalogs = 1024) : max_(max_catalogs) {}
  struct added {
    std::uint64_t version = 0;
    bool is_new = false;
    std::string error;  // not a valid catalog
  };
  // Decodes only when the version is not known yet: a fleet re-publishing the
  // same catalog costs a peek, not a decode.
  added add(std::string_view payload, const decode_limits& limits);
  std::shared_ptr<const known_catalog> find(std::uint64_t version);
  bool contains(std::uint64_t version) const { return by_version_.contains(version); }
  std::size_t size() const { return by_version_.size(); }
  std::size_t bytes() const;

 private:
  std::size_t max_;
  std::list<std::uint64_t> recency_;  // most recent first
  struct entry {
    std::shared_ptr<const known_catalog> catalog;
    std::list<std::uint64_t>::iterator position;
  };
  std::unordered_map<std::uint64_t, entry> by_version_;
};

// The version field of a Catalog payload without decoding it; nullopt when
// the payload does not start the way a Catalog does.
std::optional<std::uint64_t> peek_catalog_version(std::string_view payload);

// Batches already taken, by rack, agent run (boot id) and sequence: at-least-
// once delivery repeats batches, and a consumer drops the repeats. Each run
// keeps the ranges of sequences it has seen (live data is one range that
// grows; a replayed backlog fills in below it), at most `max_ranges` per run
// (the oldest forgotten first) and runs not heard from for `forget_after`
// are forgotten: a repeat older than that is let through (the time-series
// database ignores a sample it already has with the same value).
class dedup_window {
 public:
  dedup_window(std::size_t max_ranges = 4096, std::chrono::milliseconds forget_after = std::chrono::hours(2))
      : max_ranges_(max_ranges), forget_after_(forget_after) {}
  // True when this batch was seen before; records it otherwise.
  bool seen(const std::string& rack_key, const boot_id& boot, std::uint64_t sequence, std::int64_t now_ms);
  // Drops runs idle for longer than forget_after.
  void forget_idle(std::int64_t now_ms);
  std::size_t runs() const { return runs_.size(); }

 private:
  struct run {
    std::map<std::uint64_t, std::uint64_t> ranges;  // first -> last, disjoint, not adjacent
    std::int64_t last_seen_ms = 0;
  };
  std::size_t max_ranges_;
  std::chrono::milliseconds forget_after_;
  std::map<std::pair<std::string, boot_id>, run> runs_;
};

// Batches whose catalog has not arrived yet, by the version they need.
// Bounded by count and by age: what overflows or waits too long comes back
// from add()/expire() to be counted and dropped.
class waiting_room {
 public:
  waiting_room(std::size_t max_batches, std::chrono::milliseconds max_wait)
      : max_batches_(max_batches), max_wait_(max_wait) {}
  // Returns the batch pushed out to make room, if any.
  std::optional<std::uint64_t> add(std::uint64_t catalog_version, std::uint64_t item, std::int64_t now_ms);
  // The items waiting for `catalog_version`, oldest first; they leave the room.
  std::vector<std::uint64_t> release(std::uint64_t catalog_version);
  std::vector<std::uint64_t> expire(std::int64_t now_ms);
  std::size_t size() const { return waiting_.size(); }

 private:
  struct waiter {
    std::uint64_t version;
    std::uint64_t item;
    std::int64_t since_ms;
  };
  std::size_t max_batches_;
  std::chrono::milliseconds max_wait_;
  std::deque<waiter> waiting_;  // oldest first
};

// A received batch as racktel-ingest keeps it in its buffer (the agent's
// spool library): the rack it came from and the DataBatch bytes, unchanged.
//   u8 format (1), u8 site length, site, u8 rack length, rack, DataBatch
std::string encode_buffer_record(std::string_view site, std::string_view rack, std::string_view batch);
struct buffer_record {
  std::string site;
  std::string rack;
  std::string_view batch;  // into the bytes given to decode
};
// nullopt with `error` set when the bytes are not a record.
std::optional<buffer_record> decode_buffer_record(std::string_view bytes, std::string* error = nullptr);

}  // namespace racktel::ingest
