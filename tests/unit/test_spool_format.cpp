#include <doctest/doctest.h>

#include "spool/spool_format.h"

using namespace racktel::spool_format;

namespace {

std::string segment_with(const std::vector<std::string>& records, std::uint64_t number = 7) {
  std::string s = encode_segment_header({number, 100});
  for (const auto& r : records) s += r;
  return s;
}

std::string batch_record(std::uint64_t seq, std::size_t size = 50) {
  return encode_record(record_type::batch, seq, batch_payload(10, 0xABCD, 1000 + static_cast<std::int64_t>(seq),
                                                              std::string(size, static_cast<char>('a' + seq % 26))));
}

}  // namespace

TEST_CASE("CRC-32C matches the standard check value") {
  CHECK(crc32c("123456789") == 0xE3069283U);
  CHECK(crc32c("1234", "56789") == 0xE3069283U);
}

TEST_CASE("a segment round-trips: header, batches, catalog, acks") {
  const std::string seg = segment_with({batch_record(100), encode_record(record_type::catalog, 0, catalog_payload(0xABCD, "cat")),
                                        batch_record(101), encode_record(record_type::ack, 100, "")});
  const segment_scan scan = scan_segment(seg);
  REQUIRE(scan.header_ok);
  CHECK(scan.header.number == 7);
  CHECK(scan.header.base_sequence == 100);
  REQUIRE(scan.records.size() == 4);
  CHECK(scan.good_end == seg.size());
  CHECK(scan.corrupt_records == 0);
  CHECK(scan.torn_bytes == 0);
  auto b = parse_batch_payload(scan.records[0].payload);
  REQUIRE(b);
  CHECK(b->readings == 10);
  CHECK(b->catalog_version == 0xABCD);
  CHECK(b->time_ms == 1100);
  CHECK(b->data == std::string(50, 'w'));
  CHECK(scan.records[1].type == record_type::catalog);
  CHECK(parse_catalog_payload(scan.records[1].payload)->data == "cat");
  CHECK(scan.records[3].type == record_type::ack);
  CHECK(scan.records[3].sequence == 100);
}

TEST_CASE("a torn tail is reported, and every complete record before it kept") {
  const std::string whole = segment_with({batch_record(1), batch_record(2)});
  for (std::size_t cut = 1; cut < batch_record(2).size(); cut += 7) {
    const std::string torn = whole.substr(0, whole.size() - cut);
    const segment_scan scan = scan_segment(torn);
    CHECK(scan.records.size() == 1);
    CHECK(scan.torn_bytes == batch_record(2).size() - cut);
    CHECK(scan.good_end == segment_header_size + batch_record(1).size());
  }
}

TEST_CASE("a flipped bit in the middle skips that record only") {
  std::string seg = segment_with({batch_record(1), batch_record(2), batch_record(3)});
  const std::size_t second = segment_header_size + batch_record(1).size();
  for (std::size_t at : {second + 2, second + 5, second + 13, second + 21, second + 40}) {
    std::string damaged = seg;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x10);
    const segment_scan scan = scan_segment(damaged);
    CAPTURE(at - second);
    REQUIRE(scan.records.size() == 2);
    CHECK(scan.records[0].sequence == 1);
    CHECK(scan.records[1].sequence == 3);
    CHECK(scan.corrupt_records == 1);
    CHECK(scan.torn_bytes == 0);
  }
}

TEST_CASE("headers that are not ours are refused") {
  CHECK_FALSE(scan_segment("").header_ok);
  CHECK_FALSE(scan_segment(encode_segment_header({1, 1}).substr(0, 20)).header_ok);
  std::string wrong = encode_segment_header({1, 1});
  wrong[0] = 'X';
  CHECK_FALSE(scan_segment(wrong).header_ok);
  std::string future = encode_segment_header({1, 1});
  future[8] = 2;  // format version 2
  CHECK_FALSE(decode_segment_header(future));
}

TEST_CASE("garbage never crashes the scanner") {
  std::string noise;
  std::uint32_t x = 12345;
  for (int i = 0; i < 20000; ++i) {
    x = x * 1103515245 + 12345;
    noise.push_back(static_cast<char>(x >> 16));
  }
  const std::string seg = encode_segment_header({1, 1}) + noise + batch_record(9);
  const segment_scan scan = scan_segment(seg);
  REQUIRE(scan.records.size() == 1);
  CHECK(scan.records[0].sequence == 9);
  CHECK(scan.corrupt_records == 1);
}
