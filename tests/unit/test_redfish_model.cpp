#include <doctest/doctest.h>

#include <boost/json.hpp>

#include "racktel/driver.h"
#include "redfish_model.h"

using namespace racktel::redfish;

TEST_CASE("a Sensor resource maps type, unit, thresholds and place") {
  const json::value s = json::parse(R"({
    "@odata.id": "/redfish/v1/Chassis/Tray0/Sensors/CPU0Temp", "Id": "CPU0Temp", "Name": "CPU 0 temperature",
    "ReadingType": "Temperature", "ReadingUnits": "Cel", "Reading": 61.5, "PhysicalContext": "CPU",
    "Thresholds": {"UpperCaution": {"Reading": 85}, "UpperCritical": {"Reading": 95}, "LowerCritical": {"Reading": 5}},
    "Status": {"State": "Enabled", "Health": "OK"}})");
  auto d = from_sensor("Tray0", s, "/redfish/v1/Chassis/Tray0/Sensors/CPU0Temp");
  REQUIRE(d);
  CHECK(d->id == "Tray0.CPU0Temp");
  CHECK(d->kind == RACKTEL_KIND_TEMPERATURE);
  CHECK(d->unit == "Cel");
  CHECK(d->location == "chassis=Tray0,context=CPU");
  CHECK(d->warn_high == 85.0);
  CHECK(d->crit_high == 95.0);
  CHECK(d->crit_low == 5.0);
  CHECK(std::isnan(d->warn_low));
  document_index index;
  index_document(d->uri, s, index);
  CHECK(value_of(*d, index) == 61.5);
}

TEST_CASE("reading types are converted to racktel's units") {
  auto kind = [](const char* type, const char* units, double reading) {
    const json::value s = json::value{{"Id", "x"}, {"ReadingType", type}, {"ReadingUnits", units}, {"Reading", reading}};
    auto d = from_sensor("C", s, "/u");
    document_index index;
    index_document("/u", s, index);
    return std::pair(*d, *value_of(*d, index));
  };
  CHECK(kind("EnergykWh", "kW.h", 2.0).second == 7.2e6);
  CHECK(kind("EnergykWh", "kW.h", 2.0).first.unit == "J");
  CHECK(kind("PressurePa", "Pa", 150000).second == doctest::Approx(150.0));
  CHECK(kind("LiquidFlow", "L/s", 0.5).second == doctest::Approx(30.0));
  CHECK(kind("LiquidFlowLPM", "L/min", 8.0).first.kind == RACKTEL_KIND_FLOW);
  CHECK(kind("Rotational", "RPM", 9000).first.unit == "RPM");
  CHECK(kind("Frequency", "Hz", 50).first.unit == "Hz");
}

TEST_CASE("a sensor without a reading, or absent, has no value") {
  const json::value s = json::parse(R"({"Id": "Fan1", "ReadingType": "Rotational", "Reading": null})");
  auto d = from_sensor("C", s, "/f");
  document_index index;
  index_document("/f", s, index);
  CHECK_FALSE(value_of(*d, index));
  const json::value absent = json::parse(R"({"Id": "Fan2", "Reading": 100, "Status": {"State": "Absent"}})");
  index_document("/g", absent, index);
  d->uri = "/g";
  CHECK_FALSE(value_of(*d, index));
  CHECK_FALSE(from_sensor("C", json::parse(R"({"Name": "no id"})"), "/x"));
}

