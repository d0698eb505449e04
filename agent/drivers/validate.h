// Validates every [[drivers]] table by letting its driver check it without
// touching hardware (RACKTEL_OPEN_VALIDATE_ONLY). Used by `racktel check-config`.
#pragma once

#include <vector>

#include "config/config.h"
#include "drivers/driver_loader.h"

namespace racktel {

// Returns the errors; weaknesses that are not errors go to `warnings` when given.
std::vector<config_error> validate_drivers(const agent_config& config, const driver_loader& loader,
                                           std::vector<config_error>* warnings = nullptr);

}  // namespace racktel
