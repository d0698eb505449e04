#include "result_gate.h"

namespace racktel {

void result_gate::post(std::function<void()> work) {
  std::lock_guard lock(mutex_);
  if (loop_ != nullptr) loop_->post(std::move(work));
}

bool result_gate::is_open() {
  std::lock_guard lock(mutex_);
  return loop_ != nullptr;
}

void result_gate::close() {
  std::lock_guard lock(mutex_);
  loop_ = nullptr;
}

}  // namespace racktel
