// `racktel status`: what the local agent is doing, for a technician at the rack.
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <chrono>
#include <fstream>
#include <functional>
#include <iterator>
#include <thread>

#include "commands.h"
#include "common/units.h"
#include "config/config.h"
#include "status/commission_command.h"
#include "status/maintenance_command.h"

namespace racktel::cli {
namespace {

namespace json = boost::json;

// Connecting needs write access to the socket: its group's members have it.
std::string permission_hint(const std::string& path) {
  struct stat st {};
  std::string group_name = "racktel";
  if (::stat(path.c_str(), &st) == 0) {
    if (const struct group* g = ::getgrgid(st.st_gid); g != nullptr) group_name = g->gr_name;
  }
  return "; the agent is likely running, but only root, the agent's user and members of group \"" + group_name +
         "\" may use its socket (join it with `sudo usermod -aG " + group_name + " $USER`, then log in again)";
}

// One command, one answer. A reload may take a while (drivers are opened
// before the agent answers); a status answers at once.
std::optional<std::string> ask(const std::string& path, const std::string& command, std::string& error,
                               int timeout_seconds = 5) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::strerror(errno);
    return std::nullopt;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    ::close(fd);
    error = "socket path is too long";
    return std::nullopt;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  timeval tv{timeout_seconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    error = std::strerror(errno);
    if (errno == EACCES) error += permission_hint(path);
    ::close(fd);
    return std::nullopt;
  }
  const std::string line = command + "\n";
  if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
    error = std::strerror(errno);
    ::close(fd);
    return std::nullopt;
  }
  std::string reply;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      reply.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0) error = std::strerror(errno);
    break;
  }
  ::close(fd);
  if (reply.empty()) {
    if (error.empty()) error = "the agent closed the connection without answering";
    return std::nullopt;
  }
  return reply;
}

std::string ago(std::int64_t now_ms, std::int64_t then_ms) {
  if (then_ms <= 0) return "never";
  const double s = static_cast<double>(now_ms - then_ms) / 1000.0;
  char text[32];
  if (s < 120) {
    std::snprintf(text, sizeof text, "%.1fs ago", s);
  } else if (s < 7200) {
    std::snprintf(text, sizeof text, "%.0fm ago", s / 60);
  } else {
    std::snprintf(text, sizeof text, "%.1fh ago", s / 3600);
  }
  return text;
}

std::string bytes(std::uint64_t n) {
  char text[32];
  if (n < 1024) {
    std::snprintf(text, sizeof text, "%llu B", static_cast<unsigned long long>(n));
  } else if (n < 1024 * 1024) {
    std::snprintf(text, sizeof text, "%.1f KiB", static_cast<double>(n) / 1024);
  } else {
    std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(n) / 1048576);
  }
  return text;
}

std::uint64_t u(const json::object& o, const char* key) { return o.at(key).to_number<std::uint64_t>(); }
std::int64_t i(const json::object& o, const char* key) { return o.at(key).to_number<std::int64_t>(); }
std::string s(const json::object& o, const char* key) { return json::value_to<std::string>(o.at(key)); }

std::string number(const json::value& v) {
  if (v.is_null()) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%g", v.to_number<double>());
  return text;
}

std::string in_time(std::int64_t now_ms, std::int64_t then_ms) {
  const std::int64_t left = std::max<std::int64_t>(then_ms - now_ms, 0) / 1000;
  char text[32];
  if (left < 120) {
    std::snprintf(text, sizeof text, "%llds", static_cast<long long>(left));
  } else if (left < 7200) {
    std::snprintf(text, sizeof text, "%lldm", static_cast<long long>(left / 60));
  } else {
    std::snprintf(text, sizeof text, "%lldh%02lldm", static_cast<long long>(left / 3600),
                  static_cast<long long>(left / 60 % 60));
  }
  return text;
}

// Open maintenance windows, one line each: what, who, why, until when.
void print_windows(const json::array& windows, std::int64_t now) {
  for (const auto& wv : windows) {
    const auto& w = wv.as_object();
    std::string what = s(w, "match");
    for (const auto& [key, value] : w.at("location").as_object()) {
      what += (what.empty() ? "" : " ") + std::string(key) + "=" + json::value_to<std::string>(value);
    }
    std::printf("maintenance %llu: %s by %s, \"%s\", until %s (%s left): %llu sensors, %llu alarms suppressed\n",
                static_cast<unsigned long long>(u(w, "id")), what.c_str(), s(w, "by").c_str(), s(w, "reason").c_str(),
                format_time_ms(i(w, "until_ms")).c_str(), in_time(now, i(w, "until_ms")).c_str(),
                static_cast<unsigned long long>(u(w, "sensors")),
                static_cast<unsigned long long>(u(w, "alarms_suppressed")));
  }
}

