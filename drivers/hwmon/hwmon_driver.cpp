// The `hwmon` driver: Linux hwmon sysfs, including PMBus power supplies.
//
// Config keys (all optional):
//   root = "/sys/class/hwmon"     where to look (tests point it at a tree)
//   include = ["coretemp.*"]      sensor id globs to keep (default: all)
//   exclude = ["*.fan3"]          sensor id globs to leave out
//   rescan = "10s"                how often to look for devices that came or went
//   [[drivers.locations]]         rack location, by device key glob or by sensor (id or label) glob
//   device = "pmbus_1-0058"       (or: sensor = "coretemp.*", or: label = "vout*")
//   location = "shelf=0,psu=0"
#include <fcntl.h>
#include <fnmatch.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "hwmon_tree.h"
#include "racktel/driver.h"
#include "support/single_group.h"

namespace racktel::hwmon {
namespace {

struct sensor {
  std::string id;
  std::string name;
  std::string location;
  channel ch;
};

struct location_rule {
  std::string field;  // "device", "sensor" or "label"
  std::string glob;
  std::string location;
};

struct instance {
  const racktel_host* host = nullptr;
  std::string root = "/sys/class/hwmon";
  std::vector<std::string> include, exclude;
  std::vector<location_rule> locations;
  std::int64_t rescan_ms = 10'000;

  std::vector<sensor> sensors;
  std::uint64_t generation = 0;
  std::chrono::steady_clock::time_point last_scan{};
  bool device_vanished = false;

  void log(racktel_log_level level, const std::string& message) const {
    host->log(host->ctx, level, message.c_str());
  }
};

bool matches_any(const std::vector<std::string>& globs, const std::string& text) {
  for (const auto& g : globs) {
    if (::fnmatch(g.c_str(), text.c_str(), 0) == 0) return true;
  }
  return false;
}

std::vector<sensor> build_catalog(const instance& inst) {
  std::vector<sensor> out;
  for (const device& d : discover(inst.root)) {
    for (const channel& c : d.channels) {
      const std::string channel_name = std::string(c.type->prefix) + std::to_string(c.index);
      const std::string id = d.key + "." + channel_name;
      if (!inst.include.empty() && !matches_any(inst.include, id)) continue;
      if (matches_any(inst.exclude, id)) continue;
      // The first rule that matches places the sensor.
      std::string location;
      for (const auto& rule : inst.locations) {
        const std::string& subject = rule.field == "device" ? d.key : rule.field == "sensor" ? id : c.label;
        if (::fnmatch(rule.glob.c_str(), subject.c_str(), 0) == 0) {
          location = rule.location;
          break;
        }
      }
      out.push_back({id, d.key + " " + (c.label.empty() ? channel_name : c.label), location, c});
    }
  }
  return out;
}

bool same_sensors(const std::vector<sensor>& a, const std::vector<sensor>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].id != b[i].id || a[i].ch.input_path != b[i].ch.input_path) return false;
  }
  return true;
}

void rescan(instance& inst) {
  inst.last_scan = std::chrono::steady_clock::now();
  inst.device_vanished = false;
  std::vector<sensor> found = build_catalog(inst);
  if (same_sensors(found, inst.sensors)) return;
  inst.log(RACKTEL_LOG_INFO, "sensor set changed: " + std::to_string(inst.sensors.size()) + " -> " +
                                 std::to_string(found.size()) + " sensors under " + inst.root);
  inst.sensors = std::move(found);
  ++inst.generation;
}

std::vector<std::string> string_list(const racktel_config* config, const char* key, bool& ok) {
  std::vector<std::string> out;
  const int n = config->array_size(config->ctx, key);
  for (int i = 0; i < n; ++i) {
    const std::string item = std::string(key) + "[" + std::to_string(i) + "]";
    const char* s = nullptr;
    if (config->get_string(config->ctx, item.c_str(), &s) != 1) {
      ok = false;
      continue;
    }
    out.emplace_back(s);
  }
  return out;
}

int hwmon_open(const racktel_host* host, const racktel_config* config, std::uint32_t open_flags,
               void** out) noexcept {
  try {
    auto inst = std::make_unique<instance>();
    inst->host = host;
    bool ok = true;
    const char* root = nullptr;
    if (config->get_string(config->ctx, "root", &root) < 0) ok = false;
    if (root != nullptr) inst->root = root;
    inst->include = string_list(config, "include", ok);
    inst->exclude = string_list(config, "exclude", ok);
    if (config->get_duration_ms(config->ctx, "rescan", &inst->rescan_ms) < 0) ok = false;
    if (inst->rescan_ms < 100) {
      config->error(config->ctx, "rescan", "expected a duration of at least 100ms");
      ok = false;
    }
    const int rules = config->array_size(config->ctx, "locations");
    for (int i = 0; i < rules; ++i) {
      const std::string base = "locations[" + std::to_string(i) + "].";
      location_rule rule;
      int given = 0;
      for (const char* field : {"device", "sensor", "label"}) {
        const char* glob = nullptr;
        const int got = config->get_string(config->ctx, (base + field).c_str(), &glob);
        if (got < 0) ok = false;
        if (got == 1) {
          ++given;
          rule.field = field;
          rule.glob = glob;
        }
      }
      const char* location = nullptr;
      const int l = config->get_string(config->ctx, (base + "location").c_str(), &location);
      if (given != 1) {
        config->error(config->ctx, (base + "location").c_str(),
                      "give exactly one of \"device\", \"sensor\" or \"label\" (a glob) to match");
      }
      if (l == 0) config->error(config->ctx, (base + "location").c_str(), "missing; expected \"key=value,...\"");
      if (given != 1 || l != 1) {
        ok = false;
        continue;
      }
      rule.location = location;
      inst->locations.push_back(std::move(rule));
    }
    if (!ok) return RACKTEL_DRIVER_FAILED;
    if ((open_flags & RACKTEL_OPEN_VALIDATE_ONLY) == 0) {
      rescan(*inst);
      if (inst->sensors.empty()) {
        inst->log(RACKTEL_LOG_WARN, "no hwmon sensors under " + inst->root + " yet; looking again every " +
                                        std::to_string(inst->rescan_ms) + " ms");
      }
    }
    *out = inst.release();
    return RACKTEL_DRIVER_OK;
  } catch (const std::exception& e) {
    host->log(host->ctx, RACKTEL_LOG_ERROR, e.what());
    return RACKTEL_DRIVER_FAILED;
  }
}

