// How a driver spares a device that stopped answering: after repeated
// failures it skips 1, 2, 4, then 8 reads, so a dead device costs one timeout
// now and then instead of one per read, and is tried again soon enough to
// notice it came back.
#pragma once

#include <algorithm>

namespace racktel::drivers {

class device_backoff {
 public:
  // True when this read should pass the device by (its readings are errors).
  bool skip_this_read() {
    if (skip_ == 0) return false;
    --skip_;
    return true;
  }
  void failed() {
    ++failures_;
    skip_ = failures_ >= 2 ? std::min(8U, 1U << std::min(failures_ - 2, 3U)) : 0;
  }
  // Returns true when the device had been failing (worth a log line).
  bool succeeded() {
    const bool was_failing = failures_ > 0;
    failures_ = 0;
    skip_ = 0;
    return was_failing;
  }
  unsigned failures() const { return failures_; }

 private:
  unsigned failures_ = 0;  // consecutive failed reads
  unsigned skip_ = 0;      // reads left to skip
};

}  // namespace racktel::drivers
