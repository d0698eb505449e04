#include <doctest/doctest.h>

#include <cmath>

#include "racktel/driver.h"
#include "racktel/v1/racktel.pb.h"
#include "wire/codec.h"

using namespace racktel;

namespace {

sensor_catalog make_catalog(std::size_t n, double resolution = 0.1) {
  sensor_catalog c;
  for (std::size_t i = 0; i < n; ++i) {
    sensor_meta m;
    m.driver = "rack";
    m.id = "s" + std::to_string(i);
    m.resolution = resolution;
    c.sensors.push_back(m);
  }
  std::vector<std::uint32_t> intervals(n, 1000);
  c.version = compute_catalog_version(c.sensors, intervals);
  return c;
}

batch_header header_for(const sensor_catalog& c, std::uint64_t seq = 7) {
  batch_header h;
  h.catalog_version = c.version;
  h.sequence = seq;
  for (std::size_t i = 0; i < h.boot.size(); ++i) h.boot[i] = static_cast<std::uint8_t>(i * 17);
  return h;
}

}  // namespace

TEST_CASE("a batch round-trips with values quantised to each sensor's resolution") {
  sensor_catalog c = make_catalog(6);
  c.sensors[3].resolution = 1.0;
  c.sensors[4].resolution = 0.001;
  std::vector<scan> scans{
      {1'700'000'000'000, {{0, 0, 41.26}, {1, 0, -3.04}, {3, 0, 812.4}, {4, 0, 0.7312}}},
      {1'700'000'000'100, {{3, 0, 815.6}, {4, 0, 0.7299}}},
      {1'700'000'001'000, {{0, 0, 41.31}, {1, 0, -3.0}, {5, 0, 1e6}}},
  };
  const batch_header h = header_for(c);
  const std::string bytes = encode_data_batch(h, scans, c);
  decode_result d = decode_data_batch(bytes, c);
  REQUIRE_MESSAGE(d.batch, d.error);
  CHECK(d.batch->header.sequence == 7);
  CHECK(d.batch->header.boot == h.boot);
  CHECK(d.batch->header.catalog_version == c.version);
  REQUIRE(d.batch->scans.size() == scans.size());
  for (std::size_t s = 0; s < scans.size(); ++s) {
    CHECK(d.batch->scans[s].time_ms == scans[s].time_ms);
    REQUIRE(d.batch->scans[s].readings.size() == scans[s].readings.size());
    for (std::size_t r = 0; r < scans[s].readings.size(); ++r) {
      const reading& in = scans[s].readings[r];
      const reading& out = d.batch->scans[s].readings[r];
      CHECK(out.sensor == in.sensor);
      CHECK(out.status == RACKTEL_READING_OK);
      CHECK(std::fabs(out.value - in.value) <= c.sensors[in.sensor].resolution / 2 + 1e-9);
    }
  }
}

TEST_CASE("non-OK statuses travel explicitly and do not disturb the value chain") {
  sensor_catalog c = make_catalog(3);
  std::vector<scan> scans{
      {1000, {{0, RACKTEL_READING_OK, 50.0}, {1, RACKTEL_READING_ERROR, 0.0}, {2, RACKTEL_READING_OUT_OF_RANGE, 130.0}}},
      {2000, {{0, RACKTEL_READING_TIMEOUT, 0.0}, {1, RACKTEL_READING_STALE, 0.0}, {2, RACKTEL_READING_OK, 99.9}}},
      {3000, {{0, RACKTEL_READING_OK, 50.1}, {1, RACKTEL_READING_OK, 20.0}, {2, RACKTEL_READING_OK, 99.8}}},
  };
  decode_result d = decode_data_batch(encode_data_batch(header_for(c), scans, c), c);
  REQUIRE_MESSAGE(d.batch, d.error);
  const auto& out = d.batch->scans;
  CHECK(out[0].readings[1].status == RACKTEL_READING_ERROR);
  CHECK(out[0].readings[2].status == RACKTEL_READING_OUT_OF_RANGE);
  CHECK(out[0].readings[2].value == doctest::Approx(130.0));
  CHECK(out[1].readings[0].status == RACKTEL_READING_TIMEOUT);
  CHECK(out[1].readings[1].status == RACKTEL_READING_STALE);
  CHECK(out[2].readings[0].value == doctest::Approx(50.1));
  CHECK(out[2].readings[1].value == doctest::Approx(20.0));
  CHECK(out[2].readings[2].value == doctest::Approx(99.8));
}

