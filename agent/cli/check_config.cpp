#include <cstdio>

#include "commands.h"
#include "config/config.h"
#include "drivers/validate.h"

namespace racktel::cli {

int check_config(const std::string& path) {
  std::vector<config_error> driver_warnings;
  config_result loaded = check_configuration(path, nullptr, &driver_warnings);
  const std::vector<config_error>& errors = loaded.errors;
  for (const auto* list : {&loaded.warnings, &driver_warnings}) {
    for (const auto& w : *list) std::fprintf(stderr, "%s (warning)\n", w.to_string().c_str());
  }
  for (const auto& e : errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
  if (!errors.empty()) {
    std::fprintf(stderr, "%s: %zu error(s)\n", path.c_str(), errors.size());
    return 1;
  }
  std::printf("%s: OK (site %s, rack %s, %zu driver instance(s))\n", path.c_str(),
              loaded.config->site.c_str(), loaded.config->rack.c_str(), loaded.config->drivers.size());
  return 0;
}

}  // namespace racktel::cli
