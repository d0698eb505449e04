// A secret in a driver's config: given inline as `<name>` or, better, as
// `<name>_file` naming a file whose first line it is (credentials stay out of
// the config file and its backups). Never both.
#pragma once

#include <fstream>
#include <string>

#include "racktel/driver.h"

namespace racktel::drivers {

// Reads `<prefix><name>` or `<prefix><name>_file` into `secret`; returns false
// after recording a config error. `present` tells whether either was given.
inline bool read_secret(const racktel_config* config, const std::string& prefix, const std::string& name,
                        std::string& secret, bool* present = nullptr) {
  const char* inline_value = nullptr;
  const char* file = nullptr;
  const std::string key = prefix + name;
  const std::string file_key = key + "_file";
  const int has_inline = config->get_string(config->ctx, key.c_str(), &inline_value);
  const int has_file = config->get_string(config->ctx, file_key.c_str(), &file);
  if (present != nullptr) *present = has_inline == 1 || has_file == 1;
  if (has_inline < 0 || has_file < 0) return false;
  if (has_inline == 1 && has_file == 1) {
    config->error(config->ctx, file_key.c_str(), ("give either \"" + name + "\" or \"" + name + "_file\"").c_str());
    return false;
  }
  if (has_inline == 1) secret = inline_value;
  if (has_file == 1) {
    std::ifstream in(file);
    if (!in || !std::getline(in, secret)) {
      config->error(config->ctx, file_key.c_str(), ("cannot read the " + name + " from \"" + std::string(file) + "\"").c_str());
      return false;
    }
  }
  return true;
}

}  // namespace racktel::drivers
