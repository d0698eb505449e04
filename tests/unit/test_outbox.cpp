#include <doctest/doctest.h>

#include "publish/outbox.h"

using namespace racktel;

namespace {
outgoing_batch batch(std::uint64_t seq, std::size_t bytes, std::uint32_t readings = 10, bool durable = false,
                     bool backlog = false) {
  return {seq, 1, readings, std::string(bytes, 'x'), 0, durable, backlog};
}
}  // namespace

TEST_CASE("batches go out oldest first and leave on acknowledgement") {
  outbox q(1000);
  q.push(batch(1, 100));
  q.push(batch(2, 100));
  CHECK(q.memory_bytes() == 200);
  outgoing_batch* first = q.send_next_live();
  REQUIRE(first != nullptr);
  CHECK(first->sequence == 1);
  CHECK(q.in_flight() == 1);
  CHECK(q.waiting() == 1);
  auto acked = q.acknowledge(1);
  REQUIRE(acked);
  CHECK(acked->readings == 10);
  CHECK(q.memory_bytes() == 100);
  CHECK_FALSE(q.acknowledge(1));  // a second PUBACK for the same batch changes nothing
}

TEST_CASE("live and backlog are separate queues") {
  outbox q(10000);
  q.push(batch(1, 10, 10, true, true));
  q.push(batch(2, 10, 10, true, true));
  q.push(batch(3, 10));
  CHECK(q.send_next_live()->sequence == 3);
  CHECK(q.send_next_live() == nullptr);
  CHECK(q.send_next_backlog()->sequence == 1);
  CHECK(q.waiting_backlog() == 1);
}

TEST_CASE("a failed publish goes back as backlog in sequence order") {
  outbox q(1000);
  q.push(batch(1, 10));
  q.push(batch(2, 10));
  q.push(batch(3, 10));
  q.send_next_live();
  q.send_next_live();
  q.retry(2);
  q.retry(1);
  CHECK(q.send_next_live()->sequence == 3);
  CHECK(q.send_next_backlog()->sequence == 1);
  outgoing_batch* again = q.send_next_backlog();
  CHECK(again->sequence == 2);
  CHECK(again->backlog);
}

TEST_CASE("a lost connection returns everything in flight and makes waiting batches backlog") {
  outbox q(1000);
  for (std::uint64_t s = 1; s <= 4; ++s) q.push(batch(s, 10));
  q.send_next_live();
  q.send_next_live();
  q.retry_all_in_flight();
  q.make_all_backlog();
  CHECK(q.in_flight() == 0);
  CHECK(q.waiting_backlog() == 4);
  CHECK(q.waiting_live() == 0);
  CHECK(q.send_next_backlog()->sequence == 1);
  CHECK(q.memory_bytes() == 40);
}

TEST_CASE("over the memory limit, batches not in the spool are dropped oldest first and counted") {
  outbox q(300);
  q.push(batch(1, 100, 7));
  q.push(batch(2, 100, 8));
  q.push(batch(3, 100, 9));
  q.push(batch(4, 100, 5));
  CHECK(q.dropped_batches() == 1);
  CHECK(q.dropped_readings() == 7);
  CHECK(q.send_next_live()->sequence == 2);
  CHECK(q.memory_bytes() == 300);
  CHECK(q.waiting_readings() == 14);
}

TEST_CASE("over the memory limit, batches in the spool only give up their in-memory copy") {
  outbox q(250);
  q.push(batch(1, 100, 7, true));
  q.push(batch(2, 100, 8, true));
  q.push(batch(3, 100, 9, true));
  CHECK(q.dropped_batches() == 0);
  CHECK(q.memory_bytes() == 200);
  outgoing_batch* oldest = q.send_next_live();
  CHECK(oldest->sequence == 1);
  CHECK(oldest->payload.empty());  // to be read back from the spool
  CHECK(oldest->payload_size == 100);
}

TEST_CASE("a batch the spool dropped is counted wherever it was") {
  outbox q(1000);
  q.push(batch(1, 10, 3, true, true));
  q.push(batch(2, 10, 4, true));
  q.send_next_live();
  q.drop(1);
  q.drop(2);
  q.drop(99);
  CHECK(q.dropped_batches() == 2);
  CHECK(q.dropped_readings() == 7);
  CHECK(q.waiting() + q.in_flight() == 0);
}

TEST_CASE("stopping loses only what the spool does not hold") {
  outbox q(1000);
  q.push(batch(1, 100, 3, true));
  q.push(batch(2, 100, 4, false));
  q.push(batch(3, 100, 5, false));
  q.send_next_live();
  q.send_next_live();
  CHECK(q.abandon_not_durable() == 9);
  CHECK(q.dropped_batches() == 2);
  CHECK(q.waiting() == 1);
  CHECK(q.in_flight() == 0);
}

#include "store/batch_builder.h"

TEST_CASE("a batch is due when it reaches max_readings, is held encoded, and sequences count up") {
  sensor_catalog catalog;
  catalog.sensors.resize(3);
  const std::vector<scan> scans{{1000, {{0, 0, 1.0}, {1, 0, 2.0}}}, {1100, {{0, 0, 1.0}, {1, 0, 2.0}, {2, 0, 3.0}}}};
  batch_builder b(5);
  CHECK(b.empty());
  CHECK_FALSE(b.add(scans[0], catalog));
  CHECK(b.add(scans[1], catalog));
  CHECK(b.readings() == 5);
  CHECK(b.first_time_ms() == 1000);
  const batch_header header{7, {}, b.next_sequence(), false};
  CHECK(header.sequence == 1);
  // Scan by scan, the same bytes as encoding the whole batch at once.
  CHECK(b.take(header) == encode_data_batch(header, scans, catalog));
  CHECK(b.empty());
  CHECK(b.readings() == 0);
  CHECK(b.next_sequence() == 2);
  // The next batch starts its running values afresh: it decodes on its own.
  b.add(scans[1], catalog);
  CHECK(b.take(header) == encode_data_batch(header, {scans[1]}, catalog));
}
