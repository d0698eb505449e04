// The `sim` driver: exposes rack_model through the driver ABI.
//
// Config keys (all optional):
//   seed = 1                      varies the workload phases and per-unit offsets
//   [[drivers.faults]]            zero or more injected faults, each with a `kind`:
//     kind = "hot_chip"       chip = N, extra = 25.0      (degrees added to the die)
//     kind = "stuck_sensor"   sensor = "chip03.die_temp", value = 41.5 (optional)
//     kind = "missing_tray"   tray = N
//     kind = "read_errors"    sensor = "chip05.*", probability = 0.5 (default 1)
//     kind = "leak"           tray = N
//     kind = "link_down"      chip = N, link = L
//     kind = "slow_reads"     delay = "300ms"   (gives up when the host cancels)
//     kind = "hung_reads"     delay = "1h"      (ignores the host's cancel)
//     kind = "tray_pulled"    tray = N, after = "10s"  (the tray disappears while running)
#include "sim_driver.h"

#include <array>
#include <chrono>
#include <cmath>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "rack_model.h"
#include "support/sensor_states.h"

namespace racktel::sim {
namespace {

// A tray pulled while the agent runs: the sensor set changes at a given time.
struct tray_pull {
  int tray = 0;
  std::int64_t after_ms = 0;
};

struct instance {
  rack_model model;
  // How many sensors each group has. A read walks the whole model for its
  // group's sensors (a few thousand tests a read) rather than keep a list of
  // indices: 4 bytes a sensor of a rack the agent holds thousands of.
  std::array<std::uint32_t, group_count> group_sizes{};
  std::optional<tray_pull> pull;
  std::int64_t opened_ns = 0;
  std::uint64_t generation = 0;
  sensor_spec described;  // the sensor sim_sensor_info described last; its strings are what the host reads

