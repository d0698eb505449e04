#include "snmp_profile.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "racktel/driver.h"

namespace racktel::snmp {

std::optional<oid_path> parse_oid(std::string_view text) {
  if (text.starts_with('.')) text.remove_prefix(1);
  oid_path out;
  while (!text.empty()) {
    std::uint32_t arc = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), arc);
    if (ec != std::errc{} || end == text.data()) return std::nullopt;
    out.push_back(arc);
    text.remove_prefix(static_cast<std::size_t>(end - text.data()));
    if (text.empty()) break;
    if (text.front() != '.' || text.size() == 1) return std::nullopt;
    text.remove_prefix(1);
  }
  // SNMP's limit is 128 sub-identifiers (RFC 2578 3.5); two arcs at least.
  if (out.size() < 2 || out.size() > 128) return std::nullopt;
  return out;
}

std::string format_oid(std::span<const std::uint32_t> oid) {
  std::string out;
  for (std::size_t i = 0; i < oid.size(); ++i) {
    if (i > 0) out += '.';
    out += std::to_string(oid[i]);
  }
  return out;
}

bool oid_starts_with(std::span<const std::uint32_t> oid, std::span<const std::uint32_t> prefix) {
  return oid.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), oid.begin());
}

namespace {

// A device's number as an integer, whatever it sent (NaN, 1e300, -5).
std::int64_t as_int(double v) {
  if (!(v == v)) return 0;
  return static_cast<std::int64_t>(std::clamp(v, -9.0e18, 9.0e18));
}

// The elements of an array node, or none (never a copy: copies lose their source positions).
const toml::array& elements(const toml::array* a) {
  static const toml::array none;
  return a != nullptr ? *a : none;
}

// "2:0,1:1,3:2" -> pairs; false when malformed.
bool parse_remap(std::string_view text, std::vector<std::pair<std::int64_t, std::int64_t>>& out) {
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    const auto colon = item.find(':');
    if (colon == std::string_view::npos) return false;
    std::int64_t from = 0, to = 0;
    const auto a = std::from_chars(item.data(), item.data() + colon, from);
    const auto b = std::from_chars(item.data() + colon + 1, item.data() + item.size(), to);
    if (a.ec != std::errc{} || a.ptr != item.data() + colon || b.ec != std::errc{} ||
        b.ptr != item.data() + item.size()) {
      return false;
    }
    out.emplace_back(from, to);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return !out.empty();
}

void read_remap(drivers::profile_reader& r, const toml::table& t, value_spec& spec) {
  if (auto text = r.get<std::string>(t, "remap", "a string like \"2:0,1:1\"")) {
    if (!parse_remap(*text, spec.remap)) {
      r.error(*t.get("remap"), "expected \"remap\" as raw:reported pairs such as \"2:0,1:1,3:2\"");
    }
  }
}

std::optional<oid_path> read_oid(drivers::profile_reader& r, const toml::table& t, std::string_view key) {
  const toml::node* node = t.get(key);
  if (node == nullptr) {
    r.error(t, "no \"" + std::string(key) + "\": expected a numeric OID such as \"1.3.6.1.4.1.318.1.1.12.1.16.0\"");
    return std::nullopt;
  }
  const auto text = node->value<std::string>();
  std::optional<oid_path> oid = text ? parse_oid(*text) : std::nullopt;
  if (!oid) r.error(*node, "\"" + std::string(key) + "\" must be a numeric OID such as \"1.3.6.1.2.1.99.1.1.1\"");
  return oid;
}

}  // namespace

