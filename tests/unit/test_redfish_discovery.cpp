// Redfish discovery as pure logic: the walk over fetched documents, driven
// here by a fetch function over a tree of JSON texts (no server).
#include <doctest/doctest.h>

#include <boost/json.hpp>
#include <map>
#include <string>

#include "redfish_discovery.h"

using namespace racktel::redfish;

namespace {

using tree = std::map<std::string, std::string>;  // URI -> JSON text; absent: HTTP 404

struct walked {
  discovery_result result;
  int walks = 0;
  int fetches = 0;
};

// What the client does: walk, fetch what is missing, walk again.
walked discover(const tree& t) {
  walked w;
  document_cache cache;
  for (;;) {
    ++w.walks;
    w.result = walk_discovery(cache);
    if (!w.result.fatal.empty() || w.result.complete() || w.walks > 20) return w;
    for (const std::string& uri : w.result.missing) {
      ++w.fetches;
      auto it = t.find(uri);
      if (it == t.end()) {
        cache[uri] = {std::nullopt, uri + ": HTTP 404"};
        continue;
      }
      boost::system::error_code ec;
      json::value doc = json::parse(it->second, ec);
      cache[uri] = ec ? fetched_document{std::nullopt, uri + ": malformed JSON"} : fetched_document{std::move(doc), {}};
    }
  }
}

tree two_trays() {
  tree t;
  t["/redfish/v1"] = R"({"Chassis": {"@odata.id": "/redfish/v1/Chassis"}})";
  t["/redfish/v1/Chassis"] = R"({"Members": [{"@odata.id": "/redfish/v1/Chassis/T0"}, {"@odata.id": "/redfish/v1/Chassis/T1"}]})";
  for (const char* c : {"T0", "T1"}) {
    const std::string base = std::string("/redfish/v1/Chassis/") + c;
    t[base] = R"({"Id": ")" + std::string(c) + R"(", "Sensors": {"@odata.id": ")" + base + R"(/Sensors"}})";
    t[base + "/Sensors"] = R"({"Members": [{"@odata.id": ")" + base + R"(/Sensors/Temp"}]})";
    t[base + "/Sensors/Temp"] = R"({"Id": "Temp", "ReadingType": "Temperature", "Reading": 40})";
  }
  return t;
}

bool has_problem(const discovery_result& r, const std::string& part) {
  for (const auto& p : r.problems) {
    if (p.find(part) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("discovery walks the tree in a few rounds and lists what to poll") {
  const walked w = discover(two_trays());
  REQUIRE(w.result.complete());
  REQUIRE(w.result.sensors.size() == 2);
  CHECK(w.result.sensors[0].id == "T0.Temp");
  CHECK(w.result.sensors[1].id == "T1.Temp");
  CHECK(w.result.poll_uris == std::vector<std::string>{"/redfish/v1/Chassis/T0/Sensors/Temp",
                                                       "/redfish/v1/Chassis/T1/Sensors/Temp"});
  CHECK(w.result.problems.empty());
  CHECK(w.walks <= 6);
  CHECK(w.fetches == 8);  // each document once
}

TEST_CASE("a chassis member without @odata.id costs only itself") {
  tree t = two_trays();
  t["/redfish/v1/Chassis"] =
      R"({"Members": [{"Name": "no link"}, {"@odata.id": 42}, {"@odata.id": "/redfish/v1/Chassis/T1"}]})";
  const walked w = discover(t);
  REQUIRE(w.result.complete());
  REQUIRE(w.result.sensors.size() == 1);
  CHECK(w.result.sensors[0].id == "T1.Temp");
  CHECK(has_problem(w.result, "/redfish/v1/Chassis: 2 member(s) without a string \"@odata.id\""));
}

TEST_CASE("numbers where strings belong, and documents that are not objects, cost only themselves") {
  tree t = two_trays();
  // An Id that is a number: the chassis is named from its URI. Links that are numbers: not followed.
  t["/redfish/v1/Chassis/T0"] = R"({"Id": 7, "Sensors": {"@odata.id": 5}, "ThermalSubsystem": {"@odata.id": "/ts"},
                                   "PowerSubsystem": {"@odata.id": "/ps"}})";
  t["/ts"] = R"({"ThermalMetrics": {"@odata.id": 9}})";
  t["/ps"] = R"({"PowerSupplies": "not an object"})";
  t["/redfish/v1/Chassis/T1/Sensors/Temp"] = "[1, 2, 3]";
  const walked w = discover(t);
  REQUIRE(w.result.complete());
  CHECK(w.result.sensors.empty());
  // A sensor that is not an object is left out, and nothing threw.
  t["/redfish/v1/Chassis/T1"] = "17";
  const walked w2 = discover(t);
  REQUIRE(w2.result.complete());
  CHECK(has_problem(w2.result, "/redfish/v1/Chassis/T1: not a JSON object; chassis skipped"));
}

TEST_CASE("a collection of 10 000 members is skipped; the rest of the BMC is read") {
  tree t = two_trays();
  std::string members = R"({"Members": [)";
  for (int i = 0; i < 10000; ++i) members += std::string(i ? "," : "") + R"({"@odata.id": "/redfish/v1/Chassis/T0/Sensors/S)" + std::to_string(i) + "\"}";
  t["/redfish/v1/Chassis/T0/Sensors"] = members + "]}";
  const walked w = discover(t);
  REQUIRE(w.result.complete());
  REQUIRE(w.result.sensors.size() == 1);
  CHECK(w.result.sensors[0].id == "T1.Temp");
  CHECK(has_problem(w.result, "/redfish/v1/Chassis/T0/Sensors: 10000 members, more than the 4096"));
  CHECK(w.fetches < 20);  // none of the 10 000 was fetched
}

TEST_CASE("resources that fail to fetch cost only themselves; a missing root is fatal and says why") {
  tree t = two_trays();
  t.erase("/redfish/v1/Chassis/T0/Sensors/Temp");  // HTTP 404
  t["/redfish/v1/Chassis/T1/Sensors"] = "{not json";
  const walked w = discover(t);
  REQUIRE(w.result.complete());
  CHECK(w.result.sensors.empty());
  CHECK(has_problem(w.result, "/redfish/v1/Chassis/T0/Sensors/Temp: HTTP 404"));
  CHECK(has_problem(w.result, "/redfish/v1/Chassis/T1/Sensors: malformed JSON"));

  t.erase("/redfish/v1");
  const walked root = discover(t);
  CHECK(root.result.fatal == "/redfish/v1: HTTP 404");
  t["/redfish/v1"] = "[]";
  CHECK(discover(t).result.fatal == "the service root /redfish/v1 is not a JSON object");
}

TEST_CASE("with $expand, members without @odata.id are skipped and the rest used") {
  tree t = two_trays();
  t["/redfish/v1"] = R"({"Chassis": {"@odata.id": "/redfish/v1/Chassis"},
                         "ProtocolFeaturesSupported": {"ExpandQuery": {"Levels": true}}})";
  t["/redfish/v1/Chassis/T0/Sensors?$expand=.($levels=1)"] = R"({"Members": [
      {"Id": "NoLink", "ReadingType": "Power", "Reading": 5},
      {"@odata.id": "/redfish/v1/Chassis/T0/Sensors/P", "Id": "P", "ReadingType": "Power", "Reading": 500}]})";
  t["/redfish/v1/Chassis/T1/Sensors?$expand=.($levels=1)"] = R"({"Members": [{"@odata.id": "/x"}]})";  // not expanded
  const walked w = discover(t);
  REQUIRE(w.result.complete());
  CHECK(w.result.expand);
  REQUIRE(w.result.sensors.size() == 2);
  CHECK(w.result.sensors[0].id == "T0.P");
  CHECK(w.result.sensors[1].id == "T1.Temp");  // fell back to fetching the members one by one
  CHECK(has_problem(w.result, "a member without a string \"@odata.id\""));
}

