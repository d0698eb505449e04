#include "driver_loader.h"

#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include <cstring>
#include <filesystem>

namespace racktel {
namespace {

// The size of the descriptor as ABI 1.0 defined it: every later minor only appends.
constexpr std::size_t descriptor_size_v1_0 = offsetof(racktel_driver, catalog_generation) +
                                             sizeof(racktel_driver::catalog_generation);

std::string mode_text(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

}  // namespace

std::string check_module_trust(const std::string& path, uid_t trusted_uid) {
  // Loading a module runs its code as the agent: whoever could have written
  // it, or replaced it through its directory, would run code as the agent.
  std::error_code ec;
  const std::filesystem::path absolute = std::filesystem::absolute(path, ec);
  if (ec) return "cannot resolve " + path + ": " + ec.message();
  std::filesystem::path at = absolute;
  for (bool file = true;; file = false) {
    struct stat st {};
    if (::stat(at.c_str(), &st) != 0) return "cannot check " + at.string() + ": " + std::strerror(errno);
    if (st.st_uid != 0 && st.st_uid != trusted_uid) {
      return (file ? "module " : "directory ") + at.string() + " is owned by uid " + std::to_string(st.st_uid) +
             ", neither root nor the agent's user: anyone with that uid could put code into the agent";
    }
    const bool others_write = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
    // A sticky directory (/tmp) lets others add files but not replace ours.
    if (others_write && (file || (st.st_mode & S_ISVTX) == 0)) {
      return (file ? "module " : "directory ") + at.string() + " is writable by its group or by everyone (mode " +
             mode_text(st.st_mode) + "): anyone who can write it could put code into the agent";
    }
    if (!at.has_relative_path()) break;  // the root directory, checked
    at = at.parent_path();
  }
  return {};
}

std::string check_descriptor(const racktel_driver* d, std::string_view expected_type) {
  if (d == nullptr) return "the entry point returned no descriptor";
  if (d->abi_major != RACKTEL_DRIVER_ABI_MAJOR) {
    return "built for driver ABI " + std::to_string(d->abi_major) + "." + std::to_string(d->abi_minor) +
           " but this agent speaks ABI " + std::to_string(RACKTEL_DRIVER_ABI_MAJOR) + "." +
           std::to_string(RACKTEL_DRIVER_ABI_MINOR) + "; rebuild the driver against this agent's driver.h";
  }
  if (d->struct_size < descriptor_size_v1_0) {
    return "descriptor is " + std::to_string(d->struct_size) + " bytes, smaller than ABI " +
           std::to_string(RACKTEL_DRIVER_ABI_MAJOR) + ".0 requires (" +
           std::to_string(descriptor_size_v1_0) + ")";
  }
  if (d->type_name == nullptr || d->type_name[0] == '\0') return "descriptor has no type name";
  if (!expected_type.empty() && expected_type != d->type_name) {
    return "provides driver type \"" + std::string(d->type_name) + "\", not \"" +
           std::string(expected_type) + "\"";
  }
  if (d->open == nullptr || d->close == nullptr || d->sensor_count == nullptr ||
      d->sensor_info == nullptr || d->group_count == nullptr || d->group_info == nullptr ||
      d->read == nullptr) {
    return "descriptor lacks a required entry point";
  }
  return {};
}

std::string driver_directory(const std::string& configured) {
  return configured.empty() ? std::string(RACKTEL_DEFAULT_DRIVER_DIR) : configured;
}

driver_loader::driver_loader(std::vector<const racktel_driver*> builtins, std::string module_dir)
    : builtins_(std::move(builtins)), module_dir_(std::move(module_dir)) {}

load_result driver_loader::load(const std::string& type,
                                const std::optional<std::string>& module_path) const {
  if (module_path) return load_module(*module_path, type);
  for (const racktel_driver* d : builtins_) {
    if (type == d->type_name) {
      load_result result;
      if (auto why = check_descriptor(d, type); !why.empty()) {
        result.error = "built-in driver \"" + type + "\": " + why;
        return result;
      }
      result.driver = loaded_driver{*d, nullptr, "built-in"};
      return result;
    }
  }
  const std::string path = (std::filesystem::path(module_dir_) / ("racktel-driver-" + type + ".so")).string();
  if (!std::filesystem::exists(path)) {
    return {std::nullopt, "no driver of type \"" + type + "\": it is not built in and " + path +
                              " does not exist"};
  }
  return load_module(path, type);
}

load_result driver_loader::load_module(const std::string& path, std::string_view expected_type) {
  load_result result;
  if (std::string why = check_module_trust(path, ::geteuid()); !why.empty()) {
    result.error = "driver module " + path + " refused: " + why;
    return result;
  }
  // RTLD_LOCAL keeps one module's symbols from resolving another's.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    result.error = "cannot load driver module " + path + ": " + (why ? why : "unknown dlopen error");
    return result;
  }
  std::shared_ptr<void> module(handle, [](void* h) { dlclose(h); });
  void* symbol = dlsym(handle, RACKTEL_DRIVER_ENTRY_SYMBOL);
  if (symbol == nullptr) {
    result.error = "driver module " + path + " does not export " RACKTEL_DRIVER_ENTRY_SYMBOL;
    return result;
  }
  auto entry = reinterpret_cast<racktel_driver_entry_fn>(symbol);
  const racktel_driver* d = entry();
  if (auto why = check_descriptor(d, expected_type); !why.empty()) {
    result.error = "driver module " + path + " refused: " + why;
    return result;
  }
  loaded_driver loaded;
  std::memcpy(&loaded.descriptor, d, std::min<std::size_t>(d->struct_size, sizeof(racktel_driver)));
  loaded.descriptor.struct_size = sizeof(racktel_driver);
  loaded.module = std::move(module);
  loaded.origin = path;
  result.driver = std::move(loaded);
  return result;
}

}  // namespace racktel
