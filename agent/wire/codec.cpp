#include "codec.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <zlib.h>

#include <cmath>
#include <cstdio>

#include "racktel/driver.h"
#include "racktel/v1/racktel.pb.h"

namespace racktel {
namespace {

// Largest quantised magnitude: doubles represent every integer up to 2^53.
constexpr double max_quanta = 9007199254740992.0;

std::string bytes_of(const boot_id& id) { return {id.begin(), id.end()}; }

boot_id boot_of(const std::string& bytes) {
  boot_id id{};
  std::copy_n(bytes.begin(), std::min(bytes.size(), id.size()), id.begin());
  return id;
}

}  // namespace

std::string catalog_version_text(std::uint64_t version) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(version));
  return text;
}

std::string to_hex(const boot_id& id) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (std::uint8_t b : id) {
    out += digits[b >> 4U];
    out += digits[b & 0xFU];
  }
  return out;
}

void data_batch_encoder::add(const scan& s, const sensor_catalog& catalog) {
  // Running values start at 0 in every batch, so that every batch decodes on its own.
  if (previous_.size() != catalog.sensors.size()) previous_.assign(catalog.sensors.size(), 0);
  if (scans_ == 0) first_time_ms_ = s.time_ms;
  v1::Scan out;
  out.set_time_delta_ms(s.time_ms - previous_time_ms_);
  previous_time_ms_ = s.time_ms;
  std::uint32_t run_start = 0;
  std::uint32_t run_length = 0;
  std::uint32_t run_end = 0;  // one past the previous run
  std::uint32_t position = 0;
  for (const reading& r : s.readings) {
    if (run_length > 0 && r.sensor == run_start + run_length) {
      ++run_length;
    } else {
      if (run_length > 0) {
        out.add_index_runs(run_start - run_end);
        out.add_index_runs(run_length);
        run_end = run_start + run_length;
      }
      run_start = r.sensor;
      run_length = 1;
    }
    std::uint32_t status = r.status;
    std::int64_t quantised = 0;
    if (reading_has_value(status)) {
      const double q = std::round(r.value / catalog.sensors[r.sensor].resolution);
      if (std::isfinite(q) && std::fabs(q) <= max_quanta) {
        quantised = static_cast<std::int64_t>(q);
      } else {
        status = RACKTEL_READING_ERROR;
      }
    }
    if (reading_has_value(status)) {
      out.add_values(quantised - previous_[r.sensor]);
      previous_[r.sensor] = quantised;
    } else {
      out.add_values(0);
    }
    if (status != RACKTEL_READING_OK) {
      out.add_status_positions(position);
      out.add_statuses(static_cast<v1::ReadingStatus>(status));
    }
    ++position;
  }
  if (run_length > 0) {
    out.add_index_runs(run_start - run_end);
    out.add_index_runs(run_length);
  }
  // As DataBatch.scans (field 5, length-delimited) would serialise it,
  // written straight into the batch's bytes.
  namespace wire = google::protobuf::internal;
  using google::protobuf::io::CodedOutputStream;
  const std::uint32_t tag = wire::WireFormatLite::MakeTag(v1::DataBatch::kScansFieldNumber,
                                                          wire::WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
  const auto size = static_cast<std::uint32_t>(out.ByteSizeLong());
  const std::size_t at = bytes_.size();
  bytes_.resize(at + CodedOutputStream::VarintSize32(tag) + CodedOutputStream::VarintSize32(size) + size);
  auto* p = reinterpret_cast<std::uint8_t*>(bytes_.data() + at);
  p = CodedOutputStream::WriteVarint32ToArray(tag, p);
  p = CodedOutputStream::WriteVarint32ToArray(size, p);
  out.SerializeWithCachedSizesToArray(p);
  ++scans_;
  readings_ += s.readings.size();
}

std::string data_batch_encoder::finish(const batch_header& header) {
  v1::DataBatch batch;  // the header fields, which come before the scans (fields 1-4, then 5)
  batch.set_catalog_version(header.catalog_version);
  batch.set_boot_id(bytes_of(header.boot));
  batch.set_sequence(header.sequence);
  batch.set_replayed(header.replayed);
  std::string bytes = batch.SerializeAsString();
  bytes += bytes_;
  bytes_.clear();  // its room serves the next batch, which is about as big: no regrowing every second
  std::fill(previous_.begin(), previous_.end(), 0);
  previous_time_ms_ = 0;
  first_time_ms_ = 0;
  scans_ = 0;
  readings_ = 0;
  return bytes;
}

std::string encode_data_batch(const batch_header& header, const std::vector<scan>& scans,
                              const sensor_catalog& catalog) {
  data_batch_encoder encoder;
  for (const scan& s : scans) encoder.add(s, catalog);
  return encoder.finish(header);
}

std::size_t decoded_batch::reading_count() const {
  std::size_t n = 0;
  for (const auto& s : scans) n += s.readings.size();
  return n;
}

std::optional<batch_header> peek_batch_header(std::string_view bytes) {
  v1::DataBatch batch;
  if (!batch.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return std::nullopt;
  return batch_header{batch.catalog_version(), boot_of(batch.boot_id()), batch.sequence(),
                      batch.replayed()};
}

decode_result decode_data_batch(std::string_view bytes, const sensor_catalog& catalog, const decode_limits& limits) {
  decode_result result;
  if (bytes.size() > limits.max_payload_bytes) {
    result.error = "payload of " + std::to_string(bytes.size()) + " bytes is larger than the limit of " +
                   std::to_string(limits.max_payload_bytes);
    return result;
  }
  v1::DataBatch batch;
  if (!batch.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    result.error = "not a valid DataBatch protobuf";
    return result;
  }
  if (batch.catalog_version() != catalog.version) {
    result.error = "batch refers to catalog version " + std::to_string(batch.catalog_version()) +
                   ", not " + std::to_string(catalog.version);
    return result;
  }
  decoded_batch out;
  out.header = {batch.catalog_version(), boot_of(batch.boot_id()), batch.sequence(), batch.replayed()};
  std::vector<std::int64_t> previous(catalog.sensors.size(), 0);
  std::int64_t time = 0;
  const std::uint64_t sensor_count = catalog.sensors.size();
  for (int si = 0; si < batch.scans_size(); ++si) {
    const v1::Scan& in = batch.scans(si);
    const std::string where = "scan " + std::to_string(si) + ": ";
    // Crafted deltas must not wrap the clock (signed overflow is undefined behaviour).
    if (__builtin_add_overflow(time, in.time_delta_ms(), &time)) {
      result.error = where + "time_delta_ms overflows the time";
      return result;
    }
    if (in.index_runs_size() % 2 != 0) {
      result.error = where + "index_runs has an odd number of entries";
      return result;
    }
    // First the runs alone: their total must match the values before anything is allocated.
    std::uint64_t next = 0, total = 0;
    for (int k = 0; k < in.index_runs_size(); k += 2) {
      const std::uint64_t start = next + in.index_runs(k);
      const std::uint64_t length = in.index_runs(k + 1);
      if (start > sensor_count || length > sensor_count - start) {
        result.error = where + "index run at " + std::to_string(start) + " of " + std::to_string(length) +
                       " sensors goes beyond the catalog's " + std::to_string(sensor_count) + " sensors";
        return result;
      }
      next = start + length;
      total += length;
    }
    if (static_cast<std::uint64_t>(in.values_size()) != total || in.status_positions_size() != in.statuses_size()) {
      result.error = where + "value or status counts do not match the sensor indices";
      return result;
    }
    scan s;
    s.time_ms = time;
    s.readings.reserve(static_cast<std::size_t>(total));
    next = 0;
    for (int k = 0; k < in.index_runs_size(); k += 2) {
      const std::uint64_t start = next + in.index_runs(k);
      const std::uint64_t length = in.index_runs(k + 1);
      for (std::uint64_t i = start; i < start + length; ++i) {
        s.readings.push_back({static_cast<std::uint32_t>(i), RACKTEL_READING_OK, 0.0});
      }
      next = start + length;
    }
    for (int k = 0; k < in.status_positions_size(); ++k) {
      const std::uint32_t pos = in.status_positions(k);
      if (pos >= s.readings.size()) {
        result.error = where + "status position " + std::to_string(pos) + " is out of range (" +
                       std::to_string(s.readings.size()) + " readings)";
        return result;
      }
      s.readings[pos].status = static_cast<std::uint32_t>(in.statuses(k));
    }
    for (std::size_t k = 0; k < s.readings.size(); ++k) {
      reading& r = s.readings[k];
      if (!reading_has_value(r.status)) continue;
      std::int64_t& value = previous[r.sensor];
      if (__builtin_add_overflow(value, in.values(static_cast<int>(k)), &value)) {
        result.error = where + "the value of sensor " + std::to_string(r.sensor) + " overflows";
        return result;
      }
      r.value = static_cast<double>(value) * catalog.sensors[r.sensor].resolution;
    }
    out.scans.push_back(std::move(s));
  }
  result.batch = std::move(out);
  return result;
}

namespace {

void fill_sensor(v1::Sensor& out, const sensor_meta& m, std::uint32_t interval_ms,
                 const std::string& group_name) {
  out.set_driver(m.driver);
  out.set_id(m.id);
  out.set_name(m.name);
  out.set_kind(static_cast<v1::SensorKind>(m.kind <= 10 ? m.kind : 0));
  out.set_unit(m.unit);
  for (const auto& [k, v] : m.location) {
    v1::Label& label = *out.add_location();
    label.set_key(std::string(k));
    label.set_value(std::string(v));
  }
  out.set_resolution(m.resolution);
  if (m.warn_low) out.set_warn_low(*m.warn_low);
  if (m.warn_high) out.set_warn_high(*m.warn_high);
  if (m.crit_low) out.set_crit_low(*m.crit_low);
  if (m.crit_high) out.set_crit_high(*m.crit_high);
  out.set_group(group_name);
  out.set_interval_ms(interval_ms);
  for (const auto& [value, word] : m.states) {
    v1::StateName& state = *out.add_states();
    state.set_value(value);
    state.set_name(word.data(), word.size());
  }
}

}  // namespace

namespace {

constexpr std::uint64_t fnv_offset = 0xcbf29ce484222325ULL;

// FNV-1a, continued over `bytes`: no maps in the messages, so serialisation is canonical.
std::uint64_t fnv1a(std::uint64_t hash, std::string_view bytes) {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

std::uint64_t finish_version(std::uint64_t hash) { return hash == 0 ? 1 : hash; }  // 0 means "no catalog"

void append_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

}  // namespace

catalog_part encode_catalog_part(const std::vector<sensor_meta>& sensors, const std::vector<std::string>& group_names,
                                 const std::vector<std::uint32_t>& interval_ms) {
  catalog_part part;
  part.count = sensors.size();
  part.digests.reserve(sensors.size());
  static const std::string no_group;
  v1::Sensor s;
  std::string hashed;
  std::string entries;
  for (std::size_t i = 0; i < sensors.size(); ++i) {
    const std::uint32_t interval = i < interval_ms.size() ? interval_ms[i] : 0;
    s.Clear();
    fill_sensor(s, sensors[i], interval, no_group);
    hashed.clear();
    s.AppendToString(&hashed);
    part.digests.push_back(fnv1a(fnv_offset, hashed));
    s.set_group(i < group_names.size() ? group_names[i] : no_group);
    // Catalog.sensors (field 4, length-delimited): tag, length, message.
    entries.push_back(static_cast<char>((4U << 3U) | 2U));
    append_varint(entries, s.ByteSizeLong());
    s.AppendToString(&entries);
  }
  // Sensor descriptions repeat themselves ("chip 12 HBM stack 3 temperature"):
  // deflated they take a fifth of the space, for the life of the instance.
  part.bytes = entries.size();
  part.deflated = true;
  uLongf packed_size = compressBound(static_cast<uLong>(entries.size()));
  part.packed.resize(packed_size);
  if (compress2(reinterpret_cast<Bytef*>(part.packed.data()), &packed_size,
                reinterpret_cast<const Bytef*>(entries.data()), static_cast<uLong>(entries.size()), 1) == Z_OK) {
    part.packed.resize(packed_size);
  } else {
    part.packed = std::move(entries);  // kept as it is (never expected)
    part.deflated = false;
  }
  part.packed.shrink_to_fit();
  return part;
}

std::string catalog_part::sensors() const {
  if (!deflated || bytes == 0) return deflated ? std::string() : packed;
  std::string out(bytes, '\0');
  uLongf size = static_cast<uLongf>(bytes);
  if (uncompress(reinterpret_cast<Bytef*>(out.data()), &size, reinterpret_cast<const Bytef*>(packed.data()),
                 static_cast<uLong>(packed.size())) != Z_OK ||
      size != bytes) {
    return {};  // cannot happen to what compress2 wrote here
  }
  return out;
}

std::uint64_t catalog_version_of(const std::vector<std::shared_ptr<const catalog_part>>& parts) {
  // The hash of the sensors' digests in order: the same however the sensors are split into parts.
  std::uint64_t hash = fnv_offset;
  for (const auto& p : parts) {
    for (const std::uint64_t d : p->digests) {
      hash = fnv1a(hash, std::string_view(reinterpret_cast<const char*>(&d), sizeof d));
    }
  }
  return finish_version(hash);
}

std::string encode_catalog(std::uint64_t version, const boot_id& boot, std::int64_t time_ms,
                           const std::vector<std::shared_ptr<const catalog_part>>& parts) {
  v1::Catalog head;
  head.set_version(version);
  head.set_boot_id(bytes_of(boot));
  head.set_time_ms(time_ms);
  std::string out = head.SerializeAsString();
  std::size_t size = out.size();
  for (const auto& p : parts) size += p->bytes;
  out.reserve(size);
  for (const auto& p : parts) out += p->sensors();
  return out;
}

std::uint64_t compute_catalog_version(const std::vector<sensor_meta>& sensors,
                                      const std::vector<std::uint32_t>& interval_ms) {
  return catalog_version_of({std::make_shared<const catalog_part>(encode_catalog_part(sensors, {}, interval_ms))});
}

std::string encode_catalog(const sensor_catalog& catalog, const boot_id& boot, std::int64_t time_ms,
                           const std::vector<std::string>& group_names,
                           const std::vector<std::uint32_t>& interval_ms) {
  return encode_catalog(catalog.version, boot, time_ms,
                        {std::make_shared<const catalog_part>(encode_catalog_part(catalog.sensors, group_names, interval_ms))});
}

namespace {

// Counts the sensors of a serialised Catalog without building them: a small
// payload can declare millions of empty sensors, each costing hundreds of
// bytes once parsed.
std::optional<std::size_t> count_catalog_sensors(std::string_view bytes) {
  using google::protobuf::internal::WireFormatLite;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  std::size_t sensors = 0;
  while (const std::uint32_t tag = in.ReadTag()) {
    if (WireFormatLite::GetTagFieldNumber(tag) == 4) ++sensors;
    if (!WireFormatLite::SkipField(&in, tag)) return std::nullopt;
  }
  if (!in.ConsumedEntireMessage() || in.CurrentPosition() != static_cast<int>(bytes.size())) return std::nullopt;
  return sensors;
}

}  // namespace

std::optional<decoded_catalog> decode_catalog(std::string_view bytes, const decode_limits& limits, std::string* error) {
  auto fail = [error](std::string why) -> std::optional<decoded_catalog> {
    if (error) *error = std::move(why);
    return std::nullopt;
  };
  if (bytes.size() > limits.max_payload_bytes) {
    return fail("payload of " + std::to_string(bytes.size()) + " bytes is larger than the limit of " +
                std::to_string(limits.max_payload_bytes));
  }
  const auto count = count_catalog_sensors(bytes);
  if (!count) return fail("not a valid Catalog protobuf");
  if (*count > limits.max_sensors) {
    return fail(std::to_string(*count) + " sensors is more than the limit of " + std::to_string(limits.max_sensors));
  }
  v1::Catalog in;
  if (!in.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return fail("not a valid Catalog protobuf");
  decoded_catalog out;
  out.catalog.version = in.version();
  out.catalog.sensors.reserve(static_cast<std::size_t>(in.sensors_size()));
  out.interval_ms.reserve(static_cast<std::size_t>(in.sensors_size()));
  text_pool shared;  // a catalog names a few drivers, units, places and state lists many times
  std::vector<std::pair<std::string_view, std::string_view>> location;  // one sensor's labels, reused
  for (int i = 0; i < in.sensors_size(); ++i) {
    const v1::Sensor& s = in.sensors(i);
    const std::string where = "sensor " + std::to_string(i) + ": ";
    for (const std::string* text : {&s.driver(), &s.id(), &s.name(), &s.unit(), &s.group()}) {
      if (text->size() > limits.max_string_bytes) {
        return fail(where + "a string of " + std::to_string(text->size()) + " bytes is longer than the limit of " +
                    std::to_string(limits.max_string_bytes));
      }
    }
    if (static_cast<std::size_t>(s.location_size()) > limits.max_labels) {
      return fail(where + std::to_string(s.location_size()) + " location labels is more than the limit of " +
                  std::to_string(limits.max_labels));
    }
    sensor_meta m;
    m.driver = shared.get(s.driver());
    m.id = s.id();
    m.name = s.name();
    m.kind = static_cast<std::uint32_t>(s.kind());
    m.unit = shared.get(s.unit());
    location.clear();
    for (const auto& label : s.location()) {
      if (label.key().size() > limits.max_string_bytes || label.value().size() > limits.max_string_bytes) {
        return fail(where + "a location label is longer than the limit of " + std::to_string(limits.max_string_bytes) +
                    " bytes");
      }
      location.emplace_back(label.key(), label.value());
    }
    m.location = location_labels::from_pairs(location);
    m.location.share(shared);
    m.resolution = std::isfinite(s.resolution()) && s.resolution() > 0 ? s.resolution() : 1.0;
    if (s.has_warn_low()) m.warn_low = s.warn_low();
    if (s.has_warn_high()) m.warn_high = s.warn_high();
    if (s.has_crit_low()) m.crit_low = s.crit_low();
    if (s.has_crit_high()) m.crit_high = s.crit_high();
    if (static_cast<std::size_t>(s.states_size()) > limits.max_labels) {
      return fail(where + std::to_string(s.states_size()) + " state names is more than the limit of " +
                  std::to_string(limits.max_labels));
    }
    state_names::list states;
    for (const auto& state : s.states()) {
      if (state.name().size() > limits.max_string_bytes) {
        return fail(where + "a state name is longer than the limit of " + std::to_string(limits.max_string_bytes) +
                    " bytes");
      }
      states.emplace_back(state.value(), state.name());
    }
    m.states = states;
    m.states.share(shared);
    out.catalog.sensors.push_back(std::move(m));
    out.interval_ms.push_back(s.interval_ms());
  }
  return out;
}

namespace {

void fill_window(v1::MaintenanceWindow& m, const maintenance_window& w) {
  m.set_id(w.id);
  m.set_match(w.match);
  for (const auto& [key, value] : w.location) {
    v1::Label* label = m.add_location();
    label->set_key(key);
    label->set_value(value);
  }
  m.set_reason(w.reason);
  m.set_by(w.by);
  m.set_start_ms(w.start_ms);
  m.set_until_ms(w.until_ms);
}

maintenance_window window_of(const v1::MaintenanceWindow& m) {
  maintenance_window w;
  w.id = m.id();
  w.match = m.match();
  for (const v1::Label& label : m.location()) w.location.emplace_back(label.key(), label.value());
  w.reason = m.reason();
  w.by = m.by();
  w.start_ms = m.start_ms();
  w.until_ms = m.until_ms();
  return w;
}

}  // namespace

std::string encode_maintenance_book(const std::vector<maintenance_window>& windows, std::uint64_t next_id) {
  v1::MaintenanceBook out;
  for (const maintenance_window& w : windows) fill_window(*out.add_windows(), w);
  out.set_next_id(next_id);
  return out.SerializeAsString();
}

std::optional<decoded_maintenance_book> decode_maintenance_book(std::string_view bytes, std::size_t max_windows) {
  v1::MaintenanceBook in;
  if (!in.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return std::nullopt;
  if (static_cast<std::size_t>(in.windows_size()) > max_windows) return std::nullopt;
  decoded_maintenance_book book;
  for (const v1::MaintenanceWindow& w : in.windows()) book.windows.push_back(window_of(w));
  book.next_id = in.next_id();
  return book;
}

std::string encode_agent_state(const agent_state_info& state) {
  v1::AgentState out;
  out.set_status(state.online ? v1::AgentState::STATUS_ONLINE : v1::AgentState::STATUS_OFFLINE);
  out.set_version(state.version);
  out.set_boot_id(bytes_of(state.boot));
  out.set_start_time_ms(state.start_time_ms);
  out.set_time_ms(state.time_ms);
  out.set_catalog_version(state.catalog_version);
  out.set_site(state.site);
  out.set_rack(state.rack);
  out.set_reason(state.reason);
  out.set_readings_dropped(state.readings_dropped);
  out.set_sensors(state.sensors);
  out.set_readings_accepted(state.readings_accepted);
  out.set_alarms_critical(state.alarms_critical);
  out.set_alarms_warning(state.alarms_warning);
  out.set_alarms_suppressed(state.alarms_suppressed);
  for (const maintenance_window& w : state.maintenance) fill_window(*out.add_maintenance(), w);
  return out.SerializeAsString();
}

std::optional<agent_state_info> decode_agent_state(std::string_view bytes) {
  v1::AgentState in;
  if (!in.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return std::nullopt;
  agent_state_info s;
  s.online = in.status() == v1::AgentState::STATUS_ONLINE;
  s.version = in.version();
  s.boot = boot_of(in.boot_id());
  s.start_time_ms = in.start_time_ms();
  s.time_ms = in.time_ms();
  s.catalog_version = in.catalog_version();
  s.site = in.site();
  s.rack = in.rack();
  s.reason = in.reason();
  s.readings_dropped = in.readings_dropped();
  s.sensors = in.sensors();
  s.readings_accepted = in.readings_accepted();
  s.alarms_critical = in.alarms_critical();
  s.alarms_warning = in.alarms_warning();
  s.alarms_suppressed = in.alarms_suppressed();
  for (const v1::MaintenanceWindow& w : in.maintenance()) s.maintenance.push_back(window_of(w));
  return s;
}

static_assert(static_cast<int>(alarm_kind::limit) == v1::ALARM_KIND_LIMIT &&
              static_cast<int>(alarm_kind::state) == v1::ALARM_KIND_STATE &&
              static_cast<int>(alarm_kind::failing) == v1::ALARM_KIND_FAILING);
static_assert(static_cast<int>(alarm_severity::warning) == v1::ALARM_SEVERITY_WARNING &&
              static_cast<int>(alarm_severity::critical) == v1::ALARM_SEVERITY_CRITICAL);

namespace {

alarm_kind kind_of(const v1::Alarm& m);
alarm_severity severity_of(const v1::Alarm& m);

// An alarm_event and an active_alarm carry the same fields of an Alarm.
template <typename Alarm>
void fill_alarm(v1::Alarm& m, const Alarm& a) {
  m.set_sensor(a.sensor > UINT32_MAX ? UINT32_MAX : static_cast<std::uint32_t>(a.sensor));
  m.set_sensor_key(a.sensor_key);
  m.set_kind(static_cast<v1::AlarmKind>(a.kind));
  m.set_severity(static_cast<v1::AlarmSeverity>(a.severity));
  if (a.value) m.set_value(*a.value);
  m.set_limit(a.limit);
  if (a.threshold) m.set_threshold(*a.threshold);
  m.set_rule(a.rule);
  m.set_since_ms(a.since_ms);
  m.set_maintenance(a.maintenance);
}

template <typename Alarm>
void read_alarm(const v1::Alarm& m, Alarm& a) {
  a.sensor_key = m.sensor_key();
  a.kind = kind_of(m);
  a.severity = severity_of(m);
  if (m.has_value()) a.value = m.value();
  a.limit = m.limit();
  if (m.has_threshold()) a.threshold = m.threshold();
  a.rule = m.rule();
  a.since_ms = m.since_ms();
  a.maintenance = m.maintenance();
}

alarm_kind kind_of(const v1::Alarm& m) {
  return m.kind() == v1::ALARM_KIND_STATE     ? alarm_kind::state
         : m.kind() == v1::ALARM_KIND_FAILING ? alarm_kind::failing
                                              : alarm_kind::limit;
}

alarm_severity severity_of(const v1::Alarm& m) {
  return m.severity() == v1::ALARM_SEVERITY_CRITICAL ? alarm_severity::critical : alarm_severity::warning;
}

}  // namespace

std::string encode_alarm_event(const alarm_event_info& info) {
  v1::AlarmEvent out;
  out.set_catalog_version(info.catalog_version);
  out.set_boot_id(bytes_of(info.boot));
  out.set_sequence(info.sequence);
  const alarm_event& e = info.event;
  out.set_raised(e.raised);
  out.set_time_ms(e.time_ms);
  fill_alarm(*out.mutable_alarm(), e);
  return out.SerializeAsString();
}

std::optional<alarm_event_info> decode_alarm_event(std::string_view bytes) {
  v1::AlarmEvent in;
  if (!in.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return std::nullopt;
  alarm_event_info info;
  info.catalog_version = in.catalog_version();
  info.boot = boot_of(in.boot_id());
  info.sequence = in.sequence();
  const v1::Alarm& m = in.alarm();
  alarm_event& e = info.event;
  read_alarm(m, e);
  e.sensor = m.sensor() == UINT32_MAX ? alarm_event::no_sensor : m.sensor();
  e.raised = in.raised();
  e.time_ms = in.time_ms();
  return info;
}

std::string encode_active_alarms(const active_alarms_info& info) {
  v1::ActiveAlarms out;
  out.set_catalog_version(info.catalog_version);
  out.set_boot_id(bytes_of(info.boot));
  out.set_time_ms(info.time_ms);
  for (const active_alarm& a : info.alarms) {
    fill_alarm(*out.add_alarms(), a);
  }
  return out.SerializeAsString();
}

std::optional<active_alarms_info> decode_active_alarms(std::string_view bytes, std::size_t max_alarms) {
  v1::ActiveAlarms in;
  if (!in.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return std::nullopt;
  if (static_cast<std::size_t>(in.alarms_size()) > max_alarms) return std::nullopt;
  active_alarms_info info;
  info.catalog_version = in.catalog_version();
  info.boot = boot_of(in.boot_id());
  info.time_ms = in.time_ms();
  for (const v1::Alarm& m : in.alarms()) {
    active_alarm a;
    read_alarm(m, a);
    a.sensor = m.sensor();
    info.alarms.push_back(std::move(a));
  }
  return info;
}

std::string encode_commission(const published_commission& c) {
  v1::CommissionReport out;
  out.set_boot_id(bytes_of(c.boot));
  out.set_time_ms(c.time_ms);
  out.set_catalog_version(c.catalog_version);
  out.set_by(c.by);
  out.set_expectations(c.expectations);
  out.set_passed(c.report.passed);
  for (const check_result& r : c.report.checks) {
    v1::CommissionCheck& check = *out.add_checks();
    check.set_name(r.name);
    check.set_passed(r.passed);
    for (const std::string& f : r.findings) check.add_findings(f);
  }
  return out.SerializeAsString();
}

std::optional<published_commission> decode_commission(std::string_view bytes, std::size_t max_findings) {
  v1::CommissionReport in;
  if (!in.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return std::nullopt;
  published_commission c;
  c.boot = boot_of(in.boot_id());
  c.time_ms = in.time_ms();
  c.catalog_version = in.catalog_version();
  c.by = in.by();
  c.expectations = in.expectations();
  c.report.passed = in.passed();
  std::size_t findings = 0;
  for (const v1::CommissionCheck& check : in.checks()) {
    findings += static_cast<std::size_t>(check.findings_size()) + 1;
    if (findings > max_findings) return std::nullopt;
    c.report.checks.push_back({check.name(), check.passed(), {check.findings().begin(), check.findings().end()}});
  }
  return c;
}

bool reading_has_value(std::uint32_t status) {
  return status == RACKTEL_READING_OK || status == RACKTEL_READING_OUT_OF_RANGE;
}

const char* reading_status_name(std::uint32_t status) {
  switch (status) {
    case RACKTEL_READING_OK: return "ok";
    case RACKTEL_READING_ERROR: return "error";
    case RACKTEL_READING_TIMEOUT: return "timeout";
    case RACKTEL_READING_OUT_OF_RANGE: return "out_of_range";
    case RACKTEL_READING_STALE: return "stale";
    default: return "unknown";
  }
}

const char* sensor_kind_name(std::uint32_t kind) {
  static const char* const names[] = {"other",    "temperature", "power",     "voltage",
                                      "current",  "energy",      "flow",      "pressure",
                                      "fan_speed", "ratio",      "state"};
  return kind < std::size(names) ? names[kind] : "other";
}

}  // namespace racktel