TEST_CASE("collections are followed page by page (Members@odata.nextLink), a loop of pages ends") {
  tree t = two_trays();
  t["/redfish/v1/Chassis/T0/Sensors"] = R"({"Members": [{"@odata.id": "/redfish/v1/Chassis/T0/Sensors/Temp"}],
      "Members@odata.nextLink": "/redfish/v1/Chassis/T0/Sensors?$skip=1"})";
  t["/redfish/v1/Chassis/T0/Sensors?$skip=1"] = R"({"Members": [{"@odata.id": "/redfish/v1/Chassis/T0/Sensors/Power"}],
      "Members@odata.nextLink": "/redfish/v1/Chassis/T0/Sensors"})";  // back to the first: a loop
  t["/redfish/v1/Chassis/T0/Sensors/Power"] = R"({"Id": "Power", "ReadingType": "Power", "Reading": 700})";
  const walked w = discover(t);
  REQUIRE(w.result.complete());
  REQUIRE(w.result.sensors.size() == 3);
  CHECK(w.result.sensors[1].id == "T0.Power");
}

TEST_CASE("resources are told apart by @odata.id: two chassis with one Id, a member listed twice") {
  tree t = two_trays();
  t["/redfish/v1/Chassis/T1"] = R"({"Id": "T0", "Sensors": {"@odata.id": "/redfish/v1/Chassis/T1/Sensors"}})";
  t["/redfish/v1/Chassis/T1/Sensors"] = R"({"Members": [{"@odata.id": "/redfish/v1/Chassis/T1/Sensors/Temp"},
      {"@odata.id": "/redfish/v1/Chassis/T1/Sensors/Temp"}]})";
  const walked w = discover(t);
  REQUIRE(w.result.complete());
  REQUIRE(w.result.sensors.size() == 2);
  CHECK(w.result.sensors[0].id == "T0.Temp");
  CHECK(w.result.sensors[1].id == "T1.Temp");  // named by its URI, not by the Id it shares
  CHECK(w.result.poll_uris.size() == 2);  // the member listed twice is read once
  CHECK(w.result.problems.empty());
}

