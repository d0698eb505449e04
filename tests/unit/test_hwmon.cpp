// The hwmon driver against sysfs-shaped trees in a temporary directory.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>

#include "drivers/driver_instance.h"
#include "driver_harness.h"
#include "hwmon_tree.h"
#include "temp_dir.h"

extern "C" const racktel_driver racktel_hwmon_driver;

using namespace racktel;
using racktel::testing::opened_driver;
namespace fs = std::filesystem;

namespace {

struct hwmon_tree {
  racktel::testing::temp_dir tmp{"racktel-hwmon"};
  fs::path root = tmp.path;

  void device(const std::string& dir, const std::string& name, const std::map<std::string, std::string>& files,
              const std::string& parent = "") {
    fs::create_directories(root / dir);
    if (!name.empty()) std::ofstream(root / dir / "name") << name << "\n";
    for (const auto& [file, value] : files) std::ofstream(root / dir / file) << value << "\n";
    if (!parent.empty()) fs::create_directory_symlink("../../../devices/" + parent, root / dir / "device");
  }

  // A file whose read fails with a real EIO.
  void failing(const std::string& dir, const std::string& file) {
    fs::create_symlink("/proc/self/mem", root / dir / file);
  }

  void psu(const std::string& dir, const std::string& bus_address) {
    device(dir, "pmbus",
           {{"in1_input", "230000"}, {"in1_label", "vin"}, {"in2_input", "12000"}, {"in2_label", "vout1"},
            {"in2_min", "11400"}, {"in2_max", "12600"}, {"in2_lcrit", "10800"}, {"in2_crit", "13200"},
            {"curr1_input", "2500"}, {"curr1_label", "iin"}, {"curr2_input", "40000"}, {"curr2_label", "iout1"},
            {"power1_input", "575000000"}, {"power1_label", "pin"}, {"power2_input", "480000000"},
            {"power2_label", "pout1"}, {"temp1_input", "35500"}, {"fan1_input", "9000"}},
           "i2c-1/" + bus_address);
  }

  void standard_rack_controller() {
    device("hwmon0", "coretemp", {{"temp1_input", "45000"}, {"temp1_label", "Package id 0"},
                                  {"temp1_max", "80000"}, {"temp1_crit", "100000"}, {"temp2_input", "43000"},
                                  {"temp2_label", "Core 0"}});
    device("hwmon1", "nvme", {{"temp1_input", "38850"}, {"temp1_label", "Composite"}, {"temp1_min", "-273150"},
                              {"temp1_max", "84850"}});
    psu("hwmon2", "1-0058");
    psu("hwmon3", "1-0059");
    device("hwmon4", "nct6775", {{"fan1_input", "1200"}, {"fan1_min", "300"}, {"pwm1", "128"},
                                 {"energy1_input", "123456789"}, {"fan2_input", "0"}});
    device("hwmon5", "", {{"temp1_input", "1"}});  // no name: not a device
  }
};

opened_driver opened(const std::string& toml_text) {
  return opened_driver(racktel_hwmon_driver, "hwmon", toml_text);
}

}  // namespace

TEST_CASE("attribute names and sysfs integers") {
  auto a = hwmon::parse_attribute_name("temp12_input");
  REQUIRE(a);
  CHECK(a->type == "temp");
  CHECK(a->channel == 12);
  CHECK(a->attribute == "input");
  CHECK(hwmon::parse_attribute_name("pwm2")->attribute.empty());
  CHECK_FALSE(hwmon::parse_attribute_name("name"));
  CHECK_FALSE(hwmon::parse_attribute_name("temp_input"));
  CHECK(hwmon::parse_sysfs_integer("45000\n") == 45000);
  CHECK(hwmon::parse_sysfs_integer("-273150") == -273150);
  CHECK_FALSE(hwmon::parse_sysfs_integer("N/A"));
  // Trailing garbage is not a number with a suffix: a half-written or odd value is an error reading.
  CHECK_FALSE(hwmon::parse_sysfs_integer("123abc"));
  CHECK_FALSE(hwmon::parse_sysfs_integer("123 456"));
  CHECK_FALSE(hwmon::parse_sysfs_integer(""));
  CHECK_FALSE(hwmon::parse_sysfs_integer("\n"));
  CHECK_FALSE(hwmon::parse_sysfs_integer("99999999999999999999"));
  CHECK(hwmon::parse_sysfs_integer("123 \n") == 123);
}

