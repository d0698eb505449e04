// The Redfish model and discovery, on documents from a BMC. The input is
// split at NUL bytes into documents: the first is read as a Sensor, legacy
// Thermal and Power, ThermalMetrics and PSU metrics; all of them, in order,
// become the service root, the chassis collection, and whatever else the
// discovery walk asks for next.
#include <boost/json.hpp>
#include <cstdint>
#include <string_view>
#include <vector>

#include "redfish_discovery.h"
#include "redfish_model.h"

using namespace racktel::redfish;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> texts;
  for (std::size_t start = 0; start <= bytes.size() && texts.size() < 64;) {
    const std::size_t end = std::min(bytes.find('\0', start), bytes.size());
    texts.push_back(bytes.substr(start, end - start));
    start = end + 1;
  }
  std::vector<std::optional<json::value>> docs;
  for (std::string_view t : texts) {
    boost::system::error_code ec;
    json::value v = json::parse(t, ec);
    docs.push_back(ec ? std::nullopt : std::optional<json::value>(std::move(v)));
  }
  if (docs[0]) {
    const json::value& d = *docs[0];
    std::vector<sensor_def> defs;
    if (auto s = from_sensor("c", d, "/s")) defs.push_back(*s);
    for (auto* f : {&from_legacy_thermal, &from_legacy_power, &from_thermal_metrics}) {
      auto more = (*f)("c", d, "/s");
      defs.insert(defs.end(), more.begin(), more.end());
    }
    auto psu = from_power_supply_metrics("c", "chassis=c", "p", d, "/s");
    defs.insert(defs.end(), psu.begin(), psu.end());
    auto fan = from_fan("c", "f", d, "/s");
    defs.insert(defs.end(), fan.begin(), fan.end());
    for (auto part : {equipment_part::distribution_metrics, equipment_part::circuit, equipment_part::outlet,
                      equipment_part::coolant_connector, equipment_part::pump, equipment_part::reservoir,
                      equipment_part::leak_detector, equipment_part::environment_metrics}) {
      auto more = from_equipment(part, "e", "e", "cdu=e", d, "/s");
      defs.insert(defs.end(), more.begin(), more.end());
    }
    document_index index;
    index_document("/s", d, index);
    for (const auto& def : defs) (void)value_of(def, index);
    (void)member_links(d);
    (void)supports_expand(d);
    (void)parse_chassis(d);
  }
  // Discovery: documents handed out in the order the walk asks for them.
  document_cache cache;
  std::size_t next = 0;
  for (int round = 0; round < 16; ++round) {
    discovery_result r = walk_discovery(cache, {64, 256});
    if (!r.fatal.empty() || r.complete()) break;
    for (const std::string& uri : r.missing) {
      if (next < docs.size() && docs[next]) {
        cache[uri] = {docs[next], {}};
      } else {
        cache[uri] = {std::nullopt, "unavailable"};
      }
      ++next;
    }
  }
  return 0;
}
