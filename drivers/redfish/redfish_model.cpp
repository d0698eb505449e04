#include "redfish_model.h"

#include <boost/json.hpp>
#include <cctype>

#include "racktel/driver.h"

namespace racktel::redfish {
namespace {

const json::value* at(const json::value& v, std::string_view key) {
  if (!v.is_object()) return nullptr;
  return v.get_object().if_contains(key);
}

std::string text(const json::value& v, std::string_view key) {
  const json::value* x = at(v, key);
  return x && x->is_string() ? std::string(x->get_string()) : std::string();
}

std::optional<double> number(const json::value* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_double()) return v->get_double();
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  return std::nullopt;
}

double number_or_nan(const json::value* v, double scale) {
  auto n = number(v);
  return n ? *n * scale : NAN;
}

std::string link(const json::value& v, std::string_view key) {
  const json::value* x = at(v, key);
  return x ? text(*x, "@odata.id") : std::string();
}

struct kind_info {
  std::uint32_t kind;
  const char* unit;
  double scale;
  double resolution;
};

// ReadingType (and ReadingUnits where the type leaves the unit open) -> racktel.
kind_info kind_for_type(std::string_view type, std::string_view units) {
  if (type == "Temperature") return {RACKTEL_KIND_TEMPERATURE, "Cel", 1.0, 0.1};
  if (type == "Power") return {RACKTEL_KIND_POWER, "W", 1.0, 0.1};
  if (type == "Voltage") return {RACKTEL_KIND_VOLTAGE, "V", 1.0, 0.001};
  if (type == "Current") return {RACKTEL_KIND_CURRENT, "A", 1.0, 0.001};
  if (type == "EnergyJoules") return {RACKTEL_KIND_ENERGY, "J", 1.0, 1.0};
  if (type == "EnergykWh") return {RACKTEL_KIND_ENERGY, "J", 3.6e6, 1.0};
  if (type == "EnergyWh") return {RACKTEL_KIND_ENERGY, "J", 3600.0, 1.0};
  if (type == "Rotational") return {RACKTEL_KIND_FAN_SPEED, "RPM", 1.0, 1.0};
  if (type == "Percent" || type == "Humidity") return {RACKTEL_KIND_RATIO, "%", 1.0, 0.1};
  if (type == "LiquidFlowLPM") return {RACKTEL_KIND_FLOW, "L/min", 1.0, 0.01};
  if (type == "LiquidFlow") return {RACKTEL_KIND_FLOW, "L/min", units == "L/s" ? 60.0 : 1.0, 0.01};
  if (type == "PressurekPa") return {RACKTEL_KIND_PRESSURE, "kPa", 1.0, 0.01};
  if (type == "PressurePa" || type == "Pressure") return {RACKTEL_KIND_PRESSURE, "kPa", 0.001, 0.01};
  return {RACKTEL_KIND_OTHER, "", 1.0, 0.001};
}

// ReadingUnits (UCUM, as Redfish writes them) alone -> racktel, for a sensor without ReadingType.
kind_info kind_for_units(std::string_view units) {
  if (units == "Cel") return {RACKTEL_KIND_TEMPERATURE, "Cel", 1.0, 0.1};
  if (units == "W") return {RACKTEL_KIND_POWER, "W", 1.0, 0.1};
  if (units == "kW") return {RACKTEL_KIND_POWER, "W", 1000.0, 1.0};
  if (units == "V") return {RACKTEL_KIND_VOLTAGE, "V", 1.0, 0.001};
  if (units == "A") return {RACKTEL_KIND_CURRENT, "A", 1.0, 0.001};
  if (units == "J") return {RACKTEL_KIND_ENERGY, "J", 1.0, 1.0};
  if (units == "kW.h") return {RACKTEL_KIND_ENERGY, "J", 3.6e6, 1.0};
  if (units == "W.h") return {RACKTEL_KIND_ENERGY, "J", 3600.0, 1.0};
  if (units == "L/min") return {RACKTEL_KIND_FLOW, "L/min", 1.0, 0.01};
  if (units == "L/s") return {RACKTEL_KIND_FLOW, "L/min", 60.0, 0.01};
  if (units == "kPa") return {RACKTEL_KIND_PRESSURE, "kPa", 1.0, 0.01};
  if (units == "Pa") return {RACKTEL_KIND_PRESSURE, "kPa", 0.001, 0.01};
  if (units == "%") return {RACKTEL_KIND_RATIO, "%", 1.0, 0.1};
  if (units == "{rev}/min" || units == "RPM") return {RACKTEL_KIND_FAN_SPEED, "RPM", 1.0, 1.0};
  return {RACKTEL_KIND_OTHER, "", 1.0, 0.001};
}

kind_info kind_for(std::string_view type, std::string_view units) {
  const kind_info by_type = kind_for_type(type, units);
  return by_type.kind != RACKTEL_KIND_OTHER || !type.empty() ? by_type : kind_for_units(units);
}

std::string location_of(const std::string& chassis, const json::value& v) {
  std::string location = "chassis=" + sanitise_id(chassis);
  const std::string context = text(v, "PhysicalContext");
  if (!context.empty()) location += ",context=" + sanitise_id(context);
  return location;
}

// Legacy array members are named by MemberId when they have one, else by position.
std::string member_name(const json::value& m, std::size_t index) {
  std::string id = text(m, "MemberId");
  if (id.empty()) id = std::to_string(index);
  return sanitise_id(id);
}

void legacy_thresholds(sensor_def& d, const json::value& m, double scale) {
  auto first = [&](const char* plain, const char* fatal) {
    const double v = number_or_nan(at(m, plain), scale);
    return std::isnan(v) && fatal != nullptr ? number_or_nan(at(m, fatal), scale) : v;
  };
  d.warn_high = first("UpperThresholdNonCritical", nullptr);
  d.crit_high = first("UpperThresholdCritical", "UpperThresholdFatal");
  d.warn_low = first("LowerThresholdNonCritical", nullptr);
  d.crit_low = first("LowerThresholdCritical", "LowerThresholdFatal");
}

bool has(const json::value& v, std::string_view key) { return at(v, key) != nullptr; }

}  // namespace

