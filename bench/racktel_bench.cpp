// racktel-bench: prints what racktel costs on this machine.
//
//   wire    bytes per reading of the sim rack at nominal load, batched as the agent does
//   encode  readings encoded per second on one core
//   spool   appending batches to the disk spool: readings/s and MB/s with the default
//           sync policy (one fdatasync per second) and with one per batch
//   agent   the real racktel-agent publishing the sim rack to a local mosquitto for a
//           fixed time: CPU (user+system), peak resident memory, readings published per
//           second, with the spool on and off
//   drain   a backlog built while the broker was down, drained to the local broker
//   reload  live reloads that add and remove 100 sim instances, and 10 unchanged ones:
//           how long each takes, and the ticks the running instance missed meanwhile
//   alarms  alarm evaluation on one core: 10 920 sensors (8 sim racks) and 50 rules,
//           readings per second, and its share of a core at that rack's load; and the
//           real agent's alarm latency, from the end of the read that crossed a limit
//           to the broker's PUBACK of its AlarmEvent, p50 and p99 over >= 1000 events
//
// usage: racktel-bench [--seconds N] [--instances N] [--skip-agent] [--only reload|alarms|ingest]
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "alarms/alarm_engine.h"
#include "rack_model.h"
#include "sim_stream.h"
#ifdef RACKTEL_BENCH_INGEST
#include "ingest/remote_write.h"
#include "ingest/stream.h"
#endif
#include "racktel/driver.h"
#include "spool/spool.h"
#include "wire/codec.h"

using namespace racktel;
using clock_type = std::chrono::steady_clock;