TEST_CASE("values that cannot be represented are sent as errors") {
  sensor_catalog c = make_catalog(3);
  std::vector<scan> scans{{1000, {{0, 0, std::nan("")}, {1, 0, INFINITY}, {2, 0, 1e300}}}};
  decode_result d = decode_data_batch(encode_data_batch(header_for(c), scans, c), c);
  REQUIRE(d.batch);
  for (const reading& r : d.batch->scans[0].readings) CHECK(r.status == RACKTEL_READING_ERROR);
}

TEST_CASE("sensor indices with gaps are packed as runs") {
  sensor_catalog c = make_catalog(100);
  scan s{5000, {}};
  for (std::uint32_t i : {2u, 3u, 4u, 10u, 11u, 50u, 99u}) s.readings.push_back({i, 0, i * 1.0});
  const std::string bytes = encode_data_batch(header_for(c), {s}, c);
  v1::DataBatch raw;
  REQUIRE(raw.ParseFromString(bytes));
  // (2,3) (5,2) (38,1) (48,1): gaps are counted from the end of the previous run.
  std::vector<std::uint32_t> runs(raw.scans(0).index_runs().begin(), raw.scans(0).index_runs().end());
  CHECK(runs == std::vector<std::uint32_t>{2, 3, 5, 2, 38, 1, 48, 1});
  decode_result d = decode_data_batch(bytes, c);
  REQUIRE(d.batch);
  CHECK(d.batch->scans[0].readings.back().sensor == 99);
  CHECK(d.batch->scans[0].readings.back().value == doctest::Approx(99.0));
}

TEST_CASE("slowly changing readings cost under two bytes each") {
  // 1000 sensors sampled 10 times in a batch, drifting by a few quanta: the
  // shape of the sim rack's power group.
  sensor_catalog c = make_catalog(1000, 1.0);
  std::vector<scan> scans;
  for (int t = 0; t < 10; ++t) {
    scan s{1'700'000'000'000 + t * 100, {}};
    for (std::uint32_t i = 0; i < 1000; ++i) s.readings.push_back({i, 0, 600.0 + i % 50 + t * 3});
    scans.push_back(std::move(s));
  }
  const std::string bytes = encode_data_batch(header_for(c), scans, c);
  const double per_reading = static_cast<double>(bytes.size()) / 10000.0;
  MESSAGE("bytes per reading: " << per_reading);
  CHECK(per_reading < 2.0);
}

TEST_CASE("malformed batches are refused with a reason, never a crash") {
  sensor_catalog c = make_catalog(4);
  CHECK_FALSE(decode_data_batch("\xff\xff\xff garbage", c).batch);

  v1::DataBatch wrong_catalog;
  wrong_catalog.set_catalog_version(c.version + 1);
  auto d = decode_data_batch(wrong_catalog.SerializeAsString(), c);
  CHECK_FALSE(d.batch);
  CHECK(d.error.find("catalog version") != std::string::npos);

  v1::DataBatch beyond;
  beyond.set_catalog_version(c.version);
  auto* s = beyond.add_scans();
  s->add_index_runs(3);
  s->add_index_runs(5);  // indices 3..7 of a 4-sensor catalog
  for (int i = 0; i < 5; ++i) s->add_values(0);
  d = decode_data_batch(beyond.SerializeAsString(), c);
  CHECK_FALSE(d.batch);
  CHECK(d.error.find("beyond the catalog") != std::string::npos);

  v1::DataBatch odd;
  odd.set_catalog_version(c.version);
  odd.add_scans()->add_index_runs(1);
  CHECK_FALSE(decode_data_batch(odd.SerializeAsString(), c).batch);

  v1::DataBatch short_values;
  short_values.set_catalog_version(c.version);
  auto* sv = short_values.add_scans();
  sv->add_index_runs(0);
  sv->add_index_runs(2);
  sv->add_values(1);
  CHECK_FALSE(decode_data_batch(short_values.SerializeAsString(), c).batch);

  v1::DataBatch bad_status;
  bad_status.set_catalog_version(c.version);
  auto* bs = bad_status.add_scans();
  bs->add_index_runs(0);
  bs->add_index_runs(1);
  bs->add_values(1);
  bs->add_status_positions(4);
  bs->add_statuses(v1::READING_STATUS_ERROR);
  CHECK_FALSE(decode_data_batch(bad_status.SerializeAsString(), c).batch);
}

