#include "ingest/ingest_daemon.h"

#include <utility>  // before Asio's awaitable under GCC 12

#include <mqtt/async_client.h>
#include <mqtt/properties.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <deque>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <set>
#include <thread>
#include <unordered_map>

#include "common/small_files.h"
#include "common/units.h"
#include "http/http_server.h"
#include "ingest/alerts.h"
#include "ingest/http_client.h"
#include "ingest/ingest_metrics.h"
#include "ingest/remote_write.h"
#include "ingest/stream.h"
#include "publish/mqtt_options.h"
#include "service/service_notifier.h"
#include "service/state_lock.h"
#include "spool/spool.h"

namespace racktel::ingest {
namespace {

namespace asio = boost::asio;

// The start of an HTTP answer's body for the log: one line, no trailing blanks.
std::string body_for_log(const std::string& body, std::size_t max) {
  std::string out = body.substr(0, max);
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}
using std::chrono::milliseconds;

// A message handed from Paho's thread to the loop. Paho sends the PUBACK of a
// QoS 1 message only when its callback returns, so the callback waits on
// `stored` until the loop has the batch in the buffer (or, when the disk
// refuses, until every endpoint has accepted it): the broker forgets nothing
// the ingest could still lose.
struct handoff {
  std::promise<void> stored;
  bool released = false;
  void release() {
    if (!released) stored.set_value();
    released = true;
  }
};

// A batch received and not yet accepted by every endpoint.
struct pending_batch {
  std::string record;                   // the buffer record, while kept in memory
  std::int64_t received_ms = 0;
  std::shared_ptr<handoff> held;        // a PUBACK held until accepted (the buffer failed)
};

struct write_request {
  std::string body;  // snappy-compressed WriteRequest
  std::vector<std::uint64_t> batches;
  std::size_t samples = 0;
  std::size_t endpoints_left = 0;
  bool urgent = false;  // holds a PUBACK
};

// One shard of one endpoint: its requests in order, one in flight at a time.
struct lane_state {
  std::unique_ptr<http_client> client;
  std::deque<std::shared_ptr<write_request>> queue;
  bool busy = false;
  milliseconds backoff{0};
  std::unique_ptr<asio::steady_timer> retry_timer;
};

struct endpoint_state {
  std::vector<lane_state> lanes;  // one per shard
  std::size_t figures = 0;        // index into ingest_figures::endpoints
};

// Requests are built in shards, a rack always in the same one, so that a
// rack's samples reach the database in the order they came while the shards
// write in parallel (as Prometheus' own remote write shards by series).
struct shard_state {
  write_request_builder builder;
  std::vector<std::uint64_t> building;  // the batches in the request being built
  bool urgent = false;                  // it holds a PUBACK: send it at once
  std::unique_ptr<asio::steady_timer> flush_timer;
};

struct alertmanager_state {
  std::unique_ptr<http_client> client;
  std::vector<alert> unsent;
  bool busy = false;
};

// Paho calls made on a thread of their own. Paho's receive thread holds the
// client's lock while it runs the message callback, and the callback waits
// for the loop (see handoff): a Paho call made on the loop at that moment
// (a subscribe right after a session resumes with queued messages) would
// wait for the lock forever. Calls here wait instead, and the loop goes on.
class paho_caller {
 public:
  paho_caller() : thread_([this] { run(); }) {}
  ~paho_caller() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    ready_.notify_one();
    thread_.join();
  }
  void call(std::function<void()> work) {
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(work));
    }
    ready_.notify_one();
  }

 private:
  void run() {
    for (;;) {
      std::function<void()> work;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [this] { return done_ || !queue_.empty(); });
        if (queue_.empty()) return;
        work = std::move(queue_.front());
        queue_.pop_front();
      }
      try {
        work();
      } catch (const std::exception& e) {
        spdlog::error("mqtt: {}", e.what());
      }
    }
  }
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;
  bool done_ = false;
  std::thread thread_;
};

const char* topic_kind_word(topic_kind k) {
  switch (k) {
    case topic_kind::data: return "data";
    case topic_kind::catalog: return "catalog";
    case topic_kind::state: return "state";
    case topic_kind::alarms_active: return "alarms";
    case topic_kind::other: break;
  }
  return "other";
}

