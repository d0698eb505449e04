// A temporary directory for a test, removed with everything in it.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace racktel::testing {

struct temp_dir {
  std::filesystem::path path;
  explicit temp_dir(const std::string& prefix = "racktel-test") {
    std::string name = "/tmp/" + prefix + "-XXXXXX";
    path = ::mkdtemp(name.data());
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
};

}  // namespace racktel::testing