profile_result parse_profile(std::string_view text, const std::string& source_name) {
  profile_result out;
  drivers::profile_reader r(source_name, out.errors);
  const std::optional<toml::table> document = r.parse(text);
  if (!document) return out;
  static const std::set<std::string, std::less<>> top{"description", "entity_sensors", "scalars", "tables"};
  for (const auto& [key, node] : *document) {
    if (!top.contains(key.str())) {
      r.error(node, "unknown key \"" + std::string(key.str()) +
                        "\"; expected description, entity_sensors, [[scalars]] and [[tables]]");
    }
  }
  profile& p = out.p;
  p.description = r.get<std::string>(*document, "description", "a string").value_or("");
  p.entity_sensors = r.get<bool>(*document, "entity_sensors", "true or false").value_or(false);
  std::set<std::string> scalar_ids;
  if (const toml::node* scalars = document->get("scalars")) {
    const toml::array* list = scalars->as_array();
    if (list == nullptr) r.error(*scalars, "expected [[scalars]] tables");
    for (const toml::node& element : elements(list)) {
      const toml::table* t = element.as_table();
      if (t == nullptr) {
        r.error(element, "expected a [[scalars]] table");
        continue;
      }
      static const std::set<std::string, std::less<>> own{"oid", "remap"};
      r.check_keys(*t, own, "[[scalars]]");
      const std::size_t before = r.error_count();
      scalar_spec spec;
      static_cast<drivers::sensor_fields&>(spec) = r.read_sensor_fields(*t, scalar_ids, "other");
      read_remap(r, *t, spec);
      if (auto oid = read_oid(r, *t, "oid")) spec.oid = std::move(*oid);
      if (r.error_count() == before) p.scalars.push_back(std::move(spec));
    }
  }
  std::set<std::string> table_ids;
  if (const toml::node* tables = document->get("tables")) {
    const toml::array* list = tables->as_array();
    if (list == nullptr) r.error(*tables, "expected [[tables]] tables");
    for (const toml::node& element : elements(list)) {
      const toml::table* t = element.as_table();
      if (t == nullptr) {
        r.error(element, "expected a [[tables]] table");
        continue;
      }
      static const std::set<std::string, std::less<>> own{"id", "oid", "index", "name_column", "name_oid", "columns"};
      for (const auto& [key, node] : *t) {
        if (!own.contains(key.str())) r.error(node, "unknown key \"" + std::string(key.str()) + "\" in [[tables]]");
      }
      const std::size_t before = r.error_count();
      table_spec table;
      table.id = r.get<std::string>(*t, "id", "a string").value_or("");
      if (!drivers::valid_sensor_id(table.id) || table.id.size() > 32) {
        r.error(*t, "each table needs an \"id\" of 1-32 letters, digits, '_', '.', '-' or ':' (\"outlet\")");
      } else if (!table_ids.insert(table.id).second || scalar_ids.contains(table.id)) {
        r.error(*t->get("id"), "a second table or scalar with the id \"" + table.id + "\"");
      }
      if (t->get("oid") != nullptr) {
        if (auto oid = read_oid(r, *t, "oid")) table.entry = std::move(*oid);
      }
      // A column number under the entry, or a full OID.
      const auto column_oid = [&](const toml::table& where, std::string_view number_key,
                                  std::string_view oid_key) -> std::optional<oid_path> {
        if (where.get(oid_key) != nullptr) return read_oid(r, where, oid_key);
        const toml::node* n = where.get(number_key);
        if (n == nullptr) return std::nullopt;
        const auto v = n->value<std::int64_t>();
        if (!v || *v < 1 || *v > 0xFFFFFFFF) {
          r.error(*n, "\"" + std::string(number_key) + "\" must be a column number (the arc after the entry OID)");
          return std::nullopt;
        }
        if (table.entry.empty()) {
          r.error(*n, "a column number needs the table's \"oid\" (its entry OID), or give the column's full \"" +
                          std::string(oid_key) + "\"");
          return std::nullopt;
        }
        oid_path full = table.entry;
        full.push_back(static_cast<std::uint32_t>(*v));
        return full;
      };
      if (const toml::node* index = t->get("index")) {
        const toml::array* labels = index->as_array();
        if (labels == nullptr || labels->size() > 8) {
          r.error(*index, "\"index\" must be a list of up to 8 label names, one per index arc: [\"outlet\"]");
        } else {
          for (const toml::node& label : *labels) {
            const auto name = label.value<std::string>();
            if (!name || !drivers::valid_sensor_id(*name) || name->find_first_of(".:") != std::string::npos) {
              r.error(label, "an index label is a name of letters, digits, '_' or '-'");
            } else {
              table.index.push_back(*name);
            }
          }
        }
      }
      if (auto name = column_oid(*t, "name_column", "name_oid")) table.name_column = std::move(*name);
      const toml::array* columns = (*t)["columns"].as_array();
      if (columns == nullptr || columns->empty()) {
        r.error(*t, "table \"" + table.id + "\" has no [[tables.columns]]: the columns to read");
      }
      std::set<std::string> column_ids;
      std::set<oid_path> seen;
      for (const toml::node& c : elements(columns)) {
        const toml::table* ct = c.as_table();
        if (ct == nullptr) {
          r.error(c, "expected a [[tables.columns]] table");
          continue;
        }
        static const std::set<std::string, std::less<>> column_own{"column", "oid", "remap"};
        r.check_keys(*ct, column_own, "[[tables.columns]]");
        column_spec spec;
        static_cast<drivers::sensor_fields&>(spec) = r.read_sensor_fields(*ct, column_ids, "other");
        read_remap(r, *ct, spec);
        const std::size_t errors_before = r.error_count();
        if (auto oid = column_oid(*ct, "column", "oid")) {
          if (!seen.insert(*oid).second) {
            r.error(*ct, "column " + format_oid(*oid) + " is read twice in this table");
          }
          spec.oid = std::move(*oid);
        } else if (r.error_count() == errors_before) {
          r.error(*ct, "each column needs a \"column\" number under the table's \"oid\", or its full \"oid\"");
        }
        table.columns.push_back(std::move(spec));
      }
      if (table.columns.size() > max_varbinds_per_request - 1) {
        r.error(*t, "a table reads at most " + std::to_string(max_varbinds_per_request - 1) + " columns");
      }
      if (r.error_count() == before) p.tables.push_back(std::move(table));
    }
  }
  if (p.scalars.empty() && p.tables.empty() && !p.entity_sensors && out.errors.empty()) {
    r.error("nothing to read: a profile has [[scalars]], [[tables]] or entity_sensors = true");
  }
  return out;
}