class ingest_daemon {
 public:
  ingest_daemon(asio::io_context& io, const ingest_config& config)
      : io_(io),
        config_(config),
        buffer_(spool_options{config.state_dir + "/buffer", config.buffer_segment_bytes, config.buffer_max_bytes}),
        waiting_(config.max_waiting, config.catalog_wait),
        alerts_(config.alert_resend),
        alive_(std::make_shared<std::atomic<bool>>(true)) {
    limits_.max_payload_bytes = config.max_payload_bytes;
    shards_.resize(config.shards);
    for (const endpoint_config& e : config.endpoints) {
      endpoint_state s;
      for (std::uint32_t i = 0; i < config.shards; ++i) {
        lane_state lane;
        lane.client = std::make_unique<http_client>(io, e);
        lane.retry_timer = std::make_unique<asio::steady_timer>(io);
        s.lanes.push_back(std::move(lane));
      }
      s.figures = figures_.endpoints.size();
      figures_.endpoints.push_back({e.url});
      endpoints_.push_back(std::move(s));
    }
    for (endpoint_config e : config.alertmanagers) {
      while (e.url.ends_with("/")) e.url.pop_back();
      e.url += "/api/v2/alerts";
      alertmanagers_.push_back({std::make_unique<http_client>(io, e), {}, false});
    }
    recover();
  }

  ~ingest_daemon() { alive_->store(false); }

  // Whether the broker connection ended cleanly at stop(): Paho then calls no more callbacks.
  bool disconnected() const { return disconnected_; }

  void start() {
    if (!config_.listen.empty()) {
      server_ = std::make_unique<http_server>(io_, [this](std::string_view, std::string_view target) {
        return serve(target);
      });
      for (const std::string& address : config_.listen) {
        const unsigned short port = server_->listen(address);
        spdlog::info("http: /metrics on {} (port {})", address, port);
      }
    }
    connect_mqtt();
    every(milliseconds(1000), [this] { tick(); });
    every(milliseconds(60000), [this] { dedup_.forget_idle(unix_now_ms()); });
    if (auto ping = notifier_.watchdog_ping_interval()) {
      every(*ping, [this] { notifier_.watchdog(); });
    }
    notifier_.ready("reading " + std::to_string(config_.mqtt.brokers.size()) + " broker(s), writing to " +
                    std::to_string(endpoints_.size()) + " endpoint(s)");
  }

  // Disconnects from the broker while the loop keeps turning (a message
  // callback may be waiting on it), then stops the loop.
  void stop() {
    if (stopping_) return;
    stopping_ = true;
    notifier_.stopping();
    spdlog::info("stopping: {} batch(es) pending stay in the buffer for the next start", pending_.size());
    paho_.call([this, client = client_] {
      try {
        if (!client || !client->is_connected()) {
          disconnected_ = true;  // no connection, no callbacks
        } else {
          disconnected_ = client->disconnect(std::chrono::milliseconds(500))->wait_for(std::chrono::seconds(3));
        }
      } catch (const std::exception&) {
        // Going anyway.
      }
      io_.stop();
    });
  }

 private:
  // --- input ----------------------------------------------------------------
  void connect_mqtt() {
    client_ = std::make_shared<mqtt::async_client>(config_.mqtt.brokers.front(), config_.mqtt.client_id,
                                                   mqtt::create_options(paho_mqtt_version(config_.mqtt.protocol)), nullptr);
    auto alive = alive_;
    client_->set_message_callback([this, alive](mqtt::const_message_ptr message) {
      if (!alive->load()) return;
      auto h = std::make_shared<handoff>();
      auto stored = h->stored.get_future();
      asio::post(io_, [this, alive, message, h] {
        if (!alive->load()) return;
        on_message(message->get_topic(), message->get_payload_str(), h);
      });
      while (stored.wait_for(std::chrono::milliseconds(200)) != std::future_status::ready) {
        // The loop is gone and the message may not be stored: returning would
        // acknowledge it. The process is exiting (run_ingest) and takes this thread along.
        while (!alive->load()) std::this_thread::sleep_for(std::chrono::hours(1));
      }
    });
    client_->set_connected_handler([this, alive](const std::string&) {
      asio::post(io_, [this, alive] {
        if (alive->load()) on_connected();
      });
    });
    client_->set_connection_lost_handler([this, alive](const std::string& cause) {
      asio::post(io_, [this, alive, cause] {
        if (!alive->load()) return;
        figures_.mqtt_connected = false;
        spdlog::warn("mqtt: connection lost{}{}; Paho reconnects", cause.empty() ? "" : ": ", cause);
      });
    });
    connect_listener_ = std::make_unique<connect_listener>(*this, alive_);
    try_connect();
  }

