#include "poller.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace racktel {
namespace {

std::int64_t to_ms(wall_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::int64_t monotonic_ns_after(std::chrono::milliseconds d) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             (std::chrono::steady_clock::now() + d).time_since_epoch())
      .count();
}

}  // namespace

poller::poller(event_loop& loop, std::shared_ptr<driver_instance> instance, lane& lane,
               scan_handler on_scan)
    : loop_(loop),
      instance_(std::move(instance)),
      lane_(lane),
      on_scan_(std::move(on_scan)),
      catalog_(instance_->initial_catalog()),
      gate_(std::make_shared<result_gate>(loop)) {
  groups_.resize(catalog_->groups.size());
  stats_.resize(catalog_->groups.size());
}

poller::~poller() {
  gate_->close();
  cancel_reads();  // a read still running is not wanted any more: let the driver give up
}

void poller::cancel_reads() {
  for (group_state& g : groups_) {
    if (g.in_flight) g.in_flight->cancel->store(1);
  }
}

void poller::start() {
  const auto now = wall_clock::now();
  for (std::uint32_t g = 0; g < groups_.size(); ++g) {
    schedule(g, next_aligned_tick(now, catalog_->groups[g].interval));
  }
}

void poller::schedule(std::uint32_t group, wall_clock::time_point due) {
  groups_[group].next_due = due;
  groups_[group].tick_timer = loop_.at(due, [this, group] { on_tick(group); });
}

void poller::on_tick(std::uint32_t group) {
  group_state& g = groups_[group];
  const read_group& rg = catalog_->groups[group];
  const wall_clock::time_point due = g.next_due;
  const auto now = wall_clock::now();
  // Next tick on the clock grid; a loop stalled past whole ticks skips them rather than bursting.
  const std::int64_t missed = ticks_missed(due, now, rg.interval);
  schedule(group, due + rg.interval * (missed + 1));
  if (missed > 0) {
    // The loop was late (a long reload, an overloaded controller): the ticks it
    // slept through are not sampled, and say so, rather than leaving a gap.
    stats_[group].skipped_ticks += static_cast<std::uint64_t>(missed);
    constexpr std::int64_t reported_at_most = 50;
    for (std::int64_t k = std::max<std::int64_t>(0, missed - reported_at_most); k < missed; ++k) {
      emit_without_values(group, to_ms(due + rg.interval * k), RACKTEL_READING_TIMEOUT, true);
    }
  }

  const wall_clock::time_point tick = due + rg.interval * missed;  // the tick being read now
  const std::int64_t time_ms = to_ms(tick);
  if (g.in_flight) {
    // The previous read has not returned (it is past its deadline or about to be).
    ++stats_[group].skipped_ticks;
    emit_without_values(group, time_ms, RACKTEL_READING_TIMEOUT);
    return;
  }
  pending_read& read = g.in_flight.emplace();
  read.id = next_read_id_++;
  read.time_ms = time_ms;
  read.cancel = std::make_shared<std::atomic<int>>(0);
  read.returned_ns = std::make_shared<std::atomic<std::int64_t>>(0);
  const std::uint64_t id = read.id;
  // The deadline runs from the scheduled instant, not from when the lane gets to it.
  const auto remaining = std::max(std::chrono::milliseconds(1),
                                  std::chrono::duration_cast<std::chrono::milliseconds>(tick + rg.deadline - now));
  read.deadline = loop_.after(remaining, [this, group, id] { on_deadline(group, id); });
  read.deadline_ns = monotonic_ns_after(remaining);

  lane_.submit([instance = instance_, gate = gate_, cancel = read.cancel, returned = read.returned_ns, group, id, this,
                sample_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(tick.time_since_epoch()).count(),
                deadline_ns = read.deadline_ns]() mutable {
    read_outcome outcome = instance->read(group, sample_ns, deadline_ns, *cancel);
    returned->store(monotonic_ns_after(std::chrono::milliseconds(0)));
    // `this` is used only on the loop, and only while the gate is open: the
    // poller closes it (on the loop) when it is destroyed.
    gate->post([this, gate, group, id, outcome = std::move(outcome)]() mutable {
      if (gate->is_open()) on_result(group, id, std::move(outcome));
    });
  });
}