reading convert(const value_spec& spec, const value& v) {
  double raw = 0;
  switch (v.t) {
    case value::type::number: raw = v.number; break;
    case value::type::text: {
      // Some agents send numbers as text ("230.4"); anything else is no reading.
      std::string_view s = v.text;
      while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
      while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.remove_suffix(1);
      const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), raw);
      if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) return {RACKTEL_READING_ERROR, 0};
      break;
    }
    default: return {RACKTEL_READING_ERROR, 0};
  }
  if (!spec.remap.empty()) {
    for (const auto& [from, to] : spec.remap) {
      if (static_cast<double>(from) == raw) return {RACKTEL_READING_OK, static_cast<double>(to)};
    }
  }
  const double value = raw * spec.scale + spec.offset;
  if (!std::isfinite(value)) return {RACKTEL_READING_ERROR, 0};
  return {RACKTEL_READING_OK, value};
}

table_walk::table_walk(std::vector<oid_path> columns, std::size_t max_rows)
    : columns_(std::move(columns)), max_rows_(max_rows) {
  restart();
}

void table_walk::restart() {
  position_ = columns_;
  finished_.assign(columns_.size(), false);
  rows_.clear();
  truncated_ = false;
}

std::uint32_t table_walk::repetitions(std::uint32_t max_repetitions) const {
  const auto open = static_cast<std::uint32_t>(std::count(finished_.begin(), finished_.end(), false));
  const auto fit = static_cast<std::uint32_t>(max_varbinds_per_request / std::max<std::uint32_t>(open, 1));
  return std::max<std::uint32_t>(1, std::min(max_repetitions, fit));
}

bool table_walk::done() const { return std::all_of(finished_.begin(), finished_.end(), [](bool f) { return f; }); }

std::vector<oid_path> table_walk::next_request() const {
  std::vector<oid_path> out;
  for (std::size_t i = 0; i < columns_.size(); ++i) {
    if (!finished_[i]) out.push_back(position_[i]);
  }
  return out;
}

