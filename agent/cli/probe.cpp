// `racktel probe`: open one driver instance the way the agent would, read
// each of its groups once, and print the catalog it would publish with the
// values it read. The technician's first step with new hardware: what does
// this PDU, CDU or BMC offer, under which ids, with which units and limits,
// before any rack configuration is written. Nothing is published or spooled.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "commands.h"
#include "config/config.h"
#include "drivers/driver_instance.h"
#include "drivers/driver_loader.h"
#include "wire/codec.h"

namespace racktel::cli {
namespace {

namespace json = boost::json;

std::int64_t clock_ns(clockid_t clock) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// A command-line value as TOML: numbers, booleans, arrays and inline tables
// as written, anything else as a string ("10.1.2.3:502", "/etc/racktel/x").
std::string toml_value(const std::string& v) {
  const auto is_number = [&] {
    if (v.empty()) return false;
    char* end = nullptr;
    std::strtod(v.c_str(), &end);
    return end == v.c_str() + v.size() && v.find_first_not_of("0123456789+-.eE_") == std::string::npos;
  };
  if (v == "true" || v == "false" || is_number() || v.starts_with("[") || v.starts_with("{") || v.starts_with("\"")) {
    return v;
  }
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// The configuration a probe opens: one [[drivers]] table of `type` with the
// settings; "devices.address=..." goes into its one [[drivers.devices]] table.
// `line_of` maps each setting's line in the text to the argument it came from.
std::string probe_config(const probe_options& o, std::map<std::size_t, std::string>& line_of, std::string& error) {
  std::string text =
      "[agent]\nsite = \"probe\"\nrack = \"probe\"\nstate_dir = \"/nonexistent\"\n[mqtt]\n"
      "brokers = [\"tcp://127.0.0.1:1883\"]\n[[drivers]]\nname = \"probe\"\ntype = " +
      toml_value(o.type) + "\n";
  std::size_t line = 10;
  std::map<std::string, std::vector<std::string>> nested;
  for (const std::string& s : o.settings) {
    const auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) {
      error = "\"" + s + "\": expected KEY=VALUE, such as address=10.1.2.3 or devices.profile=/path";
      return {};
    }
    const std::string key = s.substr(0, eq);
    const auto dot = key.find('.');
    if (dot != std::string::npos) {
      nested[key.substr(0, dot)].push_back(s.substr(dot + 1));
      continue;
    }
    text += key + " = " + toml_value(s.substr(eq + 1)) + "\n";
    line_of[line++] = s;
  }
  for (const auto& [table, settings] : nested) {
    text += "[[drivers." + table + "]]\n";
    ++line;
    for (const std::string& s : settings) {
      const auto eq = s.find('=');
      text += s.substr(0, eq) + " = " + toml_value(s.substr(eq + 1)) + "\n";
      line_of[line++] = table + "." + s;
    }
  }
  return text;
}

std::string format_value(const racktel_sample& s, const sensor_meta& m) {
  if (s.status != RACKTEL_READING_OK && s.status != RACKTEL_READING_OUT_OF_RANGE) return "-";
  for (const auto& [value, word] : m.states) {
    if (static_cast<double>(value) == s.value) return std::string(word);
  }
  const int decimals = m.resolution >= 1 ? 0 : std::min(6, static_cast<int>(std::ceil(-std::log10(m.resolution) - 1e-9)));
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, s.value);
  return buffer;
}

std::string location_text(const sensor_meta& m) {
  std::string out;
  for (const auto& [k, v] : m.location) out += (out.empty() ? "" : ",") + std::string(k) + "=" + std::string(v);
  return out;
}

json::value limit(const std::optional<double>& v) { return v ? json::value(*v) : json::value(nullptr); }

// Prints a config error, naming the command-line setting it came from when it did.
void print_error(const config_error& e, const std::map<std::size_t, std::string>& line_of) {
  if (auto a = line_of.find(static_cast<std::size_t>(e.line)); a != line_of.end()) {
    std::fprintf(stderr, "racktel probe: %s: %s\n", a->second.c_str(), e.message.c_str());
  } else {
    std::fprintf(stderr, "%s\n", e.to_string().c_str());
  }
}

int probe_instance(const driver_config& dc, const driver_loader& loader, const probe_options& o,
                   const std::map<std::size_t, std::string>& line_of, json::array& out) {
  load_result loaded = loader.load(dc.type, dc.module);
  if (!loaded.driver) {
    std::fprintf(stderr, "racktel probe: driver \"%s\": %s\n", dc.name.c_str(), loaded.error.c_str());
    return 1;
  }
  auto opened = driver_instance::open(dc, std::move(*loaded.driver), 0);
  for (const auto& w : opened.warnings) std::fprintf(stderr, "%s (warning)\n", w.to_string().c_str());
  if (!opened.instance) {
    for (const auto& e : opened.errors) print_error(e, line_of);
    if (opened.errors.empty()) std::fprintf(stderr, "racktel probe: %s: %s\n", dc.name.c_str(), opened.failure.c_str());
    return opened.errors.empty() ? 1 : 2;
  }
  driver_instance& instance = *opened.instance;
  std::shared_ptr<const instance_catalog> catalog = instance.initial_catalog();
  std::vector<racktel_sample> latest;
  bool failed = false;
  // Each group once; a driver that discovers while reading (SNMP rows) gives its catalog with the read.
  for (std::uint32_t g = 0; g < catalog->groups.size(); ++g) {
    const std::atomic<int> cancel{0};
    read_outcome r = instance.read(g, clock_ns(CLOCK_REALTIME), clock_ns(CLOCK_MONOTONIC) + o.timeout.count() * 1'000'000,
                                   cancel);
    if (r.new_catalog) {
      catalog = r.new_catalog;
      latest.clear();
    }
    failed = failed || r.driver_failed;
    for (const racktel_sample& s : r.samples) latest.push_back(s);
  }
  std::vector<racktel_sample> by_sensor(catalog->sensors.size(), racktel_sample{0, RACKTEL_READING_ERROR, 0});
  std::vector<bool> read(catalog->sensors.size(), false);
  for (const racktel_sample& s : latest) {
    if (s.sensor < by_sensor.size()) {
      by_sensor[s.sensor] = s;
      read[s.sensor] = true;
    }
  }
  if (!o.json) {
    std::printf("%s (%s, %s): %zu sensors\n", dc.name.c_str(), dc.type.c_str(), instance.origin().c_str(),
                catalog->sensors.size());
    for (const auto& p : catalog->problems) std::printf("  dropped: %s\n", p.c_str());
    std::printf("  %-40s %12s %-6s %-8s %-12s %-28s %s\n", "ID", "VALUE", "UNIT", "STATUS", "KIND", "LOCATION", "NAME");
  }
  for (std::size_t i = 0; i < catalog->sensors.size(); ++i) {
    const sensor_meta& m = catalog->sensors[i];
    const racktel_sample& s = by_sensor[i];
    const char* status = read[i] ? reading_status_name(s.status) : "unread";
    if (o.json) {
      json::object row{{"driver", dc.name},
                       {"id", m.id},
                       {"name", m.name},
                       {"kind", sensor_kind_name(m.kind)},
                       {"unit", m.unit},
                       {"location", location_text(m)},
                       {"resolution", m.resolution},
                       {"status", status},
                       {"warn_low", limit(m.warn_low)},
                       {"warn_high", limit(m.warn_high)},
                       {"crit_low", limit(m.crit_low)},
                       {"crit_high", limit(m.crit_high)}};
      if (read[i] && (s.status == RACKTEL_READING_OK || s.status == RACKTEL_READING_OUT_OF_RANGE)) {
        row["value"] = s.value;
      }
      out.push_back(std::move(row));
    } else {
      std::printf("  %-40s %12s %-6s %-8s %-12s %-28s %s\n", m.id.c_str(), format_value(s, m).c_str(),
                  m.unit.c_str(), status, sensor_kind_name(m.kind), location_text(m).c_str(), m.name.c_str());
    }
  }
  // Nothing read at all (a device that does not answer) fails the probe, as a failed read does.
  const bool any_ok = std::any_of(latest.begin(), latest.end(),
                                  [](const racktel_sample& s) { return s.status == RACKTEL_READING_OK; });
  return failed || !any_ok ? 1 : 0;
}

}  // namespace

