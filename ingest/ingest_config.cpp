#include "ingest/ingest_config.h"

#include <set>

#include "config/toml_reader.h"

namespace racktel::ingest {
namespace {

using std::chrono::milliseconds;

bool valid_header_name(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

// One HTTP endpoint's table: url and how to authenticate and trust it.
void read_endpoint(toml_reader& r, const toml::table& t, const std::string& where, endpoint_config& e) {
  r.reject_unknown(t, where,
                   {"url", "ca_file", "insecure", "bearer_token_file", "username", "password_file", "headers"});
  r.string(t, "url", e.url, true);
  if (const toml::node* node = t.get("url"); node && node->is_string()) {
    std::string why;
    if (!parse_http_url(e.url, why)) r.error(*node, why);
  }
  std::optional<std::string> path;
  r.optional_string(t, "ca_file", path);
  if (path) e.ca_file = r.pem_file(*t.get("ca_file"), *path, "ca_file", false);
  r.boolean(t, "insecure", e.insecure);
  path.reset();
  r.optional_string(t, "bearer_token_file", path);
  if (path) e.bearer_token = r.secret_file(*t.get("bearer_token_file"), *path);
  r.optional_string(t, "username", e.username);
  path.reset();
  r.optional_string(t, "password_file", path);
  if (path) e.password = r.secret_file(*t.get("password_file"), *path);
  if (e.username.has_value() != e.password.has_value()) {
    r.error(t, "give both \"username\" and \"password_file\" for basic authentication, or neither");
  }
  if (e.bearer_token && e.username) r.error(t, "give either \"bearer_token_file\" or \"username\", not both");
  if (const toml::node* node = t.get("headers")) {
    const auto* headers = node->as_table();
    if (headers == nullptr) {
      r.error(*node, "expected \"headers\" to be a table of header names and string values");
    } else {
      for (const auto& [key, value] : *headers) {
        const auto* s = value.as_string();
        if (s == nullptr || !valid_header_name(std::string(key.str()))) {
          r.error(value, "expected a header name of letters, digits and '-', with a string value");
          continue;
        }
        e.headers[std::string(key.str())] = s->get();
      }
    }
  }
  if (e.url.starts_with("http://") && (e.bearer_token || e.password)) {
    r.weakness(*t.get("url"), "credentials are sent in cleartext to an http:// endpoint; use https://");
  }
}

// A list of endpoint tables ([[remote_write.endpoints]]) or of URLs.
void read_endpoints(toml_reader& r, const toml::table& t, std::string_view key, const std::string& where,
                    std::vector<endpoint_config>& out) {
  const toml::node* node = t.get(key);
  if (node == nullptr) return;
  const auto* list = node->as_array();
  if (list == nullptr) {
    r.error(*node, "expected \"" + std::string(key) + "\" to be a list of URLs or of tables with a \"url\"");
    return;
  }
  for (const toml::node& element : *list) {
    endpoint_config e;
    if (const auto* url = element.as_string()) {
      e.url = url->get();
      std::string why;
      if (!parse_http_url(e.url, why)) r.error(element, why);
    } else if (const auto* table = element.as_table()) {
      read_endpoint(r, *table, where, e);
    } else {
      r.error(element, "expected a URL string or a table with a \"url\"");
      continue;
    }
    out.push_back(std::move(e));
  }
}

ingest_config_result parse_document(const toml::table& root, const std::string& source) {
  ingest_config_result result;
  ingest_config c;
  c.source_file = source;
  toml_reader r(source, result.errors, result.warnings);
  r.reject_unknown(root, "top level", {"ingest", "mqtt", "input", "buffer", "remote_write", "alertmanager", "http"});

  if (const toml::table* t = r.sub_table(root, "ingest", true)) {
    r.reject_unknown(*t, "ingest", {"instance", "state_dir", "log_level"});
    r.string(*t, "instance", c.instance, true);
    if (const toml::node* node = t->get("instance"); node && node->is_string() && !is_identifier(c.instance)) {
      r.error(*node, "\"instance\" must be 1-64 characters of letters, digits, '-' or '_' (it names the MQTT session)");
    }
    r.string(*t, "state_dir", c.state_dir);
    if (const toml::node* node = t->get("state_dir"); node && c.state_dir.empty()) {
      r.error(*node, "\"state_dir\" must not be empty; expected a directory such as \"/var/lib/racktel-ingest\"");
    }
    r.string(*t, "log_level", c.log_level);
    static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error", "off"};
    if (const toml::node* node = t->get("log_level"); node && !levels.contains(c.log_level)) {
      r.error(*node, "\"log_level\" must be one of trace, debug, info, warn, error, off");
    }
  }

  if (const toml::table* t = r.sub_table(root, "mqtt", true)) {
    read_mqtt_table(r, *t, c.mqtt, mqtt_role::ingest, "racktel-ingest-" + c.instance);
  }

  if (const toml::table* t = r.sub_table(root, "input", false)) {
    r.reject_unknown(*t, "input",
                     {"shared_group", "site", "session_expiry", "max_payload", "catalog_wait", "max_waiting"});
    r.string(*t, "site", c.site);
    if (const toml::node* node = t->get("site"); node && node->is_string() && c.site != "+" && !is_identifier(c.site)) {
      r.error(*node, "\"site\" must be \"+\" (every site) or a site id of letters, digits, '-' or '_'");
    }
    r.string(*t, "shared_group", c.shared_group);
    if (const toml::node* node = t->get("shared_group");
        node && node->is_string() && !c.shared_group.empty() && !is_identifier(c.shared_group)) {
      r.error(*node, "\"shared_group\" must be empty or 1-64 characters of letters, digits, '-' or '_'");
    }
    r.duration(*t, "session_expiry", c.session_expiry, milliseconds(0), milliseconds(7LL * 24 * 3600 * 1000));
    r.byte_size(*t, "max_payload", c.max_payload_bytes, 1024, 256ULL << 20U);
    r.duration(*t, "catalog_wait", c.catalog_wait, milliseconds(100), milliseconds(24LL * 3600 * 1000));
    r.integer(*t, "max_waiting", c.max_waiting, 1, 10'000'000);
  }
  if (c.mqtt.protocol == mqtt_protocol::v3_1_1 && !c.shared_group.empty()) {
    // Shared subscriptions are MQTT 5; a 3.1.1 broker (NATS) has none.
    const toml::node* node = root.at_path("input.shared_group").node();
    const std::string message =
        "[mqtt] protocol = \"3.1.1\" has no shared subscriptions: set [input] shared_group = \"\" (one instance "
        "reads every batch)";
    if (node != nullptr) {
      r.error(*node, message);
    } else {
      result.errors.push_back({source, 0, 0, message});
    }
  }

  if (const toml::table* t = r.sub_table(root, "buffer", false)) {
    r.reject_unknown(*t, "buffer", {"segment_size", "max_size", "sync"});
    r.byte_size(*t, "segment_size", c.buffer_segment_bytes, 64 * 1024, 1ULL << 30U);
    r.byte_size(*t, "max_size", c.buffer_max_bytes, 128 * 1024, 1ULL << 42U);
    if (c.buffer_max_bytes < 2 * c.buffer_segment_bytes) {
      r.error_in(*t, "\"max_size\" must be at least twice \"segment_size\" (the cap drops whole segments)");
    }
    r.boolean(*t, "sync", c.buffer_sync);
  }

  if (const toml::table* t = r.sub_table(root, "remote_write", true)) {
    r.reject_unknown(*t, "remote_write",
                     {"endpoints", "delay", "max_samples", "timeout", "retry_min", "retry_max", "max_pending_requests",
                      "shards"});
    read_endpoints(r, *t, "endpoints", "remote_write.endpoints", c.endpoints);
    if (c.endpoints.empty()) {
      r.error_in(*t, "missing \"endpoints\": expected at least one remote-write URL such as "
                     "\"http://127.0.0.1:9090/api/v1/write\"");
    }
    r.duration(*t, "delay", c.write_delay, milliseconds(1), milliseconds(60000));
    r.integer(*t, "max_samples", c.max_samples, 1, 10'000'000);
    r.duration(*t, "timeout", c.write_timeout, milliseconds(100), milliseconds(600000));
    r.duration(*t, "retry_min", c.retry_min, milliseconds(10), milliseconds(600000));
    r.duration(*t, "retry_max", c.retry_max, milliseconds(10), milliseconds(3600000));
    if (c.retry_max < c.retry_min) r.error_in(*t, "\"retry_max\" must not be shorter than \"retry_min\"");
    r.integer(*t, "max_pending_requests", c.max_pending_requests, 1, 1000);
    r.integer(*t, "shards", c.shards, 1, 64);
  }

  if (const toml::table* t = r.sub_table(root, "alertmanager", false)) {
    r.reject_unknown(*t, "alertmanager", {"urls", "resend"});
    read_endpoints(r, *t, "urls", "alertmanager.urls", c.alertmanagers);
    r.duration(*t, "resend", c.alert_resend, milliseconds(1000), milliseconds(3600000));
  }

  if (const toml::table* t = r.sub_table(root, "http", false)) {
    r.reject_unknown(*t, "http", {"listen"});
    read_listen_addresses(r, *t, c.listen);
  }
  result.config = std::move(c);
  return result;
}

}  // namespace

std::optional<http_url> parse_http_url(std::string_view url, std::string& error) {
  http_url u;
  std::string_view rest;
  if (url.starts_with("https://")) {
    u.tls = true;
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    error = "expected an http:// or https:// URL, got \"" + std::string(url) + "\"";
    return std::nullopt;
  }
  const std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  u.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (authority.starts_with("[")) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "an IPv6 address must be written [addr]:port";
      return std::nullopt;
    }
    u.host = std::string(authority.substr(1, close - 1));
    authority.remove_prefix(close + 1);
    if (authority.starts_with(":")) u.port = std::string(authority.substr(1));
  } else {
    const std::size_t colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) u.port = std::string(authority.substr(colon + 1));
  }
  if (u.port.empty()) u.port = u.tls ? "443" : "80";
  const bool digits = std::all_of(u.port.begin(), u.port.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (u.host.empty() || !digits || u.port.size() > 5 || std::stoul(u.port) == 0 || std::stoul(u.port) > 65535) {
    error = "expected scheme://host[:port][/path], got \"" + std::string(url) + "\"";
    return std::nullopt;
  }
  if (u.target.find_first_of(" \r\n") != std::string::npos) {
    error = "the URL's path must not contain spaces or line breaks";
    return std::nullopt;
  }
  return u;
}

ingest_config_result parse_ingest_config(std::string_view text, const std::string& source_name) {
  toml_parse_outcome parsed = parse_toml_text(text, source_name);
  if (!parsed.document) {
    ingest_config_result result;
    result.errors.push_back(std::move(*parsed.error));
    return result;
  }
  return parse_document(*parsed.document, source_name);
}

ingest_config_result load_ingest_config(const std::string& path) {
  config_error error;
  const auto text = read_config_text(path, error);
  if (!text) {
    ingest_config_result result;
    result.errors.push_back(std::move(error));
    return result;
  }
  return parse_ingest_config(*text, path);
}

}  // namespace racktel::ingest
