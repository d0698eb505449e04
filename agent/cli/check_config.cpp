#include <cstdio>

#include "commands.h"
#include "config/config.h"
#include "drivers/validate.h"

namespace racktel::cli {

int check_config(const std::string& path) {
  config_result loaded = load_config_file(path);
  std::vector<config_error> errors = loaded.errors;
  if (loaded.config) {
    const std::string dir = driver_directory(loaded.config->driver_dir);
    auto driver_errors = validate_drivers(*loaded.config, driver_loader(builtin_drivers(), dir), &loaded.warnings);
    errors.insert(errors.end(), driver_errors.begin(), driver_errors.end());
  }
  for (const auto& w : loaded.warnings) std::fprintf(stderr, "%s (warning)\n", w.to_string().c_str());
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