// An alarm's or an attention entry's reading: a state as what it means
// ("down"), else the number and unit; "-" when it has no value.
std::string value_text(const json::object& a) {
  if (!s(a, "state").empty()) return s(a, "state");
  if (a.at("value").is_null()) return "-";
  char text[48];
  std::snprintf(text, sizeof text, "%g %s", a.at("value").to_number<double>(), s(a, "unit").c_str());
  return text;
}

void print_human(const json::object& r, const std::string& match) {
  const std::int64_t now = i(r, "time_ms");
  std::printf("racktel %s  site %s  rack %s  boot %s  up %s\n", s(r, "version").c_str(), s(r, "site").c_str(),
              s(r, "rack").c_str(), s(r, "boot_id").substr(0, 8).c_str(),
              ago(now, i(r, "start_time_ms")).c_str());
  // Alarms first: what needs a hand now.
  const auto& alarms = r.at("alarms").as_object();
  const auto& active = alarms.at("active").as_array();
  const std::string suppressed =
      u(alarms, "suppressed") == 0 ? "" : "; " + std::to_string(u(alarms, "suppressed")) + " suppressed by maintenance";
  if (u(alarms, "critical") + u(alarms, "warning") == 0) {
    std::printf("alarms     none%s\n", suppressed.c_str());
  } else {
    std::printf("alarms     %llu critical, %llu warning%s\n", static_cast<unsigned long long>(u(alarms, "critical")),
                static_cast<unsigned long long>(u(alarms, "warning")), suppressed.c_str());
  }
  for (const auto& av : active) {
    const auto& a = av.as_object();
    const std::string value = value_text(a);
    std::string limit = s(a, "limit");
    if (!a.at("threshold").is_null()) limit += " " + number(a.at("threshold"));
    std::string notes = s(a, "rule").empty() ? "" : "  (rule " + s(a, "rule") + ")";
    if (u(a, "maintenance") != 0) notes += "  [suppressed: maintenance " + std::to_string(u(a, "maintenance")) + "]";
    std::printf("  %-8s %-34s %-14s %-16s since %s%s\n", s(a, "severity").c_str(), s(a, "sensor").c_str(), value.c_str(),
                limit.c_str(), ago(now, i(a, "since_ms")).c_str(), notes.c_str());
  }
  print_windows(r.at("maintenance").as_array(), now);
  const auto& broker = r.at("broker").as_object();
  if (broker.at("connected").as_bool()) {
    std::printf("broker     connected to %s since %s (%llu connects)\n", s(broker, "server").c_str(),
                ago(now, i(broker, "connected_since_ms")).c_str(), static_cast<unsigned long long>(u(broker, "connects")));
  } else {
    std::printf("broker     NOT CONNECTED (%llu failed attempts): %s\n",
                static_cast<unsigned long long>(u(broker, "connect_failures")), s(broker, "last_error").c_str());
  }
  const auto& q = r.at("queue").as_object();
  std::printf("queue      %llu batches waiting, %llu in flight, %s of %s; dropped %llu readings\n",
              static_cast<unsigned long long>(u(q, "batches")), static_cast<unsigned long long>(u(q, "in_flight")),
              bytes(u(q, "bytes")).c_str(), bytes(u(q, "limit_bytes")).c_str(),
              static_cast<unsigned long long>(u(q, "dropped_readings")));
  const auto& sp = r.at("spool").as_object();
  if (sp.at("enabled").as_bool()) {
    const std::int64_t oldest = i(sp, "oldest_pending_ms");
    std::printf("spool      %s, %s of %s in %llu segments; %llu batches (%llu readings) undelivered%s%s\n",
                s(sp, "state") == "ok" ? "ok" : ("ERROR: " + s(sp, "error")).c_str(), bytes(u(sp, "bytes")).c_str(),
                bytes(u(sp, "max_bytes")).c_str(), static_cast<unsigned long long>(u(sp, "segments")),
                static_cast<unsigned long long>(u(sp, "pending_batches")), static_cast<unsigned long long>(u(sp, "pending_readings")),
                oldest > 0 ? ", oldest from " : "", oldest > 0 ? ago(now, oldest).c_str() : "");
    std::printf("replay     %llu backlog batches waiting, %llu replayed since start\n",
                static_cast<unsigned long long>(u(q, "backlog")),
                static_cast<unsigned long long>(u(r.at("publish").as_object(), "replayed_batches")));
    if (u(sp, "not_stored_batches") > 0) {
      std::printf("           %llu batches could not be stored (sent from memory)\n",
                  static_cast<unsigned long long>(u(sp, "not_stored_batches")));
    }
    if (u(sp, "recovered_batches") + u(sp, "corrupt_records") + u(sp, "torn_bytes") > 0 ||
        !sp.at("quarantined").as_array().empty()) {
      std::printf("recovery   %llu batches recovered at start, %llu damaged records skipped, %llu torn bytes cut\n",
                  static_cast<unsigned long long>(u(sp, "recovered_batches")),
                  static_cast<unsigned long long>(u(sp, "corrupt_records")), static_cast<unsigned long long>(u(sp, "torn_bytes")));
    }
    for (const auto& qv : sp.at("quarantined").as_array()) {
      std::printf("           quarantined %s\n", json::value_to<std::string>(qv).c_str());
    }
  } else {
    std::printf("spool      disabled: readings wait in memory only\n");
  }
  const auto& p = r.at("publish").as_object();
  std::printf("published  %llu batches, %llu readings, %s\n", static_cast<unsigned long long>(u(p, "batches")),
              static_cast<unsigned long long>(u(p, "readings")), bytes(u(p, "bytes")).c_str());
  const auto& n = r.at("sensors").as_object();
  std::printf("sensors    %llu: %llu ok, %llu out of range, %llu failing, %llu stale, %llu not read yet\n",
              static_cast<unsigned long long>(u(n, "total")), static_cast<unsigned long long>(u(n, "ok")),
              static_cast<unsigned long long>(u(n, "out_of_range")), static_cast<unsigned long long>(u(n, "failing")),
              static_cast<unsigned long long>(u(n, "stale")), static_cast<unsigned long long>(u(n, "never_read")));
  const auto& rl = r.at("reload").as_object();
  if (i(rl, "time_ms") > 0) {
    std::printf("reload     %s %s: %s\n", rl.at("ok").as_bool() ? "ok" : "REFUSED", ago(now, i(rl, "time_ms")).c_str(),
                s(rl, "message").c_str());
    for (const auto& e : rl.at("errors").as_array()) std::printf("           %s\n", json::value_to<std::string>(e).c_str());
  }
  const auto& driver_list = r.at("drivers").as_array();
  std::size_t running = 0, failed = 0, disabled = 0;
  for (const auto& dv : driver_list) {
    const std::string state = s(dv.as_object(), "state");
    (state == "running" ? running : state == "disabled" ? disabled : failed)++;
  }
  std::printf("drivers    %zu configured: %zu running, %zu failed to open%s\n", driver_list.size(), running, failed,
              disabled > 0 ? (", " + std::to_string(disabled) + " disabled").c_str() : "");
  for (const auto& dv : driver_list) {
    const auto& d = dv.as_object();
    if (s(d, "state") == "disabled") {
      std::printf("  %-12s %-8s disabled (enabled = false)\n", s(d, "name").c_str(), s(d, "type").c_str());
      continue;
    }
    if (s(d, "state") != "running") {
      std::printf("  %-12s %-8s FAILED   %s\n", s(d, "name").c_str(), s(d, "type").c_str(), s(d, "error").c_str());
      continue;
    }
    std::printf("  %-12s %-8s running  %s lane, %llu sensors: %llu ok, %llu failing, %llu stale; %s\n",
                s(d, "name").c_str(), s(d, "type").c_str(), s(d, "lane").c_str(),
                static_cast<unsigned long long>(u(d, "sensors")), static_cast<unsigned long long>(u(d, "sensors_ok")),
                static_cast<unsigned long long>(u(d, "sensors_failing")),
                static_cast<unsigned long long>(u(d, "sensors_stale")), s(d, "origin").c_str());
    for (const auto& gv : d.at("groups").as_array()) {
      const auto& g = gv.as_object();
      std::printf("      %-9s every %5ld ms  reads %-8llu failed %-5llu timeouts %-5llu late %-5llu skipped %-5llu "
                  "last ok %s\n",
                  s(g, "name").c_str(), static_cast<long>(i(g, "interval_ms")),
                  static_cast<unsigned long long>(u(g, "reads")), static_cast<unsigned long long>(u(g, "driver_failures")),
                  static_cast<unsigned long long>(u(g, "timeouts")),
                  static_cast<unsigned long long>(u(g, "late_results")), static_cast<unsigned long long>(u(g, "skipped_ticks")),
                  ago(now, i(g, "last_ok_ms")).c_str());
    }
  }
  const auto& attention = r.at("attention").as_array();
  std::printf("attention  %llu%s, most urgent first%s\n", static_cast<unsigned long long>(u(r, "attention_total")),
              match.empty() ? "" : (" matching " + match).c_str(),
              attention.size() < u(r, "attention_total") ? " (the first ones; --all for every one)" : "");
  for (const auto& av : attention) {
    const auto& a = av.as_object();
    const std::string value = value_text(a);
    const std::string limit = s(a, "limit");
    std::printf("  %-8s %-34s %-14s %-14s %s\n", s(a, "severity").c_str(), s(a, "sensor").c_str(), value.c_str(),
                s(a, "status").c_str(), limit.empty() ? ("last ok " + ago(now, i(a, "last_ok_ms"))).c_str() : limit.c_str());
  }
}

