#include "agent.h"

#include <fcntl.h>
#include <malloc.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <unordered_map>

#include "common/descriptors.h"
#include "common/small_files.h"
#include "common/units.h"
#include "spool/group_commit.h"
#include "store/quantum.h"
#include "racktel/version.h"

namespace racktel {
namespace {

// Quantised as on the wire, so the status view and the stream show the same number.
double shown_value(const sensor_meta& m, double value) { return quantised_value(value, m.resolution); }
double shown_value(const sensor_meta& m, const latest_reading& e) { return shown_value(m, e.value); }

constexpr std::size_t attention_cap = 100;

// One of the agent's state files, decoded; nullopt when there is none. A file
// that cannot be read or decoded is said in the log (under `area`) and ignored.
template <typename Decode>
auto load_state_file(const std::string& path, std::size_t max_bytes, const char* area, const char* valid,
                     const char* otherwise, Decode decode) -> decltype(decode(std::string_view())) {
  std::string error;
  const auto bytes = read_small_file(path, max_bytes, error);
  if (!error.empty()) spdlog::warn("{}: {}; {}", area, error, otherwise);
  if (!bytes) return std::nullopt;
  auto decoded = decode(*bytes);
  if (!decoded) spdlog::warn("{}: {} is not {}; ignored", area, path, valid);
  return decoded;
}

// An instance's sensors as they go into the rack's catalog, encoded once.
std::shared_ptr<const catalog_part> encode_part(const instance_catalog& catalog) {
  std::vector<std::string> group_names;
  std::vector<std::uint32_t> intervals;
  group_names.reserve(catalog.sensors.size());
  intervals.reserve(catalog.sensors.size());
  for (const sensor_meta& m : catalog.sensors) {
    const read_group& g = catalog.groups[m.group];
    group_names.push_back(g.name);
    intervals.push_back(static_cast<std::uint32_t>(g.interval.count()));
  }
  return std::make_shared<const catalog_part>(encode_catalog_part(catalog.sensors, group_names, intervals));
}

}  // namespace

std::string racktel_version() { return RACKTEL_VERSION; }

boot_id make_boot_id() {
  boot_id id{};
  // The kernel's random UUID source; std::random_device is the fallback.
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  if (!urandom.read(reinterpret_cast<char*>(id.data()), id.size())) {
    std::random_device rd;
    for (auto& b : id) b = static_cast<std::uint8_t>(rd());
  }
  return id;
}

agent::agent(event_loop& loop, agent_config config, driver_loader loader)
    : loop_(loop),
      config_(std::move(config)),
      loader_(std::move(loader)),
      boot_(make_boot_id()),
      start_time_ms_(unix_now_ms()),
      health_(config_.stale_after),
      batch_(config_.batch.max_readings) {
  if (!config_.http.listen.empty()) history_ = std::make_unique<sensor_history>();
  if (config_.spool.enabled) {
    spool_settings_ = spool_options{config_.state_dir + "/spool", config_.spool.segment_bytes, config_.spool.max_bytes};
    spool_ = std::make_unique<spool>(spool_settings_);
    batch_.continue_from(spool_->next_sequence());
    // Alarm events have a spool of their own: their own sequence, never mixed with data.
    alarm_spool_ = std::make_unique<spool>(
        spool_options{config_.state_dir + "/alarm-spool", 64 * 1024, std::max<std::uint64_t>(1 << 20, config_.spool.max_bytes / 16)});
    next_alarm_sequence_ = alarm_spool_->next_sequence();
  }
  mqtt_publisher::hooks hooks;
  hooks.online_state = [this] { return encode_agent_state(state(true, "")); };
  hooks.will_state = [this] { return encode_agent_state(state(false, "connection lost")); };
  hooks.catalog = [this] { return catalog_payload(); };
  hooks.catalog_version = [this] { return catalog_.version; };
  hooks.active_alarms = [this] { return active_alarms_payload(); };
  if (spool_) {
    hooks.load_batch = [this](std::uint64_t seq) { return spool_->read_batch(seq); };
    hooks.load_catalog = [this](std::uint64_t version) { return spool_->read_catalog(version); };
    hooks.delivered = [this](std::uint64_t seq) { spool_->acknowledge(seq); };
  }
  hooks.alarm_delivered = [this](std::uint64_t seq) { alarm_delivered(seq); };
  publisher_ = std::make_unique<mqtt_publisher>(loop_, config_.mqtt, topic_root(config_), std::move(hooks),
                                                config_.spool.replay_rate);
}

agent::~agent() = default;

void agent::start() {
  spdlog::info("racktel-agent {} starting for site {} rack {} (boot id {})", racktel_version(),
               config_.site, config_.rack, to_hex(boot_));
  open_drivers();
  mark_descriptors_close_on_exec();  // whatever the drivers' libraries opened
  restore_maintenance();
  const bool expired = !maintenance_.expire(unix_now_ms()).empty();  // windows that ran out while the agent was down
  rebuild_catalog();
  restore_active_alarms();
  if (expired) save_maintenance();
  arm_maintenance_timer();
  if (spool_) {
    // What the last run could not deliver goes out first, as backlog, oldest first.
    for (const spooled_batch& b : spool_->pending()) {
      publisher_->publish_batch({b.sequence, b.catalog_version, b.readings, {}, b.size, true, true});
    }
    if (!spool_->healthy()) watch_spool_health();
    // Alarm events the last run could not deliver, in order, before any new one.
    for (const spooled_batch& e : alarm_spool_->pending()) {
      if (auto payload = alarm_spool_->read_batch(e.sequence)) publisher_->publish_alarm_event(e.sequence, *payload);
    }
  }
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].polling) slots_[i].polling->start();
  }
  arm_batch_timer();
  publisher_->start();
}

void agent::open_drivers() {
  for (const driver_config& dc : config_.drivers) slots_.push_back(attach(open_driver(dc, loader_)));
}

