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
  const std::string bytes = encode_catalog(c, header_for(c).boot, 1234, {"thermal", "power"}, {1000, 100});
  auto back = decode_catalog(bytes);
  REQUIRE(back);
  CHECK(back->catalog.version == c.version);
  CHECK(back->catalog.sensors[0].location == c.sensors[0].location);
  CHECK(back->catalog.sensors[0].warn_high == 90.0);
  CHECK_FALSE(back->catalog.sensors[0].crit_high);
  CHECK(back->catalog.sensors[1].crit_low == -5.0);
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