  void try_connect() {
    paho_.call([this, alive = alive_] {
      // The options are made here, where they are used: Paho C++ 1.2 copies
      // connect_options with pointers into the original's properties.
      const bool v5 = config_.mqtt.protocol == mqtt_protocol::v5;
      auto builder = mqtt::connect_options_builder()
                         .mqtt_version(paho_mqtt_version(config_.mqtt.protocol))
                         .keep_alive_interval(config_.mqtt.keepalive)
                         .connect_timeout(config_.mqtt.connect_timeout)
                         .automatic_reconnect(config_.mqtt.reconnect_min, config_.mqtt.reconnect_max)
                         .servers(std::make_shared<mqtt::string_collection>(config_.mqtt.brokers));
      if (v5) {
        // A persistent session: what is published while this instance restarts waits for it.
        builder.clean_start(false);
        mqtt::properties props;
        props.add(mqtt::property(mqtt::property::SESSION_EXPIRY_INTERVAL,
                                 static_cast<int>(config_.session_expiry.count() / 1000)));
        props.add(mqtt::property(mqtt::property::MAXIMUM_PACKET_SIZE,
                                 static_cast<int>(std::min<std::uint64_t>(config_.max_payload_bytes + 65536, INT32_MAX))));
        builder.properties(props);
      } else {
        builder.clean_session(false);
      }
      if (config_.mqtt.username) builder.user_name(*config_.mqtt.username);
      if (config_.mqtt.password) builder.password(*config_.mqtt.password);
      if (config_.mqtt.uses_tls()) builder.ssl(make_ssl_options(config_.mqtt));
      try {
        client_->connect(builder.finalize(), nullptr, *connect_listener_);
      } catch (const mqtt::exception& e) {
        asio::post(io_, [this, alive, why = std::string(e.what())] {
          if (alive->load()) on_connect_failed(why);
        });
      }
    });
  }

  // Paho's automatic reconnect starts only after a first connection: until
  // then, the loop tries again itself.
  class connect_listener : public mqtt::iaction_listener {
   public:
    connect_listener(ingest_daemon& d, std::shared_ptr<std::atomic<bool>> alive) : d_(d), alive_(std::move(alive)) {}
    void on_failure(const mqtt::token& tok) override {
      const std::string why = "connect failed (code " + std::to_string(tok.get_return_code()) + ")";
      asio::post(d_.io_, [this, why, alive = alive_] {
        if (alive->load()) d_.on_connect_failed(why);
      });
    }
    void on_success(const mqtt::token&) override {}

   private:
    ingest_daemon& d_;
    std::shared_ptr<std::atomic<bool>> alive_;
  };

  void on_connect_failed(const std::string& why) {
    if (stopping_ || figures_.mqtt_connected) return;
    spdlog::warn("mqtt: {} to {}; trying again in {}", why, config_.mqtt.brokers.front(),
                 format_duration(config_.mqtt.reconnect_min));
    after(config_.mqtt.reconnect_min, [this] {
      if (!stopping_ && !figures_.mqtt_connected) try_connect();
    });
  }