// One line per sensor, like `ipmitool sensor`: value, status, limits, age.
void print_sensors(const json::object& r) {
  const std::int64_t now = i(r, "time_ms");
  const auto& list = r.at("sensors").as_array();
  std::printf("%-36s %12s %-5s %-12s %-9s %9s %9s %9s %9s  %s\n", "SENSOR", "VALUE", "UNIT", "STATUS", "CONDITION",
              "CRIT_LO", "WARN_LO", "WARN_HI", "CRIT_HI", "AGE");
  for (const auto& sv : list) {
    const auto& x = sv.as_object();
    const std::string condition = s(x, "condition");
    std::printf("%-36s %12s %-5s %-12s %-9s %9s %9s %9s %9s  %s\n", s(x, "sensor").c_str(),
                s(x, "state").empty() ? number(x.at("value")).c_str() : s(x, "state").c_str(), s(x, "unit").c_str(), s(x, "status").c_str(),
                condition.empty() ? "-" : condition.c_str(), number(x.at("crit_low")).c_str(),
                number(x.at("warn_low")).c_str(), number(x.at("warn_high")).c_str(), number(x.at("crit_high")).c_str(),
                ago(now, i(x, "time_ms")).c_str());
  }
}

// A request line for the status socket: "status --all --match GLOB".
std::string request_line(const std::string& command, bool all, const std::string& match) {
  std::string line = command;
  if (all) line += " --all";
  if (!match.empty()) line += " --match " + match;
  return line;
}