std::string sanitise_id(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == ':' || c == '.')) c = '_';
  }
  return out.empty() ? "_" : out;
}

std::size_t member_count(const json::value& collection) {
  const json::value* members = at(collection, "Members");
  return members != nullptr && members->is_array() ? members->get_array().size() : 0;
}

std::string string_of(const json::value& v, std::string_view key) { return text(v, key); }
std::string link_of(const json::value& v, std::string_view key) { return link(v, key); }

std::vector<std::string> member_links(const json::value& collection) {
  std::vector<std::string> out;
  const json::value* members = at(collection, "Members");
  if (members == nullptr || !members->is_array()) return out;
  for (const json::value& m : members->get_array()) {
    const std::string id = text(m, "@odata.id");
    if (!id.empty()) out.push_back(id);
  }
  return out;
}

bool supports_expand(const json::value& root) {
  const json::value* features = at(root, "ProtocolFeaturesSupported");
  const json::value* expand = features ? at(*features, "ExpandQuery") : nullptr;
  if (expand == nullptr) return false;
  const json::value* all = at(*expand, "ExpandAll");
  const json::value* levels = at(*expand, "Levels");
  return (all && all->is_bool() && all->get_bool()) || (levels && levels->is_bool() && levels->get_bool());
}

chassis_links parse_chassis(const json::value& chassis) {
  return {link(chassis, "Sensors"), link(chassis, "Thermal"), link(chassis, "Power"),
          link(chassis, "ThermalSubsystem"), link(chassis, "PowerSubsystem")};
}

std::optional<sensor_def> from_sensor(const std::string& chassis, const json::value& sensor, const std::string& uri) {
  if (!sensor.is_object()) return std::nullopt;
  std::string id = text(sensor, "Id");
  if (id.empty()) return std::nullopt;
  const kind_info k = kind_for(text(sensor, "ReadingType"), text(sensor, "ReadingUnits"));
  sensor_def d;
  d.id = sanitise_id(chassis) + "." + sanitise_id(id);
  d.name = text(sensor, "Name").empty() ? id : text(sensor, "Name");
  d.kind = k.kind;
  d.unit = k.kind == RACKTEL_KIND_OTHER ? text(sensor, "ReadingUnits") : k.unit;
  d.scale = k.scale;
  d.resolution = k.resolution;
  if (auto precision = number(at(sensor, "Precision")); precision && *precision >= 0 && *precision <= 6) {
    d.resolution = std::pow(10.0, -*precision) * k.scale;
  }
  d.location = location_of(chassis, sensor);
  if (const json::value* t = at(sensor, "Thresholds")) {
    // The first of the names the service gives: the plain thresholds, else the
    // user-set ones, else (for critical) the fatal ones.
    auto threshold = [&](std::initializer_list<const char*> names) -> double {
      for (const char* name : names) {
        const json::value* x = at(*t, name);
        const double v = x ? number_or_nan(at(*x, "Reading"), k.scale) : NAN;
        if (!std::isnan(v)) return v;
      }
      return NAN;
    };
    d.warn_low = threshold({"LowerCaution", "LowerCautionUser"});
    d.warn_high = threshold({"UpperCaution", "UpperCautionUser"});
    d.crit_low = threshold({"LowerCritical", "LowerCriticalUser", "LowerFatal"});
    d.crit_high = threshold({"UpperCritical", "UpperCriticalUser", "UpperFatal"});
  }
  d.uri = uri;
  d.pointer = "/Reading";
  return d;
}