namespace {

// The sim rack's catalog and schedule, driven directly (no threads, no broker).
struct sim_rack {
  bench::sim_stream stream;
  const sensor_catalog& catalog = stream.catalog();
  // The scans one second of polling produces, starting at t_ms (a whole second).
  std::vector<scan> second(std::int64_t t_ms) const { return stream.scans(t_ms, t_ms + 1000); }
};

std::size_t count_readings(const std::vector<scan>& scans) {
  std::size_t n = 0;
  for (const auto& s : scans) n += s.readings.size();
  return n;
}

void bench_wire_and_encode() {
  sim_rack rack;
  const std::int64_t start = 1'790'000'000'000;
  std::vector<std::vector<scan>> batches;
  for (int s = 0; s < 60; ++s) batches.push_back(rack.second(start + s * 1000));
  std::size_t readings = 0, bytes = 0, min_b = SIZE_MAX, max_b = 0;
  for (std::size_t i = 0; i < batches.size(); ++i) {
    batch_header h{rack.catalog.version, {}, i + 1, false};
    const std::string payload = encode_data_batch(h, batches[i], rack.catalog);
    readings += count_readings(batches[i]);
    bytes += payload.size();
    min_b = std::min(min_b, payload.size());
    max_b = std::max(max_b, payload.size());
  }
  std::printf("wire    sim rack: %zu sensors, %.0f readings/s nominal\n", rack.catalog.sensors.size(),
              static_cast<double>(readings) / 60.0);
  std::printf("wire    1 s batches: %.0f bytes each (min %zu, max %zu), %.2f bytes per reading\n",
              static_cast<double>(bytes) / 60.0, min_b, max_b, static_cast<double>(bytes) / static_cast<double>(readings));
  std::printf("wire    MQTT payload rate: %.1f KiB/s (%.1f GiB/day)\n", static_cast<double>(bytes) / 60.0 / 1024.0,
              static_cast<double>(bytes) / 60.0 * 86400.0 / 1073741824.0);

  // Encode throughput: re-encode the same batches for about two seconds.
  std::size_t encoded = 0;
  std::size_t sink = 0;
  const auto t0 = clock_type::now();
  while (clock_type::now() - t0 < std::chrono::seconds(2)) {
    for (std::size_t i = 0; i < batches.size(); ++i) {
      batch_header h{rack.catalog.version, {}, i + 1, false};
      sink += encode_data_batch(h, batches[i], rack.catalog).size();
      encoded += count_readings(batches[i]);
    }
  }
  const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
  std::printf("encode  %.2f M readings/s on one core (%.0f ns per reading)\n", static_cast<double>(encoded) / secs / 1e6,
              secs * 1e9 / static_cast<double>(encoded));

  // Decode throughput, for ingestion engineers sizing their consumers.
  std::vector<std::string> payloads;
  for (std::size_t i = 0; i < batches.size(); ++i) {
    payloads.push_back(encode_data_batch({rack.catalog.version, {}, i + 1, false}, batches[i], rack.catalog));
  }
  std::size_t decoded = 0;
  const auto t1 = clock_type::now();
  while (clock_type::now() - t1 < std::chrono::seconds(2)) {
    for (const auto& p : payloads) decoded += decode_data_batch(p, rack.catalog).batch->reading_count();
  }
  const double dsecs = std::chrono::duration<double>(clock_type::now() - t1).count();
  std::printf("decode  %.2f M readings/s on one core\n", static_cast<double>(decoded) / dsecs / 1e6);
  if (sink == 0) std::printf("(nothing encoded)\n");
}

void bench_spool_append() {
  sim_rack rack;
  std::vector<std::string> payloads;
  std::size_t readings_per_batch = 0;
  for (int s = 0; s < 10; ++s) {
    auto scans = rack.second(1'790'000'000'000 + s * 1000);
    readings_per_batch = count_readings(scans);
    payloads.push_back(encode_data_batch({rack.catalog.version, {}, 1, false}, scans, rack.catalog));
  }
  for (const bool sync_every_batch : {false, true}) {
    char dir_template[] = "/tmp/racktel-bench-spool-XXXXXX";
    const std::string dir = ::mkdtemp(dir_template);
    std::uint64_t bytes = 0, batches = 0;
    double secs = 0;
    {
      spool s({dir + "/spool", 4ULL << 20U, 1ULL << 30U});
      std::vector<spooled_batch> dropped;
      auto last_sync = clock_type::now();
      const auto t0 = clock_type::now();
      while (clock_type::now() - t0 < std::chrono::seconds(3)) {
        const std::string& p = payloads[batches % payloads.size()];
        s.append_batch(batches + 1, rack.catalog.version, static_cast<std::uint32_t>(readings_per_batch), 0, p, dropped);
        bytes += p.size();
        ++batches;
        if (sync_every_batch || clock_type::now() - last_sync >= std::chrono::seconds(1)) {
          s.sync();
          last_sync = clock_type::now();
        }
      }
      s.sync();
      secs = std::chrono::duration<double>(clock_type::now() - t0).count();
    }
    std::printf("spool   append, %s: %.2f M readings/s, %.1f MB/s (%.0f batches/s of %zu readings)\n",
                sync_every_batch ? "fdatasync per batch      " : "default: fdatasync per 1 s",
                static_cast<double>(batches * readings_per_batch) / secs / 1e6, static_cast<double>(bytes) / secs / 1e6,
                static_cast<double>(batches) / secs, readings_per_batch);
    std::system(("rm -rf " + dir).c_str());
  }
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

pid_t spawn(const std::vector<std::string>& argv, const std::string& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    std::_Exit(127);
  }
  return pid;
}

// utime + stime in seconds, from /proc/PID/stat.
double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream rest(text.substr(text.rfind(')') + 2));
  std::string field;
  unsigned long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoul(field);
    if (i == 15) stime = std::stoul(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

long status_kib(pid_t pid, const char* key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) return std::atol(line.c_str() + std::strlen(key));
  }
  return -1;
}

std::string run_capture(const std::string& command) {
  std::string out;
  if (FILE* p = ::popen(command.c_str(), "r")) {
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    ::pclose(p);
  }
  return out;
}

std::uint64_t json_number(const std::string& json, const std::string& object, const std::string& key) {
  const auto o = json.find("\"" + object + "\":{");
  const auto k = json.find("\"" + key + "\":", o);
  if (o == std::string::npos || k == std::string::npos) return 0;
  return std::strtoull(json.c_str() + k + key.size() + 3, nullptr, 10);
}

struct agent_run {
  std::string dir;
  int port = 0;
  pid_t broker = 0;
  pid_t agent = 0;
  std::string cli;
};

void start_broker(agent_run& run) {
  run.broker = spawn({"mosquitto", "-c", run.dir + "/mosquitto.conf"}, run.dir + "/mosquitto.log");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
}

void stop(pid_t& pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
  pid = 0;
}

