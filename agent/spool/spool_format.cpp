#include "spool_format.h"

#include <algorithm>
#include <array>
#include <boost/crc.hpp>
#include <cstring>
#include <map>

namespace racktel::spool_format {
namespace {

constexpr char segment_magic[8] = {'R', 'K', 'T', 'L', 'S', 'P', 'L', '1'};
constexpr std::uint32_t format_version = 1;

template <typename T>
void put(std::string& out, T value) {
  for (std::size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFFU));
}

template <typename T>
T get(std::string_view bytes, std::size_t at) {
  T value = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    value |= static_cast<T>(static_cast<T>(static_cast<unsigned char>(bytes[at + i])) << (8 * i));
  }
  return value;
}

std::uint32_t record_crc(std::string_view header, std::string_view payload) {
  // Length, type, flags, reserved and sequence: bytes 4..20 of the header.
  return crc32c(header.substr(4, 16), payload);
}

bool known_type(std::uint8_t t) { return t >= 1 && t <= 3; }

// A verified record at `at`, or nullopt.
std::optional<record> record_at(std::string_view bytes, std::size_t at) {
  if (bytes.size() - at < record_header_size) return std::nullopt;
  if (get<std::uint32_t>(bytes, at) != record_magic) return std::nullopt;
  const std::uint32_t length = get<std::uint32_t>(bytes, at + 4);
  const auto type = static_cast<std::uint8_t>(bytes[at + 8]);
  if (length > max_payload || !known_type(type)) return std::nullopt;
  if (bytes.size() - at - record_header_size < length) return std::nullopt;
  const std::string_view header = bytes.substr(at, record_header_size);
  const std::string_view payload = bytes.substr(at + record_header_size, length);
  if (get<std::uint32_t>(bytes, at + 20) != record_crc(header, payload)) return std::nullopt;
  return record{static_cast<record_type>(type), get<std::uint64_t>(bytes, at + 12), at,
                record_header_size + length, payload};
}

}  // namespace

std::uint32_t crc32c(std::string_view first, std::string_view second) {
  // CRC-32C (Castagnoli), reflected, as in iSCSI and ext4.
  boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true> crc;
  crc.process_bytes(first.data(), first.size());
  crc.process_bytes(second.data(), second.size());
  return crc.checksum();
}

std::string encode_segment_header(const segment_header& h) {
  std::string out(segment_magic, sizeof segment_magic);
  put<std::uint32_t>(out, format_version);
  put<std::uint32_t>(out, segment_header_size);
  put<std::uint64_t>(out, h.number);
  put<std::uint64_t>(out, h.base_sequence);
  return out;
}

std::optional<segment_header> decode_segment_header(std::string_view bytes) {
  if (bytes.size() < segment_header_size) return std::nullopt;
  if (std::memcmp(bytes.data(), segment_magic, sizeof segment_magic) != 0) return std::nullopt;
  if (get<std::uint32_t>(bytes, 8) != format_version || get<std::uint32_t>(bytes, 12) != segment_header_size) {
    return std::nullopt;
  }
  return segment_header{get<std::uint64_t>(bytes, 16), get<std::uint64_t>(bytes, 24)};
}

std::string encode_record(record_type type, std::uint64_t sequence, std::string_view payload) {
  std::string out;
  out.reserve(record_header_size + payload.size());
  put<std::uint32_t>(out, record_magic);
  put<std::uint32_t>(out, static_cast<std::uint32_t>(payload.size()));
  out.push_back(static_cast<char>(type));
  out.push_back(0);  // flags
  put<std::uint16_t>(out, 0);
  put<std::uint64_t>(out, sequence);
  put<std::uint32_t>(out, 0);  // CRC, filled below
  const std::uint32_t crc = record_crc(out, payload);
  for (std::size_t i = 0; i < 4; ++i) out[20 + i] = static_cast<char>((crc >> (8 * i)) & 0xFFU);
  out.append(payload);
  return out;
}

std::string batch_payload(std::uint32_t readings, std::uint64_t catalog_version, std::int64_t time_ms,
                          std::string_view batch) {
  std::string out;
  put<std::uint32_t>(out, readings);
  put<std::uint64_t>(out, catalog_version);
  put<std::uint64_t>(out, static_cast<std::uint64_t>(time_ms));
  out.append(batch);
  return out;
}

std::string catalog_payload(std::uint64_t version, std::string_view catalog) {
  std::string out;
  put<std::uint64_t>(out, version);
  out.append(catalog);
  return out;
}

std::optional<record> parse_record(std::string_view bytes) { return record_at(bytes, 0); }

std::optional<batch_view> parse_batch_payload(std::string_view payload) {
  if (payload.size() < 20) return std::nullopt;
  return batch_view{get<std::uint32_t>(payload, 0), get<std::uint64_t>(payload, 4),
                    static_cast<std::int64_t>(get<std::uint64_t>(payload, 12)), payload.substr(20)};
}

std::optional<catalog_view> parse_catalog_payload(std::string_view payload) {
  if (payload.size() < 8) return std::nullopt;
  return catalog_view{get<std::uint64_t>(payload, 0), payload.substr(8)};
}

