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
  auto p = from_power_supply_metrics("Shelf0", "chassis=Shelf0", "PSU3", psu, "/psu3");
  REQUIRE(p.size() == 3);
  CHECK(p[0].id == "Shelf0.psu_PSU3.input_power");
  CHECK(p[0].location == "chassis=Shelf0,psu=PSU3");
  document_index index;
  index_document("/psu3", psu, index);
  CHECK(value_of(p[1], index) == 2860.0);
}

TEST_CASE("a Sensor without ReadingType takes its kind from ReadingUnits; an unknown unit is kept as it is") {
  const json::value energy = json::parse(R"({"Id": "E", "ReadingUnits": "kW.h", "Reading": 1.5})");
  auto e = from_sensor("C", energy, "/e");
  REQUIRE(e);
  CHECK(e->kind == RACKTEL_KIND_ENERGY);
  CHECK(e->unit == "J");
  document_index index;
  index_document("/e", energy, index);
  CHECK(value_of(*e, index) == doctest::Approx(5.4e6));
  for (const auto& [units, kind] : {std::pair{"Cel", RACKTEL_KIND_TEMPERATURE}, std::pair{"{rev}/min", RACKTEL_KIND_FAN_SPEED},
                                    std::pair{"L/min", RACKTEL_KIND_FLOW}, std::pair{"kPa", RACKTEL_KIND_PRESSURE},
                                    std::pair{"%", RACKTEL_KIND_RATIO}, std::pair{"A", RACKTEL_KIND_CURRENT}}) {
    const json::value s = json::value{{"Id", "x"}, {"ReadingUnits", units}, {"Reading", 1}};
    CHECK(from_sensor("C", s, "/x")->kind == kind);
  }
  const json::value odd = json::parse(R"({"Id": "D", "ReadingUnits": "mm", "Reading": 3})");
  auto d = from_sensor("C", odd, "/d");
  CHECK(d->kind == RACKTEL_KIND_OTHER);
  CHECK(d->unit == "mm");  // the catalog says what the service said
}

TEST_CASE("user-set and fatal thresholds stand in for absent plain ones") {
  const json::value s = json::parse(R"({"Id": "T", "ReadingType": "Temperature", "Reading": 50, "Thresholds": {
      "UpperCautionUser": {"Reading": 80}, "UpperFatal": {"Reading": 105}, "LowerCritical": {"Reading": 5},
      "LowerCriticalUser": {"Reading": 8}, "UpperCritical": {"Reading": null}}})");
  auto d = from_sensor("C", s, "/t");
  CHECK(d->warn_high == 80.0);
  CHECK(d->crit_high == 105.0);
  CHECK(d->crit_low == 5.0);  // the plain one wins when there is one
  const json::value legacy = json::parse(R"({"Temperatures": [{"MemberId": "0", "ReadingCelsius": 30,
      "UpperThresholdFatal": 70}]})");
  CHECK(from_legacy_thermal("C", legacy, "/l")[0].crit_high == 70.0);
}

TEST_CASE("a sensor only for what the resource has") {
  const json::value power = json::parse(R"({"PowerSupplies": [{"MemberId": "0", "PowerInputWatts": 1700}],
      "Voltages": [{"MemberId": "x", "Name": "no reading"}], "PowerControl": [{"MemberId": "0"}]})");
  const auto p = from_legacy_power("T", power, "/p");
  REQUIRE(p.size() == 1);
  CHECK(p[0].id == "T.psu_0.input_power");
  const json::value metrics = json::parse(R"({"InputPowerWatts": {"Reading": 2950}, "EnergykWh": {"Reading": 10},
      "FrequencyHz": {"Reading": 50.02}, "RailVoltage": [{"Reading": 12.1}, {"Reading": 5.02}],
      "RailCurrentAmps": [{"Reading": 150}], "RailPowerWatts": [{"Reading": 1815}]})");
  const auto m = from_power_supply_metrics("Shelf0", "shelf=Shelf0", "PSU1", metrics, "/m");
  std::vector<std::string> ids;
  for (const auto& d : m) ids.push_back(d.id);
  CHECK(ids == std::vector<std::string>{"Shelf0.psu_PSU1.input_power", "Shelf0.psu_PSU1.energy",
                                        "Shelf0.psu_PSU1.frequency", "Shelf0.psu_PSU1.rail0_voltage",
                                        "Shelf0.psu_PSU1.rail1_voltage", "Shelf0.psu_PSU1.rail0_current",
                                        "Shelf0.psu_PSU1.rail0_power"});
  CHECK(m[3].location == "shelf=Shelf0,psu=PSU1,rail=0");
  document_index index;
  index_document("/m", metrics, index);
  CHECK(value_of(m[1], index) == doctest::Approx(3.6e7));
  CHECK(value_of(m[4], index) == doctest::Approx(5.02));
  const json::value fan = json::parse(R"({"Id": "Fan3", "SpeedPercent": {"Reading": 62, "SpeedRPM": 9100}})");
  const auto f = from_fan("Tray0", "Fan3", fan, "/f");
  REQUIRE(f.size() == 2);
  CHECK(f[0].unit == "%");
  CHECK(f[1].id == "Tray0.fan_Fan3.rpm");
  index_document("/f", fan, index);
  CHECK(value_of(f[1], index) == 9100.0);
}

TEST_CASE("rack equipment: circuits, outlets, coolant loops, pumps and leak detectors") {
  const json::value outlet = json::parse(R"({"Id": "A1", "CurrentAmps": {"Reading": 4.2}, "Voltage": {"Reading": 231},
      "PowerWatts": {"Reading": 950}, "EnergykWh": {"Reading": 12.5}})");
  auto o = from_equipment(equipment_part::outlet, "PDU1.outlet_A1", "PDU 1 outlet A1", "pdu=PDU1,outlet=A1", outlet, "/o");
  REQUIRE(o.size() == 4);
  CHECK(o[0].id == "PDU1.outlet_A1.current");
  CHECK(o[3].unit == "J");
  const json::value loop = json::parse(R"({"SupplyTemperatureCelsius": {"Reading": 30.5},
      "FlowLitersPerMinute": {"Reading": 120}, "DeltaPressurekPa": {"Reading": 85}})");
  auto l = from_equipment(equipment_part::coolant_connector, "CDU1.secondary_S1", "CDU 1 secondary S1",
                          "cdu=CDU1,loop=secondary,connector=S1", loop, "/l");
  REQUIRE(l.size() == 3);
  CHECK(l[1].kind == RACKTEL_KIND_FLOW);
  const json::value leak = json::parse(R"({"Id": "Tray3", "DetectorState": "Critical"})");
  auto k = from_equipment(equipment_part::leak_detector, "CDU1.leak_Tray3", "CDU 1 Tray3",
                          "cdu=CDU1,leak_detector=Tray3", leak, "/k");
  REQUIRE(k.size() == 1);
  CHECK(k[0].kind == RACKTEL_KIND_STATE);
  CHECK(k[0].states == "0=ok,1=warning,2=critical");
  document_index index;
  index_document("/k", leak, index);
  CHECK(value_of(k[0], index) == 2.0);
  const json::value odd = json::parse(R"({"DetectorState": "Unknown"})");
  index_document("/k", odd, index);
  CHECK_FALSE(value_of(k[0], index));  // a word it does not know: no reading
  const json::value pump = json::parse(R"({"PumpSpeedPercent": {"Reading": 70}})");
  CHECK(from_equipment(equipment_part::pump, "p", "p", "pump=1", pump, "/p").size() == 1);  // no SpeedRPM: no RPM sensor
}