agent::opened_driver agent::open_driver(const driver_config& dc, const driver_loader& loader) {
  opened_driver opened{dc, nullptr, nullptr, {}};
  if (!dc.enabled) {
    opened.error = "disabled in the config";
    return opened;
  }
  load_result loaded = loader.load(dc.type, dc.module);
  if (!loaded.driver) {
    opened.error = loaded.error;
    spdlog::error("driver {}: {}; the agent carries on without it", dc.name, loaded.error);
    return opened;
  }
  auto result = driver_instance::open(dc, std::move(*loaded.driver), 0);
  for (const auto& w : result.warnings) spdlog::warn("{}", w.to_string());
  if (!result.instance) {
    for (const auto& e : result.errors) spdlog::error("{}", e.to_string());
    opened.error = result.errors.empty() ? result.failure : result.errors.front().to_string();
    spdlog::error("driver {}: cannot open; the agent carries on without it", dc.name);
    return opened;
  }
  opened.instance = std::move(result.instance);
  opened.catalog_bytes = encode_part(*opened.instance->initial_catalog());
  return opened;
}

agent::driver_slot agent::attach(opened_driver opened) {
  driver_slot slot;
  slot.id = next_slot_id_++;
  slot.config = std::move(opened.config);
  slot.error = std::move(opened.error);
  if (!opened.instance) return slot;
  slot.instance = std::move(opened.instance);
  slot.catalog = slot.instance->initial_catalog();
  slot.catalog_bytes = opened.catalog_bytes ? std::move(opened.catalog_bytes) : encode_part(*slot.catalog);
  lane* lane_for_slot = nullptr;
  if (slot.instance->may_block()) {
    // A lane per instance, owned by the slot: it goes when the instance is
    // removed. A reopened instance gets a fresh one, since the old one may
    // still be stuck in a hung read (that thread then exits on its own).
    slot.own_lane = std::make_unique<lane>(slot.config.name);
    lane_for_slot = slot.own_lane.get();
  } else {
    if (!shared_lane_) shared_lane_ = std::make_unique<lane>("shared");
    lane_for_slot = shared_lane_.get();
  }
  const std::uint64_t id = slot.id;
  slot.polling = std::make_unique<poller>(loop_, slot.instance, *lane_for_slot,
                                          [this, id](instance_scan s) { on_scan(id, std::move(s)); });
  spdlog::info("driver {}: type {} ({}), {} sensors in {} groups, {} lane", slot.config.name, slot.config.type,
               slot.instance->origin(), slot.catalog->sensor_count, slot.catalog->groups.size(),
               slot.own_lane ? "own" : "shared");
  return slot;
}

std::vector<agent::running_driver> agent::running_drivers() const {
  std::vector<running_driver> out;
  for (const driver_slot& s : slots_) out.push_back({s.config, s.catalog, s.catalog_bytes});
  return out;
}

agent::prepared_catalog agent::prepare_catalog(
    const std::vector<std::pair<std::shared_ptr<const instance_catalog>, std::shared_ptr<const catalog_part>>>& sources,
    const spool_options* spool, const boot_id& boot, std::uint64_t current_version) {
  prepared_catalog p;
  std::size_t total = 0;
  for (const auto& [catalog, part] : sources) {
    p.from.push_back(catalog);
    p.parts.push_back(part);
    total += catalog->sensor_count;
  }
  p.catalog.version = catalog_version_of(p.parts);
  if (p.catalog.version == current_version) return p;  // the same sensors: the loop keeps what it has
  // The running instances' sensors live in the loop's catalog, not to be read
  // from here: every instance's are decoded from its encoded part (immutable),
  // with their read groups from its catalog's.
  p.catalog.sensors.reserve(total);
  decode_limits unlimited;
  unlimited.max_payload_bytes = unlimited.max_sensors = std::numeric_limits<std::size_t>::max();
  for (const auto& [catalog, part] : sources) {
    auto decoded = decode_catalog(encode_catalog(0, boot, 0, {part}), unlimited);
    if (!decoded || decoded->catalog.sensors.size() != catalog->sensor_count) {
      // Not expected (the part was encoded here); the loop builds the catalog itself.
      p.from.clear();
      p.catalog.sensors.clear();
      return p;
    }
    std::vector<std::uint32_t> group_of(catalog->sensor_count, 0);
    for (std::uint32_t g = 0; g < catalog->groups.size(); ++g) {
      for (const std::uint32_t m : catalog->groups[g].members) {
        if (m < group_of.size()) group_of[m] = g;
      }
    }
    for (std::size_t i = 0; i < decoded->catalog.sensors.size(); ++i) {
      decoded->catalog.sensors[i].group = group_of[i];
      p.catalog.sensors.push_back(std::move(decoded->catalog.sensors[i]));
    }
  }
  if (spool != nullptr) {
    std::string error;
    std::uint64_t size = 0;
    // Best effort: if it cannot be written here, the loop writes it as usual.
    if (spool::write_catalog_file(*spool, p.catalog.version, encode_catalog(p.catalog.version, boot, unix_now_ms(), p.parts),
                                  size, error)) {
      p.spooled_bytes = size;
    }
  }
  return p;
}

std::vector<lane*> agent::lanes() const {
  std::vector<lane*> out;
  if (shared_lane_) out.push_back(shared_lane_.get());
  for (const driver_slot& s : slots_) {
    if (s.own_lane) out.push_back(s.own_lane.get());
  }
  return out;
}