  void on_connected() {
    figures_.mqtt_connected = true;
    subscribed_ = false;
    ++figures_.mqtt_connects;
    const std::string root = "racktel/v1/" + config_.site + "/+/";
    const std::string data = config_.shared_group.empty() ? root + "data"
                                                          : "$share/" + config_.shared_group + "/" + root + "data";
    // Catalogs, states and alarm sets by plain subscriptions: every instance
    // needs every rack's catalog (a shared subscription would give each
    // catalog to one instance), and retained messages come only on plain
    // ones (MQTT 5, 4.8.2). Unretained catalogs re-published before a
    // backlog come the same way.
    const std::vector<std::string> topics{data, root + "catalog", root + "state", root + "alarms/active"};
    spdlog::info("mqtt: connected; subscribing to {}, {}, {}, {}", topics[0], topics[1], topics[2], topics[3]);
    // A persistent session keeps every subscription it ever had: a shared
    // group renamed in the configuration would go on receiving its share
    // under the old name too, each batch twice. The filters of the last run
    // are kept in the state directory, and those no longer wanted are dropped.
    const std::string record = config_.state_dir + "/subscriptions";
    std::string error;
    std::vector<std::string> stale;
    if (auto previous = read_small_file(record, 64 * 1024, error)) {
      std::size_t at = 0;
      while (at < previous->size()) {
        const std::size_t end = std::min(previous->find('\n', at), previous->size());
        std::string filter = previous->substr(at, end - at);
        if (!filter.empty() && std::find(topics.begin(), topics.end(), filter) == topics.end()) stale.push_back(filter);
        at = end + 1;
      }
    }
    std::string wanted;
    for (const auto& t : topics) wanted += t + "\n";
    if (!replace_file(record, wanted, true, error)) spdlog::warn("cannot record the subscriptions: {}", error);
    for (const auto& filter : stale) spdlog::info("mqtt: dropping the subscription of the last run {}", filter);
    paho_.call([this, client = client_, topics, stale, alive = alive_] {
      if (!stale.empty()) client->unsubscribe(mqtt::string_collection::create(stale));
      // Waited for here, on the Paho thread: the loop stays free. (Paho C++
      // 1.2's subscribe with a listener sends undefined MQTT 5 options for
      // several filters, and crashes when given them: the plain overload it is.)
      bool ok = false;
      try {
        ok = client->subscribe(mqtt::string_collection::create(topics), std::vector<int>(topics.size(), 1))
                 ->wait_for(std::chrono::seconds(30));
      } catch (const mqtt::exception& e) {
        spdlog::error("mqtt: subscribe failed: {}", e.what());
      }
      asio::post(io_, [this, ok, alive] {
        if (!alive->load()) return;
        if (!ok) {
          spdlog::error("mqtt: the broker did not acknowledge the subscriptions: check its ACL for this client");
          return;
        }
        subscribed_ = true;
        spdlog::info("mqtt: subscribed");
      });
    });
  }

  void on_message(const std::string& topic_name, std::string payload, const std::shared_ptr<handoff>& h) {
    const auto topic = parse_stream_topic(topic_name);
    if (!topic || topic->kind == topic_kind::other) {
      h->release();
      return;
    }
    ++figures_.messages[topic_kind_word(topic->kind)];
    const std::int64_t now = unix_now_ms();
    const std::string key = topic->rack_key();
    racks_known_.insert(key);
    switch (topic->kind) {
      case topic_kind::data:
        racks_fed_[key] = now;
        on_data(*topic, topic_name, std::move(payload), h, now);
        return;
      case topic_kind::catalog: on_catalog(topic_name, payload); break;
      case topic_kind::state: on_state(*topic, topic_name, payload, now); break;
      case topic_kind::alarms_active: on_alarms(*topic, topic_name, payload, now); break;
      case topic_kind::other: break;
    }
    h->release();
  }

  void malformed(const std::string& where, const std::string& why) {
    ++figures_.decode_errors;
    // A flood of bad messages must not flood the log: 20 a minute, then a count.
    const std::int64_t minute = unix_now_ms() / 60000;
    if (minute != log_minute_) {
      if (suppressed_logs_ > 0) spdlog::warn("{} more malformed payload(s) not logged", suppressed_logs_);
      log_minute_ = minute;
      logged_this_minute_ = suppressed_logs_ = 0;
    }
    if (logged_this_minute_++ < 20) {
      spdlog::warn("{}: {}", where, why);
    } else {
      ++suppressed_logs_;
    }
  }

  void on_data(const stream_topic& topic, const std::string& topic_name, std::string payload,
               const std::shared_ptr<handoff>& h, std::int64_t now) {
    if (payload.size() > config_.max_payload_bytes) {
      malformed(topic_name, std::to_string(payload.size()) + " bytes, more than [input] max_payload");
      h->release();
      return;
    }
    const auto header = peek_batch_header(payload);
    if (!header) {
      malformed(topic_name, "not a DataBatch (its header does not decode)");
      h->release();
      return;
    }
    if (dedup_.seen(topic.rack_key(), header->boot, header->sequence, now)) {
      spdlog::debug("{}: batch {} of boot {} again; dropped as a duplicate", topic_name, header->sequence,
                    to_hex(header->boot).substr(0, 8));
      ++figures_.duplicates;
      h->release();
      return;
    }
    if (auto known = catalogs_.find(header->catalog_version)) buffer_.append_catalog(known->decoded.catalog.version, known->payload);
    const std::uint64_t sequence = buffer_.next_sequence();
    std::string record = encode_buffer_record(topic.site, topic.rack, payload);
    std::vector<spooled_batch> dropped;
    bool durable = buffer_.append_batch(sequence, header->catalog_version, 0, now, record, dropped);
    if (durable && config_.buffer_sync) durable = buffer_.sync();
    for (const spooled_batch& d : dropped) forget(d.sequence, "the buffer is full ([buffer] max_size)", figures_.dropped_buffer_full);
    pending_batch& p = pending_[sequence];
    keep_in_memory(p, std::move(record));
    p.received_ms = now;
    if (durable) {
      h->release();
    } else {
      // The disk refuses: the PUBACK waits until the endpoints have the batch.
      ++figures_.buffer_errors;
      spdlog::error("buffer: {}; holding the broker's acknowledgement until the batch is written", buffer_.error());
      p.held = h;
      buffer_.retry();
    }
    ready_.push_back(sequence);
    process_ready();
  }

