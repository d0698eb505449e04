// What a Redfish service says, turned into racktel sensors. Pure: JSON in,
// sensor definitions and values out; no I/O. The client (redfish_client)
// fetches the documents these functions read.
#pragma once

#include <boost/json/value.hpp>
#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace racktel::redfish {

namespace json = boost::json;

struct sensor_def {
  std::string id;        // unique within the BMC: "<chassis>.<sensor>"
  std::string name;
  std::uint32_t kind = 0;
  std::string unit;
  double resolution = 0.001;
  double scale = 1.0;    // reading * scale = racktel unit (kWh -> J, Pa -> kPa)
  std::string location;  // "chassis=<id>,context=<PhysicalContext>"
  double warn_low = NAN, warn_high = NAN, crit_low = NAN, crit_high = NAN;
  std::string uri;       // the resource holding the value
  std::string pointer;   // JSON pointer to the value in it: "/Reading", "/Temperatures/2/ReadingCelsius"
  // A state read from a string ("DetectorState": "Critical"): the words and
  // their values, and the sensor's "0=ok,1=warning,2=critical". Empty for numbers.
  std::vector<std::pair<std::string, double>> words;
  std::string states;
};

// Links of a collection's members ("Members": [{"@odata.id": ...}]); members
// without a string "@odata.id" are left out.
std::vector<std::string> member_links(const json::value& collection);
// The number of entries in a collection's "Members" (0 when there is none).
std::size_t member_count(const json::value& collection);
// v[key] when it is a string, else empty; never throws.
std::string string_of(const json::value& v, std::string_view key);
// v[key]["@odata.id"] when it is a string, else empty; never throws.
std::string link_of(const json::value& v, std::string_view key);

// Whether the service root advertises $expand (ProtocolFeaturesSupported.ExpandQuery).
bool supports_expand(const json::value& service_root);

struct chassis_links {
  std::string sensors, thermal, power, thermal_subsystem, power_subsystem;
};
chassis_links parse_chassis(const json::value& chassis);

// One Sensor resource (from the Sensors collection, expanded or fetched one by one).
std::optional<sensor_def> from_sensor(const std::string& chassis, const json::value& sensor, const std::string& uri);
// Legacy resources: Thermal (Temperatures, Fans) and Power (PowerControl, Voltages, PowerSupplies).
std::vector<sensor_def> from_legacy_thermal(const std::string& chassis, const json::value& thermal, const std::string& uri);
std::vector<sensor_def> from_legacy_power(const std::string& chassis, const json::value& power, const std::string& uri);
// ThermalSubsystem/ThermalMetrics (TemperatureReadingsCelsius) and a PowerSupply's Metrics.
std::vector<sensor_def> from_thermal_metrics(const std::string& chassis, const json::value& metrics, const std::string& uri);
// `owner` prefixes the ids ("Shelf0" -> "Shelf0.psu_PSU3.input_power"); `owner_location` the labels.
std::vector<sensor_def> from_power_supply_metrics(const std::string& owner, const std::string& owner_location,
                                                  const std::string& supply, const json::value& metrics,
                                                  const std::string& uri);
// ThermalSubsystem's Fans members: SpeedPercent (Reading, and SpeedRPM when given).
std::vector<sensor_def> from_fan(const std::string& chassis, const std::string& fan, const json::value& doc,
                                 const std::string& uri);

// The rack's equipment (PowerEquipment, ThermalEquipment): resources whose
// quantities are excerpts, {"Reading": 12.3}, under well-known property names.
// Which names a resource is read for:
enum class equipment_part : std::uint8_t {
  distribution_metrics,  // PowerDistributionMetrics: PowerWatts, EnergykWh, ...
  circuit,               // Mains, Branches, Feeders, Subfeeds: CurrentAmps, Voltage, PowerWatts, EnergykWh, FrequencyHz
  outlet,                // the same quantities per outlet
  coolant_connector,     // a CDU loop: supply/return/delta temperature and pressure, flow
  pump,                  // PumpSpeedPercent (and SpeedRPM)
  reservoir,             // FluidLevelPercent, FluidLevelStatus
  leak_detector,         // DetectorState: OK, Warning, Critical
  environment_metrics,   // TemperatureCelsius, HumidityPercent, PowerWatts, EnergykWh
};
// Sensors "<prefix>.<quantity>" named "<name> <quantity>" at `location`, one
// for each quantity the resource has (present, even when null).
std::vector<sensor_def> from_equipment(equipment_part part, const std::string& prefix, const std::string& name,
                                       const std::string& location, const json::value& doc, const std::string& uri);

// Indexes fetched documents by URI, including the members of an expanded collection.
using document_index = std::map<std::string, const json::value*>;
void index_document(const std::string& uri, const json::value& doc, document_index& index);

// The value of `def` in the fetched documents; nullopt when absent, null,
// not a number, or the resource says it is absent or disabled.
std::optional<double> value_of(const sensor_def& def, const document_index& documents);

std::string sanitise_id(std::string_view text);

}  // namespace racktel::redfish
