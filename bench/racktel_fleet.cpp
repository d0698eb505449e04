// racktel-fleet: publishes as N simulated racks at once, so that brokers and
// racktel-ingest can be measured at hundreds of racks without hundreds of
// agent processes. Each rack has its own site/rack topic, boot id and
// sequence, a retained catalog and state, and one batch per interval encoded
// by the agent's encoder from the sim model, paced in real time. An optional
// outage holds a share of the racks' batches and then replays them as a
// backlog (replayed = true), as agents coming back do. See docs/benchmarks.md.
#include <mqtt/async_client.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "publish/mqtt_options.h"
#include "sim_stream.h"

using namespace racktel;
using std::chrono::milliseconds;

namespace {

std::atomic<bool> stop_requested{false};

std::int64_t now_ms() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct counters {
  std::atomic<std::uint64_t> acked{0};
  std::atomic<std::uint64_t> failed{0};
};

// Counts PUBACKs (and failures) on Paho's threads.
class ack_counter : public mqtt::iaction_listener {
 public:
  explicit ack_counter(counters& c) : c_(c) {}
  void on_success(const mqtt::token&) override { ++c_.acked; }
  void on_failure(const mqtt::token&) override { ++c_.failed; }

 private:
  counters& c_;
};

struct rack {
  std::string root;  // racktel/v1/<site>/<rack>
  boot_id boot{};
  std::uint64_t sequence = 0;
  std::size_t model = 0;
  std::size_t connection = 0;
  bool in_outage = false;
  std::deque<std::string> held;  // batches made during an outage, sent as a backlog after it
};

std::string state_payload(const rack& r, const std::string& site, const std::string& name, bool online,
                          std::uint64_t catalog_version, std::size_t sensors) {
  agent_state_info s;
  s.online = online;
  s.version = "fleet";
  s.boot = r.boot;
  s.start_time_ms = s.time_ms = now_ms();
  s.catalog_version = catalog_version;
  s.site = site;
  s.rack = name;
  s.reason = online ? "" : "shutdown";
  s.sensors = sensors;
  return encode_agent_state(s);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"racktel-fleet: publishes as N simulated racks (load for brokers and racktel-ingest)"};
  std::string broker = "tcp://127.0.0.1:1883";
  std::string site = "fleet";
  std::string protocol = "5";
  int racks = 100;
  int connections = 0;
  int models = 4;
  double duration_s = 60;
  int interval_ms = 1000;
  double outage_at_s = 0, outage_s = 0, outage_share = 0.1;
  app.add_option("-b,--broker", broker, "broker URI")->capture_default_str();
  app.add_option("--racks", racks, "simulated racks")->capture_default_str()->check(CLI::Range(1, 100000));
  app.add_option("--site", site, "site id of every rack (racks are r0000, r0001, ...)")->capture_default_str();
  app.add_option("--connections", connections, "MQTT connections the racks share (default: one per 25 racks)");
  app.add_option("--models", models, "distinct sim models (seeds) the racks cycle through")->capture_default_str();
  app.add_option("--duration", duration_s, "seconds to run (0: until Ctrl-C)")->capture_default_str();
  app.add_option("--interval", interval_ms, "batch interval in milliseconds, as [batch] interval")->capture_default_str();
  app.add_option("--protocol", protocol, "MQTT version")->check(CLI::IsMember({"5", "3.1.1"}))->capture_default_str();
  app.add_option("--outage-at", outage_at_s, "seconds into the run when a share of the racks lose the broker (0: none)");
  app.add_option("--outage", outage_s, "how long those racks hold their batches before replaying them");
  app.add_option("--outage-share", outage_share, "the share of racks in the outage")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (connections <= 0) connections = std::max(1, (racks + 24) / 25);
  std::signal(SIGINT, [](int) { stop_requested = true; });
  std::signal(SIGTERM, [](int) { stop_requested = true; });

  std::vector<std::unique_ptr<bench::sim_stream>> streams;
  for (int m = 0; m < models; ++m) streams.push_back(std::make_unique<bench::sim_stream>(static_cast<std::uint64_t>(m + 1)));
  const sensor_catalog& catalog = streams.front()->catalog();  // the same sensors in every model