std::optional<std::string> ask_or_explain(const char* who, const std::string& socket_path, const std::string& line,
                                          int timeout_seconds = 5) {
  std::string error;
  auto reply = ask(socket_path, line, error, timeout_seconds);
  if (!reply) {
    std::fprintf(stderr, "racktel %s: cannot reach the agent at %s: %s\n", who, socket_path.c_str(), error.c_str());
    if (error.find("only root") == std::string::npos) {
      std::fprintf(stderr, "(is racktel-agent running? check `systemctl status racktel`, or pass --socket or "
                           "--config)\n");
    }
  }
  return reply;
}

}  // namespace

std::optional<std::string> socket_from_config(const std::string& config_file, std::string& error) {
  const config_result loaded = load_config_file(config_file);
  if (!loaded.config) {
    error = loaded.errors.empty() ? "cannot read it" : loaded.errors.front().to_string();
    return std::nullopt;
  }
  return loaded.config->status_socket;
}

int reload(const std::string& socket_path) {
  auto reply = ask_or_explain("reload", socket_path, "reload", 130);
  if (!reply) return 1;
  try {
    const json::object r = json::parse(*reply).as_object();
    for (const auto& e : r.at("errors").as_array()) std::fprintf(stderr, "%s\n", json::value_to<std::string>(e).c_str());
    const bool ok = r.at("ok").as_bool();
    std::fprintf(ok ? stdout : stderr, "%s\n", s(r, "message").c_str());
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "racktel reload: unexpected answer: %s\n", e.what());
    return 1;
  }
}

// Asks `line`, then prints the answer as JSON or through `print`; `check`
// may refuse a well-formed answer (exit 1). Errors name the command.
int report_command(const char* who, const std::string& socket_path, const std::string& line, bool as_json,
                   const std::function<void(const json::object&)>& print,
                   const std::function<bool(const json::object&)>& check = {}) {
  auto reply = ask_or_explain(who, socket_path, line, 15);
  if (!reply) return 1;
  try {
    const json::object r = json::parse(*reply).as_object();
    if (r.contains("error")) {
      std::fprintf(stderr, "racktel %s: the agent says: %s\n", who, s(r, "error").c_str());
      return 1;
    }
    if (as_json) {
      std::fputs(reply->c_str(), stdout);
      std::fputc('\n', stdout);
    } else {
      print(r);
    }
    return check && !check(r) ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "racktel %s: the agent's answer is not the expected JSON: %s\n", who, e.what());
    return 1;
  }
}

