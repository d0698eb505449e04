#include "delivery_queue.h"

#include <algorithm>

namespace racktel {

void delivery_queue::push(outgoing_batch batch) {
  while (!waiting_.empty() && bytes_ + batch.payload.size() > limit_bytes_) {
    const outgoing_batch& oldest = waiting_.front();
    bytes_ -= oldest.payload.size();
    ++dropped_batches_;
    dropped_readings_ += oldest.readings;
    waiting_.pop_front();
  }
  bytes_ += batch.payload.size();
  insert_waiting(std::move(batch));
}

void delivery_queue::insert_waiting(outgoing_batch batch) {
  auto pos = std::upper_bound(waiting_.begin(), waiting_.end(), batch.sequence,
                              [](std::uint64_t seq, const outgoing_batch& b) { return seq < b.sequence; });
  waiting_.insert(pos, std::move(batch));
}

const outgoing_batch* delivery_queue::send_next() {
  if (waiting_.empty()) return nullptr;
  auto [it, inserted] = in_flight_.emplace(waiting_.front().sequence, std::move(waiting_.front()));
  waiting_.pop_front();
  return &it->second;
}

std::optional<outgoing_batch> delivery_queue::acknowledge(std::uint64_t sequence) {
  auto it = in_flight_.find(sequence);
  if (it == in_flight_.end()) return std::nullopt;
  outgoing_batch batch = std::move(it->second);
  in_flight_.erase(it);
  bytes_ -= batch.payload.size();
  return batch;
}

void delivery_queue::retry(std::uint64_t sequence) {
  auto it = in_flight_.find(sequence);
  if (it == in_flight_.end()) return;
  insert_waiting(std::move(it->second));
  in_flight_.erase(it);
}

void delivery_queue::retry_all_in_flight() {
  for (auto& [sequence, batch] : in_flight_) insert_waiting(std::move(batch));
  in_flight_.clear();
}

void delivery_queue::abandon_all() {
  retry_all_in_flight();
  for (const auto& b : waiting_) {
    ++dropped_batches_;
    dropped_readings_ += b.readings;
  }
  waiting_.clear();
  bytes_ = 0;
}

std::uint64_t delivery_queue::waiting_readings() const {
  std::uint64_t n = 0;
  for (const auto& b : waiting_) n += b.readings;
  return n;
}

}  // namespace racktel