  std::mt19937_64 random(std::random_device{}());
  std::vector<rack> fleet(static_cast<std::size_t>(racks));
  for (int i = 0; i < racks; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "r%04d", i);
    rack& r = fleet[static_cast<std::size_t>(i)];
    r.root = "racktel/v1/" + site + "/" + name;
    for (auto& b : r.boot) b = static_cast<std::uint8_t>(random());
    r.model = static_cast<std::size_t>(i % models);
    r.connection = static_cast<std::size_t>(i % connections);
  }

  counters count;
  ack_counter acks(count);
  const int version = protocol == "5" ? MQTTVERSION_5 : MQTTVERSION_3_1_1;
  std::vector<std::unique_ptr<mqtt::async_client>> clients;
  for (int c = 0; c < connections; ++c) {
    auto client = std::make_unique<mqtt::async_client>(broker, "racktel-fleet-" + std::to_string(::getpid()) + "-" +
                                                                   std::to_string(c),
                                                       mqtt::create_options(version), nullptr);
    auto options = mqtt::connect_options_builder().mqtt_version(version).keep_alive_interval(std::chrono::seconds(20));
    if (version == MQTTVERSION_5) {
      options.clean_start(true);
    } else {
      options.clean_session(true);
    }
    try {
      client->connect(options.finalize())->wait();
    } catch (const mqtt::exception& e) {
      std::fprintf(stderr, "racktel-fleet: cannot connect to %s: %s\n", broker.c_str(), e.what());
      return 1;
    }
    clients.push_back(std::move(client));
  }

  std::uint64_t published = 0, bytes = 0, readings = 0, replayed = 0;
  auto publish = [&](const rack& r, const std::string& topic, const std::string& payload, bool retained) {
    try {
      clients[r.connection]->publish(mqtt::make_message(r.root + topic, payload, 1, retained), nullptr, acks);
      ++published;
      bytes += payload.size();
    } catch (const mqtt::exception&) {
      ++count.failed;
    }
  };
  for (const rack& r : fleet) {
    const std::string name = r.root.substr(r.root.rfind('/') + 1);
    publish(r, "/state", state_payload(r, site, name, true, catalog.version, catalog.sensors.size()), true);
    publish(r, "/catalog", streams[r.model]->encode_catalog(r.boot, now_ms()), true);
  }
  std::fprintf(stderr, "racktel-fleet: %d racks (%zu sensors each) on %d connection(s) to %s, one batch every %d ms\n",
               racks, catalog.sensors.size(), connections, broker.c_str(), interval_ms);

  const auto start = std::chrono::system_clock::now();
  std::int64_t window_start = now_ms() / interval_ms * interval_ms;
  std::vector<std::size_t> outage_racks;
  for (std::size_t i = 0; i < fleet.size(); ++i) {
    if (static_cast<double>(i % 1000) < outage_share * 1000) outage_racks.push_back(i);
  }
  bool outage_started = false, outage_over = false;
  auto last_report = std::chrono::steady_clock::now();
  while (!stop_requested) {
    const std::int64_t window_end = window_start + interval_ms;
    std::this_thread::sleep_until(std::chrono::system_clock::time_point(milliseconds(window_end)));
    const double elapsed = std::chrono::duration<double>(std::chrono::system_clock::now() - start).count();
    if (duration_s > 0 && elapsed >= duration_s) break;
    if (outage_at_s > 0 && !outage_started && elapsed >= outage_at_s) {
      outage_started = true;
      for (std::size_t i : outage_racks) fleet[i].in_outage = true;
      std::fprintf(stderr, "racktel-fleet: %zu racks lose the broker for %.0f s\n", outage_racks.size(), outage_s);
    }
    const bool replay_now = outage_started && !outage_over && elapsed >= outage_at_s + outage_s;
    // One window of scans per model, shared by the racks on that model.
    std::vector<std::vector<scan>> windows;
    for (const auto& s : streams) windows.push_back(s->scans(window_start, window_end));
    for (rack& r : fleet) {
      const auto& scans = windows[r.model];
      batch_header header{catalog.version, r.boot, ++r.sequence, false};
      std::string payload = encode_data_batch(header, scans, catalog);
      readings += bench::sim_stream::reading_count(scans);
      if (r.in_outage && !replay_now) {
        r.held.push_back(std::move(payload));
        continue;
      }
      publish(r, "/data", payload, false);
      if (r.in_outage) {
        // Back: the backlog goes out behind live data, flagged as replayed (field 4 = true).
        for (std::string& old : r.held) {
          old += std::string("\x20\x01", 2);
          publish(r, "/data", old, false);
          ++replayed;
        }
        r.held.clear();
        r.in_outage = false;
      }
    }
    if (replay_now) outage_over = true;
    window_start = window_end;
    if (std::chrono::steady_clock::now() - last_report >= std::chrono::seconds(10)) {
      last_report = std::chrono::steady_clock::now();
      std::fprintf(stderr, "racktel-fleet: %.0f s: %llu messages published, %llu acknowledged, %llu failed; %llu readings, %.1f MB\n",
                   elapsed, static_cast<unsigned long long>(published), static_cast<unsigned long long>(count.acked.load()),
                   static_cast<unsigned long long>(count.failed.load()), static_cast<unsigned long long>(readings),
                   static_cast<double>(bytes) / 1e6);
    }
  }
  for (const rack& r : fleet) {
    const std::string name = r.root.substr(r.root.rfind('/') + 1);
    publish(r, "/state", state_payload(r, site, name, false, catalog.version, catalog.sensors.size()), true);
  }
  // Wait (a little) for the last acknowledgements.
  for (int i = 0; i < 100 && count.acked + count.failed < published; ++i) std::this_thread::sleep_for(milliseconds(50));
  for (auto& c : clients) {
    try {
      c->disconnect()->wait_for(std::chrono::seconds(2));
    } catch (const mqtt::exception&) {
    }
  }
  std::printf("racks %d  messages %llu  acknowledged %llu  failed %llu  readings %llu  replayed batches %llu  bytes %llu\n",
              racks, static_cast<unsigned long long>(published), static_cast<unsigned long long>(count.acked.load()),
              static_cast<unsigned long long>(count.failed.load()), static_cast<unsigned long long>(readings),
              static_cast<unsigned long long>(replayed), static_cast<unsigned long long>(bytes));
  return count.failed > 0 ? 1 : 0;
}
