#include "config.h"

#include <grp.h>
#include <sys/un.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <iterator>
#include <tuple>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "common/units.h"
#include "config/secrets.h"
#include "config/toml_reader.h"

namespace racktel {

std::string config_error::to_string() const {
  std::string where = file;
  if (line > 0) where += ":" + std::to_string(line) + ":" + std::to_string(column);
  return where + ": " + message;
}

bool mqtt_config::uses_tls() const {
  return std::any_of(brokers.begin(), brokers.end(), [](const std::string& b) { return b.starts_with("ssl://"); });
}

bool same_driver(const driver_config& a, const driver_config& b) {
  return a.name == b.name && a.type == b.type && a.module == b.module && a.interval == b.interval &&
         a.deadline == b.deadline && a.group_intervals == b.group_intervals && a.enabled == b.enabled &&
         *a.table == *b.table;
}

std::vector<std::string> restart_only_differences(const agent_config& running, const agent_config& next) {
  std::vector<std::string> out;
  if (running.site != next.site) out.emplace_back("site");
  if (running.rack != next.rack) out.emplace_back("rack");
  if (running.state_dir != next.state_dir) out.emplace_back("state_dir");
  if (running.status_socket != next.status_socket) out.emplace_back("status_socket");
  if (running.driver_dir != next.driver_dir) out.emplace_back("driver_dir");
  if (!(running.mqtt == next.mqtt)) out.emplace_back("[mqtt]");
  if (!(running.spool == next.spool)) out.emplace_back("[spool]");
  if (!(running.http == next.http)) out.emplace_back("[http]");
  return out;
}

std::string topic_root(const agent_config& config) {
  return "racktel/v1/" + config.site + "/" + config.rack;
}

namespace {

using reader = toml_reader;

void read_agent(reader& r, const toml::table& root, agent_config& config) {
  const toml::table* agent = r.sub_table(root, "agent", true);
  if (agent == nullptr) return;
  r.reject_unknown(*agent, "agent",
                   {"site", "rack", "state_dir", "status_socket", "driver_dir", "log_level",
                    "stale_after", "control_groups", "security"});
  std::string security = "warn";
  r.string(*agent, "security", security);
  if (security != "warn" && security != "strict") {
    r.error(*agent->get("security"), "\"security\" must be \"warn\" or \"strict\"");
  }
  config.strict_security = r.strict = security == "strict";
  r.string(*agent, "site", config.site, true);
  r.string(*agent, "rack", config.rack, true);
  for (auto [key, value] : {std::pair{"site", &config.site}, std::pair{"rack", &config.rack}}) {
    if (const toml::node* node = agent->get(key); node && node->is_string() && !is_identifier(*value)) {
      r.error(*node, std::string("\"") + key +
                         "\" must be 1-64 characters of letters, digits, '-' or '_' (it becomes "
                         "an MQTT topic level)");
    }
  }
  r.string(*agent, "state_dir", config.state_dir);
  if (const toml::node* node = agent->get("state_dir"); node && config.state_dir.empty()) {
    r.error(*node, "\"state_dir\" must not be empty; expected a directory such as \"/var/lib/racktel\"");
  }
  r.string(*agent, "status_socket", config.status_socket);
  if (const toml::node* node = agent->get("status_socket")) {
    constexpr std::size_t unix_path_max = sizeof(sockaddr_un::sun_path) - 1;
    if (config.status_socket.empty()) {
      r.error(*node, "\"status_socket\" must not be empty; expected a path such as \"/run/racktel/status.sock\"");
    } else if (config.status_socket.size() > unix_path_max) {
      r.error(*node, "\"status_socket\" is " + std::to_string(config.status_socket.size()) +
                         " bytes long; a Unix socket path holds at most " + std::to_string(unix_path_max));
    }
  }
  r.string(*agent, "driver_dir", config.driver_dir);
  r.string(*agent, "log_level", config.log_level);
  static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error", "off"};
  if (const toml::node* node = agent->get("log_level"); node && !levels.contains(config.log_level)) {
    r.error(*node, "\"log_level\" must be one of trace, debug, info, warn, error, off");
  }
  r.integer(*agent, "stale_after", config.stale_after, 1, 1000);
  if (const toml::node* node = agent->get("control_groups")) {
    const auto* list = node->as_array();
    if (list == nullptr) r.error(*node, "expected \"control_groups\" to be a list of group names");
    for (std::size_t i = 0; list != nullptr && i < list->size(); ++i) {
      const toml::node& element = *list->get(i);
      const auto* name = element.as_string();
      const ::group* g = name ? ::getgrnam(name->get().c_str()) : nullptr;
      if (g == nullptr) {
        r.error(element, name ? "no group \"" + name->get() + "\" on this system" : "expected a group name");
        continue;
      }
      config.control_groups.push_back(name->get());
      config.control_gids.push_back(g->gr_gid);
    }
  }
}

void read_batch(reader& r, const toml::table& root, batch_config& batch) {
  const toml::table* table = r.sub_table(root, "batch", false);
  if (table == nullptr) return;
  r.reject_unknown(*table, "batch", {"interval", "max_readings"});
  r.duration(*table, "interval", batch.interval, std::chrono::milliseconds(50),
             std::chrono::milliseconds(60000));
  r.integer(*table, "max_readings", batch.max_readings, 1, 1'000'000);
}

void read_spool(reader& r, const toml::table& root, spool_config& spool) {
  const toml::table* table = r.sub_table(root, "spool", false);
  if (table == nullptr) return;
  r.reject_unknown(*table, "spool", {"enabled", "segment_size", "max_size", "sync_interval", "replay_rate"});
  r.boolean(*table, "enabled", spool.enabled);
  r.byte_size(*table, "segment_size", spool.segment_bytes, 64 * 1024, 1ULL << 30U);
  r.byte_size(*table, "max_size", spool.max_bytes, 128 * 1024, 1ULL << 40U);
  if (spool.max_bytes < 2 * spool.segment_bytes) {
    r.error_in(*table, "\"max_size\" must be at least twice \"segment_size\" (the cap drops whole segments)");
  }
  r.duration(*table, "sync_interval", spool.sync_interval, std::chrono::milliseconds(10),
             std::chrono::milliseconds(60000));
  std::int64_t rate = static_cast<std::int64_t>(spool.replay_rate);
  r.integer(*table, "replay_rate", rate, 100, 100'000'000);
  spool.replay_rate = static_cast<double>(rate);
}

void read_mqtt(reader& r, const toml::table& root, agent_config& config) {
  const toml::table* table = r.sub_table(root, "mqtt", true);
  if (table == nullptr) return;
  read_mqtt_table(r, *table, config.mqtt, mqtt_role::agent, "racktel-" + config.site + "-" + config.rack);
}

void read_drivers(reader& r, const toml::table& root, agent_config& config,
                  const std::shared_ptr<const toml::table>& document) {
  const toml::node* node = root.get("drivers");
  if (node == nullptr) {
    // An agent with nothing to read is a file not yet finished (the shipped one).
    r.error_in(root, "no [[drivers]] table: the agent would read nothing; add one for each source of readings on "
                     "this rack (docs/drivers.md)");
    return;
  }
  const auto* list = node->as_array();
  if (list == nullptr || !list->is_array_of_tables()) {
    r.error(*node, "expected [[drivers]] tables, one per driver instance");
    return;
  }
  std::set<std::string> names;
  for (const toml::node& element : *list) {
    const toml::table& t = *element.as_table();
    driver_config d;
    d.source_file = r.file();
    // The table stays owned by the parsed document, which the config keeps alive.
    d.table = std::shared_ptr<const toml::table>(document, &t);
    r.string(t, "name", d.name, true);
    r.string(t, "type", d.type, true);
    if (const toml::node* n = t.get("name"); n && n->is_string()) {
      if (!is_identifier(d.name)) {
        r.error(*n, "driver \"name\" must be 1-64 characters of letters, digits, '-' or '_'");
      } else if (!names.insert(d.name).second) {
        r.error(*n, "driver name \"" + d.name + "\" is used twice; names must be unique");
      }
    }
    r.optional_string(t, "module", d.module);
    using std::chrono::milliseconds;
    r.duration(t, "interval", d.interval, milliseconds(10), milliseconds(86400000));
    std::chrono::milliseconds deadline{0};
    if (t.get("deadline") != nullptr) {
      r.duration(t, "deadline", deadline, milliseconds(1), milliseconds(3600000));
      d.deadline = deadline;
    }
    r.boolean(t, "enabled", d.enabled);
    if (const toml::table* groups = r.sub_table(t, "group_intervals", false)) {
      for (const auto& [key, value] : *groups) {
        milliseconds interval{0};
        const std::size_t before = r.errors().size();
        r.duration(*groups, key.str(), interval, milliseconds(10), milliseconds(86400000));
        if (r.errors().size() == before) d.group_intervals[std::string(key.str())] = interval;
      }
    }
    // A read still running at the next tick makes that tick a TIMEOUT: a deadline
    // past the interval can never be met.
    if (d.deadline) {
      const toml::node& at = *t.get("deadline");
      if (t.get("interval") != nullptr && *d.deadline > d.interval) {
        r.error(at, "\"deadline\" (" + format_duration(*d.deadline) + ") is longer than \"interval\" (" +
                        format_duration(d.interval) + "); a read must end before the next one is due");
      }
      for (const auto& [group, interval] : d.group_intervals) {
        if (*d.deadline > interval) {
          r.error(at, "\"deadline\" (" + format_duration(*d.deadline) + ") is longer than group \"" + group +
                          "\"'s interval (" + format_duration(interval) + ")");
        }
      }
    }
    d.strict_security = config.strict_security;
    if (!config.state_dir.empty()) d.state_dir = config.state_dir + "/drivers/" + d.name;
    config.drivers.push_back(std::move(d));
  }
}

void read_alarms(reader& r, const toml::table& root, agent_config& config) {
  const toml::node* node = root.get("alarms");
  if (node == nullptr) return;
  const auto* list = node->as_array();
  if (list == nullptr || !list->is_array_of_tables()) {
    r.error(*node, "expected [[alarms]] tables, one per rule");
    return;
  }
  for (const toml::node& element : *list) {
    const toml::table& t = *element.as_table();
    r.reject_unknown(t, "alarms",
                     {"name", "match", "location", "warn_low", "warn_high", "crit_low", "crit_high", "hysteresis",
                      "on_delay", "on_readings", "severity", "failing_after", "failing_severity", "suppress"});
    alarm_rule rule;
    const std::size_t before = r.errors().size();
    r.string(t, "name", rule.name);
    r.string(t, "match", rule.match, true);
    if (const toml::node* labels = t.get("location")) {
      const auto* table = labels->as_table();
      if (table == nullptr) r.error(*labels, "expected \"location\" to be a table of labels, e.g. { tray = \"3\" }");
      for (const auto& [key, value] : table ? *table : toml::table{}) {
        if (const auto* text = value.as_string()) {
          rule.location.emplace_back(std::string(key.str()), text->get());
        } else {
          r.error(value, "expected location label \"" + std::string(key.str()) + "\" to be a string (a glob)");
        }
      }
    }
    r.number(t, "warn_low", rule.warn_low);
    r.number(t, "warn_high", rule.warn_high);
    r.number(t, "crit_low", rule.crit_low);
    r.number(t, "crit_high", rule.crit_high);
    r.number(t, "hysteresis", rule.hysteresis);
    using std::chrono::milliseconds;
    if (t.get("on_delay") != nullptr) {
      milliseconds delay{0};
      r.duration(t, "on_delay", delay, milliseconds(0), milliseconds(86400000));
      rule.on_delay = delay;
    }
    if (t.get("on_readings") != nullptr) {
      std::uint32_t readings = 1;
      r.integer(t, "on_readings", readings, 1, 65535);
      rule.on_readings = readings;
    }
    if (t.get("failing_after") != nullptr) {
      milliseconds after{0};
      r.duration(t, "failing_after", after, milliseconds(0), milliseconds(86400000));
      rule.failing_after = after;
    }
    for (const auto& [key, target] : {std::pair{"severity", &rule.severity}, {"failing_severity", &rule.failing_severity}}) {
      std::optional<std::string> text;
      r.optional_string(t, key, text);
      if (!text) continue;
      *target = parse_alarm_severity(*text);
      if (!*target) r.error(*t.get(key), "expected \"" + std::string(key) + "\" to be \"warning\" or \"critical\"");
    }
    r.boolean(t, "suppress", rule.suppress);
    if (r.errors().size() != before) continue;
    // Each problem is placed at the key it names first, else at the table.
    for (const std::string& problem : check_alarm_rule(rule)) {
      const std::size_t open = problem.find('"');
      const std::size_t close = open == std::string::npos ? open : problem.find('"', open + 1);
      const toml::node* at = close == std::string::npos ? nullptr : t.get(problem.substr(open + 1, close - open - 1));
      if (at != nullptr) {
        r.error(*at, problem);
      } else {
        r.error_in(t, problem);
      }
    }
    config.alarms.push_back(std::move(rule));
  }
}

config_result parse_document(std::shared_ptr<toml::table> document, const std::string& source) {
  config_result result;
  agent_config config;
  config.source_file = source;
  reader r(source, result.errors, result.warnings);
  r.reject_unknown(*document, "top level", {"agent", "mqtt", "batch", "spool", "http", "drivers", "alarms"});
  if (const toml::table* http = r.sub_table(*document, "http", false)) {
    r.reject_unknown(*http, "http", {"listen", "username", "password", "password_file", "cert_file", "key_file"});
    read_listen_addresses(r, *http, config.http.listen);
    r.optional_string(*http, "username", config.http.username);
    r.optional_string(*http, "password", config.http.password);
    if (config.http.password) {
      r.weakness(*http->get("password"), "the /metrics password is written in the configuration file, which other "
                                         "users may read; put it in a file of mode 0600 and use \"password_file\"");
    }
    std::optional<std::string> password_file;
    r.optional_string(*http, "password_file", password_file);
    if (password_file) {
      if (config.http.password) {
        r.error(*http->get("password_file"), "give either \"password\" or \"password_file\", not both");
      } else {
        config.http.password = r.secret_file(*http->get("password_file"), *password_file);
      }
    }
    if (config.http.username.has_value() != config.http.password.has_value()) {
      r.error_in(*http, "basic authentication needs both \"username\" and \"password_file\" (or neither)");
    }
    for (auto [key, target, secret] : {std::tuple{"cert_file", &config.http.cert_file, false},
                                       std::tuple{"key_file", &config.http.key_file, true}}) {
      std::optional<std::string> path;
      r.optional_string(*http, key, path);
      if (path) *target = r.pem_file(*http->get(key), *path, key, secret);
    }
    if (config.http.cert_file.empty() != config.http.key_file.empty()) {
      r.error_in(*http, "HTTPS needs both \"cert_file\" and \"key_file\" (or neither, for plain HTTP)");
    }
  }
  read_agent(r, *document, config);
  read_batch(r, *document, config.batch);
  read_spool(r, *document, config.spool);
  read_mqtt(r, *document, config);
  read_drivers(r, *document, config, document);
  read_alarms(r, *document, config);
  // Kept even with errors, so that the drivers' own checks can run as well
  // and every error of the file is reported at once; ok() says if it is usable.
  result.config = std::move(config);
  return result;
}

}  // namespace

std::optional<config_error> find_non_ascii_outside_strings(std::string_view text, const std::string& source_name) {
  enum class state { normal, comment, basic, literal, multi_basic, multi_literal };
  state st = state::normal;
  int line = 1, column = 1;
  auto starts = [&](std::size_t i, std::string_view what) { return text.substr(i, what.size()) == what; };
  // Skips to the end of a closing delimiter of three `quote`s; up to two more belong to the string.
  auto close_multi = [&](std::size_t& i, char quote) {
    std::size_t end = i + 3;
    while (end < text.size() && end < i + 5 && text[end] == quote) ++end;
    column += static_cast<int>(end - i) - 1;
    i = end - 1;
    st = state::normal;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    const int here_line = line, here_column = column;
    if (c == '\n') {
      ++line;
      column = 1;
    } else if ((c & 0xC0U) != 0x80U) {
      ++column;  // characters, not UTF-8 continuation bytes
    }
    switch (st) {
      case state::normal:
        if (c >= 0x80) {
          return config_error{source_name, here_line, here_column,
                              "a character beyond ASCII outside a quoted string; TOML allows them only in strings and "
                              "comments (quote the key: \"...\" = ...)"};
        }
        if (c == '#') {
          st = state::comment;
        } else if (starts(i, R"(""")")) {
          st = state::multi_basic;
          i += 2;
          column += 2;
        } else if (starts(i, "'''")) {
          st = state::multi_literal;
          i += 2;
          column += 2;
        } else if (c == '"') {
          st = state::basic;
        } else if (c == '\'') {
          st = state::literal;
        }
        break;
      case state::comment:
        if (c == '\n') st = state::normal;
        break;
      case state::basic:
        if (c == '\\' && i + 1 < text.size() && text[i + 1] != '\n') {
          ++i;  // an escaped character, whatever it is (toml++ judges the escape itself)
          ++column;
        } else if (c == '"' || c == '\n') {
          st = state::normal;  // an unterminated string is toml++'s error to report
        }
        break;
      case state::literal:
        if (c == '\'' || c == '\n') st = state::normal;
        break;
      case state::multi_basic:
        if (c == '\\' && i + 1 < text.size()) {
          ++i;
          if (text[i] == '\n') {
            ++line;
            column = 1;
          } else {
            ++column;
          }
        } else if (starts(i, R"(""")")) {
          close_multi(i, '"');
        }
        break;
      case state::multi_literal:
        if (starts(i, "'''")) close_multi(i, '\'');
        break;
    }
  }
  return std::nullopt;
}

config_result parse_config(std::string_view text, const std::string& source_name) {
  toml_parse_outcome parsed = parse_toml_text(text, source_name);
  if (!parsed.document) {
    config_result result;
    result.errors.push_back(std::move(*parsed.error));
    return result;
  }
  return parse_document(std::move(parsed.document), source_name);
}

config_result load_config_file(const std::string& path) {
  config_error error;
  const auto text = read_config_text(path, error);
  if (!text) {
    config_result result;
    result.errors.push_back(std::move(error));
    return result;
  }
  return parse_config(*text, path);
}

}  // namespace racktel