agent_run start_agent(int instances, bool spool_on, const std::string& extra, bool with_broker) {
  agent_run run;
  char dir_template[] = "/tmp/racktel-bench-XXXXXX";
  run.dir = ::mkdtemp(dir_template);
  run.port = free_port();
  {
    std::ofstream conf(run.dir + "/mosquitto.conf");
    conf << "listener " << run.port << " 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\nset_tcp_nodelay true\n";
    if (::geteuid() == 0) conf << "user root\n";
  }
  std::ofstream config(run.dir + "/racktel.toml");
  config << "[agent]\nsite = \"bench\"\nrack = \"r01\"\nstatus_socket = \"" << run.dir << "/status.sock\"\n"
         << "state_dir = \"" << run.dir << "/state\"\nlog_level = \"warn\"\n[mqtt]\nbrokers = [\"tcp://127.0.0.1:"
         << run.port << "\"]\nreconnect_max = \"1s\"\n[spool]\nenabled = " << (spool_on ? "true" : "false") << "\n" << extra;
  for (int i = 0; i < instances; ++i) config << "[[drivers]]\nname = \"rack" << i << "\"\ntype = \"sim\"\nseed = " << i + 1 << "\n";
  config.close();
  if (with_broker) start_broker(run);
  run.agent = spawn({RACKTEL_BENCH_AGENT, "--config", run.dir + "/racktel.toml"}, run.dir + "/agent.log");
  run.cli = std::string(RACKTEL_BENCH_CLI) + " status --json --socket " + run.dir + "/status.sock";
  return run;
}

void finish(agent_run& run) {
  stop(run.agent);
  stop(run.broker);
  run_capture("rm -rf " + run.dir);
}

void bench_drain(int instances, int outage_seconds, const char* replay_rate) {
  agent_run run = start_agent(instances, true, std::string("replay_rate = ") + replay_rate + "\n", false);
  std::this_thread::sleep_for(std::chrono::seconds(outage_seconds));
  const std::string before = run_capture(run.cli);
  const std::uint64_t backlog = json_number(before, "spool", "pending_readings");
  start_broker(run);
  const auto t0 = clock_type::now();
  std::uint64_t pending = backlog;
  while (clock_type::now() - t0 < std::chrono::seconds(120)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const std::string now = run_capture(run.cli);
    pending = json_number(now, "spool", "pending_batches");
    if (pending <= 1 && json_number(now, "queue", "backlog") == 0) break;
  }
  const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
  std::printf("drain   %d rack(s), %d s outage: %llu backlog readings drained in %.1f s = %.0f readings/s "
              "(replay_rate %s) on top of live data\n",
              instances, outage_seconds, static_cast<unsigned long long>(backlog), secs, static_cast<double>(backlog) / secs,
              replay_rate);
  finish(run);
}

void bench_agent(int seconds, int instances, bool spool_on) {
  agent_run run = start_agent(instances, spool_on, "", true);
  const pid_t agent = run.agent;
  // Let it connect and settle, then measure a fixed window.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const std::string& cli = run.cli;
  const std::string before = run_capture(cli);
  const double cpu0 = cpu_seconds(agent);
  const auto t0 = clock_type::now();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  const double cpu1 = cpu_seconds(agent);
  const double wall = std::chrono::duration<double>(clock_type::now() - t0).count();
  const std::string after = run_capture(cli);
  const long hwm = status_kib(agent, "VmHWM:");
  const long threads = status_kib(agent, "Threads:");
  const double published = static_cast<double>(json_number(after, "publish", "readings") - json_number(before, "publish", "readings"));
  const double bytes = static_cast<double>(json_number(after, "publish", "bytes") - json_number(before, "publish", "bytes"));
  const std::uint64_t sensors = json_number(after, "catalog", "sensors");
  const std::uint64_t dropped = json_number(after, "queue", "dropped_readings");

  std::printf("agent   %d sim instance(s), %llu sensors, %d s window, spool %s\n", instances,
              static_cast<unsigned long long>(sensors), seconds, spool_on ? "on" : "off");
  std::printf("agent   published %.0f readings/s, %.2f bytes per reading, %llu dropped\n", published / wall,
              published > 0 ? bytes / published : 0.0, static_cast<unsigned long long>(dropped));
  std::printf("agent   CPU %.1f%% of one core (user+system), peak RSS %.1f MiB, %ld threads\n",
              100.0 * (cpu1 - cpu0) / wall, static_cast<double>(hwm) / 1024.0, threads);

  finish(run);
}

