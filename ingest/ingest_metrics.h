// racktel-ingest's own figures, as its /metrics shows them (Prometheus text
// format; names in docs/ingest.md). Counters only grow; gauges are read when
// the page is made. Pure.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace racktel::ingest {

// Remote-write request durations, in seconds: the upper bounds of the buckets.
inline constexpr std::array<double, 10> latency_buckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};

struct endpoint_figures {
  std::string url;
  std::uint64_t requests_ok = 0;
  std::uint64_t requests_retried = 0;   // 5xx, 429 or no answer: sent again after a back-off
  std::uint64_t requests_rejected = 0;  // other 4xx: the receiver refuses the data; logged with its answer
  std::uint64_t samples_ok = 0;
  std::array<std::uint64_t, latency_buckets.size()> latency_counts{};  // per bucket, not cumulative
  std::uint64_t latency_count = 0;
  double latency_sum_seconds = 0;
  void observe(double seconds);
};

struct ingest_figures {
  std::map<std::string, std::uint64_t> messages;  // by topic kind: data, catalog, state, alarms
  std::uint64_t readings = 0;            // decoded from batches
  std::uint64_t batches = 0;
  std::uint64_t decode_errors = 0;       // malformed payloads, by any topic
  std::uint64_t duplicates = 0;          // batches dropped as repeats
  std::uint64_t dropped_no_catalog = 0;  // waited for a catalog too long, or pushed out of the waiting room
  std::uint64_t dropped_buffer_full = 0; // the buffer's cap dropped them before they were written
  std::uint64_t dropped_rejected = 0;    // a remote-write endpoint refused them (4xx)
  std::uint64_t unreadable = 0;          // could not be read back from the buffer
  std::uint64_t buffer_errors = 0;       // writes or syncs the disk refused (held in memory instead)
  std::uint64_t alert_posts_ok = 0;
  std::uint64_t alert_posts_failed = 0;
  std::uint64_t mqtt_connects = 0;
  // Gauges, set when the page is made.
  bool mqtt_connected = false;
  std::uint64_t waiting = 0;        // batches waiting for their catalog
  std::uint64_t pending = 0;        // batches received and not yet accepted everywhere
  std::uint64_t buffer_bytes = 0;
  std::uint64_t catalogs = 0;
  std::uint64_t catalog_bytes = 0;
  std::uint64_t racks_known = 0;    // racks whose state or catalog this instance has seen
  std::uint64_t racks_fed = 0;      // racks whose batches this instance received in the last 5 minutes
  std::uint64_t alerts_firing = 0;
  double oldest_pending_seconds = 0;
  std::vector<endpoint_figures> endpoints;
};

// The whole /metrics page.
std::string render_metrics(const ingest_figures& f);

}  // namespace racktel::ingest
