#include "driver_loader.h"

#include <dlfcn.h>

#include <cstring>
#include <filesystem>

namespace racktel {
namespace {

// The size of the descriptor as ABI 1.0 defined it: every later minor only appends.
constexpr std::size_t descriptor_size_v1_0 = offsetof(racktel_driver, catalog_generation) +
                                             sizeof(racktel_driver::catalog_generation);

}  // namespace

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
