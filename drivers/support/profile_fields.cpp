#include "support/profile_fields.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "racktel/driver.h"

namespace racktel::drivers {

const std::set<std::string, std::less<>> sensor_field_keys{
    "id",       "name",      "scale",    "offset",    "unit",  "kind", "location", "resolution",
    "warn_low", "warn_high", "crit_low", "crit_high", "states"};

namespace {

const std::map<std::string, std::uint32_t, std::less<>> kinds{
    {"other", RACKTEL_KIND_OTHER},     {"temperature", RACKTEL_KIND_TEMPERATURE}, {"power", RACKTEL_KIND_POWER},
    {"voltage", RACKTEL_KIND_VOLTAGE}, {"current", RACKTEL_KIND_CURRENT},         {"energy", RACKTEL_KIND_ENERGY},
    {"flow", RACKTEL_KIND_FLOW},       {"pressure", RACKTEL_KIND_PRESSURE},       {"fan_speed", RACKTEL_KIND_FAN_SPEED},
    {"ratio", RACKTEL_KIND_RATIO},     {"state", RACKTEL_KIND_STATE}};

}  // namespace

bool valid_sensor_id(std::string_view id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' || c == ':';
  });
}

void profile_reader::error(const toml::node& node, const std::string& message) {
  const auto& where = node.source();
  errors_.push_back(source_ + ":" + std::to_string(where.begin.line) + ":" + std::to_string(where.begin.column) + ": " +
                    message);
}

std::optional<toml::table> profile_reader::parse(std::string_view text) {
  try {
    return toml::parse(text, source_);
  } catch (const toml::parse_error& e) {
    errors_.push_back(source_ + ":" + std::to_string(e.source().begin.line) + ":" +
                      std::to_string(e.source().begin.column) + ": TOML syntax error: " + std::string(e.description()));
    return std::nullopt;
  }
}

void profile_reader::check_keys(const toml::table& t, const std::set<std::string, std::less<>>& own,
                                std::string_view where) {
  for (const auto& [key, node] : t) {
    if (!own.contains(key.str()) && !sensor_field_keys.contains(key.str())) {
      error(node, "unknown key \"" + std::string(key.str()) + "\" in " + std::string(where));
    }
  }
}

sensor_fields profile_reader::read_sensor_fields(const toml::table& t, std::set<std::string>& ids,
                                                 std::string_view default_kind) {
  sensor_fields s;
  if (auto id = get<std::string>(t, "id", "a string")) s.id = *id;
  if (!valid_sensor_id(s.id)) {
    error(t, "each sensor needs an \"id\" of 1-64 letters, digits, '_', '.', '-' or ':'");
  } else if (!ids.insert(s.id).second) {
    error(*t.get("id"), "a second sensor with the id \"" + s.id + "\"");
  }
  s.name = get<std::string>(t, "name", "a string").value_or(s.id);
  s.scale = get<double>(t, "scale", "a number").value_or(1.0);
  s.offset = get<double>(t, "offset", "a number").value_or(0.0);
  if (!std::isfinite(s.scale) || s.scale == 0 || !std::isfinite(s.offset)) {
    error(t, "\"scale\" must be finite and not 0, \"offset\" finite");
  }
  s.unit = get<std::string>(t, "unit", "a string").value_or("");
  const std::string kind = get<std::string>(t, "kind", "a string").value_or(std::string(default_kind));
  if (auto k = kinds.find(kind); k != kinds.end()) {
    s.kind = k->second;
  } else {
    error(t.get("kind") != nullptr ? *t.get("kind") : static_cast<const toml::node&>(t),
          "\"kind\" must be one of temperature, power, voltage, current, energy, flow, pressure, fan_speed, ratio, "
          "state, other");
  }
  s.location = get<std::string>(t, "location", "a string like \"loop=primary\"").value_or("");
  s.resolution =
      get<double>(t, "resolution", "a number").value_or(s.kind == RACKTEL_KIND_STATE ? 1.0 : std::abs(s.scale));
  if (!(s.resolution > 0) || !std::isfinite(s.resolution)) error(t, "\"resolution\" must be above 0");
  s.warn_low = get<double>(t, "warn_low", "a number");
  s.warn_high = get<double>(t, "warn_high", "a number");
  s.crit_low = get<double>(t, "crit_low", "a number");
  s.crit_high = get<double>(t, "crit_high", "a number");
  s.states = get<std::string>(t, "states", "a string like \"0=ok,1=leak\"").value_or("");
  return s;
}

}  // namespace racktel::drivers