TEST_CASE("a device key does not depend on its siblings") {
  hwmon_tree t;
  t.psu("hwmon2", "1-0058");
  auto keys = [&] {
    std::vector<std::string> k;
    for (const auto& d : hwmon::discover(t.root.string())) k.push_back(d.key);
    return k;
  };
  // One PSU alone is keyed as it is with its sibling present, so a pull or a
  // replug of the other renames nothing and location rules keep matching.
  CHECK(keys() == std::vector<std::string>{"pmbus_1-0058"});
  t.psu("hwmon3", "1-0059");
  CHECK(keys() == std::vector<std::string>{"pmbus_1-0058", "pmbus_1-0059"});
  fs::remove_all(t.root / "hwmon2");
  CHECK(keys() == std::vector<std::string>{"pmbus_1-0059"});
  // Devices without a parent device fall back to hwmonN, only when they share a name.
  t.device("hwmon8", "acpitz", {{"temp1_input", "27800"}});
  CHECK(keys() == std::vector<std::string>{"acpitz", "pmbus_1-0059"});
  t.device("hwmon9", "acpitz", {{"temp1_input", "29800"}});
  CHECK(keys() == std::vector<std::string>{"acpitz_hwmon8", "acpitz_hwmon9", "pmbus_1-0059"});
}

TEST_CASE("discovery finds devices, keys them stably, and reads labels and limits") {
  hwmon_tree t;
  t.standard_rack_controller();
  auto devices = hwmon::discover(t.root.string());
  std::vector<std::string> keys;
  for (const auto& d : devices) keys.push_back(d.key);
  // Two PSUs share the name "pmbus": their I2C address tells them apart.
  CHECK(keys == std::vector<std::string>{"coretemp", "nct6775", "nvme", "pmbus_1-0058", "pmbus_1-0059"});
  const auto& psu = devices[3];
  REQUIRE(psu.channels.size() == 8);
  const auto& vout = psu.channels[4];  // curr1 curr2 fan1 in1 in2 ...
  CHECK(std::string(vout.type->prefix) == "in");
  CHECK(vout.index == 2);
  CHECK(vout.label == "vout1");
  CHECK(vout.warn_low == doctest::Approx(11.4));
  CHECK(vout.warn_high == doctest::Approx(12.6));
  CHECK(vout.crit_low == doctest::Approx(10.8));
  CHECK(vout.crit_high == doctest::Approx(13.2));
}

TEST_CASE("readings are scaled to SI units exactly as the kernel documents") {
  hwmon_tree t;
  t.standard_rack_controller();
  t.failing("hwmon3", "temp2_input");
  auto h = opened("root = \"" + t.root.string() + "\"\n[[locations]]\ndevice = \"pmbus_1-0058\"\nlocation = \"shelf=0,psu=0\"\n"
           "[[locations]]\nlabel = \"Core *\"\nlocation = \"board=controller,core=0\"\n"
           "[[locations]]\nsensor = \"nvme.*\"\nlocation = \"board=controller,drive=0\"\n");
  REQUIRE(h.instance);
  auto r = h.read();
  CHECK(r["coretemp.temp1"].second == doctest::Approx(45.0));          // millidegree C
  CHECK(r["nvme.temp1"].second == doctest::Approx(38.85));
  CHECK(r["pmbus_1-0058.in1"].second == doctest::Approx(230.0));       // millivolt
  CHECK(r["pmbus_1-0058.curr2"].second == doctest::Approx(40.0));      // milliampere
  CHECK(r["pmbus_1-0058.power1"].second == doctest::Approx(575.0));    // microwatt
  CHECK(r["nct6775.energy1"].second == doctest::Approx(123.456789));   // microjoule
  CHECK(r["nct6775.fan1"].second == doctest::Approx(1200.0));          // RPM
  CHECK(r["nct6775.pwm1"].second == doctest::Approx(50.196).epsilon(0.001));  // 128/255
  CHECK(r["pmbus_1-0059.temp2"].first == RACKTEL_READING_ERROR);       // EIO
  CHECK(r["pmbus_1-0059.temp1"].first == RACKTEL_READING_OK);          // the rest of the device reads on

  const auto& sensors = h.catalog->sensors;
  auto find = [&](const std::string& id) {
    return *std::find_if(sensors.begin(), sensors.end(), [&](const sensor_meta& m) { return m.id == id; });
  };
  const sensor_meta vin = find("pmbus_1-0058.in1");
  CHECK(vin.name == "pmbus_1-0058 vin");
  CHECK(vin.unit == "V");
  CHECK(vin.kind == RACKTEL_KIND_VOLTAGE);
  CHECK(vin.location == std::vector<std::pair<std::string, std::string>>{{"shelf", "0"}, {"psu", "0"}});
  CHECK(find("pmbus_1-0059.in1").location.empty());
  CHECK(find("coretemp.temp2").location == std::vector<std::pair<std::string, std::string>>{{"board", "controller"}, {"core", "0"}});
  CHECK(find("coretemp.temp1").location.empty());  // "Package id 0" is not "Core *"
  CHECK(find("nvme.temp1").location == std::vector<std::pair<std::string, std::string>>{{"board", "controller"}, {"drive", "0"}});
  CHECK(find("coretemp.temp1").crit_high.value_or(0) == doctest::Approx(100.0));
  CHECK(find("coretemp.temp1").name == "coretemp Package id 0");
  CHECK(find("nct6775.fan1").warn_low.value_or(0) == doctest::Approx(300.0));
}

