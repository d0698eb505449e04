#include "rack_model.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "racktel/driver.h"

namespace racktel::sim {
namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();
constexpr double two_pi = 2.0 * std::numbers::pi;

// Chip power envelope (W): idle to full load.
constexpr double chip_idle_w = 200.0;
constexpr double chip_max_w = 1000.0;
// Junction-to-coolant thermal resistances (K/W) and time constants (s).
constexpr double die_resistance = 0.045;
constexpr double die_tau_s = 5.0;
constexpr double hbm_resistance = 0.028;
constexpr double hbm_tau_s = 20.0;
// Coolant: water, specific heat in J/(kg K), density 1 kg/L.
constexpr double coolant_heat_capacity = 4180.0;
constexpr double tray_nominal_flow_lpm = 8.0;
constexpr double psu_rated_w = 5500.0;
constexpr double psu_nominal_v = 50.5;
constexpr double cdu_nominal_pump_rpm = 3000.0;

// SplitMix64: a small, well-mixed hash for deterministic per-sensor variation.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30U)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27U)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31U);
}

std::string two_digits(int n) {
  return n < 10 ? "0" + std::to_string(n) : std::to_string(n);
}

}  // namespace

bool sensor_id_matches(const std::string& pattern, const std::string& id) {
  if (!pattern.empty() && pattern.back() == '*') {
    return id.compare(0, pattern.size() - 1, pattern, 0, pattern.size() - 1) == 0;
  }
  return pattern == id;
}

double rack_model::unit_noise(std::uint64_t a, std::uint64_t b) const {
  return static_cast<double>(mix(seed_ ^ mix(a * 0x100000001B3ULL + b)) >> 11U) * 0x1.0p-53;
}

