// The agent: drivers -> lanes -> pollers -> sampler (latest table, health)
// -> batch builder -> encoder -> publisher. Everything here runs on the one
// main loop; lanes and Paho hand their results over with post.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "alarms/alarm_engine.h"
#include "commission/commission.h"
#include "common/event_loop.h"
#include "config/config.h"
#include "drivers/driver_loader.h"
#include "publish/mqtt_publisher.h"
#include "sched/lane.h"
#include "sched/poller.h"
#include "sched/sensor_health.h"
#include "spool/spool.h"
#include "status/status_report.h"
#include "store/batch_builder.h"
#include "store/catalog.h"
#include "store/latest_table.h"
#include "store/sensor_history.h"
#include "wire/codec.h"

namespace racktel {

std::string racktel_version();
boot_id make_boot_id();

class agent {
 public:
  agent(event_loop& loop, agent_config config, driver_loader loader);
  ~agent();
  agent(const agent&) = delete;
  agent& operator=(const agent&) = delete;

  // Opens every driver (a driver that fails is reported and left out), starts
  // polling and connects to the broker.
  void start();
  // Stops polling, flushes the batch in hand, publishes the offline state,
  // disconnects, then calls `done`.
  void shutdown(std::function<void()> done);

  status_report report(const report_request& request = {}) const;
  // Every sensor (matching a --match glob) with its newest reading and limits.
  std::vector<sensor_report> sensor_reports(const std::string& match) const;
  // The newest reading of each of catalog().sensors, index for index (for /metrics).
  const std::vector<latest_reading>& latest_readings() const { return latest_.entries(); }
  const sensor_catalog& catalog() const { return catalog_; }
  const std::string& site() const { return config_.site; }
  const std::string& rack() const { return config_.rack; }
  // The last 15 minutes of each sensor, index for index; null when no page is
  // served ([http] listen empty), so that an agent without one pays nothing.
  const sensor_history* history() const { return history_.get(); }
  // Groups allowed to change the agent over the status socket (reloadable).
  const std::vector<unsigned>& control_gids() const { return config_.control_gids; }

  // A driver instance opened for the agent but not yet polled. Opening may be
  // slow (a sim model to build, a BMC to log in to), so a reload does it off
  // the main loop; attaching it (lane, poller) is quick and done on the loop.
  struct opened_driver {
    driver_config config;
    std::shared_ptr<driver_instance> instance;  // null when it failed to open
    std::shared_ptr<const catalog_part> catalog_bytes;  // its initial catalog, encoded
    std::string error;
  };
  // Thread-safe: touches no agent state.
  static opened_driver open_driver(const driver_config& dc, const driver_loader& loader);

  // A running instance, as a reload being prepared off the loop sees it: a
  // table equal to a running one is kept, any other is opened beforehand.
  struct running_driver {
    driver_config config;
    std::shared_ptr<const instance_catalog> catalog;  // null when it failed to open
    std::shared_ptr<const catalog_part> catalog_bytes;
  };
  std::vector<running_driver> running_drivers() const;

  // The rack's catalog as a reload will make it, assembled off the loop (for
  // a large rack: copying 100 000 entries and writing a 10 MB file to the
  // spool), and used if the instances' catalogs are still those it was made of.
  struct prepared_catalog {
    std::vector<std::shared_ptr<const instance_catalog>> from;  // in slot order
    sensor_catalog catalog;
    std::vector<std::shared_ptr<const catalog_part>> parts;
    std::uint64_t spooled_bytes = 0;  // its spool file is written (0: not)
  };
  // `sources`: each instance's catalog and its encoded part, in slot order.
  // `spool` (null when the spool is off) is where its file goes. When the
  // version comes out as `current_version`, nothing is copied or written.
  static prepared_catalog prepare_catalog(
      const std::vector<std::pair<std::shared_ptr<const instance_catalog>, std::shared_ptr<const catalog_part>>>& sources,
      const spool_options* spool, const boot_id& boot, std::uint64_t current_version);
  const boot_id& boot() const { return boot_; }
  // The spool's options (null when [spool] enabled = false), for threads that write ahead.
  const spool_options* spool_settings() const { return spool_ ? &spool_settings_ : nullptr; }

  // Live reload with a configuration that has already been validated, and the
  // instances opened for the tables that differ from the running ones (by
  // name): drivers whose tables changed are replaced, the others keep
  // running, and nothing queued or spooled is touched. Quick: nothing is
  // opened here. Returns what happened, for the log, `racktel status` and
  // `racktel reload`.
  std::string apply_reload(agent_config next, std::vector<opened_driver> opened,
                           std::optional<prepared_catalog> prepared = std::nullopt);
  // A reload whose file did not validate: recorded, nothing changes.
  void reload_refused(const std::vector<config_error>& errors);
  const reload_report& last_reload() const { return last_reload_; }

  // Maintenance windows (`racktel maintenance`): opened, ended, listed.
  // Each change is saved in the state directory, marks the covered alarms
  // suppressed (events and the active set) and is published in AgentState.
  struct maintenance_answer {
    bool ok = false;
    std::string message;  // for the log and the technician
    std::optional<maintenance_window> window;
  };
  maintenance_answer start_maintenance(maintenance_request request);
  maintenance_answer end_maintenance(std::uint64_t id, const std::string& by);
  // Each open window with the sensors it covers and the active alarms it suppresses.
  std::vector<window_report> maintenance_report() const;

