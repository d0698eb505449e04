#include "driver_instance.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <set>

#include "config/driver_table_view.h"

namespace racktel {
namespace {

}  // namespace

void driver_instance::host_log(void* ctx, racktel_log_level level, const char* message) {
  auto& self = *static_cast<driver_instance*>(ctx);
  const auto spd_level = level == RACKTEL_LOG_DEBUG  ? spdlog::level::debug
                         : level == RACKTEL_LOG_INFO ? spdlog::level::info
                         : level == RACKTEL_LOG_WARN ? spdlog::level::warn
                                                     : spdlog::level::err;
  spdlog::log(spd_level, "driver {}: {}", self.config_.name, message ? message : "");
  if (level == RACKTEL_LOG_ERROR && message != nullptr) {
    // What the driver said while it opened: the reason an open failed, for `racktel status`.
    const std::lock_guard lock(self.open_log_mutex_);
    if (self.recording_open_log_ && self.open_errors_.size() < 4) self.open_errors_.emplace_back(message);
  }
}

namespace {

std::optional<double> limit(double v) {
  return std::isfinite(v) ? std::optional<double>(v) : std::nullopt;
}

bool valid_sensor_id(const char* id) {
  if (id == nullptr || *id == '\0') return false;
  return std::all_of(id, id + std::strlen(id), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == ':' || c == '-';
  });
}

}  // namespace

driver_instance::driver_instance(driver_config config, loaded_driver driver)
    : config_(std::move(config)), driver_(std::move(driver)) {}

driver_instance::open_result driver_instance::open(const driver_config& config, loaded_driver driver,
                                                   std::uint32_t open_flags) {
  open_result result;
  std::unique_ptr<driver_instance> self(new driver_instance(config, std::move(driver)));
  // The instance's state directory, made when it opens for reading (never by a validating open).
  const char* state_dir = nullptr;
  if ((open_flags & RACKTEL_OPEN_VALIDATE_ONLY) == 0 && !self->config_.state_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(self->config_.state_dir, ec);
    if (!ec) {
      std::filesystem::permissions(self->config_.state_dir, std::filesystem::perms::owner_all,
                                   std::filesystem::perm_options::replace, ec);
      state_dir = self->config_.state_dir.c_str();
    } else {
      result.warnings.push_back({self->config_.source_file, 0, 0,
                                 "driver \"" + self->config_.name + "\": cannot create its state directory " +
                                     self->config_.state_dir + ": " + ec.message()});
    }
  }
  self->host_ = racktel_host{sizeof(racktel_host), RACKTEL_DRIVER_ABI_MAJOR, RACKTEL_DRIVER_ABI_MINOR,
                             self.get(), &host_log, self->config_.name.c_str(),
                             self->config_.strict_security ? RACKTEL_POLICY_STRICT_SECURITY : 0U, state_dir};
  driver_table_view view(self->config_);
  self->recording_open_log_ = true;
  const int rc = self->driver_.descriptor.open(&self->host_, view.abi(), open_flags, &self->handle_);
  std::vector<std::string> said;
  {
    const std::lock_guard lock(self->open_log_mutex_);
    self->recording_open_log_ = false;
    said.swap(self->open_errors_);
  }
  if (rc == RACKTEL_DRIVER_OK) {
    view.report_unknown_keys();
    if (auto groups = self->group_names(open_flags)) view.report_unknown_groups(*groups);
  }
  result.errors = view.errors();
  for (auto& w : view.warnings()) result.warnings.push_back(std::move(w));
  if (rc != RACKTEL_DRIVER_OK || !result.errors.empty()) {
    if (rc == RACKTEL_DRIVER_OK) {
      self->driver_.descriptor.close(self->handle_);
      self->handle_ = nullptr;
    }
    if (result.errors.empty()) {
      result.failure = "the driver could not open";
      for (std::size_t i = 0; i < said.size(); ++i) result.failure += (i == 0 ? ": " : "; ") + said[i];
      if (said.empty()) result.failure += " (it gave no reason)";
    }
    return result;
  }
  if ((open_flags & RACKTEL_OPEN_VALIDATE_ONLY) != 0) {
    // Only the configuration was checked: the instance is for closing, not reading.
    self->catalog_ = std::make_shared<instance_catalog>();
    result.instance = std::move(self);
    return result;
  }
  if (self->driver_.descriptor.catalog_generation != nullptr) {
    self->generation_ = self->driver_.descriptor.catalog_generation(self->handle_);
  }
  self->catalog_ = self->fetch_catalog();
  result.instance = std::move(self);
  return result;
}

