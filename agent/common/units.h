// Parsing of human-written quantities in the config: durations and byte sizes.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace racktel {

using milliseconds = std::chrono::milliseconds;

// "250ms", "1s", "1.5s", "2m", "1h", "7d" -> milliseconds; nullopt when malformed or negative.
std::optional<milliseconds> parse_duration(std::string_view text);
// "512", "64KiB", "16MiB", "1GiB" (also kB/MB/GB as powers of 1000) -> bytes.
std::optional<std::uint64_t> parse_byte_size(std::string_view text);

std::string format_duration(milliseconds d);

// Wall-clock time, Unix epoch milliseconds: the time base of every message.
std::int64_t unix_now_ms();
// Unix epoch milliseconds as UTC, to the second: "2026-11-28T09:12:00Z".
std::string format_time_ms(std::int64_t ms);

}  // namespace racktel
