// A lane is a thread that runs driver calls in order, so that a driver that
// blocks stalls only its own lane and never the main loop.
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace racktel {

class lane {
 public:
  explicit lane(std::string name);
  // Stops the lane. Waits briefly for a running job; a job that does not end
  // (a hung driver call) is abandoned with its thread, which then exits on its own.
  ~lane();
  lane(const lane&) = delete;
  lane& operator=(const lane&) = delete;

  void submit(std::function<void()> job);
  const std::string& name() const;

  struct state;  // shared with the thread, which may outlive the lane

 private:
  std::shared_ptr<state> state_;
};

}  // namespace racktel
