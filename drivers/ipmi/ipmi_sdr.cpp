#include "ipmi_sdr.h"

#include <freeipmi/freeipmi.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <memory>

#include "racktel/driver.h"

namespace racktel::ipmi {

namespace {

struct sdr_ctx_deleter {
  void operator()(ipmi_sdr_ctx_t c) const { ipmi_sdr_ctx_destroy(c); }
};

// FreeIPMI hands thresholds back in malloc'd doubles (NULL when absent).
std::optional<double> take(double* v) {
  std::optional<double> out;
  if (v != nullptr && std::isfinite(*v)) out = *v;
  std::free(v);
  return out;
}

}  // namespace

std::optional<sdr_sensor> parse_sdr_record(const std::uint8_t* data, std::size_t size) {
  if (data == nullptr || size < 5 || size > 512) return std::nullopt;
  // A parsing context only (no cache, no session); FreeIPMI's parsers check lengths themselves.
  const std::unique_ptr<std::remove_pointer_t<ipmi_sdr_ctx_t>, sdr_ctx_deleter> ctx(ipmi_sdr_ctx_create());
  if (!ctx) return std::nullopt;
  const auto len = static_cast<unsigned int>(size);
  sdr_sensor s;
  if (ipmi_sdr_parse_record_id_and_type(ctx.get(), data, len, &s.record_id, &s.record_type) < 0) return std::nullopt;
  if (s.record_type != IPMI_SDR_FORMAT_FULL_SENSOR_RECORD && s.record_type != IPMI_SDR_FORMAT_COMPACT_SENSOR_RECORD) {
    return std::nullopt;
  }
  if (ipmi_sdr_parse_sensor_number(ctx.get(), data, len, &s.number) < 0 ||
      ipmi_sdr_parse_sensor_type(ctx.get(), data, len, &s.sensor_type) < 0 ||
      ipmi_sdr_parse_event_reading_type_code(ctx.get(), data, len, &s.event_reading_type) < 0) {
    return std::nullopt;
  }
  char id[IPMI_SDR_MAX_SENSOR_NAME_LENGTH] = {};
  if (ipmi_sdr_parse_id_string(ctx.get(), data, len, id, sizeof id - 1) < 0) return std::nullopt;
  s.name.assign(id);
  std::uint8_t percentage = 0, modifier = 0, rate = 0, base = 0, modifier_unit = 0;
  if (ipmi_sdr_parse_sensor_units(ctx.get(), data, len, &percentage, &modifier, &rate, &base, &modifier_unit) == 0) {
    s.percentage = percentage != 0;
    s.rate_unit = rate;
    s.base_unit = base;
  }
  if (s.record_type == IPMI_SDR_FORMAT_FULL_SENSOR_RECORD && s.threshold()) {
    std::int8_t r_exp = 0, b_exp = 0;
    std::int16_t m = 0, b = 0;
    std::uint8_t linearization = 0, format = 0;
    if (ipmi_sdr_parse_sensor_decoding_data(ctx.get(), data, len, &r_exp, &b_exp, &m, &b, &linearization, &format) == 0 &&
        linearization == IPMI_SDR_LINEARIZATION_LINEAR && m != 0) {
      s.resolution = std::abs(m) * std::pow(10.0, r_exp);
    }
    double *lnc = nullptr, *lc = nullptr, *lnr = nullptr, *unc = nullptr, *uc = nullptr, *unr = nullptr;
    std::uint8_t r_lnc = 0, r_lc = 0, r_lnr = 0, r_unc = 0, r_uc = 0, r_unr = 0;
    const bool masked = ipmi_sdr_parse_threshold_readable(ctx.get(), data, len, &r_lnc, &r_lc, &r_lnr, &r_unc, &r_uc,
                                                          &r_unr) == 0;
    if (masked && ipmi_sdr_parse_thresholds(ctx.get(), data, len, &lnc, &lc, &lnr, &unc, &uc, &unr) == 0) {
      // A threshold the record does not mark readable is not one (its byte is whatever).
      const auto keep = [](double* v, std::uint8_t readable) {
        if (readable == 0) {
          std::free(v);
          return std::optional<double>{};
        }
        return take(v);
      };
      s.lower_non_critical = keep(lnc, r_lnc);
      s.lower_critical = keep(lc, r_lc);
      s.lower_non_recoverable = keep(lnr, r_lnr);
      s.upper_non_critical = keep(unc, r_unc);
      s.upper_critical = keep(uc, r_uc);
      s.upper_non_recoverable = keep(unr, r_unr);
    } else {
      for (double* v : {lnc, lc, lnr, unc, uc, unr}) std::free(v);
    }
  }
  s.record.assign(data, data + size);
  return s;
}

unit_mapping map_unit(std::uint8_t base_unit, bool percentage, std::uint8_t rate_unit) {
  if (percentage) return {RACKTEL_KIND_RATIO, "%", 1, 0};
  switch (base_unit) {
    case 1: return {RACKTEL_KIND_TEMPERATURE, "Cel", 1, 0};
    case 2: return {RACKTEL_KIND_TEMPERATURE, "Cel", 5.0 / 9.0, -32.0 * 5.0 / 9.0};  // Fahrenheit
    case 3: return {RACKTEL_KIND_TEMPERATURE, "Cel", 1, -273.15};                    // Kelvin
    case 4: return {RACKTEL_KIND_VOLTAGE, "V", 1, 0};
    case 5: return {RACKTEL_KIND_CURRENT, "A", 1, 0};
    case 6: return {RACKTEL_KIND_POWER, "W", 1, 0};
    case 7: return {RACKTEL_KIND_ENERGY, "J", 1, 0};
    case 9: return {RACKTEL_KIND_OTHER, "VA", 1, 0};
    case 14: return {RACKTEL_KIND_PRESSURE, "kPa", 1, 0};
    case 15: return {RACKTEL_KIND_PRESSURE, "kPa", 6.894757, 0};  // PSI
    case 17: return {RACKTEL_KIND_OTHER, "CFM", 1, 0};
    case 18: return {RACKTEL_KIND_FAN_SPEED, "RPM", 1, 0};
    case 19: return {RACKTEL_KIND_OTHER, "Hz", 1, 0};
    case 37:  // litres, a flow when per minute
      if (rate_unit == 4) return {RACKTEL_KIND_FLOW, "L/min", 1, 0};
      return {RACKTEL_KIND_OTHER, "L", 1, 0};
    default: return {RACKTEL_KIND_OTHER, "", 1, 0};
  }
}

threshold_state state_of(std::uint16_t bits) {
  // Bits: 0 lower non-critical, 1 lower critical, 2 lower non-recoverable,
  // 3 upper non-critical, 4 upper critical, 5 upper non-recoverable.
  if ((bits & 0x24U) != 0) return threshold_state::non_recoverable;
  if ((bits & 0x12U) != 0) return threshold_state::critical;
  if ((bits & 0x09U) != 0) return threshold_state::non_critical;
  return threshold_state::ok;
}

std::string id_of(const std::string& name) {
  std::string out;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) {
      out += static_cast<char>(std::tolower(u));
    } else if (!out.empty() && out.back() != '_') {
      out += '_';
    }
    if (out.size() >= 48) break;
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out;
}