std::optional<std::vector<std::string>> driver_instance::group_names(std::uint32_t open_flags) const {
  std::vector<std::string> names;
  if (const char* const* declared = driver_.descriptor.group_names; declared != nullptr) {
    for (; *declared != nullptr; ++declared) names.emplace_back(*declared);
    return names;
  }
  // Without a declared list only an instance opened for reading can say.
  if ((open_flags & RACKTEL_OPEN_VALIDATE_ONLY) != 0) return std::nullopt;
  const std::uint32_t count = driver_.descriptor.group_count(handle_);
  for (std::uint32_t g = 0; g < count; ++g) names.push_back(group_name(g));
  if (names.empty()) names.emplace_back("all");
  return names;
}

std::string driver_instance::group_name(std::uint32_t index) const {
  racktel_group_info info{sizeof(racktel_group_info), nullptr, 0};
  if (driver_.descriptor.group_info(handle_, index, &info) == RACKTEL_DRIVER_OK && info.name != nullptr) {
    return info.name;
  }
  return "group" + std::to_string(index);
}

driver_instance::~driver_instance() {
  if (handle_ != nullptr) driver_.descriptor.close(handle_);
}
// (A driver may return a NULL handle for a validate-only open; it is then not closed.)

std::shared_ptr<instance_catalog> driver_instance::fetch_catalog() {
  auto catalog = std::make_shared<instance_catalog>();
  const racktel_driver& d = driver_.descriptor;
  const std::uint32_t group_count = d.group_count(handle_);
  for (std::uint32_t g = 0; g < group_count; ++g) {
    racktel_group_info info{sizeof(racktel_group_info), nullptr, 0};
    d.group_info(handle_, g, &info);
    const std::string name = group_name(g);
    auto interval = info.default_interval_ms > 0 ? std::chrono::milliseconds(info.default_interval_ms)
                                                 : config_.interval;
    if (auto it = config_.group_intervals.find(name); it != config_.group_intervals.end()) {
      interval = it->second;
    }
    catalog->groups.push_back({name, interval, config_.deadline.value_or(interval), {}});
  }
  if (catalog->groups.empty()) {
    catalog->groups.push_back({"all", config_.interval, config_.deadline.value_or(config_.interval), {}});
  }

  std::set<std::string> ids;
  text_pool shared;  // one copy of the driver name, each unit, location and state list, for all the sensors
  const std::uint32_t count = d.sensor_count(handle_);
  // Sensor indices stay the driver's, so a dropped sensor leaves a hole, not a shift.
  catalog->sensors.resize(count);
  std::vector<bool> usable(count, false);
  for (std::uint32_t i = 0; i < count; ++i) {
    racktel_sensor_info info{};
    info.struct_size = sizeof(info);
    info.warn_low = info.warn_high = info.crit_low = info.crit_high = std::nan("");
    if (d.sensor_info(handle_, i, &info) != RACKTEL_DRIVER_OK) {
      catalog->problems.push_back("sensor " + std::to_string(i) + ": the driver gave no description");
      continue;
    }
    if (!valid_sensor_id(info.id)) {
      catalog->problems.push_back("sensor " + std::to_string(i) + ": id \"" +
                                  std::string(info.id ? info.id : "") +
                                  "\" is empty or has characters other than [A-Za-z0-9_.:-]");
      continue;
    }
    if (!ids.insert(info.id).second) {
      catalog->problems.push_back("sensor id \"" + std::string(info.id) + "\" is reported twice");
      continue;
    }
    if (!(std::isfinite(info.resolution) && info.resolution > 0.0)) {
      catalog->problems.push_back("sensor \"" + std::string(info.id) + "\": resolution must be a positive number");
      continue;
    }
    if (info.group >= catalog->groups.size()) {
      catalog->problems.push_back("sensor \"" + std::string(info.id) + "\": group " +
                                  std::to_string(info.group) + " does not exist");
      continue;
    }
    sensor_meta& m = catalog->sensors[i];
    m.driver = shared.get(config_.name);
    m.id = info.id;
    m.name = info.name ? info.name : info.id;
    m.kind = info.kind;
    m.unit = shared.get(info.unit ? info.unit : "");
    m.location = parse_location(info.location ? info.location : "");
    m.location.share(shared);
    m.resolution = info.resolution;
    m.warn_low = limit(info.warn_low);
    m.warn_high = limit(info.warn_high);
    m.crit_low = limit(info.crit_low);
    m.crit_high = limit(info.crit_high);
    m.group = info.group;
    m.states = parse_state_names(info.states ? info.states : "");  // NULL before ABI 1.3
    m.states.share(shared);
    usable[i] = true;
    catalog->groups[info.group].members.push_back(i);
  }
  // Holes from dropped sensors would break indexing; compact and renumber members.
  std::vector<sensor_meta> kept;
  kept.reserve(static_cast<std::size_t>(std::count(usable.begin(), usable.end(), true)));  // no growth slack
  std::vector<std::uint32_t> new_index(count, UINT32_MAX);
  for (std::uint32_t i = 0; i < count; ++i) {
    if (!usable[i]) continue;
    new_index[i] = static_cast<std::uint32_t>(kept.size());
    kept.push_back(std::move(catalog->sensors[i]));
  }
  catalog->sensors = std::move(kept);
  catalog->sensor_count = catalog->sensors.size();
  catalog->driver_index = std::move(new_index);
  for (auto& group : catalog->groups) {
    for (auto& member : group.members) member = catalog->driver_index[member];
  }
  for (const auto& problem : catalog->problems) {
    spdlog::error("driver {}: {}; the sensor is left out of the catalog", config_.name, problem);
  }
  return catalog;
}

