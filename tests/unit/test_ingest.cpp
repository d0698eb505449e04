// racktel-ingest's pure parts: topics, catalogs, de-duplication, the waiting
// room, the buffer record, remote-write encoding, alerts and configuration.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>

#include "export/metric_naming.h"
#include "ingest/alerts.h"
#include "ingest/ingest_config.h"
#include "ingest/ingest_metrics.h"
#include "ingest/remote_write.h"
#include "ingest/stream.h"
#include "remote_write_check.pb.h"
#include "wire/codec.h"

using namespace racktel;
using namespace racktel::ingest;

namespace {

sensor_meta sensor(std::string id, std::uint32_t kind, std::string unit, std::vector<std::pair<std::string, std::string>> location,
                   double resolution = 0.1) {
  sensor_meta m;
  m.driver = "sim";
  m.id = std::move(id);
  m.name = m.id;
  m.kind = kind;
  m.unit = std::move(unit);
  m.location = location_labels(location);
  m.resolution = resolution;
  return m;
}

sensor_catalog two_sensor_catalog() {
  sensor_catalog c;
  c.sensors.push_back(sensor("chip0.die", 1, "Cel", {{"tray", "0"}, {"chip", "0"}}));
  c.sensors.push_back(sensor("shelf0.psu1.power", 2, "W", {{"shelf", "0"}, {"psu", "1"}}, 1.0));
  c.version = compute_catalog_version(c.sensors, {1000, 1000});
  return c;
}

std::map<std::string, std::string> labels_of(const racktel::test::prompb::TimeSeries& ts) {
  std::map<std::string, std::string> out;
  for (const auto& l : ts.labels()) out[l.name()] = l.value();
  return out;
}

}  // namespace

TEST_CASE("metric names follow the kind and the unit; location keys become label names") {
  CHECK(metric_name(sensor("a", 1, "Cel", {})) == "racktel_temperature_celsius");
  CHECK(metric_name(sensor("a", 2, "W", {})) == "racktel_power_watts");
  CHECK(metric_name(sensor("a", 6, "L/min", {})) == "racktel_flow_liters_per_minute");
  CHECK(metric_name(sensor("a", 7, "kPa", {})) == "racktel_pressure_kilopascals");
  CHECK(metric_name(sensor("a", 8, "RPM", {})) == "racktel_fan_speed_rpm");
  CHECK(metric_name(sensor("a", 10, "", {})) == "racktel_state");
  CHECK(metric_name(sensor("a", 0, "furlong/fortnight", {})) == "racktel_other_furlong_per_fortnight");
  CHECK(location_label_name("tray") == "tray");
  CHECK(location_label_name("rack") == "location_rack");
  CHECK(location_label_name("9-lives") == "_9_lives");
  const auto labels = series_labels(sensor("chip0.die", 1, "Cel", {{"tray", "0"}, {"chip", "0"}, {"site", "x"}}), "s1", "r1");
  CHECK(labels == label_list{{"chip", "0"}, {"driver", "sim"}, {"location_site", "x"}, {"rack", "r1"},
                             {"sensor", "chip0.die"}, {"site", "s1"}, {"tray", "0"}});
}