TEST_CASE("include and exclude filters") {
  hwmon_tree t;
  t.standard_rack_controller();
  auto h = opened("root = \"" + t.root.string() + "\"\ninclude = [\"pmbus*\", \"coretemp.*\"]\nexclude = [\"*.fan1\"]\n");
  REQUIRE(h.instance);
  std::vector<std::string> ids;
  for (const auto& m : h.instance->initial_catalog()->sensors) ids.push_back(m.id);
  CHECK(ids.size() == 2 + 7 + 7);
  CHECK(std::find(ids.begin(), ids.end(), "pmbus_1-0058.fan1") == ids.end());
  CHECK(std::find(ids.begin(), ids.end(), "nvme.temp1") == ids.end());
}

TEST_CASE("a pulled PSU reads as errors, leaves the catalog, and comes back when replugged") {
  hwmon_tree t;
  t.standard_rack_controller();
  auto h = opened("root = \"" + t.root.string() + "\"\nrescan = \"300ms\"\n");
  REQUIRE(h.instance);
  const std::size_t all = h.catalog->sensors.size();
  const fs::path saved = t.root.parent_path() / (t.root.filename().string() + "-psu");
  fs::rename(t.root / "hwmon3", saved);  // the kernel removes the hwmon device with the PSU

  // Until the rescan, the pulled PSU's sensors read as errors, never as values.
  std::shared_ptr<const instance_catalog> changed;
  for (int i = 0; i < 3 && !changed; ++i) {
    auto r = h.read(&changed);
    if (!changed) {
      CHECK(r["pmbus_1-0059.in1"].first == RACKTEL_READING_ERROR);
      CHECK(r["pmbus_1-0058.in1"].first == RACKTEL_READING_OK);
    }
  }
  REQUIRE(changed);  // a vanished device triggers a rescan at once
  CHECK(changed->sensors.size() == all - 8);
  CHECK(std::none_of(changed->sensors.begin(), changed->sensors.end(),
                     [](const sensor_meta& m) { return m.id.starts_with("pmbus_1-0059."); }));
  // The PSU left in place keeps its ids.
  CHECK(std::count_if(changed->sensors.begin(), changed->sensors.end(),
                      [](const sensor_meta& m) { return m.id.starts_with("pmbus_1-0058."); }) == 8);

  // Replugged, under another hwmonN: found again by the same instance at the next rescan.
  fs::rename(saved, t.root / "hwmon7");
  ::usleep(400'000);
  auto r = h.read(&changed);
  REQUIRE(changed);
  CHECK(changed->sensors.size() == all);
  CHECK(r["pmbus_1-0059.in1"].first == RACKTEL_READING_OK);
  CHECK(r["pmbus_1-0059.in1"].second == doctest::Approx(230.0));
}

TEST_CASE("config errors name the key") {
  auto bad = opened("root = 7\nrescan = \"1ms\"\n[[locations]]\ndevice = \"x\"\n");
  CHECK_FALSE(bad.instance);
  REQUIRE(bad.errors.size() == 3);
  CHECK(bad.errors[0].message.find("expected \"root\" to be a string") != std::string::npos);
  CHECK(bad.errors[1].message.find("\"rescan\": expected a duration of at least 100ms") != std::string::npos);
  CHECK(bad.errors[2].message.find("\"locations[0].location\": missing") != std::string::npos);
  auto two = opened("[[locations]]\ndevice = \"x\"\nlabel = \"y\"\nlocation = \"a=b\"\n");
  REQUIRE(two.errors.size() == 1);
  CHECK(two.errors[0].message.find("exactly one of \"device\", \"sensor\" or \"label\"") != std::string::npos);
}
