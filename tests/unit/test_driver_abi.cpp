#include <doctest/doctest.h>

#include <algorithm>

#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "drivers/driver_instance.h"
#include "drivers/driver_loader.h"
#include "rack_model.h"
#include "sim_driver.h"
#include "temp_dir.h"

using namespace racktel;

namespace {

driver_config sim_config(const std::string& name = "rack") {
  static auto doc = std::make_shared<toml::table>(toml::parse("seed = 3\n"));
  driver_config c;
  c.name = name;
  c.type = "sim";
  c.table = doc;
  c.source_file = "test.toml";
  return c;
}

}  // namespace

TEST_CASE("descriptor checks: the built-in sim driver passes") {
  CHECK(check_descriptor(&racktel_sim_driver, "sim").empty());
  CHECK(check_descriptor(&racktel_sim_driver, "").empty());
}

TEST_CASE("descriptor checks refuse what the host cannot use") {
  racktel_driver d = racktel_sim_driver;
  CHECK(check_descriptor(nullptr, "sim") == "the entry point returned no descriptor");

  d.abi_major = RACKTEL_DRIVER_ABI_MAJOR + 1;
  CHECK(check_descriptor(&d, "sim").find("rebuild the driver") != std::string::npos);

  d = racktel_sim_driver;
  d.struct_size = 16;
  CHECK(check_descriptor(&d, "sim").find("smaller than ABI") != std::string::npos);

  d = racktel_sim_driver;
  d.read = nullptr;
  CHECK(check_descriptor(&d, "sim") == "descriptor lacks a required entry point");

  d = racktel_sim_driver;
  CHECK(check_descriptor(&d, "hwmon") == "provides driver type \"sim\", not \"hwmon\"");
}

TEST_CASE("the sim driver loads as a module through dlopen") {
  const std::string path = std::string(RACKTEL_TEST_MODULE_DIR) + "/racktel-driver-sim.so";
  load_result r = driver_loader::load_module(path, "sim");
  REQUIRE_MESSAGE(r.driver, r.error);
  CHECK(r.driver->origin == path);
  CHECK(r.driver->module != nullptr);
  // A module's descriptor is its own copy of the code, not the built-in one.
  CHECK((r.driver->descriptor.read != racktel_sim_driver.read));

  // ... and is found by type in the driver directory when not built in.
  driver_loader loader({}, RACKTEL_TEST_MODULE_DIR);
  load_result by_type = loader.load("sim", std::nullopt);
  REQUIRE_MESSAGE(by_type.driver, by_type.error);
  auto opened = driver_instance::open(sim_config(), std::move(*by_type.driver), 0);
  REQUIRE(opened.instance);
  CHECK(opened.instance->initial_catalog()->sensors.size() == 1365);
  CHECK(opened.instance->origin() == path);
}

TEST_CASE("broken modules are refused with an error naming the file") {
  const std::string dir = RACKTEL_TEST_BAD_MODULE_DIR;
  load_result garbage = driver_loader::load_module(dir + "/racktel-driver-garbage.so", "garbage");
  CHECK_FALSE(garbage.driver);
  CHECK(garbage.error.find("cannot load driver module " + dir + "/racktel-driver-garbage.so") == 0);

  load_result no_entry = driver_loader::load_module(dir + "/racktel-driver-noentry.so", "noentry");
  CHECK_FALSE(no_entry.driver);
  CHECK(no_entry.error.find("does not export racktel_driver_entry") != std::string::npos);

  load_result wrong_abi = driver_loader::load_module(dir + "/racktel-driver-wrongabi.so", "wrongabi");
  CHECK_FALSE(wrong_abi.driver);
  CHECK(wrong_abi.error.find("refused: built for driver ABI 2.0") != std::string::npos);

  load_result missing = driver_loader({}, dir).load("absent", std::nullopt);
  CHECK_FALSE(missing.driver);
  CHECK(missing.error.find("racktel-driver-absent.so does not exist") != std::string::npos);
}

