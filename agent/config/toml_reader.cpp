#include "config/toml_reader.h"

#include <algorithm>
#include <cctype>
#include <sstream>
#include <string>
#include <tuple>

namespace racktel {

// scheme://host:port, with host a name, an IPv4 address or [IPv6], and nothing else.
bool valid_broker_uri(const std::string& uri) {
  if (!(uri.starts_with("tcp://") || uri.starts_with("ssl://"))) return false;
  const std::string rest = uri.substr(6);
  std::size_t port_at = 0;
  if (rest.starts_with("[")) {
    const std::size_t close = rest.find(']');
    if (close == std::string::npos || close == 1) return false;
    const std::string host = rest.substr(1, close - 1);
    if (!std::all_of(host.begin(), host.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.'; })) {
      return false;
    }
    if (close + 1 >= rest.size() || rest[close + 1] != ':') return false;
    port_at = close + 2;
  } else {
    const std::size_t colon = rest.find(':');
    if (colon == std::string::npos || colon == 0) return false;
    const std::string host = rest.substr(0, colon);
    if (!std::all_of(host.begin(), host.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_'; })) {
      return false;
    }
    port_at = colon + 1;
  }
  const std::string port = rest.substr(port_at);
  if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  const long number = std::stol(port);
  return number >= 1 && number <= 65535;
}

bool valid_client_id(const std::string& id) {
  return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == ':';
  });
}

bool is_identifier(const std::string& s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

void read_mqtt_table(toml_reader& r, const toml::table& table_ref, mqtt_config& mqtt, mqtt_role role,
                     const std::string& default_client_id) {
  const toml::table* table = &table_ref;
  if (role == mqtt_role::agent) {
    r.reject_unknown(*table, "mqtt",
                     {"brokers", "client_id", "protocol", "keepalive", "connect_timeout", "reconnect_min",
                      "reconnect_max", "username", "password", "password_file", "queue_limit",
                      "max_inflight", "ca_file", "cert_file", "key_file", "key_password_file",
                      "verify_hostname", "ack_timeout"});
  } else {
    r.reject_unknown(*table, "mqtt",
                     {"brokers", "client_id", "protocol", "keepalive", "connect_timeout", "reconnect_min",
                      "reconnect_max", "username", "password", "password_file", "ca_file", "cert_file",
                      "key_file", "key_password_file", "verify_hostname"});
  }
  const toml::node* brokers = table->get("brokers");
  if (brokers == nullptr) {
    r.error_in(*table, "missing key \"brokers\"; expected a list of URIs such as [\"tcp://127.0.0.1:1883\"]");
  } else if (const auto* list = brokers->as_array(); list == nullptr || list->empty()) {
    r.error(*brokers, "expected \"brokers\" to be a non-empty list of URIs");
  } else {
    for (const toml::node& uri : *list) {
      const auto* s = uri.as_string();
      std::string value = s ? s->get() : "";
      // mqtt:// and mqtts:// are accepted as the conventional spellings of Paho's tcp:// and ssl://.
      if (value.starts_with("mqtt://")) value = "tcp://" + value.substr(7);
      if (value.starts_with("mqtts://")) value = "ssl://" + value.substr(8);
      if (!valid_broker_uri(value)) {
        r.error(uri, "expected a broker URI \"tcp://host:port\" or \"mqtts://host:port\" (IPv6 as [::1]), got \"" +
                         (s ? s->get() : std::string()) + "\"");
        continue;
      }
      mqtt.brokers.push_back(value);
    }
  }
  mqtt.client_id = default_client_id;
  r.string(*table, "client_id", mqtt.client_id);
  if (const toml::node* node = table->get("client_id"); node && !valid_client_id(mqtt.client_id)) {
    r.error(*node, "\"client_id\" must be 1-128 characters of letters, digits, '-', '_', '.' or ':' (brokers refuse "
                   "others)");
  }
  // "5" (the default) or "3.1.1", for brokers without MQTT 5 (NATS): see docs/deployment.md for what is lost.
  if (const toml::node* node = table->get("protocol")) {
    const auto* s = node->as_string();
    if (s != nullptr && s->get() == "5") {
      mqtt.protocol = mqtt_protocol::v5;
    } else if (s != nullptr && s->get() == "3.1.1") {
      mqtt.protocol = mqtt_protocol::v3_1_1;
    } else {
      r.error(*node, "\"protocol\" must be \"5\" or \"3.1.1\" (a string)");
    }
  }
  using std::chrono::milliseconds;
  r.duration(*table, "keepalive", mqtt.keepalive, milliseconds(1000), milliseconds(3600000));
  r.duration(*table, "connect_timeout", mqtt.connect_timeout, milliseconds(100), milliseconds(120000));
  r.duration(*table, "reconnect_min", mqtt.reconnect_min, milliseconds(10), milliseconds(600000));
  r.duration(*table, "reconnect_max", mqtt.reconnect_max, milliseconds(10), milliseconds(3600000));
  if (mqtt.reconnect_max < mqtt.reconnect_min) {
    r.error_in(*table, "\"reconnect_max\" must not be shorter than \"reconnect_min\"");
  }
  r.optional_string(*table, "username", mqtt.username);
  r.optional_string(*table, "password", mqtt.password);
  if (mqtt.password) {
    r.weakness(*table->get("password"), "the broker password is written in the configuration file, which other "
                                        "users may read; put it in a file of mode 0600 and use \"password_file\"");
  }
  std::optional<std::string> password_file;
  r.optional_string(*table, "password_file", password_file);
  if (password_file) {
    const toml::node& node = *table->get("password_file");
    if (mqtt.password) {
      r.error(node, "give either \"password\" or \"password_file\", not both");
    } else {
      mqtt.password = r.secret_file(node, *password_file);
    }
  }
  // TLS material: files must exist, be what they claim, and be readable now, not at the first connect.
  for (auto [key, target, secret] : {std::tuple{"ca_file", &mqtt.ca_file, false},
                                     std::tuple{"cert_file", &mqtt.cert_file, false},
                                     std::tuple{"key_file", &mqtt.key_file, true}}) {
    std::optional<std::string> path;
    r.optional_string(*table, key, path);
    if (path) *target = r.pem_file(*table->get(key), *path, key, secret);
  }
  std::optional<std::string> key_password_file;
  r.optional_string(*table, "key_password_file", key_password_file);
  if (key_password_file) mqtt.key_password = r.secret_file(*table->get("key_password_file"), *key_password_file);
  if (mqtt.cert_file.empty() != mqtt.key_file.empty()) {
    r.error_in(*table, "give both \"cert_file\" and \"key_file\" for a client certificate, or neither");
  }
  r.boolean(*table, "verify_hostname", mqtt.verify_hostname);
  if (!mqtt.uses_tls() && (!mqtt.ca_file.empty() || !mqtt.cert_file.empty())) {
    r.error_in(*table, "TLS files are set but no broker uses ssl:// or mqtts://");
  }
  const bool cleartext = std::any_of(mqtt.brokers.begin(), mqtt.brokers.end(),
                                     [](const std::string& b) { return b.starts_with("tcp://"); });
  if (cleartext && (mqtt.username || mqtt.password)) {
    r.weakness(*table->get("brokers"), "credentials are sent in cleartext to a tcp:// broker; use mqtts://");
  }
  r.byte_size(*table, "queue_limit", mqtt.queue_limit_bytes, 64 * 1024, 1ULL << 34U);
  r.integer(*table, "max_inflight", mqtt.max_inflight, 1, 65535);
  r.duration(*table, "ack_timeout", mqtt.ack_timeout, std::chrono::milliseconds(500), std::chrono::milliseconds(600000));
}

toml_parse_outcome parse_toml_text(std::string_view text, const std::string& source_name) {
  toml_parse_outcome out;
  if (auto bad = find_non_ascii_outside_strings(text, source_name)) {
    out.error = std::move(*bad);
    return out;
  }
  try {
    out.document = std::make_shared<toml::table>(toml::parse(text, source_name));
  } catch (const toml::parse_error& e) {
    out.error = config_error{source_name, static_cast<int>(e.source().begin.line),
                             static_cast<int>(e.source().begin.column),
                             "TOML syntax error: " + std::string(e.description())};
  }
  return out;
}

std::optional<std::string> read_config_text(const std::string& path, config_error& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = {path, 0, 0, "cannot open the configuration file"};
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// "127.0.0.1:9464" or "[::1]:0": an address (not a name) and a port, 0 for any.
bool valid_listen_address(const std::string& text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size() || text.size() - colon > 6) return false;
  const std::string port = text.substr(colon + 1);
  if (!std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) || std::stoul(port) > 65535) {
    return false;
  }
  std::string host = text.substr(0, colon);
  if (host.starts_with("[") && host.ends_with("]")) {
    host = host.substr(1, host.size() - 2);
    return host.find(':') != std::string::npos &&
           std::all_of(host.begin(), host.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.'; });
  }
  int dots = 0;
  for (char c : host) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 3;
}

void read_listen_addresses(toml_reader& r, const toml::table& table, std::vector<std::string>& out) {
  const toml::node* node = table.get("listen");
  if (node == nullptr) return;
  const auto* list = node->as_array();
  if (list == nullptr) r.error(*node, "expected \"listen\" to be a list of \"host:port\"");
  for (std::size_t i = 0; list != nullptr && i < list->size(); ++i) {
    const auto* s = list->get(i)->as_string();
    if (s == nullptr || !valid_listen_address(s->get())) {
      r.error(*list->get(i), "expected \"address:port\" such as \"127.0.0.1:9464\" or \"[::1]:9464\"");
      continue;
    }
    out.push_back(s->get());
  }
}

}  // namespace racktel
