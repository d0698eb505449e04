#include "validate.h"

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

}  // namespace racktel
