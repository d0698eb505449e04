// Publishes the agent's state, catalog and data batches to an MQTT 5 broker
// through Paho's async client.
//
// All methods run on the main loop. Paho calls back on its own threads; those
// callbacks only post to the loop. Reconnection is done here, not by Paho,
// because the will (offline state) and the retained state and catalog must be
// made anew for every connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>

#include "common/event_loop.h"
#include "config/config.h"
#include "common/result_gate.h"
#include "publish/outbox.h"

namespace mqtt {
class async_client;
class iaction_listener;
}  // namespace mqtt

namespace racktel {

struct publisher_status {
  bool connected = false;
  std::string server;               // URI of the broker we are connected to
  std::int64_t connected_since_ms = 0;
  std::uint64_t connects = 0;
  std::uint64_t connect_failures = 0;
  unsigned reconnect_attempt = 0;   // failed or short-lived connections in a row (the back-off step)
  std::string last_error;
  std::uint64_t batches_published = 0;
  std::uint64_t alarm_events_published = 0;  // acknowledged by the broker
  std::uint64_t alarm_events_waiting = 0;    // queued or in flight
  std::uint64_t alarm_events_dropped = 0;    // over the in-memory cap (the alarm spool still has them)
  std::uint64_t readings_published = 0;
  std::uint64_t bytes_published = 0;
  std::uint64_t publish_failures = 0;
  std::uint64_t replayed_batches = 0;   // sent from the backlog
  std::uint64_t unreadable_batches = 0; // in the spool index but not readable from disk
  std::uint64_t ack_timeouts = 0;       // connections given up for want of PUBACKs
  std::uint64_t session_takeovers = 0;  // another client connected with our client id
};

class mqtt_publisher {
 public:
  struct hooks {
    std::function<std::string()> online_state;  // AgentState ONLINE payload
    std::function<std::string()> will_state;    // AgentState OFFLINE payload for the will
    std::function<std::string()> catalog;       // current Catalog payload
    std::function<std::uint64_t()> catalog_version;  // its version
    std::function<std::string()> active_alarms;  // current ActiveAlarms payload
    // A backlog batch whose payload is only on disk, and an older catalog it refers to.
    std::function<std::optional<std::string>(std::uint64_t sequence)> load_batch;
    std::function<std::optional<std::string>(std::uint64_t version)> load_catalog;
    // The broker acknowledged the batch (PUBACK < 0x80).
    std::function<void(std::uint64_t sequence)> delivered;
    // ... or the alarm event.
    std::function<void(std::uint64_t sequence)> alarm_delivered;
  };

  // `replay_rate`: readings per second the backlog is drained at, on top of live data.
  mqtt_publisher(event_loop& loop, const mqtt_config& config, std::string topic_root, hooks h,
                 double replay_rate);
  ~mqtt_publisher();
  mqtt_publisher(const mqtt_publisher&) = delete;
  mqtt_publisher& operator=(const mqtt_publisher&) = delete;

  void start();
  // A new batch: live when connected, backlog otherwise.
  void publish_batch(outgoing_batch batch);
  // An AlarmEvent: sent on .../alarms ahead of any data, in sequence order,
  // QoS 1, again after every lost connection until the broker acknowledges it.
  void publish_alarm_event(std::uint64_t sequence, std::string payload);
  // The spool dropped a batch to stay under its cap.
  void drop_batch(std::uint64_t sequence) { queue_.drop(sequence); }
  // The spool failed to sync a batch it had accepted.
  void batch_not_durable(std::uint64_t sequence) { queue_.mark_not_durable(sequence); }
  // The catalog changed: republish it, and the state that names it, now if
  // connected (and at every connect anyway).
  void catalog_changed();
  // The set of active alarms changed (`active_alarms`, an ActiveAlarms
  // payload): republish it retained, and the state that counts it, now if
  // connected (and at every connect anyway, from hooks.active_alarms).
  void alarms_changed(const std::string& active_alarms);
  // A commissioning report (CommissionReport): published retained now if
  // connected, and again at every connect of this run, so a report made
  // while the broker was away still arrives.
  void commission_changed(std::string report);
  // Something the retained state describes changed (a maintenance window): republish it now if connected.
  void state_changed();
  // Sends what is queued for up to `grace`, then publishes the OFFLINE state
  // (made by `offline_state` at that moment, after any batch still unsent has
  // been counted as dropped), disconnects and calls `done`.
  void stop(std::function<std::string()> offline_state, std::chrono::milliseconds grace,
            std::function<void()> done);

