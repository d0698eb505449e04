#include <doctest/doctest.h>

#include "alarms/alarm_engine.h"
#include "alarms/maintenance.h"
#include "common/small_files.h"
#include "racktel/driver.h"
#include "status/maintenance_command.h"
#include "temp_dir.h"
#include "wire/codec.h"

using namespace racktel;
using namespace std::chrono_literals;

namespace {

sensor_meta sensor(const std::string& id, const std::string& location) {
  sensor_meta m;
  m.driver = "rack";
  m.id = id;
  m.kind = RACKTEL_KIND_TEMPERATURE;
  m.resolution = 0.1;
  m.warn_high = 90.0;
  m.crit_high = 105.0;
  m.location = parse_location(location);
  return m;
}

const std::vector<sensor_meta> rack = {
    sensor("chip12.die_temp", "tray=3,chip=12"),
    sensor("chip13.die_temp", "tray=3,chip=13"),
    sensor("chip16.die_temp", "tray=4,chip=16"),
    sensor("tray03.inlet_temp", "tray=3"),
};

maintenance_request tray3(std::chrono::milliseconds duration = 2h) {
  return {"", {{"tray", "3"}}, duration, "tray swap", "alice"};
}

}  // namespace

TEST_CASE("a window covers the sensors its glob and labels name, and expires by itself") {
  maintenance_book book;
  const maintenance_window& w = book.start(tray3(), 1'000'000);
  CHECK(w.id == 1);
  CHECK(w.until_ms == 1'000'000 + 7'200'000);
  CHECK(book.coverage(rack) == std::vector<std::uint64_t>{1, 1, 0, 1});
  book.start({"rack/tray0*", {}, 1h, "inlet check", "bob"}, 1'000'000);
  // The oldest window that covers a sensor is the one its alarms carry.
  CHECK(book.coverage(rack) == std::vector<std::uint64_t>{1, 1, 0, 1});
  CHECK(book.next_expiry_ms() == 1'000'000 + 3'600'000);

  CHECK(book.expire(1'000'000 + 3'599'999).empty());
  const auto ended = book.expire(1'000'000 + 3'600'000);
  REQUIRE(ended.size() == 1);
  CHECK(ended[0].id == 2);
  CHECK(book.end(1));
  CHECK_FALSE(book.end(1));
  CHECK(book.coverage(rack) == std::vector<std::uint64_t>{0, 0, 0, 0});
  CHECK_FALSE(book.next_expiry_ms());
  // Ids are never reused.
  CHECK(book.start(tray3(), 2'000'000).id == 3);
}

TEST_CASE("requests that would silence nothing, or forever, are refused with what to do") {
  CHECK(check_maintenance_request(tray3()).empty());
  maintenance_request none = tray3();
  none.location.clear();
  CHECK(check_maintenance_request(none).size() == 1);
  CHECK(check_maintenance_request(tray3(0ms)).size() == 1);
  CHECK(check_maintenance_request(tray3(std::chrono::hours(24 * 8))).size() == 1);
  maintenance_request anonymous = tray3();
  anonymous.reason.clear();
  anonymous.by.clear();
  CHECK(check_maintenance_request(anonymous).size() == 2);
}

TEST_CASE("alarms under a window stay active and visible, marked suppressed, and are not counted as paging") {
  alarm_engine engine;
  std::vector<alarm_event> events;
  engine.configure(rack, {}, 0, events);
  engine.observe(0, RACKTEL_READING_OK, 110.0, 1000, events);  // chip12 critical
  engine.observe(2, RACKTEL_READING_OK, 95.0, 1000, events);   // chip16 warning
  REQUIRE(events.size() == 2);
  CHECK(events[0].maintenance == 0);
  events.clear();

  maintenance_book book;
  book.start(tray3(), 2000);
  engine.set_maintenance(book.coverage(rack), 2000, events);
  // The active alarm of chip12 is announced again, now suppressed, with its start kept.
  REQUIRE(events.size() == 1);
  CHECK(events[0].raised);
  CHECK(events[0].sensor_key == "rack/chip12.die_temp");
  CHECK(events[0].maintenance == 1);
  CHECK(events[0].since_ms == 1000);
  CHECK(engine.active_count(alarm_severity::critical) == 0);
  CHECK(engine.active_count(alarm_severity::warning) == 1);
  CHECK(engine.suppressed_count() == 1);
  // Not suppressed first, whatever the severity.
  const auto active = engine.active();
  REQUIRE(active.size() == 2);
  CHECK(active[0].sensor_key == "rack/chip16.die_temp");
  CHECK(active[1].maintenance == 1);

  // New conditions under the window are raised and cleared as usual, marked.
  events.clear();
  engine.observe(1, RACKTEL_READING_OK, 95.0, 3000, events);
  engine.observe(1, RACKTEL_READING_OK, 60.0, 4000, events);
  REQUIRE(events.size() == 2);
  CHECK(events[0].raised);
  CHECK(events[0].maintenance == 1);
  CHECK_FALSE(events[1].raised);
  CHECK(events[1].maintenance == 1);

  // The window expires: the alarm that still holds pages again.
  events.clear();
  book.expire(2000 + 7'200'000);
  engine.set_maintenance(book.coverage(rack), 2000 + 7'200'000, events);
  REQUIRE(events.size() == 1);
  CHECK(events[0].maintenance == 0);
  CHECK(engine.active_count(alarm_severity::critical) == 1);
  CHECK(engine.suppressed_count() == 0);
  // Setting the same coverage again announces nothing.
  events.clear();
  engine.set_maintenance(book.coverage(rack), 2000 + 7'200'001, events);
  CHECK(events.empty());
}