// The first driver's first group's skipped ticks (rack0's 100 ms power group).
std::uint64_t first_skipped_ticks(const std::string& json) {
  const auto k = json.find("\"skipped_ticks\":");
  return k == std::string::npos ? 0 : std::strtoull(json.c_str() + k + 16, nullptr, 10);
}

void write_sim_config(const agent_run& run, int instances) {
  std::ifstream in(run.dir + "/racktel.toml");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  text = text.substr(0, text.find("[[drivers]]"));
  for (int i = 0; i < instances; ++i) {
    text += "[[drivers]]\nname = \"rack" + std::to_string(i) + "\"\ntype = \"sim\"\nseed = " + std::to_string(i + 1) + "\n";
  }
  std::ofstream(run.dir + "/racktel.toml") << text;
}

void bench_reload() {
  agent_run run = start_agent(1, true, "", true);
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const std::string reload = std::string(RACKTEL_BENCH_CLI) + " reload --socket " + run.dir + "/status.sock >/dev/null";
  auto timed_reload = [&](int instances) {
    write_sim_config(run, instances);
    const std::uint64_t before = first_skipped_ticks(run_capture(run.cli));
    const auto t0 = clock_type::now();
    run_capture(reload);
    const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const std::uint64_t after = first_skipped_ticks(run_capture(run.cli));
    return std::pair{secs, after - before};
  };
  const auto [add_s, add_skipped] = timed_reload(101);
  std::printf("reload  adding 100 sim instances: applied in %.2f s; the running instance skipped %llu ticks (100 ms group)\n",
              add_s, static_cast<unsigned long long>(add_skipped));
  std::uint64_t unchanged_skipped = 0;
  double unchanged_s = 0;
  for (int i = 0; i < 10; ++i) {
    const auto [secs, skipped] = timed_reload(101);
    unchanged_s += secs;
    unchanged_skipped += skipped;
  }
  std::printf("reload  10 unchanged reloads of 101 instances: %.2f s each; %llu ticks skipped in all\n",
              unchanged_s / 10, static_cast<unsigned long long>(unchanged_skipped));
  const auto [remove_s, remove_skipped] = timed_reload(1);
  std::printf("reload  removing 100 sim instances: applied in %.2f s; %llu ticks skipped; %ld threads, RssAnon %ld KiB after\n",
              remove_s, static_cast<unsigned long long>(remove_skipped), status_kib(run.agent, "Threads:"),
              status_kib(run.agent, "RssAnon:"));
  finish(run);
}

}  // namespace

// Alarm evaluation alone, on this thread: 8 sim racks (10 920 sensors) and 50 rules.
void bench_alarm_evaluation() {
  constexpr int racks = 8;
  sim::rack_model model{1, {}};
  std::vector<sensor_meta> sensors;
  for (int r = 0; r < racks; ++r) {
    for (const auto& spec : model.sensors()) {
      sensor_meta m;
      m.driver = "rack" + std::to_string(r);
      m.id = spec.id;
      m.kind = spec.kind;
      m.unit = spec.unit;
      m.resolution = spec.resolution;
      m.location = parse_location(spec.location);
      if (std::isfinite(spec.warn_high)) m.warn_high = spec.warn_high;
      if (std::isfinite(spec.crit_high)) m.crit_high = spec.crit_high;
      sensors.push_back(std::move(m));
    }
  }
  // 50 rules of the kinds an operator writes: per tray, per kind of sensor, one catch-all.
  std::vector<alarm_rule> rules;
  for (int t = 0; t < 16; ++t) {
    alarm_rule r;
    r.match = "*.die_temp";
    r.location = {{"tray", std::to_string(t)}};
    r.warn_high = 85 + t % 3;
    r.hysteresis = 1.5;
    rules.push_back(r);
  }
  for (int c = 0; c < 32; ++c) {
    alarm_rule r;
    r.match = "chip" + std::to_string(c / 10) + std::to_string(c % 10) + ".hbm*_temp";
    r.on_readings = 3;
    rules.push_back(r);
  }
  alarm_rule leak;
  leak.match = "tray*.leak";
  leak.severity = alarm_severity::critical;
  rules.push_back(leak);
  alarm_rule all;
  all.match = "*";
  all.failing_after = std::chrono::seconds(10);
  rules.push_back(all);

  alarm_engine engine;
  std::vector<alarm_event> events;
  auto t0 = clock_type::now();
  engine.configure(sensors, rules, 0, events);
  const double configure_s = std::chrono::duration<double>(clock_type::now() - t0).count();

  // Ten simulated seconds of readings (values made beforehand: the model's cost is not the engine's).
  sim_rack rack;
  std::vector<std::vector<scan>> seconds;
  for (int sec = 0; sec < 10; ++sec) seconds.push_back(rack.second(1'700'000'000'000 + sec * 1000));
  const std::size_t per_rack_second = count_readings(seconds[0]);
  const std::size_t n = model.sensor_count();
  std::uint64_t readings = 0;
  t0 = clock_type::now();
  for (int round = 0; round < 5; ++round) {
    for (const auto& second : seconds) {
      for (const scan& sc : second) {
        for (int r = 0; r < racks; ++r) {
          for (const reading& rd : sc.readings) {
            engine.observe(static_cast<std::size_t>(r) * n + rd.sensor, rd.status, rd.value, sc.time_ms, events);
          }
          readings += sc.readings.size();
        }
      }
      events.clear();
    }
  }
  const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
  const double rate = static_cast<double>(readings) / secs;
  const double load = static_cast<double>(per_rack_second) * racks;
  std::printf("alarms  evaluation: %zu sensors, %zu rules: configured in %.1f ms; %.1f M readings/s on one core;\n"
              "        at the rack's load (%.0f readings/s) that is %.2f %% of one core\n",
              sensors.size(), rules.size(), configure_s * 1000, rate / 1e6, load, 100.0 * load / rate);
}

