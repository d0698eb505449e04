#include <doctest/doctest.h>

#include "store/sensor_history.h"

using namespace racktel;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t t0 = 1'796'000'000'000;  // a step boundary (5 s)

std::vector<std::pair<std::int64_t, double>> values_of(const std::vector<sensor_history::point>& points) {
  std::vector<std::pair<std::int64_t, double>> out;
  for (const auto& p : points) out.emplace_back(p.time_ms, p.value ? *p.value : -1.0);
  return out;
}

}  // namespace

TEST_CASE("history: the last reading of each step, on the sensor's quantum, oldest first") {
  sensor_history h(5s, 4);
  h.resize(2);
  h.record(0, t0 + 100, true, 57.83, 0.1);
  h.record(0, t0 + 4900, true, 57.91, 0.1);  // same step: the later wins
  h.record(0, t0 + 5000, true, 58.04, 0.1);
  const auto points = h.read(0, 0.1, t0 + 5000);
  REQUIRE(points.size() == 2);
  CHECK(points[0].time_ms == t0);
  CHECK(*points[0].value == 57.9);  // the decimal's nearest double, not 57.900000000000006
  CHECK(*points[1].value == 58.0);
  CHECK(h.read(1, 0.1, t0 + 5000).empty());  // never read
}

TEST_CASE("history: a failed read is a point without a value; a step with no read is no point") {
  sensor_history h(5s, 4);
  h.resize(1);
  h.record(0, t0, true, 10, 1);
  h.record(0, t0 + 5000, false, 0, 1);
  h.record(0, t0 + 15000, true, 12, 1);  // the step at +10 s read nothing
  const auto points = h.read(0, 1, t0 + 15000);
  REQUIRE(points.size() == 3);
  CHECK(points[1].failed);
  CHECK_FALSE(points[1].value);
  CHECK(points[2].time_ms == t0 + 15000);
}

TEST_CASE("history: a ring holds `steps` steps; older ones fall out, a long gap empties it") {
  sensor_history h(5s, 4);
  h.resize(1);
  for (int i = 0; i < 6; ++i) h.record(0, t0 + i * 5000, true, i, 1);
  CHECK(values_of(h.read(0, 1, t0 + 25000)) ==
        std::vector<std::pair<std::int64_t, double>>{{t0 + 10000, 2}, {t0 + 15000, 3}, {t0 + 20000, 4}, {t0 + 25000, 5}});
  // Nothing read for a while: what is older than the window is not shown...
  CHECK(values_of(h.read(0, 1, t0 + 35000)) ==
        std::vector<std::pair<std::int64_t, double>>{{t0 + 20000, 4}, {t0 + 25000, 5}});
  // ...and a reading after a gap longer than the ring leaves only itself.
  h.record(0, t0 + 100000, true, 9, 1);
  CHECK(values_of(h.read(0, 1, t0 + 100000)) == std::vector<std::pair<std::int64_t, double>>{{t0 + 100000, 9}});
}

TEST_CASE("history: the clock set back past the ring starts the sensor over") {
  sensor_history h(5s, 4);
  h.resize(1);
  h.record(0, t0 + 60000, true, 1, 1);
  h.record(0, t0, true, 2, 1);
  CHECK(values_of(h.read(0, 1, t0)) == std::vector<std::pair<std::int64_t, double>>{{t0, 2}});
  // A late reading inside the window fills its own step.
  h.record(0, t0 + 10000, true, 3, 1);
  h.record(0, t0 + 5000, true, 4, 1);
  CHECK(values_of(h.read(0, 1, t0 + 10000)) ==
        std::vector<std::pair<std::int64_t, double>>{{t0, 2}, {t0 + 5000, 4}, {t0 + 10000, 3}});
}

TEST_CASE("history: values past 31 bits of quanta are kept at the bound, not wrapped") {
  sensor_history h(5s, 4);
  h.resize(1);
  h.record(0, t0, true, 1e12, 0.001);
  const auto points = h.read(0, 0.001, t0);
  REQUIRE(points.size() == 1);
  CHECK(*points[0].value == doctest::Approx(2147483.647));
  h.record(0, t0 + 5000, true, -1e12, 0.001);
  CHECK(*h.read(0, 0.001, t0 + 5000)[1].value < -2147483.0);
  CHECK_FALSE(h.read(0, 0.001, t0 + 5000)[1].failed);
}

TEST_CASE("history: a catalog change keeps the pasts of the sensors that stay") {
  sensor_history h(5s, 4);
  h.resize(3);
  for (std::size_t i = 0; i < 3; ++i) h.record(i, t0, true, static_cast<double>(i + 1), 1);
  // Sensor 0 goes, 2 moves to the front, a new one arrives at the end.
  h.remap({2, 1, sensor_history::npos});
  CHECK(h.sensors() == 3);
  CHECK(*h.read(0, 1, t0)[0].value == 3);
  CHECK(*h.read(1, 1, t0)[0].value == 2);
  CHECK(h.read(2, 1, t0).empty());
  CHECK(h.memory_bytes() == 3 * (4 * 4 + 8));
}

TEST_CASE("history: the default budget is 180 steps of 5 s, 728 bytes a sensor") {
  sensor_history h;
  h.resize(1365);
  CHECK(h.span() == 15min);
  CHECK(h.memory_bytes() == 1365 * (180 * 4 + 8));
}
