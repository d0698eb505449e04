// sysfs attribute names and values, as the hwmon driver reads them.
#include <cstdint>
#include <string_view>

#include "hwmon_tree.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)racktel::hwmon::parse_sysfs_integer(text);
  (void)racktel::hwmon::parse_attribute_name(text);
  return 0;
}