TEST_CASE("a batch becomes a remote-write request that a stock decoder reads back exactly") {
  const sensor_catalog catalog = two_sensor_catalog();
  const catalog_series series(catalog);
  const rack_labels rack("lab", "r07");
  decoded_batch batch;
  // Two scans, given out of time order: each series' samples come out in time order.
  batch.scans.push_back({2000, {{0, 0, 61.5}, {1, 1, 0}}});           // psu: ERROR
  batch.scans.push_back({1000, {{0, 0, 60.25}, {1, 0, 1234}}});
  batch.scans.push_back({3000, {{0, 4, 0}, {1, 3, 9999}}});            // die: STALE; psu: OUT_OF_RANGE
  write_request_builder builder;
  const sample_counts counts = builder.add(batch, series, rack);
  CHECK(counts.values == 4);         // 60.25, 61.5, 1234, 9999
  CHECK(counts.stale_markers == 1);
  CHECK(counts.statuses == 3);       // stale, error, out of range

  std::string raw;
  REQUIRE(snappy_uncompress(builder.take_compressed(), raw));
  CHECK(builder.empty());
  racktel::test::prompb::WriteRequest request;
  REQUIRE(request.ParseFromString(raw));
  REQUIRE(request.timeseries_size() == 4);

  const auto& die = request.timeseries(0);
  CHECK(labels_of(die) == std::map<std::string, std::string>{{"__name__", "racktel_temperature_celsius"}, {"chip", "0"},
                                                           {"driver", "sim"}, {"rack", "r07"}, {"sensor", "chip0.die"},
                                                           {"site", "lab"}, {"tray", "0"}});
  // Labels sorted by name, as remote write requires.
  for (int i = 1; i < die.labels_size(); ++i) CHECK(die.labels(i - 1).name() < die.labels(i).name());
  REQUIRE(die.samples_size() == 3);
  CHECK(die.samples(0).timestamp() == 1000);
  CHECK(die.samples(0).value() == 60.25);
  CHECK(die.samples(1).timestamp() == 2000);
  CHECK(die.samples(1).value() == 61.5);
  CHECK(die.samples(2).timestamp() == 3000);
  CHECK(std::bit_cast<std::uint64_t>(die.samples(2).value()) == stale_nan_bits);

  const auto& die_status = request.timeseries(1);
  CHECK(labels_of(die_status)["__name__"] == "racktel_reading_status");
  CHECK(labels_of(die_status)["sensor"] == "chip0.die");
  REQUIRE(die_status.samples_size() == 1);
  CHECK(die_status.samples(0).value() == 4);

  const auto& psu = request.timeseries(2);
  CHECK(labels_of(psu)["__name__"] == "racktel_power_watts");
  CHECK(labels_of(psu)["psu"] == "1");
  REQUIRE(psu.samples_size() == 2);  // no value for the ERROR reading
  CHECK(psu.samples(0).value() == 1234);
  CHECK(psu.samples(1).value() == 9999);
  const auto& psu_status = request.timeseries(3);
  REQUIRE(psu_status.samples_size() == 2);
  CHECK(psu_status.samples(0).timestamp() == 2000);
  CHECK(psu_status.samples(0).value() == 1);
  CHECK(psu_status.samples(1).value() == 3);
}

TEST_CASE("a real encoded batch round-trips: codec -> decode -> remote write") {
  const sensor_catalog catalog = two_sensor_catalog();
  batch_header header;
  header.catalog_version = catalog.version;
  header.sequence = 7;
  std::vector<scan> scans{{1700000000000, {{0, 0, 55.3}, {1, 0, 812}}}};
  const std::string bytes = encode_data_batch(header, scans, catalog);
  const auto decoded = decode_data_batch(bytes, catalog);
  REQUIRE(decoded.batch);
  write_request_builder builder;
  builder.add(*decoded.batch, catalog_series(catalog), rack_labels("s", "r"));
  racktel::test::prompb::WriteRequest request;
  REQUIRE(request.ParseFromString(builder.body()));
  REQUIRE(request.timeseries_size() == 2);
  CHECK(request.timeseries(0).samples(0).value() == doctest::Approx(55.3));
  CHECK(request.timeseries(0).samples(0).timestamp() == 1700000000000);
}

TEST_CASE("stream topics") {
  auto t = parse_stream_topic("racktel/v1/lab/r07/data");
  REQUIRE(t);
  CHECK(t->kind == topic_kind::data);
  CHECK(t->rack_key() == "lab/r07");
  CHECK(parse_stream_topic("racktel/v1/lab/r07/alarms/active")->kind == topic_kind::alarms_active);
  CHECK(parse_stream_topic("racktel/v1/lab/r07/alarms")->kind == topic_kind::other);
  CHECK_FALSE(parse_stream_topic("racktel/v1/lab"));
  CHECK_FALSE(parse_stream_topic("racktel/v1//r07/data"));
  CHECK_FALSE(parse_stream_topic("other/v1/lab/r07/data"));
}

TEST_CASE("the dedup window drops repeats, fills backlog gaps and stays bounded") {
  dedup_window window(3, std::chrono::minutes(1));
  boot_id boot{};
  boot[0] = 1;
  CHECK_FALSE(window.seen("s/r", boot, 10, 0));
  CHECK_FALSE(window.seen("s/r", boot, 11, 0));
  CHECK(window.seen("s/r", boot, 10, 0));
  CHECK(window.seen("s/r", boot, 11, 0));
  CHECK_FALSE(window.seen("s/r", boot, 5, 0));   // backlog below
  CHECK_FALSE(window.seen("s/r", boot, 7, 0));
  CHECK_FALSE(window.seen("s/r", boot, 6, 0));   // joins 5 and 7
  CHECK(window.seen("s/r", boot, 6, 0));
  CHECK_FALSE(window.seen("s/r2", boot, 10, 0)); // another rack
  boot_id other = boot;
  other[0] = 2;
  CHECK_FALSE(window.seen("s/r", other, 10, 0)); // another run of the agent
  // Ranges: [5,7], [10,11]; two more gaps push the oldest range out.
  CHECK_FALSE(window.seen("s/r", boot, 20, 0));
  CHECK_FALSE(window.seen("s/r", boot, 30, 0));
  CHECK_FALSE(window.seen("s/r", boot, 6, 0));   // forgotten: let through
  window.forget_idle(120000);
  CHECK(window.runs() == 0);
}