std::string agent::apply_reload(agent_config next, std::vector<opened_driver> opened,
                                std::optional<prepared_catalog> prepared) {
  const auto started = std::chrono::steady_clock::now();
  std::vector<driver_slot> kept_or_new;
  std::vector<std::string> reopened, added, removed, kept;
  for (const driver_config& dc : next.drivers) {
    auto same = std::find_if(slots_.begin(), slots_.end(), [&](const driver_slot& s) {
      return s.config.name == dc.name && same_driver(s.config, dc) && s.id != 0;
    });
    if (same != slots_.end()) {
      kept.push_back(dc.name);
      kept_or_new.push_back(std::move(*same));
      same->id = 0;  // taken
      continue;
    }
    const bool existed = std::any_of(slots_.begin(), slots_.end(),
                                     [&](const driver_slot& s) { return s.id != 0 && s.config.name == dc.name; });
    (existed ? reopened : added).push_back(dc.name);
    auto ready = std::find_if(opened.begin(), opened.end(), [&](const opened_driver& o) {
      return o.config.name == dc.name && same_driver(o.config, dc);
    });
    // Opened beforehand, off the loop; only a table nobody expected is opened here.
    driver_slot fresh = attach(ready != opened.end() ? std::move(*ready) : open_driver(dc, loader_));
    if (fresh.polling) fresh.polling->start();
    kept_or_new.push_back(std::move(fresh));
  }
  for (driver_slot& old : slots_) {
    if (old.id == 0) continue;
    if (std::find(reopened.begin(), reopened.end(), old.config.name) == reopened.end()) {
      removed.push_back(old.config.name);
    }
  }
  // Removed slots go now: their pollers cancel any read in progress, their
  // lanes stop after it, and nothing waits for them here.
  slots_ = std::move(kept_or_new);

  const std::vector<std::string> later = restart_only_differences(config_, next);
  // What can change live does; what cannot keeps its running value until a restart.
  config_.drivers = next.drivers;
  config_.log_level = next.log_level;
  spdlog::set_level(spdlog::level::from_str(config_.log_level_override.value_or(config_.log_level)));
  config_.control_groups = next.control_groups;
  config_.control_gids = next.control_gids;
  if (!(next.batch == config_.batch) || !reopened.empty() || !added.empty() || !removed.empty()) {
    flush_batch();  // readings in hand go out under the catalog they were taken with
    batch_ = batch_builder(next.batch.max_readings, batch_.last_sequence() + 1);
  }
  config_.batch = next.batch;
  const bool rules_changed = !(next.alarms == config_.alarms);
  config_.alarms = next.alarms;
  const std::uint64_t catalog_before = catalog_.version;
  rebuild_catalog(std::move(prepared));
  if (rules_changed && catalog_.version == catalog_before) configure_alarms();  // else done with the catalog
  // Removed instances (a sim model, a BMC's documents) were freed, partly in
  // the reload thread's malloc arena: give the pages back to the system, or
  // the agent keeps the high-water mark of every reload.
  if (!removed.empty() || !reopened.empty()) ::malloc_trim(0);

  auto join = [](const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out.empty() ? std::string("none") : out;
  };
  std::string message = "reloaded " + next.source_file + ": reopened " + join(reopened) + "; added " + join(added) +
                        "; removed " + join(removed) + "; unchanged " + join(kept);
  if (!later.empty()) message += "; applied at the next restart: " + join(later);
  message += " (" + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::steady_clock::now() - started).count()) +
             " ms on the main loop)";
  last_reload_ = {unix_now_ms(), true, message, {}, last_reload_.count + 1};
  spdlog::info("{}", message);
  return message;
}

void agent::reload_refused(const std::vector<config_error>& errors) {
  std::vector<std::string> lines;
  for (const auto& e : errors) lines.push_back(e.to_string());
  last_reload_ = {unix_now_ms(), false,
                  std::to_string(errors.size()) + " error(s) in the new configuration; the running one is kept", lines,
                  last_reload_.count + 1};
  for (const auto& line : lines) spdlog::error("reload: {}", line);
  spdlog::error("reload: {}", last_reload_.message);
}

void agent::configure_alarms() {
  const std::int64_t now = unix_now_ms();
  alarms_.configure(catalog_.sensors, config_.alarms, now, alarm_events_);
  // Sensors that came with the new catalog may lie in an open window.
  alarms_.set_maintenance(maintenance_.coverage(catalog_.sensors), now, alarm_events_);
  handle_alarm_events();
}

std::string agent::active_alarms_path() const { return config_.state_dir + "/active-alarms"; }

void agent::save_active_alarms(const std::string& bytes) const {
  // Never synced: after a power loss an older set (or none) only means that
  // some alarms are raised again.
  std::string error;
  if (!replace_file(active_alarms_path(), bytes, false, error)) spdlog::warn("alarms: cannot save the active set: {}", error);
}

void agent::restore_active_alarms() {
  auto saved = load_state_file(active_alarms_path(), 64 << 20, "alarms", "a valid active set",
                               "the active set starts empty", [](std::string_view b) { return decode_active_alarms(b); });
  if (!saved) return;
  alarms_.restore(saved->alarms);
  const std::size_t restored = alarms_.active().size();
  if (restored > 0) spdlog::info("alarms: {} active when the agent stopped, kept until a reading says otherwise", restored);
}

std::string agent::maintenance_path() const { return config_.state_dir + "/maintenance"; }

void agent::save_maintenance() const {
  // Synced: a window a technician opened must still hold after a power cut.
  std::string error;
  if (!replace_file(maintenance_path(), encode_maintenance_book(maintenance_.windows(), maintenance_.next_id()), true,
                    error)) {
    spdlog::error("maintenance: cannot save the windows: {}; they hold until the agent stops", error);
  }
}

void agent::restore_maintenance() {
  auto book = load_state_file(maintenance_path(), 1 << 20, "maintenance", "a valid list of windows", "no window is open",
                              [](std::string_view b) { return decode_maintenance_book(b); });
  if (!book) return;
  maintenance_.restore(std::move(book->windows), book->next_id);
  for (const maintenance_window& w : maintenance_.windows()) {
    spdlog::info("maintenance: window {} kept from the last run: {} by {} until {}", w.id, w.reason, w.by,
                 format_time_ms(w.until_ms));
  }
}

