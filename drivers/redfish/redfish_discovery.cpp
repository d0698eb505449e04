#include "redfish_discovery.h"

#include <boost/json.hpp>
#include <set>

namespace racktel::redfish {
namespace {

class walk {
 public:
  walk(const document_cache& cache, const discovery_limits& limits) : cache_(cache), limits_(limits) {}

  // The document at `uri`: null when it is still missing (and then asked for)
  // or failed (and then a problem, said once).
  const json::value* need(const std::string& uri) {
    if (uri.empty()) return nullptr;
    auto it = cache_.find(uri);
    if (it == cache_.end()) {
      if (asked_.insert(uri).second) result.missing.push_back(uri);
      pending_ = true;
      return nullptr;
    }
    if (!it->second.doc) {
      problem(uri + ": " + it->second.error);
      return nullptr;
    }
    return &*it->second.doc;
  }

  // The member links of the collection at `uri`, or none when it is malformed or too large.
  std::vector<std::string> members(const json::value& collection, const std::string& uri) {
    if (!collection.is_object()) {
      problem(uri + ": not a JSON object");
      return {};
    }
    const std::size_t count = member_count(collection);
    if (count > limits_.max_members) {
      problem(uri + ": " + std::to_string(count) + " members, more than the " + std::to_string(limits_.max_members) +
              " a collection may list here; skipped");
      return {};
    }
    std::vector<std::string> links = member_links(collection);
    if (links.size() < count) {
      problem(uri + ": " + std::to_string(count - links.size()) + " member(s) without a string \"@odata.id\"; skipped");
    }
    return links;
  }

  void problem(std::string text) {
    if (said_.insert(text).second) result.problems.push_back(std::move(text));
  }

  void add(sensor_def d) {
    if (result.sensors.size() >= limits_.max_sensors) {
      problem("more than " + std::to_string(limits_.max_sensors) + " sensors; the rest are left out");
      return;
    }
    result.sensors.push_back(std::move(d));
  }

  void add_all(std::vector<sensor_def> defs, const std::string& uri) {
    if (!defs.empty()) result.poll_uris.push_back(uri);
    for (auto& d : defs) add(std::move(d));
  }

  void chassis(const std::string& chassis_uri) {
    const json::value* chassis = need(chassis_uri);
    if (chassis == nullptr) return;
    if (!chassis->is_object()) {
      problem(chassis_uri + ": not a JSON object; chassis skipped");
      return;
    }
    std::string id = string_of(*chassis, "Id");
    if (id.empty()) id = chassis_uri.substr(chassis_uri.rfind('/') + 1);
    id = sanitise_id(id);
    const chassis_links links = parse_chassis(*chassis);
    const std::size_t before = result.sensors.size();
    pending_ = false;
    if (!links.sensors.empty()) sensors_collection(id, links.sensors);
    // A fallback is chosen only once what it falls back from is known.
    if (pending_) return;
    const bool from_sensors_collection = result.sensors.size() > before;
    if (!from_sensors_collection && !links.thermal_subsystem.empty()) {
      if (const json::value* ts = need(links.thermal_subsystem)) {
        const std::string metrics = link_of(*ts, "ThermalMetrics");
        if (const json::value* doc = metrics.empty() ? nullptr : need(metrics)) {
          add_all(from_thermal_metrics(id, *doc, metrics), metrics);
        }
      }
    }
    if (!from_sensors_collection && !links.power_subsystem.empty()) {
      if (const json::value* ps = need(links.power_subsystem)) {
        const std::string supplies_uri = link_of(*ps, "PowerSupplies");
        if (const json::value* supplies = supplies_uri.empty() ? nullptr : need(supplies_uri)) {
          for (const std::string& supply_uri : members(*supplies, supplies_uri)) {
            const json::value* supply = need(supply_uri);
            if (supply == nullptr) continue;
            const std::string metrics = link_of(*supply, "Metrics");
            if (metrics.empty()) continue;
            std::string supply_id = string_of(*supply, "Id");
            if (supply_id.empty()) supply_id = supply_uri.substr(supply_uri.rfind('/') + 1);
            if (const json::value* doc = need(metrics)) {
              add_all(from_power_supply_metrics(id, sanitise_id(supply_id), *doc, metrics), metrics);
            }
          }
        }
      }
    }
    if (pending_) return;
    if (result.sensors.size() == before) {
      if (const json::value* doc = need(links.thermal)) add_all(from_legacy_thermal(id, *doc, links.thermal), links.thermal);
      if (const json::value* doc = need(links.power)) add_all(from_legacy_power(id, *doc, links.power), links.power);
    }
  }

