#include "units.h"

#include <array>
#include <charconv>
#include <cmath>
#include <ctime>
#include <utility>

namespace racktel {
namespace {

// Splits "1.5s" into 1.5 and "s". Rejects empty numbers, signs and trailing junk.
std::optional<std::pair<double, std::string_view>> split_number(std::string_view text) {
  double number = 0;
  const char* begin = text.data();
  const char* end = begin + text.size();
  if (text.empty() || !(text.front() >= '0' && text.front() <= '9')) return std::nullopt;
  auto [ptr, ec] = std::from_chars(begin, end, number);
  if (ec != std::errc() || !std::isfinite(number)) return std::nullopt;
  return std::pair{number, std::string_view(ptr, static_cast<std::size_t>(end - ptr))};
}

}  // namespace

std::optional<milliseconds> parse_duration(std::string_view text) {
  auto parts = split_number(text);
  if (!parts) return std::nullopt;
  static constexpr std::array<std::pair<std::string_view, double>, 5> units{
      {{"ms", 1.0}, {"s", 1e3}, {"m", 60e3}, {"h", 3600e3}, {"d", 86400e3}}};
  for (const auto& [suffix, scale] : units) {
    if (parts->second == suffix) {
      const double ms = parts->first * scale;
      if (ms > 1e12) return std::nullopt;
      return milliseconds(std::llround(ms));
    }
  }
  return std::nullopt;
}

std::optional<std::uint64_t> parse_byte_size(std::string_view text) {
  auto parts = split_number(text);
  if (!parts) return std::nullopt;
  static constexpr std::array<std::pair<std::string_view, double>, 8> units{
      {{"", 1.0}, {"B", 1.0}, {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0},
       {"kB", 1e3}, {"MB", 1e6}, {"GB", 1e9}}};
  for (const auto& [suffix, scale] : units) {
    if (parts->second == suffix) {
      const double bytes = parts->first * scale;
      if (bytes > 1e15) return std::nullopt;
      return static_cast<std::uint64_t>(std::llround(bytes));
    }
  }
  return std::nullopt;
}

std::int64_t unix_now_ms() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string format_duration(milliseconds d) {
  const auto ms = d.count();
  if (ms % 3'600'000 == 0 && ms != 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0 && ms != 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0 && ms != 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string format_time_ms(std::int64_t ms) {
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

}  // namespace racktel