  void on_catalog(const std::string& topic_name, const std::string& payload) {
    if (payload.empty()) return;  // a retained catalog cleared
    auto added = catalogs_.add(payload, limits_);
    if (!added.error.empty()) {
      malformed(topic_name, "catalog: " + added.error);
      return;
    }
    if (added.is_new) spdlog::debug("catalog {} from {}", catalog_version_text(added.version), topic_name);
    auto released = waiting_.release(added.version);
    if (!released.empty()) {
      spdlog::info("{} batch(es) waited for catalog {} and are written now", released.size(),
                   catalog_version_text(added.version));
      ready_.insert(ready_.begin(), released.begin(), released.end());
      process_ready();
    }
  }

  void on_state(const stream_topic& topic, const std::string& topic_name, const std::string& payload, std::int64_t now) {
    if (payload.empty()) return;
    auto state = decode_agent_state(payload);
    if (!state) {
      malformed(topic_name, "not an AgentState");
      return;
    }
    alerts_.set_state(topic, *state, now);
    send_alerts(now);
  }

  void on_alarms(const stream_topic& topic, const std::string& topic_name, const std::string& payload, std::int64_t now) {
    if (payload.empty()) return;
    auto set = decode_active_alarms(payload);
    if (!set) {
      malformed(topic_name, "not an ActiveAlarms");
      return;
    }
    auto catalog = catalogs_.find(set->catalog_version);
    alerts_.set_alarms(topic, *set, catalog.get(), now);
    send_alerts(now);
  }

  // --- the buffer -------------------------------------------------------------
  void recover() {
    const auto& r = buffer_.recovery();
    for (const auto& q : r.quarantined) spdlog::error("buffer: quarantined {}", q);
    const auto pending = buffer_.pending();
    for (const spooled_batch& b : pending) {
      pending_[b.sequence].received_ms = b.time_ms;
      ready_.push_back(b.sequence);
    }
    if (!pending.empty()) {
      spdlog::info("buffer: {} batch(es) received before the last stop are written first", pending.size());
    }
  }

  // Received batches stay in memory, up to a budget, until they are encoded:
  // beyond it (the database is slow or away) they are read back from the buffer.
  void keep_in_memory(pending_batch& p, std::string record) {
    if (record_bytes_ + record.size() > records_in_memory_max) return;
    record_bytes_ += record.size();
    p.record = std::move(record);
  }
  void drop_from_memory(pending_batch& p) {
    record_bytes_ -= p.record.size();
    std::string().swap(p.record);
  }

  // A batch leaves: accepted everywhere, or dropped (counted by the caller).
  void finish(std::uint64_t sequence) {
    buffer_.acknowledge(sequence);
    auto it = pending_.find(sequence);
    if (it == pending_.end()) return;
    if (it->second.held) it->second.held->release();
    drop_from_memory(it->second);
    pending_.erase(it);
  }

  void forget(std::uint64_t sequence, const std::string& why, std::uint64_t& counter) {
    ++counter;
    spdlog::warn("batch {} dropped: {}", sequence, why);
    finish(sequence);
  }

  // --- decoding and writing -------------------------------------------------------
  std::size_t outstanding_requests() const {
    std::size_t n = 0;
    for (const auto& e : endpoints_) {
      for (const auto& lane : e.lanes) n = std::max(n, lane.queue.size());
    }
    return n;
  }

  void process_ready() {
    while (!ready_.empty() && outstanding_requests() < config_.max_pending_requests) {
      const std::uint64_t sequence = ready_.front();
      ready_.pop_front();
      if (auto shard = encode(sequence); shard && shards_[*shard].builder.samples() >= config_.max_samples) {
        flush(*shard);
      }
    }
    for (std::size_t i = 0; i < shards_.size(); ++i) {
      shard_state& shard = shards_[i];
      if (shard.builder.empty()) continue;
      if (shard.urgent) {
        flush(i);
      } else if (!shard.flush_timer) {
        shard.flush_timer = std::make_unique<asio::steady_timer>(io_, config_.write_delay);
        shard.flush_timer->async_wait([this, i, alive = alive_](const boost::system::error_code& ec) {
          if (ec || !alive->load()) return;
          shards_[i].flush_timer.reset();
          flush(i);
          process_ready();
        });
      }
    }
  }

