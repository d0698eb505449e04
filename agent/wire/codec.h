// Encoding and decoding of the v1 wire messages. Pure: bytes in, bytes out.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "alarms/alarm_engine.h"
#include "alarms/maintenance.h"
#include "commission/commission.h"
#include "store/catalog.h"

namespace racktel {

using boot_id = std::array<std::uint8_t, 16>;
std::string to_hex(const boot_id& id);
// A catalog version as people and JSON see it everywhere: 16 hex digits, as in
// the spool's file names ("c13b9871b04e3ad3").
std::string catalog_version_text(std::uint64_t version);

// One reading as the pipeline carries it; `sensor` indexes the catalog.
struct reading {
  std::uint32_t sensor;
  std::uint32_t status;  // racktel_reading_status
  double value;
};

// All readings of one group at one sampling instant, sorted by sensor.
struct scan {
  std::int64_t time_ms = 0;
  std::vector<reading> readings;
};

struct batch_header {
  std::uint64_t catalog_version = 0;
  boot_id boot{};
  std::uint64_t sequence = 0;
  bool replayed = false;
};

// Quantises each value to its sensor's resolution. A value that cannot be
// represented (NaN, infinite, beyond 2^53 quanta) is sent as ERROR.
std::string encode_data_batch(const batch_header& header, const std::vector<scan>& scans,
                              const sensor_catalog& catalog);

// The same encoding, scan by scan as the scans arrive: a batch in hand is
// held as its wire bytes (about 2 bytes a reading) rather than as readings
// (16 bytes each, a second's worth of them for every sensor, and the heap
// they leave behind each time the batch goes). finish() gives exactly the
// bytes encode_data_batch gives for the same scans. Every scan of a batch
// must refer to the same catalog.
class data_batch_encoder {
 public:
  void add(const scan& s, const sensor_catalog& catalog);
  bool empty() const { return scans_ == 0; }
  std::size_t readings() const { return readings_; }
  std::int64_t first_time_ms() const { return first_time_ms_; }
  // The DataBatch; the encoder is empty again after it.
  std::string finish(const batch_header& header);

