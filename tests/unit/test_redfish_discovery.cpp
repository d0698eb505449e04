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