sensor_spec rack_model::describe(quantity what, int index, int sub) {
  const auto n = [](int v) { return std::to_string(v); };
  switch (what) {
    case quantity::chip_die_temp:
    case quantity::chip_hbm_temp:
    case quantity::chip_power:
    case quantity::chip_vcore:
    case quantity::chip_duty:
    case quantity::chip_link_state: {
      const std::string chip = "chip" + two_digits(index);
      const std::string where = "tray=" + n(index / chips_per_tray) + ",chip=" + n(index);
      const std::string label = "chip " + n(index);
      switch (what) {
        case quantity::chip_die_temp:
          return {chip + ".die_temp", label + " die temperature", RACKTEL_KIND_TEMPERATURE, "Cel", where, 0.1, 90.0,
                  105.0, -20.0, 125.0, group::thermal, what, index, sub};
        case quantity::chip_hbm_temp:
          return {chip + ".hbm" + n(sub) + "_temp", label + " HBM stack " + n(sub) + " temperature",
                  RACKTEL_KIND_TEMPERATURE, "Cel", where + ",hbm=" + n(sub), 0.1, 85.0, 95.0, -20.0, 125.0,
                  group::thermal, what, index, sub};
        case quantity::chip_power:
          return {chip + ".power", label + " power", RACKTEL_KIND_POWER, "W", where, 1.0, 1100.0, 1200.0, 0.0, 1500.0,
                  group::power, what, index, sub};
        case quantity::chip_vcore:
          return {chip + ".vcore", label + " core voltage", RACKTEL_KIND_VOLTAGE, "V", where, 0.001, nan, nan, 0.0,
                  1.2, group::power, what, index, sub};
        case quantity::chip_duty:
          return {chip + ".duty", label + " duty cycle", RACKTEL_KIND_RATIO, "%", where, 0.1, nan, nan, 0.0, 100.0,
                  group::power, what, index, sub};
        default:
          return {chip + ".link" + n(sub), label + " ICI link " + n(sub) + " state", RACKTEL_KIND_STATE, "",
                  where + ",link=" + n(sub), 1.0, nan, 1.0, 0.0, 1.0, group::status, what, index, sub, "0=up,1=down"};
      }
    }
    case quantity::tray_inlet_temp:
    case quantity::tray_outlet_temp:
    case quantity::tray_flow:
    case quantity::tray_leak:
    case quantity::tray_host_cpu_temp: {
      const std::string tr = "tray" + two_digits(index);
      const std::string where = "tray=" + n(index);
      const std::string label = "tray " + n(index);
      switch (what) {
        case quantity::tray_inlet_temp:
          return {tr + ".inlet_temp", label + " coolant inlet temperature", RACKTEL_KIND_TEMPERATURE, "Cel", where,
                  0.1, 40.0, 45.0, -20.0, 100.0, group::thermal, what, index, sub};
        case quantity::tray_outlet_temp:
          return {tr + ".outlet_temp", label + " coolant outlet temperature", RACKTEL_KIND_TEMPERATURE, "Cel", where,
                  0.1, 55.0, 60.0, -20.0, 100.0, group::thermal, what, index, sub};
        case quantity::tray_flow:
          return {tr + ".flow", label + " coolant flow", RACKTEL_KIND_FLOW, "L/min", where, 0.01, nan, nan, 0.0, 50.0,
                  group::status, what, index, sub};
        case quantity::tray_leak:
          return {tr + ".leak", label + " leak sensor", RACKTEL_KIND_STATE, "", where, 1.0, nan, 1.0, 0.0, 1.0,
                  group::status, what, index, sub, "0=none,1=detected"};
        default:
          return {tr + ".host_cpu_temp", label + " host CPU temperature", RACKTEL_KIND_TEMPERATURE, "Cel", where, 0.1,
                  85.0, 95.0, -20.0, 125.0, group::thermal, what, index, sub};
      }
    }
    case quantity::shelf_input_power:
    case quantity::shelf_output_power: {
      const std::string where = "shelf=" + n(index);
      const std::string label = "power shelf " + n(index);
      if (what == quantity::shelf_input_power) {
        return {"shelf" + n(index) + ".input_power", label + " input power", RACKTEL_KIND_POWER, "W", where, 1.0, nan,
                nan, 0.0, 40000.0, group::power, what, index, sub};
      }
      return {"shelf" + n(index) + ".output_power", label + " output power", RACKTEL_KIND_POWER, "W", where, 1.0,
              27000.0, 30000.0, 0.0, 40000.0, group::power, what, index, sub};
    }
    case quantity::psu_input_power:
    case quantity::psu_output_power:
    case quantity::psu_output_voltage:
    case quantity::psu_output_current:
    case quantity::psu_status: {
      const int shelf = index / psus_per_shelf;
      const int p = index % psus_per_shelf;
      const std::string id = "shelf" + n(shelf) + ".psu" + n(p);
      const std::string where = "shelf=" + n(shelf) + ",psu=" + n(p);
      const std::string label = "power shelf " + n(shelf) + " PSU " + n(p);
      switch (what) {
        case quantity::psu_input_power:
          return {id + ".input_power", label + " input power", RACKTEL_KIND_POWER, "W", where, 1.0, nan, nan, 0.0,
                  7000.0, group::power, what, index, sub};
        case quantity::psu_output_power:
          return {id + ".output_power", label + " output power", RACKTEL_KIND_POWER, "W", where, 1.0, 5000.0, 5500.0,
                  0.0, 7000.0, group::power, what, index, sub};
        case quantity::psu_output_voltage:
          return {id + ".output_voltage", label + " output voltage", RACKTEL_KIND_VOLTAGE, "V", where, 0.01, nan, nan,
                  0.0, 60.0, group::power, what, index, sub};
        case quantity::psu_output_current:
          return {id + ".output_current", label + " output current", RACKTEL_KIND_CURRENT, "A", where, 0.01, 100.0,
                  110.0, 0.0, 150.0, group::power, what, index, sub};
        default:
          return {id + ".status", label + " status", RACKTEL_KIND_STATE, "", where, 1.0, nan, 1.0, 0.0, 255.0,
                  group::status, what, index, sub, "0=ok,1=fault"};
      }
    }
    case quantity::cdu_supply_temp:
      return {"cdu.supply_temp", "CDU coolant supply temperature", RACKTEL_KIND_TEMPERATURE, "Cel", "cdu=0", 0.1, 40.0,
              45.0, -20.0, 100.0, group::thermal, what, index, sub};
    case quantity::cdu_return_temp:
      return {"cdu.return_temp", "CDU coolant return temperature", RACKTEL_KIND_TEMPERATURE, "Cel", "cdu=0", 0.1, 55.0,
              60.0, -20.0, 100.0, group::thermal, what, index, sub};
    case quantity::cdu_flow:
      return {"cdu.flow", "CDU coolant flow", RACKTEL_KIND_FLOW, "L/min", "cdu=0", 0.1, nan, nan, 0.0, 500.0,
              group::status, what, index, sub};
    case quantity::cdu_pressure:
      return {"cdu.pressure", "CDU differential pressure", RACKTEL_KIND_PRESSURE, "kPa", "cdu=0", 0.1, nan, nan, 0.0,
              400.0, group::status, what, index, sub};
    case quantity::cdu_pump_speed:
      break;
  }
  return {"cdu.pump_speed", "CDU pump speed", RACKTEL_KIND_FAN_SPEED, "RPM", "cdu=0", 1.0, nan, nan, 0.0, 6000.0,
          group::status, what, index, sub};
}

