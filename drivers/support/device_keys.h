// What every device table of a "what to read is a profile" driver (modbus,
// snmp) has: a name that prefixes its sensors' ids, location labels, and the
// profile file. Read and checked in one place, errors against their keys.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "racktel/driver.h"

namespace racktel::drivers {

inline bool valid_device_name(const std::string& s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

inline std::int64_t monotonic_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

struct device_keys {
  std::string name;
  std::string location;
  std::string profile_path;
  std::string profile_text;
  bool profile_read = false;  // false: it could not be read (an error is recorded)
};

// Reads `<prefix>name`, `location` and `profile` (and the profile's text).
// `taken` are the names of the devices before it. False after an error.
inline bool read_device_keys(const racktel_config* config, const std::string& prefix,
                             const std::vector<std::string>& taken, const char* profile_example, device_keys& out) {
  bool ok = true;
  const char* v = nullptr;
  if (config->get_string(config->ctx, (prefix + "name").c_str(), &v) == 1) out.name = v;
  if (!valid_device_name(out.name)) {
    config->error(config->ctx, (prefix + "name").c_str(), "expected a name of 1-64 letters, digits, '_', '.' or '-'");
    ok = false;
  } else if (std::find(taken.begin(), taken.end(), out.name) != taken.end()) {
    config->error(config->ctx, (prefix + "name").c_str(), "two devices with one name");
    ok = false;
  }
  if (config->get_string(config->ctx, (prefix + "location").c_str(), &v) == 1) out.location = v;
  if (config->get_string(config->ctx, (prefix + "profile").c_str(), &v) != 1) {
    config->error(config->ctx, (prefix + "profile").c_str(),
                  (std::string("expected the path of a profile such as \"") + profile_example + "\"").c_str());
    return false;
  }
  out.profile_path = v;
  std::ifstream in(out.profile_path);
  if (!in) {
    config->error(config->ctx, (prefix + "profile").c_str(), ("cannot read the profile " + out.profile_path).c_str());
    return false;
  }
  std::stringstream text;
  text << in.rdbuf();
  out.profile_text = text.str();
  out.profile_read = true;
  return ok;
}

}  // namespace racktel::drivers