TEST_CASE("the catalog version is a content hash") {
  sensor_catalog a = make_catalog(10);
  sensor_catalog b = make_catalog(10);
  CHECK(a.version == b.version);
  CHECK(a.version != 0);
  b.sensors[4].unit = "W";
  CHECK(compute_catalog_version(b.sensors, std::vector<std::uint32_t>(10, 1000)) != a.version);
  CHECK(compute_catalog_version(a.sensors, std::vector<std::uint32_t>(10, 100)) != a.version);
  CHECK(make_catalog(11).version != a.version);
}

TEST_CASE("catalog and agent state round-trip") {
  sensor_catalog c = make_catalog(2);
  c.sensors[0].location = {{"tray", "3"}, {"chip", "12"}};
  c.sensors[0].warn_high = 90.0;
  c.sensors[1].crit_low = -5.0;
  c.sensors[1].states = {{0, "none"}, {1, "detected"}};
  const std::string bytes = encode_catalog(c, header_for(c).boot, 1234, {"thermal", "power"}, {1000, 100});
  auto back = decode_catalog(bytes);
  REQUIRE(back);
  CHECK(back->catalog.version == c.version);
  CHECK(back->catalog.sensors[0].location == c.sensors[0].location);
  CHECK(back->catalog.sensors[0].warn_high == 90.0);
  CHECK_FALSE(back->catalog.sensors[0].crit_high);
  CHECK(back->catalog.sensors[1].crit_low == -5.0);
  CHECK(back->catalog.sensors[1].states == c.sensors[1].states);
  CHECK(back->catalog.sensors[0].states.empty());
  CHECK(back->interval_ms == std::vector<std::uint32_t>{1000, 100});

  agent_state_info st;
  st.online = false;
  st.reason = "shutdown";
  st.site = "lab";
  st.readings_dropped = 12;
  auto st2 = decode_agent_state(encode_agent_state(st));
  REQUIRE(st2);
  CHECK_FALSE(st2->online);
  CHECK(st2->reason == "shutdown");
  CHECK(st2->readings_dropped == 12);
}

namespace {

// A batch of one scan with the given runs, one zero value per index, and the given status positions.
v1::DataBatch crafted(const sensor_catalog& c, std::vector<std::uint32_t> runs, std::vector<std::uint32_t> positions = {}) {
  v1::DataBatch b;
  b.set_catalog_version(c.version);
  auto* s = b.add_scans();
  std::uint64_t count = 0;
  for (std::size_t k = 0; k < runs.size(); ++k) {
    s->add_index_runs(runs[k]);
    if (k % 2 == 1) count += runs[k];
  }
  for (std::uint64_t i = 0; i < count; ++i) s->add_values(0);
  for (std::uint32_t p : positions) {
    s->add_status_positions(p);
    s->add_statuses(v1::READING_STATUS_ERROR);
  }
  return b;
}

}  // namespace