rack_model::rack_model(std::uint64_t seed, fault_set faults)
    : seed_(seed), faults_(std::move(faults)) {
  // The whole rack runs one training job: chips share its phase, each with a
  // small skew, so rack power swings together as it does in practice.
  const double job_phase = two_pi * unit_noise(1, 0);
  for (int c = 0; c < chip_count; ++c) {
    const double skew = 0.4 * unit_noise(2, static_cast<std::uint64_t>(c));
    chip_waves_.push_back({
        {0.25, 90.0, job_phase + skew},                                    // job phases
        {0.12, 11.0, two_pi * unit_noise(3, static_cast<std::uint64_t>(c))},  // steps
    });
  }

  auto add = [this](quantity what, int index, int sub = 0) {
    quantity_facts& f = facts_[static_cast<std::size_t>(what)];
    if (!f.known) {  // what every sensor of the quantity shares
      const sensor_spec s = describe(what, index, sub);
      f = {true, s.read_group, s.range_min, s.range_max};
    }
    sensors_.push_back({what, static_cast<std::uint16_t>(index), static_cast<std::uint16_t>(sub)});
  };
  for (int tray = 0; tray < tray_count; ++tray) {
    if (!tray_present(tray)) continue;
    for (int k = 0; k < chips_per_tray; ++k) {
      const int c = tray * chips_per_tray + k;
      add(quantity::chip_die_temp, c);
      for (int stack = 0; stack < hbm_stacks_per_chip; ++stack) add(quantity::chip_hbm_temp, c, stack);
      add(quantity::chip_power, c);
      add(quantity::chip_vcore, c);
      add(quantity::chip_duty, c);
      for (int link = 0; link < links_per_chip; ++link) add(quantity::chip_link_state, c, link);
    }
    for (quantity q : {quantity::tray_inlet_temp, quantity::tray_outlet_temp, quantity::tray_flow,
                       quantity::tray_leak, quantity::tray_host_cpu_temp}) {
      add(q, tray);
    }
  }
  for (int shelf = 0; shelf < shelf_count; ++shelf) {
    add(quantity::shelf_input_power, shelf);
    add(quantity::shelf_output_power, shelf);
    for (int p = 0; p < psus_per_shelf; ++p) {
      for (quantity q : {quantity::psu_input_power, quantity::psu_output_power, quantity::psu_output_voltage,
                         quantity::psu_output_current, quantity::psu_status}) {
        add(q, shelf * psus_per_shelf + p);
      }
    }
  }
  for (quantity q : {quantity::cdu_supply_temp, quantity::cdu_return_temp, quantity::cdu_flow,
                     quantity::cdu_pressure, quantity::cdu_pump_speed}) {
    add(q, 0);
  }

  sensors_.shrink_to_fit();
  for (std::size_t i = 0; i < sensors_.size(); ++i) {
    const std::string id = spec(i).id;
    for (const auto& stuck : faults_.stuck_sensors) {
      if (sensor_id_matches(stuck.sensor, id)) {
        if (stuck_value_.empty()) stuck_value_.resize(sensors_.size());
        // Without an explicit value a stuck sensor freezes at its value at t = 0.
        stuck_value_[i] = stuck.value.value_or(physical_value(sensors_[i], 0.0));
      }
    }
    for (const auto& errors : faults_.read_errors) {
      if (sensor_id_matches(errors.sensor, id)) {
        if (read_error_probability_.empty()) read_error_probability_.resize(sensors_.size(), 0.0);
        read_error_probability_[i] = std::max(read_error_probability_[i], errors.probability);
      }
    }
  }
}

sensor_spec rack_model::spec(std::size_t i) const {
  const stored_sensor& s = sensors_[i];
  return describe(s.what, s.index, s.sub);
}

