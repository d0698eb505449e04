// The spool against real files in a temporary directory.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "spool/group_commit.h"
#include "temp_dir.h"
#include "spool/spool.h"

using namespace racktel;
namespace fs = std::filesystem;

namespace {

using racktel::testing::temp_dir;

spool_options small(const fs::path& dir, std::uint64_t segment = 64 * 1024, std::uint64_t max = 1 << 20) {
  return {(dir / "spool").string(), segment, max};
}

std::string payload_for(std::uint64_t seq, std::size_t size = 2000) {
  return std::string(size, static_cast<char>('A' + seq % 26));
}

void append(spool& s, std::uint64_t first, std::uint64_t last, std::vector<spooled_batch>* dropped = nullptr) {
  std::vector<spooled_batch> ignored;
  for (std::uint64_t seq = first; seq <= last; ++seq) {
    REQUIRE(s.append_batch(seq, 42, 100, 1000 * static_cast<std::int64_t>(seq), payload_for(seq),
                           dropped ? *dropped : ignored));
  }
}

std::vector<fs::path> segment_files(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir / "spool")) {
    if (e.is_regular_file()) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("undelivered batches and the sequence survive a restart") {
  temp_dir t;
  {
    spool s(small(t.path));
    CHECK(s.healthy());
    CHECK(s.next_sequence() == 1);
    s.append_catalog(42, "the catalog");
    append(s, 1, 5);
    s.acknowledge(2);
    s.acknowledge(4);
    s.sync();
    CHECK(s.pending_batches() == 3);
  }
  spool again(small(t.path));
  CHECK(again.next_sequence() == 6);
  auto pending = again.pending();
  REQUIRE(pending.size() == 3);
  CHECK(pending[0].sequence == 1);
  CHECK(pending[1].sequence == 3);
  CHECK(pending[2].sequence == 5);
  CHECK(pending[0].time_ms == 1000);
  CHECK(again.read_batch(3) == payload_for(3));
  CHECK_FALSE(again.read_batch(2));
  CHECK(again.read_catalog(42) == "the catalog");
  CHECK(again.recovery().batches_pending == 3);
  CHECK(again.recovery().readings_pending == 300);
}

TEST_CASE("the sequence persists even when everything was delivered") {
  temp_dir t;
  {
    spool s(small(t.path));
    append(s, 1, 3);
    for (std::uint64_t q = 1; q <= 3; ++q) s.acknowledge(q);
  }
  spool again(small(t.path));
  CHECK(again.pending_batches() == 0);
  CHECK(again.next_sequence() == 4);
}

TEST_CASE("segments rotate and go when fully acknowledged; the catalog is stored once") {
  temp_dir t;
  spool s(small(t.path));
  s.append_catalog(42, std::string(1000, 'c'));
  append(s, 1, 100);  // ~200 KB over 64 KiB segments
  CHECK(s.segment_count() >= 3);
  for (std::uint64_t q = 1; q <= 60; ++q) s.acknowledge(q);
  const std::size_t left = s.segment_count();
  CHECK(left < 4);
  CHECK(s.read_batch(61) == payload_for(61));
  CHECK(s.read_catalog(42) == std::string(1000, 'c'));
  for (std::uint64_t q = 61; q <= 100; ++q) s.acknowledge(q);
  CHECK(s.segment_count() == 1);  // only the active one
  CHECK(s.pending_readings() == 0);
  CHECK(s.read_catalog(42));  // the current catalog stays
}

TEST_CASE("an old catalog is kept while a stored batch refers to it, and not longer") {
  temp_dir t;
  std::vector<spooled_batch> dropped;
  {
    spool s(small(t.path));
    s.append_catalog(1, "first");
    REQUIRE(s.append_batch(1, 1, 10, 1, "a", dropped));
    s.append_catalog(2, "second");
    REQUIRE(s.append_batch(2, 2, 10, 2, "b", dropped));
  }
  spool s(small(t.path));  // after a restart, before anyone set a current catalog
  CHECK(s.read_catalog(1) == "first");
  CHECK(s.read_catalog(2) == "second");
  s.append_catalog(2, "second");
  s.acknowledge(1);
  CHECK_FALSE(s.read_catalog(1));
  CHECK_FALSE(fs::exists(t.path / "spool" / "catalog-0000000000000001.rtc"));
  CHECK(s.read_catalog(2) == "second");
}

TEST_CASE("at the cap the oldest segments are dropped and their batches reported") {
  temp_dir t;
  spool s(small(t.path, 64 * 1024, 192 * 1024));
  std::vector<spooled_batch> dropped;
  append(s, 1, 200, &dropped);  // ~400 KB into a 192 KiB cap
  CHECK(s.bytes() <= 192 * 1024);
  REQUIRE_FALSE(dropped.empty());
  // Oldest first, contiguous from 1.
  for (std::size_t i = 0; i < dropped.size(); ++i) CHECK(dropped[i].sequence == i + 1);
  CHECK(s.pending_batches() + dropped.size() == 200);
  CHECK(s.pending().front().sequence == dropped.size() + 1);
}

TEST_CASE("recovery: a torn tail is cut, a damaged record skipped, the rest delivered") {
  temp_dir t;
  {
    spool s(small(t.path));
    append(s, 1, 6);
  }
  const fs::path seg = segment_files(t.path).back();
  // Flip a bit inside batch 3, and cut batch 6 short.
  std::string bytes;
  {
    std::ifstream in(seg, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::size_t record = 24 + 20 + 2000;
  bytes[32 + 2 * record + 100] ^= 0x01;
  bytes.resize(bytes.size() - 500);
  {
    std::ofstream out(seg, std::ios::binary | std::ios::trunc);
    out << bytes;
  }
  spool s(small(t.path));
  CHECK(s.recovery().corrupt_records == 1);
  CHECK(s.recovery().torn_bytes == record - 500);
  std::vector<std::uint64_t> seqs;
  for (const auto& b : s.pending()) seqs.push_back(b.sequence);
  CHECK(seqs == std::vector<std::uint64_t>{1, 2, 4, 5});
  CHECK(fs::file_size(seg) == 32 + 5 * record);  // truncated at the last good record
  // The torn sequence number is free again: no gap for consumers.
  CHECK(s.next_sequence() == 6);
}

TEST_CASE("recovery: bad headers are quarantined, empty segments removed, foreign files left alone") {
  temp_dir t;
  {
    spool s(small(t.path));
    append(s, 1, 2);
  }
  const fs::path dir = t.path / "spool";
  { std::ofstream(dir / "segment-00000000000000000050.rts") << "short"; }
  { std::ofstream(dir / "segment-00000000000000000051.rts") << std::string(100, 'z'); }
  { std::ofstream(dir / "segment-00000000000000000052.rts"); }
  { std::ofstream(dir / "notes.txt") << "left by a technician"; }
  spool s(small(t.path));
  REQUIRE(s.recovery().quarantined.size() == 2);
  CHECK(s.recovery().quarantined[0] == "segment-00000000000000000050.rts: truncated segment header");
  CHECK(s.recovery().quarantined[1] == "segment-00000000000000000051.rts: not a racktel spool segment (bad header)");
  CHECK(fs::exists(dir / "quarantine" / "segment-00000000000000000050.rts"));
  CHECK(s.recovery().removed == std::vector<std::string>{"segment-00000000000000000052.rts"});
  CHECK(s.recovery().ignored == std::vector<std::string>{"notes.txt"});
  CHECK(s.recovery().quarantined.size() == 2);
  CHECK(fs::exists(dir / "notes.txt"));
  CHECK(s.pending_batches() == 2);
  CHECK(s.healthy());
  // New segments are numbered after every file seen, quarantined ones included.
  CHECK(segment_files(t.path).back().filename() == "segment-00000000000000000053.rts");
}

TEST_CASE("a directory that cannot be used is an error, and retry recovers") {
  temp_dir t;
  { std::ofstream(t.path / "spool") << "a file where the directory should be"; }
  spool s(small(t.path));
  CHECK_FALSE(s.healthy());
  CHECK(s.error().find("cannot create spool directory") != std::string::npos);
  std::vector<spooled_batch> dropped;
  CHECK_FALSE(s.append_batch(1, 1, 1, 1, "x", dropped));
  CHECK_FALSE(s.retry());
  fs::remove(t.path / "spool");
  CHECK(s.retry());
  CHECK(s.healthy());
  CHECK(s.append_batch(1, 1, 1, 1, "x", dropped));
}

TEST_CASE("group commit: at most one fdatasync per interval, at a batch boundary") {
  using namespace std::chrono;
  const steady_clock::time_point t0{seconds(100)};
  const milliseconds interval(1000);
  // A batch right after a sync waits for the rest of the interval.
  sync_decision d = decide_sync(t0 + milliseconds(200), t0, interval);
  CHECK_FALSE(d.now);
  CHECK(d.wait == milliseconds(800));
  // A batch a full interval later syncs at once.
  CHECK(decide_sync(t0 + milliseconds(1000), t0, interval).now);
  CHECK(decide_sync(t0 + milliseconds(5000), t0, interval).now);
  // Batches every 200 ms: one sync per second, whatever the batch rate.
  steady_clock::time_point last = t0;
  int syncs = 0;
  for (int i = 1; i <= 50; ++i) {
    const auto now = t0 + milliseconds(200 * i);
    if (decide_sync(now, last, interval).now) {
      ++syncs;
      last = now;
    }
  }
  CHECK(syncs == 10);
}

TEST_CASE("a failed sync makes the batches since the last good one not durable") {
  temp_dir t;
  bool disk_fails = false;
  spool_options o = small(t.path);
  o.sync_data = [&disk_fails](int fd) { return disk_fails ? (errno = EIO, -1) : ::fdatasync(fd); };
  spool s(o);
  std::vector<spooled_batch> dropped;
  REQUIRE(s.append_batch(1, 1, 10, 1, "one", dropped));
  CHECK(s.sync());
  REQUIRE(s.append_batch(2, 1, 10, 2, "two", dropped));
  REQUIRE(s.append_batch(3, 1, 10, 3, "three", dropped));
  disk_fails = true;
  CHECK_FALSE(s.sync());
  CHECK_FALSE(s.healthy());
  CHECK(s.error().find("fdatasync of") == 0);
  CHECK(s.error().find("Input/output error") != std::string::npos);
  CHECK(s.take_not_durable() == std::vector<std::uint64_t>{2, 3});  // 1 was synced before
  CHECK(s.take_not_durable().empty());
  CHECK_FALSE(s.append_batch(4, 1, 10, 4, "four", dropped));  // unhealthy until retry()
  disk_fails = false;
  CHECK(s.retry());
  REQUIRE(s.append_batch(4, 1, 10, 4, "four", dropped));
  CHECK(s.sync());
  CHECK(s.take_not_durable().empty());
}

TEST_CASE("a failed sync of the segment closed at rotation, or of the directory, is a failed sync too") {
  temp_dir t;
  bool data_fails = false, directory_fails = false;
  spool_options o = small(t.path);  // 64 KiB segments
  o.sync_data = [&data_fails](int fd) { return data_fails ? (errno = EIO, -1) : ::fdatasync(fd); };
  o.sync_directory = [&directory_fails](int fd) { return directory_fails ? (errno = EIO, -1) : ::fsync(fd); };
  spool s(o);
  std::vector<spooled_batch> dropped;
  const std::string big(30 * 1024, 'x');
  REQUIRE(s.append_batch(1, 1, 1, 1, big, dropped));
  REQUIRE(s.append_batch(2, 1, 1, 2, big, dropped));
  data_fails = true;
  CHECK_FALSE(s.append_batch(3, 1, 1, 3, big, dropped));  // needs a new segment: closing the old one fails
  CHECK(s.take_not_durable() == std::vector<std::uint64_t>{1, 2});
  data_fails = false;
  REQUIRE(s.retry());
  REQUIRE(s.append_batch(3, 1, 1, 3, big, dropped));
  directory_fails = true;  // the new segment's directory entry cannot be made durable
  CHECK_FALSE(s.sync());
  CHECK(s.error().find("fsync of the directory") == 0);
  CHECK(s.take_not_durable() == std::vector<std::uint64_t>{3});
}

TEST_CASE("a catalog's temporary file is never written through a symlink") {
  temp_dir t;
  spool s(small(t.path));
  const fs::path victim = t.path / "victim";
  { std::ofstream(victim) << "precious\n"; }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", 0x1234ULL);
  fs::create_symlink(victim, t.path / "spool" / ("catalog-" + std::string(hex) + ".rtc.tmp"));
  CHECK(s.append_catalog(0x1234, "catalog bytes"));
  std::ifstream in(victim);
  std::string text;
  std::getline(in, text);
  CHECK(text == "precious");
  CHECK(s.read_catalog(0x1234) == std::string("catalog bytes"));
}

TEST_CASE("a batch's time past 2038 survives the spool and a restart") {
  temp_dir t;
  const std::int64_t year_2040 = 2'208'988'800'000;
  {
    spool s(small(t.path));
    std::vector<spooled_batch> dropped;
    REQUIRE(s.append_batch(1, 7, 3, year_2040, "batch", dropped));
    s.sync();
  }
  spool again(small(t.path));
  REQUIRE(again.pending().size() == 1);
  CHECK(again.pending()[0].time_ms == year_2040);
  CHECK(again.oldest_pending_time_ms() == year_2040);
}

TEST_CASE("a new segment that cannot be created at rotation: the batch is refused, nothing stored is lost, retry recovers") {
  temp_dir t;
  std::uint64_t stored = 0;
  {
    spool s(small(t.path));
    REQUIRE(segment_files(t.path).size() == 1);
    // The next segment's name is taken by a directory: its creation fails when the active one is full.
    const std::string active = segment_files(t.path)[0].filename().string();
    const std::uint64_t number = std::stoull(active.substr(active.find('-') + 1));
    char next[64];
    std::snprintf(next, sizeof next, "segment-%020llu.rts", static_cast<unsigned long long>(number + 1));
    fs::create_directory(t.path / "spool" / next);
    std::vector<spooled_batch> dropped;
    std::uint64_t seq = 1;
    while (s.append_batch(seq, 42, 100, 1000 * static_cast<std::int64_t>(seq), payload_for(seq), dropped)) ++seq;
    stored = seq - 1;
    REQUIRE(stored >= 20);  // 64 KiB of 2 KB batches, then the rotation failed
    CHECK_FALSE(s.healthy());
    CHECK(s.error().find("cannot create") != std::string::npos);
    CHECK(s.error().find(next) != std::string::npos);
    CHECK(s.pending_batches() == stored);
    // Until the obstacle goes, retrying fails the same way; then the spool is whole again.
    fs::remove(t.path / "spool" / next);
    CHECK(s.retry());
    CHECK(s.healthy());
    CHECK(s.append_batch(seq, 42, 100, 1000 * static_cast<std::int64_t>(seq), payload_for(seq), dropped));
    ++stored;
    CHECK(dropped.empty());
  }
  // Every batch accepted before and after the failure is recovered at the next start.
  spool again(small(t.path));
  CHECK(again.pending_batches() == stored);
  CHECK(again.recovery().corrupt_records == 0);
}
