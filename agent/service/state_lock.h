// One agent per state directory. Two agents sharing a spool would interleave
// segments and acknowledge each other's batches; two sharing a status socket
// would answer for each other. The first agent holds an exclusive lock on
// <state_dir>/agent.lock (with its pid inside) for as long as it runs; a
// second one refuses to start. The kernel drops the lock when the process
// dies, however it dies, so a crash never leaves a stale lock behind.
#pragma once

#include <string>

namespace racktel {

class state_lock {
 public:
  // Creates the directory if needed. Throws std::runtime_error saying which
  // process holds the lock, or why the lock file cannot be made.
  explicit state_lock(const std::string& state_dir);
  ~state_lock();
  state_lock(const state_lock&) = delete;
  state_lock& operator=(const state_lock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace racktel
