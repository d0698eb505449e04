// Lets other threads (lanes, diagnostic threads) post work to the main loop
// only while the object that wants the result still exists. The owner closes
// the gate (on the loop) when it goes away; a thread that finishes later
// posts nothing, and work already posted checks is_open() before touching
// its owner.
#pragma once

#include <functional>
#include <mutex>

#include "common/event_loop.h"

namespace racktel {

class result_gate {
 public:
  explicit result_gate(event_loop& loop) : loop_(&loop) {}
  void post(std::function<void()> work);
  void close();
  bool is_open();

 private:
  std::mutex mutex_;
  event_loop* loop_;
};

}  // namespace racktel