  void sensors_collection(const std::string& id, const std::string& uri) {
    if (result.expand) {
      const std::string expanded = uri + "?$expand=.($levels=1)";
      const json::value* coll = need(expanded);
      if (coll == nullptr) return;
      bool got_members = false;
      if (coll->is_object() && member_count(*coll) <= limits_.max_members) {
        const json::value* list = coll->get_object().if_contains("Members");
        for (const json::value& m : list != nullptr && list->is_array() ? list->get_array() : json::array()) {
          if (!m.is_object() || m.get_object().size() <= 1) continue;  // not expanded after all
          const std::string member_uri = string_of(m, "@odata.id");
          if (member_uri.empty()) {
            problem(expanded + ": a member without a string \"@odata.id\"; skipped");
            continue;
          }
          if (auto d = from_sensor(id, m, member_uri)) {
            add(std::move(*d));
            got_members = true;
          }
        }
      } else if (coll->is_object()) {
        members(*coll, expanded);  // says why it is skipped
      }
      if (got_members) {
        result.poll_uris.push_back(expanded);
        return;
      }
    }
    const json::value* coll = need(uri);
    if (coll == nullptr) return;
    for (const std::string& member_uri : members(*coll, uri)) {
      const json::value* sensor = need(member_uri);
      if (sensor == nullptr) continue;
      if (auto d = from_sensor(id, *sensor, member_uri)) {
        add(std::move(*d));
        result.poll_uris.push_back(member_uri);
      }
    }
  }

  discovery_result result;

 private:
  const document_cache& cache_;
  const discovery_limits& limits_;
  std::set<std::string> asked_;
  std::set<std::string> said_;
  bool pending_ = false;  // the current chassis needs documents not fetched yet
};

}  // namespace

discovery_result walk_discovery(const document_cache& cache, const discovery_limits& limits) {
  walk w(cache, limits);
  // Without these two, nothing of the BMC can be read: say why, in the fetch's words.
  auto unusable = [&cache](const std::string& uri) {
    auto it = cache.find(uri);
    return it != cache.end() && !it->second.doc ? it->second.error : uri + " cannot be read";
  };
  const json::value* root = w.need("/redfish/v1");
  if (root == nullptr) {
    if (w.result.missing.empty()) w.result.fatal = unusable("/redfish/v1");
    return std::move(w.result);
  }
  if (!root->is_object()) {
    w.result.fatal = "the service root /redfish/v1 is not a JSON object";
    return std::move(w.result);
  }
  w.result.expand = supports_expand(*root);
  const std::string chassis_uri = "/redfish/v1/Chassis";
  const json::value* chassis_list = w.need(chassis_uri);
  if (chassis_list == nullptr) {
    if (w.result.missing.empty()) w.result.fatal = unusable(chassis_uri);
    return std::move(w.result);
  }
  if (!chassis_list->is_object()) {
    w.result.fatal = chassis_uri + ": not a JSON object";
    return std::move(w.result);
  }
  for (const std::string& uri : w.members(*chassis_list, chassis_uri)) w.chassis(uri);
  if (!w.result.missing.empty()) {
    // Not done yet: only the list of what to fetch matters.
    w.result.sensors.clear();
    w.result.poll_uris.clear();
  }
  return std::move(w.result);
}

}  // namespace racktel::redfish