  // Adds the batch to its rack's shard; the shard, or nothing when the batch
  // waits for its catalog or was dropped.
  std::optional<std::size_t> encode(std::uint64_t sequence) {
    auto it = pending_.find(sequence);
    std::optional<std::string> stored;
    if (it == pending_.end() || it->second.record.empty()) stored = buffer_.read_batch(sequence);
    if (it == pending_.end()) it = pending_.emplace(sequence, pending_batch{}).first;
    const std::string& bytes = stored ? *stored : it->second.record;
    if (bytes.empty()) {
      forget(sequence, "it cannot be read back from the buffer", figures_.unreadable);
      return std::nullopt;
    }
    std::string why;
    const auto record = decode_buffer_record(bytes, &why);
    if (!record) {
      malformed("buffer batch " + std::to_string(sequence), why);
      finish(sequence);
      return std::nullopt;
    }
    // The rack, once; its topic only for a log line (this runs for every batch).
    const std::string rack_key = record->site + "/" + record->rack;
    const auto data_topic = [&rack_key] { return "racktel/v1/" + rack_key + "/data"; };
    const auto header = peek_batch_header(record->batch);
    if (!header) {
      malformed(data_topic(), "not a DataBatch");
      finish(sequence);
      return std::nullopt;
    }
    auto catalog = catalogs_.find(header->catalog_version);
    if (!catalog) {
      // After a restart the buffer has the catalogs its batches name.
      if (auto raw = buffer_.read_catalog(header->catalog_version)) {
        catalogs_.add(*raw, limits_);
        catalog = catalogs_.find(header->catalog_version);
      }
    }
    if (!catalog) {
      if (stored) keep_in_memory(it->second, std::move(*stored));  // waits without reading the disk again
      if (auto pushed = waiting_.add(header->catalog_version, sequence, unix_now_ms())) {
        forget(*pushed, "too many batches wait for their catalog ([input] max_waiting)", figures_.dropped_no_catalog);
      }
      return std::nullopt;
    }
    buffer_.append_catalog(header->catalog_version, catalog->payload);
    auto decoded = decode_data_batch(record->batch, catalog->decoded.catalog, limits_);
    if (!decoded.batch) {
      malformed(data_topic(), "batch " + std::to_string(header->sequence) + " of boot " + to_hex(header->boot).substr(0, 8) +
                                ": " + decoded.error);
      finish(sequence);
      return std::nullopt;
    }
    auto labels = rack_labels_.find(rack_key);
    if (labels == rack_labels_.end()) {
      labels = rack_labels_.emplace(rack_key, rack_labels(record->site, record->rack)).first;
    }
    const std::size_t index = std::hash<std::string>{}(rack_key) % shards_.size();
    shard_state& shard = shards_[index];
    shard.builder.add(*decoded.batch, catalog->series, labels->second);
    ++figures_.batches;
    figures_.readings += decoded.batch->reading_count();
    shard.building.push_back(sequence);
    if (it->second.held) shard.urgent = true;
    drop_from_memory(it->second);  // the request has it now; the buffer keeps it on disk
    return index;
  }

  void flush(std::size_t index) {
    shard_state& shard = shards_[index];
    if (shard.builder.empty()) return;
    auto request = std::make_shared<write_request>();
    request->samples = shard.builder.samples();
    request->body = shard.builder.take_compressed();
    request->batches = std::move(shard.building);
    request->endpoints_left = endpoints_.size();
    request->urgent = shard.urgent;
    shard.building.clear();
    shard.urgent = false;
    for (endpoint_state& e : endpoints_) {
      e.lanes[index].queue.push_back(request);
      send_next(e, e.lanes[index]);
    }
  }

  void send_next(endpoint_state& e, lane_state& lane) {
    if (lane.busy || lane.queue.empty() || stopping_) return;
    lane.busy = true;
    auto request = lane.queue.front();
    http_client::headers headers{{"Content-Encoding", "snappy"},
                                 {"Content-Type", "application/x-protobuf"},
                                 {"X-Prometheus-Remote-Write-Version", "0.1.0"}};
    lane.client->post("", std::move(headers), request->body, config_.write_timeout,
                      [this, &e, &lane, request, alive = alive_](http_response response) {
                        if (alive->load()) on_write_done(e, lane, request, response);
                      });
  }

