// Parsing what an exec'd command prints. Pure: text in, readings out.
//
// JSON, either {"sensors": [{"id": "...", "value": 1.5, "unit": "W", "kind": "power",
// "name": "...", "location": "shelf=0", "resolution": 0.1, "status": "ok"}]}
// or a flat object {"psu1.power": 512.3, "psu1.fan": 9000}.
//
// InfluxDB line protocol: `measurement[,tag=value...] field=value[,field=value...] [timestamp]`
// One sensor per field: id "measurement.tagvalue....field", tags become location labels.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace racktel::exec {

struct parsed_sensor {
  std::string id;
  std::optional<double> value;  // absent: the command reported an error for it
  std::string unit;
  std::string kind;             // "temperature", "power" ... (see sensor_kind_from_name)
  std::string name;
  std::string location;
  std::optional<double> resolution;
};

struct parse_result {
  std::vector<parsed_sensor> sensors;
  std::string error;  // what is malformed, with line and column where known
};

parse_result parse_json(std::string_view text);
parse_result parse_influx(std::string_view text);

// "temperature" -> RACKTEL_KIND_TEMPERATURE ...; OTHER for anything else.
unsigned sensor_kind_from_name(std::string_view name);

}  // namespace racktel::exec

namespace racktel::exec {

// A command's text made safe for one log line: control characters, DEL and
// bytes that are not valid UTF-8 become \xNN, a backslash becomes \\, and the
// result is cut at `max_bytes` (marked with "...").
std::string escape_for_log(std::string_view text, std::size_t max_bytes);

// The lines of a run's stderr worth logging: non-empty, escaped, at most
// `max_lines`; `more` counts the lines left out.
struct stderr_lines {
  std::vector<std::string> lines;
  std::size_t more = 0;
};
stderr_lines stderr_for_log(std::string_view err, std::size_t max_lines, std::size_t max_line_bytes);

// A token bucket for log lines, so that a chatty command cannot flood the
// journal: `burst` lines at once, refilled at `per_minute`.
class log_budget {
 public:
  log_budget(double burst, double per_minute) : burst_(burst), per_ms_(per_minute / 60000.0), tokens_(burst) {}
  // How many of `wanted` lines may be logged at `now_ms`; the others are counted as suppressed.
  std::size_t take(std::size_t wanted, std::int64_t now_ms);
  void suppress(std::uint64_t lines) { suppressed_ += lines; }
  // Lines suppressed since the last call; resets the count.
  std::uint64_t take_suppressed();

 private:
  double burst_, per_ms_, tokens_;
  std::int64_t last_ms_ = -1;
  std::uint64_t suppressed_ = 0;
};

}  // namespace racktel::exec