void hwmon_close(void* p) noexcept { delete static_cast<instance*>(p); }

std::uint32_t hwmon_sensor_count(void* p) noexcept {
  return static_cast<std::uint32_t>(static_cast<instance*>(p)->sensors.size());
}

int hwmon_sensor_info(void* p, std::uint32_t index, racktel_sensor_info* info) noexcept {
  const auto& sensors = static_cast<instance*>(p)->sensors;
  if (index >= sensors.size()) return RACKTEL_DRIVER_FAILED;
  const sensor& s = sensors[index];
  info->id = s.id.c_str();
  info->name = s.name.c_str();
  info->kind = s.ch.type->kind;
  info->unit = s.ch.type->unit;
  info->location = s.location.c_str();
  info->resolution = s.ch.type->resolution;
  info->warn_low = s.ch.warn_low;
  info->warn_high = s.ch.warn_high;
  info->crit_low = s.ch.crit_low;
  info->crit_high = s.ch.crit_high;
  info->group = 0;
  return RACKTEL_DRIVER_OK;
}


// Reads one sysfs attribute. errno is kept for the caller on failure.
std::optional<std::int64_t> read_attribute(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[64];
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  const int e = errno;
  ::close(fd);
  if (n <= 0) {
    errno = n == 0 ? EINVAL : e;
    return std::nullopt;
  }
  auto v = parse_sysfs_integer(std::string_view(buf, static_cast<std::size_t>(n)));
  if (!v) errno = EINVAL;
  return v;
}

int hwmon_read(void* p, const racktel_read_request* request, std::uint32_t* written) noexcept {
  auto* inst = static_cast<instance*>(p);
  const auto now = std::chrono::steady_clock::now();
  // Devices come and go (a PSU pulled, a driver unbound): look again when one
  // vanished or the rescan interval has passed. A changed set bumps the generation.
  if (inst->device_vanished || now - inst->last_scan >= std::chrono::milliseconds(inst->rescan_ms)) {
    try {
      rescan(*inst);
    } catch (const std::exception& e) {
      inst->log(RACKTEL_LOG_ERROR, std::string("rescan failed: ") + e.what());
    }
  }
  std::uint32_t n = 0;
  for (std::uint32_t i = 0; i < inst->sensors.size() && n < request->capacity; ++i) {
    racktel_sample& out = request->samples[n++];
    out.sensor = i;
    out.value = 0.0;
    if (*request->cancel != 0) {  // a slow bus: the host has given up on this read
      out.status = RACKTEL_READING_ERROR;
      continue;
    }
    const sensor& s = inst->sensors[i];
    if (auto raw = read_attribute(s.ch.input_path)) {
      out.value = static_cast<double>(*raw) * s.ch.type->scale;
      out.status = RACKTEL_READING_OK;
    } else {
      // EIO: the device did not answer; ENODEV/ENXIO/ENOENT: it is gone (a pulled PSU).
      out.status = RACKTEL_READING_ERROR;
      if (errno == ENODEV || errno == ENXIO || errno == ENOENT) inst->device_vanished = true;
    }
  }
  *written = n;
  return RACKTEL_DRIVER_OK;
}

std::uint64_t hwmon_catalog_generation(void* p) noexcept { return static_cast<instance*>(p)->generation; }

}  // namespace
}  // namespace racktel::hwmon

extern "C" const racktel_driver racktel_hwmon_driver = {
    sizeof(racktel_driver),
    RACKTEL_DRIVER_ABI_MAJOR,
    RACKTEL_DRIVER_ABI_MINOR,
    "hwmon",
    "Linux hwmon sysfs sensors, including PMBus power supplies",
    RACKTEL_DRIVER_MAY_BLOCK,  // sysfs reads stall on a slow I2C bus
    racktel::hwmon::hwmon_open,
    racktel::hwmon::hwmon_close,
    racktel::hwmon::hwmon_sensor_count,
    racktel::hwmon::hwmon_sensor_info,
    racktel::drivers::single_group_count,
    racktel::drivers::single_group_info,
    racktel::hwmon::hwmon_read,
    racktel::hwmon::hwmon_catalog_generation,
    racktel::drivers::single_group_names,
};
