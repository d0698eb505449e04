// Subcommands of the `racktel` tool.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace racktel::cli {

int check_config(const std::string& path);

// `racktel probe`: exit 0 when the driver was read, 1 when it could not be
// opened, a read failed or no reading came back ok, 2 when the settings or
// the file have errors.
struct probe_options {
  std::string type;                    // a driver type, with `settings`...
  std::vector<std::string> settings;   // "KEY=VALUE", "devices.KEY=VALUE"
  std::string config_file;             // ...or the instances of this file
  std::string driver;                  // with config_file: only this one
  std::chrono::milliseconds timeout{10000};
  bool json = false;
};
int probe(const probe_options& options);

struct subscribe_options {
  std::string broker = "tcp://127.0.0.1:1883";
  std::string site;
  std::string rack;
  bool json = false;
  bool table = false;                   // redraw a table of the newest values per batch
  std::string match;                    // show only sensors whose driver/id contains this
  std::optional<unsigned> count;        // exit after this many data batches
  std::chrono::milliseconds timeout{0}; // exit with an error after this long without data (0: never)
  std::optional<std::string> username;
  std::optional<std::string> password;
  std::optional<std::string> password_file;  // first line is the password
  // TLS for mqtts:// (ssl://) brokers, as in the agent's [mqtt] table.
  std::string ca_file, cert_file, key_file;
  std::optional<std::string> key_password_file;
  bool verify_hostname = true;
  std::size_t max_payload = 16U << 20U;  // larger messages are refused by the broker (MQTT 5) and by us
  std::string protocol = "5";            // or "3.1.1", for brokers without MQTT 5 (NATS)
};
int subscribe(const subscribe_options& options);

struct report_options {
  bool json = false;
  bool all = false;   // status: every entry of the attention list, not the first 100
  std::string match;  // a glob on "driver/id", or on the id when it has no '/'
};
int status(const std::string& socket_path, const report_options& options);
// Every sensor with its value, status, limits and age, from the running agent.
int sensors(const std::string& socket_path, const report_options& options);
// `racktel commission --expect FILE`: exit 0 when every expectation holds,
// 1 when one fails (or the agent cannot be reached), 2 when the file has errors.
struct commission_options {
  std::string expect_file;
  std::chrono::milliseconds timeout{60000};  // for the rack to settle
  bool json = false;
  bool publish = true;
  std::string by;
};
int commission(const std::string& socket_path, const commission_options& options);

// `racktel maintenance list|start|end`: exit 0 when the agent did it.
struct maintenance_options {
  std::string action;  // "list", "start", "end"
  bool json = false;
  std::string match;
  std::vector<std::string> location;  // KEY=GLOB
  std::string duration;               // "2h"
  std::string reason;
  std::string by;
  std::uint64_t id = 0;
};
int maintenance(const std::string& socket_path, const maintenance_options& options);
// Asks the agent to re-read its configuration; exit 0 when it was applied.
int reload(const std::string& socket_path);
// The status socket a configuration file names (its default when it names none).
std::optional<std::string> socket_from_config(const std::string& config_file, std::string& error);

// Exit code 0: intact; 2: damage found; 1: cannot read the directory.
int spool_inspect(const std::string& dir, bool json, bool dump);

}  // namespace racktel::cli