TEST_CASE("an expanded collection indexes its members") {
  const json::value coll = json::parse(R"({"Members": [
      {"@odata.id": "/s/A", "Id": "A", "ReadingType": "Power", "Reading": 512.5},
      {"@odata.id": "/s/B", "Id": "B", "ReadingType": "Voltage", "Reading": 12.1}]})");
  document_index index;
  index_document("/s", coll, index);
  auto a = from_sensor("T", coll.at("Members").at(0), "/s/A");
  auto b = from_sensor("T", coll.at("Members").at(1), "/s/B");
  CHECK(value_of(*a, index) == 512.5);
  CHECK(value_of(*b, index) == 12.1);
  CHECK(member_links(coll) == std::vector<std::string>{"/s/A", "/s/B"});
  CHECK(supports_expand(json::parse(R"({"ProtocolFeaturesSupported": {"ExpandQuery": {"Levels": true}}})")));
  CHECK_FALSE(supports_expand(json::parse(R"({"ProtocolFeaturesSupported": {}})")));
}

TEST_CASE("legacy Thermal and Power resources") {
  const json::value thermal = json::parse(R"({
    "Temperatures": [{"MemberId": "0", "Name": "Inlet", "ReadingCelsius": 24.5, "UpperThresholdNonCritical": 40,
                      "UpperThresholdCritical": 45, "PhysicalContext": "Intake"},
                     {"MemberId": "1", "Name": "Exhaust", "ReadingCelsius": null}],
    "Fans": [{"MemberId": "Fan0", "Reading": 8400, "ReadingUnits": "RPM"}, {"Name": "Fan1", "Reading": 42, "ReadingUnits": "Percent"}]})");
  auto t = from_legacy_thermal("Tray1", thermal, "/t");
  REQUIRE(t.size() == 4);
  CHECK(t[0].id == "Tray1.temp_0");
  CHECK(t[0].warn_high == 40.0);
  CHECK(t[0].location == "chassis=Tray1,context=Intake");
  CHECK(t[2].id == "Tray1.fan_Fan0");
  CHECK(t[3].unit == "%");
  document_index index;
  index_document("/t", thermal, index);
  CHECK(value_of(t[0], index) == 24.5);
  CHECK_FALSE(value_of(t[1], index));
  CHECK(value_of(t[2], index) == 8400.0);

  const json::value power = json::parse(R"({
    "PowerControl": [{"MemberId": "0", "PowerConsumedWatts": 3250}],
    "Voltages": [{"MemberId": "P12V", "ReadingVolts": 12.05, "LowerThresholdCritical": 10.8}],
    "PowerSupplies": [{"MemberId": "0", "PowerInputWatts": 1700, "PowerOutputWatts": 1620, "LineInputVoltage": 230}]})");
  auto p = from_legacy_power("Tray1", power, "/p");
  REQUIRE(p.size() == 5);
  CHECK(p[1].id == "Tray1.voltage_P12V");
  CHECK(p[1].crit_low == 10.8);
  CHECK(p[2].id == "Tray1.psu_0.input_power");
  index_document("/p", power, index);
  CHECK(value_of(p[0], index) == 3250.0);
  CHECK(value_of(p[4], index) == 230.0);
}

TEST_CASE("ThermalSubsystem metrics and PowerSupply metrics") {
  const json::value metrics = json::parse(R"({"TemperatureReadingsCelsius": [
      {"DeviceName": "Intake", "Reading": 22.5}, {"Reading": 30}]})");
  auto t = from_thermal_metrics("Shelf0", metrics, "/m");
  REQUIRE(t.size() == 2);
  CHECK(t[0].id == "Shelf0.temp_Intake");
  CHECK(t[1].id == "Shelf0.temp_1");
  const json::value psu = json::parse(R"({"InputPowerWatts": {"Reading": 2950}, "OutputPowerWatts": {"Reading": 2860},
                                          "InputVoltage": {"Reading": 230.5}})");
  auto p = from_power_supply_metrics("Shelf0", "PSU3", psu, "/psu3");
  REQUIRE(p.size() == 3);
  CHECK(p[0].id == "Shelf0.psu_PSU3.input_power");
  CHECK(p[0].location == "chassis=Shelf0,psu=PSU3");
  document_index index;
  index_document("/psu3", psu, index);
  CHECK(value_of(p[1], index) == 2860.0);
}