 private:
  std::string bytes_;                   // the Scan messages so far, each as DataBatch field 5
  std::vector<std::int64_t> previous_;  // running quantised value per sensor: deltas within a batch
  std::int64_t previous_time_ms_ = 0;
  std::int64_t first_time_ms_ = 0;
  std::size_t scans_ = 0;
  std::size_t readings_ = 0;
};

// What a decoder accepts from outside (a broker, a file): bytes from the
// network must not be able to make it allocate without bound.
struct decode_limits {
  std::size_t max_payload_bytes = 16U << 20U;
  std::size_t max_sensors = 100'000;     // per catalog (the stress rack has 10 920)
  std::size_t max_string_bytes = 1024;   // ids, names, units, groups, labels
  std::size_t max_labels = 32;           // location labels per sensor
};

struct decoded_batch {
  batch_header header;
  std::vector<scan> scans;  // values dequantised with the catalog's resolutions
  std::size_t reading_count() const;
};
struct decode_result {
  std::optional<decoded_batch> batch;
  std::string error;  // what is malformed, when batch is empty
};
// Decodes against `catalog`, which must be the version the batch names.
// Every malformation is an error that says what is wrong: a sensor index
// beyond the catalog, a status position beyond the scan, counts that do not
// match, a time or value that would overflow 64 bits.
decode_result decode_data_batch(std::string_view bytes, const sensor_catalog& catalog,
                                const decode_limits& limits = {});
// Reads only the header (to pick the right catalog).
std::optional<batch_header> peek_batch_header(std::string_view bytes);

// Content hash of the sensor list (stable across restarts for the same sensors).
std::uint64_t compute_catalog_version(const std::vector<sensor_meta>& sensors,
                                      const std::vector<std::uint32_t>& interval_ms);

// One driver instance's share of the catalog, encoded once when its sensor
// set is made rather than at every change of the whole rack's catalog: a
// reload that adds an instance to a rack of 100 then hashes and concatenates
// bytes instead of serialising 100 000 sensors again.
struct catalog_part {
  // Each sensor's digest as the version hash reads it (8 bytes a sensor,
  // where keeping the hashed bytes took a second copy of the catalog).
  std::vector<std::uint64_t> digests;
  // Its sensors as Catalog.sensors entries, deflated: a part lives as long as
  // its instance and is read only when the whole catalog is sent or spooled.
  std::string packed;
  std::size_t bytes = 0;  // inflated
  bool deflated = false;
  std::size_t count = 0;
  // The entries, ready to concatenate.
  std::string sensors() const;
};
// `group_names[i]` and `interval_ms[i]` describe sensor i's read group.
catalog_part encode_catalog_part(const std::vector<sensor_meta>& sensors, const std::vector<std::string>& group_names,
                                 const std::vector<std::uint32_t>& interval_ms);
// The same value compute_catalog_version gives for the parts' sensors in order.
std::uint64_t catalog_version_of(const std::vector<std::shared_ptr<const catalog_part>>& parts);
// The same bytes encode_catalog gives for the parts' sensors in order.
std::string encode_catalog(std::uint64_t version, const boot_id& boot, std::int64_t time_ms,
                           const std::vector<std::shared_ptr<const catalog_part>>& parts);

// `interval_ms[i]` and `group_names[i]` describe sensor i's read group.
std::string encode_catalog(const sensor_catalog& catalog, const boot_id& boot, std::int64_t time_ms,
                           const std::vector<std::string>& group_names,
                           const std::vector<std::uint32_t>& interval_ms);
struct decoded_catalog {
  sensor_catalog catalog;
  std::vector<std::uint32_t> interval_ms;
};
// nullopt when malformed or beyond `limits`; `error` (if given) says which.
std::optional<decoded_catalog> decode_catalog(std::string_view bytes, const decode_limits& limits = {},
                                              std::string* error = nullptr);

struct agent_state_info {
  bool online = true;
  std::string version;
  boot_id boot{};
  std::int64_t start_time_ms = 0;
  std::int64_t time_ms = 0;
  std::uint64_t catalog_version = 0;
  std::string site;
  std::string rack;
  std::string reason;
  std::uint64_t readings_dropped = 0;
  std::uint64_t sensors = 0;
  std::uint64_t readings_accepted = 0;
  std::uint32_t alarms_critical = 0;
  std::uint32_t alarms_warning = 0;
  std::uint32_t alarms_suppressed = 0;
  std::vector<maintenance_window> maintenance;
};
std::string encode_agent_state(const agent_state_info& state);
std::optional<agent_state_info> decode_agent_state(std::string_view bytes);

// The retained set of active alarms (ActiveAlarms).
struct active_alarms_info {
  std::uint64_t catalog_version = 0;
  boot_id boot{};
  std::int64_t time_ms = 0;
  std::vector<active_alarm> alarms;
};
std::string encode_active_alarms(const active_alarms_info& info);
// nullopt with `error` set when the payload is not a valid ActiveAlarms.
std::optional<active_alarms_info> decode_active_alarms(std::string_view bytes, std::size_t max_alarms = 100000);

// The agent's open maintenance windows, as kept in its state directory (MaintenanceBook).
std::string encode_maintenance_book(const std::vector<maintenance_window>& windows, std::uint64_t next_id);
struct decoded_maintenance_book {
  std::vector<maintenance_window> windows;
  std::uint64_t next_id = 1;
};
std::optional<decoded_maintenance_book> decode_maintenance_book(std::string_view bytes, std::size_t max_windows = 10000);

// The last commissioning check, retained on .../commission (CommissionReport).
std::string encode_commission(const published_commission& c);
std::optional<published_commission> decode_commission(std::string_view bytes, std::size_t max_findings = 100000);

// One AlarmEvent, on .../alarms.
struct alarm_event_info {
  std::uint64_t catalog_version = 0;
  boot_id boot{};
  std::uint64_t sequence = 0;
  alarm_event event;
};
std::string encode_alarm_event(const alarm_event_info& info);
std::optional<alarm_event_info> decode_alarm_event(std::string_view bytes);

// OK and OUT_OF_RANGE readings carry a value; the others do not.
bool reading_has_value(std::uint32_t status);
const char* reading_status_name(std::uint32_t status);  // "ok", "error", ...
const char* sensor_kind_name(std::uint32_t kind);       // "temperature", ...

}  // namespace racktel
