// `racktel subscribe`: the reference decoder of the wire protocol.
#include <mqtt/async_client.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <deque>
#include <map>

#include "commands.h"
#include "common/units.h"
#include "config/secrets.h"
#include "publish/mqtt_options.h"
#include "status/maintenance_command.h"
#include "wire/codec.h"

namespace racktel::cli {
namespace {

namespace json = boost::json;

// How long to wait for an agent's retained state before saying there is none.
constexpr std::chrono::seconds no_state_after{3};

std::string clock_time(std::int64_t ms) {
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char text[32];
  std::snprintf(text, sizeof text, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return text;
}

// Prints values with as many decimals as the resolution has.
std::string format_value(double value, double resolution) {
  int decimals = 0;
  while (decimals < 6 && std::fabs(resolution * std::pow(10.0, decimals) - std::round(resolution * std::pow(10.0, decimals))) > 1e-9) {
    ++decimals;
  }
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

// A technician's eye: flag values at or beyond the catalog's limits.
const char* limit_flag(const sensor_meta& m, double v) {
  if ((m.crit_high && v >= *m.crit_high) || (m.crit_low && v <= *m.crit_low)) return "  CRIT";
  if ((m.warn_high && v >= *m.warn_high) || (m.warn_low && v <= *m.warn_low)) return "  WARN";
  return "";
}

class stream_printer {
 public:
  explicit stream_printer(const subscribe_options& o) : options_(o) {}

  // Returns the number of data batches printed by this message.
  unsigned on_message(const std::string& topic, const std::string& payload) {
    if (payload.size() > options_.max_payload) {
      std::fprintf(stderr, "racktel subscribe: %s: %zu bytes is more than --max-payload %zu; ignored\n", topic.c_str(),
                   payload.size(), options_.max_payload);
      return 0;
    }
    const std::string kind = topic.substr(topic.rfind('/') + 1);
    if (kind == "state") return on_state(topic, payload), 0;
    if (kind == "catalog") return on_catalog(topic, payload);
    if (kind == "data") return on_data(topic, payload);
    if (topic.ends_with("/alarms/active")) return on_active_alarms(topic, payload), 0;
    if (kind == "alarms") return on_alarm_event(topic, payload), 0;
    if (kind == "commission") return on_commission(topic, payload), 0;
    return 0;
  }

  void on_commission(const std::string& topic, const std::string& payload) {
    auto c = decode_commission(payload);
    if (!c) {
      std::fprintf(stderr, "racktel subscribe: %s: not a valid CommissionReport (%zu bytes)\n", topic.c_str(),
                   payload.size());
      return;
    }
    if (options_.json) {
      json::array checks;
      for (const check_result& r : c->report.checks) {
        checks.push_back(json::object{{"name", r.name}, {"passed", r.passed},
                                      {"findings", json::array(r.findings.begin(), r.findings.end())}});
      }
      emit(topic, json::object{{"type", "commission"}, {"time_ms", c->time_ms}, {"by", c->by},
                               {"expectations", c->expectations}, {"passed", c->report.passed},
                               {"checks", std::move(checks)}});
    } else {
      std::printf("%scommission  %s  by %s at %s UTC against %s\n", who(topic).c_str(),
                  c->report.passed ? "PASSED" : "FAILED", c->by.c_str(), clock_time(c->time_ms).c_str(),
                  c->expectations.c_str());
      for (const check_result& r : c->report.checks) {
        for (const std::string& f : r.findings) std::printf("  %s: %s\n", r.name.c_str(), f.c_str());
      }
    }
    std::fflush(stdout);
  }

  bool saw_state() const { return saw_state_; }

  // With a wildcard for the site or rack, every line names its rack.
  bool names_racks() const { return options_.site == "+" || options_.rack == "+"; }

 private:
  // "site/rack" from racktel/v1/<site>/<rack>/<kind>[/...].
  static std::string rack_of(const std::string& topic) {
    const std::size_t site = std::string_view("racktel/v1/").size();
    const std::size_t slash = topic.find('/', site);
    const std::size_t end = slash == std::string::npos ? slash : topic.find('/', slash + 1);
    return topic.size() > site && end != std::string::npos ? topic.substr(site, end - site) : topic;
  }

  // An alarm's fields, as both the event (alarm_event) and the active set (active_alarm) carry them.
  template <typename Alarm>
  static json::object alarm_json(const Alarm& a) {
    auto number = [](const std::optional<double>& v) { return v ? json::value(*v) : json::value(nullptr); };
    return {{"sensor", a.sensor_key}, {"kind", alarm_kind_name(a.kind)}, {"severity", alarm_severity_name(a.severity)},
            {"value", number(a.value)}, {"limit", a.limit}, {"threshold", number(a.threshold)},
            {"rule", a.rule}, {"since_ms", a.since_ms}, {"maintenance", a.maintenance}};
  }

  // "  (rule X)  [suppressed: maintenance 3]", or "".
  template <typename Alarm>
  static std::string alarm_notes(const Alarm& a) {
    std::string notes = a.rule.empty() ? "" : "  (rule " + a.rule + ")";
    if (a.maintenance != 0) notes += "  [suppressed: maintenance " + std::to_string(a.maintenance) + "]";
    return notes;
  }

  void on_alarm_event(const std::string& topic, const std::string& payload) {
    auto decoded = decode_alarm_event(payload);
    if (!decoded) {
      std::fprintf(stderr, "racktel subscribe: %s: not a valid AlarmEvent (%zu bytes)\n", topic.c_str(), payload.size());
      return;
    }
    const alarm_event& e = decoded->event;
    if (options_.json) {
      json::object o = alarm_json(e);
      o["type"] = "alarm";
      o["sequence"] = decoded->sequence;
      o["boot_id"] = to_hex(decoded->boot);
      o["raised"] = e.raised;
      o["time_ms"] = e.time_ms;
      emit(topic, o);
    } else {
      const std::string value = alarm_value(decoded->catalog_version, e);
      char threshold[32] = "";
      if (e.threshold) std::snprintf(threshold, sizeof threshold, " %g", *e.threshold);
      std::printf("%salarm    #%llu  %s  %s %-8s %-36s %12s  %s%s%s\n", who(topic).c_str(),
                  static_cast<unsigned long long>(decoded->sequence), clock_time(e.time_ms).c_str(),
                  e.raised ? "RAISED " : "CLEARED", alarm_severity_name(e.severity), e.sensor_key.c_str(),
                  value.c_str(), e.limit.c_str(), threshold, alarm_notes(e).c_str());
    }
    std::fflush(stdout);
  }

  void on_active_alarms(const std::string& topic, const std::string& payload) {
    auto active = decode_active_alarms(payload);
    if (!active) {
      std::fprintf(stderr, "racktel subscribe: %s: not a valid ActiveAlarms (%zu bytes)\n", topic.c_str(),
                   payload.size());
      return;
    }
    std::size_t critical = 0, suppressed = 0;
    for (const auto& a : active->alarms) {
      if (a.maintenance != 0) {
        ++suppressed;
      } else if (a.severity == alarm_severity::critical) {
        ++critical;
      }
    }
    if (options_.json) {
      json::array list;
      for (const auto& a : active->alarms) {
        list.push_back(alarm_json(a));
      }
      emit(topic, json::object{{"type", "alarms"},
                               {"catalog_version", catalog_version_text(active->catalog_version)},
                               {"time_ms", active->time_ms},
                               {"active", std::move(list)}});
    } else {
      std::printf("%salarms   %zu active: %zu critical, %zu warning, %zu suppressed by maintenance\n", who(topic).c_str(),
                  active->alarms.size(), critical, active->alarms.size() - critical - suppressed, suppressed);
      for (const auto& a : active->alarms) {
        const std::string value = alarm_value(active->catalog_version, a);
        char threshold[32] = "";
        if (a.threshold) std::snprintf(threshold, sizeof threshold, " %g", *a.threshold);
        std::printf("  %-8s %-36s %12s  %s%s  since %s UTC%s\n", alarm_severity_name(a.severity), a.sensor_key.c_str(),
                    value.c_str(), a.limit.c_str(), threshold, clock_time(a.since_ms).c_str(), alarm_notes(a).c_str());
      }
    }
    std::fflush(stdout);
  }

  // An alarm's reading: a state as what it means ("down") once its catalog
  // has come, else the number; "-" for a sensor that does not read.
  template <typename Alarm>
  std::string alarm_value(std::uint64_t catalog_version, const Alarm& a) const {
    if (!a.value) return "-";
    auto it = catalogs_.find(catalog_version);
    if (it != catalogs_.end() && a.sensor < it->second.sensors.size()) {
      if (std::string word = state_word(it->second.sensors[a.sensor], *a.value); !word.empty()) return word;
    }
    char text[32];
    std::snprintf(text, sizeof text, "%g", *a.value);
    return text;
  }

  // The line prefix naming the rack, when several racks may be printed.
  std::string who(const std::string& topic) const { return names_racks() ? rack_of(topic) + "  " : std::string(); }

  json::object tagged(const std::string& topic, json::object o) const {
    const std::string rack = rack_of(topic);
    const std::size_t slash = rack.find('/');
    o["site"] = rack.substr(0, slash);
    o["rack"] = slash == std::string::npos ? std::string() : rack.substr(slash + 1);
    return o;
  }

  static json::array windows_of(const agent_state_info& state) {
    json::array list;
    for (const maintenance_window& w : state.maintenance) list.push_back(window_json(w));
    return list;
  }

  void on_state(const std::string& topic, const std::string& payload) {
    saw_state_ = true;
    auto state = decode_agent_state(payload);
    if (!state) {
      std::fprintf(stderr, "racktel subscribe: %s: state message is not a valid AgentState (%zu bytes)\n", topic.c_str(),
                   payload.size());
      return;
    }
    if (options_.json) {
      emit(topic, json::object{{"type", "state"},
                        {"online", state->online},
                        {"version", state->version},
                        {"boot_id", to_hex(state->boot)},
                        {"start_time_ms", state->start_time_ms},
                        {"time_ms", state->time_ms},
                        {"catalog_version", catalog_version_text(state->catalog_version)},
                        {"reason", state->reason},
                        {"readings_dropped", state->readings_dropped},
                        {"alarms_critical", state->alarms_critical},
                        {"alarms_warning", state->alarms_warning},
                        {"alarms_suppressed", state->alarms_suppressed},
                        {"maintenance", windows_of(*state)},
                        {"sensors", state->sensors}});
    } else {
      std::printf("%sstate    %s  agent %s  boot %s%s%s  %llu sensors  %llu readings dropped  alarms: %u critical, "
                  "%u warning\n",
                  who(topic).c_str(), state->online ? "ONLINE " : "OFFLINE", state->version.c_str(),
                  to_hex(state->boot).substr(0, 8).c_str(), state->reason.empty() ? "" : "  reason: ",
                  state->reason.c_str(), static_cast<unsigned long long>(state->sensors),
                  static_cast<unsigned long long>(state->readings_dropped), state->alarms_critical,
                  state->alarms_warning);
      for (const maintenance_window& w : state->maintenance) {
        std::string what = w.match;
        for (const auto& [key, value] : w.location) what += (what.empty() ? "" : " ") + key + "=" + value;
        std::printf("  maintenance %llu: %s by %s, \"%s\", until %s\n", static_cast<unsigned long long>(w.id),
                    what.c_str(), w.by.c_str(), w.reason.c_str(), format_time_ms(w.until_ms).c_str());
      }
    }
    std::fflush(stdout);
  }

  unsigned on_catalog(const std::string& topic, const std::string& payload) {
    std::string why;
    auto decoded = decode_catalog(payload, limits(), &why);
    if (!decoded) {
      std::fprintf(stderr, "racktel subscribe: %scatalog refused (%zu bytes): %s\n", who(topic).c_str(), payload.size(),
                   why.c_str());
      return 0;
    }
    const std::uint64_t version = decoded->catalog.version;
    if (options_.json) {
      emit(topic, json::object{{"type", "catalog"},
                               {"version", catalog_version_text(version)},
                               {"sensors", decoded->catalog.sensors.size()}});
    } else {
      std::printf("%scatalog  version %016llx  %zu sensors\n", who(topic).c_str(),
                  static_cast<unsigned long long>(version), decoded->catalog.sensors.size());
    }
    std::fflush(stdout);
    catalogs_[version] = std::move(decoded->catalog);
    // Batches that arrived before their catalog can be shown now.
    unsigned printed = 0;
    std::deque<std::pair<std::string, std::string>> waiting;
    waiting.swap(waiting_);
    for (auto& [data_topic, data] : waiting) printed += on_data(data_topic, data);
    return printed;
  }

  unsigned on_data(const std::string& topic, const std::string& payload) {
    auto header = peek_batch_header(payload);
    if (!header) {
      std::fprintf(stderr, "racktel subscribe: %s: payload is not a valid DataBatch (%zu bytes)\n", topic.c_str(),
                   payload.size());
      return 0;
    }
    auto it = catalogs_.find(header->catalog_version);
    if (it == catalogs_.end()) {
      if (waiting_.size() < 1000) waiting_.emplace_back(topic, payload);
      return 0;
    }
    const sensor_catalog& catalog = it->second;
    decode_result decoded = decode_data_batch(payload, catalog, limits());
    if (!decoded.batch) {
      std::fprintf(stderr, "racktel subscribe: %s: batch %llu: %s\n", topic.c_str(),
                   static_cast<unsigned long long>(header->sequence), decoded.error.c_str());
      return 0;
    }
    const decoded_batch& batch = *decoded.batch;
    const std::string boot = to_hex(batch.header.boot);
    const std::size_t readings = batch.reading_count();
    if (options_.table) {
      // drawn below, once the batch's readings are in the table
    } else if (options_.json) {
      emit(topic, json::object{{"type", "batch"},
                        {"sequence", batch.header.sequence},
                        {"boot_id", boot},
                        {"replayed", batch.header.replayed},
                        {"catalog_version", catalog_version_text(batch.header.catalog_version)},
                        {"readings", readings},
                        {"bytes", payload.size()}});
    } else {
      std::printf("%sbatch    #%llu  boot %s  %zu readings in %zu bytes (%.2f bytes/reading)%s\n", who(topic).c_str(),
                  static_cast<unsigned long long>(batch.header.sequence), boot.substr(0, 8).c_str(), readings,
                  payload.size(), readings ? static_cast<double>(payload.size()) / static_cast<double>(readings) : 0.0,
                  batch.header.replayed ? "  replayed" : "");
    }
    for (const scan& s : batch.scans) {
      for (const reading& r : s.readings) {
        const sensor_meta& m = catalog.sensors[r.sensor];
        const std::string key = m.key();
        if (!options_.match.empty() && key.find(options_.match) == std::string::npos) continue;
        const std::string row_key = names_racks() ? rack_of(topic) + "/" + key : key;
        const bool has_value = r.status == 0 || r.status == 3;
        // A state sensor reads as what it means ("down"), anything else as its number.
        const std::string word = has_value ? state_word(m, r.value) : std::string();
        const std::string shown = !has_value ? "-" : !word.empty() ? word : format_value(r.value, m.resolution);
        if (options_.table) {
          table_[row_key] = table_row{s.time_ms, shown, m.unit,
                                  r.status ? reading_status_name(r.status) : "",
                                  has_value ? limit_flag(m, r.value) : "", m.name};
        } else if (options_.json) {
          json::object o{{"type", "reading"}, {"sequence", batch.header.sequence}, {"time_ms", s.time_ms},
                         {"sensor", key},     {"unit", m.unit},                     {"status", reading_status_name(r.status)}};
          o["value"] = has_value ? json::value(r.value) : json::value(nullptr);
          if (!word.empty()) o["state"] = word;
          emit(topic, o);
        } else {
          std::printf("  %s  %-36s %12s %-6s%s%s%s\n", clock_time(s.time_ms).c_str(), row_key.c_str(),
                      shown.c_str(), m.unit.c_str(),
                      r.status ? "  " : "", r.status ? reading_status_name(r.status) : "",
                      has_value ? limit_flag(m, r.value) : "");
        }
      }
    }
    if (options_.table) draw_table(batch, readings, payload.size());
    std::fflush(stdout);
    return 1;
  }

  // The live table: the newest reading of every matching sensor, redrawn per batch.
  struct table_row {
    std::int64_t time_ms;
    std::string value;
    std::string unit;
    std::string status;
    std::string flag;
    std::string name;
  };

  void draw_table(const decoded_batch& batch, std::size_t readings, std::size_t bytes) {
    std::printf("\033[H\033[2J");  // home, clear: one screen per batch
    std::printf("%s/%s  batch #%llu  %zu readings, %zu bytes (%.2f B/reading)%s\n\n", options_.site.c_str(),
                options_.rack.c_str(), static_cast<unsigned long long>(batch.header.sequence), readings, bytes,
                readings ? static_cast<double>(bytes) / static_cast<double>(readings) : 0.0,
                options_.match.empty() ? "" : ("  matching \"" + options_.match + "\"").c_str());
    std::printf("%-34s %12s %-6s %-13s %-12s %s\n", "SENSOR", "VALUE", "UNIT", "STATUS", "TIME (UTC)", "NAME");
    for (const auto& [key, row] : table_) {
      std::printf("%-34s %12s %-6s %-13s %-12s %s\n", key.c_str(), row.value.c_str(), row.unit.c_str(),
                  (row.status.empty() ? row.flag.empty() ? "ok" : row.flag.substr(2) : row.status).c_str(),
                  clock_time(row.time_ms).c_str(), row.name.c_str());
    }
  }

  decode_limits limits() const {
    decode_limits l;
    l.max_payload_bytes = options_.max_payload;
    return l;
  }

  // Every JSON line says which rack it is about.
  void emit(const std::string& topic, const json::object& o) {
    std::printf("%s\n", json::serialize(tagged(topic, o)).c_str());
  }

  const subscribe_options& options_;
  std::map<std::uint64_t, sensor_catalog> catalogs_;
  std::deque<std::pair<std::string, std::string>> waiting_;
  std::map<std::string, table_row> table_;
  bool saw_state_ = false;
};

// The connection settings as an [mqtt] table would give them; nullopt after saying what is wrong.
std::optional<mqtt_config> connection_settings(const subscribe_options& options) {
  mqtt_config c;
  std::string broker = options.broker;
  if (broker.starts_with("mqtt://")) broker = "tcp://" + broker.substr(7);
  if (broker.starts_with("mqtts://")) broker = "ssl://" + broker.substr(8);
  c.brokers = {broker};
  c.protocol = options.protocol == "3.1.1" ? mqtt_protocol::v3_1_1 : mqtt_protocol::v5;
  c.username = options.username;
  c.password = options.password;
  auto secret = [](const std::string& path, const char* what) -> std::optional<std::string> {
    secret_read read = read_secret_file(path);
    if (!read.check.error.empty()) {
      std::fprintf(stderr, "racktel subscribe: %s: %s\n", what, read.check.error.c_str());
      return std::nullopt;
    }
    if (!read.check.warning.empty()) std::fprintf(stderr, "racktel subscribe: warning: %s\n", read.check.warning.c_str());
    return read.value;
  };
  if (options.password_file && !(c.password = secret(*options.password_file, "--password-file"))) return std::nullopt;
  if (options.key_password_file && !(c.key_password = secret(*options.key_password_file, "--key-password-file"))) {
    return std::nullopt;
  }
  c.ca_file = options.ca_file;
  c.cert_file = options.cert_file;
  c.key_file = options.key_file;
  c.verify_hostname = options.verify_hostname;
  if (c.cert_file.empty() != c.key_file.empty()) {
    std::fprintf(stderr, "racktel subscribe: give both --cert-file and --key-file, or neither\n");
    return std::nullopt;
  }
  if (!c.uses_tls() && (!c.ca_file.empty() || !c.cert_file.empty())) {
    std::fprintf(stderr, "racktel subscribe: TLS files given but %s is not an mqtts:// (ssl://) broker\n",
                 options.broker.c_str());
    return std::nullopt;
  }
  return c;
}

}  // namespace

int subscribe(const subscribe_options& options) {
  const std::string root = "racktel/v1/" + options.site + "/" + options.rack;
  const std::string client_id = "racktel-cli-" + std::to_string(::getpid());
  const std::optional<mqtt_config> settings = connection_settings(options);
  if (!settings) return 2;
  try {
    const int version = paho_mqtt_version(settings->protocol);
    mqtt::async_client client(settings->brokers.front(), client_id, mqtt::create_options(version), nullptr);
    client.start_consuming();
    auto builder = mqtt::connect_options_builder().mqtt_version(version).connect_timeout(std::chrono::seconds(5));
    if (settings->protocol == mqtt_protocol::v5) {
      builder.clean_start(true);
    } else {
      builder.clean_session(true);
    }
    if (settings->username) builder.user_name(*settings->username);
    if (settings->password) builder.password(*settings->password);
    if (settings->uses_tls()) builder.ssl(make_ssl_options(*settings));
    // Room for the largest payload plus the topic and the packet's headers.
    if (settings->protocol == mqtt_protocol::v5) {
      announce_maximum_packet_size(builder, static_cast<std::uint32_t>(std::min<std::size_t>(options.max_payload + 1024, UINT32_MAX)));
    }
    client.connect(builder.finalize())->wait();
    client.subscribe(root + "/#", 1)->wait();
    std::fprintf(stderr, "racktel subscribe: listening on %s/# at %s\n", root.c_str(), options.broker.c_str());

    stream_printer printer(options);
    unsigned batches = 0;
    const auto started = std::chrono::steady_clock::now();
    auto last_data = started;
    bool said_no_state = false;
    for (;;) {
      // Every agent keeps a retained state on its rack's topic: none after a
      // few seconds means no agent ever published here, which a silent wait would hide.
      if (!said_no_state && !printer.saw_state() && std::chrono::steady_clock::now() - started > no_state_after) {
        said_no_state = true;
        std::fprintf(stderr,
                     "racktel subscribe: no retained state on %s/state after %lld s: no agent has published for "
                     "site \"%s\", rack \"%s\" on this broker (check --site, --rack and --broker against the "
                     "agent's configuration); still listening\n",
                     root.c_str(), static_cast<long long>(no_state_after.count()), options.site.c_str(),
                     options.rack.c_str());
      }
      mqtt::const_message_ptr msg;
      if (!client.try_consume_message_for(&msg, std::chrono::milliseconds(200))) {
        if (!client.is_connected()) {
          std::fprintf(stderr, "racktel subscribe: lost the connection to %s\n", options.broker.c_str());
          return 1;
        }
      }
      if (msg) {
        const unsigned printed = printer.on_message(msg->get_topic(), msg->get_payload_str());
        if (printed > 0) last_data = std::chrono::steady_clock::now();
        batches += printed;
        if (options.count && batches >= *options.count) break;
      }
      if (options.timeout.count() > 0 && std::chrono::steady_clock::now() - last_data > options.timeout) {
        std::fprintf(stderr, "racktel subscribe: no data batch for %lld ms\n",
                     static_cast<long long>(options.timeout.count()));
        return 1;
      }
    }
    client.disconnect()->wait_for(std::chrono::seconds(2));
    return 0;
  } catch (const mqtt::exception& e) {
    std::fprintf(stderr, "racktel subscribe: %s: %s\n", options.broker.c_str(), e.what());
    return 1;
  }
}

}  // namespace racktel::cli
