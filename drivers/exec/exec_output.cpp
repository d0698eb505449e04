#include "exec_output.h"

#include <boost/json.hpp>
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

#include "racktel/driver.h"

namespace racktel::exec {
namespace json = boost::json;

namespace {

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > 200) return false;
  for (char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == ':' || c == '-')) return false;
  }
  return true;
}

std::string sanitise(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == ':' || c == '-')) c = '_';
  }
  return out;
}

std::optional<double> number(const json::value& v) {
  if (v.is_double()) return v.get_double();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  if (v.is_bool()) return v.get_bool() ? 1.0 : 0.0;
  return std::nullopt;
}

std::string string_or(const json::object& o, std::string_view key) {
  if (auto* v = o.if_contains(key); v && v->is_string()) return std::string(v->get_string());
  return {};
}

// Line and column of a byte offset, for error messages.
std::string position(std::string_view text, std::size_t offset) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

}  // namespace

unsigned sensor_kind_from_name(std::string_view name) {
  static constexpr std::pair<std::string_view, unsigned> kinds[] = {
      {"temperature", RACKTEL_KIND_TEMPERATURE}, {"power", RACKTEL_KIND_POWER},   {"voltage", RACKTEL_KIND_VOLTAGE},
      {"current", RACKTEL_KIND_CURRENT},         {"energy", RACKTEL_KIND_ENERGY}, {"flow", RACKTEL_KIND_FLOW},
      {"pressure", RACKTEL_KIND_PRESSURE},       {"fan_speed", RACKTEL_KIND_FAN_SPEED},
      {"ratio", RACKTEL_KIND_RATIO},             {"state", RACKTEL_KIND_STATE}};
  for (const auto& [n, k] : kinds) {
    if (n == name) return k;
  }
  return RACKTEL_KIND_OTHER;
}

parse_result parse_json(std::string_view text) {
  parse_result result;
  boost::system::error_code ec;
  json::stream_parser p;
  const std::size_t used = p.write_some(text.data(), text.size(), ec);
  if (!ec) p.finish(ec);
  if (ec) {
    result.error = "output is not valid JSON at " + position(text, used) + ": " + ec.message();
    return result;
  }
  const json::value doc = p.release();
  if (!doc.is_object()) {
    result.error = "expected a JSON object, {\"sensors\": [...]} or {\"id\": value, ...}";
    return result;
  }
  const json::object& root = doc.get_object();
  if (const json::value* list = root.if_contains("sensors"); list != nullptr) {
    if (!list->is_array()) {
      result.error = "\"sensors\" must be an array of objects";
      return result;
    }
    std::size_t i = 0;
    for (const json::value& item : list->get_array()) {
      const std::string where = "sensors[" + std::to_string(i++) + "]";
      if (!item.is_object()) {
        result.error = where + " is not an object";
        return result;
      }
      const json::object& o = item.get_object();
      parsed_sensor s;
      s.id = string_or(o, "id");
      if (!valid_id(s.id)) {
        result.error = where + ": \"id\" must be 1-200 characters of [A-Za-z0-9_.:-]";
        return result;
      }
      const std::string status = string_or(o, "status");
      if (const json::value* v = o.if_contains("value"); v != nullptr && !v->is_null() && status != "error") {
        s.value = number(*v);
        if (!s.value) {
          result.error = where + ": \"value\" must be a number, true/false or null";
          return result;
        }
      }
      s.unit = string_or(o, "unit");
      s.kind = string_or(o, "kind");
      s.name = string_or(o, "name");
      s.location = string_or(o, "location");
      if (const json::value* r = o.if_contains("resolution"); r != nullptr) s.resolution = number(*r);
      result.sensors.push_back(std::move(s));
    }
    return result;
  }
  for (const auto& [key, value] : root) {
    parsed_sensor s;
    s.id = std::string(key);
    if (!valid_id(s.id)) {
      result.error = "key \"" + s.id + "\" is not a sensor id of [A-Za-z0-9_.:-]";
      return result;
    }
    s.value = number(value);
    if (!s.value && !value.is_null()) {
      result.error = "\"" + s.id + "\" must be a number, true/false or null";
      return result;
    }
    result.sensors.push_back(std::move(s));
  }
  return result;
}

namespace {

// Splits on `sep` outside double quotes, honouring backslash escapes.
std::vector<std::string_view> split_unquoted(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  bool quoted = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '"') {
      quoted = !quoted;
    } else if (s[i] == sep && !quoted) {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  parts.push_back(s.substr(start));
  return parts;
}

std::optional<double> influx_value(std::string_view v) {
  if (v == "t" || v == "T" || v == "true" || v == "True" || v == "TRUE") return 1.0;
  if (v == "f" || v == "F" || v == "false" || v == "False" || v == "FALSE") return 0.0;
  if (!v.empty() && (v.back() == 'i' || v.back() == 'u')) v.remove_suffix(1);
  double d = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
  if (ec != std::errc() || ptr != v.data() + v.size() || !std::isfinite(d)) return std::nullopt;
  return d;
}

}  // namespace

