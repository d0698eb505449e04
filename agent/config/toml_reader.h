// Reading a TOML document with errors a person can act on: every value is
// checked against what was expected, and every error names file:line:column.
// Shared by the agent's and racktel-ingest's configuration files.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "common/units.h"
#include "config/config.h"
#include "config/secrets.h"

namespace racktel {

// Collects errors against nodes of one file, and reads typed values with
// messages that say what was expected.
class toml_reader {
 public:
  toml_reader(std::string file, std::vector<config_error>& errors, std::vector<config_error>& warnings)
      : file_(std::move(file)), errors_(errors), warnings_(warnings) {}

  bool strict = false;  // [agent] security = "strict": warnings are errors

  // Something that works but should not be so: a warning, or an error when strict.
  void weakness(const toml::node& node, const std::string& message) {
    if (strict) {
      error(node, message + " (refused: [agent] security = \"strict\")");
      return;
    }
    const auto& where = node.source();
    warnings_.push_back({file_, static_cast<int>(where.begin.line), static_cast<int>(where.begin.column), message});
  }

  void error(const toml::node& node, const std::string& message) { error_at(node.source(), message); }
  void error_at(const toml::source_region& where, const std::string& message) {
    errors_.push_back({file_, static_cast<int>(where.begin.line), static_cast<int>(where.begin.column), message});
  }
  void error_in(const toml::table& table, const std::string& message) {
    // A table built from a [header] starts at the header; an implicit one has no position.
    if (table.source().begin.line > 0) {
      error(table, message);
    } else {
      errors_.push_back({file_, 0, 0, message});
    }
  }

