#include <doctest/doctest.h>

#include <boost/json.hpp>

#include "http/http_server.h"
#include "status/page_data.h"

using namespace racktel;

namespace {

sensor_catalog rack() {
  sensor_catalog c;
  c.version = 0xabc;
  sensor_meta die;
  die.driver = "rack";
  die.id = "chip12.die_temp";
  die.name = "chip 12 die temperature";
  die.kind = 1;
  die.unit = "Cel";
  die.resolution = 0.1;
  die.warn_high = 90;
  die.crit_high = 105;
  die.location = {{"tray", "3"}, {"chip", "12"}};
  sensor_meta link = die;
  link.id = "chip12.link0";
  link.name = "chip 12 ICI link 0 state";
  link.kind = 10;
  link.unit = "";
  link.resolution = 1;
  link.warn_high.reset();
  link.crit_high = 1;
  link.states = {{0, "up"}, {1, "down"}};
  c.sensors = {die, link, die};
  c.sensors[2].id = "chip13.die_temp";
  return c;
}

}  // namespace

TEST_CASE("page catalog: every sensor with its place, unit, limits and state words, in index order") {
  const auto doc = boost::json::parse(page_catalog_json(rack(), "lab", "r01")).as_object();
  CHECK(doc.at("version").as_string() == "0000000000000abc");
  CHECK(doc.at("rack").as_string() == "r01");
  const auto& sensors = doc.at("sensors").as_array();
  REQUIRE(sensors.size() == 3);
  const auto& die = sensors[0].as_object();
  CHECK(die.at("key").as_string() == "rack/chip12.die_temp");
  CHECK(die.at("location").as_object().at("tray").as_string() == "3");
  CHECK(die.at("kind").as_string() == "temperature");
  CHECK(die.at("crit_high").to_number<double>() == 105);
  CHECK_FALSE(die.contains("warn_low"));  // unset limits are left out, not null
  CHECK(sensors[1].as_object().at("states").as_object().at("1").as_string() == "down");
}

TEST_CASE("values event: read sensors only, on their quantum, null without a value") {
  const sensor_catalog c = rack();
  std::vector<latest_reading> latest(3);
  latest[0] = {57.83, 1000, 1000, 0};
  latest[1] = {0, 1000, 0, 1};  // an error: no value
  const std::string event = values_event(c, latest, {0, 1, 2, 7}, 1234);
  CHECK(event.starts_with("event: values\ndata: "));
  CHECK(event.ends_with("\n\n"));
  const auto data = boost::json::parse(event.substr(20)).as_object();
  CHECK(data.at("catalog").as_string() == "0000000000000abc");
  CHECK(data.at("time").as_int64() == 1234);
  CHECK(boost::json::serialize(data.at("values")) == "[[0,5.78E1,0,1000],[1,null,1,1000]]");
  CHECK(event.find("[0,57.8,0,1000]") != std::string::npos);  // as written: the decimal, not 57.830000000000005
}

TEST_CASE("history json: limits and points, null for a failed read") {
  const sensor_catalog c = rack();
  sensor_history h;
  h.resize(3);
  h.record(0, 1'796'000'000'000, true, 101.74, 0.1);
  h.record(0, 1'796'000'005'000, false, 0, 0.1);
  const auto doc = boost::json::parse(history_json(c.sensors[0], h, 0, 1'796'000'005'000)).as_object();
  CHECK(doc.at("sensor").as_string() == "rack/chip12.die_temp");
  CHECK(doc.at("span_ms").as_int64() == 900000);
  CHECK(doc.at("warn_high").to_number<double>() == 90);
  CHECK(boost::json::serialize(doc.at("points")) == "[[1796000000000,1.017E2],[1796000005000,null]]");
}

TEST_CASE("query parameters: percent-decoded, absent or malformed is nullopt") {
  CHECK(query_parameter("/api/history?sensor=rack%2Fchip12.die_temp", "sensor") == "rack/chip12.die_temp");
  CHECK(query_parameter("/api/history?x=1&sensor=a+b&y", "sensor") == "a b");
  CHECK(query_parameter("/api/history?sensor=", "sensor") == "");
  CHECK(query_parameter("/api/history?sensor", "sensor") == "");
  CHECK_FALSE(query_parameter("/api/history", "sensor"));
  CHECK_FALSE(query_parameter("/api/history?sensors=x", "sensor"));
  CHECK_FALSE(query_parameter("/api/history?sensor=%2", "sensor"));
  CHECK_FALSE(query_parameter("/api/history?sensor=%zz", "sensor"));
  CHECK_FALSE(query_parameter("/api/history?sensor=a%00b", "sensor"));
}

TEST_CASE("server events: one name, one data line, a blank line") {
  CHECK(server_event("catalog", "{\"version\":\"1\"}") == "event: catalog\ndata: {\"version\":\"1\"}\n\n");
}

TEST_CASE("event stream: a page that falls too far behind is let go, not buffered without end") {
  event_stream stream(100);
  auto event = std::make_shared<const std::string>(40, 'x');
  CHECK(stream.push(event));
  CHECK(stream.push(event));
  CHECK(stream.queued_bytes() == 80);
  CHECK_FALSE(stream.push(event));  // 120 > 100: closed, and what it held is freed
  CHECK(stream.closed());
  CHECK(stream.queued_bytes() == 0);
  CHECK_FALSE(stream.push(std::make_shared<const std::string>("y")));
}

TEST_CASE("page catalog: names and labels from drivers are escaped, and parse back as they were") {
  sensor_catalog c = rack();
  c.sensors[0].name = "tray \"3\" \\ inlet\x01\ttemp °C";
  c.sensors[0].location = {{"row\"", "a\\b"}};
  const auto doc = boost::json::parse(page_catalog_json(c, "la\"b", "r\n01")).as_object();
  CHECK(doc.at("site").as_string() == "la\"b");
  CHECK(doc.at("rack").as_string() == "r\n01");
  const auto& die = doc.at("sensors").as_array()[0].as_object();
  CHECK(die.at("name").as_string() == "tray \"3\" \\ inlet\x01\ttemp °C");
  CHECK(die.at("location").as_object().at("row\"").as_string() == "a\\b");
  CHECK(die.at("warn_high").to_number<double>() == 90);
}
