#include "mqtt_publisher.h"

#include <mqtt/async_client.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/descriptors.h"
#include "common/units.h"
#include "common/result_gate.h"
#include "publish/mqtt_options.h"
#include "publish/connect_probe.h"

#include <thread>

namespace racktel {
namespace {

constexpr std::uint32_t max_incoming_packet_bytes = 64 * 1024;

void* as_context(std::uint64_t id) { return reinterpret_cast<void*>(static_cast<std::uintptr_t>(id)); }
std::uint64_t from_context(void* p) { return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(p)); }

constexpr unsigned session_taken_over = 0x8EU;

// An MQTT 5 reason code in words: "Not authorized (0x87)".
std::string describe_reason_code(unsigned reason) {
  static constexpr char hex[] = "0123456789abcdef";
  const char* words = ::MQTTReasonCode_toString(static_cast<MQTTReasonCodes>(reason));
  std::string code = "0x";
  code += hex[(reason >> 4U) & 0xFU];
  code += hex[reason & 0xFU];
  return std::string(words ? words : "unknown reason") + " (" + code + ")";
}

// Paho's numbers in words: its own return codes (MQTTAsync_strerror) and the
// broker's MQTT 5 reason codes ("Not authorized (0x87)").
std::string describe_failure(const mqtt::token& tok) {
  std::string text;
  const int rc = tok.get_return_code();
  if (rc != MQTTASYNC_SUCCESS) {
    const char* words = rc == MQTTASYNC_FAILURE ? "the connection failed" : ::MQTTAsync_strerror(rc);
    text = std::string(words ? words : "unknown error") + " (Paho code " + std::to_string(rc) + ")";
  }
  if (tok.get_reason_code() != mqtt::ReasonCode::SUCCESS) {
    text += (text.empty() ? "" : "; ") + std::string("broker says: ") +
            describe_reason_code(static_cast<unsigned>(tok.get_reason_code()));
  }
  return text.empty() ? std::string("unknown failure") : text;
}

}  // namespace

// Paho listener: runs on a Paho thread, so it only hands the outcome to the loop.
class mqtt_publisher::bridge final : public mqtt::iaction_listener {
 public:
  bridge(mqtt_publisher& owner, listener_kind kind) : owner_(owner), kind_(kind) {}

  void on_success(const mqtt::token& tok) override {
    // MQTT 5: a PUBACK with a reason code >= 0x80 is a refusal, not a delivery.
    const bool ok = static_cast<int>(tok.get_reason_code()) < 0x80;
    deliver(tok, ok, ok ? "" : describe_failure(tok));
  }
  void on_failure(const mqtt::token& tok) override { deliver(tok, false, describe_failure(tok)); }

 private:
  void deliver(const mqtt::token& tok, bool ok, std::string error) {
    if (!owner_.alive_->load()) return;
    std::string server;
    if (kind_ == listener_kind::connect && ok) {
      try {
        server = tok.get_connect_response().get_server_uri();
      } catch (const std::exception&) {
      }
    }
    const std::uint64_t id = from_context(tok.get_user_context());
    mqtt_publisher* owner = &owner_;
    owner_.loop_.post([owner, alive = owner_.alive_, kind = kind_, id, ok, error = std::move(error),
                       server = std::move(server)] {
      if (!alive->load()) return;
      switch (kind) {
        case listener_kind::connect:
          ok ? owner->on_connected(server) : owner->on_connect_failed(error);
          break;
        case listener_kind::publish: owner->on_publish_done(id, ok, error); break;
        case listener_kind::retained:
          if (!ok) spdlog::warn("mqtt: retained state/catalog publish failed: {}", error);
          if (owner->stopping_ && owner->offline_sent_) {
            owner->client_->disconnect(std::chrono::milliseconds(500), nullptr, *owner->disconnect_listener_);
          }
          break;
        case listener_kind::disconnect: owner->finish_stop(); break;
      }
    });
  }

  mqtt_publisher& owner_;
  listener_kind kind_;
};