  // Every key not in `known` is an error: typos must not silently become defaults.
  void reject_unknown(const toml::table& table, const std::string& table_name,
                      std::initializer_list<std::string_view> known) {
    for (const auto& [key, node] : table) {
      if (std::find(known.begin(), known.end(), key.str()) == known.end()) {
        std::string list;
        for (auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
        // Point at the key itself, which is what the person mistyped.
        error_at(key.source().begin.line > 0 ? key.source() : node.source(),
                 "unknown key \"" + std::string(key.str()) + "\" in [" + table_name + "]; expected one of: " + list);
      }
    }
  }

  const toml::table* sub_table(const toml::table& parent, std::string_view key, bool required) {
    const toml::node* node = parent.get(key);
    if (node == nullptr) {
      if (required) error_in(parent, "missing table [" + std::string(key) + "]");
      return nullptr;
    }
    if (!node->is_table()) {
      error(*node, "expected [" + std::string(key) + "] to be a table");
      return nullptr;
    }
    return node->as_table();
  }

  void string(const toml::table& t, std::string_view key, std::string& out, bool required = false) {
    const toml::node* node = t.get(key);
    if (node == nullptr) {
      if (required) error_in(t, "missing key \"" + std::string(key) + "\"; expected a string");
      return;
    }
    if (const auto* s = node->as_string()) {
      out = s->get();
    } else {
      error(*node, "expected \"" + std::string(key) + "\" to be a string");
    }
  }

  void optional_string(const toml::table& t, std::string_view key, std::optional<std::string>& out) {
    std::string value;
    if (t.get(key) == nullptr) return;
    const std::size_t before = errors_.size();
    string(t, key, value);
    if (errors_.size() == before) out = value;
  }

  void duration(const toml::table& t, std::string_view key, std::chrono::milliseconds& out,
                std::chrono::milliseconds min, std::chrono::milliseconds max) {
    const toml::node* node = t.get(key);
    if (node == nullptr) return;
    const auto* s = node->as_string();
    auto parsed = s ? parse_duration(s->get()) : std::nullopt;
    if (!parsed) {
      error(*node, "expected \"" + std::string(key) +
                       "\" to be a duration string such as \"500ms\", \"1s\" or \"2m\"");
      return;
    }
    if (*parsed < min || *parsed > max) {
      error(*node, "\"" + std::string(key) + "\" must be between " + format_duration(min) +
                       " and " + format_duration(max) + ", got " + format_duration(*parsed));
      return;
    }
    out = *parsed;
  }

  template <typename Int>
  void integer(const toml::table& t, std::string_view key, Int& out, std::int64_t min,
               std::int64_t max) {
    const toml::node* node = t.get(key);
    if (node == nullptr) return;
    const auto* v = node->as_integer();
    if (v == nullptr || v->get() < min || v->get() > max) {
      error(*node, "expected \"" + std::string(key) + "\" to be an integer from " +
                       std::to_string(min) + " to " + std::to_string(max));
      return;
    }
    out = static_cast<Int>(v->get());
  }

  void byte_size(const toml::table& t, std::string_view key, std::uint64_t& out, std::uint64_t min,
                 std::uint64_t max) {
    const toml::node* node = t.get(key);
    if (node == nullptr) return;
    std::optional<std::uint64_t> bytes;
    if (const auto* s = node->as_string()) bytes = parse_byte_size(s->get());
    if (const auto* i = node->as_integer(); i != nullptr && i->get() >= 0) {
      bytes = static_cast<std::uint64_t>(i->get());
    }
    if (!bytes || *bytes < min || *bytes > max) {
      error(*node, "expected \"" + std::string(key) + "\" to be a size from " +
                       std::to_string(min) + " to " + std::to_string(max) +
                       " bytes, such as \"16MiB\"");
      return;
    }
    out = *bytes;
  }

  void boolean(const toml::table& t, std::string_view key, bool& out) {
    const toml::node* node = t.get(key);
    if (node == nullptr) return;
    if (const auto* b = node->as_boolean()) {
      out = b->get();
    } else {
      error(*node, "expected \"" + std::string(key) + "\" to be true or false");
    }
  }

  void number(const toml::table& t, std::string_view key, std::optional<double>& out) {
    const toml::node* node = t.get(key);
    if (node == nullptr) return;
    if (const auto* f = node->as_floating_point(); f != nullptr && std::isfinite(f->get())) {
      out = f->get();
    } else if (const auto* i = node->as_integer()) {
      out = static_cast<double>(i->get());
    } else {
      error(*node, "expected \"" + std::string(key) + "\" to be a finite number");
    }
  }

  // "${CREDENTIALS_DIRECTORY}/name" -> the file systemd's LoadCredential= made.
  std::string expand_credentials(const toml::node& node, const std::string& path) {
    std::string why;
    std::string expanded = expand_credentials_directory(path, why);
    if (!why.empty()) error(node, why);
    return expanded;
  }

  // The first line of a file holding a secret; the secret never appears in a message.
  std::optional<std::string> secret_file(const toml::node& node, const std::string& path) {
    const std::string expanded = expand_credentials(node, path);
    if (expanded.empty()) return std::nullopt;
    secret_read read = read_secret_file(expanded);
    if (!read.check.error.empty()) {
      error(node, read.check.error);
      return std::nullopt;
    }
    if (!read.check.warning.empty()) weakness(node, read.check.warning);
    return read.value;
  }

  // A PEM file (CA, certificate, key) that must exist now, not at the first connect.
  std::string pem_file(const toml::node& node, const std::string& path, std::string_view key, bool secret) {
    const std::string expanded = expand_credentials(node, path);
    if (expanded.empty()) return {};
    const secret_file_check check = check_secret_file(expanded, 1U << 20U);
    if (!check.error.empty()) {
      error(node, std::string(key) + ": " + check.error);
      return expanded;
    }
    if (secret && !check.warning.empty()) weakness(node, check.warning);
    std::ifstream in(expanded, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const bool pem = secret ? text.find("-----BEGIN ") != std::string::npos &&
                                  text.find("PRIVATE KEY-----") != std::string::npos
                            : text.find("-----BEGIN CERTIFICATE-----") != std::string::npos;
    if (!pem) {
      error(node, std::string(key) + ": \"" + expanded + "\" is not a PEM " +
                      (secret ? "private key" : "certificate") + " file");
    }
    return expanded;
  }

  const std::string& file() const { return file_; }
  std::vector<config_error>& errors() { return errors_; }

 private:
  std::string file_;
  std::vector<config_error>& errors_;
  std::vector<config_error>& warnings_;
};

// scheme://host:port, with host a name, an IPv4 address or [IPv6], and nothing else.
bool valid_broker_uri(const std::string& uri);
// What brokers accept as a client id.
bool valid_client_id(const std::string& id);
// Site, rack and instance names become MQTT topic levels and ids.
bool is_identifier(const std::string& s);

// Who reads an [mqtt] table: the agent publishes, racktel-ingest subscribes;
// each has keys the other does not.
enum class mqtt_role { agent, ingest };
// Reads the keys of an [mqtt] table into `mqtt`; `default_client_id` unless `client_id` is given.
// "127.0.0.1:9464" or "[::1]:0": an address (not a name) and a port, 0 for any.
bool valid_listen_address(const std::string& text);
// An [http] table's "listen": a list of such addresses, each checked.
void read_listen_addresses(toml_reader& r, const toml::table& table, std::vector<std::string>& out);

void read_mqtt_table(toml_reader& r, const toml::table& table, mqtt_config& mqtt, mqtt_role role,
                     const std::string& default_client_id);

// Parses `text` as TOML (refusing what toml++ cannot read safely) and hands
// the document to `read`; a syntax error becomes the only error.
struct toml_parse_outcome {
  std::shared_ptr<toml::table> document;  // null when it did not parse
  std::optional<config_error> error;
};
toml_parse_outcome parse_toml_text(std::string_view text, const std::string& source_name);
// The file's text, or an error naming the file.
std::optional<std::string> read_config_text(const std::string& path, config_error& error);

}  // namespace racktel