std::vector<sensor_def> from_legacy_thermal(const std::string& chassis, const json::value& thermal, const std::string& uri) {
  std::vector<sensor_def> out;
  if (const json::value* temps = at(thermal, "Temperatures"); temps && temps->is_array()) {
    std::size_t i = 0;
    for (const json::value& m : temps->get_array()) {
      if (!has(m, "ReadingCelsius")) {  // a sensor only for a reading the resource has
        ++i;
        continue;
      }
      sensor_def d;
      d.id = sanitise_id(chassis) + ".temp_" + member_name(m, i);
      d.name = text(m, "Name").empty() ? d.id : text(m, "Name");
      d.kind = RACKTEL_KIND_TEMPERATURE;
      d.unit = "Cel";
      d.resolution = 0.1;
      d.location = location_of(chassis, m);
      legacy_thresholds(d, m, 1.0);
      d.uri = uri;
      d.pointer = "/Temperatures/" + std::to_string(i) + "/ReadingCelsius";
      out.push_back(std::move(d));
      ++i;
    }
  }
  if (const json::value* fans = at(thermal, "Fans"); fans && fans->is_array()) {
    std::size_t i = 0;
    for (const json::value& m : fans->get_array()) {
      if (!has(m, "Reading")) {
        ++i;
        continue;
      }
      sensor_def d;
      const bool percent = text(m, "ReadingUnits") == "Percent";
      d.id = sanitise_id(chassis) + ".fan_" + member_name(m, i);
      d.name = text(m, "Name").empty() ? d.id : text(m, "Name");
      d.kind = percent ? RACKTEL_KIND_RATIO : RACKTEL_KIND_FAN_SPEED;
      d.unit = percent ? "%" : "RPM";
      d.resolution = percent ? 0.1 : 1.0;
      d.location = location_of(chassis, m);
      legacy_thresholds(d, m, 1.0);
      d.uri = uri;
      d.pointer = "/Fans/" + std::to_string(i) + "/Reading";
      out.push_back(std::move(d));
      ++i;
    }
  }
  return out;
}

std::vector<sensor_def> from_legacy_power(const std::string& chassis, const json::value& power, const std::string& uri) {
  std::vector<sensor_def> out;
  auto each = [&](const char* array, auto&& add) {
    const json::value* a = at(power, array);
    if (!a || !a->is_array()) return;
    std::size_t i = 0;
    for (const json::value& m : a->get_array()) add(m, i++);
  };
  auto make = [&](const json::value& m, const std::string& id, const char* name_suffix, std::uint32_t kind,
                  const char* unit, double resolution, const std::string& pointer) {
    sensor_def d;
    d.id = sanitise_id(chassis) + "." + id;
    const std::string base = text(m, "Name").empty() ? id : text(m, "Name");
    d.name = base + name_suffix;
    d.kind = kind;
    d.unit = unit;
    d.resolution = resolution;
    d.location = location_of(chassis, m);
    d.uri = uri;
    d.pointer = pointer;
    return d;
  };
  each("PowerControl", [&](const json::value& m, std::size_t i) {
    if (!has(m, "PowerConsumedWatts")) return;
    out.push_back(make(m, "power_" + member_name(m, i), " consumed", RACKTEL_KIND_POWER, "W", 0.1,
                       "/PowerControl/" + std::to_string(i) + "/PowerConsumedWatts"));
  });
  each("Voltages", [&](const json::value& m, std::size_t i) {
    if (!has(m, "ReadingVolts")) return;
    sensor_def d = make(m, "voltage_" + member_name(m, i), "", RACKTEL_KIND_VOLTAGE, "V", 0.001,
                        "/Voltages/" + std::to_string(i) + "/ReadingVolts");
    legacy_thresholds(d, m, 1.0);
    out.push_back(std::move(d));
  });
  each("PowerSupplies", [&](const json::value& m, std::size_t i) {
    const std::string psu = "psu_" + member_name(m, i);
    const std::string base = "/PowerSupplies/" + std::to_string(i) + "/";
    if (has(m, "PowerInputWatts")) {
      out.push_back(make(m, psu + ".input_power", " input power", RACKTEL_KIND_POWER, "W", 0.1, base + "PowerInputWatts"));
    }
    if (has(m, "PowerOutputWatts")) {
      out.push_back(make(m, psu + ".output_power", " output power", RACKTEL_KIND_POWER, "W", 0.1, base + "PowerOutputWatts"));
    }
    if (has(m, "LineInputVoltage")) {
      out.push_back(make(m, psu + ".input_voltage", " input voltage", RACKTEL_KIND_VOLTAGE, "V", 0.1, base + "LineInputVoltage"));
    }
  });
  return out;
}