TEST_CASE("a descriptor shorter than ABI 1.0 is refused before its missing fields are used") {
  // Simulate a driver built when the descriptor ended before catalog_generation:
  // the host must treat the missing optional field as absent.
  struct {
    racktel_driver d;
    char poison[16];
  } shorter{};
  shorter.d = racktel_sim_driver;
  shorter.d.struct_size = static_cast<std::uint32_t>(offsetof(racktel_driver, catalog_generation));
  std::memset(shorter.poison, 0xAB, sizeof shorter.poison);
  CHECK(check_descriptor(&shorter.d, "sim").find("smaller than ABI") != std::string::npos);
}

TEST_CASE("an opened sim instance reports groups with their intervals") {
  load_result r = driver_loader(builtin_drivers(), "/nonexistent").load("sim", std::nullopt);
  REQUIRE(r.driver);
  driver_config config = sim_config();
  config.group_intervals["thermal"] = std::chrono::milliseconds(2000);
  auto opened = driver_instance::open(config, std::move(*r.driver), 0);
  REQUIRE(opened.instance);
  const instance_catalog& c = *opened.instance->initial_catalog();
  REQUIRE(c.groups.size() == 3);
  CHECK(c.groups[0].name == "power");
  CHECK(c.groups[0].interval == std::chrono::milliseconds(100));
  CHECK(c.groups[0].deadline == std::chrono::milliseconds(100));
  CHECK(c.groups[1].interval == std::chrono::milliseconds(2000));
  std::size_t members = 0;
  for (const auto& g : c.groups) members += g.members.size();
  CHECK(members == c.sensors.size());
  CHECK(c.sensors[0].driver == "rack");
  CHECK(c.sensors[0].location == std::vector<std::pair<std::string, std::string>>{{"tray", "0"}, {"chip", "0"}});
  // State sensors name the quantity, and say in words what their values mean (ABI 1.3).
  auto find = [&](const std::string& id) {
    return *std::find_if(c.sensors.begin(), c.sensors.end(), [&](const sensor_meta& m) { return m.id == id; });
  };
  const sensor_meta& link = find("chip12.link0");
  CHECK(link.name == "chip 12 ICI link 0 state");
  CHECK(state_word(link, 0) == "up");
  CHECK(state_word(link, 1) == "down");
  CHECK(state_word(find("tray03.leak"), 0) == "none");
  CHECK(state_word(find("tray03.leak"), 1) == "detected");
  CHECK(state_word(find("shelf1.psu2.status"), 1) == "fault");
  CHECK(find("chip12.die_temp").states.empty());
}

TEST_CASE("the host copies a sensor's strings before it calls the driver again (ABI 1.5)") {
  // The sim describes each sensor into one buffer that the next call
  // overwrites: a host that kept the driver's pointers would show every
  // sensor with the last one's id, name and location.
  load_result r = driver_loader(builtin_drivers(), "/nonexistent").load("sim", std::nullopt);
  REQUIRE(r.driver);
  auto opened = driver_instance::open(sim_config(), std::move(*r.driver), 0);
  REQUIRE(opened.instance);
  const instance_catalog& c = *opened.instance->initial_catalog();
  const std::vector<sim::sensor_spec> model = sim::rack_model(1, {}).sensors();
  REQUIRE(c.sensors.size() == model.size());
  for (std::size_t i = 0; i < model.size(); ++i) {
    CHECK(c.sensors[i].id == model[i].id);
    CHECK(c.sensors[i].name == model[i].name);
    CHECK(c.sensors[i].unit == model[i].unit);
    CHECK(c.sensors[i].location == parse_location(model[i].location));
    CHECK(c.sensors[i].states == state_names(parse_state_names(model[i].states)));
  }
  // Equal units and locations are one text: "Cel" is held once for the rack.
  CHECK(c.sensors[0].unit.same_block(c.sensors[1].unit));
}

