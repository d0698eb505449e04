// A lane is a thread that runs driver calls in order, so that a driver that
// blocks stalls only its own lane and never the main loop.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace racktel {

class lane {
 public:
  explicit lane(std::string name);
  // Stops the lane without waiting: the thread finishes the job it is running
  // (if any), drops the rest and exits. A job that never ends (a hung driver
  // call) keeps only its own thread; nothing else waits for it.
  ~lane();
  lane(const lane&) = delete;
  lane& operator=(const lane&) = delete;

  void submit(std::function<void()> job);
  const std::string& name() const;

  // Asks the thread to stop after its current job (as the destructor does).
  void request_stop();
  // Waits until the thread has exited or `deadline` passes; true when it
  // exited. Request every lane's stop first, then wait for each with one
  // deadline: lanes then finish in parallel, not one after another.
  bool wait_until(std::chrono::steady_clock::time_point deadline);

  struct state;  // shared with the thread, which may outlive the lane

 private:
  std::shared_ptr<state> state_;
};

}  // namespace racktel