// The real agent: a rule whose limit the chips' power crosses all the time, a
// local broker, and the agent's own latency figures once 1000 events were acknowledged.
void bench_alarm_latency() {
  sim_rack rack;
  // For each fast quantity of the chips, the median of its values: every chip crosses it again and again.
  std::string rules;
  for (const char* quantity : {".power", ".vcore", ".duty"}) {
    std::vector<double> values;
    for (int sec = 0; sec < 20; ++sec) {
      for (const scan& sc : rack.second(1'700'000'000'000 + sec * 1000)) {
        for (const reading& rd : sc.readings) {
          const std::string& id = rack.catalog.sensors[rd.sensor].id;
          if (id.starts_with("chip") && id.ends_with(quantity)) values.push_back(rd.value);
        }
      }
    }
    std::sort(values.begin(), values.end());
    char rule[256];
    std::snprintf(rule, sizeof rule, "[[alarms]]\nmatch = \"chip*%s\"\nwarn_high = %.4f\n", quantity,
                  values[values.size() / 2]);
    rules += rule;
  }
  // The rules arrive by a reload once the connection has lasted a few
  // seconds: this measures the steady state. The events of the first second
  // after a (re)connection wait behind its retained messages (see benchmarks.md).
  agent_run run = start_agent(1, true, "", true);
  std::this_thread::sleep_for(std::chrono::seconds(4));
  {
    std::ifstream in(run.dir + "/racktel.toml");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto drivers = text.find("[[drivers]]");
    std::ofstream(run.dir + "/racktel.toml") << text.substr(0, drivers) << rules << text.substr(drivers);
  }
  run_capture(std::string(RACKTEL_BENCH_CLI) + " reload --socket " + run.dir + "/status.sock >/dev/null");
  std::uint64_t events = 0;
  std::string status;
  const auto deadline = clock_type::now() + std::chrono::seconds(120);
  while (events < 1000 && clock_type::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    status = run_capture(run.cli);
    events = json_number(status, "latency_ms", "events");
  }
  auto number = [&](const char* key) {
    const auto o = status.find("\"latency_ms\":{");
    const auto k = status.find(std::string("\"") + key + "\":", o);
    return o == std::string::npos || k == std::string::npos ? 0.0 : std::strtod(status.c_str() + k + std::strlen(key) + 3, nullptr);
  };
  std::printf("alarms  latency, end of read to PUBACK of the AlarmEvent, loopback mosquitto: %llu events; p50 %.2f ms, "
              "p99 %.2f ms, max %.2f ms\n",
              static_cast<unsigned long long>(events), number("p50"), number("p99"), number("max"));
  finish(run);
}

