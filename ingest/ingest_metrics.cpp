#include "ingest/ingest_metrics.h"

#include <cstdio>

#include "export/metric_naming.h"

namespace racktel::ingest {

void endpoint_figures::observe(double seconds) {
  for (std::size_t i = 0; i < latency_buckets.size(); ++i) {
    if (seconds <= latency_buckets[i]) {
      ++latency_counts[i];
      break;
    }
  }
  ++latency_count;
  latency_sum_seconds += seconds;
}

namespace {

class page {
 public:
  void family(const char* name, const char* type, const char* help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  void sample(const std::string& name, double value, const std::string& labels = "") {
    char number[64];
    std::snprintf(number, sizeof number, "%.17g", value);
    out_ += name;
    if (!labels.empty()) out_ += "{" + labels + "}";
    out_ += ' ';
    out_ += number;
    out_ += '\n';
  }
  void counter(const char* name, const char* help, double value) {
    family(name, "counter", help);
    sample(name, value);
  }
  void gauge(const char* name, const char* help, double value) {
    family(name, "gauge", help);
    sample(name, value);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string label(const char* name, const std::string& value) {
  return std::string(name) + "=\"" + escape_label_value(value) + "\"";
}

}  // namespace

std::string render_metrics(const ingest_figures& f) {
  page p;
  p.family("racktel_ingest_messages_total", "counter", "MQTT messages received, by topic kind.");
  for (const char* kind : {"data", "catalog", "state", "alarms"}) {
    auto it = f.messages.find(kind);
    p.sample("racktel_ingest_messages_total", it == f.messages.end() ? 0 : static_cast<double>(it->second),
             label("topic", kind));
  }
  p.counter("racktel_ingest_batches_total", "Data batches decoded.", static_cast<double>(f.batches));
  p.counter("racktel_ingest_readings_total", "Readings decoded from data batches.", static_cast<double>(f.readings));
  p.counter("racktel_ingest_decode_errors_total", "Malformed payloads (logged with their topic).",
            static_cast<double>(f.decode_errors));
  p.counter("racktel_ingest_duplicates_total", "Batches dropped as repeats of one already taken (boot id, sequence).",
            static_cast<double>(f.duplicates));
  p.family("racktel_ingest_batches_dropped_total", "counter", "Batches not written, by reason.");
  p.sample("racktel_ingest_batches_dropped_total", static_cast<double>(f.dropped_no_catalog), label("reason", "no_catalog"));
  p.sample("racktel_ingest_batches_dropped_total", static_cast<double>(f.dropped_buffer_full), label("reason", "buffer_full"));
  p.sample("racktel_ingest_batches_dropped_total", static_cast<double>(f.dropped_rejected), label("reason", "rejected"));
  p.sample("racktel_ingest_batches_dropped_total", static_cast<double>(f.unreadable), label("reason", "unreadable"));
  p.counter("racktel_ingest_buffer_errors_total", "Disk buffer writes or syncs that failed.",
            static_cast<double>(f.buffer_errors));
  p.gauge("racktel_ingest_batches_waiting", "Batches waiting for their catalog.", static_cast<double>(f.waiting));
  p.gauge("racktel_ingest_batches_pending", "Batches received and not yet accepted by every remote-write endpoint.",
          static_cast<double>(f.pending));
  p.gauge("racktel_ingest_oldest_pending_seconds", "Age of the oldest pending batch, by when it was received.",
          f.oldest_pending_seconds);
  p.gauge("racktel_ingest_buffer_bytes", "Bytes in the disk buffer.", static_cast<double>(f.buffer_bytes));
  p.gauge("racktel_ingest_catalogs", "Catalog versions cached.", static_cast<double>(f.catalogs));
  p.gauge("racktel_ingest_catalog_bytes", "Memory held by cached catalogs.", static_cast<double>(f.catalog_bytes));
  p.gauge("racktel_ingest_racks_known", "Racks whose state or catalog this instance has seen.",
          static_cast<double>(f.racks_known));
  p.gauge("racktel_ingest_racks_fed", "Racks whose data batches reached this instance in the last 5 minutes (its share).",
          static_cast<double>(f.racks_fed));
  p.gauge("racktel_ingest_mqtt_connected", "1 when connected to the broker.", f.mqtt_connected ? 1 : 0);
  p.counter("racktel_ingest_mqtt_connects_total", "Connections made to the broker.", static_cast<double>(f.mqtt_connects));
  p.gauge("racktel_ingest_alerts_firing", "Alerts this instance sends as firing.", static_cast<double>(f.alerts_firing));
  p.family("racktel_ingest_alertmanager_posts_total", "counter", "Posts to Alertmanager, by result.");
  p.sample("racktel_ingest_alertmanager_posts_total", static_cast<double>(f.alert_posts_ok), label("result", "ok"));
  p.sample("racktel_ingest_alertmanager_posts_total", static_cast<double>(f.alert_posts_failed), label("result", "failed"));

  p.family("racktel_ingest_remote_write_requests_total", "counter",
           "Remote-write requests, by endpoint and result (ok, retried, rejected).");
  for (const auto& e : f.endpoints) {
    p.sample("racktel_ingest_remote_write_requests_total", static_cast<double>(e.requests_ok),
             label("endpoint", e.url) + "," + label("result", "ok"));
    p.sample("racktel_ingest_remote_write_requests_total", static_cast<double>(e.requests_retried),
             label("endpoint", e.url) + "," + label("result", "retried"));
    p.sample("racktel_ingest_remote_write_requests_total", static_cast<double>(e.requests_rejected),
             label("endpoint", e.url) + "," + label("result", "rejected"));
  }
  p.family("racktel_ingest_remote_write_samples_total", "counter", "Samples accepted, by endpoint.");
  for (const auto& e : f.endpoints) {
    p.sample("racktel_ingest_remote_write_samples_total", static_cast<double>(e.samples_ok), label("endpoint", e.url));
  }
  p.family("racktel_ingest_remote_write_duration_seconds", "histogram", "Remote-write request durations.");
  for (const auto& e : f.endpoints) {
    std::uint64_t cumulative = 0;
    char bound[32];
    for (std::size_t i = 0; i < latency_buckets.size(); ++i) {
      cumulative += e.latency_counts[i];
      std::snprintf(bound, sizeof bound, "%g", latency_buckets[i]);
      p.sample("racktel_ingest_remote_write_duration_seconds_bucket", static_cast<double>(cumulative),
               label("endpoint", e.url) + "," + label("le", bound));
    }
    p.sample("racktel_ingest_remote_write_duration_seconds_bucket", static_cast<double>(e.latency_count),
             label("endpoint", e.url) + "," + label("le", "+Inf"));
    p.sample("racktel_ingest_remote_write_duration_seconds_sum", e.latency_sum_seconds, label("endpoint", e.url));
    p.sample("racktel_ingest_remote_write_duration_seconds_count", static_cast<double>(e.latency_count),
             label("endpoint", e.url));
  }
  return p.take();
}

}  // namespace racktel::ingest