TEST_CASE("the waiting room releases by catalog, expires and pushes out the oldest") {
  waiting_room room(2, std::chrono::seconds(10));
  CHECK_FALSE(room.add(0xA, 1, 0));
  CHECK_FALSE(room.add(0xB, 2, 1000));
  CHECK(room.add(0xA, 3, 2000) == std::optional<std::uint64_t>(1));
  CHECK(room.release(0xA) == std::vector<std::uint64_t>{3});
  CHECK(room.size() == 1);
  CHECK(room.expire(10999).empty());
  CHECK(room.expire(11000) == std::vector<std::uint64_t>{2});
}

TEST_CASE("buffer records") {
  const std::string bytes = encode_buffer_record("lab", "r07", std::string("\x08\x01", 2));
  auto r = decode_buffer_record(bytes);
  REQUIRE(r);
  CHECK(r->site == "lab");
  CHECK(r->rack == "r07");
  CHECK(r->batch == std::string("\x08\x01", 2));
  std::string why;
  CHECK_FALSE(decode_buffer_record("", &why));
  CHECK_FALSE(decode_buffer_record(std::string("\x01\x05la", 4), &why));
  CHECK(why.find("runs past") != std::string::npos);
  CHECK_FALSE(decode_buffer_record(std::string("\x02\x01s\x01r", 5), &why));
}

TEST_CASE("the catalog cache decodes a version once and forgets the least recently used") {
  const sensor_catalog catalog = two_sensor_catalog();
  const std::string bytes = encode_catalog(catalog, boot_id{}, 0, {"thermal", "power"}, {1000, 1000});
  CHECK(peek_catalog_version(bytes) == catalog.version);
  catalog_cache cache(1);
  auto added = cache.add(bytes, {});
  CHECK(added.is_new);
  CHECK(added.version == catalog.version);
  CHECK_FALSE(cache.add(bytes, {}).is_new);
  REQUIRE(cache.find(catalog.version));
  CHECK(cache.find(catalog.version)->decoded.catalog.sensors.size() == 2);
  CHECK_FALSE(cache.add("garbage", {}).error.empty());
  sensor_catalog other = catalog;
  other.sensors.pop_back();
  other.version = compute_catalog_version(other.sensors, {1000});
  CHECK(cache.add(encode_catalog(other, boot_id{}, 0, {"thermal"}, {1000}), {}).is_new);
  CHECK(cache.size() == 1);
  CHECK_FALSE(cache.contains(catalog.version));
}

TEST_CASE("active alarms become alerts; a cleared alarm is resolved; maintenance is not paged") {
  const sensor_catalog catalog = two_sensor_catalog();
  known_catalog known(decoded_catalog{catalog, {1000, 1000}}, "");
  stream_topic rack{topic_kind::alarms_active, "lab", "r07"};
  alert_book book(std::chrono::seconds(60));
  active_alarms_info set;
  set.catalog_version = catalog.version;
  active_alarm hot;
  hot.sensor = 0;
  hot.sensor_key = "sim/chip0.die";
  hot.severity = alarm_severity::critical;
  hot.value = 96.5;
  hot.limit = "crit_high";
  hot.threshold = 95;
  hot.since_ms = 1000;
  set.alarms.push_back(hot);
  active_alarm suppressed = hot;
  suppressed.sensor = 1;
  suppressed.sensor_key = "sim/shelf0.psu1.power";
  suppressed.maintenance = 3;
  set.alarms.push_back(suppressed);
  book.set_alarms(rack, set, &known, 5000);
  auto due = book.due(5000);
  REQUIRE(due.size() == 1);
  const auto& labels = due[0].labels;
  auto has = [&](const std::string& k, const std::string& v) {
    return std::find(labels.begin(), labels.end(), std::pair<std::string, std::string>{k, v}) != labels.end();
  };
  CHECK(has("alertname", "RacktelAlarm"));
  CHECK(has("severity", "critical"));
  CHECK(has("sensor", "chip0.die"));
  CHECK(has("tray", "0"));
  CHECK(has("site", "lab"));
  CHECK(due[0].starts_ms == 1000);
  CHECK_FALSE(due[0].ends_ms);
  CHECK(book.due(6000).empty());           // nothing changed, not time to resend
  CHECK(book.due(65000).size() == 1);       // resent while active
  set.alarms.clear();
  book.set_alarms(rack, set, &known, 70000);
  due = book.due(70000);
  REQUIRE(due.size() == 1);
  CHECK(due[0].ends_ms == 70000);
  const std::string json = book.to_json(due, 70000);
  CHECK(json.find("\"endsAt\":\"1970-01-01T00:01:10.000Z\"") != std::string::npos);
  CHECK(book.firing() == 0);
}

