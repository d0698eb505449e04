// Polls one driver instance: one clock-aligned schedule per read group, each
// read run on the instance's lane under a deadline.
//
// Every tick yields exactly one scan: the driver's readings if it answered in
// time; otherwise TIMEOUT for each sensor of the group. A result arriving
// after its deadline is dropped and counted, never published late. While a
// read is still running (a hung driver), further ticks of that group are
// skipped, counted, and reported as TIMEOUT, so the lane never piles up work.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "common/event_loop.h"
#include "common/result_gate.h"
#include "drivers/driver_instance.h"
#include "sched/lane.h"
#include "sched/tick_schedule.h"

namespace racktel {

struct group_stats {
  std::uint64_t reads = 0;            // answered in time, and not a failure
  std::uint64_t timeouts = 0;         // deadline passed
  std::uint64_t late_results = 0;     // arrived after the deadline, dropped
  std::uint64_t skipped_ticks = 0;    // the previous read was still running
  std::uint64_t driver_failures = 0;  // read returned FAILED (a command that failed, a device that did not answer)
  std::int64_t last_poll_ms = 0;      // sample time of the last completed scan
  std::int64_t last_ok_ms = 0;        // sample time of the last scan answered in time
};

// One completed tick of one group, with instance-local sensor indices, sorted.
struct instance_scan {
  std::uint32_t group = 0;
  std::int64_t time_ms = 0;
  std::vector<racktel_sample> samples;
  // The sensor set changed: its catalog, whose sensors the agent takes.
  std::shared_ptr<instance_catalog> new_catalog;
  // A tick the agent itself did not sample (its loop was held up past it):
  // reported as TIMEOUT readings, but no sign that a sensor fails.
  bool not_sampled = false;
};

class poller {
 public:
  using scan_handler = std::function<void(instance_scan)>;

  poller(event_loop& loop, std::shared_ptr<driver_instance> instance, lane& lane, scan_handler on_scan);
  ~poller();
  poller(const poller&) = delete;
  poller& operator=(const poller&) = delete;

  void start();
  // Sets the cancel flag of every read in progress (the driver sees it through
  // racktel_read_request.cancel). Destruction does the same.
  void cancel_reads();
  const std::vector<group_stats>& stats() const { return stats_; }
  const instance_catalog& catalog() const { return *catalog_; }
  const driver_instance& instance() const { return *instance_; }

 private:
  struct pending_read {
    std::uint64_t id = 0;
    std::int64_t time_ms = 0;
    bool expired = false;
    std::shared_ptr<std::atomic<int>> cancel;
    // When the driver returned (steady clock, ns; 0 while it reads), set by the
    // lane: a read that returned in time is not late because the loop was.
    std::shared_ptr<std::atomic<std::int64_t>> returned_ns;
    std::int64_t deadline_ns = 0;
    std::unique_ptr<timer_handle> deadline;
  };
  struct group_state {
    std::unique_ptr<timer_handle> tick_timer;
    wall_clock::time_point next_due;
    std::optional<pending_read> in_flight;
  };

  void schedule(std::uint32_t group, wall_clock::time_point due);
  void on_tick(std::uint32_t group);
  void on_deadline(std::uint32_t group, std::uint64_t read_id);
  void on_result(std::uint32_t group, std::uint64_t read_id, read_outcome outcome);
  void emit_without_values(std::uint32_t group, std::int64_t time_ms, std::uint32_t status, bool not_sampled = false);

  event_loop& loop_;
  std::shared_ptr<driver_instance> instance_;
  lane& lane_;
  scan_handler on_scan_;
  std::shared_ptr<const instance_catalog> catalog_;
  std::vector<group_state> groups_;
  std::vector<group_stats> stats_;
  std::shared_ptr<result_gate> gate_;
  std::uint64_t next_read_id_ = 1;
};

}  // namespace racktel