TEST_CASE("modules that others could have written are refused before they are loaded") {
  racktel::testing::temp_dir tmp("racktel-modules");
  std::filesystem::permissions(tmp.path, std::filesystem::perms(0755));
  const std::filesystem::path module = tmp.path / "racktel-driver-sim.so";
  std::filesystem::copy_file(std::string(RACKTEL_TEST_MODULE_DIR) + "/racktel-driver-sim.so", module);
  std::filesystem::permissions(module, std::filesystem::perms(0755));
  CHECK(check_module_trust(module, ::geteuid()) == "");
  CHECK(driver_loader::load_module(module, "sim").driver);

  std::filesystem::permissions(module, std::filesystem::perms(0775));  // group-writable file
  load_result r = driver_loader::load_module(module, "sim");
  CHECK_FALSE(r.driver);
  CHECK(r.error == "driver module " + module.string() + " refused: module " + module.string() +
                       " is writable by its group or by everyone (mode 0775): anyone who can write it could put "
                       "code into the agent");

  std::filesystem::permissions(module, std::filesystem::perms(0755));
  std::filesystem::permissions(tmp.path, std::filesystem::perms(0777));  // world-writable directory, not sticky
  CHECK(check_module_trust(module, ::geteuid()).find("directory " + tmp.path.string() + " is writable") == 0);
  std::filesystem::permissions(tmp.path, std::filesystem::perms(01777));  // sticky, like /tmp: others cannot replace it
  CHECK(check_module_trust(module, ::geteuid()) == "");
  std::filesystem::permissions(tmp.path, std::filesystem::perms(0755));

  // Owned by another user (only root can arrange that here); and by a uid the agent does not run as.
  CHECK(check_module_trust(module, ::geteuid() + 1) == "" );  // root-owned or ours: fine either way
  if (::geteuid() == 0) {
    REQUIRE(::chown(module.c_str(), 65534, 65534) == 0);
    CHECK(check_module_trust(module, 0).find("is owned by uid 65534, neither root nor the agent's user") !=
          std::string::npos);
    CHECK(check_module_trust(module, 65534) == "");  // the agent's own user may own its modules
  }
}

namespace {

// A driver that describes some of its sensors badly; index 5 and 0 are fine.
int bad_info(void*, std::uint32_t index, racktel_sensor_info* info) {
  static const char* const ids[] = {"a", "a", "zero_resolution", "no_group", "bad id!", "b", nullptr};
  if (index == 6) return RACKTEL_DRIVER_FAILED;  // no description at all
  info->id = ids[index];
  info->name = ids[index];
  info->unit = "Cel";
  info->kind = RACKTEL_KIND_TEMPERATURE;
  info->resolution = index == 2 ? 0.0 : 0.1;
  info->group = index == 3 ? 7 : 0;
  return RACKTEL_DRIVER_OK;
}
std::uint32_t seven(void*) { return 7; }
int bad_open(const racktel_host*, const racktel_config*, std::uint32_t, void** out) {
  *out = nullptr;
  return RACKTEL_DRIVER_OK;
}
void bad_close(void*) {}
std::uint32_t one(void*) { return 1; }
int bad_group(void*, std::uint32_t, racktel_group_info* info) {
  info->name = "all";
  return RACKTEL_DRIVER_OK;
}
int bad_read(void*, const racktel_read_request* request, std::uint32_t* written) {
  for (std::uint32_t i = 0; i < 7 && i < request->capacity; ++i) request->samples[i] = {i, RACKTEL_READING_OK, 20.0 + i};
  *written = 7;
  return RACKTEL_DRIVER_OK;
}

}  // namespace

