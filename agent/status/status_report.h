// What the agent tells a technician or a script about itself, and its JSON
// form (the status socket's answer). Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "alarms/alarm_engine.h"
#include "status/maintenance_command.h"
#include "publish/mqtt_publisher.h"
#include "sched/poller.h"
#include "store/catalog.h"
#include "store/latest_table.h"

namespace racktel {

struct group_report {
  std::string name;
  std::int64_t interval_ms = 0;
  std::int64_t deadline_ms = 0;
  group_stats stats;
};

struct driver_report {
  std::string name;
  std::string type;
  std::string origin;      // "built-in" or module path
  std::string state;       // "running", "failed" (to load or open) or "disabled"
  std::string error;       // why it failed
  std::string lane;        // "own" or "shared"
  std::uint64_t sensors = 0;
  std::uint64_t sensors_ok = 0;
  std::uint64_t sensors_failing = 0;  // error, timeout
  std::uint64_t sensors_stale = 0;
  std::vector<group_report> groups;
};

// How urgently something needs a hand, most urgent first: a driver that
// cannot read, a sensor past a critical limit, a sensor that fails to read,
// one past a warning limit (or out of its device's range), one gone stale.
enum class attention_level { driver, critical, failing, warning, stale };
const char* attention_level_name(attention_level level);  // "driver", "critical", ...

struct sensor_condition {
  attention_level level;
  std::string limit;  // "crit_high 105"; empty when no limit is involved
};
// Judges a sensor's newest reading against its catalog limits; nullopt when
// all is well or it was never read. Pure.
std::optional<sensor_condition> judge(const sensor_meta& meta, const latest_reading& reading);

// A sensor or a driver a technician should look at.
struct sensor_attention {
  std::string sensor;  // driver/id, or the driver's name for a driver entry
  std::string name;
  std::string status;  // the reading's status; "failed to open" / "read failing" for a driver
  std::optional<double> value;
  std::string unit;
  std::string limit;   // "warn_high 90" / "crit_high 105"; a driver's error; empty otherwise
  std::int64_t last_ok_ms = 0;
  attention_level level = attention_level::stale;
  std::string state{};  // a state sensor's value in words ("down"), else empty
};

// What `status` and `sensors` answer on the status socket: "status",
// "status --all", "status --match GLOB", "sensors [--match GLOB]".
struct report_request {
  std::string command;  // "status", "sensors", or what was not understood
  bool all = false;     // the whole attention list, not the first 100
  std::string match;    // empty: everything
  std::string error;    // a malformed request
};
report_request parse_report_request(const std::string& line);

// One sensor as `racktel sensors` shows it.
struct sensor_report {
  std::string sensor;  // driver/id
  std::string name;
  std::string kind;
  std::string unit;
  std::string status;  // "never_read" before its first reading
  std::optional<double> value;  // quantised as on the wire
  std::optional<double> warn_low, warn_high, crit_low, crit_high;
  std::int64_t time_ms = 0;
  std::int64_t last_ok_ms = 0;
  std::string condition;  // attention level name, empty when all is well
  std::string limit;
  std::string state;      // a state sensor's value in words ("up"), else empty
};
std::string to_json(const std::vector<sensor_report>& sensors, std::int64_t time_ms);

struct spool_report {
  bool enabled = false;
  std::string dir;
  std::string error;                 // empty when writing works
  std::uint64_t bytes = 0;
  std::uint64_t max_bytes = 0;
  std::uint64_t segments = 0;
  std::uint64_t pending_batches = 0; // not yet acknowledged by the broker
  std::uint64_t pending_readings = 0;
  std::int64_t oldest_pending_ms = 0; // time of the oldest undelivered batch; 0 when none
  std::uint64_t not_stored_batches = 0;
  std::uint64_t syncs = 0;
  // Start-up recovery.
  std::uint64_t recovered_batches = 0;
  std::uint64_t corrupt_records = 0;
  std::uint64_t torn_bytes = 0;
  std::vector<std::string> quarantined;
  std::vector<std::string> ignored;
};

struct reload_report {
  std::int64_t time_ms = 0;  // 0: no reload since start
  bool ok = true;
  std::string message;
  std::vector<std::string> errors;  // file:line:column: what was expected
  std::uint64_t count = 0;          // reloads done (applied or refused) since start
};

// An active alarm as people read it: with the sensor's name and unit.
struct alarm_report {
  active_alarm alarm;
  std::string name;
  std::string unit;
  std::string state;  // a state sensor's value in words ("detected"), else empty
};

struct status_report {
  std::string version;
  std::string site;
  std::string rack;
  std::string boot_id;
  std::string config_file;
  std::int64_t start_time_ms = 0;
  std::int64_t time_ms = 0;

  std::uint64_t catalog_version = 0;
  std::uint64_t sensors = 0;
  std::uint64_t sensors_ok = 0;
  std::uint64_t sensors_out_of_range = 0;
  std::uint64_t sensors_failing = 0;
  std::uint64_t sensors_stale = 0;
  std::uint64_t sensors_never_read = 0;

  publisher_status broker;
  std::uint64_t queue_batches = 0;      // waiting for the broker
  std::uint64_t queue_backlog = 0;      // of which backlog (sent at the replay rate)
  std::uint64_t queue_in_flight = 0;
  std::uint64_t queue_bytes = 0;        // payloads held in memory
  std::uint64_t queue_limit_bytes = 0;
  std::uint64_t dropped_batches = 0;    // lost for good: memory or spool cap, never silently
  std::uint64_t dropped_readings = 0;
  spool_report spool;

  reload_report reload;
  std::uint64_t readings_accepted = 0;
  std::uint64_t batches_built = 0;
  std::uint64_t bytes_encoded = 0;

  std::vector<alarm_report> alarms;  // every active alarm, most severe first
  std::uint64_t alarms_critical = 0;   // not suppressed
  std::uint64_t alarms_warning = 0;
  std::uint64_t alarms_suppressed = 0; // by a maintenance window
  std::vector<window_report> maintenance;  // open windows, oldest first
  // From the end of the read to the broker's PUBACK of the AlarmEvent, over the last 4096 events.
  struct latency {
    std::size_t count = 0;
    double p50_ms = 0, p99_ms = 0, max_ms = 0;
  } alarm_latency;

  std::vector<driver_report> drivers;
  std::vector<sensor_attention> attention;  // capped; see attention_total
  std::uint64_t attention_total = 0;
};

std::string to_json(const status_report& report);

}  // namespace racktel
