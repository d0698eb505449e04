// The main loop as the agent's components see it: post work, arm timers.
// One implementation wraps Boost.Asio (asio_event_loop.cpp) so that Asio is
// compiled in as few translation units as possible; every call and every
// callback happens on the loop's one thread unless noted.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

namespace racktel {

// Cancels its timer when destroyed or reset.
class timer_handle {
 public:
  virtual ~timer_handle() = default;
  virtual void cancel() = 0;
};

class event_loop {
 public:
  virtual ~event_loop() = default;
  // Run `work` on the loop thread. Safe to call from any thread.
  virtual void post(std::function<void()> work) = 0;
  // Run `work` once after `delay` (steady clock).
  virtual std::unique_ptr<timer_handle> after(std::chrono::milliseconds delay,
                                              std::function<void()> work) = 0;
  // Run `work` once at wall-clock instant `when`; for ticks aligned to the clock.
  virtual std::unique_ptr<timer_handle> at(std::chrono::system_clock::time_point when,
                                           std::function<void()> work) = 0;
};

}  // namespace racktel
