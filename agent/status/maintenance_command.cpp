#include "maintenance_command.h"

#include <boost/json.hpp>

#include <charconv>
#include <sstream>

#include "common/units.h"

namespace racktel {
namespace json = boost::json;

namespace {

// The string at `key` of `o`, or "" when absent; false when present but not a string.
bool string_field(const json::object& o, const char* key, std::string& out) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return true;
  if (!v->is_string()) return false;
  out = std::string(v->as_string());
  return true;
}

std::optional<std::uint64_t> parse_id(const std::string& word) {
  std::uint64_t id = 0;
  const auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), id);
  if (ec != std::errc() || end != word.data() + word.size() || id == 0) return std::nullopt;
  return id;
}

}  // namespace

maintenance_command parse_maintenance_command(const std::string& line) {
  maintenance_command c;
  std::istringstream in(line);
  std::string verb;
  in >> verb;
  std::string rest;
  std::getline(in, rest);
  const auto first = rest.find_first_not_of(' ');
  rest = first == std::string::npos ? std::string() : rest.substr(first);
  json::object fields;
  auto read_fields = [&](const std::string& text) {
    if (text.empty()) return true;
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec || !v.is_object()) return false;
    fields = std::move(v.as_object());
    return true;
  };
  if (verb == "list" || verb.empty()) {
    c.what = maintenance_command::action::list;
    if (!rest.empty()) c.error = "\"maintenance list\" takes nothing more";
    return c;
  }
  if (verb == "end") {
    c.what = maintenance_command::action::end;
    const auto space = rest.find(' ');
    const std::string word = rest.substr(0, space);
    const auto id = parse_id(word);
    if (!id) {
      c.error = "\"maintenance end\" expects a window id (a number from `racktel maintenance list`), got \"" + word + "\"";
      return c;
    }
    c.id = *id;
    if (!read_fields(space == std::string::npos ? std::string() : rest.substr(space + 1)) ||
        !string_field(fields, "by", c.by)) {
      c.error = "\"maintenance end ID\" may be followed by {\"by\":\"NAME\"} only";
    }
    return c;
  }
  if (verb != "start") {
    c.error = "unknown maintenance command \"" + verb + "\"; expected list, start or end";
    return c;
  }
  c.what = maintenance_command::action::start;
  std::string duration;
  if (!read_fields(rest) || !string_field(fields, "match", c.request.match) ||
      !string_field(fields, "reason", c.request.reason) || !string_field(fields, "by", c.request.by) ||
      !string_field(fields, "for", duration)) {
    c.error = "\"maintenance start\" expects a JSON object with match, location, for, reason and by (strings)";
    return c;
  }
  if (const json::value* location = fields.if_contains("location")) {
    if (!location->is_object()) {
      c.error = "\"location\" must be an object of label globs, e.g. {\"tray\":\"3\"}";
      return c;
    }
    for (const auto& [key, value] : location->as_object()) {
      if (!value.is_string()) {
        c.error = "location label \"" + std::string(key) + "\" must be a string";
        return c;
      }
      c.request.location.emplace_back(std::string(key), std::string(value.as_string()));
    }
  }
  const auto d = parse_duration(duration);
  if (!d) {
    c.error = "\"for\" must be a duration such as 45m, 2h or 1d, got \"" + duration + "\"";
    return c;
  }
  c.request.duration = *d;
  return c;
}

std::string format_maintenance_start(const maintenance_request& r, const std::string& duration_text) {
  json::object location;
  for (const auto& [key, value] : r.location) location[key] = value;
  json::object o{{"match", r.match}, {"location", std::move(location)}, {"for", duration_text},
                 {"reason", r.reason}, {"by", r.by}};
  return "maintenance start " + json::serialize(o);
}

std::string format_maintenance_end(std::uint64_t id, const std::string& by) {
  return "maintenance end " + std::to_string(id) + " " + json::serialize(json::object{{"by", by}});
}

json::object window_json(const maintenance_window& w) {
  json::object location;
  for (const auto& [key, value] : w.location) location[key] = value;
  return json::object{{"id", w.id},           {"match", w.match},         {"location", std::move(location)},
                      {"reason", w.reason},   {"by", w.by},               {"start_ms", w.start_ms},
                      {"until_ms", w.until_ms}};
}

json::array windows_json(const std::vector<window_report>& windows) {
  json::array list;
  for (const window_report& r : windows) {
    json::object o = window_json(r.window);
    o["sensors"] = r.sensors;
    o["alarms_suppressed"] = r.alarms;
    list.push_back(std::move(o));
  }
  return list;
}

std::string maintenance_list_json(const std::vector<window_report>& windows, std::int64_t now_ms) {
  json::array list = windows_json(windows);
  return json::serialize(json::object{{"time_ms", now_ms}, {"windows", std::move(list)}});
}

std::string maintenance_answer_json(bool ok, const std::string& message, const maintenance_window* window) {
  json::object o{{"ok", ok}, {"message", message}};
  if (window != nullptr) o["window"] = window_json(*window);
  return json::serialize(o);
}

}  // namespace racktel