TEST_CASE("decoding boundaries: the last sensor, the last reading, and one past each") {
  const sensor_catalog c = make_catalog(4);
  // Indices 0..3: exactly the catalog.
  CHECK(decode_data_batch(crafted(c, {0, 4}).SerializeAsString(), c).batch);
  // Index 4 of a 4-sensor catalog: one past the end.
  auto d = decode_data_batch(crafted(c, {4, 1}).SerializeAsString(), c);
  CHECK_FALSE(d.batch);
  CHECK(d.error == "scan 0: index run at 4 of 1 sensors goes beyond the catalog's 4 sensors");
  d = decode_data_batch(crafted(c, {3, 2}).SerializeAsString(), c);
  CHECK(d.error == "scan 0: index run at 3 of 2 sensors goes beyond the catalog's 4 sensors");
  // A start that wraps 64 bits back into range is beyond too.
  d = decode_data_batch(crafted(c, {0, 2, 0xFFFFFFFFu, 1}).SerializeAsString(), c);
  CHECK(d.error.find("goes beyond the catalog") != std::string::npos);

  // Status positions: the last reading of a 3-reading scan, then one past it.
  d = decode_data_batch(crafted(c, {0, 3}, {2}).SerializeAsString(), c);
  REQUIRE(d.batch);
  CHECK(d.batch->scans[0].readings[2].status == RACKTEL_READING_ERROR);
  d = decode_data_batch(crafted(c, {0, 3}, {3}).SerializeAsString(), c);
  CHECK_FALSE(d.batch);
  CHECK(d.error == "scan 0: status position 3 is out of range (3 readings)");

  // More runs than values: refused before anything is allocated for them.
  v1::DataBatch huge;
  huge.set_catalog_version(c.version);
  for (int i = 0; i < 1000; ++i) {
    auto* s = huge.add_scans();
    s->add_index_runs(0);
    s->add_index_runs(4);
  }
  d = decode_data_batch(huge.SerializeAsString(), c);
  CHECK(d.error == "scan 0: value or status counts do not match the sensor indices");
}

TEST_CASE("crafted deltas that overflow 64 bits are malformed, not undefined behaviour") {
  const sensor_catalog c = make_catalog(2);
  v1::DataBatch times;
  times.set_catalog_version(c.version);
  times.add_scans()->set_time_delta_ms(INT64_MAX);
  times.add_scans()->set_time_delta_ms(1);
  auto d = decode_data_batch(times.SerializeAsString(), c);
  CHECK_FALSE(d.batch);
  CHECK(d.error == "scan 1: time_delta_ms overflows the time");
  times.mutable_scans(1)->set_time_delta_ms(0);
  CHECK(decode_data_batch(times.SerializeAsString(), c).batch);  // at the limit: fine

  v1::DataBatch values;
  values.set_catalog_version(c.version);
  for (std::int64_t delta : {INT64_MIN, std::int64_t{-1}}) {
    auto* s = values.add_scans();
    s->add_index_runs(1);
    s->add_index_runs(1);
    s->add_values(delta);
  }
  d = decode_data_batch(values.SerializeAsString(), c);
  CHECK_FALSE(d.batch);
  CHECK(d.error == "scan 1: the value of sensor 1 overflows");
}

TEST_CASE("a catalog from outside is bounded: payload, sensor count, strings, labels") {
  v1::Catalog many;
  many.set_version(9);
  for (int i = 0; i < 101; ++i) many.add_sensors();
  decode_limits limits;
  limits.max_sensors = 100;
  std::string error;
  CHECK_FALSE(decode_catalog(many.SerializeAsString(), limits, &error));
  CHECK(error == "101 sensors is more than the limit of 100");
  many.mutable_sensors()->RemoveLast();
  CHECK(decode_catalog(many.SerializeAsString(), limits, &error));  // exactly at the limit

  limits = {};
  limits.max_string_bytes = 8;
  v1::Catalog long_id;
  long_id.add_sensors()->set_id("123456789");
  CHECK_FALSE(decode_catalog(long_id.SerializeAsString(), limits, &error));
  CHECK(error == "sensor 0: a string of 9 bytes is longer than the limit of 8");
  long_id.mutable_sensors(0)->set_id("12345678");
  CHECK(decode_catalog(long_id.SerializeAsString(), limits));

  limits = {};
  limits.max_labels = 1;
  v1::Catalog labels;
  auto* s = labels.add_sensors();
  s->add_location()->set_key("tray");
  s->add_location()->set_key("chip");
  CHECK_FALSE(decode_catalog(labels.SerializeAsString(), limits, &error));
  CHECK(error == "sensor 0: 2 location labels is more than the limit of 1");

  limits = {};
  limits.max_payload_bytes = 10;
  CHECK_FALSE(decode_catalog(std::string(11, '\0'), limits, &error));
  CHECK(error == "payload of 11 bytes is larger than the limit of 10");
  CHECK_FALSE(decode_catalog("\x22\xff\xff\xff\x0f", {}, &error));  // a length running past the end
  CHECK(error == "not a valid Catalog protobuf");
}