mqtt_publisher::mqtt_publisher(event_loop& loop, const mqtt_config& config, std::string topic_root,
                               hooks h, double replay_rate)
    : loop_(loop),
      config_(config),
      topic_root_(std::move(topic_root)),
      hooks_(std::move(h)),
      alive_(std::make_shared<std::atomic<bool>>(true)),
      queue_(config.queue_limit_bytes),
      replay_rate_(replay_rate),
      probe_gate_(std::make_shared<result_gate>(loop)) {
  // No persistence and no Paho-side buffering: the agent owns every unsent batch.
  client_ = std::make_unique<mqtt::async_client>(config_.brokers.front(), config_.client_id,
                                                 mqtt::create_options(paho_mqtt_version(config_.protocol)), nullptr);
  connect_listener_ = std::make_unique<bridge>(*this, listener_kind::connect);
  publish_listener_ = std::make_unique<bridge>(*this, listener_kind::publish);
  retained_listener_ = std::make_unique<bridge>(*this, listener_kind::retained);
  disconnect_listener_ = std::make_unique<bridge>(*this, listener_kind::disconnect);
  client_->set_connection_lost_handler([this, alive = alive_](const std::string& cause) {
    if (!alive->load()) return;
    loop_.post([this, alive, cause] {
      if (alive->load()) on_connection_lost(cause);
    });
  });
  // An MQTT 5 broker may say why it closes a connection (a DISCONNECT with
  // a reason code: server shutting down, session taken over, administrative action).
  client_->set_disconnected_handler([this, alive = alive_](const mqtt::properties&, mqtt::ReasonCode reason) {
    if (!alive->load()) return;
    loop_.post([this, alive, reason] {
      if (alive->load()) on_broker_disconnect(static_cast<unsigned>(reason));
    });
  });
}

void mqtt_publisher::on_broker_disconnect(unsigned reason) {
  if (reason == session_taken_over) {
    // Two agents with one client id take the session from each other in
    // turn, each connecting a moment after the other: say so, once an outage.
    ++status_.session_takeovers;
    const std::string why = "another client connected with this agent's client id \"" + config_.client_id +
                            "\" (the broker says: " + describe_reason_code(reason) +
                            "); give every agent its own [mqtt] client_id (the default is racktel-<site>-<rack>: "
                            "are two agents configured as the same rack?)";
    if (status_.last_error != why) spdlog::error("mqtt: {}", why);
    status_.last_error = why;
    taken_over_ = true;
  } else {
    broker_reason_ = describe_reason_code(reason);
  }
  // Paho reports a DISCONNECT from the broker only here, never as a lost
  // connection: without this the agent would wait on a closed connection.
  on_connection_lost("");
}

mqtt_publisher::~mqtt_publisher() {
  alive_->store(false);
  probe_gate_->close();
  try {
    if (client_->is_connected()) client_->disconnect(std::chrono::milliseconds(0))->wait_for(std::chrono::milliseconds(200));
  } catch (const std::exception&) {
    // Shutting down anyway.
  }
}

void mqtt_publisher::start() { connect(); }

void mqtt_publisher::connect() {
  if (connecting_ || stopping_) return;
  connecting_ = true;
  const std::string state_topic = topic_root_ + "/state";
  const bool v5 = config_.protocol == mqtt_protocol::v5;
  auto builder = mqtt::connect_options_builder()
                     .mqtt_version(paho_mqtt_version(config_.protocol))
                     .keep_alive_interval(config_.keepalive)
                     .connect_timeout(config_.connect_timeout)
                     .automatic_reconnect(false)
                     .servers(std::make_shared<mqtt::string_collection>(config_.brokers))
                     .will(mqtt::message(state_topic, hooks_.will_state(), 1, true));
  if (config_.username) builder.user_name(*config_.username);
  if (config_.password) builder.password(*config_.password);
  if (config_.uses_tls()) builder.ssl(make_ssl_options(config_));
  // A new session at every connect: the agent resends what was not acknowledged itself.
  if (v5) {
    builder.clean_start(true);
    // The agent subscribes to nothing: the broker has no business sending it
    // more than acknowledgements.
    announce_maximum_packet_size(builder, max_incoming_packet_bytes);
  } else {
    builder.clean_session(true);
  }
  try {
    client_->connect(builder.finalize(), nullptr, *connect_listener_);
  } catch (const mqtt::exception& e) {
    loop_.post([this, alive = alive_, what = std::string(e.what())] {
      if (alive->load()) on_connect_failed(what);
    });
  }
}

