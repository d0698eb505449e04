// Prometheus names for racktel's sensors: the one naming scheme of
// racktel-ingest's remote write and the agent's /metrics (docs/ingest.md,
// "Metric names"). Pure.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/catalog.h"

namespace racktel {

// racktel_<kind>_<unit as a word>: racktel_temperature_celsius,
// racktel_power_watts, racktel_flow_liters_per_minute. A state sensor is
// racktel_state (its value is the state's number). Values keep the agent's
// unit, so a sample equals the reading the agent published, digit for digit.
std::string metric_name(const sensor_meta& meta);

// The status series of non-OK readings: its value is the ReadingStatus number.
inline constexpr std::string_view reading_status_metric = "racktel_reading_status";

// A location key as a Prometheus label name: [a-zA-Z_][a-zA-Z0-9_]*, other
// characters become '_'; a key that would collide with one of the series' own
// labels (site, rack, driver, sensor, or one starting with "__") is prefixed
// with "location_".
std::string location_label_name(std::string_view key);

using label_list = std::vector<std::pair<std::string, std::string>>;
// A sensor's labels without __name__, sorted by name as remote write requires:
// site, rack, driver, sensor (its id) and its location labels.
label_list series_labels(const sensor_meta& meta, std::string_view site, std::string_view rack);

// A label value or a HELP text in the text exposition format: \\, \" and \n escaped.
std::string escape_label_value(std::string_view value);

}  // namespace racktel