namespace {

// ---- CRC-32C arithmetic, for verifying many candidate records in linear time ----
//
// A record's CRC covers 16 header bytes and its payload. Verifying every
// candidate header found while resynchronising after damage by running the
// CRC over its claimed payload would cost O(n) per candidate, O(n^2) on
// crafted bytes (a 4 MiB segment of fake headers: tens of minutes). Instead,
// one pass computes the CRC register at every position a candidate needs,
// and the CRC of any range follows from two of them: with R(p) the register
// after bytes [0, p) from zero, raw(range [a, b)) = R(b) xor shift(R(a), b - a),
// where shift(x, n) advances x through n zero bytes. shift costs O(log n) with
// the powers of x^(2^k) below. (Reflected polynomial, as the CRC itself.)

constexpr std::uint32_t crc32c_poly_reflected = 0x82F63B78U;

// a * b mod P, bits reflected (bit 31 is x^0).
std::uint32_t multiply_mod(std::uint32_t a, std::uint32_t b) {
  std::uint32_t m = 1U << 31U, p = 0;
  for (;;) {
    if ((a & m) != 0) {
      p ^= b;
      if ((a & (m - 1)) == 0) break;
    }
    m >>= 1U;
    b = (b & 1U) != 0 ? (b >> 1U) ^ crc32c_poly_reflected : b >> 1U;
  }
  return p;
}

// x^(8 * 2^k) mod P for k = 0..63, i.e. the effect of 2^k zero bytes.
const std::array<std::uint32_t, 64>& byte_power_table() {
  static const std::array<std::uint32_t, 64> table = [] {
    std::array<std::uint32_t, 64> t{};
    std::uint32_t p = 1U << 23U;  // x^8 (reflected: bit 31 - 8)
    for (auto& entry : t) {
      entry = p;
      p = multiply_mod(p, p);
    }
    return t;
  }();
  return table;
}

// The register `x` advanced through `bytes` zero bytes.
std::uint32_t shift_zeros(std::uint32_t x, std::uint64_t bytes) {
  const auto& table = byte_power_table();
  for (unsigned k = 0; bytes != 0; ++k, bytes >>= 1U) {
    if ((bytes & 1U) != 0) x = multiply_mod(table[k], x);
  }
  return x;
}

// CRC-32C registers with no final xor: from zero (for ranges), and from all ones (the standard start).
using register_from_zero = boost::crc_optimal<32, 0x1EDC6F41, 0, 0, true, true>;
using register_from_ones = boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0, true, true>;

// Every header in bytes[from, end) that could start a record (magic, known
// type, length within the file), with whether its CRC verifies: O(n + c log n).
std::map<std::size_t, bool> verify_candidates(std::string_view bytes, std::size_t from) {
  std::map<std::size_t, bool> verified;
  // Where each candidate's payload starts and ends; the register is needed at both.
  std::vector<std::pair<std::size_t, std::size_t>> ranges;
  std::vector<std::size_t> at;
  for (std::size_t p = from; p + record_header_size <= bytes.size(); ++p) {
    if (get<std::uint32_t>(bytes, p) != record_magic) continue;
    const std::uint32_t length = get<std::uint32_t>(bytes, p + 4);
    if (length > max_payload || !known_type(static_cast<std::uint8_t>(bytes[p + 8]))) continue;
    if (bytes.size() - p - record_header_size < length) continue;
    verified[p] = false;
    ranges.emplace_back(p + record_header_size, p + record_header_size + length);
    at.push_back(p + record_header_size);
    at.push_back(p + record_header_size + length);
  }
  if (verified.empty()) return verified;
  std::sort(at.begin(), at.end());
  at.erase(std::unique(at.begin(), at.end()), at.end());
  std::map<std::size_t, std::uint32_t> registers;
  register_from_zero running;
  std::size_t done = 0;
  for (std::size_t position : at) {
    running.process_bytes(bytes.data() + done, position - done);
    done = position;
    registers[position] = running.checksum();
  }
  std::size_t i = 0;
  for (auto& [p, ok] : verified) {
    const auto [begin, end] = ranges[i++];
    const std::uint64_t length = end - begin;
    const std::uint32_t payload_raw = registers[end] ^ shift_zeros(registers[begin], length);
    register_from_ones header;
    header.process_bytes(bytes.data() + p + 4, 16);
    // The standard CRC (start and final xor 0xFFFFFFFF) by linearity: the
    // header's register carried through the payload's length, plus the payload's own.
    const std::uint32_t crc = shift_zeros(header.checksum(), length) ^ payload_raw ^ 0xFFFFFFFFU;
    ok = get<std::uint32_t>(bytes, p + 20) == crc;
  }
  return verified;
}

}  // namespace

segment_scan scan_segment(std::string_view bytes) {
  segment_scan scan;
  auto header = decode_segment_header(bytes);
  if (!header) return scan;
  scan.header_ok = true;
  scan.header = *header;
  std::size_t at = segment_header_size;
  scan.good_end = at;
  // Made at the first damage, for the rest of the segment, and reused at every later damage.
  std::optional<std::map<std::size_t, bool>> candidates;
  while (at < bytes.size()) {
    if (auto r = record_at(bytes, at)) {
      scan.records.push_back(*r);
      at += r->size;
      scan.good_end = at;
      continue;
    }
    // Damage: resume at the next record that verifies. None: the rest is a torn tail.
    if (!candidates) candidates = verify_candidates(bytes, at + 1);
    std::optional<std::size_t> next;
    for (auto it = candidates->upper_bound(at); it != candidates->end(); ++it) {
      if (it->second) {
        next = it->first;
        break;
      }
    }
    if (!next) {
      scan.torn_bytes = bytes.size() - at;
      break;
    }
    ++scan.corrupt_records;
    scan.corrupt_bytes += *next - at;
    at = *next;
  }
  return scan;
}

}  // namespace racktel::spool_format