void mqtt_publisher::explain_connect_failure() {
  // The diagnostic connection blocks: it runs on a thread of its own and
  // reports back through the gate, which is closed when the publisher goes.
  for (const std::string& uri : config_.brokers) {
    std::thread([gate = probe_gate_, this, uri, config = config_] {
      const std::string why = probe_connection(uri, config, std::chrono::seconds(5));
      if (why.empty()) return;
      gate->post([gate, this, uri, why] {
        if (gate->is_open()) on_probe_result(uri, why);
      });
    }).detach();
  }
}

void mqtt_publisher::on_probe_result(const std::string& uri, const std::string& why) {
  // The cause in the system's or OpenSSL's words, once per distinct cause.
  const std::string message = uri + ": " + why;
  if (message == last_probe_error_) return;
  last_probe_error_ = message;
  if (why.starts_with("TLS: ")) {
    status_.last_error = "TLS: " + uri + ": " + why.substr(5);
    spdlog::error("mqtt: TLS to the broker failed: {}: {}", uri, why.substr(5));
  } else {
    status_.last_error = "connect failed: " + message;
    spdlog::error("mqtt: cannot connect to {}", message);
  }
}

void mqtt_publisher::on_connected(const std::string& server) {
  last_probe_error_.clear();
  outage_explained_ = false;
  connecting_ = false;
  // The back-off starts over only once this connection has proved itself: a
  // broker that accepts and closes at once must not be hammered.
  stable_timer_ = loop_.after(stable_after(), [this] {
    stable_timer_.reset();
    reconnect_attempt_ = status_.reconnect_attempt = 0;
    short_connections_ = 0;
  });
  status_.connected = true;
  status_.server = server.empty() ? config_.brokers.front() : server;
  if (config_.brokers.size() > 1) {
    // Which broker of the list it is, from the socket (Paho names the first).
    const auto peers = connected_tcp_peers();
    for (const std::string& uri : config_.brokers) {
      const std::string address = uri.substr(uri.find("://") + 3);
      if (std::find(peers.begin(), peers.end(), address) != peers.end()) status_.server = uri;
    }
  }
  status_.connected_since_ms = unix_now_ms();
  ++status_.connects;
  spdlog::info("mqtt: connected to {}", status_.server);
  mark_descriptors_close_on_exec();  // Paho's socket is not opened close-on-exec
  disable_nagle_on_tcp_sockets();    // nor with TCP_NODELAY: alarm events must not wait ~40 ms for an ACK
  publish_retained(topic_root_ + "/state", hooks_.online_state());
  publish_retained(topic_root_ + "/catalog", hooks_.catalog());
  publish_retained(topic_root_ + "/alarms/active", hooks_.active_alarms());
  if (!commission_.empty()) publish_retained(topic_root_ + "/commission", commission_);
  catalogs_sent_ = {hooks_.catalog_version()};
  pump();
  maybe_finish_stop();
}

void mqtt_publisher::on_connect_failed(const std::string& error) {
  connecting_ = false;
  ++status_.connect_failures;
  // Paho's words for a failed TCP or TLS connect are "return code -1": the
  // status keeps the cause the probe found ("Connection refused", "No route
  // to host", "timed out", "TLS: ...") once there is one, and each failure
  // probes again, so a cause that changes during an outage is seen.
  if (last_probe_error_.empty()) status_.last_error = "connect failed: " + error;
  explain_connect_failure();
  // Log the first failure of an outage loudly, the rest quietly.
  if (!outage_explained_) {
    outage_explained_ = true;
    spdlog::warn("mqtt: cannot connect to {}; retrying with back-off", fmt::join(config_.brokers, ", "));
  } else {
    spdlog::debug("mqtt: connect attempt {} failed: {}", reconnect_attempt_ + 1, error);
  }
  if (stopping_) {
    finish_stop();
    return;
  }
  schedule_reconnect();
}

