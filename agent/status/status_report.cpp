#include "status_report.h"

#include <boost/json.hpp>

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

json::object to_json(const sensor_attention& a) {
  json::object o{{"sensor", a.sensor}, {"name", a.name},     {"status", a.status},
                 {"unit", a.unit},     {"limit", a.limit},   {"last_ok_ms", a.last_ok_ms}};
  o["value"] = a.value ? json::value(*a.value) : json::value(nullptr);
  return o;
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

std::string to_json(const status_report& r) {
  json::array drivers;
  for (const auto& d : r.drivers) drivers.push_back(to_json(d));
  json::array attention;
  for (const auto& a : r.attention) attention.push_back(to_json(a));
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
      {"drivers", std::move(drivers)},
      {"attention", std::move(attention)},
      {"attention_total", r.attention_total},
  };
  return json::serialize(root);
}

}  // namespace racktel
