// The wire decoders, on bytes from a broker: a catalog, then a batch decoded
// against it, and the state and alarm messages; and the agent's own state
// files (<state_dir>/active-alarms, maintenance), which a damaged disk may
// hand back as anything. Input: u32 catalog length | catalog | batch (the
// state, alarm and maintenance decoders take the whole input).
#include <cstdint>
#include <cstring>
#include <string_view>

#include "wire/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  racktel::decode_limits limits;
  limits.max_payload_bytes = 1U << 20U;
  limits.max_sensors = 4096;
  (void)racktel::decode_agent_state(bytes);
  if (auto event = racktel::decode_alarm_event(bytes)) {
    // A sensor index that does not fit 32 bits is the "left the catalog" marker, nothing else.
    if (event->event.sensor > UINT32_MAX && event->event.sensor != racktel::alarm_event::no_sensor) __builtin_trap();
  }
  if (auto active = racktel::decode_active_alarms(bytes, 4096)) {
    if (active->alarms.size() > 4096) __builtin_trap();
  }
  if (auto book = racktel::decode_maintenance_book(bytes, 64)) {
    if (book->windows.size() > 64) __builtin_trap();
    racktel::maintenance_book restored;
    restored.restore(std::move(book->windows), book->next_id);
    (void)restored.expire(0);
  }
  if (auto report = racktel::decode_commission(bytes, 4096)) {
    std::size_t findings = 0;
    for (const auto& c : report->report.checks) findings += c.findings.size() + 1;
    if (findings > 4096) __builtin_trap();
  }
  (void)racktel::peek_batch_header(bytes);
  std::uint32_t catalog_length = 0;
  if (bytes.size() < 4) return 0;
  std::memcpy(&catalog_length, bytes.data(), 4);
  const std::string_view rest = bytes.substr(4);
  const std::string_view catalog_bytes = rest.substr(0, std::min<std::size_t>(catalog_length, rest.size()));
  const std::string_view batch_bytes = rest.substr(catalog_bytes.size());
  std::string error;
  auto catalog = racktel::decode_catalog(catalog_bytes, limits, &error);
  if (!catalog) return 0;
  // The batch names its catalog's version; use the one decoded whatever it says.
  if (auto header = racktel::peek_batch_header(batch_bytes)) catalog->catalog.version = header->catalog_version;
  auto decoded = racktel::decode_data_batch(batch_bytes, catalog->catalog, limits);
  if (decoded.batch) {
    for (const auto& s : decoded.batch->scans) {
      for (const auto& r : s.readings) {
        if (r.sensor >= catalog->catalog.sensors.size()) __builtin_trap();  // the decoder promised an index in range
      }
    }
  }
  return 0;
}
