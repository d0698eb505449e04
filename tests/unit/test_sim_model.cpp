#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "rack_model.h"

using namespace racktel::sim;

namespace {

std::size_t index_of(const rack_model& m, const std::string& id) {
  const auto& s = m.sensors();
  auto it = std::find_if(s.begin(), s.end(), [&](const sensor_spec& x) { return x.id == id; });
  REQUIRE_MESSAGE(it != s.end(), id);
  return static_cast<std::size_t>(it - s.begin());
}

constexpr double t0 = 1'790'000'000.0;  // a Unix time in 2026

}  // namespace

TEST_CASE("the rack has the TPU v7-style inventory") {
  rack_model m(1, {});
  const auto& s = m.sensors();
  auto count = [&](quantity q) { return std::count_if(s.begin(), s.end(), [&](const sensor_spec& x) { return x.what == q; }); };
  CHECK(count(quantity::chip_die_temp) == 64);
  CHECK(count(quantity::chip_hbm_temp) == 64 * 8);
  CHECK(count(quantity::chip_link_state) == 64 * 6);
  CHECK(count(quantity::tray_flow) == 16);
  CHECK(count(quantity::tray_leak) == 16);
  CHECK(count(quantity::psu_output_power) == shelf_count * psus_per_shelf);
  CHECK(count(quantity::cdu_pump_speed) == 1);
  CHECK(s.size() == 64 * 18 + 16 * 5 + shelf_count * (2 + psus_per_shelf * 5) + 5);
  // Ids are unique and stable.
  std::vector<std::string> ids;
  for (const auto& x : s) ids.push_back(x.id);
  std::sort(ids.begin(), ids.end());
  CHECK(std::adjacent_find(ids.begin(), ids.end()) == ids.end());
  CHECK(s[index_of(m, "chip07.hbm3_temp")].location == "tray=1,chip=7,hbm=3");
}

TEST_CASE("values are a pure function of seed and time") {
  rack_model a(42, {}), b(42, {}), c(43, {});
  bool seed_matters = false;
  for (std::size_t i = 0; i < a.sensors().size(); ++i) {
    CHECK(a.value(i, t0 + 0.1) == b.value(i, t0 + 0.1));
    if (a.value(i, t0) != c.value(i, t0)) seed_matters = true;
  }
  CHECK(seed_matters);
}

TEST_CASE("values are physically plausible") {
  rack_model m(1, {});
  for (double t = t0; t < t0 + 600; t += 7.3) {
    for (int chip = 0; chip < chip_count; ++chip) {
      const double p = m.chip_power(chip, t);
      CHECK((p >= 200.0 && p <= 1000.0));
      const double die = m.chip_die_temp(chip, t);
      CHECK((die > m.tray_inlet_temp(chip / chips_per_tray, t) && die < 90.0));
    }
  }
  double rack_power = 0;
  for (int tray = 0; tray < tray_count; ++tray) rack_power += m.tray_power(tray, t0);
  CHECK((rack_power > 30'000 && rack_power < 80'000));
}

TEST_CASE("coolant outlet = inlet + power / (flow x heat capacity)") {
  rack_model m(3, {});
  for (int tray = 0; tray < tray_count; ++tray) {
    const double kg_per_s = m.tray_flow(tray, t0) / 60.0;
    CHECK(m.tray_outlet_temp(tray, t0) ==
          doctest::Approx(m.tray_inlet_temp(tray, t0) + m.tray_power(tray, t0) / (kg_per_s * 4180.0)));
  }
}

TEST_CASE("shelf input is the trays' power over the PSU efficiency") {
  rack_model m(3, {});
  for (int shelf = 0; shelf < shelf_count; ++shelf) {
    double trays = 0;
    for (int k = 0; k < trays_per_shelf; ++k) trays += m.tray_power(shelf * trays_per_shelf + k, t0);
    CHECK(m.shelf_output_power(shelf, t0) == doctest::Approx(trays));
    const double efficiency = trays / m.shelf_input_power(shelf, t0);
    CHECK((efficiency > 0.9 && efficiency < 0.97));
  }
}

