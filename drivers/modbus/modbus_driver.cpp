// The `modbus` driver: coolant distribution units, power shelves and meters
// over Modbus TCP, through libmodbus. What to read is a profile file
// (modbus_map.h, config/profiles/); the driver plans the requests and decodes.
//
// Config keys:
//   timeout = "500ms"                    per request, never past the read's deadline
//   [[drivers.devices]]                  one table per device
//   name = "cdu0"                        [A-Za-z0-9_.-], part of every sensor id
//   address = "10.1.2.3:502"             host:port (IPv6 as [addr]:port); port 502 by default
//   unit_id = 1                          the Modbus unit (slave) id, 0-247
//   profile = "/etc/racktel/profiles/cdu-generic.toml"
//   location = "cdu=0"                   labels added to each of its sensors
//
// Devices are read one after another on the instance's own lane, each within
// what is left of the deadline. A request the device refuses (an exception
// response) makes only its registers errors; a device that does not answer
// or drops the connection makes all its registers errors, is reconnected at
// the next read, and after repeated failures is skipped for a few reads.
#include <modbus/modbus.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "modbus_map.h"
#include "racktel/driver.h"
#include "support/backoff.h"
#include "support/config_keys.h"
#include "support/device_keys.h"
#include "support/listed_sensor.h"
#include "support/single_group.h"

namespace racktel::modbus {
namespace {

struct device {
  std::string name;
  std::string host;
  int port = 502;
  int unit_id = 1;
  std::string location;
  std::vector<register_spec> map;
  std::vector<read_span> spans;
  std::uint32_t first_sensor = 0;  // index of its first register in the instance's catalog
  modbus_t* ctx = nullptr;
  bool connected = false;
  drivers::device_backoff backoff;
  std::string last_error;

  ~device() {
    if (ctx != nullptr) {
      modbus_close(ctx);
      modbus_free(ctx);
    }
  }
};

struct instance {
  const racktel_host* host = nullptr;
  std::chrono::milliseconds timeout{500};
  std::vector<std::unique_ptr<device>> devices;
  std::vector<drivers::listed_sensor> sensors;