std::vector<sensor_def> from_thermal_metrics(const std::string& chassis, const json::value& metrics, const std::string& uri) {
  std::vector<sensor_def> out;
  const json::value* readings = at(metrics, "TemperatureReadingsCelsius");
  if (!readings || !readings->is_array()) return out;
  std::size_t i = 0;
  for (const json::value& m : readings->get_array()) {
    if (!has(m, "Reading")) {
      ++i;
      continue;
    }
    sensor_def d;
    std::string name = text(m, "DeviceName");
    d.id = sanitise_id(chassis) + ".temp_" + (name.empty() ? std::to_string(i) : sanitise_id(name));
    d.name = name.empty() ? d.id : name;
    d.kind = RACKTEL_KIND_TEMPERATURE;
    d.unit = "Cel";
    d.resolution = 0.1;
    d.location = location_of(chassis, m);
    d.uri = uri;
    d.pointer = "/TemperatureReadingsCelsius/" + std::to_string(i) + "/Reading";
    out.push_back(std::move(d));
    ++i;
  }
  return out;
}

namespace {

struct excerpt {
  const char* property;
  const char* id;
  const char* name;
  std::uint32_t kind;
  const char* unit;
  double scale;
  double resolution;
  const char* field = "Reading";  // within the excerpt
};

constexpr excerpt psu_excerpts[] = {
    {"InputPowerWatts", "input_power", "input power", RACKTEL_KIND_POWER, "W", 1, 0.1},
    {"OutputPowerWatts", "output_power", "output power", RACKTEL_KIND_POWER, "W", 1, 0.1},
    {"InputVoltage", "input_voltage", "input voltage", RACKTEL_KIND_VOLTAGE, "V", 1, 0.1},
    {"InputCurrentAmps", "input_current", "input current", RACKTEL_KIND_CURRENT, "A", 1, 0.01},
    {"TemperatureCelsius", "temp", "temperature", RACKTEL_KIND_TEMPERATURE, "Cel", 1, 0.1},
    {"EnergykWh", "energy", "energy", RACKTEL_KIND_ENERGY, "J", 3.6e6, 1},
    {"FrequencyHz", "frequency", "frequency", RACKTEL_KIND_OTHER, "Hz", 1, 0.01},
    {"FanSpeedPercent", "fan", "fan speed", RACKTEL_KIND_RATIO, "%", 1, 0.1},
};

constexpr excerpt electrical_excerpts[] = {
    {"CurrentAmps", "current", "current", RACKTEL_KIND_CURRENT, "A", 1, 0.01},
    {"Voltage", "voltage", "voltage", RACKTEL_KIND_VOLTAGE, "V", 1, 0.1},
    {"PowerWatts", "power", "power", RACKTEL_KIND_POWER, "W", 1, 0.1},
    {"EnergykWh", "energy", "energy", RACKTEL_KIND_ENERGY, "J", 3.6e6, 1},
    {"FrequencyHz", "frequency", "frequency", RACKTEL_KIND_OTHER, "Hz", 1, 0.01},
};

constexpr excerpt metrics_excerpts[] = {
    {"PowerWatts", "power", "power", RACKTEL_KIND_POWER, "W", 1, 0.1},
    {"EnergykWh", "energy", "energy", RACKTEL_KIND_ENERGY, "J", 3.6e6, 1},
    {"TemperatureCelsius", "temp", "temperature", RACKTEL_KIND_TEMPERATURE, "Cel", 1, 0.1},
    {"HumidityPercent", "humidity", "humidity", RACKTEL_KIND_RATIO, "%", 1, 0.1},
};

constexpr excerpt connector_excerpts[] = {
    {"SupplyTemperatureCelsius", "supply_temp", "supply temperature", RACKTEL_KIND_TEMPERATURE, "Cel", 1, 0.1},
    {"ReturnTemperatureCelsius", "return_temp", "return temperature", RACKTEL_KIND_TEMPERATURE, "Cel", 1, 0.1},
    {"DeltaTemperatureCelsius", "delta_temp", "temperature difference", RACKTEL_KIND_TEMPERATURE, "Cel", 1, 0.1},
    {"FlowLitersPerMinute", "flow", "flow", RACKTEL_KIND_FLOW, "L/min", 1, 0.01},
    {"SupplyPressurekPa", "supply_pressure", "supply pressure", RACKTEL_KIND_PRESSURE, "kPa", 1, 0.01},
    {"ReturnPressurekPa", "return_pressure", "return pressure", RACKTEL_KIND_PRESSURE, "kPa", 1, 0.01},
    {"DeltaPressurekPa", "delta_pressure", "pressure difference", RACKTEL_KIND_PRESSURE, "kPa", 1, 0.01},
};

constexpr excerpt pump_excerpts[] = {
    {"PumpSpeedPercent", "speed", "speed", RACKTEL_KIND_RATIO, "%", 1, 0.1},
    {"PumpSpeedPercent", "rpm", "speed", RACKTEL_KIND_FAN_SPEED, "RPM", 1, 1, "SpeedRPM"},
};

constexpr excerpt reservoir_excerpts[] = {
    {"FluidLevelPercent", "level", "fluid level", RACKTEL_KIND_RATIO, "%", 1, 0.1},
};

constexpr excerpt fan_excerpts[] = {
    {"SpeedPercent", "speed", "speed", RACKTEL_KIND_RATIO, "%", 1, 0.1},
    {"SpeedPercent", "rpm", "speed", RACKTEL_KIND_FAN_SPEED, "RPM", 1, 1, "SpeedRPM"},
};

// One sensor per excerpt the document has; for a field other than Reading, only when that field is there.
template <std::size_t N>
void add_excerpts(std::vector<sensor_def>& out, const excerpt (&table)[N], const std::string& prefix,
                  const std::string& name, const std::string& location, const json::value& doc,
                  const std::string& uri) {
  for (const excerpt& e : table) {
    const json::value* x = at(doc, e.property);
    if (x == nullptr) continue;
    if (std::string_view(e.field) != "Reading" && !has(*x, e.field)) continue;
    sensor_def d;
    d.id = prefix + "." + e.id;
    d.name = name + " " + e.name;
    d.kind = e.kind;
    d.unit = e.unit;
    d.scale = e.scale;
    d.resolution = e.resolution;
    d.location = location;
    d.uri = uri;
    d.pointer = std::string("/") + e.property + "/" + e.field;
    out.push_back(std::move(d));
  }
}

// Rails: arrays of excerpts, one sensor per rail.
void add_rails(std::vector<sensor_def>& out, const std::string& prefix, const std::string& name,
               const std::string& location, const json::value& doc, const std::string& uri) {
  static constexpr struct {
    const char* property;
    const char* id;
    const char* name;
    std::uint32_t kind;
    const char* unit;
  } rails[] = {{"RailVoltage", "voltage", "voltage", RACKTEL_KIND_VOLTAGE, "V"},
               {"RailCurrentAmps", "current", "current", RACKTEL_KIND_CURRENT, "A"},
               {"RailPowerWatts", "power", "power", RACKTEL_KIND_POWER, "W"}};
  for (const auto& r : rails) {
    const json::value* a = at(doc, r.property);
    if (a == nullptr || !a->is_array()) continue;
    for (std::size_t i = 0; i < a->get_array().size() && i < 64; ++i) {
      sensor_def d;
      d.id = prefix + ".rail" + std::to_string(i) + "_" + r.id;
      d.name = name + " rail " + std::to_string(i) + " " + r.name;
      d.kind = r.kind;
      d.unit = r.unit;
      d.resolution = 0.01;
      d.location = location + ",rail=" + std::to_string(i);
      d.uri = uri;
      d.pointer = std::string("/") + r.property + "/" + std::to_string(i) + "/Reading";
      out.push_back(std::move(d));
    }
  }
}

}  // namespace

