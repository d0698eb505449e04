// What every "what to read is data" profile says about one sensor (a Modbus
// register, an SNMP column or scalar): its id, name, kind, unit, scaling,
// limits and state words, read from a TOML table with errors that name
// file:line:column. Shared by the modbus and snmp profile readers.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace racktel::drivers {

struct sensor_fields {
  std::string id;        // unique within the device: "supply_temp"
  std::string name;      // for people
  double scale = 1.0;    // value = raw * scale + offset
  double offset = 0.0;
  std::string unit;
  std::uint32_t kind = 0;  // racktel_sensor_kind
  std::string location;    // "loop=secondary,pump=1"
  double resolution = 1.0;
  std::optional<double> warn_low, warn_high, crit_low, crit_high;
  std::string states;      // "0=ok,1=leak" for a state sensor
};

// The keys read_sensor_fields understands, for a caller's unknown-key check.
extern const std::set<std::string, std::less<>> sensor_field_keys;

// Collects errors as "file:line:column: message".
class profile_reader {
 public:
  profile_reader(std::string source, std::vector<std::string>& errors) : source_(std::move(source)), errors_(errors) {}

  void error(const toml::node& node, const std::string& message);
  void error(const std::string& message) { errors_.push_back(source_ + ": " + message); }
  std::size_t error_count() const { return errors_.size(); }

  template <typename T>
  std::optional<T> get(const toml::table& t, std::string_view key, const char* expected) {
    const toml::node* node = t.get(key);
    if (node == nullptr) return std::nullopt;
    if (auto v = node->value<T>()) return *v;
    error(*node, "expected \"" + std::string(key) + "\" to be " + expected);
    return std::nullopt;
  }

  // Parses a whole profile; nullopt (with the error recorded) on a syntax error.
  std::optional<toml::table> parse(std::string_view text);

  // Reports every key of `t` that is neither in `own` nor a sensor field.
  void check_keys(const toml::table& t, const std::set<std::string, std::less<>>& own, std::string_view where);

  // id (required, unique in `ids`), name, scale/offset, unit, kind, location,
  // resolution, limits, states. `default_kind` applies when "kind" is absent.
  sensor_fields read_sensor_fields(const toml::table& t, std::set<std::string>& ids, std::string_view default_kind);

 private:
  std::string source_;
  std::vector<std::string>& errors_;
};

bool valid_sensor_id(std::string_view id);

}  // namespace racktel::drivers
