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

TEST_CASE("resynchronising after damage finds every intact record, including one that ends the file") {
  // Damage in the middle, then records of several sizes; the last ends exactly at the end of the file.
  std::vector<std::string> records;
  for (std::uint64_t seq = 1; seq <= 6; ++seq) records.push_back(batch_record(seq, static_cast<std::size_t>(seq) * 37));
  std::string seg = segment_with(records);
  const std::size_t second = segment_header_size + records[0].size();
  seg[second + record_header_size + 3] ^= 0x40;  // payload of record 2
  std::string third_damaged = seg;
  const std::size_t third = second + records[1].size();
  third_damaged[third + 1] ^= 0x01;  // the magic of record 3, too: two damaged in a row
  const std::vector<std::uint64_t> expected[2] = {{1, 3, 4, 5, 6}, {1, 4, 5, 6}};
  for (int variant = 0; variant < 2; ++variant) {
    const std::string& bytes = variant == 0 ? seg : third_damaged;
    const segment_scan scan = scan_segment(bytes);
    CHECK(scan.torn_bytes == 0);
    CHECK(scan.good_end == bytes.size());
    CHECK(scan.corrupt_records == 1);
    std::vector<std::uint64_t> seqs;
    for (const auto& r : scan.records) seqs.push_back(r.sequence);
    CHECK(seqs == expected[variant]);
  }
  // A candidate that verifies only one byte short of the end is not a record: the tail is torn.
  std::string short_one = seg.substr(0, seg.size() - 1);
  const segment_scan scan = scan_segment(short_one);
  CHECK(scan.torn_bytes == records.back().size() - 1);
  CHECK(scan.records.back().sequence == 5);
}

TEST_CASE("fake record headers cost linear time, not quadratic") {
  // 4 MiB of headers that each claim a payload running to the end of the
  // file, with wrong CRCs: checking each one by its claimed length would take
  // tens of minutes. A real record sits at the end.
  const std::string real = batch_record(9, 100);
  std::string seg = encode_segment_header({1, 1});
  seg.push_back('\0');  // damage: the first record does not start where expected
  const std::size_t total = 4U << 20U;
  while (seg.size() + 24 + real.size() < total) {
    const std::uint32_t claimed = static_cast<std::uint32_t>(total - seg.size() - record_header_size - real.size());
    std::string fake = encode_record(record_type::batch, 1, "");
    for (int i = 0; i < 4; ++i) fake[4 + i] = static_cast<char>((claimed >> (8 * i)) & 0xFFU);
    seg += fake;
  }
  seg += real;
  const segment_scan scan = scan_segment(seg);
  REQUIRE(scan.records.size() == 1);
  CHECK(scan.records[0].sequence == 9);
  CHECK(scan.corrupt_records == 1);
  CHECK(scan.good_end == seg.size());
}