std::vector<sensor_def> from_power_supply_metrics(const std::string& owner, const std::string& owner_location,
                                                  const std::string& supply, const json::value& metrics,
                                                  const std::string& uri) {
  std::vector<sensor_def> out;
  const std::string prefix = sanitise_id(owner) + ".psu_" + sanitise_id(supply);
  const std::string location = owner_location + ",psu=" + sanitise_id(supply);
  add_excerpts(out, psu_excerpts, prefix, "PSU " + supply, location, metrics, uri);
  add_rails(out, prefix, "PSU " + supply, location, metrics, uri);
  return out;
}

std::vector<sensor_def> from_fan(const std::string& chassis, const std::string& fan, const json::value& doc,
                                 const std::string& uri) {
  std::vector<sensor_def> out;
  add_excerpts(out, fan_excerpts, sanitise_id(chassis) + ".fan_" + sanitise_id(fan), "fan " + fan,
               "chassis=" + sanitise_id(chassis) + ",fan=" + sanitise_id(fan), doc, uri);
  return out;
}

std::vector<sensor_def> from_equipment(equipment_part part, const std::string& prefix, const std::string& name,
                                       const std::string& location, const json::value& doc, const std::string& uri) {
  std::vector<sensor_def> out;
  switch (part) {
    case equipment_part::distribution_metrics:
    case equipment_part::environment_metrics:
      add_excerpts(out, metrics_excerpts, prefix, name, location, doc, uri);
      break;
    case equipment_part::circuit:
    case equipment_part::outlet:
      add_excerpts(out, electrical_excerpts, prefix, name, location, doc, uri);
      break;
    case equipment_part::coolant_connector: add_excerpts(out, connector_excerpts, prefix, name, location, doc, uri); break;
    case equipment_part::pump: add_excerpts(out, pump_excerpts, prefix, name, location, doc, uri); break;
    case equipment_part::reservoir: {
      add_excerpts(out, reservoir_excerpts, prefix, name, location, doc, uri);
      if (has(doc, "FluidLevelStatus")) {
        sensor_def d;
        d.id = prefix + ".level_status";
        d.name = name + " fluid level status";
        d.kind = RACKTEL_KIND_STATE;
        d.resolution = 1;
        d.location = location;
        d.uri = uri;
        d.pointer = "/FluidLevelStatus";
        d.words = {{"OK", 0}, {"Warning", 1}, {"Critical", 2}};
        d.states = "0=ok,1=warning,2=critical";
        out.push_back(std::move(d));
      }
      break;
    }
    case equipment_part::leak_detector:
      if (has(doc, "DetectorState")) {
        sensor_def d;
        d.id = prefix + ".state";
        d.name = name + " leak detector";
        d.kind = RACKTEL_KIND_STATE;
        d.resolution = 1;
        d.location = location;
        d.uri = uri;
        d.pointer = "/DetectorState";
        d.words = {{"OK", 0}, {"Warning", 1}, {"Critical", 2}};
        d.states = "0=ok,1=warning,2=critical";
        d.warn_high = 0.5;
        d.crit_high = 1.5;
        out.push_back(std::move(d));
      }
      break;
  }
  return out;
}