void agent::arm_maintenance_timer() {
  maintenance_timer_.reset();
  const auto next = maintenance_.next_expiry_ms();
  if (!next) return;
  const auto wait = std::chrono::milliseconds(std::max<std::int64_t>(*next - unix_now_ms(), 0) + 1);
  maintenance_timer_ = loop_.after(wait, [this] {
    maintenance_timer_.reset();
    const auto ended = maintenance_.expire(unix_now_ms());
    for (const maintenance_window& w : ended) {
      spdlog::info("maintenance: window {} ({}, by {}) expired", w.id, w.reason, w.by);
    }
    if (ended.empty()) {
      arm_maintenance_timer();  // woken early (the clock moved): wait again
    } else {
      maintenance_changed();
    }
  });
}

void agent::maintenance_changed() {
  alarms_.set_maintenance(maintenance_.coverage(catalog_.sensors), unix_now_ms(), alarm_events_);
  if (!handle_alarm_events() && publisher_) publisher_->state_changed();
  save_maintenance();
  arm_maintenance_timer();
}

agent::maintenance_answer agent::start_maintenance(maintenance_request request) {
  const auto problems = check_maintenance_request(request);
  if (!problems.empty()) {
    std::string message;
    for (const auto& p : problems) message += (message.empty() ? "" : "; ") + p;
    return {false, message, std::nullopt};
  }
  const maintenance_window window = maintenance_.start(std::move(request), unix_now_ms());
  maintenance_changed();
  std::size_t sensors = 0, alarms = 0;
  for (const window_report& r : maintenance_report()) {
    if (r.window.id == window.id) std::tie(sensors, alarms) = std::pair{r.sensors, r.alarms};
  }
  std::string message = fmt::format("maintenance window {} open until {} ({}): {} sensors covered, {} active alarms suppressed",
                                    window.id, format_time_ms(window.until_ms), window.reason, sensors, alarms);
  if (sensors == 0) message += "; warning: it covers no sensor now (check --match and --location)";
  spdlog::info("{} (by {})", message, window.by);
  return {true, std::move(message), window};
}

agent::maintenance_answer agent::end_maintenance(std::uint64_t id, const std::string& by) {
  auto it = std::find_if(maintenance_.windows().begin(), maintenance_.windows().end(),
                         [&](const maintenance_window& w) { return w.id == id; });
  if (it == maintenance_.windows().end()) {
    return {false, "no open maintenance window " + std::to_string(id) + " (`racktel maintenance list`)", std::nullopt};
  }
  maintenance_window window = *it;
  maintenance_.end(id);
  maintenance_changed();
  std::string message = fmt::format("maintenance window {} ({}) ended", id, window.reason);
  spdlog::info("{} by {}", message, by.empty() ? std::string("?") : by);
  return {true, std::move(message), std::move(window)};
}

std::vector<window_report> agent::maintenance_report() const {
  std::vector<window_report> out;
  if (maintenance_.windows().empty()) return out;
  const auto active = alarms_.active();
  for (const maintenance_window& w : maintenance_.windows()) {
    window_report r{w, 0, 0};
    // Every sensor it covers, even where an older window covers it too and marks the alarms with its own id.
    for (const sensor_meta& m : catalog_.sensors) r.sensors += w.covers(m) ? 1 : 0;
    for (const active_alarm& a : active) r.alarms += a.maintenance == w.id ? 1 : 0;
    out.push_back(std::move(r));
  }
  return out;
}

void agent::alarm_delivered(std::uint64_t sequence) {
  if (alarm_spool_) alarm_spool_->acknowledge(sequence);
  auto it = alarm_origin_.find(sequence);
  if (it == alarm_origin_.end()) return;  // replayed from an earlier run
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - it->second);
  alarm_origin_.erase(it);
  constexpr std::size_t kept = 4096;
  const auto value = static_cast<std::uint32_t>(std::min<std::int64_t>(us.count(), UINT32_MAX));
  if (alarm_latency_us_.size() < kept) {
    alarm_latency_us_.push_back(value);
  } else {
    alarm_latency_us_[alarm_latency_next_++ % kept] = value;
  }
}

