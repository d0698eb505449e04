#include "outbox.h"

#include <algorithm>

namespace racktel {

void outbox::push(outgoing_batch batch) {
  batch.payload_size = static_cast<std::uint32_t>(std::max<std::size_t>(batch.payload_size, batch.payload.size()));
  memory_bytes_ += batch.payload.size();
  const std::uint64_t seq = batch.sequence;
  (batch.backlog ? backlog_ : live_)[seq] = std::move(batch);
  enforce_memory_limit();
}

void outbox::count_drop(const outgoing_batch& b) {
  ++dropped_batches_;
  dropped_readings_ += b.readings;
  memory_bytes_ -= b.payload.size();
}

void outbox::enforce_memory_limit() {
  // Oldest first across both queues: backlog batches are older than live ones.
  for (queue* q : {&backlog_, &live_}) {
    for (auto it = q->begin(); it != q->end() && memory_bytes_ > limit_bytes_;) {
      outgoing_batch& b = it->second;
      if (b.durable) {
        memory_bytes_ -= b.payload.size();
        std::string().swap(b.payload);  // the spool has it
        ++it;
      } else if (!b.payload.empty()) {
        count_drop(b);
        it = q->erase(it);
      } else {
        ++it;
      }
    }
  }
}

void outbox::mark_not_durable(std::uint64_t sequence) {
  for (queue* q : {&live_, &backlog_, &in_flight_}) {
    if (auto it = q->find(sequence); it != q->end()) it->second.durable = false;
  }
}

outgoing_batch* outbox::take(queue& from) {
  if (from.empty()) return nullptr;
  auto node = from.extract(from.begin());
  auto result = in_flight_.insert(std::move(node));
  return &result.position->second;
}

outgoing_batch* outbox::send_next_live() { return take(live_); }
outgoing_batch* outbox::send_next_backlog() { return take(backlog_); }

std::optional<outgoing_batch> outbox::acknowledge(std::uint64_t sequence) {
  auto it = in_flight_.find(sequence);
  if (it == in_flight_.end()) return std::nullopt;
  outgoing_batch b = std::move(it->second);
  in_flight_.erase(it);
  memory_bytes_ -= b.payload.size();
  return b;
}

void outbox::retry(std::uint64_t sequence) {
  auto it = in_flight_.find(sequence);
  if (it == in_flight_.end()) return;
  auto node = in_flight_.extract(it);
  node.mapped().backlog = true;
  backlog_.insert(std::move(node));
}

void outbox::retry_all_in_flight() {
  while (!in_flight_.empty()) retry(in_flight_.begin()->first);
}

void outbox::make_all_backlog() {
  while (!live_.empty()) {
    auto node = live_.extract(live_.begin());
    node.mapped().backlog = true;
    backlog_.insert(std::move(node));
  }
}

void outbox::drop(std::uint64_t sequence) {
  for (queue* q : {&backlog_, &live_, &in_flight_}) {
    if (auto it = q->find(sequence); it != q->end()) {
      count_drop(it->second);
      q->erase(it);
      return;
    }
  }
}

std::uint64_t outbox::abandon_not_durable() {
  const std::uint64_t before = dropped_readings_;
  retry_all_in_flight();
  for (queue* q : {&backlog_, &live_}) {
    for (auto it = q->begin(); it != q->end();) {
      if (!it->second.durable) {
        count_drop(it->second);
        it = q->erase(it);
      } else {
        ++it;
      }
    }
  }
  return dropped_readings_ - before;
}

std::uint64_t outbox::waiting_readings() const {
  std::uint64_t n = 0;
  for (const queue* q : {&backlog_, &live_}) {
    for (const auto& [seq, b] : *q) n += b.readings;
  }
  return n;
}

}  // namespace racktel