void table_walk::absorb(std::span<const varbind> answer) {
  std::vector<std::size_t> open;
  for (std::size_t i = 0; i < columns_.size(); ++i) {
    if (!finished_[i]) open.push_back(i);
  }
  if (open.empty()) return;
  if (answer.empty()) {
    finished_.assign(columns_.size(), true);  // an agent that answers nothing ends the walk
    return;
  }
  for (std::size_t k = 0; k < answer.size(); ++k) {
    const std::size_t c = open[k % open.size()];
    if (finished_[c]) continue;
    const varbind& vb = answer[k];
    const std::size_t prefix = columns_[c].size();
    if (vb.v.t == value::type::end_of_view || vb.oid.size() <= prefix || !oid_starts_with(vb.oid, columns_[c])) {
      finished_[c] = true;  // past the column: the walk of this column is complete
      continue;
    }
    if (!(vb.oid > position_[c])) {
      finished_[c] = true;  // an agent that does not move forward would loop forever
      truncated_ = true;
      continue;
    }
    position_[c] = vb.oid;
    oid_path key(vb.oid.begin() + static_cast<std::ptrdiff_t>(prefix), vb.oid.end());
    auto it = rows_.find(key);
    if (it == rows_.end()) {
      if (rows_.size() >= max_rows_) {
        truncated_ = true;
        finished_.assign(columns_.size(), true);
        return;
      }
      it = rows_.emplace(std::move(key), std::vector<value>(columns_.size())).first;
    }
    it->second[c] = vb.v;
  }
}

entity_kind entity_sensor_kind(std::int64_t type) {
  switch (type) {
    case 3:  // voltsAC
    case 4: return {RACKTEL_KIND_VOLTAGE, "V", 1, ""};
    case 5: return {RACKTEL_KIND_CURRENT, "A", 1, ""};
    case 6: return {RACKTEL_KIND_POWER, "W", 1, ""};
    case 7: return {RACKTEL_KIND_OTHER, "Hz", 1, ""};
    case 8: return {RACKTEL_KIND_TEMPERATURE, "Cel", 1, ""};
    case 9: return {RACKTEL_KIND_RATIO, "%RH", 1, ""};
    case 10: return {RACKTEL_KIND_FAN_SPEED, "RPM", 1, ""};
    case 11: return {RACKTEL_KIND_FLOW, "L/min", 1000, ""};  // cubic metres per minute
    case 12: return {RACKTEL_KIND_STATE, "", 1, "0=false,1=true"};
    default: return {RACKTEL_KIND_OTHER, "", 1, ""};
  }
}

double entity_sensor_multiplier(std::int64_t scale, std::int64_t precision) {
  // entPhySensorScale: yocto(1) .. units(9) .. yotta(17), steps of 10^3;
  // entPhySensorPrecision: decimal places in the value, -8..9.
  const std::int64_t s = std::clamp<std::int64_t>(scale, 1, 17);
  const std::int64_t p = std::clamp<std::int64_t>(precision, -8, 9);
  return std::pow(10.0, static_cast<double>(3 * (s - 9) - p));
}

reading entity_sensor_reading(const std::vector<value>& row) {
  // Columns as walks_for orders them: type, scale, precision, value, oper status.
  if (row.size() < 5) return {RACKTEL_READING_ERROR, 0};
  for (std::size_t i = 0; i < 5; ++i) {
    if (row[i].t != value::type::number) return {RACKTEL_READING_ERROR, 0};
  }
  if (row[4].number != 1) return {RACKTEL_READING_ERROR, 0};  // unavailable(2), nonoperational(3)
  const auto type = as_int(row[0].number);
  if (type == 12) return {RACKTEL_READING_OK, row[3].number == 1 ? 1.0 : 0.0};  // TruthValue: true(1), false(2)
  const entity_kind k = entity_sensor_kind(type);
  const double v = row[3].number * entity_sensor_multiplier(as_int(row[1].number), as_int(row[2].number)) *
                   k.factor;
  return {std::isfinite(v) ? RACKTEL_READING_OK : RACKTEL_READING_ERROR, std::isfinite(v) ? v : 0};
}