void mqtt_publisher::on_connection_lost(const std::string& cause) {
  if (!status_.connected) return;
  status_.connected = false;
  const bool short_lived = stable_timer_ != nullptr;  // lost before it proved stable
  stable_timer_.reset();
  ack_timer_.reset();
  short_connections_ = short_lived ? short_connections_ + 1 : 0;
  if (!taken_over_ && broker_reason_.empty() && short_connections_ >= 3) {
    // Brokers that do not say why (mosquitto closes the older of two
    // connections with one client id without a DISCONNECT) leave only the
    // pattern: a connection that is closed soon after it is made, again and again.
    status_.last_error = "the broker closed the connection soon after each of the last " +
                         std::to_string(short_connections_) + " connects: another client may be using this agent's "
                         "client id \"" + config_.client_id + "\" (are two agents configured as the same rack?), "
                         "or the broker refuses something (see its log)";
    if (short_connections_ == 3) spdlog::error("mqtt: {}", status_.last_error);
    spdlog::warn("mqtt: connection lost; {} batches in flight will be resent", queue_.in_flight());
  } else if (taken_over_) {
    taken_over_ = false;  // said already, in on_broker_disconnect
    spdlog::warn("mqtt: connection lost (session taken over); {} batches in flight will be resent", queue_.in_flight());
  } else {
    std::string why = cause;
    if (!broker_reason_.empty()) why = "the broker closed it: " + broker_reason_;
    status_.last_error = "connection lost" + (why.empty() ? std::string() : ": " + why);
    spdlog::warn("mqtt: {}; {} batches in flight will be resent", status_.last_error, queue_.in_flight());
  }
  broker_reason_.clear();
  // In-flight publishes of a clean-start session are not resent by Paho: resend them ourselves.
  queue_.retry_all_in_flight();
  queue_.make_all_backlog();
  publishes_.clear();
  requeue_alarm_events();
  refusal_pause_.reset();
  replay_timer_.reset();
  if (stopping_) {
    finish_stop();
    return;
  }
  schedule_reconnect();
}

std::chrono::milliseconds mqtt_publisher::backoff(unsigned attempt) {
  const auto base = config_.reconnect_min.count() << std::min(attempt, 20U);
  const auto capped = std::min<std::int64_t>(base, config_.reconnect_max.count());
  // Jitter between half and all of the back-off, so racks that lost the same
  // broker do not all come back in the same millisecond.
  std::uniform_int_distribution<std::int64_t> pick(capped / 2, std::max<std::int64_t>(capped, 1));
  return std::chrono::milliseconds(pick(jitter_));
}

void mqtt_publisher::schedule_reconnect() {
  reconnect_timer_ = loop_.after(backoff(reconnect_attempt_++), [this] { connect(); });
  status_.reconnect_attempt = reconnect_attempt_;
}

void mqtt_publisher::publish_retained(const std::string& topic, const std::string& payload) {
  try {
    auto msg = mqtt::make_message(topic, payload, 1, true);
    client_->publish(msg, nullptr, *retained_listener_);
  } catch (const mqtt::exception& e) {
    spdlog::warn("mqtt: cannot publish {}: {}", topic, e.what());
  }
}

void mqtt_publisher::publish_batch(outgoing_batch batch) {
  const std::uint64_t dropped_before = queue_.dropped_readings();
  batch.backlog = !status_.connected;
  queue_.push(std::move(batch));
  if (queue_.dropped_readings() != dropped_before && dropped_before == 0) {
    spdlog::error("mqtt: delivery queue full ({} bytes) and not in the spool; dropping the oldest batches",
                  config_.queue_limit_bytes);
  }
  pump();
}