  void on_write_done(endpoint_state& e, lane_state& lane, const std::shared_ptr<write_request>& request,
                     const http_response& response) {
    lane.busy = false;
    endpoint_figures& f = figures_.endpoints[e.figures];
    f.observe(static_cast<double>(response.elapsed.count()) / 1e6);
    const int status = response.status;
    const write_outcome outcome = classify_write_response(status, response.body);
    if (outcome == write_outcome::accepted) {
      ++f.requests_ok;
      f.samples_ok += request->samples;
      lane.backoff = milliseconds(0);
      done_at_endpoint(lane, request);
    } else if (outcome == write_outcome::refused) {
      ++f.requests_rejected;
      figures_.dropped_rejected += request->batches.size();
      spdlog::error("remote write to {} refused {} sample(s) of {} batch(es): HTTP {}: {}", lane.client->url(),
                    request->samples, request->batches.size(), status, body_for_log(response.body, 500));
      done_at_endpoint(lane, request);
    } else {
      ++f.requests_retried;
      lane.backoff = lane.backoff.count() == 0 ? config_.retry_min : std::min(lane.backoff * 2, config_.retry_max);
      spdlog::warn("remote write to {} failed ({}); again in {}", lane.client->url(),
                   status == 0 ? response.error : "HTTP " + std::to_string(status) + ": " + body_for_log(response.body, 200),
                   format_duration(lane.backoff));
      lane.busy = true;  // nothing else of this shard goes before this one
      lane.retry_timer->expires_after(lane.backoff);
      lane.retry_timer->async_wait([this, &e, &lane, alive = alive_](const boost::system::error_code& ec) {
        if (ec || !alive->load()) return;
        lane.busy = false;
        send_next(e, lane);
      });
      return;
    }
    send_next(e, lane);
  }

  void done_at_endpoint(lane_state& lane, const std::shared_ptr<write_request>& request) {
    lane.queue.pop_front();
    if (--request->endpoints_left > 0) return;
    for (std::uint64_t sequence : request->batches) finish(sequence);
    process_ready();
  }

  // --- alerts -------------------------------------------------------------------------
  void send_alerts(std::int64_t now) {
    auto due = alerts_.due(now);
    if (due.empty() || alertmanagers_.empty()) return;
    for (alertmanager_state& am : alertmanagers_) {
      am.unsent.insert(am.unsent.end(), due.begin(), due.end());
      post_alerts(am, now);
    }
  }

  void post_alerts(alertmanager_state& am, std::int64_t now) {
    if (am.busy || am.unsent.empty()) return;
    am.busy = true;
    auto sending = std::make_shared<std::vector<alert>>(std::move(am.unsent));
    am.unsent.clear();
    am.client->post("", {{"Content-Type", "application/json"}}, alerts_.to_json(*sending, now), milliseconds(10000),
                    [this, &am, sending, alive = alive_](http_response response) {
                      if (!alive->load()) return;
                      am.busy = false;
                      if (response.status >= 200 && response.status < 300) {
                        ++figures_.alert_posts_ok;
                      } else {
                        ++figures_.alert_posts_failed;
                        spdlog::warn("alertmanager {}: {}", am.client->url(),
                                     response.status == 0 ? response.error
                                                          : "HTTP " + std::to_string(response.status) + ": " +
                                                                body_for_log(response.body, 300));
                        // Sent again at the next tick, before anything newer.
                        am.unsent.insert(am.unsent.begin(), sending->begin(), sending->end());
                      }
                    });
  }

  // --- every second ---------------------------------------------------------------------
  void tick() {
    const std::int64_t now = unix_now_ms();
    for (std::uint64_t sequence : waiting_.expire(now)) {
      forget(sequence, "its catalog did not arrive within [input] catalog_wait", figures_.dropped_no_catalog);
    }
    if (!config_.buffer_sync && buffer_.dirty()) buffer_.sync();
    if (!buffer_.healthy()) buffer_.retry();
    send_alerts(now);
    for (alertmanager_state& am : alertmanagers_) post_alerts(am, now);
    process_ready();
  }