bool agent::handle_alarm_events(std::chrono::steady_clock::time_point origin) {
  std::vector<std::pair<std::uint64_t, std::string>> to_send;
  for (alarm_event& e : alarm_events_) {
    if (e.value && e.sensor < catalog_.sensors.size()) e.value = shown_value(catalog_.sensors[e.sensor], *e.value);
    // Stored before it is sent: an event the broker has not acknowledged survives an outage and a restart.
    const std::uint64_t sequence = next_alarm_sequence_++;
    std::string payload = encode_alarm_event({catalog_.version, boot_, sequence, e});
    if (alarm_spool_) {
      std::vector<spooled_batch> dropped;
      if (!alarm_spool_->append_batch(sequence, catalog_.version, 1, e.time_ms, payload, dropped)) {
        spdlog::warn("alarm event {} not stored: {}; sent from memory only", sequence, alarm_spool_->error());
        alarm_spool_->retry();
      }
    }
    to_send.emplace_back(sequence, std::move(payload));
    alarm_origin_.emplace(sequence, origin);
    if (alarm_origin_.size() > 100000) alarm_origin_.erase(alarm_origin_.begin());  // never acknowledged: stop timing
    // A removed sensor's event names it by key; its index is no longer in the catalog.
    const sensor_meta* m = e.sensor < catalog_.sensors.size() && catalog_.sensors[e.sensor].key() == e.sensor_key
                               ? &catalog_.sensors[e.sensor]
                               : nullptr;
    const std::string value = e.value && m ? " " + reading_text(*m, *e.value) : std::string();
    const std::string limit = e.threshold ? fmt::format(" {} {:g}", e.limit, *e.threshold) : " " + e.limit;
    const std::string rule = e.rule.empty() ? std::string() : " (rule " + e.rule + ")";
    if (e.raised) {
      spdlog::log(e.severity == alarm_severity::critical ? spdlog::level::err : spdlog::level::warn,
                  "alarm raised: {} {} {}{}:{}{}", alarm_severity_name(e.severity), alarm_kind_name(e.kind),
                  e.sensor_key, value, limit, rule);
    } else {
      spdlog::info("alarm cleared: {} {} {}{}:{}{}", alarm_severity_name(e.severity), alarm_kind_name(e.kind),
                   e.sensor_key, value, limit, rule);
    }
  }
  const bool changed = !alarm_events_.empty();
  alarm_events_.clear();
  if (!changed) return false;
  if (alarm_spool_) alarm_spool_->sync();  // rare, and each one matters: on disk before it is sent
  if (publisher_) {
    for (auto& [sequence, payload] : to_send) publisher_->publish_alarm_event(sequence, std::move(payload));
  }
  // The events go at once, and so does the whole active set, at most every
  // 100 ms: in a storm (a driver with thousands of sensors going quiet, scan
  // after scan) the set is encoded, saved and published once more after the
  // burst, not once per scan. Per scan was quadratic, and held the loop for
  // minutes on a big rack.
  constexpr auto spacing = std::chrono::milliseconds(100);
  const auto now = std::chrono::steady_clock::now();
  if (!active_alarms_timer_) {
    if (now - last_active_alarms_ >= spacing) {
      publish_active_alarms();
    } else {
      active_alarms_timer_ = loop_.after(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             last_active_alarms_ + spacing - now) + std::chrono::milliseconds(1),
                                         [this] { publish_active_alarms(); });
    }
  }
  return true;
}

void agent::publish_active_alarms() {
  active_alarms_timer_.reset();
  last_active_alarms_ = std::chrono::steady_clock::now();
  // One encoding of the set, for the state directory and the broker.
  const std::string active = active_alarms_payload();
  save_active_alarms(active);
  if (publisher_) publisher_->alarms_changed(active);
}

void agent::rebuild_catalog(std::optional<prepared_catalog> prepared) {
  // The version first, from the instances' encoded parts: an unchanged set costs a hash of digests.
  std::vector<std::shared_ptr<const catalog_part>> parts;
  std::vector<std::shared_ptr<const instance_catalog>> from;
  std::vector<std::size_t> old_offset;  // where each slot's sensors are in catalog_ now
  std::size_t total = 0;
  for (driver_slot& slot : slots_) {
    old_offset.push_back(slot.offset);
    slot.offset = total;
    if (!slot.catalog) continue;
    parts.push_back(slot.catalog_bytes);
    from.push_back(slot.catalog);
    total += slot.catalog->sensor_count;
  }
  // Sensors are kept once, in catalog_: an instance's catalog hands its own over here.
  auto release_handed_over = [this] {
    for (driver_slot& slot : slots_) {
      if (slot.catalog) std::vector<sensor_meta>().swap(slot.catalog->sensors);
    }
  };
  // Made off the loop from exactly these catalogs: use it as it is.
  const bool use_prepared = prepared && prepared->from == from && prepared->catalog.sensors.size() == total;
  const std::uint64_t version = use_prepared ? prepared->catalog.version : catalog_version_of(parts);
  if (version == catalog_.version && total == catalog_.sensors.size()) {
    catalog_parts_ = std::move(parts);
    release_handed_over();  // the same sensors, in the same places
    return;
  }
  const bool first = catalog_.sensors.empty() && catalog_.version == 0;
  // Readings in hand use the old indices: send them under the old catalog first.
  if (!first) flush_batch();
  // Each sensor's old place, for the history of those that stay (by key, before they move).
  std::unordered_map<std::string, std::size_t> old_index;
  if (history_) {
    old_index.reserve(catalog_.sensors.size());
    for (std::size_t i = 0; i < catalog_.sensors.size(); ++i) old_index.emplace(catalog_.sensors[i].key(), i);
  }
  sensor_catalog next;
  if (use_prepared) {
    next = std::move(prepared->catalog);
  } else {
    next.version = version;
    next.sensors.reserve(total);
    for (std::size_t k = 0; k < slots_.size(); ++k) {
      const driver_slot& slot = slots_[k];
      if (!slot.catalog) continue;
      auto& handed = slot.catalog->sensors;
      if (handed.size() == slot.catalog->sensor_count && !handed.empty()) {
        std::move(handed.begin(), handed.end(), std::back_inserter(next.sensors));  // new to the rack
      } else {
        // Already in the rack's catalog, at the slot's previous place.
        const auto begin = catalog_.sensors.begin() + static_cast<std::ptrdiff_t>(old_offset[k]);
        std::move(begin, begin + static_cast<std::ptrdiff_t>(slot.catalog->sensor_count), std::back_inserter(next.sensors));
      }
    }
  }
  release_handed_over();
  if (history_) {
    // A tray pulled or a driver reloaded does not wipe the other sensors' charts.
    std::vector<std::size_t> old_of_new(next.sensors.size(), sensor_history::npos);
    for (std::size_t i = 0; i < next.sensors.size(); ++i) {
      if (auto found = old_index.find(next.sensors[i].key()); found != old_index.end()) old_of_new[i] = found->second;
    }
    history_->remap(old_of_new);
  }
  catalog_ = std::move(next);
  catalog_parts_ = std::move(parts);
  latest_.resize(catalog_.sensors.size());
  health_.resize(catalog_.sensors.size());
  spdlog::info("catalog version {:016x}: {} sensors", catalog_.version, catalog_.sensors.size());
  configure_alarms();
  if (spool_) {
    if (use_prepared && prepared->spooled_bytes > 0) {
      spool_->adopt_catalog(catalog_.version, prepared->spooled_bytes);
    } else {
      spool_->append_catalog(catalog_.version, catalog_payload());
    }
  }
  if (!first) publisher_->catalog_changed();
  // Building a catalog, encoding, spooling and publishing it leave free
  // pages between the allocations that stay (on the stress rack half a
  // megabyte, 45 bytes a sensor, that glibc keeps until asked); ask once
  // the first publish and scans have passed.
  settle_timer_ = loop_.after(std::chrono::seconds(5), [] { ::malloc_trim(0); });
}