TEST_CASE("a catalog made of per-instance parts is the same catalog, byte for byte") {
  sensor_catalog whole = make_catalog(7);
  whole.sensors[2].location = {{"tray", "3"}, {"chip", "12"}};
  whole.sensors[5].warn_high = 85.0;
  std::vector<std::string> groups{"power", "power", "thermal", "thermal", "status", "status", "status"};
  std::vector<std::uint32_t> intervals{100, 100, 1000, 1000, 1000, 1000, 1000};
  whole.version = compute_catalog_version(whole.sensors, intervals);
  const boot_id boot = header_for(whole).boot;
  auto part = [&](std::size_t from, std::size_t to) {
    return std::make_shared<const catalog_part>(encode_catalog_part(
        {whole.sensors.begin() + from, whole.sensors.begin() + to}, {groups.begin() + from, groups.begin() + to},
        {intervals.begin() + from, intervals.begin() + to}));
  };
  const std::vector<std::shared_ptr<const catalog_part>> parts{part(0, 3), part(3, 3), part(3, 7)};
  CHECK(catalog_version_of(parts) == whole.version);
  CHECK(encode_catalog(whole.version, boot, 1234, parts) == encode_catalog(whole, boot, 1234, groups, intervals));
  auto back = decode_catalog(encode_catalog(whole.version, boot, 1234, parts));
  REQUIRE(back);
  REQUIRE(back->catalog.sensors.size() == 7);
  CHECK(back->catalog.sensors[2].location == whole.sensors[2].location);
  CHECK(back->interval_ms[0] == 100);
}

TEST_CASE("times past 2038 travel intact (64-bit milliseconds, also on 32-bit controllers)") {
  const sensor_catalog c = make_catalog(2);
  const std::int64_t year_2040 = 2'208'988'800'000;  // 2040-01-01T00:00:00Z
  const std::vector<scan> scans{{year_2040, {{0, 0, 1.5}}}, {year_2040 + 100, {{1, 0, 2.5}}}};
  auto d = decode_data_batch(encode_data_batch(header_for(c), scans, c), c);
  REQUIRE(d.batch);
  CHECK(d.batch->scans[0].time_ms == year_2040);
  CHECK(d.batch->scans[1].time_ms == year_2040 + 100);
  agent_state_info s;
  s.start_time_ms = year_2040;
  s.time_ms = year_2040 + 1;
  auto back = decode_agent_state(encode_agent_state(s));
  REQUIRE(back);
  CHECK(back->start_time_ms == year_2040);
}

TEST_CASE("decoder boundaries: the last valid index and position decode, one more is refused for that reason") {
  const sensor_catalog c = make_catalog(4);
  // One scan: `runs` as (gap, length) pairs, one zero value per index, and statuses at `positions`.
  auto batch = [&](std::vector<std::uint32_t> runs, std::vector<std::uint32_t> positions) {
    v1::DataBatch b;
    b.set_catalog_version(c.version);
    auto* s = b.add_scans();
    std::uint32_t values = 0;
    for (std::size_t i = 0; i < runs.size(); ++i) {
      s->add_index_runs(runs[i]);
      if (i % 2 == 1) values += runs[i];
    }
    for (std::uint32_t i = 0; i < values; ++i) s->add_values(0);
    for (std::uint32_t p : positions) {
      s->add_status_positions(p);
      s->add_statuses(v1::READING_STATUS_ERROR);
    }
    return decode_data_batch(b.SerializeAsString(), c);
  };

  // Sensor indices: a run ending at the last sensor decodes; one reaching past it does not.
  auto at_limit = batch({0, 4}, {});
  REQUIRE(at_limit.batch);
  CHECK(at_limit.batch->scans[0].readings.back().sensor == 3);
  auto last_alone = batch({3, 1}, {});
  REQUIRE(last_alone.batch);
  CHECK(last_alone.batch->scans[0].readings[0].sensor == 3);
  for (auto runs : {std::vector<std::uint32_t>{0, 5}, {4, 1}, {3, 2}, {0, 2, 2, 1}}) {
    auto past = batch(runs, {});
    CHECK_FALSE(past.batch);
    CHECK_MESSAGE(past.error.find("goes beyond the catalog's 4 sensors") != std::string::npos, past.error);
  }

  // Status positions index the scan's readings: the last one is valid, the count itself is not.
  auto last_position = batch({0, 2}, {1});
  REQUIRE(last_position.batch);
  CHECK(last_position.batch->scans[0].readings[1].status == RACKTEL_READING_ERROR);
  CHECK(last_position.batch->scans[0].readings[0].status == RACKTEL_READING_OK);
  auto one_past = batch({0, 2}, {2});
  CHECK_FALSE(one_past.batch);
  CHECK(one_past.error == "scan 0: status position 2 is out of range (2 readings)");
}

