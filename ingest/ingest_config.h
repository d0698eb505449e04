// racktel-ingest's configuration: one TOML file, validated like the agent's
// (every error with file:line:column; unknown keys are errors). See
// docs/ingest.md for every key.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"

namespace racktel::ingest {

struct endpoint_config {
  std::string url;  // http:// or https://, with its path (/api/v1/write)
  std::string ca_file;       // empty: the system trust store
  bool insecure = false;     // no certificate checks (a lab only)
  std::optional<std::string> bearer_token;  // from bearer_token_file
  std::optional<std::string> username;
  std::optional<std::string> password;      // from password_file
  std::map<std::string, std::string> headers;  // e.g. X-Scope-OrgID for Mimir
};

struct ingest_config {
  std::string source_file;
  std::string instance;  // names this instance: its client id and its /metrics
  std::string state_dir = "/var/lib/racktel-ingest";
  std::string log_level = "info";
  mqtt_config mqtt;
  // [input]
  std::string shared_group = "racktel-ingest";  // empty: a plain subscription
  std::string site = "+";  // one site's racks, or every site
  std::chrono::milliseconds session_expiry{std::chrono::hours(1)};
  std::uint64_t max_payload_bytes = 16ULL << 20U;
  std::chrono::milliseconds catalog_wait{60000};
  std::uint32_t max_waiting = 10000;
  // [buffer]
  std::uint64_t buffer_segment_bytes = 16ULL << 20U;
  std::uint64_t buffer_max_bytes = 1ULL << 30U;
  bool buffer_sync = true;
  // [remote_write]
  std::vector<endpoint_config> endpoints;
  std::chrono::milliseconds write_delay{1000};
  std::uint32_t max_samples = 50000;
  std::chrono::milliseconds write_timeout{30000};
  std::chrono::milliseconds retry_min{500};
  std::chrono::milliseconds retry_max{30000};
  std::uint32_t max_pending_requests = 8;  // per shard and endpoint
  std::uint32_t shards = 4;  // requests written in parallel per endpoint; a rack stays in one
  // [alertmanager]
  std::vector<endpoint_config> alertmanagers;  // base URLs; /api/v2/alerts is appended
  std::chrono::milliseconds alert_resend{60000};
  // [http]
  std::vector<std::string> listen;  // host:port for /metrics and /healthz
};

struct ingest_config_result {
  std::optional<ingest_config> config;
  std::vector<config_error> errors;
  std::vector<config_error> warnings;
  bool ok() const { return config.has_value() && errors.empty(); }
};

ingest_config_result parse_ingest_config(std::string_view text, const std::string& source_name);
ingest_config_result load_ingest_config(const std::string& path);

// "http://host:port/path" in parts; empty `error` when it is one.
struct http_url {
  bool tls = false;
  std::string host;  // without brackets for IPv6
  std::string port;
  std::string target;  // the path, "/" at least
};
std::optional<http_url> parse_http_url(std::string_view url, std::string& error);

}  // namespace racktel::ingest
