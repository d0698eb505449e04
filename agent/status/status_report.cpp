#include "status_report.h"

#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "wire/codec.h"

namespace racktel {
namespace json = boost::json;

namespace {

json::object to_json(const group_report& g) {
  return {{"name", g.name},
          {"interval_ms", g.interval_ms},
          {"deadline_ms", g.deadline_ms},
          {"reads", g.stats.reads},
          {"timeouts", g.stats.timeouts},
          {"late_results", g.stats.late_results},
          {"skipped_ticks", g.stats.skipped_ticks},
          {"driver_failures", g.stats.driver_failures},
          {"last_poll_ms", g.stats.last_poll_ms},
          {"last_ok_ms", g.stats.last_ok_ms}};
}

json::object to_json(const driver_report& d) {
  json::array groups;
  for (const auto& g : d.groups) groups.push_back(to_json(g));
  return {{"name", d.name},       {"type", d.type},
          {"origin", d.origin},   {"state", d.state},
          {"error", d.error},     {"lane", d.lane},
          {"sensors", d.sensors}, {"sensors_ok", d.sensors_ok},
          {"sensors_failing", d.sensors_failing}, {"sensors_stale", d.sensors_stale},
          {"groups", std::move(groups)}};
}

json::value optional_number(const std::optional<double>& v) { return v ? json::value(*v) : json::value(nullptr); }

json::object to_json(const sensor_attention& a) {
  return {{"sensor", a.sensor}, {"name", a.name},   {"severity", attention_level_name(a.level)},
          {"status", a.status}, {"value", optional_number(a.value)}, {"unit", a.unit},
          {"limit", a.limit},   {"last_ok_ms", a.last_ok_ms}, {"state", a.state}};
}

json::object to_json(const alarm_report& r) {
  const active_alarm& a = r.alarm;
  return {{"sensor", a.sensor_key},
          {"name", r.name},
          {"kind", alarm_kind_name(a.kind)},
          {"severity", alarm_severity_name(a.severity)},
          {"value", optional_number(a.value)},
          {"state", r.state},
          {"unit", r.unit},
          {"limit", a.limit},
          {"threshold", optional_number(a.threshold)},
          {"rule", a.rule},
          {"since_ms", a.since_ms},
          {"maintenance", a.maintenance}};
}

std::string format_limit(const char* which, double v) {
  char text[64];
  std::snprintf(text, sizeof text, "%s %g", which, v);
  return text;
}

json::object spool_json(const spool_report& s) {
  json::array quarantined(s.quarantined.begin(), s.quarantined.end());
  json::array ignored(s.ignored.begin(), s.ignored.end());
  return {{"enabled", s.enabled},
          {"dir", s.dir},
          {"state", !s.enabled ? "disabled" : s.error.empty() ? "ok" : "error"},
          {"error", s.error},
          {"bytes", s.bytes},
          {"max_bytes", s.max_bytes},
          {"segments", s.segments},
          {"pending_batches", s.pending_batches},
          {"pending_readings", s.pending_readings},
          {"oldest_pending_ms", s.oldest_pending_ms},
          {"not_stored_batches", s.not_stored_batches},
          {"syncs", s.syncs},
          {"recovered_batches", s.recovered_batches},
          {"corrupt_records", s.corrupt_records},
          {"torn_bytes", s.torn_bytes},
          {"quarantined", std::move(quarantined)},
          {"ignored", std::move(ignored)}};
}

}  // namespace

const char* attention_level_name(attention_level level) {
  switch (level) {
    case attention_level::driver: return "driver";
    case attention_level::critical: return "critical";
    case attention_level::failing: return "failing";
    case attention_level::warning: return "warning";
    case attention_level::stale: return "stale";
  }
  return "unknown";
}

std::optional<sensor_condition> judge(const sensor_meta& m, const latest_reading& e) {
  if (e.time_ms == 0) return std::nullopt;  // not read yet: counted apart, not an alarm
  if (e.status == RACKTEL_READING_STALE) return sensor_condition{attention_level::stale, {}};
  if (!reading_has_value(e.status)) return sensor_condition{attention_level::failing, {}};
  if (m.crit_high && e.value >= *m.crit_high) return sensor_condition{attention_level::critical, format_limit("crit_high", *m.crit_high)};
  if (m.crit_low && e.value <= *m.crit_low) return sensor_condition{attention_level::critical, format_limit("crit_low", *m.crit_low)};
  if (m.warn_high && e.value >= *m.warn_high) return sensor_condition{attention_level::warning, format_limit("warn_high", *m.warn_high)};
  if (m.warn_low && e.value <= *m.warn_low) return sensor_condition{attention_level::warning, format_limit("warn_low", *m.warn_low)};
  if (e.status == RACKTEL_READING_OUT_OF_RANGE) return sensor_condition{attention_level::warning, {}};
  return std::nullopt;
}

report_request parse_report_request(const std::string& line) {
  report_request r;
  std::istringstream words(line);
  words >> r.command;
  if (r.command.empty()) r.command = "status";
  for (std::string word; words >> word;) {
    if (word == "--all" && r.command == "status") {
      r.all = true;
    } else if (word == "--match" && (words >> r.match)) {
      continue;
    } else {
      r.error = "unexpected \"" + word + "\" after \"" + r.command + "\"; expected --all or --match GLOB";
      return r;
    }
  }
  return r;
}

std::string to_json(const std::vector<sensor_report>& sensors, std::int64_t time_ms) {
  json::array list;
  list.reserve(sensors.size());
  for (const sensor_report& s : sensors) {
    list.push_back(json::object{{"sensor", s.sensor},
                                {"name", s.name},
                                {"kind", s.kind},
                                {"unit", s.unit},
                                {"status", s.status},
                                {"value", optional_number(s.value)},
                                {"state", s.state},
                                {"warn_low", optional_number(s.warn_low)},
                                {"warn_high", optional_number(s.warn_high)},
                                {"crit_low", optional_number(s.crit_low)},
                                {"crit_high", optional_number(s.crit_high)},
                                {"time_ms", s.time_ms},
                                {"last_ok_ms", s.last_ok_ms},
                                {"condition", s.condition},
                                {"limit", s.limit}});
  }
  return json::serialize(json::object{{"time_ms", time_ms}, {"sensors", std::move(list)}});
}

std::string to_json(const status_report& r) {
  json::array drivers;
  for (const auto& d : r.drivers) drivers.push_back(to_json(d));
  json::array attention;
  for (const auto& a : r.attention) attention.push_back(to_json(a));
  json::array alarms;
  for (const auto& a : r.alarms) alarms.push_back(to_json(a));
  json::array maintenance = windows_json(r.maintenance);
  const publisher_status& b = r.broker;
  json::object root{
      {"version", r.version},
      {"site", r.site},
      {"rack", r.rack},
      {"boot_id", r.boot_id},
      {"config_file", r.config_file},
      {"start_time_ms", r.start_time_ms},
      {"time_ms", r.time_ms},
      {"catalog", json::object{{"version", catalog_version_text(r.catalog_version)}, {"sensors", r.sensors}}},
      {"sensors", json::object{{"total", r.sensors},
                               {"ok", r.sensors_ok},
                               {"out_of_range", r.sensors_out_of_range},
                               {"failing", r.sensors_failing},
                               {"stale", r.sensors_stale},
                               {"never_read", r.sensors_never_read}}},
      {"broker", json::object{{"connected", b.connected},
                              {"server", b.server},
                              {"connected_since_ms", b.connected_since_ms},
                              {"connects", b.connects},
                              {"connect_failures", b.connect_failures},
                              {"reconnect_attempt", b.reconnect_attempt},
                              {"ack_timeouts", b.ack_timeouts},
                              {"session_takeovers", b.session_takeovers},
                              {"last_error", b.last_error}}},
      {"publish", json::object{{"batches", b.batches_published},
                               {"readings", b.readings_published},
                               {"bytes", b.bytes_published},
                               {"failures", b.publish_failures},
                               {"replayed_batches", b.replayed_batches},
                               {"unreadable_batches", b.unreadable_batches}}},
      {"spool", spool_json(r.spool)},
      {"queue", json::object{{"batches", r.queue_batches},
                             {"backlog", r.queue_backlog},
                             {"in_flight", r.queue_in_flight},
                             {"bytes", r.queue_bytes},
                             {"limit_bytes", r.queue_limit_bytes},
                             {"dropped_batches", r.dropped_batches},
                             {"dropped_readings", r.dropped_readings}}},
      {"pipeline", json::object{{"readings_accepted", r.readings_accepted},
                                {"batches_built", r.batches_built},
                                {"bytes_encoded", r.bytes_encoded}}},
      {"reload", json::object{{"time_ms", r.reload.time_ms},
                              {"count", r.reload.count},
                              {"ok", r.reload.ok},
                              {"message", r.reload.message},
                              {"errors", json::array(r.reload.errors.begin(), r.reload.errors.end())}}},
      {"maintenance", std::move(maintenance)},
      {"alarms", json::object{{"critical", r.alarms_critical},
                              {"warning", r.alarms_warning},
                              {"suppressed", r.alarms_suppressed},
                              {"active", std::move(alarms)},
                              {"events_published", b.alarm_events_published},
                              {"events_waiting", b.alarm_events_waiting},
                              {"events_dropped", b.alarm_events_dropped},
                              {"latency_ms", json::object{{"events", r.alarm_latency.count},
                                                          {"p50", r.alarm_latency.p50_ms},
                                                          {"p99", r.alarm_latency.p99_ms},
                                                          {"max", r.alarm_latency.max_ms}}}}},
      {"drivers", std::move(drivers)},
      {"attention", std::move(attention)},
      {"attention_total", r.attention_total},
  };
  return json::serialize(root);
}

}  // namespace racktel
