// Opens a driver through the host's driver_instance from a TOML table, and
// reads it as the lane would: for tests of individual drivers.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "drivers/driver_instance.h"

namespace racktel::testing {

struct opened_driver {
  std::shared_ptr<toml::table> doc;
  std::unique_ptr<driver_instance> instance;
  std::vector<config_error> errors;
  std::shared_ptr<const instance_catalog> catalog;  // follows the driver's changes
  bool last_failed = false;                         // the last read returned RACKTEL_DRIVER_FAILED

  opened_driver(const racktel_driver& descriptor, const std::string& type, const std::string& toml_text) {
    doc = std::make_shared<toml::table>(toml::parse(toml_text));
    driver_config c;
    c.name = type;
    c.type = type;
    c.table = doc;
    c.source_file = "t.toml";
    auto r = driver_instance::open(c, loaded_driver{descriptor, nullptr, "built-in"}, 0);
    instance = std::move(r.instance);
    errors = r.errors;
    if (instance) catalog = instance->initial_catalog();
  }

  // Sensor id -> (status, value) of one read; `changed` receives a new catalog, if any.
  std::map<std::string, std::pair<std::uint32_t, double>> read(
      std::shared_ptr<const instance_catalog>* changed = nullptr, int deadline_ms = 2000) {
    std::atomic<int> cancel{0};
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(deadline_ms);
    read_outcome o = instance->read(
        0, 0, std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count(), cancel);
    if (changed) *changed = o.new_catalog;
    if (o.new_catalog) catalog = o.new_catalog;
    std::map<std::string, std::pair<std::uint32_t, double>> out;
    last_failed = o.driver_failed;
    // As the poller does: a failed read makes every sensor an error reading.
    if (o.driver_failed) {
      for (const auto& m : catalog->sensors) out[m.id] = {RACKTEL_READING_ERROR, 0.0};
    }
    for (const auto& s : o.samples) out[catalog->sensors[s.sensor].id] = {s.status, s.value};
    return out;
  }
};

}  // namespace racktel::testing
