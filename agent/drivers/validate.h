// Validates every [[drivers]] table by letting its driver check it without
// touching hardware (RACKTEL_OPEN_VALIDATE_ONLY), and the whole file with it:
// one rule for `racktel check-config`, `racktel reload` and the agent's start.
#pragma once

#include <vector>

#include "config/config.h"
#include "drivers/driver_loader.h"

namespace racktel {

// Returns the errors; weaknesses that are not errors go to `warnings` when given.
std::vector<config_error> validate_drivers(const agent_config& config, const driver_loader& loader,
                                           std::vector<config_error>* warnings = nullptr);

// Loads a configuration file and checks it entirely: the agent's keys and
// every enabled driver's table, all errors in file order. ok() means the
// agent may start on it. `loader` defaults to the file's driver_dir. The
// drivers' warnings go to `driver_warnings` when given (an agent that opens
// the drivers hears them again then).
config_result check_configuration(const std::string& path, const driver_loader* loader = nullptr,
                                  std::vector<config_error>* driver_warnings = nullptr);

}  // namespace racktel
