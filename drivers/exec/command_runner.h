// Runs one command for the exec driver and collects what it prints, so that
// nothing of it outlives the read.
//
// A small reaper process stands between the agent and the command:
//
//   agent (lane thread) ── fork ──► reaper ── fork + exec ──► command ──► whatever it starts
//
// The reaper is a child subreaper (PR_SET_CHILD_SUBREAPER): a process the
// command leaves behind, even one that daemonized with setsid and a double
// fork, is re-parented to the reaper rather than to init. When the command
// exits, or when the agent gives up on it (deadline, cancel, too much
// output: SIGTERM to the reaper), the reaper kills its whole remaining tree
// and only then exits. The reaper is in turn killed when the lane thread that
// started it dies (PR_SET_PDEATHSIG), so an agent that crashes leaves nothing
// either. Process groups alone cannot do this: `setsid` leaves the group.
//
// The child gets only its three standard descriptors (stdin is /dev/null),
// the environment it is given, and default signal dispositions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace racktel::exec {

struct command_spec {
  std::vector<std::string> argv;         // argv[0] is looked up in the environment's PATH
  std::vector<std::string> environment;  // "NAME=value", the child's whole environment
  std::size_t max_output = 1U << 20U;    // stdout beyond this is a failure
  std::size_t max_stderr = 16U << 10U;   // stderr beyond this is cut (and said so)
};

struct command_result {
  std::string out;
  std::string err;
  bool err_truncated = false;
  // The kernel (or an emulator such as qemu-user) refused PR_SET_CHILD_SUBREAPER:
  // only the command's process group was killed, not daemons that left it.
  bool no_subreaper = false;
  std::string failure;  // why the run produced no usable output; empty when it did
};

// Blocks until the command has exited (or has been killed) and every process
// it started is gone. `cancel` becomes non-zero when the host stops waiting.
command_result run_command(const command_spec& spec, std::int64_t deadline_ns, const volatile int* cancel);

// The environment a command gets: PATH and LC_ALL=C, then `pass` (names
// copied from the agent's own environment when set there), then `set`
// ("NAME=value", which wins over both).
std::vector<std::string> command_environment(const std::vector<std::string>& pass,
                                             const std::vector<std::string>& set);

}  // namespace racktel::exec