int status(const std::string& socket_path, const report_options& options) {
  return report_command("status", socket_path, request_line("status", options.all, options.match), options.json,
                        [&](const json::object& r) { print_human(r, options.match); });
}

int sensors(const std::string& socket_path, const report_options& options) {
  return report_command("sensors", socket_path, request_line("sensors", false, options.match), options.json,
                        print_sensors, [&](const json::object& r) {
                          if (!r.at("sensors").as_array().empty() || options.match.empty()) return true;
                          std::fprintf(stderr, "racktel sensors: no sensor matches %s\n", options.match.c_str());
                          return false;
                        });
}

int commission(const std::string& socket_path, const commission_options& options) {
  std::ifstream in(options.expect_file, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "racktel commission: cannot read %s: %s\n", options.expect_file.c_str(), std::strerror(errno));
    return 1;
  }
  commission_command request;
  request.expect.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  request.source = options.expect_file;
  request.by = options.by;
  // Ask until everything passes or the time is up: a rack just powered on
  // needs a few reads (and a loop a few minutes under load) to settle.
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  json::object answer;
  auto ask_once = [&]() -> bool {
    auto reply = ask_or_explain("commission", socket_path, format_commission_command(request), 30);
    if (!reply) return false;
    try {
      answer = json::parse(*reply).as_object();
      return true;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "racktel commission: unexpected answer: %s\n", e.what());
      return false;
    }
  };
  for (;;) {
    request.publish = false;
    if (!ask_once()) return 1;
    if (!answer.at("errors").as_array().empty() || answer.contains("message")) break;
    const bool passed = answer.at("passed").as_bool();
    if (passed || std::chrono::steady_clock::now() >= deadline) {
      // The final word: asked once more and published, so the report on the broker is this one.
      if (options.publish) {
        request.publish = true;
        if (!ask_once()) return 1;
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  if (options.json) {
    std::printf("%s\n", json::serialize(answer).c_str());
  } else {
    for (const auto& e : answer.at("errors").as_array()) std::fprintf(stderr, "%s\n", json::value_to<std::string>(e).c_str());
    if (answer.contains("message")) std::fprintf(stderr, "racktel commission: %s\n", s(answer, "message").c_str());
    for (const auto& cv : answer.at("checks").as_array()) {
      const auto& c = cv.as_object();
      std::printf("%s  %s\n", c.at("passed").as_bool() ? "pass" : "FAIL", s(c, "name").c_str());
      for (const auto& f : c.at("findings").as_array()) std::printf("        %s\n", json::value_to<std::string>(f).c_str());
    }
    if (answer.at("errors").as_array().empty()) {
      std::printf("%s%s\n", answer.at("passed").as_bool() ? "PASSED: the rack is complete and healthy" : "FAILED",
                  answer.at("published").as_bool() ? "; the report is published on the broker" : "");
    }
  }
  if (!answer.at("errors").as_array().empty()) return 2;
  return answer.at("passed").as_bool() && !answer.contains("message") ? 0 : 1;
}

int maintenance(const std::string& socket_path, const maintenance_options& options) {
  if (options.action == "list") {
    return report_command("maintenance", socket_path, "maintenance list", options.json, [](const json::object& r) {
      const auto& windows = r.at("windows").as_array();
      if (windows.empty()) std::printf("no maintenance window is open\n");
      print_windows(windows, i(r, "time_ms"));
    });
  }
  std::string line;
  if (options.action == "start") {
    maintenance_request request;
    request.match = options.match;
    for (const std::string& label : options.location) {
      const auto eq = label.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == label.size()) {
        std::fprintf(stderr, "racktel maintenance start: --location expects KEY=GLOB (e.g. tray=3), got \"%s\"\n",
                     label.c_str());
        return 64;
      }
      request.location.emplace_back(label.substr(0, eq), label.substr(eq + 1));
    }
    request.reason = options.reason;
    request.by = options.by;
    line = format_maintenance_start(request, options.duration);
  } else {
    line = format_maintenance_end(options.id, options.by);
  }
  auto reply = ask_or_explain("maintenance", socket_path, line, 15);
  if (!reply) return 1;
  try {
    const json::object r = json::parse(*reply).as_object();
    if (options.json) {
      std::printf("%s\n", reply->c_str());
    } else {
      std::fprintf(r.at("ok").as_bool() ? stdout : stderr, "%s\n", s(r, "message").c_str());
    }
    return r.at("ok").as_bool() ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "racktel maintenance: unexpected answer: %s\n", e.what());
    return 1;
  }
}

}  // namespace racktel::cli
