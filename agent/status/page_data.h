// What the agent's page reads: the catalog as the page draws it, the live
// values as server-sent events, one sensor's recent past, and the query
// parameters of its requests. Pure: no I/O, no clocks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/catalog.h"
#include "store/latest_table.h"
#include "store/sensor_history.h"

namespace racktel {

// /api/catalog: {"version":"<16 hex>","site":..,"rack":..,"sensors":[{"key","name","kind","unit",
// "location":{..},"resolution","warn_low".. (only those set),"states":{"0":"up",..}}, ..]};
// a sensor's place in the list is its index in values events.
std::string page_catalog_json(const sensor_catalog& catalog, std::string_view site, std::string_view rack);

// `text` as a JSON string, quoted and escaped (UTF-8 passes through).
void append_json_string(std::string& out, std::string_view text);

// One server-sent event: "event: <name>\ndata: <data>\n\n". `data` must hold
// no line break (serialised JSON holds none).
std::string server_event(std::string_view name, std::string_view data);

// The "values" event: {"catalog":"<hex>","time":<ms>,"values":[[index,value|null,status,time_ms],..]}
// for the sensors in `which` (index order), values on their quantum; never-read
// sensors are left out.
std::string values_event(const sensor_catalog& catalog, const std::vector<latest_reading>& latest,
                         const std::vector<std::uint32_t>& which, std::int64_t now_ms);

// /api/history?sensor=driver/id: {"sensor","name","unit","step_ms","span_ms","now",
// "warn_low".., "points":[[time_ms,value|null],..]} where null marks a failed read.
std::string history_json(const sensor_meta& meta, const sensor_history& history, std::size_t index,
                         std::int64_t now_ms);

// The value of `name` in the target's query string, percent-decoded ('+' is a
// space); nullopt when absent or malformed (a bad escape, a NUL).
std::optional<std::string> query_parameter(std::string_view target, std::string_view name);

}  // namespace racktel
