// SNMP profiles and answers: a profile file (whoever writes it), then walks
// fed with answers a device made up (anything), the catalog they give and a
// reading of every sensor. Input: the profile text, then (after a NUL) the
// answers: per varbind one byte of length n, n bytes of OID arcs, a type
// byte and a value byte.
#include <cstdint>
#include <string_view>
#include <vector>

#include "snmp_profile.h"

using namespace racktel::snmp;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const std::size_t nul = all.find('\0');
  const std::string_view text = all.substr(0, nul);
  std::string_view device = nul == std::string_view::npos ? std::string_view() : all.substr(nul + 1);
  const auto parsed = parse_profile(text, "fuzz.toml");
  if (!parsed.ok()) return 0;
  const profile& p = parsed.p;
  std::vector<table_walk> walks = walks_for(p, 64);
  // Answers: varbinds under each walk's first requested column, so that they land in rows.
  for (table_walk& w : walks) {
    for (int round = 0; round < 8 && !w.done() && !device.empty(); ++round) {
      const std::vector<oid_path> asked = w.next_request();
      std::vector<varbind> answer;
      while (!device.empty() && answer.size() < asked.size() * 4) {
        const std::size_t n = static_cast<unsigned char>(device[0]) % 6;
        device.remove_prefix(1);
        varbind vb;
        vb.oid = asked[answer.size() % asked.size()];
        if (!vb.oid.empty() && n == 0) vb.oid.pop_back();  // sometimes outside the column
        for (std::size_t i = 0; i < n && !device.empty(); ++i) {
          vb.oid.push_back(static_cast<unsigned char>(device[0]));
          device.remove_prefix(1);
        }
        const unsigned type = device.empty() ? 0 : static_cast<unsigned char>(device[0]) % 5;
        if (!device.empty()) device.remove_prefix(1);
        vb.v.t = static_cast<value::type>(type);
        vb.v.number = device.empty() ? 0 : static_cast<signed char>(device[0]);
        if (!device.empty()) device.remove_prefix(1);
        if (vb.v.t == value::type::text) vb.v.text = std::string(device.substr(0, 3));
        answer.push_back(std::move(vb));
      }
      w.absorb(answer);
    }
  }
  std::vector<value> scalars(p.scalars.size());
  const auto catalog = catalog_for(p, "dev", "", walks);
  for (const catalog_sensor& s : catalog) {
    const reading r = read_sensor(p, s, scalars, walks);
    if (r.status > 4) __builtin_trap();
  }
  (void)shape_of(p, walks);
  return 0;
}