std::vector<ipmi_sensor> catalog_for(const std::string& bmc, const std::string& location,
                                     const std::vector<sdr_sensor>& sdrs) {
  std::vector<ipmi_sensor> out;
  std::set<std::string> used;
  const std::string where = "bmc=" + bmc + (location.empty() ? "" : "," + location);
  for (std::size_t i = 0; i < sdrs.size(); ++i) {
    const sdr_sensor& s = sdrs[i];
    std::string base = id_of(s.name);
    if (base.empty()) base = "sensor" + std::to_string(s.number);
    if (used.contains(base)) base += "_" + std::to_string(s.record_id);  // two sensors with one name
    if (!used.insert(base).second) continue;  // still a clash: a malformed repository, keep the first
    ipmi_sensor v;
    v.id = bmc + "." + base;
    v.name = bmc + " " + (s.name.empty() ? base : s.name);
    v.location = where;
    v.sdr = i;
    if (s.threshold()) {
      v.mapping = map_unit(s.base_unit, s.percentage, s.rate_unit);
      v.kind = v.mapping.kind;
      v.unit = v.mapping.unit;
      v.resolution = s.resolution * std::abs(v.mapping.scale);
      const auto limit = [&](const std::optional<double>& t) -> std::optional<double> {
        if (!t) return std::nullopt;
        return *t * v.mapping.scale + v.mapping.offset;
      };
      v.warn_low = limit(s.lower_non_critical);
      v.crit_low = limit(s.lower_critical ? s.lower_critical : s.lower_non_recoverable);
      v.warn_high = limit(s.upper_non_critical);
      v.crit_high = limit(s.upper_critical ? s.upper_critical : s.upper_non_recoverable);
      ipmi_sensor state;
      state.id = v.id + ".state";
      state.name = v.name + " state";
      state.location = where;
      state.kind = RACKTEL_KIND_STATE;
      state.states = threshold_state_words;
      state.crit_high = 1.5;  // critical and non-recoverable: the BMC's own verdict
      state.warn_high = 0.5;
      state.sdr = i;
      state.bmc_state = true;
      out.push_back(std::move(v));
      out.push_back(std::move(state));
    } else {
      v.kind = RACKTEL_KIND_STATE;  // a discrete sensor: its event bits, 0 when nothing is asserted
      out.push_back(std::move(v));
    }
  }
  return out;
}

}  // namespace racktel::ipmi
