// The agent's configuration, as loaded and validated from one TOML file.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "alarms/alarm_rules.h"

#include <toml++/toml.h>


namespace racktel {

// An error a person can act on: where in which file, and what was expected.
struct config_error {
  std::string file;
  int line = 0;    // 0 when the error concerns the whole file
  int column = 0;
  std::string message;

  std::string to_string() const;  // "racktel.toml:12:3: <message>"
};

struct driver_config {
  std::string name;
  std::string type;
  std::optional<std::string> module;  // explicit .so path, overrides the lookup by type
  std::chrono::milliseconds interval{1000};
  std::optional<std::chrono::milliseconds> deadline;  // default: each group's interval
  std::map<std::string, std::chrono::milliseconds> group_intervals;
  bool enabled = true;
  bool strict_security = false;  // from [agent] security
  std::string state_dir;         // <[agent] state_dir>/drivers/<name>, the instance's own
  // The instance's table, handed to the driver through the ABI config view.
  std::shared_ptr<const toml::table> table;
  std::string source_file;
};

// MQTT 5 by default; 3.1.1 for brokers without it (NATS). In 3.1.1 a PUBACK
// carries no reason code, so a broker cannot refuse a publish (it drops it),
// and there are no session expiry, shared subscriptions or packet size limits.
enum class mqtt_protocol { v5, v3_1_1 };

struct mqtt_config {
  std::vector<std::string> brokers;
  mqtt_protocol protocol = mqtt_protocol::v5;
  std::string client_id;
  std::chrono::milliseconds keepalive{5000};
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds reconnect_min{500};
  std::chrono::milliseconds reconnect_max{30000};
  std::optional<std::string> username;
  std::optional<std::string> password;  // from `password` or read from `password_file`
  std::uint64_t queue_limit_bytes = 16ULL << 20U;
  std::uint32_t max_inflight = 32;
  // A batch the broker has not acknowledged after this long means a broken
  // broker or connection: the publisher reconnects.
  std::chrono::milliseconds ack_timeout{15000};
  // TLS, for ssl:// (mqtts://) brokers. Paths may use ${CREDENTIALS_DIRECTORY}.
  std::string ca_file;        // empty: the system trust store
  std::string cert_file;      // client certificate, for mutual TLS
  std::string key_file;
  std::optional<std::string> key_password;
  bool verify_hostname = true;
  bool uses_tls() const;
  bool operator==(const mqtt_config&) const = default;
};

struct spool_config {
  bool enabled = true;
  std::uint64_t segment_bytes = 4ULL << 20U;
  std::uint64_t max_bytes = 64ULL << 20U;
  std::chrono::milliseconds sync_interval{1000};
  double replay_rate = 100000;  // backlog readings per second, on top of live data
  bool operator==(const spool_config&) const = default;
};

struct batch_config {
  std::chrono::milliseconds interval{1000};
  std::uint32_t max_readings = 50000;
  bool operator==(const batch_config&) const = default;
};

// [http]: the agent's read-only HTTP face (/metrics, /healthz, /readyz).
struct http_config {
  std::vector<std::string> listen;  // "127.0.0.1:9464"; none: no HTTP at all
  // Basic authentication for /metrics (not for /healthz and /readyz).
  std::optional<std::string> username;
  std::optional<std::string> password;
  // HTTPS: the certificate chain and its private key (PEM); both or neither.
  std::string cert_file;
  std::string key_file;
  bool operator==(const http_config&) const = default;
};

struct agent_config {
  std::string source_file;
  std::string site;
  std::string rack;
  std::string state_dir = "/var/lib/racktel";
  std::string status_socket = "/run/racktel/status.sock";
  std::string driver_dir;  // default: the install's driver directory
  std::string log_level = "info";
  // racktel-agent --log-level: wins over log_level, also across reloads.
  std::optional<std::string> log_level_override;
  std::uint32_t stale_after = 3;  // consecutive failed reads before a sensor is stale
  // Groups whose members may change the running agent over the status socket
  // (reload, ...), besides root and the agent's own user. Resolved at load.
  std::vector<std::string> control_groups;
  std::vector<unsigned> control_gids;
  // "strict": what is only warned about otherwise is refused (secrets readable
  // by others, a password inline, credentials sent in cleartext).
  bool strict_security = false;
  batch_config batch;
  spool_config spool;
  mqtt_config mqtt;
  http_config http;
  std::vector<driver_config> drivers;
  std::vector<alarm_rule> alarms;  // [[alarms]], in file order
};

struct config_result {
  // Whatever the file said, whenever it parsed as TOML; usable only if ok().
  std::optional<agent_config> config;
  std::vector<config_error> errors;
  // Things that work but should not be so (a secret readable by others, a
  // password sent in cleartext); errors instead with [agent] security = "strict".
  std::vector<config_error> warnings;
  bool ok() const { return config.has_value() && errors.empty(); }
};

// TOML allows characters beyond ASCII only inside quoted strings and
// comments. toml++ 3.3 reaches undefined behaviour on some of them elsewhere
// (a bare key starting with U+00A1..U+0499), so the text is checked before it
// is parsed: the position of the first such character, if any. Pure.
std::optional<config_error> find_non_ascii_outside_strings(std::string_view text, const std::string& source_name);

// Parses and validates the agent-level keys. Driver-specific keys are checked
// later, when each driver validates its own table (see driver_table_view).
config_result load_config_file(const std::string& path);
config_result parse_config(std::string_view text, const std::string& source_name);

// The MQTT topic root: racktel/v1/<site>/<rack>
std::string topic_root(const agent_config& config);

// Whether two driver tables describe the same instance (same keys and values).
bool same_driver(const driver_config& a, const driver_config& b);
// Settings a running agent cannot change (the broker connection, the spool,
// identity, paths): the names of those that differ, e.g. "[mqtt]", "site".
std::vector<std::string> restart_only_differences(const agent_config& running, const agent_config& next);

}  // namespace racktel
