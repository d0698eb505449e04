// Parsing what an exec'd command prints. Pure: text in, readings out.
//
// JSON, either {"sensors": [{"id": "...", "value": 1.5, "unit": "W", "kind": "power",
// "name": "...", "location": "shelf=0", "resolution": 0.1, "status": "ok"}]}
// or a flat object {"psu1.power": 512.3, "psu1.fan": 9000}.
//
// InfluxDB line protocol: `measurement[,tag=value...] field=value[,field=value...] [timestamp]`
// One sensor per field: id "measurement.tagvalue....field", tags become location labels.
#pragma once

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