void mqtt_publisher::catalog_changed() {
  if (!status_.connected) return;
  publish_retained(topic_root_ + "/catalog", hooks_.catalog());
  catalogs_sent_.insert(hooks_.catalog_version());
  // The retained state names the catalog version and sensor count: it must not describe the old one.
  publish_retained(topic_root_ + "/state", hooks_.online_state());
}

void mqtt_publisher::alarms_changed(const std::string& active_alarms) {
  if (!status_.connected) return;
  publish_retained(topic_root_ + "/alarms/active", active_alarms);
  publish_retained(topic_root_ + "/state", hooks_.online_state());  // it counts them
}

void mqtt_publisher::commission_changed(std::string report) {
  commission_ = std::move(report);
  if (status_.connected) publish_retained(topic_root_ + "/commission", commission_);
}

void mqtt_publisher::state_changed() {
  if (!status_.connected) return;
  publish_retained(topic_root_ + "/state", hooks_.online_state());
}

void mqtt_publisher::publish_alarm_event(std::uint64_t sequence, std::string payload) {
  // A storm of flapping alarms must not eat the agent's memory: the oldest go
  // first (the alarm spool still holds them for the next start).
  constexpr std::size_t cap = 100000;
  while (alarm_queue_.size() >= cap) {
    auto oldest = std::find_if(alarm_queue_.begin(), alarm_queue_.end(), [](const auto& e) { return !e.second.in_flight; });
    if (oldest == alarm_queue_.end()) break;
    alarm_queue_.erase(oldest);
    ++status_.alarm_events_dropped;
  }
  alarm_queue_[sequence] = {std::move(payload), false};
  status_.alarm_events_waiting = alarm_queue_.size();
  pump();
}

bool mqtt_publisher::send_alarms() {
  for (auto& [sequence, entry] : alarm_queue_) {
    if (queue_.in_flight() + alarms_in_flight_ >= config_.max_inflight) break;
    if (entry.in_flight) continue;
    const std::uint64_t id = next_publish_id_++;
    publishes_[id] = {sequence, std::chrono::steady_clock::now(), true};
    watch_acknowledgements();
    try {
      client_->publish(mqtt::make_message(topic_root_ + "/alarms", entry.payload, 1, false), as_context(id),
                       *publish_listener_);
    } catch (const mqtt::exception& e) {
      publishes_.erase(id);
      ++status_.publish_failures;
      status_.last_error = std::string("publish refused: ") + e.what();
      return false;
    }
    entry.in_flight = true;
    ++alarms_in_flight_;
  }
  return true;
}

void mqtt_publisher::requeue_alarm_events() {
  for (auto& [sequence, entry] : alarm_queue_) entry.in_flight = false;
  alarms_in_flight_ = 0;
}

void mqtt_publisher::pump() {
  if (refusal_pause_ || !status_.connected) return;
  // Alarms first: they are what the on-call engineer is waiting for.
  if (!send_alarms()) return;
  while (queue_.in_flight() + alarms_in_flight_ < config_.max_inflight) {
    if (outgoing_batch* live = queue_.send_next_live()) {
      if (!send(*live, false)) break;
      continue;
    }
    // Stopping: the backlog stays in the spool for the next start.
    if (queue_.waiting_backlog() == 0 || stopping_) break;
    // The backlog drains at the replay rate so that a long outage does not
    // flood the broker or starve live data.
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - replay_refilled_).count();
    replay_refilled_ = now;
    replay_tokens_ = std::min(replay_tokens_ + elapsed * replay_rate_, replay_rate_);
    if (replay_tokens_ < 0) {
      if (!replay_timer_) {
        const auto wait = std::chrono::milliseconds(static_cast<std::int64_t>(-replay_tokens_ / replay_rate_ * 1000.0) + 1);
        replay_timer_ = loop_.after(wait, [this] {
          replay_timer_.reset();
          pump();
        });
      }
      break;
    }
    outgoing_batch* old = queue_.send_next_backlog();
    replay_tokens_ -= old->readings;
    if (!send(*old, true)) break;
  }
}

