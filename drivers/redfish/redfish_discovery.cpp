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

  // The member links of one page of a collection, or none when it is malformed or too large.
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

  // The pages of a collection: the first, then each "Members@odata.nextLink"
  // (a loop, or more pages or members than the limits allow, ends it).
  std::vector<std::pair<std::string, const json::value*>> pages(const std::string& uri) {
    std::vector<std::pair<std::string, const json::value*>> out;
    std::set<std::string> seen;
    std::size_t total = 0;
    for (std::string page = uri; !page.empty() && seen.insert(page).second;) {
      const json::value* doc = need(page);
      if (doc == nullptr) break;
      out.emplace_back(page, doc);
      total += member_count(*doc);
      if (out.size() >= 64 || total > limits_.max_members) {
        problem(uri + ": more pages or members than a collection may have here; the rest skipped");
        break;
      }
      page = string_of(*doc, "Members@odata.nextLink");
    }
    return out;
  }

  struct member {
    std::string uri;
    const json::value* doc;
    std::string poll;  // what to fetch at each poll for it: itself, or the expanded page holding it
  };

  // The members of the collection at `uri`: inline when the service expands
  // it, else fetched one by one. Each member once, by its "@odata.id",
  // however often the service lists it.
  std::vector<member> collection(const std::string& uri) {
    std::vector<member> out;
    if (uri.empty()) return out;
    std::set<std::string> seen;
    if (result.expand) {
      const std::string expanded = uri + "?$expand=.($levels=1)";
      const auto expanded_pages = pages(expanded);
      for (const auto& [page_uri, page] : expanded_pages) {
        if (!page->is_object() || member_count(*page) > limits_.max_members) {
          members(*page, page_uri);  // says why it is skipped
          continue;
        }
        const json::value* list = page->get_object().if_contains("Members");
        if (list == nullptr || !list->is_array()) continue;
        // (Members are kept by address: iterate the document's own array, never a copy.)
        for (const json::value& m : list->get_array()) {
          if (!m.is_object() || m.get_object().size() <= 1) continue;  // not expanded after all
          const std::string member_uri = string_of(m, "@odata.id");
          if (member_uri.empty()) {
            problem(page_uri + ": a member without a string \"@odata.id\"; skipped");
            continue;
          }
          if (seen.insert(member_uri).second) out.push_back({member_uri, &m, page_uri});
        }
      }
      if (!out.empty() || pending_) return out;
    }
    for (const auto& [page_uri, page] : pages(uri)) {
      for (const std::string& link : members(*page, page_uri)) {
        if (!seen.insert(link).second) continue;  // listed twice: one resource, read once
        if (const json::value* doc = need(link)) out.push_back({link, doc, link});
      }
    }
    return out;
  }

  // A part's name within its unit (an outlet, a pump): its "Id", else the end of its URI.
  static std::string part_id_of(const member& m) {
    const std::string id = string_of(*m.doc, "Id");
    return sanitise_id(id.empty() ? m.uri.substr(m.uri.rfind('/') + 1) : id);
  }

  // A name for a resource, unique within `scope` (the walk for chassis and
  // equipment, the owner for its supplies and fans): its "Id", else the end of
  // its URI; a second resource with the same one (services exist where two
  // share an Id) is named by its URI's end, then numbered.
  std::string unique_name(const json::value& doc, const std::string& uri, const std::string& scope = {}) {
    std::string id = string_of(doc, "Id");
    const std::string tail = uri.substr(uri.rfind('/') + 1);
    if (id.empty()) id = tail;
    std::string name = sanitise_id(id);
    auto free = [&](const std::string& n) {
      auto it = names_.find(scope + "/" + n);
      return it == names_.end() || it->second == uri;
    };
    if (!free(name)) name = sanitise_id(tail);
    for (int n = 2; !free(name); ++n) name = sanitise_id(id) + "_" + std::to_string(n);
    names_[scope + "/" + name] = uri;
    return name;
  }

  void problem(std::string text) {
    if (said_.insert(text).second) result.problems.push_back(std::move(text));
  }

  void add(sensor_def d) {
    if (result.sensors.size() >= limits_.max_sensors) {
      problem("more than " + std::to_string(limits_.max_sensors) + " sensors; the rest are left out");
      return;
    }
    // Two sensors may come out with one id (a service listing two resources with one Id): number the second.
    if (!sensor_ids_.insert(d.id).second) {
      const std::string base = d.id;
      for (int n = 2; !sensor_ids_.insert(d.id = base + "_" + std::to_string(n)).second; ++n) {
      }
    }
    result.sensors.push_back(std::move(d));
  }

  void add_all(std::vector<sensor_def> defs, const std::string& poll_uri) {
    if (!defs.empty() && polled_.insert(poll_uri).second) result.poll_uris.push_back(poll_uri);
    for (auto& d : defs) add(std::move(d));
  }

  void chassis(const std::string& chassis_uri) {
    const json::value* chassis = need(chassis_uri);
    if (chassis == nullptr) return;
    if (!chassis->is_object()) {
      problem(chassis_uri + ": not a JSON object; chassis skipped");
      return;
    }
    const std::string id = unique_name(*chassis, chassis_uri);
    const chassis_links links = parse_chassis(*chassis);
    const std::size_t before = result.sensors.size();
    pending_ = false;
    if (!links.sensors.empty()) {
      for (const member& m : collection(links.sensors)) {
        if (auto d = from_sensor(id, *m.doc, m.uri)) add_all({std::move(*d)}, m.poll);
      }
    }
    // A fallback is chosen only once what it falls back from is known.
    if (pending_) return;
    const bool from_sensors_collection = result.sensors.size() > before;
    if (!from_sensors_collection && !links.thermal_subsystem.empty()) {
      if (const json::value* ts = need(links.thermal_subsystem)) {
        const std::string metrics = link_of(*ts, "ThermalMetrics");
        if (const json::value* doc = metrics.empty() ? nullptr : need(metrics)) {
          add_all(from_thermal_metrics(id, *doc, metrics), metrics);
        }
        for (const member& fan : collection(link_of(*ts, "Fans"))) {
          add_all(from_fan(id, unique_name(*fan.doc, fan.uri, id), *fan.doc, fan.uri), fan.poll);
        }
      }
    }
    if (!from_sensors_collection && !links.power_subsystem.empty()) {
      if (const json::value* ps = need(links.power_subsystem)) {
        power_supplies(id, "chassis=" + id, link_of(*ps, "PowerSupplies"));
      }
    }
    if (pending_) return;
    if (result.sensors.size() == before) {
      if (const json::value* doc = need(links.thermal)) add_all(from_legacy_thermal(id, *doc, links.thermal), links.thermal);
      if (const json::value* doc = need(links.power)) add_all(from_legacy_power(id, *doc, links.power), links.power);
    }
  }

  void power_supplies(const std::string& owner, const std::string& owner_location, const std::string& uri) {
    for (const member& supply : collection(uri)) {
      const std::string metrics = link_of(*supply.doc, "Metrics");
      if (metrics.empty()) continue;
      const std::string supply_id = unique_name(*supply.doc, supply.uri, owner);
      if (const json::value* doc = need(metrics)) {
        add_all(from_power_supply_metrics(owner, owner_location, supply_id, *doc, metrics), metrics);
      }
    }
  }

  // PowerEquipment: rack PDUs, floor PDUs, power shelves, transfer switches,
  // each a PowerDistribution with its metrics, circuits, outlets and supplies.
  void power_equipment(const std::string& uri) {
    const json::value* root = need(uri);
    if (root == nullptr) return;
    static constexpr struct {
      const char* collection;
      const char* label;
    } kinds[] = {{"RackPDUs", "pdu"}, {"FloorPDUs", "pdu"}, {"PowerShelves", "shelf"},
                 {"TransferSwitches", "transfer_switch"}, {"Switchgear", "switchgear"}};
    for (const auto& kind : kinds) {
      for (const member& unit : collection(link_of(*root, kind.collection))) {
        const std::string id = unique_name(*unit.doc, unit.uri);
        const std::string where = std::string(kind.label) + "=" + id;
        const std::string name = string_of(*unit.doc, "Name").empty() ? id : string_of(*unit.doc, "Name");
        const std::string metrics = link_of(*unit.doc, "Metrics");
        if (const json::value* doc = metrics.empty() ? nullptr : need(metrics)) {
          add_all(from_equipment(equipment_part::distribution_metrics, id, name, where, *doc, metrics), metrics);
        }
        static constexpr struct {
          const char* collection;
          const char* label;
          equipment_part part;
        } parts[] = {{"Mains", "mains", equipment_part::circuit},
                     {"Feeders", "feeder", equipment_part::circuit},
                     {"Subfeeds", "subfeed", equipment_part::circuit},
                     {"Branches", "branch", equipment_part::circuit},
                     {"Outlets", "outlet", equipment_part::outlet}};
        for (const auto& part : parts) {
          for (const member& m : collection(link_of(*unit.doc, part.collection))) {
            const std::string part_id = part_id_of(m);
            add_all(from_equipment(part.part, id + "." + part.label + "_" + part_id,
                                   name + " " + part.label + " " + part_id,
                                   where + "," + part.label + "=" + part_id, *m.doc, m.uri),
                    m.poll);
          }
        }
        power_supplies(id, where, link_of(*unit.doc, "PowerSupplies"));
      }
    }
  }

  // ThermalEquipment: coolant distribution units (and immersion units, heat
  // exchangers), each a CoolingUnit with its loops, pumps, reservoirs, leak detectors.
  void thermal_equipment(const std::string& uri) {
    const json::value* root = need(uri);
    if (root == nullptr) return;
    for (const char* kind : {"CDUs", "ImmersionUnits", "HeatExchangers"}) {
      for (const member& unit : collection(link_of(*root, kind))) {
        const std::string id = unique_name(*unit.doc, unit.uri);
        const std::string where = "cdu=" + id;
        const std::string name = string_of(*unit.doc, "Name").empty() ? id : string_of(*unit.doc, "Name");
        static constexpr struct {
          const char* collection;
          const char* label;
          const char* location;
          equipment_part part;
        } parts[] = {{"PrimaryCoolantConnectors", "primary", "loop=primary,connector=", equipment_part::coolant_connector},
                     {"SecondaryCoolantConnectors", "secondary", "loop=secondary,connector=",
                      equipment_part::coolant_connector},
                     {"Pumps", "pump", "pump=", equipment_part::pump},
                     {"Reservoirs", "reservoir", "reservoir=", equipment_part::reservoir}};
        for (const auto& part : parts) {
          for (const member& m : collection(link_of(*unit.doc, part.collection))) {
            const std::string part_id = part_id_of(m);
            add_all(from_equipment(part.part, id + "." + part.label + "_" + part_id,
                                   name + " " + part.label + " " + part_id, where + "," + part.location + part_id,
                                   *m.doc, m.uri),
                    m.poll);
          }
        }
        if (const json::value* leak = need(link_of(*unit.doc, "LeakDetection"))) {
          for (const member& m : collection(link_of(*leak, "LeakDetectors"))) {
            const std::string part_id = part_id_of(m);
            add_all(from_equipment(equipment_part::leak_detector, id + ".leak_" + part_id, name + " " + part_id,
                                   where + ",leak_detector=" + part_id, *m.doc, m.uri),
                    m.poll);
          }
        }
        const std::string env = link_of(*unit.doc, "EnvironmentMetrics");
        if (const json::value* doc = env.empty() ? nullptr : need(env)) {
          add_all(from_equipment(equipment_part::environment_metrics, id, name, where, *doc, env), env);
        }
      }
    }
  }

  discovery_result result;

 private:
  const document_cache& cache_;
  const discovery_limits& limits_;
  std::set<std::string> asked_;
  std::set<std::string> said_;
  std::set<std::string> polled_;
  std::set<std::string> sensor_ids_;
  std::map<std::string, std::string> names_;  // resource name -> the URI it names
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
  // The rack's equipment, when the service has it (a PDU's or CDU's own service may have nothing else).
  const std::string power_equipment = link_of(*root, "PowerEquipment");
  const std::string thermal_equipment = link_of(*root, "ThermalEquipment");
  if (!power_equipment.empty()) w.power_equipment(power_equipment);
  if (!thermal_equipment.empty()) w.thermal_equipment(thermal_equipment);
  std::string chassis_uri = link_of(*root, "Chassis");
  if (chassis_uri.empty() && (!power_equipment.empty() || !thermal_equipment.empty())) {
    if (!w.result.missing.empty()) {
      w.result.sensors.clear();
      w.result.poll_uris.clear();
    }
    return std::move(w.result);
  }
  if (chassis_uri.empty()) chassis_uri = "/redfish/v1/Chassis";
  const json::value* chassis_list = w.need(chassis_uri);
  if (chassis_list == nullptr) {
    if (w.result.missing.empty()) w.result.fatal = unusable(chassis_uri);
    return std::move(w.result);
  }
  if (!chassis_list->is_object()) {
    w.result.fatal = chassis_uri + ": not a JSON object";
    return std::move(w.result);
  }
  std::set<std::string> seen;
  for (const auto& [page_uri, page] : w.pages(chassis_uri)) {
    for (const std::string& uri : w.members(*page, page_uri)) {
      if (seen.insert(uri).second) w.chassis(uri);
    }
  }
  if (!w.result.missing.empty()) {
    // Not done yet: only the list of what to fetch matters.
    w.result.sensors.clear();
    w.result.poll_uris.clear();
  }
  return std::move(w.result);
}

}  // namespace racktel::redfish