void poller::on_deadline(std::uint32_t group, std::uint64_t read_id) {
  group_state& g = groups_[group];
  if (!g.in_flight || g.in_flight->id != read_id || g.in_flight->expired) return;
  // The driver returned in time and its result waits behind this timer (the
  // loop was held up): it is on time, and on_result takes it as such.
  const std::int64_t returned = g.in_flight->returned_ns->load();
  if (returned != 0 && returned <= g.in_flight->deadline_ns) return;
  g.in_flight->expired = true;
  g.in_flight->cancel->store(1);
  ++stats_[group].timeouts;
  if (stats_[group].timeouts == 1 || stats_[group].timeouts % 100 == 0) {
    spdlog::warn("driver {}: group {} missed its {} ms deadline ({} times so far)", instance_->name(),
                 catalog_->groups[group].name, catalog_->groups[group].deadline.count(),
                 stats_[group].timeouts);
  }
  emit_without_values(group, g.in_flight->time_ms, RACKTEL_READING_TIMEOUT);
}

void poller::on_result(std::uint32_t group, std::uint64_t read_id, read_outcome outcome) {
  group_state& g = groups_[group];
  if (!g.in_flight || g.in_flight->id != read_id) return;
  pending_read read = std::move(*g.in_flight);
  g.in_flight.reset();
  read.deadline.reset();

  std::shared_ptr<instance_catalog> changed = outcome.new_catalog;
  if (read.expired) {
    ++stats_[group].late_results;
    if (changed) {
      catalog_ = changed;
      on_scan_(instance_scan{group, read.time_ms, {}, changed});
    }
    return;
  }
  const instance_catalog& catalog = changed ? *changed : *catalog_;
  if (changed) catalog_ = changed;
  if (group >= catalog.groups.size()) return;

  // One sample per member, in sensor order; members the driver left out are errors.
  const auto& members = catalog.groups[group].members;
  instance_scan result{group, read.time_ms, {}, changed};
  result.samples.reserve(members.size());
  for (std::uint32_t m : members) result.samples.push_back({m, RACKTEL_READING_ERROR, 0.0});
  std::sort(result.samples.begin(), result.samples.end(),
            [](const racktel_sample& a, const racktel_sample& b) { return a.sensor < b.sensor; });
  const bool failed = outcome.driver_failed;
  if (failed) {
    ++stats_[group].driver_failures;
  } else {
    for (const racktel_sample& s : outcome.samples) {
      auto it = std::lower_bound(result.samples.begin(), result.samples.end(), s.sensor,
                                 [](const racktel_sample& a, std::uint32_t idx) { return a.sensor < idx; });
      if (it == result.samples.end() || it->sensor != s.sensor) continue;  // not of this group
      // Drivers may not claim host-only statuses.
      it->status = s.status <= RACKTEL_READING_OUT_OF_RANGE && s.status != RACKTEL_READING_TIMEOUT
                       ? s.status
                       : static_cast<std::uint32_t>(RACKTEL_READING_ERROR);
      it->value = s.value;
    }
  }
  // A failed read is a failure in every count: not a read, and not "last ok".
  stats_[group].last_poll_ms = read.time_ms;
  if (!failed) {
    ++stats_[group].reads;
    stats_[group].last_ok_ms = read.time_ms;
  }
  on_scan_(std::move(result));
}

void poller::emit_without_values(std::uint32_t group, std::int64_t time_ms, std::uint32_t status, bool not_sampled) {
  instance_scan result{group, time_ms, {}, nullptr, not_sampled};
  for (std::uint32_t m : catalog_->groups[group].members) result.samples.push_back({m, status, 0.0});
  std::sort(result.samples.begin(), result.samples.end(),
            [](const racktel_sample& a, const racktel_sample& b) { return a.sensor < b.sensor; });
  stats_[group].last_poll_ms = time_ms;
  on_scan_(std::move(result));
}

}  // namespace racktel
