// Runs the agent until SIGTERM or SIGINT: the body of racktel-agent.
#pragma once

#include "config/config.h"

namespace racktel {

struct daemon_options {
  // Accept `test-stall <ms>` on the status socket: blocks the main loop, so
  // tests can check that the systemd watchdog stops being fed. Never in production.
  bool test_hooks = false;
};

// Returns the process exit code.
int run_agent(const agent_config& config, const daemon_options& options = {});

}  // namespace racktel