TEST_CASE("a new sensor set keeps the window of the sensors that stay") {
  alarm_engine engine;
  std::vector<alarm_event> events;
  engine.configure(rack, {}, 0, events);
  maintenance_book book;
  book.start(tray3(), 0);
  engine.set_maintenance(book.coverage(rack), 0, events);
  engine.observe(0, RACKTEL_READING_OK, 110.0, 1000, events);
  const std::vector<sensor_meta> fewer = {rack[0], rack[2]};
  events.clear();
  engine.configure(fewer, {}, 2000, events);
  engine.set_maintenance(book.coverage(fewer), 2000, events);
  CHECK(events.empty());  // the sensors that left had no alarm; chip12 keeps its window
  REQUIRE(engine.active().size() == 1);
  CHECK(engine.active()[0].maintenance == 1);
}

TEST_CASE("the windows survive a restart through the state file, and a damaged one is refused") {
  maintenance_book book;
  book.start(tray3(), 1000);
  book.start({"rack/chip1*", {{"tray", "[34]"}}, 30min, "reseat", "bob"}, 1000);
  book.end(1);
  const std::string bytes = encode_maintenance_book(book.windows(), book.next_id());

  racktel::testing::temp_dir dir;
  const std::string path = (dir.path / "maintenance").string();
  std::string error;
  REQUIRE(replace_file(path, bytes, true, error));
  const auto read = read_small_file(path, 1 << 20, error);
  REQUIRE(read);
  const auto decoded = decode_maintenance_book(*read);
  REQUIRE(decoded);
  maintenance_book restored;
  restored.restore(decoded->windows, decoded->next_id);
  CHECK(restored.windows() == book.windows());
  CHECK(restored.next_id() == 3);
  CHECK(restored.start(tray3(), 5000).id == 3);

  CHECK_FALSE(decode_maintenance_book("\xff\xff\xff"));
  CHECK_FALSE(read_small_file((dir.path / "absent").string(), 100, error));
  CHECK(error.empty());
  CHECK_FALSE(read_small_file(path, 4, error));
  CHECK(error.find("larger than 4 bytes") != std::string::npos);
}

TEST_CASE("AgentState carries the open windows and the suppressed count") {
  agent_state_info state;
  state.alarms_suppressed = 3;
  maintenance_book book;
  state.maintenance.push_back(book.start(tray3(), 1000));
  const auto decoded = decode_agent_state(encode_agent_state(state));
  REQUIRE(decoded);
  CHECK(decoded->alarms_suppressed == 3);
  CHECK(decoded->maintenance == state.maintenance);
}

TEST_CASE("maintenance requests on the status socket: what the CLI sends is what the agent reads") {
  maintenance_request r{"rack/tray03*", {{"tray", "3"}}, 0ms, "tray \"A\" swap", "alice"};
  const std::string line = format_maintenance_start(r, "2h");
  REQUIRE(line.starts_with("maintenance "));
  const maintenance_command c = parse_maintenance_command(line.substr(12));
  CHECK(c.error.empty());
  CHECK(c.what == maintenance_command::action::start);
  CHECK(c.request.match == r.match);
  CHECK(c.request.location == r.location);
  CHECK(c.request.reason == r.reason);
  CHECK(c.request.by == "alice");
  CHECK(c.request.duration == 2h);

  const maintenance_command e = parse_maintenance_command(format_maintenance_end(7, "bob").substr(12));
  CHECK(e.error.empty());
  CHECK(e.what == maintenance_command::action::end);
  CHECK(e.id == 7);
  CHECK(e.by == "bob");
  CHECK(parse_maintenance_command("list").what == maintenance_command::action::list);

  CHECK_FALSE(parse_maintenance_command("end seven").error.empty());
  CHECK_FALSE(parse_maintenance_command("end 0").error.empty());
  CHECK_FALSE(parse_maintenance_command("start {\"for\":\"soon\"}").error.empty());
  CHECK_FALSE(parse_maintenance_command("start [1,2]").error.empty());
  CHECK_FALSE(parse_maintenance_command("start {\"match\":3,\"for\":\"1h\"}").error.empty());
  CHECK_FALSE(parse_maintenance_command("start {\"location\":{\"tray\":3},\"for\":\"1h\"}").error.empty());
  CHECK_FALSE(parse_maintenance_command("pause").error.empty());
  CHECK_FALSE(parse_maintenance_command("list everything").error.empty());
}