TEST_CASE("temperatures lag power: the die peaks after the power does") {
  rack_model m(5, {});
  // Find the time of the power maximum and the die maximum over one slow period.
  double best_p = -1, best_die = -1, t_p = 0, t_die = 0;
  for (double t = t0; t < t0 + 90; t += 0.05) {
    if (m.chip_power(0, t) > best_p) best_p = m.chip_power(0, t), t_p = t;
    if (m.chip_die_temp(0, t) > best_die) best_die = m.chip_die_temp(0, t), t_die = t;
  }
  const double lag = std::fmod(t_die - t_p + 90.0, 90.0);
  CHECK((lag > 0.5 && lag < 20.0));
}

TEST_CASE("faults: hot chip, stuck sensor, leak, link down, missing tray, read errors") {
  fault_set f;
  f.hot_chips.push_back({12, 30.0});
  f.stuck_sensors.push_back({"chip03.die_temp", 41.5});
  f.leaking_trays.push_back(5);
  f.links_down.push_back({7, 2});
  f.missing_trays.push_back(15);
  f.read_errors.push_back({"chip05.*", 1.0});
  rack_model healthy(1, {}), faulty(1, f);

  CHECK(faulty.chip_die_temp(12, t0) == doctest::Approx(healthy.chip_die_temp(12, t0) + 30.0));
  const std::size_t stuck = index_of(faulty, "chip03.die_temp");
  CHECK(faulty.value(stuck, t0) == 41.5);
  CHECK(faulty.value(stuck, t0 + 1000) == 41.5);
  CHECK(faulty.value(index_of(faulty, "tray05.leak"), t0) == 1.0);
  CHECK(faulty.value(index_of(faulty, "tray04.leak"), t0) == 0.0);
  CHECK(faulty.value(index_of(faulty, "chip07.link2"), t0) == 1.0);
  CHECK(faulty.sensors().size() == healthy.sensors().size() - 4 * 18 - 5);
  CHECK(faulty.tray_power(15, t0) == 0.0);
  CHECK(faulty.shelf_output_power(3, t0) < healthy.shelf_output_power(3, t0));
  CHECK(faulty.read_fails(index_of(faulty, "chip05.power"), 1000));
  CHECK_FALSE(faulty.read_fails(index_of(faulty, "chip06.power"), 1000));
}

TEST_CASE("partial read errors are deterministic per sensor and tick") {
  fault_set f;
  f.read_errors.push_back({"chip*", 0.3});
  rack_model m(9, f);
  rack_model twin(9, f);        // same seed: the same failures at the same ticks
  rack_model other(10, f);      // another seed: another pattern
  const std::size_t i = index_of(m, "chip10.power");
  const std::size_t j = index_of(m, "chip11.power");
  int failures = 0, differ_by_seed = 0, differ_by_sensor = 0;
  for (std::int64_t t = 0; t < 1000; ++t) {
    const bool fails = m.read_fails(i, t * 100);
    CHECK(twin.read_fails(i, t * 100) == fails);
    differ_by_seed += other.read_fails(i, t * 100) != fails ? 1 : 0;
    differ_by_sensor += m.read_fails(j, t * 100) != fails ? 1 : 0;
    failures += fails ? 1 : 0;
  }
  CHECK((failures > 200 && failures < 400));
  CHECK(differ_by_seed > 200);    // independent patterns at p = 0.3 differ at ~42 % of ticks
  CHECK(differ_by_sensor > 200);
}

TEST_CASE("sensor patterns match exactly or by prefix") {
  CHECK(sensor_id_matches("chip05.*", "chip05.power"));
  CHECK(sensor_id_matches("chip05.power", "chip05.power"));
  CHECK_FALSE(sensor_id_matches("chip05.power", "chip05.power2"));
  CHECK_FALSE(sensor_id_matches("chip05.*", "chip50.power"));
  CHECK(sensor_id_matches("*", "anything"));
}
