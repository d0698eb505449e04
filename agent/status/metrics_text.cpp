#include "status/metrics_text.h"

#include <charconv>
#include <cmath>
#include <map>

#include "export/metric_naming.h"
#include "wire/codec.h"

namespace racktel {

std::string metric_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);
  return ec == std::errc{} ? std::string(buffer, end) : "NaN";
}

namespace {

std::string label_text(const label_list& labels) {
  std::string out = "{";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ',';
    out += labels[i].first + "=\"" + escape_label_value(labels[i].second) + "\"";
  }
  return out + "}";
}

// One metric family: HELP, TYPE, then its samples.
class family_writer {
 public:
  explicit family_writer(std::string& out) : out_(out) {}
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += escape_label_value(help);
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  void sample(std::string_view name, const label_list& labels, double value) {
    out_ += name;
    if (!labels.empty()) out_ += label_text(labels);
    out_ += ' ';
    out_ += metric_value(value);
    out_ += '\n';
  }

 private:
  std::string& out_;
};

const char* help_for(std::string_view metric) {
  if (metric == "racktel_state") return "a state sensor's value: 0 is normal (see the catalog's states)";
  return "a racktel sensor's newest reading, in the agent's unit";
}

}  // namespace

std::string metrics_text(const std::vector<sensor_meta>& sensors, const std::vector<latest_reading>& latest,
                         const status_report& r) {
  std::string out;
  out.reserve(sensors.size() * 160 + 4096);
  family_writer w(out);
  // Sensors, grouped by family (a family's samples must be together).
  std::map<std::string, std::vector<std::size_t>> families;
  std::vector<std::size_t> not_ok;
  for (std::size_t i = 0; i < sensors.size() && i < latest.size(); ++i) {
    const latest_reading& e = latest[i];
    if (e.time_ms == 0) continue;  // never read
    if (reading_has_value(e.status) && e.status != 4) families[metric_name(sensors[i])].push_back(i);
    if (e.status != 0) not_ok.push_back(i);
  }
  for (const auto& [name, members] : families) {
    w.family(name, "gauge", help_for(name));
    for (std::size_t i : members) {
      const sensor_meta& m = sensors[i];
      w.sample(name, series_labels(m, r.site, r.rack), quantised_value(latest[i].value, m.resolution));
    }
  }
  if (!not_ok.empty()) {
    w.family(reading_status_metric, "gauge",
             "a reading that is not OK: 1 error, 2 timeout, 3 out of range, 4 stale (absent while OK)");
    for (std::size_t i : not_ok) {
      w.sample(reading_status_metric, series_labels(sensors[i], r.site, r.rack), latest[i].status);
    }
  }

  // The agent's own figures.
  const label_list rack{{"rack", r.rack}, {"site", r.site}};
  auto gauge = [&](const char* name, const char* help, double v) {
    w.family(name, "gauge", help);
    w.sample(name, rack, v);
  };
  auto counter = [&](const char* name, const char* help, double v) {
    w.family(name, "counter", help);
    w.sample(name, rack, v);
  };
  gauge("racktel_agent_start_time_seconds", "when the agent started, Unix time", static_cast<double>(r.start_time_ms) / 1000);
  gauge("racktel_agent_broker_connected", "1 when the agent is connected to a broker", r.broker.connected ? 1 : 0);
  gauge("racktel_agent_sensors", "sensors in the catalog", static_cast<double>(r.sensors));
  w.family("racktel_agent_sensors_by_condition", "gauge", "sensors by the status of their newest reading");
  for (const auto& [condition, n] : {std::pair{"ok", r.sensors_ok}, std::pair{"out_of_range", r.sensors_out_of_range},
                                     std::pair{"failing", r.sensors_failing}, std::pair{"stale", r.sensors_stale},
                                     std::pair{"never_read", r.sensors_never_read}}) {
    w.sample("racktel_agent_sensors_by_condition", {{"condition", condition}, {"rack", r.rack}, {"site", r.site}},
             static_cast<double>(n));
  }
  gauge("racktel_agent_queue_batches", "batches waiting for the broker", static_cast<double>(r.queue_batches));
  gauge("racktel_agent_queue_bytes", "batch payloads held in memory", static_cast<double>(r.queue_bytes));
  counter("racktel_agent_dropped_batches_total", "batches lost for good (memory or spool cap)",
          static_cast<double>(r.dropped_batches));
  counter("racktel_agent_dropped_readings_total", "readings lost for good", static_cast<double>(r.dropped_readings));
  gauge("racktel_agent_spool_bytes", "bytes in the disk spool", static_cast<double>(r.spool.bytes));
  gauge("racktel_agent_spool_pending_batches", "batches in the spool not yet acknowledged by the broker",
        static_cast<double>(r.spool.pending_batches));
  gauge("racktel_agent_spool_ok", "1 when the spool is enabled and writing works",
        r.spool.enabled && r.spool.error.empty() ? 1 : 0);
  counter("racktel_agent_readings_total", "readings accepted from the drivers", static_cast<double>(r.readings_accepted));
  counter("racktel_agent_batches_total", "batches built", static_cast<double>(r.batches_built));
  counter("racktel_agent_encoded_bytes_total", "bytes of encoded batches", static_cast<double>(r.bytes_encoded));
  w.family("racktel_agent_alarms_active", "gauge", "active alarms by severity (suppressed: in a maintenance window)");
  for (const auto& [severity, n] : {std::pair{"critical", r.alarms_critical}, std::pair{"warning", r.alarms_warning},
                                    std::pair{"suppressed", r.alarms_suppressed}}) {
    w.sample("racktel_agent_alarms_active", {{"rack", r.rack}, {"severity", severity}, {"site", r.site}},
             static_cast<double>(n));
  }
  // Per driver group: reads, timeouts, late results, skipped ticks, failures.
  static constexpr struct {
    const char* name;
    const char* help;
    std::uint64_t group_stats::*field;
  } group_counters[] = {
      {"racktel_driver_reads_total", "reads answered in time", &group_stats::reads},
      {"racktel_driver_timeouts_total", "reads that missed their deadline", &group_stats::timeouts},
      {"racktel_driver_late_results_total", "results that arrived after the deadline, dropped", &group_stats::late_results},
      {"racktel_driver_skipped_ticks_total", "ticks skipped because the previous read was still running",
       &group_stats::skipped_ticks},
      {"racktel_driver_failures_total", "reads the driver reported as failed", &group_stats::driver_failures},
  };
  for (const auto& c : group_counters) {
    w.family(c.name, "counter", c.help);
    for (const driver_report& d : r.drivers) {
      for (const group_report& g : d.groups) {
        w.sample(c.name, {{"driver", d.name}, {"group", g.name}, {"rack", r.rack}, {"site", r.site}},
                 static_cast<double>(g.stats.*c.field));
      }
    }
  }
  w.family("racktel_driver_up", "gauge", "1 when the driver instance is open and reading");
  for (const driver_report& d : r.drivers) {
    w.sample("racktel_driver_up", {{"driver", d.name}, {"rack", r.rack}, {"site", r.site}}, d.state == "running" ? 1 : 0);
  }
  return out;
}

}  // namespace racktel