TEST_CASE("PowerEquipment and ThermalEquipment: PDUs, power shelves and CDUs") {
  tree t;
  t["/redfish/v1"] = R"({"PowerEquipment": {"@odata.id": "/redfish/v1/PowerEquipment"},
                         "ThermalEquipment": {"@odata.id": "/redfish/v1/ThermalEquipment"}})";
  t["/redfish/v1/PowerEquipment"] = R"({"RackPDUs": {"@odata.id": "/pe/pdus"}, "PowerShelves": {"@odata.id": "/pe/shelves"}})";
  t["/pe/pdus"] = R"({"Members": [{"@odata.id": "/pe/pdus/1"}]})";
  t["/pe/pdus/1"] = R"({"Id": "1", "Name": "PDU A", "Metrics": {"@odata.id": "/pe/pdus/1/m"},
      "Mains": {"@odata.id": "/pe/pdus/1/mains"}, "Outlets": {"@odata.id": "/pe/pdus/1/outlets"}})";
  t["/pe/pdus/1/m"] = R"({"PowerWatts": {"Reading": 9000}, "EnergykWh": {"Reading": 100}})";
  t["/pe/pdus/1/mains"] = R"({"Members": [{"@odata.id": "/pe/pdus/1/mains/AC1"}]})";
  t["/pe/pdus/1/mains/AC1"] = R"({"Id": "AC1", "CurrentAmps": {"Reading": 39}, "Voltage": {"Reading": 230}})";
  t["/pe/pdus/1/outlets"] = R"({"Members": [{"@odata.id": "/pe/pdus/1/outlets/A1"}, {"@odata.id": "/pe/pdus/1/outlets/A2"}]})";
  t["/pe/pdus/1/outlets/A1"] = R"({"Id": "A1", "PowerWatts": {"Reading": 950}})";
  t["/pe/pdus/1/outlets/A2"] = R"({"Id": "A2", "PowerWatts": {"Reading": null}})";
  t["/pe/shelves"] = R"({"Members": [{"@odata.id": "/pe/shelves/S1"}]})";
  t["/pe/shelves/S1"] = R"({"Id": "S1", "PowerSupplies": {"@odata.id": "/pe/shelves/S1/psus"}})";
  t["/pe/shelves/S1/psus"] = R"({"Members": [{"@odata.id": "/pe/shelves/S1/psus/P1"}]})";
  t["/pe/shelves/S1/psus/P1"] = R"({"Id": "P1", "Metrics": {"@odata.id": "/pe/shelves/S1/psus/P1/m"}})";
  t["/pe/shelves/S1/psus/P1/m"] = R"({"OutputPowerWatts": {"Reading": 3000}})";
  t["/redfish/v1/ThermalEquipment"] = R"({"CDUs": {"@odata.id": "/te/cdus"}})";
  t["/te/cdus"] = R"({"Members": [{"@odata.id": "/te/cdus/1"}]})";
  t["/te/cdus/1"] = R"({"Id": "1", "SecondaryCoolantConnectors": {"@odata.id": "/te/cdus/1/sec"},
      "Pumps": {"@odata.id": "/te/cdus/1/pumps"}, "LeakDetection": {"@odata.id": "/te/cdus/1/leak"}})";
  t["/te/cdus/1/sec"] = R"({"Members": [{"@odata.id": "/te/cdus/1/sec/S1"}]})";
  t["/te/cdus/1/sec/S1"] = R"({"Id": "S1", "SupplyTemperatureCelsius": {"Reading": 31}, "FlowLitersPerMinute": {"Reading": 140}})";
  t["/te/cdus/1/pumps"] = R"({"Members": [{"@odata.id": "/te/cdus/1/pumps/1"}]})";
  t["/te/cdus/1/pumps/1"] = R"({"Id": "1", "PumpSpeedPercent": {"Reading": 70, "SpeedRPM": 3200}})";
  t["/te/cdus/1/leak"] = R"({"LeakDetectors": {"@odata.id": "/te/cdus/1/leak/d"}})";
  t["/te/cdus/1/leak/d"] = R"({"Members": [{"@odata.id": "/te/cdus/1/leak/d/Tray3"}]})";
  t["/te/cdus/1/leak/d/Tray3"] = R"({"Id": "Tray3", "DetectorState": "OK"})";
  const walked w = discover(t);
  REQUIRE(w.result.complete());
  CHECK(w.result.fatal.empty());
  std::map<std::string, std::string> where;
  for (const auto& s : w.result.sensors) where[s.id] = s.location;
  CHECK(where.at("1.power") == "pdu=1");
  CHECK(where.at("1.mains_AC1.current") == "pdu=1,mains=AC1");
  CHECK(where.at("1.outlet_A1.power") == "pdu=1,outlet=A1");
  CHECK(where.count("1.outlet_A2.power") == 1);  // null now, present: a sensor
  CHECK(where.at("S1.psu_P1.output_power") == "shelf=S1,psu=P1");
  // The CDU "1" shares its Id with the PDU "1": named by its URI's end, numbered.
  CHECK(where.at("1_2.secondary_S1.flow") == "cdu=1_2,loop=secondary,connector=S1");
  CHECK(where.at("1_2.pump_1.rpm") == "cdu=1_2,pump=1");
  CHECK(where.at("1_2.leak_Tray3.state") == "cdu=1_2,leak_detector=Tray3");
  CHECK(w.result.problems.empty());
}