void index_document(const std::string& uri, const json::value& doc, document_index& index) {
  index[uri] = &doc;
  // An expanded collection carries its members inline.
  if (const json::value* members = at(doc, "Members"); members && members->is_array()) {
    for (const json::value& m : members->get_array()) {
      const std::string id = text(m, "@odata.id");
      if (!id.empty() && m.get_object().size() > 1) index[id] = &m;
    }
  }
}

std::optional<double> value_of(const sensor_def& def, const document_index& documents) {
  auto it = documents.find(def.uri);
  if (it == documents.end()) return std::nullopt;
  boost::system::error_code ec;
  const json::value* v = it->second->find_pointer(def.pointer, ec);
  if (ec || v == nullptr) return std::nullopt;
  // A sensor the service calls absent or disabled has no reading, whatever it prints.
  const std::string parent_pointer = def.pointer.substr(0, def.pointer.rfind('/'));
  const json::value* owner = parent_pointer.empty() ? it->second : it->second->find_pointer(parent_pointer, ec);
  if (owner != nullptr) {
    if (const json::value* status = at(*owner, "Status")) {
      const std::string state = text(*status, "State");
      if (state == "Absent" || state == "Disabled" || state == "UnavailableOffline") return std::nullopt;
    }
  }
  if (v->is_string() && !def.words.empty()) {
    for (const auto& [word, value] : def.words) {
      if (v->get_string() == word) return value;
    }
    return std::nullopt;  // a word the sensor does not know
  }
  auto n = number(v);
  if (!n) return std::nullopt;
  return *n * def.scale;
}

}  // namespace racktel::redfish