  http_reply serve(std::string_view target) {
    if (target == "/metrics") {
      refresh_gauges();
      return {200, "text/plain; version=0.0.4; charset=utf-8", render_metrics(figures_)};
    }
    if (target == "/healthz") return {200, "text/plain; charset=utf-8", "ok\n"};
    if (target == "/readyz") {
      if (figures_.mqtt_connected && subscribed_) return {200, "text/plain; charset=utf-8", "ready\n"};
      return {503, "text/plain; charset=utf-8",
              figures_.mqtt_connected ? "subscribing\n" : "not connected to the broker\n"};
    }
    return {404, "text/plain; charset=utf-8", "racktel-ingest serves /metrics, /healthz and /readyz\n"};
  }

  void refresh_gauges() {
    const std::int64_t now = unix_now_ms();
    figures_.waiting = waiting_.size();
    figures_.pending = pending_.size();
    figures_.buffer_bytes = buffer_.bytes();
    figures_.catalogs = catalogs_.size();
    figures_.catalog_bytes = catalogs_.bytes();
    figures_.racks_known = racks_known_.size();
    std::erase_if(racks_fed_, [now](const auto& r) { return now - r.second > 300000; });
    figures_.racks_fed = racks_fed_.size();
    figures_.alerts_firing = alerts_.firing();
    std::int64_t oldest = now;
    for (const auto& [sequence, p] : pending_) oldest = std::min(oldest, p.received_ms);
    figures_.oldest_pending_seconds = static_cast<double>(now - oldest) / 1000.0;
  }

  // --- timers -------------------------------------------------------------------------------
  void every(milliseconds period, std::function<void()> work) {
    // The timer lives in the handler, and the handler in repeating_.
    auto timer = std::make_shared<asio::steady_timer>(io_, period);
    auto fire = std::make_shared<std::function<void(const boost::system::error_code&)>>();
    *fire = [this, timer, period, work = std::move(work), fire_weak = std::weak_ptr(fire), alive = alive_](
                const boost::system::error_code& ec) {
      if (ec || !alive->load()) return;
      work();
      timer->expires_after(period);
      if (auto f = fire_weak.lock()) timer->async_wait(*f);
    };
    repeating_.push_back(fire);
    timer->async_wait(*fire);
  }

  void after(milliseconds delay, std::function<void()> work) {
    auto timer = std::make_shared<asio::steady_timer>(io_, delay);
    timer->async_wait([timer, work = std::move(work), alive = alive_](const boost::system::error_code& ec) {
      if (!ec && alive->load()) work();
    });
  }

  asio::io_context& io_;
  const ingest_config& config_;
  spool buffer_;
  decode_limits limits_;
  catalog_cache catalogs_;
  dedup_window dedup_;
  waiting_room waiting_;
  alert_book alerts_;
  ingest_figures figures_;
  service_notifier notifier_;
  std::shared_ptr<std::atomic<bool>> alive_;
  std::shared_ptr<mqtt::async_client> client_;
  std::unique_ptr<connect_listener> connect_listener_;
  bool subscribed_ = false;
  paho_caller paho_;
  std::unique_ptr<http_server> server_;
  std::vector<endpoint_state> endpoints_;
  std::vector<alertmanager_state> alertmanagers_;

  std::unordered_map<std::uint64_t, pending_batch> pending_;
  std::deque<std::uint64_t> ready_;
  std::vector<shard_state> shards_;
  static constexpr std::size_t records_in_memory_max = 32U << 20U;
  std::size_t record_bytes_ = 0;
  std::map<std::string, rack_labels> rack_labels_;
  std::set<std::string> racks_known_;
  std::unordered_map<std::string, std::int64_t> racks_fed_;
  std::vector<std::shared_ptr<std::function<void(const boost::system::error_code&)>>> repeating_;
  std::int64_t log_minute_ = 0;
  std::uint64_t logged_this_minute_ = 0, suppressed_logs_ = 0;
  bool stopping_ = false;
  std::atomic<bool> disconnected_{false};
};

}  // namespace

int run_ingest(const ingest_config& config) {
  std::filesystem::create_directories(config.state_dir);
  state_lock lock(config.state_dir);
  asio::io_context io;
  ingest_daemon daemon(io, config);
  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&daemon](const boost::system::error_code& ec, int) {
    if (!ec) daemon.stop();
  });
  daemon.start();
  io.run();
  if (!daemon.disconnected()) {
    // Paho's threads may still be inside a callback that waits on the loop:
    // destroying the client would wait for them. What was stored stays in
    // the buffer; what was not was not acknowledged.
    spdlog::warn("the broker connection did not close cleanly; exiting without waiting for it");
    spdlog::default_logger()->flush();
    std::_Exit(0);
  }
  return 0;
}

}  // namespace racktel::ingest
