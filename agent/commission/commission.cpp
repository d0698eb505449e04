#include "commission.h"

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "racktel/driver.h"
#include "wire/codec.h"

namespace racktel {

std::string expectation_error::to_string() const {
  return source + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

std::vector<std::string> expand_values(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    std::string_view part = text.substr(0, comma);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    if (part.empty()) return {};
    const std::size_t dash = part.find('-');
    long first = 0, last = 0;
    const bool range = dash != std::string_view::npos && dash > 0 &&
                       std::from_chars(part.data(), part.data() + dash, first).ptr == part.data() + dash &&
                       std::from_chars(part.data() + dash + 1, part.data() + part.size(), last).ptr ==
                           part.data() + part.size();
    if (range) {
      if (last < first || last - first > 100000) return {};
      for (long v = first; v <= last; ++v) out.push_back(std::to_string(v));
    } else {
      out.emplace_back(part);
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

namespace {

// Reads one expectation file; every problem is an error at its position.
class reader {
 public:
  explicit reader(std::string source) : source_(std::move(source)) {}

  void error(const toml::source_region& where, const std::string& message) {
    file.errors.push_back({source_, static_cast<int>(where.begin.line), static_cast<int>(where.begin.column), message});
  }

  // Keys of `table` that are not in `known` are errors: a typo must not pass as a check that always holds.
  void only(const toml::table& table, std::initializer_list<std::string_view> known, const char* what) {
    for (const auto& [key, node] : table) {
      if (std::find(known.begin(), known.end(), key.str()) == known.end()) {
        error(key.source().begin.line > 0 ? key.source() : node.source(),
              "unknown key \"" + std::string(key.str()) + "\" in " + what);
      }
    }
  }

  std::string string_at(const toml::table& t, const char* key, bool required, const char* what) {
    const toml::node* n = t.get(key);
    if (n == nullptr) {
      if (required) error(t.source(), std::string(what) + " needs \"" + key + "\"");
      return {};
    }
    if (!n->is_string()) {
      error(n->source(), std::string("\"") + key + "\" must be a string");
      return {};
    }
    return n->as_string()->get();
  }

  std::optional<double> number_at(const toml::table& t, const char* key) {
    const toml::node* n = t.get(key);
    if (n == nullptr) return std::nullopt;
    if (auto v = n->value<double>(); v && std::isfinite(*v)) return v;
    error(n->source(), std::string("\"") + key + "\" must be a number");
    return std::nullopt;
  }

  // Fields every sensor expectation has: name, match, location.
  bool sensors_of(const toml::table& t, expectation& e, const char* what) {
    e.name = string_at(t, "name", true, what);
    e.match = string_at(t, "match", false, what);
    if (const toml::node* loc = t.get("location")) {
      if (!loc->is_table()) {
        error(loc->source(), "\"location\" must be a table of label globs, e.g. { tray = \"3\" }");
      } else {
        for (const auto& [key, value] : *loc->as_table()) {
          if (!value.is_string()) {
            error(value.source(), "location label \"" + std::string(key.str()) + "\" must be a string");
            continue;
          }
          e.location.emplace_back(std::string(key.str()), value.as_string()->get());
        }
      }
    }
    return !e.name.empty();
  }

  expectation_file file;

 private:
  std::string source_;
};

// "chip 41", "tray 7": a label value as people say it.
std::string labelled(const std::string& key, const std::string& value) { return key + " " + value; }

std::string label_of(const sensor_meta& m, const std::string& key) {
  for (const auto& [k, v] : m.location) {
    if (k == key) return std::string(v);
  }
  return {};
}

// Natural order: "2" before "10".
bool value_less(const std::string& a, const std::string& b) {
  long x = 0, y = 0;
  const bool ax = std::from_chars(a.data(), a.data() + a.size(), x).ptr == a.data() + a.size() && !a.empty();
  const bool by = std::from_chars(b.data(), b.data() + b.size(), y).ptr == b.data() + b.size() && !b.empty();
  if (ax && by) return x < y;
  if (ax != by) return ax;
  return a < b;
}

std::string join_values(std::vector<std::string> values) {
  std::sort(values.begin(), values.end(), value_less);
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : ", ") + v;
  return out;
}

std::string number_text(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", v);
  return text;
}

}  // namespace

expectation_file parse_expectations(std::string_view text, const std::string& source) {
  reader r(source);
  toml::table document;
  try {
    document = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    r.error(e.source(), std::string(e.description()));
    return std::move(r.file);
  }
  r.only(document, {"description", "count", "state", "range", "alarms", "drivers"}, "the expectation file");
  r.file.description = r.string_at(document, "description", false, "the file");

  auto each = [&](const char* key, auto&& read) {
    const toml::node* n = document.get(key);
    if (n == nullptr) return;
    const toml::array* list = n->as_array();
    if (list == nullptr || !list->is_array_of_tables()) {
      r.error(n->source(), std::string("\"") + key + "\" must be an array of tables: [[" + key + "]]");
      return;
    }
    for (const toml::node& item : *list) read(*item.as_table());
  };
  each("count", [&](const toml::table& t) {
    r.only(t, {"name", "match", "location", "label", "per", "values"}, "[[count]]");
    expectation e;
    e.what = expectation::kind::count;
    r.sensors_of(t, e, "[[count]]");
    e.label = r.string_at(t, "label", true, "[[count]]");
    e.per = r.string_at(t, "per", false, "[[count]]");
    const std::string values = r.string_at(t, "values", true, "[[count]]");
    e.values = expand_values(values);
    if (!values.empty() && e.values.empty()) {
      r.error(t.get("values")->source(), "\"values\" must list label values, e.g. \"0-15\" or \"0-3,7\"");
    }
    r.file.expectations.push_back(std::move(e));
  });
  each("state", [&](const toml::table& t) {
    r.only(t, {"name", "match", "location", "expect"}, "[[state]]");
    expectation e;
    e.what = expectation::kind::state;
    r.sensors_of(t, e, "[[state]]");
    e.state = r.string_at(t, "expect", true, "[[state]]");
    if (e.match.empty() && e.location.empty()) r.error(t.source(), "[[state]] needs \"match\" or \"location\"");
    r.file.expectations.push_back(std::move(e));
  });
  each("range", [&](const toml::table& t) {
    r.only(t, {"name", "match", "location", "min", "max"}, "[[range]]");
    expectation e;
    e.what = expectation::kind::range;
    r.sensors_of(t, e, "[[range]]");
    e.min = r.number_at(t, "min");
    e.max = r.number_at(t, "max");
    if (!e.min && !e.max) r.error(t.source(), "[[range]] needs \"min\", \"max\" or both");
    if (e.min && e.max && *e.min > *e.max) r.error(t.source(), "\"min\" is above \"max\"");
    if (e.match.empty() && e.location.empty()) r.error(t.source(), "[[range]] needs \"match\" or \"location\"");
    r.file.expectations.push_back(std::move(e));
  });
  if (const toml::node* n = document.get("alarms")) {
    if (const toml::table* t = n->as_table()) {
      r.only(*t, {"name", "max_severity", "count_suppressed"}, "[alarms]");
      expectation e;
      e.what = expectation::kind::alarms;
      e.name = r.string_at(*t, "name", false, "[alarms]");
      const std::string severity = r.string_at(*t, "max_severity", true, "[alarms]");
      if (severity != "none") {
        e.max_severity = parse_alarm_severity(severity);
        if (!e.max_severity && !severity.empty()) {
          r.error(t->get("max_severity")->source(), "\"max_severity\" must be \"none\", \"warning\" or \"critical\"");
        }
      }
      if (const toml::node* c = t->get("count_suppressed")) {
        if (auto b = c->value<bool>()) e.count_suppressed = *b;
        else r.error(c->source(), "\"count_suppressed\" must be true or false");
      }
      if (e.name.empty()) e.name = severity == "none" ? "no active alarm" : "no active alarm above " + severity;
      r.file.expectations.push_back(std::move(e));
    } else {
      r.error(n->source(), "\"alarms\" must be a table: [alarms]");
    }
  }
  if (const toml::node* n = document.get("drivers")) {
    if (const toml::table* t = n->as_table()) {
      r.only(*t, {"name", "all_running"}, "[drivers]");
      const toml::node* all = t->get("all_running");
      if (all == nullptr || !all->value<bool>()) {
        r.error(all ? all->source() : t->source(), "[drivers] needs all_running = true (or leave the table out)");
      } else if (*all->value<bool>()) {
        expectation e;
        e.what = expectation::kind::drivers;
        e.name = r.string_at(*t, "name", false, "[drivers]");
        if (e.name.empty()) e.name = "every driver instance running";
        r.file.expectations.push_back(std::move(e));
      }
    } else {
      r.error(n->source(), "\"drivers\" must be a table: [drivers]");
    }
  }
  if (r.file.expectations.empty() && r.file.errors.empty()) {
    r.error(document.source(), "the file expects nothing: add [[count]], [[state]], [[range]], [alarms] or [drivers]");
  }
  return std::move(r.file);
}

commission_report evaluate_commission(const std::vector<expectation>& expectations, const commission_inputs& rack) {
  commission_report report;
  const auto& sensors = *rack.sensors;
  const auto& readings = *rack.readings;
  auto selected = [&](const expectation& e) {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < sensors.size(); ++i) {
      if (sensor_selected(e.match, e.location, sensors[i])) out.push_back(i);
    }
    return out;
  };
  for (const expectation& e : expectations) {
    check_result c;
    c.name = e.name;
    switch (e.what) {
      case expectation::kind::count: {
        // label value (per value) -> seen
        std::map<std::string, std::set<std::string>, decltype(&value_less)> seen(&value_less);
        for (std::size_t i : selected(e)) {
          const std::string value = label_of(sensors[i], e.label);
          if (value.empty()) continue;
          seen[e.per.empty() ? std::string() : label_of(sensors[i], e.per)].insert(value);
        }
        auto compare = [&](const std::string& prefix, const std::set<std::string>& found) {
          std::vector<std::string> missing, extra;
          for (const auto& v : e.values) {
            if (!found.contains(v)) missing.push_back(v);
          }
          for (const auto& v : found) {
            if (std::find(e.values.begin(), e.values.end(), v) == e.values.end()) extra.push_back(v);
          }
          if (!missing.empty()) {
            c.findings.push_back(prefix + e.label + " " + join_values(missing) + " missing");
          }
          if (!extra.empty()) c.findings.push_back(prefix + e.label + " " + join_values(extra) + " not expected");
        };
        if (e.per.empty()) {
          compare("", seen.count("") ? seen[""] : std::set<std::string>{});
        } else {
          // For each value of `per` that is present: a missing chip is the chip count's finding, not this one's.
          for (const auto& [owner, found] : seen) {
            if (!owner.empty()) compare(labelled(e.per, owner) + ": ", found);
          }
        }
        break;
      }
      case expectation::kind::state:
      case expectation::kind::range: {
        const auto chosen = selected(e);
        if (chosen.empty()) c.findings.push_back("no sensor matches");
        for (std::size_t i : chosen) {
          const sensor_meta& m = sensors[i];
          const latest_reading& r = readings[i];
          if (r.time_ms == 0) {
            ++report.pending;
            c.findings.push_back(m.name + ": not read yet");
            continue;
          }
          if (!reading_has_value(r.status)) {
            c.findings.push_back(m.name + ": " + reading_status_name(r.status));
            continue;
          }
          // Quantised as on the wire, so the finding shows what the stream shows.
          const std::string shown = reading_text(m, std::round(r.value / m.resolution) * m.resolution);
          if (e.what == expectation::kind::state) {
            if (shown != e.state && number_text(r.value) != e.state) {
              c.findings.push_back(m.name + ": " + shown + ", expected " + e.state);
            }
          } else if ((e.min && r.value < *e.min) || (e.max && r.value > *e.max)) {
            const std::string range = e.min && e.max ? number_text(*e.min) + " to " + number_text(*e.max)
                                      : e.min        ? "at least " + number_text(*e.min)
                                                     : "at most " + number_text(*e.max);
            c.findings.push_back(m.name + ": " + shown + ", expected " + range + (m.unit.empty() ? "" : " " + m.unit));
          }
        }
        break;
      }
      case expectation::kind::alarms:
        for (const active_alarm& a : rack.alarms) {
          if (a.maintenance != 0 && !e.count_suppressed) continue;
          if (e.max_severity && a.severity <= *e.max_severity) continue;
          std::string value;
          if (a.value && a.sensor < sensors.size()) value = " " + reading_text(sensors[a.sensor], *a.value);
          std::string limit = a.limit + (a.threshold ? " " + number_text(*a.threshold) : "");
          c.findings.push_back(std::string(alarm_severity_name(a.severity)) + " " + alarm_kind_name(a.kind) +
                               " alarm: " + a.sensor_key + value + " (" + limit + ")" +
                               (a.maintenance != 0 ? " [maintenance " + std::to_string(a.maintenance) + "]" : ""));
        }
        break;
      case expectation::kind::drivers:
        for (const driver_health& d : rack.drivers) {
          if (d.state == "running") continue;
          c.findings.push_back("driver " + d.name + ": " + (d.state == "disabled" ? "disabled" : d.error.empty() ? d.state : d.error));
        }
        break;
    }
    c.passed = c.findings.empty();
    report.passed = report.passed && c.passed;
    report.checks.push_back(std::move(c));
  }
  return report;
}

}  // namespace racktel