void agent::on_scan(std::uint64_t slot_id, instance_scan s) {
  if (shutting_down_) return;
  const auto arrived = std::chrono::steady_clock::now();
  auto found = std::find_if(slots_.begin(), slots_.end(), [&](const driver_slot& x) { return x.id == slot_id; });
  if (found == slots_.end()) return;  // from an instance a reload has just replaced
  driver_slot& slot = *found;
  if (s.new_catalog) {
    // The slot's sensors as they were: its share of the rack's catalog.
    std::span<const sensor_meta> before;
    if (slot.catalog && slot.offset + slot.catalog->sensor_count <= catalog_.sensors.size()) {
      before = std::span<const sensor_meta>(catalog_.sensors).subspan(slot.offset, slot.catalog->sensor_count);
    }
    const std::string changes = slot.catalog ? describe_sensor_changes(before, s.new_catalog->sensors) : std::string();
    slot.catalog = s.new_catalog;
    slot.catalog_bytes = encode_part(*slot.catalog);
    spdlog::info("driver {}: sensor set changed: {}; now {} sensors", slot.config.name,
                 changes.empty() ? "the same ids, reordered" : changes, slot.catalog->sensor_count);
    rebuild_catalog();
  }
  if (s.samples.empty()) return;
  scan out;
  out.time_ms = s.time_ms;
  out.readings.reserve(s.samples.size());
  for (const racktel_sample& sample : s.samples) {
    const std::size_t global = slot.offset + sample.sensor;
    if (global >= catalog_.sensors.size()) continue;
    std::uint32_t status = sample.status;
    if (s.not_sampled) {
      // Said on the wire (TIMEOUT), but the agent's own hiccup is no sensor's
      // failure: neither staleness, nor an alarm, nor the newest reading.
      out.readings.push_back({static_cast<std::uint32_t>(global), status, sample.value});
      continue;
    }
    if (reading_has_value(status) && !std::isfinite(sample.value)) status = RACKTEL_READING_ERROR;
    status = health_.observe(global, status);
    latest_.update(global, status, sample.value, s.time_ms, reading_has_value(status));
    if (history_) {
      history_->record(global, s.time_ms, reading_has_value(status), sample.value, catalog_.sensors[global].resolution);
    }
    alarms_.observe(global, status, sample.value, s.time_ms, alarm_events_);
    out.readings.push_back({static_cast<std::uint32_t>(global), status, sample.value});
  }
  readings_accepted_ += out.readings.size();
  if (!alarm_events_.empty()) handle_alarm_events(arrived);
  if (batch_.add(out, catalog_)) flush_batch();
}

void agent::arm_batch_timer() {
  batch_timer_ = loop_.after(config_.batch.interval, [this] {
    flush_batch();
    arm_batch_timer();
  });
}

void agent::flush_batch() {
  if (batch_.empty()) return;
  const std::size_t readings = batch_.readings();
  const std::int64_t first_time_ms = batch_.first_time_ms();
  batch_header header{catalog_.version, boot_, batch_.next_sequence(), false};
  outgoing_batch batch{header.sequence, catalog_.version, static_cast<std::uint32_t>(readings),
                       batch_.take(header), 0, false, false};
  ++batches_built_;
  bytes_encoded_ += batch.payload.size();
  store(batch, first_time_ms);
  publisher_->publish_batch(std::move(batch));
}

void agent::store(outgoing_batch& batch, std::int64_t time_ms) {
  if (!spool_) return;
  std::vector<spooled_batch> dropped;
  const bool stored = spool_->append_batch(batch.sequence, batch.catalog_version, batch.readings, time_ms,
                                           batch.payload, dropped);
  batch.durable = stored;
  take_not_durable();  // a rotation may have failed to sync the segment it closed
  if (!stored) {
    ++not_stored_batches_;
    watch_spool_health();
    return;
  }
  // The spool's cap: the oldest batches go first, each counted; logged once per episode.
  std::uint64_t readings_dropped = 0;
  for (const spooled_batch& b : dropped) {
    publisher_->drop_batch(b.sequence);
    readings_dropped += b.readings;
  }
  if (readings_dropped > 0) {
    if (cap_dropped_in_episode_ == 0) {
      spdlog::error("spool: full at {} bytes; dropping the oldest undelivered readings to make room",
                    config_.spool.max_bytes);
    }
    cap_dropped_in_episode_ += readings_dropped;
  } else if (cap_dropped_in_episode_ > 0 && spool_->bytes() + config_.spool.segment_bytes < config_.spool.max_bytes) {
    spdlog::warn("spool: below its cap again; {} readings were dropped", cap_dropped_in_episode_);
    cap_dropped_in_episode_ = 0;
  }
  schedule_sync();
}

void agent::schedule_sync() {
  // Group commit: one fdatasync per sync interval at most, at a batch boundary.
  const auto now = std::chrono::steady_clock::now();
  const sync_decision decision = decide_sync(now, last_sync_, config_.spool.sync_interval);
  if (decision.now) {
    sync_timer_.reset();
    sync_spool();
    last_sync_ = now;
    return;
  }
  if (sync_timer_) return;
  sync_timer_ = loop_.after(decision.wait, [this] {
    sync_timer_.reset();
    sync_spool();
    last_sync_ = std::chrono::steady_clock::now();
  });
}

