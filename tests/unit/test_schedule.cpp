#include <doctest/doctest.h>

#include "sched/sensor_health.h"
#include "sched/tick_schedule.h"

using namespace racktel;
using std::chrono::milliseconds;

namespace {
wall_clock::time_point at_ms(std::int64_t ms) { return wall_clock::time_point(milliseconds(ms)); }
}  // namespace

TEST_CASE("ticks align to multiples of the interval since the epoch") {
  CHECK(next_aligned_tick(at_ms(1'000'050), milliseconds(100)) == at_ms(1'000'100));
  CHECK(next_aligned_tick(at_ms(1'000'099), milliseconds(100)) == at_ms(1'000'100));
  // Exactly on a tick: the next one, never the same instant twice.
  CHECK(next_aligned_tick(at_ms(1'000'100), milliseconds(100)) == at_ms(1'000'200));
  CHECK(next_aligned_tick(at_ms(1'000'001), milliseconds(1000)) == at_ms(1'001'000));
}

TEST_CASE("a late tick counts the whole ticks it skipped") {
  CHECK(ticks_missed(at_ms(1000), at_ms(1000), milliseconds(100)) == 0);
  CHECK(ticks_missed(at_ms(1000), at_ms(1099), milliseconds(100)) == 0);
  CHECK(ticks_missed(at_ms(1000), at_ms(1100), milliseconds(100)) == 1);
  CHECK(ticks_missed(at_ms(1000), at_ms(1350), milliseconds(100)) == 3);
  CHECK(ticks_missed(at_ms(1000), at_ms(900), milliseconds(100)) == 0);
}

TEST_CASE("a sensor that keeps failing becomes stale, and recovers on a good read") {
  sensor_health health(3);
  health.resize(2);
  CHECK(health.observe(0, RACKTEL_READING_ERROR) == RACKTEL_READING_ERROR);
  CHECK(health.observe(0, RACKTEL_READING_TIMEOUT) == RACKTEL_READING_TIMEOUT);
  CHECK(health.observe(0, RACKTEL_READING_ERROR) == RACKTEL_READING_STALE);
  CHECK(health.observe(0, RACKTEL_READING_ERROR) == RACKTEL_READING_STALE);
  CHECK(health.consecutive_failures(0) == 4);
  // Other sensors are independent.
  CHECK(health.observe(1, RACKTEL_READING_ERROR) == RACKTEL_READING_ERROR);
  CHECK(health.observe(0, RACKTEL_READING_OK) == RACKTEL_READING_OK);
  CHECK(health.consecutive_failures(0) == 0);
  CHECK(health.observe(0, RACKTEL_READING_ERROR) == RACKTEL_READING_ERROR);
}

TEST_CASE("an out-of-range reading has a value and does not count as a failure") {
  sensor_health health(1);
  health.resize(1);
  CHECK(health.observe(0, RACKTEL_READING_OUT_OF_RANGE) == RACKTEL_READING_OUT_OF_RANGE);
  CHECK(health.consecutive_failures(0) == 0);
  CHECK(health.observe(0, RACKTEL_READING_ERROR) == RACKTEL_READING_STALE);
}