std::vector<table_walk> walks_for(const profile& p, std::size_t max_rows) {
  std::vector<table_walk> walks;
  const auto under = [](const oid_path& entry, std::uint32_t column) {
    oid_path full = entry;
    full.push_back(column);
    return full;
  };
  for (const table_spec& t : p.tables) {
    std::vector<oid_path> columns;
    for (const column_spec& c : t.columns) columns.push_back(c.oid);
    // The name column is walked last, after the value columns (the catalog's indices).
    if (!t.name_column.empty() && std::find(columns.begin(), columns.end(), t.name_column) == columns.end()) {
      columns.push_back(t.name_column);
    }
    walks.emplace_back(std::move(columns), max_rows);
  }
  if (p.entity_sensors) {
    std::vector<oid_path> columns;
    for (std::uint32_t c : {ent_type, ent_scale, ent_precision, ent_value, ent_oper_status}) {
      columns.push_back(under(entity_sensor_entry, c));
    }
    walks.emplace_back(std::move(columns), max_rows);
    walks.emplace_back(std::vector<oid_path>{under(entity_physical_entry, ent_physical_name)}, max_rows);
  }
  return walks;
}

namespace {

// Location labels from a row's index arcs: one label per arc; arcs beyond the
// labels join the last one ("outlet=3.1"), and with no labels it is "index=".
std::string index_location(const std::vector<std::string>& labels, const oid_path& row) {
  std::string out;
  for (std::size_t i = 0; i < row.size(); ++i) {
    if (i < labels.size() || (labels.empty() && i == 0)) {
      if (!out.empty()) out += ',';
      out += (labels.empty() ? std::string("index") : labels[i]) + "=";
    } else {
      out += '.';
    }
    out += std::to_string(row[i]);
  }
  return out;
}

// Text fit for a sensor name: printable, at most 64 bytes.
std::string printable(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (out.size() >= 64) break;
    if (c == '\0') break;
    out += (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) ? c : ' ';
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

void copy_fields(const drivers::sensor_fields& f, catalog_sensor& s) {
  s.unit = f.unit;
  s.kind = f.kind;
  s.states = f.states;
  s.resolution = f.resolution;
  s.warn_low = f.warn_low;
  s.warn_high = f.warn_high;
  s.crit_low = f.crit_low;
  s.crit_high = f.crit_high;
}

}  // namespace

std::vector<catalog_sensor> catalog_for(const profile& p, const std::string& device, const std::string& location,
                                        const std::vector<table_walk>& walks) {
  std::vector<catalog_sensor> out;
  const std::string device_location = drivers::join_location("device=" + device, location);
  for (std::size_t i = 0; i < p.scalars.size(); ++i) {
    const scalar_spec& spec = p.scalars[i];
    catalog_sensor s;
    copy_fields(spec, s);
    s.id = device + "." + spec.id;
    s.name = device + " " + spec.name;
    s.location = drivers::join_location(device_location, spec.location);
    s.from = catalog_sensor::source::scalar;
    s.spec = i;
    out.push_back(std::move(s));
  }
  for (std::size_t t = 0; t < p.tables.size() && t < walks.size(); ++t) {
    const table_spec& table = p.tables[t];
    const table_walk& walk = walks[t];
    const auto name_at = table.name_column.empty()
                             ? -1
                             : std::find(walk.columns().begin(), walk.columns().end(), table.name_column) -
                                   walk.columns().begin();
    for (const auto& [row, values] : walk.rows()) {
      const std::string index = format_oid(row);
      std::string row_name = table.id + " " + index;
      if (name_at >= 0 && values[static_cast<std::size_t>(name_at)].t == value::type::text) {
        const std::string text = printable(values[static_cast<std::size_t>(name_at)].text);
        if (!text.empty()) row_name += " (" + text + ")";
      }
      const std::string row_location = drivers::join_location(device_location, index_location(table.index, row));
      for (std::size_t c = 0; c < table.columns.size(); ++c) {
        if (values[c].t == value::type::missing) continue;  // a sensor only for what the row has
        const column_spec& spec = table.columns[c];
        catalog_sensor s;
        copy_fields(spec, s);
        s.id = device + "." + table.id + "." + index + "." + spec.id;
        s.name = device + " " + row_name + " " + spec.name;
        s.location = drivers::join_location(row_location, spec.location);
        s.from = catalog_sensor::source::column;
        s.spec = t;
        s.column = c;
        s.row = row;
        out.push_back(std::move(s));
      }
    }
  }
  if (p.entity_sensors && walks.size() >= p.tables.size() + 2) {
    const table_walk& sensors = walks[p.tables.size()];
    const table_walk& names = walks[p.tables.size() + 1];
    for (const auto& [row, values] : sensors.rows()) {
      if (values[0].t != value::type::number) continue;
      const entity_kind k = entity_sensor_kind(as_int(values[0].number));
      const std::string index = format_oid(row);
      catalog_sensor s;
      s.id = device + ".entity." + index;
      std::string name = "sensor " + index;
      if (auto n = names.rows().find(row); n != names.rows().end() && n->second[0].t == value::type::text) {
        if (std::string text = printable(n->second[0].text); !text.empty()) name = text;
      }
      s.name = device + " " + name;
      s.unit = k.unit;
      s.kind = k.kind;
      s.states = k.states;
      s.location = drivers::join_location(device_location, "entity=" + index);
      const double m = values[1].t == value::type::number && values[2].t == value::type::number
                           ? entity_sensor_multiplier(as_int(values[1].number), as_int(values[2].number)) *
                                 k.factor
                           : 1.0;
      s.resolution = k.kind == RACKTEL_KIND_STATE ? 1.0 : m;
      s.from = catalog_sensor::source::entity;
      s.spec = p.tables.size();
      s.row = row;
      out.push_back(std::move(s));
    }
  }
  return out;
}

std::uint64_t shape_of(const profile& p, const std::vector<table_walk>& walks) {
  // FNV-1a over the row indices, which columns each row has, and the entity types.
  std::uint64_t h = 1469598103934665603ULL;
  const auto mix = [&h](std::uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= (v >> (8 * i)) & 0xFF;
      h *= 1099511628211ULL;
    }
  };
  for (std::size_t w = 0; w < walks.size(); ++w) {
    mix(0xFFFFFFFF00000000ULL | w);
    const bool entity = p.entity_sensors && w == p.tables.size();
    for (const auto& [row, values] : walks[w].rows()) {
      for (std::uint32_t arc : row) mix(arc);
      std::uint64_t present = 0;
      for (std::size_t c = 0; c < values.size() && c < 64; ++c) {
        if (values[c].t != value::type::missing) present |= 1ULL << c;
      }
      mix(present);
      if (entity && values[0].t == value::type::number) mix(static_cast<std::uint64_t>(as_int(values[0].number)));
      if (entity && values[1].t == value::type::number) mix(static_cast<std::uint64_t>(as_int(values[1].number)));
      if (entity && values[2].t == value::type::number) mix(static_cast<std::uint64_t>(as_int(values[2].number)));
    }
  }
  // Names come from a row's name column: a renamed outlet keeps its sensors' ids, so it does not count.
  return h;
}