read_outcome driver_instance::read(std::uint32_t group, std::int64_t sample_time_ns,
                                   std::int64_t deadline_ns, const std::atomic<int>& cancel) {
  static_assert(sizeof(std::atomic<int>) == sizeof(int) && std::atomic<int>::is_always_lock_free);
  read_outcome outcome;
  // Headroom for a sensor set that grows during this read (a PSU plugged in:
  // a handful of sensors; a sixteenth keeps the buffer near what it holds).
  const std::uint32_t known = std::max<std::uint32_t>(driver_.descriptor.sensor_count(handle_),
                                                      static_cast<std::uint32_t>(catalog_->sensor_count));
  const std::uint32_t capacity = known + known / 16 + 64;
  buffer_.resize(capacity);
  racktel_read_request request{sizeof(racktel_read_request), group, sample_time_ns, deadline_ns,
                               reinterpret_cast<const volatile int*>(&cancel), buffer_.data(), capacity};
  std::uint32_t written = 0;
  const int rc = driver_.descriptor.read(handle_, &request, &written);
  // A read during which the sensor set changed reports under the new catalog:
  // fetch it before translating the samples.
  if (driver_.descriptor.catalog_generation != nullptr) {
    const std::uint64_t generation = driver_.descriptor.catalog_generation(handle_);
    if (generation != generation_) {
      generation_ = generation;
      catalog_ = fetch_catalog();
      outcome.new_catalog = catalog_;
    }
  }
  outcome.driver_failed = rc != RACKTEL_DRIVER_OK;
  if (!outcome.driver_failed) {
    written = std::min(written, capacity);
    outcome.samples.reserve(written);
    for (std::uint32_t i = 0; i < written; ++i) {
      racktel_sample s = buffer_[i];
      // Translate the driver's index to the catalog's; drop samples of unknown sensors.
      if (s.sensor >= catalog_->driver_index.size()) continue;
      s.sensor = catalog_->driver_index[s.sensor];
      if (s.sensor == UINT32_MAX) continue;
      outcome.samples.push_back(s);
    }
  }
  return outcome;
}

}  // namespace racktel
