#include "status/page_data.h"

#include <boost/json.hpp>
#include <cmath>

#include "status/metrics_text.h"
#include "store/quantum.h"
#include "wire/codec.h"

namespace racktel {

namespace json = boost::json;

namespace {

void set_limits(json::object& o, const sensor_meta& m) {
  for (auto [key, limit] : {std::pair{"warn_low", &m.warn_low}, std::pair{"warn_high", &m.warn_high},
                            std::pair{"crit_low", &m.crit_low}, std::pair{"crit_high", &m.crit_high}}) {
    if (*limit && std::isfinite(**limit)) o[key] = **limit;
  }
}

// A finite value as JSON writes it, on its quantum: shortest round trip ("57.8").
void append_value(std::string& out, double value, double resolution) {
  const double v = resolution > 0 ? quantised_value(value, resolution) : value;
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  out += metric_value(v == 0 ? 0.0 : v);  // no "-0"
}

}  // namespace

std::string page_catalog_json(const sensor_catalog& catalog, std::string_view site, std::string_view rack) {
  // Written straight out rather than through a JSON tree: for 10 000 sensors
  // the tree took ten times the text's size, and the heap kept the high-water mark.
  std::string out;
  out.reserve(64 + catalog.sensors.size() * 200);
  out += "{\"version\":\"" + catalog_version_text(catalog.version) + "\",\"site\":";
  append_json_string(out, site);
  out += ",\"rack\":";
  append_json_string(out, rack);
  out += ",\"sensors\":[";
  bool first = true;
  for (const sensor_meta& m : catalog.sensors) {
    out += first ? "{\"key\":" : ",{\"key\":";
    first = false;
    append_json_string(out, m.key());
    out += ",\"name\":";
    append_json_string(out, m.name);
    out += ",\"kind\":";
    append_json_string(out, sensor_kind_name(m.kind));
    out += ",\"unit\":";
    append_json_string(out, m.unit);
    out += ",\"location\":{";
    bool first_label = true;
    for (const auto& [label, value] : m.location) {
      if (!first_label) out += ',';
      first_label = false;
      append_json_string(out, label);
      out += ':';
      append_json_string(out, value);
    }
    out += "},\"resolution\":";
    out += metric_value(m.resolution);
    for (auto [key, limit] : {std::pair{"warn_low", &m.warn_low}, std::pair{"warn_high", &m.warn_high},
                              std::pair{"crit_low", &m.crit_low}, std::pair{"crit_high", &m.crit_high}}) {
      if (!*limit || !std::isfinite(**limit)) continue;
      out += ",\"";
      out += key;
      out += "\":";
      out += metric_value(**limit);
    }
    if (!m.states.empty()) {
      out += ",\"states\":{";
      bool first_state = true;
      for (const auto& [value, word] : m.states) {
        if (!std::exchange(first_state, false)) out += ',';
        append_json_string(out, std::to_string(value));
        out += ':';
        append_json_string(out, word);
      }
      out += '}';
    }
    out += '}';
  }
  out += "]}";
  return out;
}

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      static const char hex[] = "0123456789abcdef";
      out += "\\u00";
      out += hex[u >> 4U];
      out += hex[u & 0xfU];
    } else {
      out += c;
    }
  }
  out += '"';
}

std::string server_event(std::string_view name, std::string_view data) {
  std::string out;
  out.reserve(name.size() + data.size() + 16);
  out += "event: ";
  out += name;
  out += "\ndata: ";
  out += data;
  out += "\n\n";
  return out;
}

std::string values_event(const sensor_catalog& catalog, const std::vector<latest_reading>& latest,
                         const std::vector<std::uint32_t>& which, std::int64_t now_ms) {
  std::string data = "{\"catalog\":\"" + catalog_version_text(catalog.version) + "\",\"time\":" + std::to_string(now_ms) +
                     ",\"values\":[";
  data.reserve(data.size() + which.size() * 28);
  bool first = true;
  for (const std::uint32_t i : which) {
    if (i >= latest.size() || i >= catalog.sensors.size() || latest[i].time_ms == 0) continue;
    const latest_reading& r = latest[i];
    if (!first) data += ',';
    first = false;
    data += '[';
    data += std::to_string(i);
    data += ',';
    if (reading_has_value(r.status)) {
      append_value(data, r.value, catalog.sensors[i].resolution);
    } else {
      data += "null";
    }
    data += ',';
    data += std::to_string(r.status);
    data += ',';
    data += std::to_string(r.time_ms);
    data += ']';
  }
  data += "]}";
  return server_event("values", data);
}

std::string history_json(const sensor_meta& meta, const sensor_history& history, std::size_t index,
                         std::int64_t now_ms) {
  std::string points = "[";
  for (const sensor_history::point& p : history.read(index, meta.resolution, now_ms)) {
    if (points.size() > 1) points += ',';
    points += '[';
    points += std::to_string(p.time_ms);
    points += ',';
    if (p.value) {
      append_value(points, *p.value, 0);
    } else {
      points += "null";
    }
    points += ']';
  }
  points += ']';
  json::object o{{"sensor", meta.key()},
                 {"name", meta.name},
                 {"unit", meta.unit},
                 {"step_ms", history.step().count()},
                 {"span_ms", history.span().count()},
                 {"now", now_ms}};
  set_limits(o, meta);
  std::string out = json::serialize(o);
  out.pop_back();  // the points, written above as plain numbers, go last
  return out + ",\"points\":" + points + "}";
}

std::optional<std::string> query_parameter(std::string_view target, std::string_view name) {
  const std::size_t question = target.find('?');
  if (question == std::string_view::npos) return std::nullopt;
  std::string_view query = target.substr(question + 1);
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    const std::string_view raw = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    std::string out;
    out.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
      const char c = raw[i];
      if (c == '+') {
        out += ' ';
      } else if (c == '%') {
        auto hex = [](char h) -> int {
          if (h >= '0' && h <= '9') return h - '0';
          if (h >= 'a' && h <= 'f') return h - 'a' + 10;
          if (h >= 'A' && h <= 'F') return h - 'A' + 10;
          return -1;
        };
        if (i + 2 >= raw.size()) return std::nullopt;  // a '%' without two hex digits
        const int high = hex(raw[i + 1]), low = hex(raw[i + 2]);
        if (high < 0 || low < 0 || (high == 0 && low == 0)) return std::nullopt;
        out += static_cast<char>(high * 16 + low);
        i += 2;
      } else {
        out += c;
      }
    }
    return out;
  }
  return std::nullopt;
}

}  // namespace racktel
