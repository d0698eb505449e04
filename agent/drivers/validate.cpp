#include "validate.h"

#include <algorithm>
#include <tuple>

#include "drivers/driver_instance.h"

namespace racktel {

std::vector<config_error> validate_drivers(const agent_config& config, const driver_loader& loader,
                                           std::vector<config_error>* warnings) {
  std::vector<config_error> errors;
  for (const driver_config& d : config.drivers) {
    if (!d.enabled) continue;
    const int line = static_cast<int>(d.table->source().begin.line);
    const int column = static_cast<int>(d.table->source().begin.column);
    load_result loaded = loader.load(d.type, d.module);
    if (!loaded.driver) {
      errors.push_back({d.source_file, line, column, "driver \"" + d.name + "\": " + loaded.error});
      continue;
    }
    auto opened = driver_instance::open(d, std::move(*loaded.driver), RACKTEL_OPEN_VALIDATE_ONLY);
    errors.insert(errors.end(), opened.errors.begin(), opened.errors.end());
    if (warnings) warnings->insert(warnings->end(), opened.warnings.begin(), opened.warnings.end());
    if (!opened.instance && opened.errors.empty()) {
      errors.push_back({d.source_file, line, column, "driver \"" + d.name + "\": " + opened.failure});
    }
  }
  return errors;
}

config_result check_configuration(const std::string& path, const driver_loader* loader,
                                  std::vector<config_error>* driver_warnings) {
  config_result result = load_config_file(path);
  if (result.config) {
    std::optional<driver_loader> own;
    if (loader == nullptr) loader = &own.emplace(builtin_drivers(), driver_directory(result.config->driver_dir));
    auto driver_errors = validate_drivers(*result.config, *loader, driver_warnings);
    result.errors.insert(result.errors.end(), driver_errors.begin(), driver_errors.end());
  }
  const auto position = [](const config_error& e) { return std::tie(e.file, e.line, e.column); };
  std::stable_sort(result.errors.begin(), result.errors.end(),
                   [&](const config_error& a, const config_error& b) { return position(a) < position(b); });
  return result;
}

}  // namespace racktel