void agent::sync_spool() {
  if (!spool_->sync()) watch_spool_health();
  take_not_durable();
}

void agent::take_not_durable() {
  // Batches whose sync failed are not safe on disk: at shutdown they count as
  // lost unless delivered, like any batch held in memory only.
  const std::vector<std::uint64_t> lost = spool_->take_not_durable();
  for (std::uint64_t sequence : lost) publisher_->batch_not_durable(sequence);
  if (!lost.empty()) {
    spdlog::error("spool: {} batch(es) may not be on disk after a failed sync; they are kept in memory until sent",
                  lost.size());
  }
}

void agent::watch_spool_health() {
  if (spool_retry_timer_) return;
  // A full or read-only disk: data flows from memory meanwhile; try again every few seconds.
  spool_retry_timer_ = loop_.after(std::chrono::seconds(5), [this] {
    spool_retry_timer_.reset();
    if (spool_->retry()) {
      spool_->append_catalog(catalog_.version, catalog_payload());
    } else {
      watch_spool_health();
    }
  });
}

agent_state_info agent::state(bool online, std::string reason) const {
  agent_state_info s;
  s.online = online;
  s.version = racktel_version();
  s.boot = boot_;
  s.start_time_ms = start_time_ms_;
  s.time_ms = unix_now_ms();
  s.catalog_version = catalog_.version;
  s.site = config_.site;
  s.rack = config_.rack;
  s.reason = std::move(reason);
  s.readings_dropped = publisher_->queue().dropped_readings();
  s.sensors = catalog_.sensors.size();
  s.readings_accepted = readings_accepted_;
  s.alarms_critical = static_cast<std::uint32_t>(alarms_.active_count(alarm_severity::critical));
  s.alarms_warning = static_cast<std::uint32_t>(alarms_.active_count(alarm_severity::warning));
  s.alarms_suppressed = static_cast<std::uint32_t>(alarms_.suppressed_count());
  s.maintenance = maintenance_.windows();
  return s;
}

std::vector<active_alarm> agent::active_alarms() const {
  std::vector<active_alarm> list = alarms_.active();
  for (active_alarm& a : list) {
    if (a.value) a.value = shown_value(catalog_.sensors[a.sensor], *a.value);
  }
  return list;
}

std::string agent::active_alarms_payload() const {
  return encode_active_alarms({catalog_.version, boot_, unix_now_ms(), active_alarms()});
}

std::string agent::catalog_payload() const {
  return encode_catalog(catalog_.version, boot_, unix_now_ms(), catalog_parts_);
}

void agent::shutdown(std::function<void()> done) {
  if (shutting_down_) return;
  shutting_down_ = true;
  spdlog::info("shutting down: flushing {} readings in hand", batch_.readings());
  for (driver_slot& slot : slots_) slot.polling.reset();  // cancels the reads in progress
  batch_timer_.reset();
  settle_timer_.reset();
  flush_batch();
  if (active_alarms_timer_) publish_active_alarms();  // the set as it is now, saved and retained
  publisher_->stop([this] { return encode_agent_state(state(false, "shutdown")); }, std::chrono::seconds(3),
                   std::move(done));
}

