// Batches waiting for the broker, bounded in bytes. Pure bookkeeping: the
// publisher decides when to send; this decides what, and what to drop.
//
// A batch is either waiting or in flight (sent, no PUBACK yet). A PUBACK
// removes it; a failure or a lost connection puts it back in sequence order.
// When a new batch would exceed the byte limit the oldest waiting batches are
// dropped first and every reading in them is counted; in-flight batches are
// never dropped, since the broker may already have them.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

namespace racktel {

struct outgoing_batch {
  std::uint64_t sequence = 0;
  std::string payload;
  std::uint32_t readings = 0;
};

class delivery_queue {
 public:
  explicit delivery_queue(std::uint64_t limit_bytes) : limit_bytes_(limit_bytes) {}

  void push(outgoing_batch batch);
  // The oldest waiting batch, now in flight.
  const outgoing_batch* send_next();
  // PUBACK with success: the batch is delivered. Returns it (for counting), if it was in flight.
  std::optional<outgoing_batch> acknowledge(std::uint64_t sequence);
  // A failed publish: back to waiting, in order.
  void retry(std::uint64_t sequence);
  // Connection lost: everything in flight waits again.
  void retry_all_in_flight();
  // Shutting down without a broker to take them: every batch still held is dropped and counted.
  void abandon_all();

  std::size_t waiting() const { return waiting_.size(); }
  std::size_t in_flight() const { return in_flight_.size(); }
  std::uint64_t bytes() const { return bytes_; }
  std::uint64_t dropped_batches() const { return dropped_batches_; }
  std::uint64_t dropped_readings() const { return dropped_readings_; }
  std::uint64_t waiting_readings() const;

 private:
  void insert_waiting(outgoing_batch batch);

  std::uint64_t limit_bytes_;
  std::deque<outgoing_batch> waiting_;  // sorted by sequence
  std::map<std::uint64_t, outgoing_batch> in_flight_;
  std::uint64_t bytes_ = 0;
  std::uint64_t dropped_batches_ = 0;
  std::uint64_t dropped_readings_ = 0;
};

}  // namespace racktel
