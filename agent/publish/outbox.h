// Batches on their way to the broker. Pure bookkeeping: the publisher decides
// when to send; this decides what, and what is lost when memory runs out.
//
// A batch is live (made while the broker was reachable: sent at once) or
// backlog (made or left over while it was not, or found in the spool at
// start: sent oldest first at the replay rate, flagged as replayed). It is
// waiting or in flight; a PUBACK removes it, a failure or a lost connection
// puts it back as backlog, in sequence order.
//
// Payloads held in memory are bounded in bytes. Over the bound, a batch that
// is safe in the spool ("durable") only gives up its in-memory copy and is
// read back from disk when sent; one that is not is dropped, oldest first, and
// every reading in it is counted.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace racktel {

struct outgoing_batch {
  std::uint64_t sequence = 0;
  std::uint64_t catalog_version = 0;
  std::uint32_t readings = 0;
  std::string payload;            // empty when only the spool has it
  std::uint32_t payload_size = 0;
  bool durable = false;           // in the spool
  bool backlog = false;
};

class outbox {
 public:
  explicit outbox(std::uint64_t memory_limit_bytes) : limit_bytes_(memory_limit_bytes) {}

  void push(outgoing_batch batch);
  // The oldest waiting live batch, or the oldest waiting backlog batch; now in flight.
  outgoing_batch* send_next_live();
  outgoing_batch* send_next_backlog();
  std::optional<outgoing_batch> acknowledge(std::uint64_t sequence);
  void retry(std::uint64_t sequence);
  void retry_all_in_flight();  // the connection is gone
  void make_all_backlog();     // nothing waiting is live any more
  // The spool could not make it durable after all (a failed sync): it counts
  // as held in memory only from now on.
  void mark_not_durable(std::uint64_t sequence);
  // The spool dropped it to stay under its cap: gone, and counted.
  void drop(std::uint64_t sequence);
  // Stopping: what is not in the spool is lost; count it. Returns the readings lost.
  std::uint64_t abandon_not_durable();

  std::size_t waiting() const { return live_.size() + backlog_.size(); }
  std::size_t waiting_backlog() const { return backlog_.size(); }
  std::size_t waiting_live() const { return live_.size(); }
  std::size_t in_flight() const { return in_flight_.size(); }
  std::uint64_t memory_bytes() const { return memory_bytes_; }
  std::uint64_t dropped_batches() const { return dropped_batches_; }
  std::uint64_t dropped_readings() const { return dropped_readings_; }
  std::uint64_t waiting_readings() const;

 private:
  using queue = std::map<std::uint64_t, outgoing_batch>;  // by sequence
  outgoing_batch* take(queue& from);
  void count_drop(const outgoing_batch& b);
  void enforce_memory_limit();

  std::uint64_t limit_bytes_;
  queue live_;
  queue backlog_;
  queue in_flight_;
  std::uint64_t memory_bytes_ = 0;
  std::uint64_t dropped_batches_ = 0;
  std::uint64_t dropped_readings_ = 0;
};

}  // namespace racktel