TEST_CASE("sensors a driver describes badly are left out, said, and the rest keep their readings") {
  racktel_driver bad{sizeof(racktel_driver), RACKTEL_DRIVER_ABI_MAJOR, RACKTEL_DRIVER_ABI_MINOR, "bad", "test", 0,
                     bad_open, bad_close, seven, bad_info, one, bad_group, bad_read, nullptr, nullptr};
  const driver_loader loader({&bad}, "/nonexistent");
  driver_config config = sim_config("bad");
  config.type = "bad";
  config.table = std::make_shared<toml::table>();  // the sim's "seed" would be an unknown key here
  auto opened = driver_instance::open(config, std::move(*loader.load("bad", std::nullopt).driver), 0);
  REQUIRE(opened.instance);
  const instance_catalog& c = *opened.instance->initial_catalog();
  std::vector<std::string> ids;
  for (const auto& s : c.sensors) ids.push_back(s.id);
  CHECK(ids == std::vector<std::string>{"a", "b"});
  CHECK(c.problems == std::vector<std::string>{
                          "sensor id \"a\" is reported twice",
                          "sensor \"zero_resolution\": resolution must be a positive number",
                          "sensor \"no_group\": group 7 does not exist",
                          "sensor 4: id \"bad id!\" is empty or has characters other than [A-Za-z0-9_.:-]",
                          "sensor 6: the driver gave no description"});
  // Readings of the dropped sensors are dropped; the others arrive under their catalog index.
  std::atomic<int> cancel{0};
  const read_outcome out = opened.instance->read(0, 0, INT64_MAX, cancel);
  REQUIRE(out.samples.size() == 2);
  CHECK(out.samples[0].sensor == 0);
  CHECK(out.samples[0].value == 20.0);
  CHECK(out.samples[1].sensor == 1);
  CHECK(out.samples[1].value == 25.0);
}

namespace {

// A driver that only remembers the state directory its host gave it.
std::string seen_state_dir;
bool saw_state_dir = false;
int dir_open(const racktel_host* host, const racktel_config*, std::uint32_t, void** out) noexcept {
  const char* dir = RACKTEL_HOST_STATE_DIR(host);
  saw_state_dir = dir != nullptr;
  seen_state_dir = dir != nullptr ? dir : "";
  *out = nullptr;
  return RACKTEL_DRIVER_OK;
}
void dir_close(void*) noexcept {}
std::uint32_t no_sensors(void*) noexcept { return 0; }
int no_info(void*, std::uint32_t, racktel_sensor_info*) noexcept { return RACKTEL_DRIVER_FAILED; }
int no_read(void*, const racktel_read_request*, std::uint32_t* written) noexcept {
  *written = 0;
  return RACKTEL_DRIVER_OK;
}

}  // namespace

TEST_CASE("an instance opened for reading gets a state directory of its own (ABI 1.4); a validating open none") {
  racktel_driver d{sizeof(racktel_driver), RACKTEL_DRIVER_ABI_MAJOR, RACKTEL_DRIVER_ABI_MINOR, "dir", "test", 0,
                   dir_open, dir_close, no_sensors, no_info, one, bad_group, no_read, nullptr, nullptr};
  const driver_loader loader({&d}, "/nonexistent");
  testing::temp_dir state;
  driver_config config = sim_config("bmcs");
  config.type = "dir";
  config.table = std::make_shared<toml::table>();
  config.state_dir = (state.path / "drivers" / "bmcs").string();
  auto opened = driver_instance::open(config, std::move(*loader.load("dir", std::nullopt).driver), 0);
  REQUIRE(opened.instance);
  CHECK(saw_state_dir);
  CHECK(seen_state_dir == config.state_dir);
  CHECK(std::filesystem::is_directory(config.state_dir));
  CHECK((std::filesystem::status(config.state_dir).permissions() & std::filesystem::perms::all) ==
        std::filesystem::perms::owner_all);
  opened.instance.reset();
  std::filesystem::remove_all(state.path / "drivers");
  auto validating =
      driver_instance::open(config, std::move(*loader.load("dir", std::nullopt).driver), RACKTEL_OPEN_VALIDATE_ONLY);
  CHECK_FALSE(saw_state_dir);
  CHECK_FALSE(std::filesystem::exists(config.state_dir));  // check-config creates nothing
  // A directory that cannot be made: no state directory, and a warning that says why.
  config.state_dir = "/proc/racktel-cannot/drivers/bmcs";
  auto unmade = driver_instance::open(config, std::move(*loader.load("dir", std::nullopt).driver), 0);
  REQUIRE(unmade.instance);
  CHECK_FALSE(saw_state_dir);
  REQUIRE(unmade.warnings.size() == 1);
  CHECK(unmade.warnings[0].message.find("cannot create its state directory /proc/racktel-cannot") != std::string::npos);
}