  void log(racktel_log_level level, const std::string& m) const { host->log(host->ctx, level, m.c_str()); }
};

// "host:port", "[v6]:port" or "host" -> parts; false when malformed.
bool parse_address(const std::string& text, std::string& host, int& port) {
  std::string rest = text;
  if (rest.starts_with("tcp://")) rest = rest.substr(6);
  std::string port_text;
  if (rest.starts_with("[")) {
    const auto close = rest.find(']');
    if (close == std::string::npos) return false;
    host = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') return false;
      port_text = rest.substr(close + 2);
    }
  } else {
    const auto colon = rest.rfind(':');
    host = rest.substr(0, colon);
    if (colon != std::string::npos) port_text = rest.substr(colon + 1);
  }
  if (host.empty()) return false;
  if (!port_text.empty()) {
    if (port_text.size() > 5 || !std::all_of(port_text.begin(), port_text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return false;
    }
    port = std::stoi(port_text);
  }
  return port >= 1 && port <= 65535;
}

int modbus_open(const racktel_host* host, const racktel_config* config, std::uint32_t, void** out) noexcept {
  try {
    auto inst = std::make_unique<instance>();
    inst->host = host;
    bool ok = true;
    ok = drivers::read_duration(config, "timeout", 10, 60000, "a duration from 10ms to 60s", inst->timeout) && ok;
    const int count = config->array_size(config->ctx, "devices");
    if (count <= 0) {
      config->error(config->ctx, "devices", "expected [[drivers.devices]] tables: name, address, profile");
      return RACKTEL_DRIVER_FAILED;
    }
    for (int i = 0; i < count; ++i) {
      const std::string prefix = "devices[" + std::to_string(i) + "].";
      auto d = std::make_unique<device>();
      const char* v = nullptr;
      drivers::device_keys keys;
      std::vector<std::string> taken;
      for (const auto& other : inst->devices) taken.push_back(other->name);
      ok = drivers::read_device_keys(config, prefix, taken, "/usr/share/racktel/profiles/cdu-generic.toml", keys) && ok;
      d->name = keys.name;
      d->location = keys.location;
      if (config->get_string(config->ctx, (prefix + "address").c_str(), &v) != 1 ||
          !parse_address(v, d->host, d->port)) {
        config->error(config->ctx, (prefix + "address").c_str(),
                      "expected \"host:port\" such as \"10.1.2.3:502\" or \"[fd00::5]:502\"");
        ok = false;
      }
      std::int64_t unit = 1;
      if (config->get_int(config->ctx, (prefix + "unit_id").c_str(), &unit) < 0) ok = false;
      if (unit < 0 || unit > 247) {
        config->error(config->ctx, (prefix + "unit_id").c_str(), "expected a unit id from 0 to 247");
        ok = false;
      }
      d->unit_id = static_cast<int>(unit);
      if (!keys.profile_read) continue;
      map_result m = parse_register_map(keys.profile_text, keys.profile_path);
      for (const auto& e : m.errors) {
        config->error(config->ctx, (prefix + "profile").c_str(), e.c_str());
        ok = false;
      }
      d->map = std::move(m.registers);
      d->spans = plan_reads(d->map);
      d->first_sensor = static_cast<std::uint32_t>(inst->sensors.size());
      for (const register_spec& r : d->map) {
        drivers::listed_sensor s;
        s.id = d->name + "." + r.id;
        s.name = d->name + " " + r.name;
        s.unit = r.unit;
        s.kind = r.kind;
        s.location = drivers::join_location(drivers::join_location("device=" + d->name, d->location), r.location);
        s.states = r.states;
        s.resolution = r.resolution;
        s.warn_low = r.warn_low;
        s.warn_high = r.warn_high;
        s.crit_low = r.crit_low;
        s.crit_high = r.crit_high;
        inst->sensors.push_back(std::move(s));
      }
      inst->devices.push_back(std::move(d));
    }
    if (!ok) return RACKTEL_DRIVER_FAILED;
    *out = inst.release();
    return RACKTEL_DRIVER_OK;
  } catch (const std::exception& e) {
    host->log(host->ctx, RACKTEL_LOG_ERROR, e.what());
    return RACKTEL_DRIVER_FAILED;
  }
}

void modbus_close_instance(void* p) noexcept { delete static_cast<instance*>(p); }

std::uint32_t modbus_sensor_count(void* p) noexcept {
  return static_cast<std::uint32_t>(static_cast<instance*>(p)->sensors.size());
}

int modbus_sensor_info(void* p, std::uint32_t index, racktel_sensor_info* info) noexcept {
  const auto& sensors = static_cast<instance*>(p)->sensors;
  if (index >= sensors.size()) return RACKTEL_DRIVER_FAILED;
  drivers::describe(sensors[index], info);
  return RACKTEL_DRIVER_OK;
}


void set_timeout(modbus_t* ctx, std::int64_t ns) {
  const auto us = std::max<std::int64_t>(ns / 1000, 1000);
  modbus_set_response_timeout(ctx, static_cast<std::uint32_t>(us / 1'000'000), static_cast<std::uint32_t>(us % 1'000'000));
}

// Reads one device; writes a sample for each of its registers.
void read_device(instance& inst, device& d, const racktel_read_request* request, racktel_sample* samples) {
  const auto mark_all = [&](std::uint32_t status) {
    for (std::size_t i = 0; i < d.map.size(); ++i) {
      samples[d.first_sensor + i] = {static_cast<std::uint32_t>(d.first_sensor + i), status, 0.0};
    }
  };
  const auto failed = [&](const std::string& why) {
    d.backoff.failed();
    if (why != d.last_error) inst.log(RACKTEL_LOG_WARN, d.name + " (" + d.host + ":" + std::to_string(d.port) + "): " + why);
    d.last_error = why;
    if (d.ctx != nullptr) modbus_close(d.ctx);
    d.connected = false;
  };
  if (d.backoff.skip_this_read()) {
    mark_all(RACKTEL_READING_ERROR);
    return;
  }
  const std::int64_t budget = request->deadline_ns - drivers::monotonic_ns();
  const std::int64_t per_request = std::min<std::int64_t>(inst.timeout.count() * 1'000'000, budget);
  if (per_request <= 0) {
    mark_all(RACKTEL_READING_TIMEOUT);
    return;
  }
  if (d.ctx == nullptr) {
    d.ctx = modbus_new_tcp_pi(d.host.c_str(), std::to_string(d.port).c_str());
    if (d.ctx == nullptr) {
      failed(std::string("cannot create a Modbus context: ") + modbus_strerror(errno));
      mark_all(RACKTEL_READING_ERROR);
      return;
    }
  }
  modbus_set_slave(d.ctx, d.unit_id);
  set_timeout(d.ctx, per_request);
  if (!d.connected) {
    if (modbus_connect(d.ctx) != 0) {
      failed(std::string("cannot connect: ") + modbus_strerror(errno));
      mark_all(RACKTEL_READING_ERROR);
      return;
    }
    d.connected = true;
  }
  std::vector<std::uint16_t> words;
  std::vector<std::uint8_t> bits;
  for (const read_span& span : d.spans) {
    const std::int64_t left = request->deadline_ns - drivers::monotonic_ns();
    const bool cancelled = request->cancel != nullptr && *request->cancel != 0;
    if (left <= 0 || cancelled) {
      for (std::size_t index : span.registers) {
        samples[d.first_sensor + index] = {static_cast<std::uint32_t>(d.first_sensor + index), RACKTEL_READING_TIMEOUT, 0.0};
      }
      continue;
    }
    set_timeout(d.ctx, std::min(per_request, left));
    int got = -1;
    switch (span.fn) {
      case function::holding:
        words.resize(span.count);
        got = modbus_read_registers(d.ctx, span.start, span.count, words.data());
        break;
      case function::input:
        words.resize(span.count);
        got = modbus_read_input_registers(d.ctx, span.start, span.count, words.data());
        break;
      case function::coil:
        bits.resize(span.count);
        got = modbus_read_bits(d.ctx, span.start, span.count, bits.data());
        break;
      case function::discrete:
        bits.resize(span.count);
        got = modbus_read_input_bits(d.ctx, span.start, span.count, bits.data());
        break;
    }
    if (got != span.count) {
      const int error = errno;
      const std::string why = std::string(function_name(span.fn)) + " " + std::to_string(span.start) + "+" +
                              std::to_string(span.count) + ": " + modbus_strerror(error);
      const bool exception = error > MODBUS_ENOBASE && error < MODBUS_ENOBASE + 64;  // the device answered: no
      for (std::size_t index : span.registers) {
        samples[d.first_sensor + index] = {static_cast<std::uint32_t>(d.first_sensor + index),
                                           error == ETIMEDOUT ? RACKTEL_READING_TIMEOUT : RACKTEL_READING_ERROR, 0.0};
      }
      if (exception) {
        if (why != d.last_error) inst.log(RACKTEL_LOG_WARN, d.name + ": the device refused " + why);
        d.last_error = why;
        continue;  // the connection is fine; other requests go on
      }
      failed(why);
      // The rest of this device's requests would meet the same dead connection.
      for (const read_span& rest : d.spans) {
        for (std::size_t index : rest.registers) {
          if (samples[d.first_sensor + index].sensor != d.first_sensor + index) {
            samples[d.first_sensor + index] = {static_cast<std::uint32_t>(d.first_sensor + index), RACKTEL_READING_ERROR, 0.0};
          }
        }
      }
      return;
    }
    for (std::size_t index : span.registers) {
      const register_spec& r = d.map[index];
      const std::size_t at = r.address - span.start;
      const double value = (span.fn == function::holding || span.fn == function::input) ? decode_register(r, &words[at])
                                                                                           : decode_bit(&bits[at]);
      samples[d.first_sensor + index] = {static_cast<std::uint32_t>(d.first_sensor + index),
                                         std::isfinite(value) ? RACKTEL_READING_OK : RACKTEL_READING_ERROR,
                                         std::isfinite(value) ? value : 0.0};
    }
  }
  if (d.backoff.succeeded()) inst.log(RACKTEL_LOG_INFO, d.name + " answers again");
  d.last_error.clear();
}

int modbus_read(void* p, const racktel_read_request* request, std::uint32_t* written) noexcept {
  auto* inst = static_cast<instance*>(p);
  try {
    const auto n = static_cast<std::uint32_t>(inst->sensors.size());
    if (request->capacity < n) return RACKTEL_DRIVER_FAILED;
    // An index that no device writes stays marked: every sample is set below.
    for (std::uint32_t i = 0; i < n; ++i) request->samples[i] = {UINT32_MAX, RACKTEL_READING_ERROR, 0.0};
    for (auto& d : inst->devices) read_device(*inst, *d, request, request->samples);
    for (std::uint32_t i = 0; i < n; ++i) {
      if (request->samples[i].sensor != i) request->samples[i] = {i, RACKTEL_READING_ERROR, 0.0};
    }
    *written = n;
    return RACKTEL_DRIVER_OK;
  } catch (const std::exception& e) {
    inst->log(RACKTEL_LOG_ERROR, e.what());
    return RACKTEL_DRIVER_FAILED;
  }
}

std::uint64_t modbus_catalog_generation(void*) noexcept { return 0; }

}  // namespace
}  // namespace racktel::modbus

extern "C" const racktel_driver racktel_modbus_driver = {
    sizeof(racktel_driver),
    RACKTEL_DRIVER_ABI_MAJOR,
    RACKTEL_DRIVER_ABI_MINOR,
    "modbus",
    "coolant distribution units, power shelves and meters over Modbus TCP (libmodbus), register maps as data",
    RACKTEL_DRIVER_MAY_BLOCK,
    racktel::modbus::modbus_open,
    racktel::modbus::modbus_close_instance,
    racktel::modbus::modbus_sensor_count,
    racktel::modbus::modbus_sensor_info,
    racktel::drivers::single_group_count,
    racktel::drivers::single_group_info,
    racktel::modbus::modbus_read,
    racktel::modbus::modbus_catalog_generation,
    racktel::drivers::single_group_names,
};