TEST_CASE("a rack whose connection is lost is RackTelemetryLost until it is back") {
  alert_book book;
  stream_topic rack{topic_kind::state, "lab", "r07"};
  agent_state_info state;
  state.online = false;
  state.reason = "connection lost";
  book.set_state(rack, state, 1000);
  auto due = book.due(1000);
  REQUIRE(due.size() == 1);
  CHECK(due[0].labels.front() == std::pair<std::string, std::string>{"alertname", "RackTelemetryLost"});
  state.online = true;
  state.reason.clear();
  book.set_state(rack, state, 2000);
  due = book.due(2000);
  REQUIRE(due.size() == 1);
  CHECK(due[0].ends_ms == 2000);
  state.online = false;
  state.reason = "shutdown";  // a clean stop is not a lost rack
  book.set_state(rack, state, 3000);
  CHECK(book.due(3000).empty());
}

namespace {
const char* const good_config = R"([ingest]
instance = "i1"
state_dir = "/tmp/racktel-ingest-test"
[mqtt]
brokers = ["tcp://127.0.0.1:1883"]
[remote_write]
endpoints = ["http://127.0.0.1:9090/api/v1/write"]
delay = "200ms"
[alertmanager]
urls = ["http://127.0.0.1:9093"]
[http]
listen = ["127.0.0.1:9464", "[::1]:0"]
)";
}

TEST_CASE("the ingest configuration is validated with file:line:column") {
  auto r = parse_ingest_config(good_config, "ingest.toml");
  REQUIRE(r.ok());
  CHECK(r.config->mqtt.client_id == "racktel-ingest-i1");
  CHECK(r.config->shared_group == "racktel-ingest");
  CHECK(r.config->write_delay == std::chrono::milliseconds(200));
  CHECK(r.config->listen.size() == 2);

  std::string text = good_config;
  text.replace(text.find("delay"), 5, "delai");
  r = parse_ingest_config(text, "ingest.toml");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].to_string().starts_with("ingest.toml:8:1: unknown key \"delai\""));

  text = good_config;
  text.replace(text.find("http://127.0.0.1:9090"), 7, "ftp://");
  r = parse_ingest_config(text, "ingest.toml");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].line == 7);

  text = good_config;
  text.replace(text.find("[remote_write]"), 14, "[input]\nshared_group = \"g\"\n[remote_write]");
  text.replace(text.find("brokers"), 7, "protocol = \"3.1.1\"\nbrokers");
  r = parse_ingest_config(text, "ingest.toml");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].message.find("no shared subscriptions") != std::string::npos);
}

TEST_CASE("http URLs") {
  std::string why;
  auto u = parse_http_url("https://[::1]:9443/api/v1/write", why);
  REQUIRE(u);
  CHECK(u->tls);
  CHECK(u->host == "::1");
  CHECK(u->port == "9443");
  CHECK(u->target == "/api/v1/write");
  u = parse_http_url("http://vm.example", why);
  REQUIRE(u);
  CHECK(u->port == "80");
  CHECK(u->target == "/");
  CHECK_FALSE(parse_http_url("http://host:99999/", why));
  CHECK_FALSE(parse_http_url("host:80", why));
}

TEST_CASE("the /metrics page carries every family once") {
  ingest_figures f;
  f.endpoints.push_back({"http://127.0.0.1:9090/api/v1/write"});
  f.endpoints[0].observe(0.02);
  const std::string page = render_metrics(f);
  CHECK(page.find("racktel_ingest_remote_write_duration_seconds_bucket{endpoint=\"http://127.0.0.1:9090/api/v1/write\",le=\"0.025\"} 1") !=
        std::string::npos);
  CHECK(page.find("# TYPE racktel_ingest_readings_total counter") != std::string::npos);
}

TEST_CASE("an endpoint's answer: accepted, refused for good, or retried") {
  CHECK(classify_write_response(204, "") == write_outcome::accepted);
  CHECK(classify_write_response(400, "out of order sample") == write_outcome::refused);
  CHECK(classify_write_response(429, "slow down") == write_outcome::retry);
  CHECK(classify_write_response(503, "") == write_outcome::retry);
  CHECK(classify_write_response(0, "") == write_outcome::retry);
  // Prometheus 2.42: a sample beyond the out-of-order window is a 500.
  CHECK(classify_write_response(500, "too old sample\n") == write_outcome::refused);
}
