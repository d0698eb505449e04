// IPMI SDR records: bytes a BMC sent (or the cache file held), anything at
// all. Input: a sequence of records, each a length byte then that many bytes.
// Each is parsed, and the parsed ones are listed as a catalog.
#include <cstdint>
#include <vector>

#include "ipmi_sdr.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<racktel::ipmi::sdr_sensor> sdrs;
  while (size > 0 && sdrs.size() < 64) {
    const std::size_t n = std::min<std::size_t>(data[0], size - 1);
    if (auto s = racktel::ipmi::parse_sdr_record(data + 1, n)) {
      if (s->record.size() != n) __builtin_trap();  // the record kept is the one given
      sdrs.push_back(std::move(*s));
    }
    data += n + 1;
    size -= n + 1;
  }
  const auto catalog = racktel::ipmi::catalog_for("bmc", "", sdrs);
  for (const auto& s : catalog) {
    if (s.sdr >= sdrs.size() || s.id.empty()) __builtin_trap();
  }
  return 0;
}