parse_result parse_influx(std::string_view text) {
  parse_result result;
  std::size_t line_no = 0;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    const std::string where = "line " + std::to_string(line_no);
    const auto sections = split_unquoted(line, ' ');
    if (sections.size() < 2 || sections.size() > 3) {
      result.error = where + ": expected \"measurement[,tag=value] field=value [timestamp]\"";
      return result;
    }
    const auto key_parts = split_unquoted(sections[0], ',');
    std::string prefix = sanitise(key_parts[0]);
    std::string location;
    for (std::size_t i = 1; i < key_parts.size(); ++i) {
      const std::size_t eq = key_parts[i].find('=');
      if (eq == std::string_view::npos) {
        result.error = where + ": tag \"" + std::string(key_parts[i]) + "\" has no '='";
        return result;
      }
      prefix += "." + sanitise(key_parts[i].substr(eq + 1));
      location += (location.empty() ? "" : ",") + sanitise(key_parts[i].substr(0, eq)) + "=" +
                  sanitise(key_parts[i].substr(eq + 1));
    }
    for (std::string_view field : split_unquoted(sections[1], ',')) {
      const std::size_t eq = field.find('=');
      if (eq == std::string_view::npos || eq == 0) {
        result.error = where + ": field \"" + std::string(field) + "\" is not name=value";
        return result;
      }
      const std::string_view raw = field.substr(eq + 1);
      if (!raw.empty() && raw.front() == '"') continue;  // string fields carry no reading
      auto value = influx_value(raw);
      if (!value) {
        result.error = where + ": field \"" + std::string(field.substr(0, eq)) + "\" has no numeric value";
        return result;
      }
      parsed_sensor s;
      s.id = prefix + "." + sanitise(field.substr(0, eq));
      s.value = value;
      s.location = location;
      result.sensors.push_back(std::move(s));
    }
  }
  return result;
}

}  // namespace racktel::exec

namespace racktel::exec {

std::string escape_for_log(std::string_view text, std::size_t max_bytes) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  auto escape = [&out](unsigned char c) {
    out += "\\x";
    out += hex[c >> 4U];
    out += hex[c & 0xFU];
  };
  for (std::size_t i = 0; i < text.size();) {
    if (out.size() >= max_bytes) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\\') {
      out += "\\\\";
      ++i;
    } else if (c < 0x20 || c == 0x7F) {
      escape(c);
      ++i;
    } else if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
    } else {
      // Keep a well-formed UTF-8 sequence (no overlongs, no surrogates); escape anything else byte by byte.
      const std::size_t length = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 0;
      bool ok = length > 0 && c < 0xF5 && i + length <= text.size();
      for (std::size_t k = 1; ok && k < length; ++k) ok = (static_cast<unsigned char>(text[i + k]) & 0xC0U) == 0x80U;
      if (ok && length >= 3) {
        const auto c1 = static_cast<unsigned char>(text[i + 1]);
        if (c == 0xE0 && c1 < 0xA0) ok = false;  // overlong
        if (c == 0xED && c1 >= 0xA0) ok = false; // surrogate
        if (c == 0xF0 && c1 < 0x90) ok = false;  // overlong
        if (c == 0xF4 && c1 >= 0x90) ok = false; // beyond U+10FFFF
      }
      if (ok) {
        out.append(text.substr(i, length));
        i += length;
      } else {
        escape(c);
        ++i;
      }
    }
  }
  return out;
}

stderr_lines stderr_for_log(std::string_view err, std::size_t max_lines, std::size_t max_line_bytes) {
  stderr_lines result;
  std::size_t start = 0;
  while (start < err.size()) {
    std::size_t end = err.find('\n', start);
    if (end == std::string_view::npos) end = err.size();
    std::string_view line = err.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) {
      if (result.lines.size() < max_lines) {
        result.lines.push_back(escape_for_log(line, max_line_bytes));
      } else {
        ++result.more;
      }
    }
    start = end + 1;
  }
  return result;
}

std::size_t log_budget::take(std::size_t wanted, std::int64_t now_ms) {
  if (last_ms_ >= 0 && now_ms > last_ms_) {
    tokens_ = std::min(burst_, tokens_ + static_cast<double>(now_ms - last_ms_) * per_ms_);
  }
  if (last_ms_ < 0 || now_ms > last_ms_) last_ms_ = now_ms;
  const auto allowed = std::min(wanted, static_cast<std::size_t>(tokens_));
  tokens_ -= static_cast<double>(allowed);
  suppressed_ += wanted - allowed;
  return allowed;
}

std::uint64_t log_budget::take_suppressed() {
  const std::uint64_t n = suppressed_;
  suppressed_ = 0;
  return n;
}

}  // namespace racktel::exec