  void index_groups() {
    group_sizes.fill(0);
    for (std::uint32_t i = 0; i < model.sensor_count(); ++i) ++group_sizes[static_cast<std::uint32_t>(model.read_group(i))];
  }
};

const char* const group_name_list[group_count + 1] = {"power", "thermal", "status", nullptr};
const std::uint32_t group_intervals_ms[group_count] = {100, 1000, 1000};

std::string key_of(int i, const char* field) {
  return "faults[" + std::to_string(i) + "]." + field;
}

bool read_int_in(const racktel_config* config, const std::string& key, int lo, int hi, int& out,
                 bool required) {
  std::int64_t v = 0;
  const int got = config->get_int(config->ctx, key.c_str(), &v);
  if (got < 0) return false;
  if (got == 0) {
    if (required) {
      config->error(config->ctx, key.c_str(),
                    ("missing; expected an integer from " + std::to_string(lo) + " to " +
                     std::to_string(hi)).c_str());
    }
    return !required;
  }
  if (v < lo || v > hi) {
    config->error(config->ctx, key.c_str(),
                  ("expected an integer from " + std::to_string(lo) + " to " +
                   std::to_string(hi) + ", got " + std::to_string(v)).c_str());
    return false;
  }
  out = static_cast<int>(v);
  return true;
}

bool read_sensor_pattern(const racktel_config* config, const std::string& key, std::string& out) {
  const char* s = nullptr;
  const int got = config->get_string(config->ctx, key.c_str(), &s);
  if (got == 0) config->error(config->ctx, key.c_str(), "missing; expected a sensor id or \"prefix*\"");
  if (got <= 0) return false;
  out = s;
  return true;
}

bool parse_fault(const racktel_config* config, int i, fault_set& faults, std::optional<tray_pull>& pull) {
  const char* kind_text = nullptr;
  const std::string kind_key = key_of(i, "kind");
  const int got = config->get_string(config->ctx, kind_key.c_str(), &kind_text);
  if (got == 0) {
    config->error(config->ctx, key_of(i, "kind").c_str(), "missing; expected the fault kind");
  }
  if (got <= 0) return false;
  const std::string kind = kind_text;
  if (kind == "hot_chip") {
    fault_set::hot_chip f{0, 25.0};
    if (!read_int_in(config, key_of(i, "chip"), 0, chip_count - 1, f.chip, true)) return false;
    if (config->get_double(config->ctx, key_of(i, "extra").c_str(), &f.extra_celsius) < 0) return false;
    faults.hot_chips.push_back(f);
  } else if (kind == "stuck_sensor") {
    fault_set::stuck_sensor f;
    if (!read_sensor_pattern(config, key_of(i, "sensor"), f.sensor)) return false;
    double v = 0;
    const int has_value = config->get_double(config->ctx, key_of(i, "value").c_str(), &v);
    if (has_value < 0) return false;
    if (has_value > 0) f.value = v;
    faults.stuck_sensors.push_back(f);
  } else if (kind == "missing_tray" || kind == "leak") {
    int tray = 0;
    if (!read_int_in(config, key_of(i, "tray"), 0, tray_count - 1, tray, true)) return false;
    (kind == "leak" ? faults.leaking_trays : faults.missing_trays).push_back(tray);
  } else if (kind == "read_errors") {
    fault_set::read_error_rate f{"", 1.0};
    if (!read_sensor_pattern(config, key_of(i, "sensor"), f.sensor)) return false;
    if (config->get_double(config->ctx, key_of(i, "probability").c_str(), &f.probability) < 0) return false;
    if (!(f.probability >= 0.0 && f.probability <= 1.0)) {
      config->error(config->ctx, key_of(i, "probability").c_str(), "expected a number from 0 to 1");
      return false;
    }
    faults.read_errors.push_back(f);
  } else if (kind == "link_down") {
    fault_set::link_down f{0, 0};
    if (!read_int_in(config, key_of(i, "chip"), 0, chip_count - 1, f.chip, true)) return false;
    if (!read_int_in(config, key_of(i, "link"), 0, links_per_chip - 1, f.link, true)) return false;
    faults.links_down.push_back(f);
  } else if (kind == "tray_pulled") {
    tray_pull p;
    if (!read_int_in(config, key_of(i, "tray"), 0, tray_count - 1, p.tray, true)) return false;
    p.after_ms = 10'000;
    if (config->get_duration_ms(config->ctx, key_of(i, "after").c_str(), &p.after_ms) < 0) return false;
    if (pull) {
      config->error(config->ctx, kind_key.c_str(), "only one tray_pulled fault per instance");
      return false;
    }
    pull = p;
  } else if (kind == "slow_reads" || kind == "hung_reads") {
    std::int64_t ms = kind == "slow_reads" ? 300 : 3'600'000;
    if (config->get_duration_ms(config->ctx, key_of(i, "delay").c_str(), &ms) < 0) return false;
    if (ms < 0 || ms > 86'400'000) {
      config->error(config->ctx, key_of(i, "delay").c_str(), "expected a duration up to 24h");
      return false;
    }
    (kind == "slow_reads" ? faults.slow_read_ms : faults.hung_read_ms) = static_cast<std::uint32_t>(ms);
  } else {
    config->error(config->ctx, kind_key.c_str(),
                  ("unknown fault kind \"" + kind +
                   "\"; expected hot_chip, stuck_sensor, missing_tray, tray_pulled, read_errors, "
                   "leak, link_down, slow_reads or hung_reads").c_str());
    return false;
  }
  return true;
}

int sim_open(const racktel_host* host, const racktel_config* config, std::uint32_t open_flags,
             void** out) noexcept {
  try {
    std::int64_t seed = 1;
    bool ok = config->get_int(config->ctx, "seed", &seed) >= 0;
    fault_set faults;
    std::optional<tray_pull> pull;
    const int fault_count = config->array_size(config->ctx, "faults");
    for (int i = 0; i < fault_count; ++i) ok = parse_fault(config, i, faults, pull) && ok;
    if (!ok) return RACKTEL_DRIVER_FAILED;
    if ((open_flags & RACKTEL_OPEN_VALIDATE_ONLY) != 0) {
      *out = nullptr;  // checked; building the rack model is not needed for that
      return RACKTEL_DRIVER_OK;
    }

    auto inst = std::make_unique<instance>(
        instance{rack_model(static_cast<std::uint64_t>(seed), std::move(faults)), {}, pull, 0, 0, {}});
    inst->opened_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
    inst->index_groups();
    *out = inst.release();
    return RACKTEL_DRIVER_OK;
  } catch (const std::exception& e) {
    host->log(host->ctx, RACKTEL_LOG_ERROR, e.what());
    return RACKTEL_DRIVER_FAILED;
  }
}

void sim_close(void* p) noexcept { delete static_cast<instance*>(p); }

std::uint32_t sim_sensor_count(void* p) noexcept {
  return static_cast<std::uint32_t>(static_cast<instance*>(p)->model.sensor_count());
}

int sim_sensor_info(void* p, std::uint32_t index, racktel_sensor_info* info) noexcept try {
  auto* self = static_cast<instance*>(p);
  const rack_model& model = self->model;
  if (index >= model.sensor_count()) return RACKTEL_DRIVER_FAILED;
  // Built when asked, into the instance's one description: the host copies
  // the strings before it calls again (ABI 1.5), so the model keeps no text.
  self->described = model.spec(index);
  const sensor_spec& s = self->described;
  info->id = s.id.c_str();
  info->name = s.name.c_str();
  info->kind = s.kind;
  info->unit = s.unit.c_str();
  info->location = s.location.c_str();
  info->resolution = s.resolution;
  info->warn_low = std::nan("");
  info->warn_high = s.warn_high;
  info->crit_low = std::nan("");
  info->crit_high = s.crit_high;
  info->group = static_cast<std::uint32_t>(s.read_group);
  racktel::drivers::set_state_words(info, s.states.c_str());
  return RACKTEL_DRIVER_OK;
} catch (...) {
  return RACKTEL_DRIVER_FAILED;
}

std::uint32_t sim_group_count(void*) noexcept { return group_count; }

int sim_group_info(void*, std::uint32_t index, racktel_group_info* info) noexcept {
  if (index >= group_count) return RACKTEL_DRIVER_FAILED;
  info->name = group_name_list[index];
  info->default_interval_ms = group_intervals_ms[index];
  return RACKTEL_DRIVER_OK;
}

void simulate_delay(const fault_set& faults, const racktel_read_request* request) {
  using namespace std::chrono_literals;
  if (faults.hung_read_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(faults.hung_read_ms));
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(faults.slow_read_ms);
  while (faults.slow_read_ms > 0 && std::chrono::steady_clock::now() < until && *request->cancel == 0) {
    std::this_thread::sleep_for(5ms);
  }
}

// Pulls the tray once its time has come: a new model without it, a new generation.
void apply_tray_pull(instance& inst, std::int64_t sample_time_ns) {
  if (!inst.pull || sample_time_ns < inst.opened_ns + inst.pull->after_ms * 1'000'000) return;
  fault_set faults = inst.model.faults();
  faults.missing_trays.push_back(inst.pull->tray);
  inst.pull.reset();
  inst.model = rack_model(inst.model.seed(), std::move(faults));
  inst.index_groups();
  ++inst.generation;
}

std::uint64_t sim_catalog_generation(void* p) noexcept { return static_cast<instance*>(p)->generation; }

int sim_read(void* p, const racktel_read_request* request, std::uint32_t* written) noexcept {
  auto* inst = static_cast<instance*>(p);
  if (request->group >= group_count) return RACKTEL_DRIVER_FAILED;
  simulate_delay(inst->model.faults(), request);
  apply_tray_pull(*inst, request->sample_time_ns);
  if (request->capacity < inst->group_sizes[request->group]) return RACKTEL_DRIVER_FAILED;
  const auto wanted = static_cast<group>(request->group);
  const double t = static_cast<double>(request->sample_time_ns) * 1e-9;
  const std::int64_t t_ms = request->sample_time_ns / 1'000'000;
  std::uint32_t n = 0;
  for (std::uint32_t index = 0; index < inst->model.sensor_count(); ++index) {
    if (inst->model.read_group(index) != wanted) continue;
    racktel_sample& out = request->samples[n++];
    out.sensor = index;
    if (inst->model.read_fails(index, t_ms)) {
      out.status = RACKTEL_READING_ERROR;
      out.value = 0.0;
      continue;
    }
    out.value = inst->model.value(index, t);
    out.status = inst->model.in_range(index, out.value) ? RACKTEL_READING_OK : RACKTEL_READING_OUT_OF_RANGE;
  }
  *written = n;
  return RACKTEL_DRIVER_OK;
}

}  // namespace
}  // namespace racktel::sim

extern "C" const racktel_driver racktel_sim_driver = {
    sizeof(racktel_driver),
    RACKTEL_DRIVER_ABI_MAJOR,
    RACKTEL_DRIVER_ABI_MINOR,
    "sim",
    "simulated TPU v7-style accelerator rack (64 chips, power shelves, CDU)",
    RACKTEL_DRIVER_MAY_BLOCK,  // fault injection can make its reads slow or hang
    racktel::sim::sim_open,
    racktel::sim::sim_close,
    racktel::sim::sim_sensor_count,
    racktel::sim::sim_sensor_info,
    racktel::sim::sim_group_count,
    racktel::sim::sim_group_info,
    racktel::sim::sim_read,
    racktel::sim::sim_catalog_generation,
    racktel::sim::group_name_list,
};
