// Presents one [[drivers]] table to a driver through the ABI's racktel_config,
// and afterwards reports every key the driver never asked for as unknown.
#pragma once

#include <deque>
#include <set>
#include <string>
#include <vector>

#include "config.h"
#include "racktel/driver.h"

namespace racktel {

class driver_table_view {
 public:
  explicit driver_table_view(const driver_config& driver);

  const racktel_config* abi() const { return &abi_; }

  // Errors recorded by the driver or by type mismatches, with file:line:column.
  const std::vector<config_error>& errors() const { return errors_; }
  // Weaknesses (a secret file others can read): errors instead under [agent] security = "strict".
  const std::vector<config_error>& warnings() const { return warnings_; }
  // Adds an "unknown key" error for each key neither the host nor the driver read.
  void report_unknown_keys();
  // Adds an error for each `group_intervals` key that names none of `groups`.
  void report_unknown_groups(const std::vector<std::string>& groups);

 private:
  static driver_table_view& self(void* ctx) { return *static_cast<driver_table_view*>(ctx); }
  toml::node_view<const toml::node> lookup(const char* key);
  void type_error(const toml::node& node, const char* key, const char* expected);
  // Positions the error at `where` (a key) when known, else at `node`, else at the table.
  void add_error(const toml::node* node, const std::string& message,
                 const toml::source_region* where = nullptr);
  void add_weakness(const toml::node* node, const std::string& message);
  void walk_unknown(const toml::node& node, const std::string& path, const toml::source_region* key_source);

  static int get_string(void* ctx, const char* key, const char** value);
  static int get_int(void* ctx, const char* key, std::int64_t* value);
  static int get_double(void* ctx, const char* key, double* value);
  static int get_bool(void* ctx, const char* key, int* value);
  static int get_duration_ms(void* ctx, const char* key, std::int64_t* value);
  static int array_size(void* ctx, const char* key);
  static void error(void* ctx, const char* key, const char* message);

  const driver_config& driver_;
  racktel_config abi_;
  std::set<std::string> used_;
  std::vector<config_error> errors_;
  std::vector<config_error> warnings_;
  std::deque<std::string> strings_;  // expanded paths handed to the driver; stable addresses
};

}  // namespace racktel
