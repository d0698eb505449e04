// `racktel maintenance` over the status socket: one line per request.
//   maintenance list
//   maintenance start {"match":"rack/tray03*","location":{"tray":"3"},"for":"2h","reason":"tray swap","by":"alice"}
//   maintenance end 7 {"by":"alice"}
// Pure: parsing and the JSON answers; the agent does the work.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "alarms/maintenance.h"

namespace racktel {

struct maintenance_command {
  enum class action { list, start, end } what = action::list;
  maintenance_request request;  // for start
  std::uint64_t id = 0;         // for end
  std::string by;               // for end: who ended it
  std::string error;            // a malformed request: what was expected
};
// `line` without the leading "maintenance".
maintenance_command parse_maintenance_command(const std::string& line);

// The request line the CLI sends (the inverse of parse_maintenance_command).
std::string format_maintenance_start(const maintenance_request& request, const std::string& duration_text);
std::string format_maintenance_end(std::uint64_t id, const std::string& by);

// {"windows":[...]} with each window's sensors covered and alarms suppressed.
struct window_report {
  maintenance_window window;
  std::size_t sensors = 0;
  std::size_t alarms = 0;
};
std::string maintenance_list_json(const std::vector<window_report>& windows, std::int64_t now_ms);
// {"ok":..., "message":..., "window":{...}}
std::string maintenance_answer_json(bool ok, const std::string& message, const maintenance_window* window);

// A window as JSON, shared by the answers above and `racktel status`.
boost::json::object window_json(const maintenance_window& w);
boost::json::array windows_json(const std::vector<window_report>& windows);

}  // namespace racktel