TEST_CASE("alarm events and the active set round-trip, and garbage is refused") {
  alarm_event e;
  e.sensor = 12;
  e.sensor_key = "rack/chip12.die_temp";
  e.kind = alarm_kind::limit;
  e.severity = alarm_severity::critical;
  e.raised = true;
  e.value = 106.2;
  e.limit = "crit_high";
  e.threshold = 105.0;
  e.rule = "die hot";
  e.time_ms = 1795838785702;
  e.since_ms = 1795838780000;
  const std::string bytes = encode_alarm_event({0xABCDEF0123456789ULL, boot_id{}, 42, e});
  auto back = decode_alarm_event(bytes);
  REQUIRE(back);
  CHECK(back->catalog_version == 0xABCDEF0123456789ULL);
  CHECK(back->sequence == 42);
  const alarm_event& b = back->event;
  CHECK(b.sensor == 12);
  CHECK(b.sensor_key == e.sensor_key);
  CHECK(b.kind == alarm_kind::limit);
  CHECK(b.severity == alarm_severity::critical);
  CHECK(b.raised);
  CHECK(b.value == 106.2);
  CHECK(b.threshold == 105.0);
  CHECK(b.rule == "die hot");
  CHECK(b.time_ms == e.time_ms);
  CHECK(b.since_ms == e.since_ms);

  // A cleared failing alarm of a sensor that has left the catalog: no value, no index.
  alarm_event gone;
  gone.sensor = alarm_event::no_sensor;
  gone.sensor_key = "rack/tray03.leak";
  gone.kind = alarm_kind::failing;
  gone.raised = false;
  gone.limit = "stale";
  auto cleared = decode_alarm_event(encode_alarm_event({1, boot_id{}, 43, gone}));
  REQUIRE(cleared);
  CHECK(cleared->event.sensor == alarm_event::no_sensor);
  CHECK_FALSE(cleared->event.value);
  CHECK_FALSE(cleared->event.threshold);
  CHECK_FALSE(cleared->event.raised);
  CHECK(cleared->event.kind == alarm_kind::failing);

  active_alarms_info set{7, boot_id{}, 1000, {}};
  set.alarms.push_back({3, "rack/chip03.die_temp", alarm_kind::limit, alarm_severity::warning, 95.0, "warn_high", 90.0,
                        "", 900});
  set.alarms.push_back({9, "rack/tray01.leak", alarm_kind::state, alarm_severity::critical, 1.0, "state",
                        std::nullopt, "leaks", 950});
  auto active = decode_active_alarms(encode_active_alarms(set));
  REQUIRE(active);
  REQUIRE(active->alarms.size() == 2);
  CHECK(active->alarms[1].kind == alarm_kind::state);
  CHECK(active->alarms[1].rule == "leaks");
  CHECK_FALSE(active->alarms[1].threshold);
  // More alarms than the reader accepts is refused, at the limit accepted.
  CHECK(decode_active_alarms(encode_active_alarms(set), 2));
  CHECK_FALSE(decode_active_alarms(encode_active_alarms(set), 1));
  CHECK_FALSE(decode_alarm_event("\xff\xff\xff garbage"));
  CHECK_FALSE(decode_active_alarms("\xff\xff\xff garbage"));
}
