#include <doctest/doctest.h>

#include "publish/delivery_queue.h"

using namespace racktel;

namespace {
outgoing_batch batch(std::uint64_t seq, std::size_t bytes, std::uint32_t readings = 10) {
  return {seq, std::string(bytes, 'x'), readings};
}
}  // namespace

TEST_CASE("batches go out oldest first and leave on acknowledgement") {
  delivery_queue q(1000);
  q.push(batch(1, 100));
  q.push(batch(2, 100));
  CHECK(q.bytes() == 200);
  const outgoing_batch* first = q.send_next();
  REQUIRE(first != nullptr);
  CHECK(first->sequence == 1);
  CHECK(q.in_flight() == 1);
  CHECK(q.waiting() == 1);
  auto acked = q.acknowledge(1);
  REQUIRE(acked);
  CHECK(acked->readings == 10);
  CHECK(q.bytes() == 100);
  CHECK_FALSE(q.acknowledge(1));  // a second PUBACK for the same batch changes nothing
}

TEST_CASE("a failed publish goes back in sequence order") {
  delivery_queue q(1000);
  q.push(batch(1, 10));
  q.push(batch(2, 10));
  q.push(batch(3, 10));
  q.send_next();
  q.send_next();
  q.retry(2);
  q.retry(1);
  CHECK(q.send_next()->sequence == 1);
  CHECK(q.send_next()->sequence == 2);
  CHECK(q.send_next()->sequence == 3);
}

TEST_CASE("a lost connection returns everything in flight") {
  delivery_queue q(1000);
  for (std::uint64_t s = 1; s <= 4; ++s) q.push(batch(s, 10));
  q.send_next();
  q.send_next();
  q.retry_all_in_flight();
  CHECK(q.in_flight() == 0);
  CHECK(q.waiting() == 4);
  CHECK(q.send_next()->sequence == 1);
  CHECK(q.bytes() == 40);
}

TEST_CASE("over the byte limit the oldest waiting batches are dropped and counted") {
  delivery_queue q(300);
  q.push(batch(1, 100, 7));
  q.push(batch(2, 100, 8));
  q.push(batch(3, 100, 9));
  q.push(batch(4, 100, 5));
  CHECK(q.dropped_batches() == 1);
  CHECK(q.dropped_readings() == 7);
  CHECK(q.send_next()->sequence == 2);
  CHECK(q.bytes() == 300);
  CHECK(q.waiting_readings() == 14);
}

TEST_CASE("abandoning at shutdown counts everything still held as dropped") {
  delivery_queue q(1000);
  q.push(batch(1, 100, 3));
  q.push(batch(2, 100, 4));
  q.push(batch(3, 100, 5));
  q.send_next();
  q.abandon_all();
  CHECK(q.dropped_batches() == 3);
  CHECK(q.dropped_readings() == 12);
  CHECK(q.bytes() == 0);
  CHECK(q.waiting() == 0);
  CHECK(q.in_flight() == 0);
}

TEST_CASE("batches in flight are never dropped") {
  delivery_queue q(200);
  q.push(batch(1, 100));
  q.push(batch(2, 100));
  q.send_next();
  q.send_next();
  q.push(batch(3, 100));  // nothing waiting to drop: it is kept, the limit is exceeded briefly
  CHECK(q.dropped_batches() == 0);
  CHECK(q.in_flight() == 2);
  q.push(batch(4, 100));  // now batch 3 is the oldest waiting one
  CHECK(q.dropped_batches() == 1);
  CHECK(q.send_next()->sequence == 4);
}

#include "store/batch_builder.h"

TEST_CASE("a batch is due when it reaches max_readings, and sequences count up") {
  batch_builder b(5);
  CHECK(b.empty());
  CHECK_FALSE(b.add({1000, {{0, 0, 1.0}, {1, 0, 2.0}}}));
  CHECK(b.add({1100, {{0, 0, 1.0}, {1, 0, 2.0}, {2, 0, 3.0}}}));
  CHECK(b.readings() == 5);
  auto scans = b.take();
  CHECK(scans.size() == 2);
  CHECK(b.empty());
  CHECK(b.readings() == 0);
  CHECK(b.next_sequence() == 1);
  CHECK(b.next_sequence() == 2);
}
