// SNMP as data: which scalars and table columns of a device become sensors,
// how a GETBULK walk of a table proceeds, and how a value the device sent
// becomes a reading. Pure: no sockets, no net-snmp. The snmp driver
// (snmp_driver.cpp) sends the requests planned here; profiles live in
// config/profiles/snmp-*.toml.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/listed_sensor.h"
#include "support/profile_fields.h"

namespace racktel::snmp {

using oid_path = std::vector<std::uint32_t>;

// "1.3.6.1.2.1.1.3.0" (a leading '.' is allowed); nullopt when malformed.
std::optional<oid_path> parse_oid(std::string_view text);
std::string format_oid(std::span<const std::uint32_t> oid);
bool oid_starts_with(std::span<const std::uint32_t> oid, std::span<const std::uint32_t> prefix);

// One value as the device sent it.
struct value {
  enum class type : std::uint8_t {
    missing,      // noSuchObject / noSuchInstance, or never received
    number,       // INTEGER, Gauge32, Counter32/64, Unsigned32, TimeTicks
    text,         // OCTET STRING
    end_of_view,  // the walk ran off the end of the agent's MIB
    unusable,     // a type no reading can come from (an IpAddress, an OID)
  };
  type t = type::missing;
  double number = 0;
  std::string text;
};

struct varbind {
  oid_path oid;
  value v;
};

// A scalar or a column's sensor fields, plus a remapping of raw state values
// ("2:0,1:1,3:2"): the ABI's state sensors read 0 when normal, and many MIBs
// number their normal state 1 or 2.
struct value_spec : drivers::sensor_fields {
  std::vector<std::pair<std::int64_t, std::int64_t>> remap;
};

struct scalar_spec : value_spec {
  oid_path oid;  // the instance: "...12.1.16.0"
};

// A column: `column = N` under the table's entry OID, or its full `oid`, so
// that one table can join MIB tables that share an index (Eaton's outlet
// current, power and energy tables).
struct column_spec : value_spec {
  oid_path oid;  // the column's OID; its instances are oid.<index>
};

struct table_spec {
  std::string id;                  // "outlet": part of each of its sensors' ids
  oid_path entry;                  // the table's entry OID ("...Table.1"); may be empty
  std::vector<std::string> index;  // a location label per index arc: ["outlet"], ["unit", "outlet"]
  oid_path name_column;            // a column whose text names the row; may be empty
  std::vector<column_spec> columns;
};

struct profile {
  std::string description;
  std::vector<scalar_spec> scalars;
  std::vector<table_spec> tables;
  bool entity_sensors = false;  // also read ENTITY-SENSOR-MIB's entPhySensorTable (RFC 3433)
};

struct profile_result {
  profile p;
  std::vector<std::string> errors;  // "file:line:column: message"
  bool ok() const { return errors.empty(); }
};
profile_result parse_profile(std::string_view toml_text, const std::string& source_name);

// The status (racktel_reading_status) and value a raw value gives.
struct reading {
  std::uint32_t status = 1;
  double value = 0;
};
reading convert(const value_spec& spec, const value& v);

// Requests carry at most this many variable bindings: with the OIDs of a PDU
// table (about 16 bytes each) and their values, an answer stays within one
// Ethernet frame, which some PDU agents cannot exceed.
inline constexpr std::size_t max_varbinds_per_request = 48;

// Walks some columns of one table with GETBULK: each request asks for the next
// rows of every column not yet finished, so one request reads a whole row
// block of all columns at once.
class table_walk {
 public:
  // `columns` are column OIDs, their instances column.<row index>.
  explicit table_walk(std::vector<oid_path> columns, std::size_t max_rows = 10000);

  // Rows asked per request for `max_repetitions` configured.
  std::uint32_t repetitions(std::uint32_t max_repetitions) const;
  bool done() const;
  std::vector<oid_path> next_request() const;  // one OID per unfinished column
  // The answer to the last next_request(): GETBULK's varbinds, row by row.
  void absorb(std::span<const varbind> answer);
  void restart();  // for the next poll: forget the rows, start from the top

  // Row index (the OID arcs after the column) -> one value per column.
  const std::map<oid_path, std::vector<value>>& rows() const { return rows_; }
  // The walk stopped early: more rows than allowed, or the agent answered an
  // OID that did not follow the one asked for (a looping agent).
  bool truncated() const { return truncated_; }
  const std::vector<oid_path>& columns() const { return columns_; }

 private:
  std::vector<oid_path> columns_;
  std::size_t max_rows_;
  std::vector<oid_path> position_;
  std::vector<bool> finished_;
  std::map<oid_path, std::vector<value>> rows_;
  bool truncated_ = false;
};

// ENTITY-SENSOR-MIB (RFC 3433): the table's entry and the columns read.
inline const oid_path entity_sensor_entry{1, 3, 6, 1, 2, 1, 99, 1, 1, 1};
inline constexpr std::uint32_t ent_type = 1, ent_scale = 2, ent_precision = 3, ent_value = 4, ent_oper_status = 5;
// ENTITY-MIB's entPhysicalName, which names the sensors.
inline const oid_path entity_physical_entry{1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1};
inline constexpr std::uint32_t ent_physical_name = 7;

// What an entPhySensorType says about a sensor.
struct entity_kind {
  std::uint32_t kind = 0;   // racktel_sensor_kind
  const char* unit = "";
  double factor = 1;        // to the kind's unit (cmm -> L/min)
  const char* states = "";  // for truth values
};
entity_kind entity_sensor_kind(std::int64_t type);
// The value and its resolution from entPhySensorValue, Scale and Precision.
double entity_sensor_multiplier(std::int64_t scale, std::int64_t precision);
reading entity_sensor_reading(const std::vector<value>& row);  // one row of the walk, columns 1-5

// One sensor of a device, as the driver lists it.
struct catalog_sensor : drivers::listed_sensor {
  // Where its value comes from.
  enum class source : std::uint8_t { scalar, column, entity } from = source::scalar;
  std::size_t spec = 0;    // scalar or table index in the profile
  std::size_t column = 0;  // column index in the table's spec and walk
  oid_path row;
};

// The walks a device needs for a profile, in the order catalog_for expects:
// one per table, then ENTITY-SENSOR-MIB's and entPhysicalName's.
std::vector<table_walk> walks_for(const profile& p, std::size_t max_rows);

// The device's sensors from what its walks found. `device` prefixes every id;
// `location` is added to every sensor's labels.
std::vector<catalog_sensor> catalog_for(const profile& p, const std::string& device, const std::string& location,
                                        const std::vector<table_walk>& walks);

// A hash of the rows the walks found (and the entity sensors' types): when it
// changes, the device's catalog does.
std::uint64_t shape_of(const profile& p, const std::vector<table_walk>& walks);

// The reading of `sensor` from the scalars' values and the walks.
reading read_sensor(const profile& p, const catalog_sensor& sensor, const std::vector<value>& scalars,
                    const std::vector<table_walk>& walks);

}  // namespace racktel::snmp