std::vector<sensor_spec> rack_model::sensors() const {
  std::vector<sensor_spec> out;
  out.reserve(sensors_.size());
  for (std::size_t i = 0; i < sensors_.size(); ++i) out.push_back(spec(i));
  return out;
}

bool rack_model::in_range(std::size_t i, double value) const {
  const quantity_facts& f = facts_[static_cast<std::size_t>(sensors_[i].what)];
  return value >= f.range_min && value <= f.range_max;
}

bool rack_model::tray_present(int tray) const {
  return std::find(faults_.missing_trays.begin(), faults_.missing_trays.end(), tray) ==
         faults_.missing_trays.end();
}

double rack_model::lagged(double mean, const std::vector<wave>& waves, double tau_s, double t) {
  double v = mean;
  for (const wave& w : waves) {
    const double omega = two_pi / w.period_s;
    const double gain = 1.0 / std::sqrt(1.0 + omega * tau_s * omega * tau_s);
    v += w.amplitude * gain * std::sin(omega * t + w.phase - std::atan(omega * tau_s));
  }
  return v;
}

double rack_model::chip_utilisation(int chip, double t) const {
  return lagged(0.55, chip_waves_[static_cast<std::size_t>(chip)], 0.0, t);
}

double rack_model::chip_power_lagged(int chip, double tau_s, double t) const {
  // Power is affine in utilisation, so lagging the utilisation lags the power.
  const double u = lagged(0.55, chip_waves_[static_cast<std::size_t>(chip)], tau_s, t);
  return chip_idle_w + (chip_max_w - chip_idle_w) * u;
}

double rack_model::chip_power(int chip, double t) const { return chip_power_lagged(chip, 0.0, t); }

double rack_model::chip_die_temp(int chip, double t) const {
  double extra = 0.0;
  for (const auto& hot : faults_.hot_chips) {
    if (hot.chip == chip) extra += hot.extra_celsius;
  }
  return tray_inlet_temp(chip / chips_per_tray, t) +
         die_resistance * chip_power_lagged(chip, die_tau_s, t) + extra;
}

double rack_model::chip_hbm_temp(int chip, int stack, double t) const {
  // Stacks nearer the coolant outlet side run a little warmer.
  const double position_offset = 0.6 * (stack % 4);
  return tray_inlet_temp(chip / chips_per_tray, t) +
         hbm_resistance * chip_power_lagged(chip, hbm_tau_s, t) + position_offset;
}

double rack_model::host_power(int tray, double t) const {
  return 300.0 + 40.0 * std::sin(two_pi * t / 45.0 + two_pi * unit_noise(4, static_cast<std::uint64_t>(tray)));
}

double rack_model::tray_power(int tray, double t) const {
  if (!tray_present(tray)) return 0.0;
  double p = host_power(tray, t);
  for (int k = 0; k < chips_per_tray; ++k) p += chip_power(tray * chips_per_tray + k, t);
  return p;
}

double rack_model::cdu_supply_temp(double t) const {
  // Facility water drifts slowly with the chiller cycle.
  return 32.0 + 0.5 * std::sin(two_pi * t / 600.0 + two_pi * unit_noise(5, 0));
}

double rack_model::tray_inlet_temp(int tray, double t) const {
  // Manifold losses: trays further up the rack see slightly warmer coolant.
  return cdu_supply_temp(t) + 0.05 * tray + 0.2 * unit_noise(6, static_cast<std::uint64_t>(tray));
}

double rack_model::tray_flow(int tray, double t) const {
  if (!tray_present(tray)) return 0.0;
  return tray_nominal_flow_lpm * (1.0 + 0.01 * std::sin(two_pi * t / 30.0 + tray)) +
         0.3 * unit_noise(7, static_cast<std::uint64_t>(tray));
}

double rack_model::tray_outlet_temp(int tray, double t) const {
  const double kg_per_s = tray_flow(tray, t) / 60.0;
  return tray_inlet_temp(tray, t) + tray_power(tray, t) / (kg_per_s * coolant_heat_capacity);
}

double rack_model::shelf_output_power(int shelf, double t) const {
  double p = 0.0;
  for (int k = 0; k < trays_per_shelf; ++k) p += tray_power(shelf * trays_per_shelf + k, t);
  return p;
}