status_report agent::report(const report_request& request) const {
  status_report r;
  r.version = racktel_version();
  r.site = config_.site;
  r.rack = config_.rack;
  r.boot_id = to_hex(boot_);
  r.config_file = config_.source_file;
  r.start_time_ms = start_time_ms_;
  r.time_ms = unix_now_ms();
  r.catalog_version = catalog_.version;
  r.sensors = catalog_.sensors.size();

  const auto& entries = latest_.entries();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const latest_reading& e = entries[i];
    const sensor_meta& m = catalog_.sensors[i];
    if (e.time_ms == 0) {
      ++r.sensors_never_read;
      continue;
    }
    switch (e.status) {
      case RACKTEL_READING_OK: ++r.sensors_ok; break;
      case RACKTEL_READING_OUT_OF_RANGE: ++r.sensors_out_of_range; break;
      case RACKTEL_READING_STALE: ++r.sensors_stale; break;
      default: ++r.sensors_failing; break;
    }
    auto condition = judge(m, e);
    if (!condition || !sensor_matches(request.match, m)) continue;
    const bool has_value = reading_has_value(e.status);
    r.attention.push_back({m.key(), m.name, reading_status_name(e.status),
                           has_value ? std::optional<double>(shown_value(m, e)) : std::nullopt, m.unit,
                           std::move(condition->limit), static_cast<std::int64_t>(e.last_ok_ms), condition->level,
                           has_value ? state_word(m, e.value) : std::string()});
  }
  for (active_alarm& a : active_alarms()) {
    const sensor_meta& m = catalog_.sensors[a.sensor];
    if (!request.match.empty() && !sensor_matches(request.match, m)) continue;
    std::string state = a.value ? state_word(m, *a.value) : std::string();
    r.alarms.push_back({std::move(a), m.name, m.unit, std::move(state)});
  }
  if (!alarm_latency_us_.empty()) {
    std::vector<std::uint32_t> sorted = alarm_latency_us_;
    std::sort(sorted.begin(), sorted.end());
    auto at = [&](double q) {
      return static_cast<double>(sorted[static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1))]) / 1000.0;
    };
    r.alarm_latency = {sorted.size(), at(0.5), at(0.99), static_cast<double>(sorted.back()) / 1000.0};
  }
  r.alarms_critical = alarms_.active_count(alarm_severity::critical);
  r.alarms_warning = alarms_.active_count(alarm_severity::warning);
  r.alarms_suppressed = alarms_.suppressed_count();
  r.maintenance = maintenance_report();

  r.broker = publisher_->status();
  const outbox& q = publisher_->queue();
  r.queue_batches = q.waiting();
  r.queue_backlog = q.waiting_backlog();
  r.queue_in_flight = q.in_flight();
  r.queue_bytes = q.memory_bytes();
  r.queue_limit_bytes = config_.mqtt.queue_limit_bytes;
  r.dropped_batches = q.dropped_batches();
  r.dropped_readings = q.dropped_readings();
  if (spool_) {
    spool_report& s = r.spool;
    s.enabled = true;
    s.dir = spool_->dir();
    s.error = spool_->error();
    s.bytes = spool_->bytes();
    s.max_bytes = config_.spool.max_bytes;
    s.segments = spool_->segment_count();
    s.pending_batches = spool_->pending_batches();
    s.pending_readings = spool_->pending_readings();
    s.oldest_pending_ms = spool_->oldest_pending_time_ms().value_or(0);
    s.not_stored_batches = not_stored_batches_;
    s.syncs = spool_->syncs();
    const spool_recovery& rec = spool_->recovery();
    s.recovered_batches = rec.batches_pending;
    s.corrupt_records = rec.corrupt_records;
    s.torn_bytes = rec.torn_bytes;
    s.quarantined = rec.quarantined;
    s.ignored = rec.ignored;
  }
  r.reload = last_reload_;
  r.readings_accepted = readings_accepted_;
  r.batches_built = batches_built_;
  r.bytes_encoded = bytes_encoded_;

  for (const driver_slot& slot : slots_) {
    driver_report d;
    d.name = slot.config.name;
    d.type = slot.config.type;
    d.origin = slot.instance ? slot.instance->origin() : slot.config.module.value_or("built-in");
    if (!slot.instance) {
      d.state = slot.config.enabled ? "failed" : "disabled";
      d.error = slot.error;
      if (slot.config.enabled && request.match.empty()) {
        r.attention.push_back({d.name, "driver " + d.name, "failed to open", std::nullopt, "", d.error, 0,
                               attention_level::driver});
      }
      r.drivers.push_back(std::move(d));
      continue;
    }
    d.state = "running";
    d.lane = slot.own_lane ? "own" : "shared";
    d.sensors = slot.catalog->sensor_count;
    for (std::size_t k = 0; k < d.sensors; ++k) {
      const std::size_t global = slot.offset + k;
      if (global >= entries.size()) break;
      const std::uint32_t st = entries[global].status;
      if (entries[global].time_ms == 0) continue;
      if (reading_has_value(st)) {
        ++d.sensors_ok;
      } else if (st == RACKTEL_READING_STALE) {
        ++d.sensors_stale;
      } else {
        ++d.sensors_failing;
      }
    }
    if (slot.polling) {
      const auto& stats = slot.polling->stats();
      for (std::size_t g = 0; g < slot.catalog->groups.size() && g < stats.size(); ++g) {
        const read_group& rg = slot.catalog->groups[g];
        d.groups.push_back({rg.name, rg.interval.count(), rg.deadline.count(), stats[g]});
        // The group's last completed read failed or timed out: the driver cannot read now.
        if (stats[g].last_poll_ms > stats[g].last_ok_ms && request.match.empty()) {
          r.attention.push_back({d.name + " " + rg.name, "driver " + d.name + ", group " + rg.name, "read failing",
                                 std::nullopt, "", "", stats[g].last_ok_ms, attention_level::driver});
        }
      }
    }
    r.drivers.push_back(std::move(d));
  }
  // Most urgent first; the cap keeps the answer small on a rack where everything is stale.
  std::stable_sort(r.attention.begin(), r.attention.end(),
                   [](const sensor_attention& a, const sensor_attention& b) { return a.level < b.level; });
  r.attention_total = r.attention.size();
  if (!request.all && r.attention.size() > attention_cap) r.attention.resize(attention_cap);
  return r;
}

commission_report agent::commission(const std::vector<expectation>& expectations) const {
  commission_inputs rack;
  rack.sensors = &catalog_.sensors;
  rack.readings = &latest_.entries();
  rack.alarms = active_alarms();
  for (const driver_slot& slot : slots_) {
    rack.drivers.push_back({slot.config.name, slot.instance ? "running" : slot.config.enabled ? "failed" : "disabled",
                            slot.error});
  }
  return evaluate_commission(expectations, rack);
}

void agent::publish_commission(const commission_report& report, const std::string& by, const std::string& expectations) {
  std::size_t failed = 0;
  for (const check_result& c : report.checks) failed += c.passed ? 0 : 1;
  spdlog::info("commissioning check by {} against {}: {} ({} of {} checks failed)", by, expectations,
               report.passed ? "PASSED" : "FAILED", failed, report.checks.size());
  publisher_->commission_changed(
      encode_commission({boot_, unix_now_ms(), catalog_.version, by, expectations, report}));
}

std::vector<sensor_report> agent::sensor_reports(const std::string& match) const {
  std::vector<sensor_report> out;
  const auto& entries = latest_.entries();
  for (std::size_t i = 0; i < entries.size() && i < catalog_.sensors.size(); ++i) {
    const sensor_meta& m = catalog_.sensors[i];
    if (!sensor_matches(match, m)) continue;
    const latest_reading& e = entries[i];
    sensor_report s{m.key(), m.name, sensor_kind_name(m.kind), m.unit,
                    e.time_ms == 0 ? "never_read" : reading_status_name(e.status),
                    e.time_ms != 0 && reading_has_value(e.status) ? std::optional<double>(shown_value(m, e)) : std::nullopt,
                    m.warn_low, m.warn_high, m.crit_low, m.crit_high, e.time_ms, static_cast<std::int64_t>(e.last_ok_ms), "", "",
                    e.time_ms != 0 && reading_has_value(e.status) ? state_word(m, e.value) : std::string()};
    if (auto condition = judge(m, e)) {
      s.condition = attention_level_name(condition->level);
      s.limit = std::move(condition->limit);
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace racktel
