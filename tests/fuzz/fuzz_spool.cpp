// The spool's readers, on bytes from the disk: the segment scanner and the
// record and payload parsers in memory, then the spool's recovery on a
// directory holding the bytes as a segment (what the agent does at start and
// `racktel spool inspect` reads).
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string_view>

#include "spool/spool.h"
#include "spool/spool_format.h"

namespace {

const std::filesystem::path& scratch() {
  static const std::filesystem::path dir = [] {
    std::string name = "/tmp/racktel-fuzz-spool-XXXXXX";
    return std::filesystem::path(::mkdtemp(name.data()));
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace racktel::spool_format;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const segment_scan scan = scan_segment(bytes);
  if (scan.good_end > bytes.size()) __builtin_trap();
  for (const record& r : scan.records) {
    if (r.offset + r.size > bytes.size()) __builtin_trap();
    (void)parse_batch_payload(r.payload);
    (void)parse_catalog_payload(r.payload);
  }
  (void)parse_record(bytes);

  // Recovery from a directory: the bytes as segment 1, and as a catalog file.
  const std::filesystem::path dir = scratch() / "spool";
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::filesystem::create_directories(dir, ec);
  std::ofstream(dir / "segment-00000000000000000001.rts", std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  std::ofstream(dir / "catalog-0000000000000001.rtc", std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  racktel::spool_options options{dir.string(), 64 * 1024, 1 << 20};
  options.sync_data = [](int) { return 0; };  // nothing here needs to reach the disk
  options.sync_directory = [](int) { return 0; };
  racktel::spool s(options);
  for (const auto& b : s.pending()) (void)s.read_batch(b.sequence);
  (void)s.read_catalog(1);
  return 0;
}
