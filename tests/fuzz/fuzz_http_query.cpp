// Request targets, as a browser or anyone on the network sends them to the
// agent's page (the query string of /api/history).
#include <cstdint>
#include <string_view>

#include "status/page_data.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view target(reinterpret_cast<const char*>(data), size);
  (void)racktel::query_parameter(target, "sensor");
  (void)racktel::query_parameter(target, "");
  return 0;
}