  // The commissioning check against the rack as it is now; `publish` also
  // sends it retained to .../commission, with `by` and the file's name.
  commission_report commission(const std::vector<expectation>& expectations) const;
  void publish_commission(const commission_report& report, const std::string& by, const std::string& expectations);

  // Threads of the driver lanes that are still running: for shutdown, which
  // waits for all of them under one deadline.
  std::vector<lane*> lanes() const;

 private:
  struct driver_slot {
    std::uint64_t id = 0;  // stable across reloads; slot positions are not
    driver_config config;
    std::shared_ptr<driver_instance> instance;  // null when it failed to open
    std::unique_ptr<lane> own_lane;  // for a driver that may block; before `polling`, which uses it
    std::unique_ptr<poller> polling;
    // Its groups and driver index; its sensors are in the rack's catalog from `offset` on.
    std::shared_ptr<instance_catalog> catalog;
    std::shared_ptr<const catalog_part> catalog_bytes;  // `catalog`, encoded for the wire
    std::string error;
    std::size_t offset = 0;  // index of its first sensor in the rack catalog
  };

  void open_drivers();
  driver_slot attach(opened_driver opened);
  void rebuild_catalog(std::optional<prepared_catalog> prepared = std::nullopt);
  // Alarm limits for the current catalog and rules; alarms of sensors that stay are kept.
  void configure_alarms();
  // `origin`: when the read that caused the events ended (its scan reached the loop).
  // Returns whether there were any (the active set is then published, at most every 100 ms).
  bool handle_alarm_events(std::chrono::steady_clock::time_point origin = std::chrono::steady_clock::now());
  // <state_dir>/maintenance: the open windows, so that a restart keeps them.
  std::string maintenance_path() const;
  void save_maintenance() const;
  void restore_maintenance();
  // After the windows changed: new coverage, events for the alarms it changes,
  // the state republished, the file saved, the expiry timer set.
  void maintenance_changed();
  void arm_maintenance_timer();
  void alarm_delivered(std::uint64_t sequence);
  // Encodes the active set once, saves it in the state directory and publishes it (retained).
  void publish_active_alarms();
  std::vector<active_alarm> active_alarms() const;  // values quantised as on the wire
  std::string active_alarms_payload() const;
  // <state_dir>/active-alarms: the active set, so that a restart neither
  // forgets nor raises again what was already raised.
  std::string active_alarms_path() const;
  void save_active_alarms(const std::string& active_alarms_payload) const;
  void restore_active_alarms();
  void on_scan(std::uint64_t slot_id, instance_scan scan);
  void arm_batch_timer();
  void flush_batch();
  // Appends to the spool and marks the batch durable when that worked.
  void store(outgoing_batch& batch, std::int64_t time_ms);
  void schedule_sync();
  void sync_spool();
  void take_not_durable();
  void watch_spool_health();
  agent_state_info state(bool online, std::string reason) const;
  std::string catalog_payload() const;

  event_loop& loop_;
  agent_config config_;
  driver_loader loader_;
  boot_id boot_;
  std::int64_t start_time_ms_;

  // Declared before the slots: pollers submit to it, so it must outlive them.
  std::unique_ptr<lane> shared_lane_;  // for drivers that never block
  std::vector<driver_slot> slots_;
  std::uint64_t next_slot_id_ = 1;
  reload_report last_reload_;

  sensor_catalog catalog_;
  std::vector<std::shared_ptr<const catalog_part>> catalog_parts_;  // catalog_, encoded by instance
  latest_table latest_;
  std::unique_ptr<sensor_history> history_;
  sensor_health health_;
  alarm_engine alarms_;
  maintenance_book maintenance_;
  std::unique_ptr<timer_handle> maintenance_timer_;
  std::unique_ptr<spool> alarm_spool_;  // AlarmEvents not yet acknowledged; with the data spool
  std::uint64_t next_alarm_sequence_ = 1;
  // Alarm latency, from the end of the read to the broker's PUBACK of its event.
  std::map<std::uint64_t, std::chrono::steady_clock::time_point> alarm_origin_;  // by sequence, until acknowledged
  std::vector<std::uint32_t> alarm_latency_us_;  // the last 4096, a ring
  std::size_t alarm_latency_next_ = 0;
  std::vector<alarm_event> alarm_events_;  // raised or cleared since they were last handled
  std::unique_ptr<timer_handle> active_alarms_timer_;  // the active set's next publication, when due
  std::chrono::steady_clock::time_point last_active_alarms_{};  // its last publication
  batch_builder batch_;
  std::unique_ptr<timer_handle> batch_timer_;
  std::unique_ptr<timer_handle> settle_timer_;  // gives the heap's free pages back after a catalog change
  std::unique_ptr<spool> spool_;  // null when [spool] enabled = false
  spool_options spool_settings_;
  std::unique_ptr<timer_handle> sync_timer_;
  std::unique_ptr<timer_handle> spool_retry_timer_;
  std::chrono::steady_clock::time_point last_sync_{};
  std::uint64_t not_stored_batches_ = 0;   // the spool refused them (disk full, read-only ...)
  std::uint64_t cap_dropped_in_episode_ = 0;
  std::unique_ptr<mqtt_publisher> publisher_;

  std::uint64_t readings_accepted_ = 0;
  std::uint64_t batches_built_ = 0;
  std::uint64_t bytes_encoded_ = 0;
  bool shutting_down_ = false;
};

}  // namespace racktel
