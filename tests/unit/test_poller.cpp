// The poller against a real event loop and lane, with a driver written here
// whose reads can be made to fail, drop sensors or hang.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <thread>

#include "common/asio_event_loop.h"
#include "sched/poller.h"

using namespace racktel;

namespace {

enum class behaviour { normal, fail, drop_second, claim_stale, hang };
std::atomic<behaviour> mode{behaviour::normal};
std::atomic<int> hang_ms{0};
std::atomic<int> reads_started{0};

int t_open(const racktel_host*, const racktel_config*, std::uint32_t, void** out) {
  *out = &mode;
  return RACKTEL_DRIVER_OK;
}
void t_close(void*) {}
std::uint32_t t_count(void*) { return 2; }
int t_info(void*, std::uint32_t i, racktel_sensor_info* info) {
  static const char* const ids[] = {"a", "b"};
  info->id = ids[i];
  info->name = ids[i];
  info->unit = "W";
  info->location = "";
  info->resolution = 1.0;
  info->group = 0;
  return RACKTEL_DRIVER_OK;
}
std::uint32_t t_groups(void*) { return 1; }
int t_group(void*, std::uint32_t, racktel_group_info* info) {
  info->name = "all";
  info->default_interval_ms = 0;
  return RACKTEL_DRIVER_OK;
}
int t_read(void*, const racktel_read_request* req, std::uint32_t* written) {
  ++reads_started;
  const behaviour b = mode.load();
  if (b == behaviour::hang) std::this_thread::sleep_for(std::chrono::milliseconds(hang_ms.load()));  // ignores cancel
  if (b == behaviour::fail) return RACKTEL_DRIVER_FAILED;
  req->samples[0] = {0, b == behaviour::claim_stale ? static_cast<std::uint32_t>(RACKTEL_READING_STALE) : 0u, 10.0};
  req->samples[1] = {1, 0, 20.0};
  *written = b == behaviour::drop_second ? 1 : 2;
  return RACKTEL_DRIVER_OK;
}

const racktel_driver test_driver = {sizeof(racktel_driver), RACKTEL_DRIVER_ABI_MAJOR, RACKTEL_DRIVER_ABI_MINOR,
                                    "test", "poller test driver", RACKTEL_DRIVER_MAY_BLOCK,
                                    t_open, t_close, t_count, t_info, t_groups, t_group, t_read, nullptr, nullptr};

struct harness {
  boost::asio::io_context io;
  std::unique_ptr<event_loop> loop = make_asio_event_loop(io);
  lane read_lane{"test"};
  std::vector<instance_scan> scans;
  std::unique_ptr<poller> p;

  harness(int interval_ms, int deadline_ms) {
    static auto doc = std::make_shared<toml::table>();
    driver_config c;
    c.name = "t";
    c.type = "test";
    c.table = doc;
    c.interval = std::chrono::milliseconds(interval_ms);
    c.deadline = std::chrono::milliseconds(deadline_ms);
    auto opened = driver_instance::open(c, loaded_driver{test_driver, nullptr, "built-in"}, 0);
    REQUIRE(opened.instance);
    p = std::make_unique<poller>(*loop, std::move(opened.instance), read_lane,
                                 [this](instance_scan s) { scans.push_back(std::move(s)); });
    p->start();
  }
  // Runs the loop until `done()`; the generous limit only stops a broken test,
  // it is not a timing assertion (a loaded machine may be slow).
  template <typename Predicate>
  void run_until(Predicate done) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!done() && std::chrono::steady_clock::now() < give_up) io.run_one_for(std::chrono::milliseconds(50));
  }
  void run_until_scans(std::size_t n) {
    run_until([&] { return scans.size() >= n; });
  }
};

}  // namespace

TEST_CASE("each tick yields one scan with the driver's values, sorted by sensor") {
  mode = behaviour::normal;
  harness h(50, 40);
  h.run_until_scans(3);
  REQUIRE(h.scans.size() >= 3);
  for (const auto& s : h.scans) {
    REQUIRE(s.samples.size() == 2);
    CHECK(s.samples[0].sensor == 0);
    CHECK(s.samples[0].value == 10.0);
    CHECK(s.samples[1].status == RACKTEL_READING_OK);
    CHECK(s.time_ms % 50 == 0);  // clock-aligned sample times
  }
  CHECK(h.scans[1].time_ms - h.scans[0].time_ms == 50);
  CHECK(h.p->stats()[0].reads >= 3);
}

