// `racktel spool inspect DIR`: what is in a spool, read-only, with the agent
// stopped or running. What a technician runs after a controller crashed.
#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "commands.h"
#include "spool/spool_format.h"

namespace racktel::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace spool_format;

const char* type_name(record_type t) {
  switch (t) {
    case record_type::batch: return "batch";
    case record_type::catalog: return "catalog";
    case record_type::ack: return "ack";
  }
  return "unknown";
}

struct segment_summary {
  std::string name;
  std::uintmax_t size = 0;
  std::string problem;  // header damage
  segment_scan scan;
  std::uint64_t batches = 0, acks = 0, catalogs = 0;
  std::uint64_t first_seq = 0, last_seq = 0;
};

}  // namespace

int spool_inspect(const std::string& dir, bool as_json, bool dump) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    std::fprintf(stderr, "racktel spool inspect: %s is not a directory\n", dir.c_str());
    return 1;
  }
  std::vector<fs::path> files;
  std::vector<std::string> foreign;
  std::vector<std::string> catalog_files;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (e.is_regular_file() && name.starts_with("segment-") && name.ends_with(".rts")) {
      files.push_back(e.path());
    } else if (e.is_regular_file() && name.starts_with("catalog-") && name.ends_with(".rtc")) {
      catalog_files.push_back(name);
    } else {
      foreign.push_back(name + (e.is_directory() ? "/" : ""));
    }
  }
  std::sort(files.begin(), files.end());

  std::vector<segment_summary> segments;
  std::vector<std::string> contents;  // keeps the bytes the scans point into
  contents.reserve(files.size());
  std::map<std::uint64_t, std::uint32_t> batches;  // sequence -> readings
  std::set<std::uint64_t> acked;
  bool damage = false;
  for (const fs::path& path : files) {
    segment_summary s;
    s.name = path.filename().string();
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      // Not damage: this user may not read it (the spool is the agent's, mode 0640).
      std::fprintf(stderr, "racktel spool inspect: cannot read %s: %s%s\n", path.c_str(), std::strerror(errno),
                   errno == EACCES ? " (run it as root or as the agent's user)" : "");
      return 1;
    }
    contents.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    const std::string& bytes = contents.back();
    s.size = bytes.size();
    if (!in.good() && !in.eof()) s.problem = "unreadable";
    s.scan = scan_segment(bytes);
    if (bytes.empty()) {
      s.problem = "empty";
    } else if (!s.scan.header_ok) {
      s.problem = bytes.size() < segment_header_size ? "truncated segment header" : "bad segment header";
    }
    if (!s.problem.empty() || s.scan.corrupt_records > 0 || s.scan.torn_bytes > 0) damage = true;
    for (const record& r : s.scan.records) {
      if (r.type == record_type::batch) {
        ++s.batches;
        if (s.first_seq == 0) s.first_seq = r.sequence;
        s.last_seq = r.sequence;
        if (auto b = parse_batch_payload(r.payload)) batches.emplace(r.sequence, b->readings);
      } else if (r.type == record_type::ack) {
        ++s.acks;
        acked.insert(r.sequence);
      } else {
        ++s.catalogs;
      }
    }
    segments.push_back(std::move(s));
  }
  std::uint64_t pending = 0, pending_readings = 0;
  for (const auto& [seq, readings] : batches) {
    if (!acked.contains(seq)) {
      ++pending;
      pending_readings += readings;
    }
  }

  if (dump) {
    for (const segment_summary& s : segments) {
      for (const record& r : s.scan.records) {
        json::object o{{"segment", s.name}, {"offset", r.offset}, {"size", r.size},
                       {"type", type_name(r.type)}, {"sequence", r.sequence}};
        if (r.type == record_type::batch) {
          if (auto b = parse_batch_payload(r.payload)) {
            o["readings"] = b->readings;
            o["catalog_version"] = std::to_string(b->catalog_version);
            o["time_ms"] = b->time_ms;
            o["acknowledged"] = acked.contains(r.sequence);
          }
        } else if (r.type == record_type::catalog) {
          if (auto c = parse_catalog_payload(r.payload)) o["catalog_version"] = std::to_string(c->version);
        }
        std::printf("%s\n", json::serialize(o).c_str());
      }
    }
    return damage ? 2 : 0;
  }

  if (as_json) {
    json::array segs;
    for (const segment_summary& s : segments) {
      segs.push_back(json::object{{"name", s.name},
                                  {"bytes", s.size},
                                  {"problem", s.problem},
                                  {"base_sequence", s.scan.header.base_sequence},
                                  {"batches", s.batches},
                                  {"acks", s.acks},
                                  {"catalogs", s.catalogs},
                                  {"first_sequence", s.first_seq},
                                  {"last_sequence", s.last_seq},
                                  {"corrupt_records", s.scan.corrupt_records},
                                  {"corrupt_bytes", s.scan.corrupt_bytes},
                                  {"torn_bytes", s.scan.torn_bytes}});
    }
    json::object root{{"dir", dir},
                      {"segments", std::move(segs)},
                      {"batches", batches.size()},
                      {"undelivered_batches", pending},
                      {"undelivered_readings", pending_readings},
                      {"first_sequence", batches.empty() ? 0 : batches.begin()->first},
                      {"last_sequence", batches.empty() ? 0 : batches.rbegin()->first},
                      {"damage", damage},
                      {"catalog_files", json::array(catalog_files.begin(), catalog_files.end())},
                      {"other_files", json::array(foreign.begin(), foreign.end())}};
    std::printf("%s\n", json::serialize(root).c_str());
    return damage ? 2 : 0;
  }

  std::printf("spool %s: %zu segment(s), %zu batches (sequences %llu..%llu), %llu undelivered (%llu readings)\n",
              dir.c_str(), segments.size(), batches.size(),
              static_cast<unsigned long long>(batches.empty() ? 0 : batches.begin()->first),
              static_cast<unsigned long long>(batches.empty() ? 0 : batches.rbegin()->first),
              static_cast<unsigned long long>(pending), static_cast<unsigned long long>(pending_readings));
  for (const segment_summary& s : segments) {
    std::printf("  %s  %9llu bytes  ", s.name.c_str(), static_cast<unsigned long long>(s.size));
    if (!s.problem.empty()) {
      std::printf("DAMAGED: %s (the agent moves it to quarantine/ at start)\n", s.problem.c_str());
      continue;
    }
    std::printf("%llu batches", static_cast<unsigned long long>(s.batches));
    if (s.batches > 0) {
      std::printf(" (%llu..%llu)", static_cast<unsigned long long>(s.first_seq), static_cast<unsigned long long>(s.last_seq));
    }
    std::printf(", %llu acks, %llu catalogs", static_cast<unsigned long long>(s.acks), static_cast<unsigned long long>(s.catalogs));
    if (s.scan.corrupt_records > 0) {
      std::printf(", %zu DAMAGED records (%zu bytes, skipped at start)", s.scan.corrupt_records, s.scan.corrupt_bytes);
    }
    if (s.scan.torn_bytes > 0) std::printf(", TORN tail of %zu bytes (cut at start)", s.scan.torn_bytes);
    std::printf("\n");
  }
  for (const auto& f : catalog_files) std::printf("  %s  (the catalog of stored batches)\n", f.c_str());
  for (const auto& f : foreign) std::printf("  %s  (not a segment; ignored)\n", f.c_str());
  std::printf(damage ? "damage found: the agent recovers what is intact when it starts\n" : "no damage\n");
  return damage ? 2 : 0;
}

}  // namespace racktel::cli
