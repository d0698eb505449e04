// Active alarms and rack liveness as Alertmanager alerts (API v2, POST
// /api/v2/alerts). Pure: the retained ActiveAlarms and AgentState of each rack
// in, the JSON to post out.
//
// Every racktel-ingest instance sees every rack's retained alarm set and state
// (plain subscriptions), so any of them can send; Alertmanager merges the same
// alert (same labels) sent by several. Firing alerts are re-sent every
// `resend` with an end 4 x `resend` ahead (they resolve by themselves if no
// instance is left to send them); an alarm that leaves the set, or a rack that
// comes back, is sent once more, resolved (ending now).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "export/metric_naming.h"
#include "ingest/stream.h"
#include "wire/codec.h"

namespace racktel::ingest {

struct alert {
  label_list labels;  // sorted by name; alertname first among them by convention only
  std::map<std::string, std::string> annotations;
  std::int64_t starts_ms = 0;
  std::optional<std::int64_t> ends_ms;  // set once resolved
};

class alert_book {
 public:
  explicit alert_book(std::chrono::milliseconds resend = std::chrono::seconds(60)) : resend_(resend) {}

  // The rack's retained set of active alarms. `catalog` (the version the set
  // names, when known) adds the sensors' location labels and names. Alarms a
  // maintenance window suppresses are not alerts: someone is working on them.
  void set_alarms(const stream_topic& rack, const active_alarms_info& alarms, const known_catalog* catalog,
                  std::int64_t now_ms);
  // The rack's retained state: OFFLINE with reason "connection lost" fires
  // RackTelemetryLost; ONLINE or a clean shutdown resolves it.
  void set_state(const stream_topic& rack, const agent_state_info& state, std::int64_t now_ms);

  // Alerts due to be sent: every change since the last call, and all firing
  // alerts once `resend` has passed. Empty when nothing is due.
  std::vector<alert> due(std::int64_t now_ms);
  // The API v2 body for `alerts`, firing ones ending at now + 4 x resend.
  std::string to_json(const std::vector<alert>& alerts, std::int64_t now_ms) const;

  std::size_t firing() const { return firing_.size(); }

 private:
  void replace_rack(const std::string& rack_key, const std::string& kind, std::map<std::string, alert> now_firing,
                    std::int64_t now_ms);

  std::chrono::milliseconds resend_;
  // By rack key and what fires ("alarm" or "liveness"), then by the alert's label text.
  std::map<std::pair<std::string, std::string>, std::map<std::string, alert>> by_rack_;
  std::map<std::string, alert> firing_;  // by label text, across racks
  std::vector<alert> changed_;           // raised or resolved since the last due()
  std::int64_t last_resend_ms_ = 0;
};

// The labels of an alarm's alert: alertname RacktelAlarm, severity, kind,
// limit, and the sensor's series labels (site, rack, driver, sensor, location).
label_list alarm_labels(const stream_topic& rack, const active_alarm& alarm, const sensor_meta* meta);

}  // namespace racktel::ingest