  const publisher_status& status() const { return status_; }
  const outbox& queue() const { return queue_; }

 private:
  enum class listener_kind { connect, publish, retained, disconnect };
  class bridge;

  void connect();
  void on_connected(const std::string& server);
  void on_connect_failed(const std::string& error);
  void on_connection_lost(const std::string& cause);
  void on_broker_disconnect(unsigned reason_code);  // the broker's DISCONNECT, before the loss
  void on_probe_result(const std::string& uri, const std::string& why);
  void explain_connect_failure();
  std::chrono::milliseconds stable_after() const;
  void watch_acknowledgements();
  void check_acknowledgements();
  void schedule_reconnect();
  std::chrono::milliseconds backoff(unsigned attempt);
  void pump();
  bool send(outgoing_batch& batch, bool replayed);
  void publish_retained(const std::string& topic, const std::string& payload);
  void on_publish_done(std::uint64_t publish_id, bool ok, const std::string& error);
  // The broker refused a publish: nothing more is sent for a back-off step.
  // The pause started, or nullopt when one is already running (or no connection).
  std::optional<std::chrono::milliseconds> pause_after_refusal();
  void maybe_finish_stop();
  void finish_stop();

  event_loop& loop_;
  mqtt_config config_;
  std::string topic_root_;
  hooks hooks_;
  std::unique_ptr<mqtt::async_client> client_;
  std::unique_ptr<bridge> connect_listener_, publish_listener_, retained_listener_, disconnect_listener_;
  // Shared with Paho's threads: cleared at destruction so late callbacks are dropped.
  std::shared_ptr<std::atomic<bool>> alive_;

  outbox queue_;
  // Backlog pacing: a token bucket in readings.
  double replay_rate_;
  double replay_tokens_ = 0;
  std::chrono::steady_clock::time_point replay_refilled_ = std::chrono::steady_clock::now();
  std::unique_ptr<timer_handle> replay_timer_;
  std::set<std::uint64_t> catalogs_sent_;  // on this connection
  struct pending_publish {
    std::uint64_t sequence;
    std::chrono::steady_clock::time_point sent;
    bool alarm = false;  // an AlarmEvent, not a DataBatch
  };
  // AlarmEvents not yet acknowledged, by sequence: few and small, so all in memory (capped).
  struct alarm_entry {
    std::string payload;
    bool in_flight = false;
  };
  std::map<std::uint64_t, alarm_entry> alarm_queue_;
  std::size_t alarms_in_flight_ = 0;
  bool send_alarms();                 // false when the connection refused
  void requeue_alarm_events();        // the connection is gone: all wait again
  std::map<std::uint64_t, pending_publish> publishes_;  // by publish id, this connection
  std::string commission_;  // the last CommissionReport of this run, empty when none
  std::unique_ptr<timer_handle> ack_timer_;
  std::unique_ptr<timer_handle> stable_timer_;  // resets the back-off once a connection has lasted
  std::uint64_t next_publish_id_ = 1;
  publisher_status status_;
  bool connecting_ = false;
  std::string last_probe_error_;
  std::string broker_reason_;  // why the broker closed the connection, in words, until the loss is handled
  bool taken_over_ = false;    // the broker closed it because another client took our client id
  unsigned short_connections_ = 0;  // connections in a row closed before they proved stable
  bool outage_explained_ = false;  // the first failed connect of an outage is explained, the rest counted
  std::shared_ptr<result_gate> probe_gate_;  // diagnostic threads report through it
  unsigned reconnect_attempt_ = 0;
  std::unique_ptr<timer_handle> reconnect_timer_;
  // After a refused publish (e.g. denied by an ACL) sending pauses, with
  // back-off, instead of resending in a tight loop.
  unsigned refusals_in_a_row_ = 0;
  std::unique_ptr<timer_handle> refusal_pause_;
  std::mt19937 jitter_{std::random_device{}()};

  bool stopping_ = false;
  bool offline_sent_ = false;
  std::function<std::string()> offline_state_;
  std::function<void()> stop_done_;
  std::unique_ptr<timer_handle> stop_timer_;
};

}  // namespace racktel
