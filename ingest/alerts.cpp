#include "ingest/alerts.h"

#include <boost/json.hpp>

#include <cmath>
#include <ctime>
#include <sstream>

#include "alarms/alarm_engine.h"
#include "common/units.h"

namespace racktel::ingest {
namespace {

std::string label_text(const label_list& labels) {
  std::string key;
  for (const auto& [name, value] : labels) key += name + "=" + value + "\n";
  return key;
}

// RFC 3339 with milliseconds, in UTC, as Alertmanager reads times.
std::string rfc3339(std::int64_t ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  char text[96];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return text;
}

std::string number_text(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

}  // namespace

label_list alarm_labels(const stream_topic& rack, const active_alarm& alarm, const sensor_meta* meta) {
  label_list labels;
  if (meta != nullptr) {
    labels = series_labels(*meta, rack.site, rack.rack);
  } else {
    // Without the catalog: driver and id from the key alone.
    sensor_meta bare;
    const std::size_t slash = alarm.sensor_key.find('/');
    bare.driver = alarm.sensor_key.substr(0, slash);
    bare.id = slash == std::string::npos ? alarm.sensor_key : alarm.sensor_key.substr(slash + 1);
    labels = series_labels(bare, rack.site, rack.rack);
  }
  labels.emplace_back("alertname", "RacktelAlarm");
  labels.emplace_back("severity", alarm_severity_name(alarm.severity));
  labels.emplace_back("alarm", alarm_kind_name(alarm.kind));
  labels.emplace_back("limit", alarm.limit);
  std::sort(labels.begin(), labels.end());
  return labels;
}

void alert_book::set_alarms(const stream_topic& rack, const active_alarms_info& alarms, const known_catalog* catalog,
                            std::int64_t now_ms) {
  std::map<std::string, alert> now_firing;
  for (const active_alarm& a : alarms.alarms) {
    if (a.maintenance != 0) continue;
    const sensor_meta* meta = nullptr;
    if (catalog != nullptr && a.sensor < catalog->decoded.catalog.sensors.size() &&
        catalog->decoded.catalog.sensors[a.sensor].key() == a.sensor_key) {
      meta = &catalog->decoded.catalog.sensors[a.sensor];
    }
    alert al;
    al.labels = alarm_labels(rack, a, meta);
    al.starts_ms = a.since_ms;
    std::string what = meta ? meta->name.str() : a.sensor_key;
    if (a.kind == alarm_kind::failing) {
      what += " is not reading (" + a.limit + ")";
    } else if (a.value) {
      what += " reads " + (meta ? reading_text(*meta, *a.value) : number_text(*a.value));
      if (a.threshold) what += ", " + a.limit + " " + number_text(*a.threshold);
    }
    al.annotations["summary"] = rack.site + "/" + rack.rack + ": " + what;
    if (!a.rule.empty()) al.annotations["rule"] = a.rule;
    now_firing.emplace(label_text(al.labels), std::move(al));
  }
  replace_rack(rack.rack_key(), "alarm", std::move(now_firing), now_ms);
}

void alert_book::set_state(const stream_topic& rack, const agent_state_info& state, std::int64_t now_ms) {
  std::map<std::string, alert> now_firing;
  if (!state.online && state.reason == "connection lost") {
    alert al;
    al.labels = {{"alertname", "RackTelemetryLost"}, {"rack", rack.rack}, {"severity", "critical"}, {"site", rack.site}};
    al.starts_ms = now_ms;
    al.annotations["summary"] = rack.site + "/" + rack.rack +
                                ": the agent's connection to the broker was lost (its will was published); no "
                                "telemetry arrives from this rack";
    now_firing.emplace(label_text(al.labels), std::move(al));
  }
  replace_rack(rack.rack_key(), "liveness", std::move(now_firing), now_ms);
}

void alert_book::replace_rack(const std::string& rack_key, const std::string& kind,
                              std::map<std::string, alert> now_firing, std::int64_t now_ms) {
  auto& before = by_rack_[{rack_key, kind}];
  for (auto& [key, old] : before) {
    if (now_firing.contains(key)) continue;
    alert resolved = old;
    resolved.ends_ms = now_ms;
    changed_.push_back(std::move(resolved));
    firing_.erase(key);
  }
  for (auto& [key, al] : now_firing) {
    auto old = before.find(key);
    if (old != before.end()) {
      al.starts_ms = old->second.starts_ms;  // a liveness alert keeps the time it started
      if (old->second.annotations == al.annotations) {
        firing_[key] = al;
        continue;
      }
    }
    firing_[key] = al;
    changed_.push_back(al);
  }
  before = std::move(now_firing);
  if (before.empty()) by_rack_.erase({rack_key, kind});
}

std::vector<alert> alert_book::due(std::int64_t now_ms) {
  std::vector<alert> out;
  if (now_ms - last_resend_ms_ >= resend_.count()) {
    last_resend_ms_ = now_ms;
    for (const auto& [key, al] : firing_) out.push_back(al);
    for (auto& al : changed_) {
      if (al.ends_ms) out.push_back(std::move(al));  // the firing ones are in already
    }
  } else {
    out = std::move(changed_);
  }
  changed_.clear();
  return out;
}

std::string alert_book::to_json(const std::vector<alert>& alerts, std::int64_t now_ms) const {
  boost::json::array list;
  for (const alert& al : alerts) {
    boost::json::object labels, annotations;
    for (const auto& [name, value] : al.labels) labels[name] = value;
    for (const auto& [name, value] : al.annotations) annotations[name] = value;
    boost::json::object o;
    o["labels"] = std::move(labels);
    o["annotations"] = std::move(annotations);
    o["startsAt"] = rfc3339(al.starts_ms > 0 ? al.starts_ms : now_ms);
    o["endsAt"] = rfc3339(al.ends_ms ? *al.ends_ms : now_ms + 4 * resend_.count());
    list.push_back(std::move(o));
  }
  return boost::json::serialize(list);
}

}  // namespace racktel::ingest
