#include "lane.h"

#include <pthread.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace racktel {

// Shared with the thread so that an abandoned thread never touches freed memory.
struct lane::state {
  std::string name;
  std::mutex mutex;
  std::condition_variable wake;
  std::condition_variable exited_cv;
  std::deque<std::function<void()>> jobs;
  bool stopping = false;
  bool exited = false;
};

namespace {

void run(const std::shared_ptr<lane::state>& s) {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(s->mutex);
      s->wake.wait(lock, [&] { return s->stopping || !s->jobs.empty(); });
      if (s->stopping) break;
      job = std::move(s->jobs.front());
      s->jobs.pop_front();
    }
    job();
  }
  std::lock_guard lock(s->mutex);
  s->jobs.clear();
  s->exited = true;
  s->exited_cv.notify_all();
}

}  // namespace

lane::lane(std::string name) : state_(std::make_shared<state>()) {
  state_->name = std::move(name);
  std::thread thread([s = state_] { run(s); });
  // Thread names show in top -H and gdb; the kernel keeps 15 characters.
  pthread_setname_np(thread.native_handle(), ("lane:" + state_->name).substr(0, 15).c_str());
  thread.detach();
}

lane::~lane() { request_stop(); }

void lane::request_stop() {
  std::lock_guard lock(state_->mutex);
  state_->stopping = true;
  state_->wake.notify_all();
}

bool lane::wait_until(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(state_->mutex);
  return state_->exited_cv.wait_until(lock, deadline, [&] { return state_->exited; });
}

void lane::submit(std::function<void()> job) {
  std::lock_guard lock(state_->mutex);
  state_->jobs.push_back(std::move(job));
  state_->wake.notify_one();
}

const std::string& lane::name() const { return state_->name; }

}  // namespace racktel