#ifdef RACKTEL_BENCH_INGEST
// racktel-ingest's work per reading on one core, from the MQTT payload to the
// compressed remote-write body: the catalog lookup, decoding, the series'
// labels and samples, snappy. No network, no database.
void bench_ingest_encode() {
  sim_rack rack;
  const std::string catalog_payload = rack.stream.encode_catalog({}, 1'790'000'000'000);
  ingest::catalog_cache cache;
  cache.add(catalog_payload, {});
  std::vector<std::string> payloads;
  std::size_t readings_per_pass = 0;
  for (int s = 0; s < 60; ++s) {
    const auto scans = rack.second(1'790'000'000'000 + s * 1000);
    readings_per_pass += count_readings(scans);
    payloads.push_back(encode_data_batch({rack.catalog.version, {}, static_cast<std::uint64_t>(s + 1), false}, scans,
                                         rack.catalog));
  }
  const ingest::rack_labels labels("fleet", "r0001");
  ingest::write_request_builder builder;
  double decode_s = 0, encode_s = 0, compress_s = 0;
  std::size_t raw_bytes = 0, compressed_bytes = 0, samples = 0, requests = 0, readings = 0;
  const auto cpu = [] {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
  };
  const double started = cpu();
  for (int pass = 0; pass < 10; ++pass) {
    for (const std::string& p : payloads) {
      double t0 = cpu();
      const auto header = peek_batch_header(p);
      const auto known = cache.find(header->catalog_version);
      const auto decoded = decode_data_batch(p, known->decoded.catalog);
      double t1 = cpu();
      builder.add(*decoded.batch, known->series, labels);
      double t2 = cpu();
      decode_s += t1 - t0;
      encode_s += t2 - t1;
      readings += decoded.batch->reading_count();
      if (builder.samples() >= 50000) {
        raw_bytes += builder.bytes();
        samples += builder.samples();
        const std::string body = builder.take_compressed();
        compress_s += cpu() - t2;
        compressed_bytes += body.size();
        ++requests;
      }
    }
  }
  const double total = cpu() - started;
  std::printf("ingest  one core, payload to compressed remote-write body: %.2f M readings/s (%zu readings, %.2f s CPU)\n",
              static_cast<double>(readings) / total / 1e6, readings, total);
  std::printf("ingest    decode %.0f ns, labels+samples %.0f ns, snappy %.0f ns per reading\n",
              decode_s / static_cast<double>(readings) * 1e9, encode_s / static_cast<double>(readings) * 1e9,
              compress_s / static_cast<double>(samples) * 1e9);
  std::printf("ingest    WriteRequest %.1f bytes per sample raw, %.1f compressed (%zu requests of 50 000 samples)\n",
              static_cast<double>(raw_bytes) / static_cast<double>(samples),
              static_cast<double>(compressed_bytes) / static_cast<double>(samples), requests);
  std::printf("ingest    catalog: %.0f KiB on the wire, %.0f KiB decoded in the cache with its labels (%zu sensors)\n",
              static_cast<double>(catalog_payload.size()) / 1024.0, static_cast<double>(cache.bytes()) / 1024.0,
              rack.catalog.sensors.size());
  (void)readings_per_pass;
}
#endif

int main(int argc, char** argv) {
  int seconds = 20;
  int instances = 1;
  bool skip_agent = false;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--only" && i + 1 < argc) {
      only = argv[++i];
    } else if (arg == "--seconds" && i + 1 < argc) {
      seconds = std::atoi(argv[++i]);
    } else if (arg == "--instances" && i + 1 < argc) {
      instances = std::atoi(argv[++i]);
    } else if (arg == "--skip-agent") {
      skip_agent = true;
    } else {
      std::fprintf(stderr, "usage: racktel-bench [--seconds N] [--instances N] [--skip-agent] [--only reload|alarms|ingest]\n");
      return 2;
    }
  }
  if (only == "reload") {
    bench_reload();
    return 0;
  }
  if (only == "alarms") {
    bench_alarm_evaluation();
    bench_alarm_latency();
    return 0;
  }
#ifdef RACKTEL_BENCH_INGEST
  if (only == "ingest") {
    bench_ingest_encode();
    return 0;
  }
#endif
  bench_wire_and_encode();
  bench_spool_append();
  bench_alarm_evaluation();
#ifdef RACKTEL_BENCH_INGEST
  bench_ingest_encode();
#endif
  if (!skip_agent) {
    bench_agent(seconds, instances, true);
    bench_agent(seconds, instances, false);
    bench_drain(8, 10, "100000");
    bench_drain(8, 10, "10000000");
    bench_reload();
    bench_alarm_latency();
  }
  return 0;
}