int probe(const probe_options& o) {
  // What the drivers log goes to stderr: stdout is the catalog (and JSON for --json).
  spdlog::set_default_logger(spdlog::stderr_color_st("racktel-probe"));
  config_result loaded;
  std::map<std::size_t, std::string> line_of;
  if (!o.config_file.empty()) {
    loaded = load_config_file(o.config_file);
  } else {
    std::string error;
    const std::string text = probe_config(o, line_of, error);
    if (!error.empty()) {
      std::fprintf(stderr, "racktel probe: %s\n", error.c_str());
      return 2;
    }
    loaded = parse_config(text, "racktel probe");
  }
  // An error in a setting names the argument it came from, not a line of a file nobody wrote.
  for (const auto& e : loaded.errors) print_error(e, line_of);
  if (!loaded.config || !loaded.errors.empty()) return 2;
  const driver_loader loader(builtin_drivers(), driver_directory(loaded.config->driver_dir));
  json::array rows;
  int worst = 0;
  bool found = false;
  for (const driver_config& dc : loaded.config->drivers) {
    if (!o.driver.empty() && dc.name != o.driver) continue;
    if (!dc.enabled && o.driver.empty()) continue;
    found = true;
    worst = std::max(worst, probe_instance(dc, loader, o, line_of, rows));
  }
  if (!found) {
    std::fprintf(stderr, "racktel probe: no driver instance%s%s in %s\n", o.driver.empty() ? "" : " named ",
                 o.driver.c_str(), o.config_file.c_str());
    return 2;
  }
  if (o.json) std::printf("%s\n", json::serialize(json::object{{"sensors", std::move(rows)}}).c_str());
  return worst;
}

}  // namespace racktel::cli
