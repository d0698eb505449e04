// Runs the agent until SIGTERM or SIGINT: the body of racktel-agent.
#pragma once

#include "config/config.h"

namespace racktel {

// Returns the process exit code.
int run_agent(const agent_config& config);

}  // namespace racktel