bool mqtt_publisher::send(outgoing_batch& batch, bool replayed) {
  const std::uint64_t sequence = batch.sequence;
  std::string payload = batch.payload;
  if (payload.empty()) {
    auto loaded = hooks_.load_batch ? hooks_.load_batch(sequence) : std::nullopt;
    if (!loaded) {
      ++status_.unreadable_batches;
      spdlog::error("mqtt: batch {} cannot be read back from the spool; counted as dropped", sequence);
      queue_.drop(sequence);
      return true;
    }
    payload = std::move(*loaded);
  }
  // A consumer needs the catalog a batch names: batches from before a catalog
  // change (or a restart) bring theirs along, unretained, before them.
  if (!catalogs_sent_.contains(batch.catalog_version)) {
    if (auto catalog = hooks_.load_catalog ? hooks_.load_catalog(batch.catalog_version) : std::nullopt) {
      try {
        client_->publish(mqtt::make_message(topic_root_ + "/catalog", *catalog, 1, false), nullptr, *retained_listener_);
        catalogs_sent_.insert(batch.catalog_version);
      } catch (const mqtt::exception& e) {
        spdlog::warn("mqtt: cannot publish catalog {:016x}: {}", batch.catalog_version, e.what());
      }
    } else {
      spdlog::warn("mqtt: catalog {:016x} of batch {} is no longer known; consumers may not decode it",
                   batch.catalog_version, sequence);
      catalogs_sent_.insert(batch.catalog_version);  // say it once
    }
  }
  if (replayed) payload += std::string("\x20\x01", 2);  // DataBatch.replayed = true: a later field wins
  const std::uint64_t id = next_publish_id_++;
  publishes_[id] = {sequence, std::chrono::steady_clock::now()};
  watch_acknowledgements();
  try {
    client_->publish(mqtt::make_message(topic_root_ + "/data", payload, 1, false), as_context(id), *publish_listener_);
  } catch (const mqtt::exception& e) {
    // Paho refuses synchronously while disconnected; the loss callback follows.
    publishes_.erase(id);
    queue_.retry(sequence);
    ++status_.publish_failures;
    status_.last_error = std::string("publish refused: ") + e.what();
    return false;
  }
  if (replayed) ++status_.replayed_batches;
  return true;
}

void mqtt_publisher::on_publish_done(std::uint64_t publish_id, bool ok, const std::string& error) {
  auto it = publishes_.find(publish_id);
  if (it == publishes_.end()) return;  // from a connection that is gone; already requeued
  const std::uint64_t sequence = it->second.sequence;
  const bool alarm = it->second.alarm;
  publishes_.erase(it);
  if (alarm) {
    auto entry = alarm_queue_.find(sequence);
    if (entry != alarm_queue_.end() && entry->second.in_flight) {
      --alarms_in_flight_;
      if (ok) {
        alarm_queue_.erase(entry);
        ++status_.alarm_events_published;
        if (hooks_.alarm_delivered) hooks_.alarm_delivered(sequence);
      } else {
        entry->second.in_flight = false;  // sent again at the next pump, still in order
        ++status_.publish_failures;
        status_.last_error = "publish of alarm event " + std::to_string(sequence) + " failed: " + error;
      }
    }
    status_.alarm_events_waiting = alarm_queue_.size();
    if (!ok) pause_after_refusal();
  } else if (ok) {
    refusals_in_a_row_ = 0;
    if (auto batch = queue_.acknowledge(sequence)) {
      ++status_.batches_published;
      status_.readings_published += batch->readings;
      status_.bytes_published += batch->payload_size;
      if (hooks_.delivered) hooks_.delivered(sequence);
    }
  } else {
    ++status_.publish_failures;
    status_.last_error = "publish of batch " + std::to_string(sequence) + " failed: " + error;
    queue_.retry(sequence);
    if (const auto pause = pause_after_refusal()) {
      spdlog::warn("mqtt: {}; resending in {} ms", status_.last_error, pause->count());
    }
  }
  pump();
  maybe_finish_stop();
}

