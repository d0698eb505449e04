// Runs the agent until SIGTERM or SIGINT: the body of racktel-agent.
#pragma once

#include "config/config.h"

namespace racktel {

struct daemon_options {
  // Accept `test-stall <ms>` on the status socket: blocks the main loop, so
  // tests can check that the systemd watchdog stops being fed. Only debug
  // builds (RACKTEL_TEST_HOOKS) have it; release builds do not know the flag.
  bool test_hooks = false;
};

// Returns the process exit code.
int run_agent(const agent_config& config, const daemon_options& options = {});

}  // namespace racktel