reading read_sensor(const profile& p, const catalog_sensor& sensor, const std::vector<value>& scalars,
                    const std::vector<table_walk>& walks) {
  switch (sensor.from) {
    case catalog_sensor::source::scalar:
      if (sensor.spec >= scalars.size() || sensor.spec >= p.scalars.size()) return {RACKTEL_READING_ERROR, 0};
      return convert(p.scalars[sensor.spec], scalars[sensor.spec]);
    case catalog_sensor::source::column: {
      if (sensor.spec >= walks.size() || sensor.spec >= p.tables.size()) return {RACKTEL_READING_ERROR, 0};
      const auto row = walks[sensor.spec].rows().find(sensor.row);
      if (row == walks[sensor.spec].rows().end()) return {RACKTEL_READING_ERROR, 0};
      return convert(p.tables[sensor.spec].columns[sensor.column], row->second[sensor.column]);
    }
    case catalog_sensor::source::entity: {
      if (sensor.spec >= walks.size()) return {RACKTEL_READING_ERROR, 0};
      const auto row = walks[sensor.spec].rows().find(sensor.row);
      if (row == walks[sensor.spec].rows().end()) return {RACKTEL_READING_ERROR, 0};
      return entity_sensor_reading(row->second);
    }
  }
  return {RACKTEL_READING_ERROR, 0};
}

}  // namespace racktel::snmp
