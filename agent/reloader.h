// Live reload requests (SIGHUP, `racktel reload`), coalesced and prepared off
// the main loop.
//
// Reading the file, validating every driver's table and opening the
// instances whose tables changed can take seconds (100 sim models, BMC
// logins): that runs on a thread of its own, while the main loop keeps
// polling and publishing. Only the swap of driver slots runs on the loop.
// Requests that arrive while a reload runs are served together by one more
// reload after it (the file may have changed since the running one read it):
// a SIGHUP storm costs two reloads, not a thousand.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent.h"
#include "common/result_gate.h"
#include "sched/lane.h"

namespace racktel {

class reloader {
 public:
  reloader(agent& a, event_loop& loop, std::string config_file, std::string driver_dir);
  ~reloader();
  reloader(const reloader&) = delete;
  reloader& operator=(const reloader&) = delete;

  // Asks for a reload; `done` (on the loop) gets the report of the reload
  // that covered this request.
  void request(std::function<void(const reload_report&)> done = {});
  bool running() const { return running_; }
  std::uint64_t reloads() const { return reloads_; }

 private:
  struct prepared;
  void start();
  void finish(prepared& result);

  agent& agent_;
  std::string config_file_;
  std::string driver_dir_;
  std::shared_ptr<result_gate> gate_;
  // One thread for every reload: its memory (one malloc arena) is reused, not
  // a new one per reload.
  lane worker_{"reload"};
  bool running_ = false;
  std::vector<std::function<void(const reload_report&)>> current_;  // served by the running reload
  std::vector<std::function<void(const reload_report&)>> next_;     // wait for the one after it
  bool again_ = false;
  std::uint64_t reloads_ = 0;
};

}  // namespace racktel