std::optional<std::chrono::milliseconds> mqtt_publisher::pause_after_refusal() {
  if (refusal_pause_ || !status_.connected) return std::nullopt;
  const auto pause = backoff(refusals_in_a_row_++);
  refusal_pause_ = loop_.after(pause, [this] {
    refusal_pause_.reset();
    pump();
  });
  return pause;
}

std::chrono::milliseconds mqtt_publisher::stable_after() const {
  return std::max<std::chrono::milliseconds>(std::chrono::seconds(10), 2 * config_.keepalive);
}

void mqtt_publisher::watch_acknowledgements() {
  if (ack_timer_ || publishes_.empty()) return;
  ack_timer_ = loop_.after(std::min<std::chrono::milliseconds>(config_.ack_timeout, std::chrono::seconds(1)), [this] {
    ack_timer_.reset();
    check_acknowledgements();
  });
}

void mqtt_publisher::check_acknowledgements() {
  if (!status_.connected || publishes_.empty()) return;
  const auto oldest = std::min_element(publishes_.begin(), publishes_.end(), [](const auto& a, const auto& b) {
                        return a.second.sent < b.second.sent;
                      })->second.sent;
  const auto waited = std::chrono::steady_clock::now() - oldest;
  if (waited < config_.ack_timeout) {
    watch_acknowledgements();
    return;
  }
  // A broker that answers pings but not publishes would hold the batches in
  // flight forever while the spool fills: give up on this connection.
  ++status_.ack_timeouts;
  spdlog::warn("mqtt: {} batch(es) sent to {} without acknowledgement for {} ms; reconnecting", publishes_.size(),
               status_.server, std::chrono::duration_cast<std::chrono::milliseconds>(waited).count());
  try {
    client_->disconnect(std::chrono::milliseconds(0));
  } catch (const mqtt::exception&) {
    // Already gone: the reconnect below is what matters.
  }
  on_connection_lost("no acknowledgement for " + format_duration(config_.ack_timeout));
}

void mqtt_publisher::stop(std::function<std::string()> offline_state, std::chrono::milliseconds grace,
                          std::function<void()> done) {
  stopping_ = true;
  offline_state_ = std::move(offline_state);
  stop_done_ = std::move(done);
  reconnect_timer_.reset();
  stop_timer_ = loop_.after(grace, [this] {
    spdlog::warn("mqtt: shutdown grace period over with {} batches unsent", queue_.waiting() + queue_.in_flight());
    // What is not in the spool cannot wait for the next start: count it as lost.
    queue_.abandon_not_durable();
    publishes_.clear();
    requeue_alarm_events();
    if (status_.connected && !offline_sent_) {
      offline_sent_ = true;
      publish_retained(topic_root_ + "/state", offline_state_());
      stop_timer_ = loop_.after(std::chrono::milliseconds(500), [this] { finish_stop(); });
    } else {
      finish_stop();
    }
  });
  if (!status_.connected && !connecting_) {
    finish_stop();
    return;
  }
  maybe_finish_stop();
}

void mqtt_publisher::maybe_finish_stop() {
  if (!stopping_ || offline_sent_ || !status_.connected) return;
  if (queue_.waiting_live() > 0 || queue_.in_flight() > 0 || !alarm_queue_.empty()) return;
  offline_sent_ = true;
  // The retained listener disconnects once the offline state is acknowledged.
  publish_retained(topic_root_ + "/state", offline_state_());
}

void mqtt_publisher::finish_stop() {
  if (!stop_done_) return;
  const std::uint64_t unsent = queue_.abandon_not_durable();
  if (unsent > 0) spdlog::error("mqtt: stopped with {} readings unsent and not in the spool; they are lost", unsent);
  stop_timer_.reset();
  status_.connected = false;
  auto done = std::move(stop_done_);
  stop_done_ = nullptr;
  done();
}

}  // namespace racktel
