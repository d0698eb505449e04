#include <doctest/doctest.h>

#include "common/units.h"

using namespace racktel;
using std::chrono::milliseconds;

TEST_CASE("durations parse with their unit") {
  CHECK(parse_duration("250ms") == milliseconds(250));
  CHECK(parse_duration("1s") == milliseconds(1000));
  CHECK(parse_duration("1.5s") == milliseconds(1500));
  CHECK(parse_duration("2m") == milliseconds(120000));
  CHECK(parse_duration("1h") == milliseconds(3600000));
}

TEST_CASE("malformed durations are rejected") {
  CHECK_FALSE(parse_duration(""));
  CHECK_FALSE(parse_duration("10"));      // no unit: ambiguous
  CHECK_FALSE(parse_duration("-1s"));
  CHECK_FALSE(parse_duration("1 s"));
  CHECK_FALSE(parse_duration("1sec"));
  CHECK_FALSE(parse_duration("s"));
  CHECK_FALSE(parse_duration("1e300h"));  // overflow
}

TEST_CASE("byte sizes parse binary and decimal units") {
  CHECK(parse_byte_size("512") == 512U);
  CHECK(parse_byte_size("64KiB") == 65536U);
  CHECK(parse_byte_size("16MiB") == 16U * 1024 * 1024);
  CHECK(parse_byte_size("1GB") == 1000000000U);
  CHECK_FALSE(parse_byte_size("16 MiB"));
  CHECK_FALSE(parse_byte_size("MiB"));
}

TEST_CASE("durations format back compactly") {
  CHECK(format_duration(milliseconds(100)) == "100ms");
  CHECK(format_duration(milliseconds(2000)) == "2s");
  CHECK(format_duration(milliseconds(120000)) == "2m");
  CHECK(format_duration(milliseconds(1500)) == "1500ms");
}
