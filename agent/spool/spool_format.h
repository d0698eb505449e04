// The spool's on-disk format. Pure: bytes in, bytes out, no I/O.
//
// A segment file is a 32-byte header followed by batch and ack records; a
// catalog file holds exactly one catalog record. Formats:
//
//   segment header  magic "RKTLSPL1" | u32 format (1) | u32 header size (32)
//                   | u64 segment number | u64 base sequence (the next batch
//                   sequence when the segment was made; persists the counter)
//   record          u32 magic 0x52545231 ("RTR1") | u32 payload length | u8 type
//                   | u8 flags | u16 reserved | u64 sequence | u32 CRC32C | payload
//
// All integers little-endian. The CRC32C covers the record header from the
// length field to the sequence (so a flipped length is caught) and the payload.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace racktel::spool_format {

inline constexpr std::size_t segment_header_size = 32;
inline constexpr std::size_t record_header_size = 24;
inline constexpr std::uint32_t record_magic = 0x52545231;
inline constexpr std::uint32_t max_payload = 64U << 20U;  // a length beyond this is corruption

enum class record_type : std::uint8_t {
  batch = 1,    // payload: u32 readings | u64 catalog version | i64 time ms | DataBatch bytes
  catalog = 2,  // payload: u64 catalog version | Catalog bytes; sequence 0. Alone in a
                // catalog-<version>.rtc file, not in segments.
  ack = 3,      // no payload; sequence = the acknowledged batch
};

// CRC-32C (Castagnoli) of `first` followed by `second`.
std::uint32_t crc32c(std::string_view first, std::string_view second = {});

struct segment_header {
  std::uint64_t number = 0;
  std::uint64_t base_sequence = 0;
};
std::string encode_segment_header(const segment_header& h);
// nullopt when the bytes are too short or not a racktel segment header.
std::optional<segment_header> decode_segment_header(std::string_view bytes);

std::string encode_record(record_type type, std::uint64_t sequence, std::string_view payload);
std::string batch_payload(std::uint32_t readings, std::uint64_t catalog_version, std::int64_t time_ms,
                          std::string_view batch);
std::string catalog_payload(std::uint64_t version, std::string_view catalog);

struct record {
  record_type type;
  std::uint64_t sequence;
  std::size_t offset;  // of the record header in the segment
  std::size_t size;    // header + payload
  std::string_view payload;
};

struct batch_view {
  std::uint32_t readings;
  std::uint64_t catalog_version;
  std::int64_t time_ms;  // of the batch's first scan
  std::string_view data;
};
std::optional<batch_view> parse_batch_payload(std::string_view payload);
struct catalog_view {
  std::uint64_t version;
  std::string_view data;
};
std::optional<catalog_view> parse_catalog_payload(std::string_view payload);

// What reading a segment found. Records point into the scanned buffer.
struct segment_scan {
  bool header_ok = false;
  segment_header header;
  std::vector<record> records;
  std::size_t good_end = 0;        // end of the last good record: where appending may resume
  std::size_t corrupt_records = 0; // damaged records skipped in the middle
  std::size_t corrupt_bytes = 0;
  std::size_t torn_bytes = 0;      // an incomplete record at the end (a write cut short)
};

// One verified record at the start of `bytes` (a record read back with pread).
std::optional<record> parse_record(std::string_view bytes);

// Scans a whole segment. A damaged record in the middle is skipped by
// searching forward for the next record that verifies; damage that runs to the
// end of the file is a torn tail. Never throws, whatever the bytes.
segment_scan scan_segment(std::string_view bytes);

}  // namespace racktel::spool_format