double rack_model::psu_efficiency(double load_fraction) const {
  // Titanium-class curve: best near half load, a little worse at the ends.
  const double d = load_fraction - 0.5;
  return 0.965 - 0.04 * d * d;
}

double rack_model::shelf_input_power(int shelf, double t) const {
  const double per_psu = shelf_output_power(shelf, t) / psus_per_shelf;
  return psus_per_shelf * per_psu / psu_efficiency(per_psu / psu_rated_w);
}

double rack_model::cdu_flow(double t) const {
  double flow = 0.0;
  for (int tray = 0; tray < tray_count; ++tray) flow += tray_flow(tray, t);
  return flow;
}

double rack_model::physical_value(const stored_sensor& s, double t) const {
  switch (s.what) {
    case quantity::chip_die_temp: return chip_die_temp(s.index, t);
    case quantity::chip_hbm_temp: return chip_hbm_temp(s.index, s.sub, t);
    case quantity::chip_power: return chip_power(s.index, t);
    case quantity::chip_vcore: return 0.75 - 0.00004 * chip_power(s.index, t);
    case quantity::chip_duty: return 100.0 * chip_utilisation(s.index, t);
    case quantity::chip_link_state:
      for (const auto& down : faults_.links_down) {
        if (down.chip == s.index && down.link == s.sub) return 1.0;
      }
      return 0.0;
    case quantity::tray_inlet_temp: return tray_inlet_temp(s.index, t);
    case quantity::tray_outlet_temp: return tray_outlet_temp(s.index, t);
    case quantity::tray_flow: return tray_flow(s.index, t);
    case quantity::tray_leak:
      return std::find(faults_.leaking_trays.begin(), faults_.leaking_trays.end(), s.index) !=
                     faults_.leaking_trays.end()
                 ? 1.0
                 : 0.0;
    case quantity::tray_host_cpu_temp:
      return tray_inlet_temp(s.index, t) + 12.0 + 0.05 * host_power(s.index, t);
    case quantity::shelf_input_power: return shelf_input_power(s.index, t);
    case quantity::shelf_output_power: return shelf_output_power(s.index, t);
    case quantity::psu_output_power:
      return shelf_output_power(s.index / psus_per_shelf, t) / psus_per_shelf;
    case quantity::psu_input_power: {
      const double out = shelf_output_power(s.index / psus_per_shelf, t) / psus_per_shelf;
      return out / psu_efficiency(out / psu_rated_w);
    }
    case quantity::psu_output_voltage: {
      const double out = shelf_output_power(s.index / psus_per_shelf, t) / psus_per_shelf;
      return psu_nominal_v - 0.15 * out / psu_rated_w;  // load-line droop
    }
    case quantity::psu_output_current: {
      const double out = shelf_output_power(s.index / psus_per_shelf, t) / psus_per_shelf;
      return out / (psu_nominal_v - 0.15 * out / psu_rated_w);
    }
    case quantity::psu_status: return 0.0;
    case quantity::cdu_supply_temp: return cdu_supply_temp(t);
    case quantity::cdu_return_temp: {
      double heat = 0.0;
      for (int tray = 0; tray < tray_count; ++tray) heat += tray_power(tray, t);
      return cdu_supply_temp(t) + heat / (cdu_flow(t) / 60.0 * coolant_heat_capacity);
    }
    case quantity::cdu_flow: return cdu_flow(t);
    case quantity::cdu_pressure: {
      const double pump = 1.0 + 0.01 * std::sin(two_pi * t / 120.0);
      return 150.0 * pump * pump;  // pump affinity law: pressure goes with speed squared
    }
    case quantity::cdu_pump_speed:
      return cdu_nominal_pump_rpm * (1.0 + 0.01 * std::sin(two_pi * t / 120.0));
  }
  return nan;
}

double rack_model::value(std::size_t i, double t) const {
  if (!stuck_value_.empty() && stuck_value_[i]) return *stuck_value_[i];
  return physical_value(sensors_[i], t);
}

bool rack_model::read_fails(std::size_t i, std::int64_t t_ms) const {
  if (read_error_probability_.empty()) return false;
  const double p = read_error_probability_[i];
  if (p <= 0.0) return false;
  return unit_noise(8 + i, static_cast<std::uint64_t>(t_ms)) < p;
}

}  // namespace racktel::sim
