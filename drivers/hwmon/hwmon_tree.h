// Linux hwmon sysfs, as the kernel documents it (Documentation/hwmon/sysfs-interface):
// one directory per device under a root (/sys/class/hwmon/hwmonN), a `name`
// file, and per channel `<type><n>_input` with optional `_label`, `_min`,
// `_max`, `_crit`, `_lcrit`. The root is a parameter so tests use a tree.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace racktel::hwmon {

// A channel type and its scaling to SI units.
struct channel_type {
  const char* prefix;      // "temp", "in", "curr", "power", "energy", "fan", "pwm"
  std::uint32_t kind;      // racktel_sensor_kind
  const char* unit;
  double scale;            // raw * scale = SI value
  double resolution;       // SI
  const char* input;       // attribute holding the value: "input", or "" for pwmN itself
};

// The channel types racktel reads; nullptr when `prefix` is not one.
const channel_type* find_channel_type(std::string_view prefix);

// "temp1_input" -> {"temp", 1, "input"}; "pwm2" -> {"pwm", 2, ""}; nullopt otherwise.
struct attribute_name {
  std::string type;
  int channel;
  std::string attribute;
};
std::optional<attribute_name> parse_attribute_name(std::string_view file_name);

// Parses a sysfs value ("45000\n"); nullopt when it is not an integer.
std::optional<std::int64_t> parse_sysfs_integer(std::string_view text);

struct channel {
  const channel_type* type;
  int index;
  std::string input_path;
  std::string label;  // from _label, or empty
  double warn_low = NAN, warn_high = NAN, crit_low = NAN, crit_high = NAN;
};

struct device {
  std::string key;   // stable, unique: the name qualified by the parent device, e.g. pmbus_1-0058
  std::string name;  // contents of `name`
  std::string path;  // the hwmonN directory
  std::vector<channel> channels;
};

// Finds every device and channel under `root`, sorted by device key and
// channel. Unreadable files are skipped, never fatal.
std::vector<device> discover(const std::string& root);

}  // namespace racktel::hwmon
