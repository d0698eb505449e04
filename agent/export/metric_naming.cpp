#include "export/metric_naming.h"

#include <algorithm>
#include <array>

namespace racktel {
namespace {

const char* kind_word(std::uint32_t kind) {
  static constexpr std::array<const char*, 11> words{"other",    "temperature", "power",     "voltage",
                                                     "current",  "energy",      "flow",      "pressure",
                                                     "fan_speed", "ratio",      "state"};
  return kind < words.size() ? words[kind] : "other";
}

// The agent's UCUM-style units as Prometheus unit words.
std::string unit_word(std::string_view unit) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 18> words{{
      {"Cel", "celsius"},    {"W", "watts"},       {"kW", "kilowatts"},        {"V", "volts"},
      {"mV", "millivolts"},  {"A", "amperes"},     {"mA", "milliamperes"},     {"J", "joules"},
      {"kW.h", "kilowatt_hours"}, {"L/min", "liters_per_minute"}, {"kPa", "kilopascals"},
      {"Pa", "pascals"},     {"RPM", "rpm"},       {"{rev}/min", "rpm"},       {"%", "percent"},
      {"Hz", "hertz"},       {"s", "seconds"},     {"B", "bytes"},
  }};
  for (const auto& [from, to] : words) {
    if (unit == from) return std::string(to);
  }
  std::string out;
  for (char c : unit) {
    const bool word = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (c >= 'A' && c <= 'Z') {
      out += static_cast<char>(c - 'A' + 'a');
    } else if (word) {
      out += c;
    } else if (c == '/') {
      out += "_per_";
    } else if (!out.empty() && out.back() != '_') {
      out += '_';
    }
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out;
}

bool reserved_label(std::string_view name) {
  return name == "site" || name == "rack" || name == "driver" || name == "sensor" || name.starts_with("__");
}

}  // namespace

std::string metric_name(const sensor_meta& meta) {
  if (meta.kind == 10) return "racktel_state";
  std::string name = std::string("racktel_") + kind_word(meta.kind);
  const std::string unit = unit_word(meta.unit);
  if (!unit.empty()) name += "_" + unit;
  return name;
}

std::string location_label_name(std::string_view key) {
  std::string out;
  for (char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    out += ok ? c : '_';
  }
  if (out.empty() || (out[0] >= '0' && out[0] <= '9')) out = "_" + out;
  if (reserved_label(out)) out = "location_" + out;
  return out;
}

label_list series_labels(const sensor_meta& meta, std::string_view site, std::string_view rack) {
  label_list labels;
  labels.reserve(4 + meta.location.size());
  labels.emplace_back("site", site);
  labels.emplace_back("rack", rack);
  labels.emplace_back("driver", meta.driver);
  labels.emplace_back("sensor", meta.id);
  for (const auto& [key, value] : meta.location) {
    std::string name = location_label_name(key);
    // A second label of the same name (two keys that sanitise alike) is dropped: a series has each name once.
    if (std::none_of(labels.begin(), labels.end(), [&](const auto& l) { return l.first == name; })) {
      labels.emplace_back(std::move(name), value);
    }
  }
  std::sort(labels.begin(), labels.end());
  return labels;
}

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace racktel
