// Finds a driver by type: among the built-in drivers first, then as a module
// `racktel-driver-<type>.so` in the driver directory (or an explicit path),
// loaded with dlopen. Every descriptor passes the same ABI checks.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "racktel/driver.h"

namespace racktel {

struct loaded_driver {
  // A copy; fields past the module's struct_size (an older minor) stay zero.
  racktel_driver descriptor{};
  std::shared_ptr<void> module;  // dlopen handle, closed with the last user; null for built-ins
  std::string origin;            // "built-in" or the module's path
};

struct load_result {
  std::optional<loaded_driver> driver;
  std::string error;  // names the file and what is wrong when `driver` is empty
};

// Pure ABI check of a descriptor: empty when acceptable, else the reason.
std::string check_descriptor(const racktel_driver* d, std::string_view expected_type);

// Whether the module at `path` can be trusted with the agent's identity: the
// file and every directory above it belong to root or `trusted_uid`, and none
// is writable by a group or by everyone (a sticky directory such as /tmp may
// be). Empty when trusted, else why not. Run before dlopen, by the agent and
// by `racktel check-config` alike (checking a config runs module code).
std::string check_module_trust(const std::string& path, uid_t trusted_uid);

// The drivers compiled into this binary (generated from the build options).
std::vector<const racktel_driver*> builtin_drivers();

// Where modules are looked up: `configured` ([agent] driver_dir), or the
// install's driver directory when that is empty.
std::string driver_directory(const std::string& configured);

class driver_loader {
 public:
  driver_loader(std::vector<const racktel_driver*> builtins, std::string module_dir);

  load_result load(const std::string& type, const std::optional<std::string>& module_path) const;
  static load_result load_module(const std::string& path, std::string_view expected_type);

 private:
  std::vector<const racktel_driver*> builtins_;
  std::string module_dir_;
};

}  // namespace racktel
