#include <doctest/doctest.h>

#include "store/catalog.h"

using namespace racktel;

namespace {

sensor_meta sensor(const std::string& id, const std::string& location = "") {
  sensor_meta m;
  m.driver = "rack";
  m.id = id;
  m.name = id;
  m.location = parse_location(location);
  return m;
}

}  // namespace

TEST_CASE("a changed sensor set is described by what left and what came") {
  const std::vector<sensor_meta> before{sensor("chip12.power", "tray=3,chip=12"), sensor("chip13.power", "tray=3,chip=13"),
                                        sensor("chip14.power", "tray=4,chip=14"), sensor("pmbus_1-0058.in1"),
                                        sensor("pmbus_1-0059.in1"), sensor("pmbus_1-0059.in2")};
  std::vector<sensor_meta> after{before[2], before[3], sensor("pmbus_1-0060.in1")};
  CHECK(describe_sensor_changes(before, after) ==
        "tray=3 removed (2 sensors); pmbus_1-0059 removed (2 sensors); pmbus_1-0060 added (1 sensor)");
  CHECK(describe_sensor_changes(before, before).empty());

  // Same id, new description (a limit changed): said as changed, not as removed and added.
  after = before;
  after[3].crit_high = 14.0;
  CHECK(describe_sensor_changes(before, after) == "pmbus_1-0058 changed (1 sensor)");

  // A long list is cut, saying how many groups were left out.
  CHECK(describe_sensor_changes(before, {}, 1) == "tray=3 removed (2 sensors); and 3 more");
  CHECK(describe_sensor_changes(before, {}, 3) ==
        "tray=3 removed (2 sensors); tray=4 removed (1 sensor); pmbus_1-0058 removed (1 sensor); and 1 more");
  // An id without a device part is its own group.
  CHECK(describe_sensor_changes({}, std::vector<sensor_meta>{sensor("leak")}) == "leak added (1 sensor)");
}

TEST_CASE("a state sensor reads as what its value means") {
  sensor_meta link = sensor("chip12.link0", "tray=3,chip=12,link=0");
  link.states = parse_state_names("0=up,1=down,x=bad,2=,-1=unknown");
  CHECK(link.states == std::vector<std::pair<std::int64_t, std::string>>{{0, "up"}, {1, "down"}, {-1, "unknown"}});
  CHECK(state_word(link, 0.0) == "up");
  CHECK(state_word(link, 1.0) == "down");
  CHECK(state_word(link, 7.0).empty());
  CHECK(reading_text(link, 1.0) == "down");
  CHECK(reading_text(link, 7.0) == "7");  // a value the driver did not name reads as its number
  sensor_meta die = sensor("chip12.die_temp");
  die.unit = "Cel";
  CHECK(reading_text(die, 95.5) == "95.5 Cel");
  // The words are part of what a sensor is: a change is a catalog change.
  sensor_meta renamed = link;
  renamed.states = parse_state_names("0=ok,1=fault");
  CHECK_FALSE(describe_sensor_changes(std::vector<sensor_meta>{link}, std::vector<sensor_meta>{renamed}).empty());
}
