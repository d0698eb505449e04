// A BMC's sensors as IPMI describes them: the SDR records (bytes from the
// BMC, or from the cache file of an earlier run) parsed into what the driver
// lists, the IPMI units mapped to racktel's kinds, and a threshold sensor's
// state from its event bits. No sessions here: the ipmi driver
// (ipmi_driver.cpp) fetches the records and the readings.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "support/listed_sensor.h"

namespace racktel::ipmi {

struct sdr_sensor {
  std::uint16_t record_id = 0;
  std::uint8_t record_type = 0;         // 0x01 full, 0x02 compact
  std::uint8_t number = 0;              // the sensor number
  std::uint8_t sensor_type = 0;         // 0x01 temperature, 0x02 voltage, 0x04 fan ...
  std::uint8_t event_reading_type = 0;  // 0x01: a threshold sensor (an analog value); else discrete
  std::string name;                     // the record's ID string
  std::uint8_t base_unit = 0;           // IPMI 2.0 table 43-15: 1 degrees C, 4 volts ...
  std::uint8_t rate_unit = 0;           // 4: per minute
  bool percentage = false;
  double resolution = 0.01;             // M x 10^R of a linear full record
  std::optional<double> lower_non_critical, lower_critical, lower_non_recoverable;
  std::optional<double> upper_non_critical, upper_critical, upper_non_recoverable;
  std::vector<std::uint8_t> record;     // the whole record, to read the sensor with

  bool threshold() const { return event_reading_type == 0x01; }
};

// One SDR record; nullopt for records that are not sensors (full or compact):
// device locators, OEM records, and anything malformed.
std::optional<sdr_sensor> parse_sdr_record(const std::uint8_t* data, std::size_t size);

// What a reading in an IPMI unit is in racktel's: kind, unit, and
// value = raw * scale + offset (Fahrenheit to Celsius, PSI to kPa).
struct unit_mapping {
  std::uint32_t kind = 0;
  std::string unit;
  double scale = 1;
  double offset = 0;
};
unit_mapping map_unit(std::uint8_t base_unit, bool percentage, std::uint8_t rate_unit);

// A threshold sensor's state from the event bits of its reading (bit 0
// lower non-critical ... bit 5 upper non-recoverable).
enum class threshold_state : std::uint8_t { ok = 0, non_critical = 1, critical = 2, non_recoverable = 3 };
threshold_state state_of(std::uint16_t event_bits);
inline const char* const threshold_state_words = "0=ok,1=non_critical,2=critical,3=non_recoverable";

// One sensor the driver lists, and where its value comes from.
struct ipmi_sensor : drivers::listed_sensor {
  std::size_t sdr = 0;        // index in the BMC's sdr_sensor list
  bool bmc_state = false;     // the BMC's own assessment (the state companion of a threshold sensor)
  unit_mapping mapping;
};

// The BMC's sensors: a threshold sensor becomes its value (limits from the
// thresholds) and "<id>.state", the BMC's own verdict; a discrete sensor one
// state sensor holding its event bits. Ids are "<bmc>.<name in lower case,
// '_' for the rest>", made unique with the record id when two names clash.
std::vector<ipmi_sensor> catalog_for(const std::string& bmc, const std::string& location,
                                     const std::vector<sdr_sensor>& sdrs);

// Lower case, [a-z0-9_] only, no runs of '_': "CPU1 Temp" -> "cpu1_temp".
std::string id_of(const std::string& name);

}  // namespace racktel::ipmi
