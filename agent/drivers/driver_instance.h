// One opened driver instance: its catalog, its read groups, and the read call
// the lane makes. Everything here may run on the instance's lane, except
// open and destruction, which the main thread does while no read is running.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "drivers/driver_loader.h"
#include "store/catalog.h"

namespace racktel {

struct read_group {
  std::string name;
  std::chrono::milliseconds interval;
  std::chrono::milliseconds deadline;
  std::vector<std::uint32_t> members;  // instance-local sensor indices
};

struct instance_catalog {
  // The sensors as the driver described them. The agent takes them into the
  // rack's catalog, so that one copy of every sensor's text is kept; after
  // that this is empty and `sensor_count` says how many there are.
  std::vector<sensor_meta> sensors;
  std::size_t sensor_count = 0;
  std::vector<read_group> groups;
  std::vector<std::string> problems;  // sensors the driver described badly, dropped
  // Driver's sensor index -> catalog index (UINT32_MAX for a dropped sensor).
  std::vector<std::uint32_t> driver_index;
};

struct read_outcome {
  bool driver_failed = false;            // read returned RACKTEL_DRIVER_FAILED
  std::vector<racktel_sample> samples;   // instance-local indices
  std::shared_ptr<instance_catalog> new_catalog;  // set when the sensor set changed
};

class driver_instance {
 public:
  struct open_result {
    std::unique_ptr<driver_instance> instance;
    std::vector<config_error> errors;  // config errors, each with file:line:column
    std::vector<config_error> warnings;  // weaknesses worth saying (a secret file others can read)
    std::string failure;               // open failed for another reason (device, driver)
  };

  static open_result open(const driver_config& config, loaded_driver driver,
                          std::uint32_t open_flags);
  ~driver_instance();
  driver_instance(const driver_instance&) = delete;
  driver_instance& operator=(const driver_instance&) = delete;

  const std::string& name() const { return config_.name; }
  const std::string& type() const { return config_.type; }
  const std::string& origin() const { return driver_.origin; }
  bool may_block() const { return (driver_.descriptor.flags & RACKTEL_DRIVER_MAY_BLOCK) != 0; }
  // The catalog read at open. Later changes arrive with a read's outcome: the
  // lane owns the instance's current catalog from the first read on. Whoever
  // takes it may move its `sensors` out: the instance reads only its groups,
  // sensor_count and driver_index.
  std::shared_ptr<instance_catalog> initial_catalog() const { return catalog_; }

  // On the lane. `cancel` becomes non-zero when the host stops waiting.
  read_outcome read(std::uint32_t group, std::int64_t sample_time_ns, std::int64_t deadline_ns,
                    const std::atomic<int>& cancel);

 private:
  driver_instance(driver_config config, loaded_driver driver);
  std::shared_ptr<instance_catalog> fetch_catalog();
  // The instance's read group names: declared by the driver, or asked of an
  // instance opened for reading; nullopt when neither can say.
  std::optional<std::vector<std::string>> group_names(std::uint32_t open_flags) const;
  std::string group_name(std::uint32_t index) const;

  static void host_log(void* ctx, racktel_log_level level, const char* message);

  driver_config config_;
  loaded_driver driver_;
  std::mutex open_log_mutex_;  // a driver may log from threads of its own
  bool recording_open_log_ = false;
  std::vector<std::string> open_errors_;  // error lines logged during open
  racktel_host host_{};
  void* handle_ = nullptr;
  std::uint64_t generation_ = 0;
  std::shared_ptr<instance_catalog> catalog_;
  std::vector<racktel_sample> buffer_;
};

}  // namespace racktel
