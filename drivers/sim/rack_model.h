// The simulated accelerator rack: a TPU v7 "Ironwood"-style rack of 64 chips
// in a 4x4x4 cube on 16 trays, with power shelves and a coolant distribution
// unit. Pure: every value is a closed-form function of (seed, time), so tests
// can predict exactly what the driver reports.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace racktel::sim {

inline constexpr int chips_per_tray = 4;
inline constexpr int tray_count = 16;
inline constexpr int chip_count = chips_per_tray * tray_count;
inline constexpr int hbm_stacks_per_chip = 8;
inline constexpr int links_per_chip = 6;
inline constexpr int shelf_count = 4;
inline constexpr int psus_per_shelf = 6;
inline constexpr int trays_per_shelf = tray_count / shelf_count;

// Read groups, in the order the driver reports them.
enum class group : std::uint32_t { power = 0, thermal = 1, status = 2 };
inline constexpr std::uint32_t group_count = 3;

// Which physical quantity a sensor reports. `unit` picks the chip, tray,
// shelf, PSU or link it belongs to.
enum class quantity : std::uint8_t {
  chip_die_temp,
  chip_hbm_temp,
  chip_power,
  chip_vcore,
  chip_duty,
  chip_link_state,
  tray_inlet_temp,
  tray_outlet_temp,
  tray_flow,
  tray_leak,
  tray_host_cpu_temp,
  shelf_input_power,
  shelf_output_power,
  psu_input_power,
  psu_output_power,
  psu_output_voltage,
  psu_output_current,
  psu_status,
  cdu_supply_temp,
  cdu_return_temp,
  cdu_flow,
  cdu_pressure,
  cdu_pump_speed,
};
inline constexpr std::size_t quantity_count = static_cast<std::size_t>(quantity::cdu_pump_speed) + 1;

struct sensor_spec {
  std::string id;        // stable: "chip07.hbm3_temp"
  std::string name;      // "chip 7 HBM stack 3 temperature"
  std::uint32_t kind;    // racktel_sensor_kind
  std::string unit;
  std::string location;  // "tray=1,chip=7"
  double resolution;
  double warn_high;      // NaN when none
  double crit_high;
  double range_min;      // measurable range; outside it the reading is out of range
  double range_max;
  group read_group;
  quantity what;
  int index;             // chip, tray, shelf or global PSU index
  int sub;               // HBM stack, link number; 0 otherwise
  std::string states{};  // a state sensor's values in words: "0=up,1=down"
};

// Injected faults, from the driver's `faults` array in the config.
struct fault_set {
  struct hot_chip { int chip; double extra_celsius; };
  struct stuck_sensor { std::string sensor; std::optional<double> value; };
  struct read_error_rate { std::string sensor; double probability; };  // sensor: id or "prefix*"
  struct link_down { int chip; int link; };

  std::vector<hot_chip> hot_chips;
  std::vector<stuck_sensor> stuck_sensors;
  std::vector<int> missing_trays;
  std::vector<read_error_rate> read_errors;
  std::vector<int> leaking_trays;
  std::vector<link_down> links_down;
  std::uint32_t slow_read_ms = 0;   // every read takes this long (honours cancel)
  std::uint32_t hung_read_ms = 0;   // every read blocks this long, ignoring cancel
};

// True when `id` matches `pattern`: equal, or a prefix when the pattern ends in '*'.
bool sensor_id_matches(const std::string& pattern, const std::string& id);

class rack_model {
 public:
  rack_model(std::uint64_t seed, fault_set faults);

  std::size_t sensor_count() const { return sensors_.size(); }
  // Sensor `i` as described to the host, built when asked: the model keeps
  // 6 bytes a sensor (what it measures and where), not its text.
  sensor_spec spec(std::size_t i) const;
  std::vector<sensor_spec> sensors() const;  // every spec, built on demand (tests and tools)
  // The description of a sensor of quantity `what` on chip, tray, shelf or
  // global PSU `index` (HBM stack or link `sub`): the one place the sim's
  // names, units and limits are written down.
  static sensor_spec describe(quantity what, int index, int sub);
  group read_group(std::size_t i) const { return facts_[static_cast<std::size_t>(sensors_[i].what)].read_group; }
  // Whether `value` is within the sensor's measurable range.
  bool in_range(std::size_t i, double value) const;
  const fault_set& faults() const { return faults_; }
  std::uint64_t seed() const { return seed_; }

  // The physical value of sensor `i` at Unix time `t` (seconds), before any
  // read fault. Stuck sensors return their stuck value.
  double value(std::size_t i, double t) const;
  // Whether the reading of sensor `i` at scheduled time `t_ms` fails with a read error.
  bool read_fails(std::size_t i, std::int64_t t_ms) const;

  // The coupled physical model, exposed for tests and documentation.
  double chip_utilisation(int chip, double t) const;
  double chip_power(int chip, double t) const;  // W
  double chip_die_temp(int chip, double t) const;
  double chip_hbm_temp(int chip, int stack, double t) const;
  double tray_power(int tray, double t) const;  // chips + host, W
  double tray_inlet_temp(int tray, double t) const;
  double tray_outlet_temp(int tray, double t) const;
  double tray_flow(int tray, double t) const;   // L/min
  double shelf_output_power(int shelf, double t) const;
  double shelf_input_power(int shelf, double t) const;
  double psu_efficiency(double load_fraction) const;
  double cdu_supply_temp(double t) const;
  double cdu_flow(double t) const;
  bool tray_present(int tray) const;

 private:
  // A workload or disturbance term: amplitude * sin(2*pi*t/period + phase).
  struct wave { double amplitude; double period_s; double phase; };
  // Mean plus waves, optionally seen through a first-order thermal lag of time
  // constant tau (steady-state response, exact for sinusoidal input).
  static double lagged(double mean, const std::vector<wave>& waves, double tau_s, double t);
  double chip_power_lagged(int chip, double tau_s, double t) const;
  double host_power(int tray, double t) const;
  // Each sensor as kept: what it measures and where.
  struct stored_sensor {
    quantity what;
    std::uint16_t index;
    std::uint16_t sub;
  };
  // What the read path needs of every sensor of a quantity.
  struct quantity_facts {
    bool known = false;
    group read_group = group::power;
    double range_min = 0, range_max = 0;
  };
  double physical_value(const stored_sensor& s, double t) const;
  double unit_noise(std::uint64_t a, std::uint64_t b) const;  // deterministic in [0, 1)

  std::uint64_t seed_;
  fault_set faults_;
  std::vector<stored_sensor> sensors_;
  std::array<quantity_facts, quantity_count> facts_{};
  std::vector<std::vector<wave>> chip_waves_;  // utilisation waves per chip
  std::vector<std::optional<double>> stuck_value_;  // per sensor; empty when none is stuck
  std::vector<double> read_error_probability_;     // per sensor; empty when none fails
};

}  // namespace racktel::sim