TEST_CASE("a failed read or a missing sample becomes an error reading") {
  mode = behaviour::fail;
  {
    harness h(50, 40);
    h.run_until_scans(1);
    REQUIRE_FALSE(h.scans.empty());
    CHECK(h.scans[0].samples[0].status == RACKTEL_READING_ERROR);
    CHECK(h.scans[0].samples[1].status == RACKTEL_READING_ERROR);
    CHECK(h.p->stats()[0].driver_failures >= 1);
    // A failed read is not a read, and never "last ok".
    CHECK(h.p->stats()[0].reads == 0);
    CHECK(h.p->stats()[0].last_ok_ms == 0);
    CHECK(h.p->stats()[0].last_poll_ms > 0);
  }
  mode = behaviour::drop_second;
  {
    harness h(50, 40);
    h.run_until_scans(1);
    REQUIRE_FALSE(h.scans.empty());
    CHECK(h.scans[0].samples[0].status == RACKTEL_READING_OK);
    CHECK(h.scans[0].samples[1].status == RACKTEL_READING_ERROR);
  }
  mode = behaviour::claim_stale;
  {
    harness h(50, 40);
    h.run_until_scans(1);
    REQUIRE_FALSE(h.scans.empty());
    CHECK(h.scans[0].samples[0].status == RACKTEL_READING_ERROR);  // stale is the host's to decide
  }
}

TEST_CASE("a hung read times out, later ticks are skipped, and the late result is dropped") {
  mode = behaviour::hang;
  hang_ms = 400;
  reads_started = 0;
  harness h(100, 50);
  h.run_until_scans(4);
  mode = behaviour::normal;  // the next read after the hung one answers
  // Run until the hung read has come back and a good scan followed it.
  h.run_until([&] { return !h.scans.empty() && h.scans.back().samples[0].status == RACKTEL_READING_OK; });
  REQUIRE(h.scans.size() >= 4);
  CHECK(h.scans[0].samples[0].status == RACKTEL_READING_TIMEOUT);
  CHECK(h.scans[1].samples[0].status == RACKTEL_READING_TIMEOUT);
  const group_stats& st = h.p->stats()[0];
  CHECK(st.timeouts >= 1);
  CHECK(st.skipped_ticks >= 2);
  CHECK(st.late_results == 1);
  // Every scan has a distinct tick: no late values were published under an old time.
  for (std::size_t i = 1; i < h.scans.size(); ++i) CHECK(h.scans[i].time_ms > h.scans[i - 1].time_ms);
  CHECK(h.scans.back().samples[0].status == RACKTEL_READING_OK);
  // The lane never ran two reads at once and did not pile up work.
  CHECK(reads_started.load() <= 3);
}

TEST_CASE("ticks the loop slept through are reported as timeouts, never left out") {
  mode = behaviour::normal;
  harness h(100, 80);
  h.run_until_scans(2);
  // Stall the main loop for three and a half ticks, as a long reload would.
  h.loop->post([] { std::this_thread::sleep_for(std::chrono::milliseconds(350)); });
  h.run_until_scans(h.scans.size() + 6);
  REQUIRE(h.scans.size() >= 8);
  for (std::size_t i = 1; i < h.scans.size(); ++i) {
    CHECK(h.scans[i].time_ms - h.scans[i - 1].time_ms == 100);  // contiguous: no tick missing
  }
  const auto timeouts = std::count_if(h.scans.begin(), h.scans.end(), [](const instance_scan& s) {
    return s.samples[0].status == RACKTEL_READING_TIMEOUT;
  });
  CHECK(timeouts >= 2);
  CHECK(h.p->stats()[0].skipped_ticks >= 2);
  CHECK(h.scans.back().samples[0].status == RACKTEL_READING_OK);
}
