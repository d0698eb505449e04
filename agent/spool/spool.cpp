#include "spool.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace racktel {
namespace fs = std::filesystem;
using namespace spool_format;

namespace {

constexpr std::string_view segment_prefix = "segment-";
constexpr std::string_view segment_suffix = ".rts";
constexpr std::string_view catalog_prefix = "catalog-";
constexpr std::string_view catalog_suffix = ".rtc";

std::optional<std::uint64_t> catalog_version_of(const std::string& name) {
  if (!name.starts_with(catalog_prefix) || !name.ends_with(catalog_suffix)) return std::nullopt;
  const std::string_view hex(name.data() + catalog_prefix.size(),
                             name.size() - catalog_prefix.size() - catalog_suffix.size());
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), v, 16);
  if (ec != std::errc() || ptr != hex.data() + hex.size() || hex.size() != 16) return std::nullopt;
  return v;
}

std::string segment_name(std::uint64_t number) {
  std::string digits = std::to_string(number);
  return std::string(segment_prefix) + std::string(20 - std::min<std::size_t>(20, digits.size()), '0') + digits +
         std::string(segment_suffix);
}

std::optional<std::uint64_t> segment_number(const std::string& name) {
  if (!name.starts_with(segment_prefix) || !name.ends_with(segment_suffix)) return std::nullopt;
  const std::string_view digits(name.data() + segment_prefix.size(),
                                name.size() - segment_prefix.size() - segment_suffix.size());
  std::uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || ptr != digits.data() + digits.size() || digits.empty()) return std::nullopt;
  return n;
}

// Reads a whole file; nullopt on an I/O error.
std::optional<std::string> read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return std::nullopt;
  std::string data;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    data.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return data;
}

}  // namespace

spool::spool(spool_options options) : options_(std::move(options)) { recover(); }

spool::~spool() {
  if (fd_ >= 0) {
    sync();
    ::close(fd_);
  }
}

void spool::fail(const std::string& what, int error_number) {
  const bool first = error_.empty();
  error_ = what + ": " + std::strerror(error_number);
  if (first) spdlog::error("spool: {}; readings go to the broker from memory until the disk works again", error_);
}

void spool::sync_failed(const std::string& what, int error_number) {
  fail(what, error_number);
  not_durable_.insert(not_durable_.end(), unsynced_.begin(), unsynced_.end());
  unsynced_.clear();
}

std::vector<std::uint64_t> spool::take_not_durable() {
  std::vector<std::uint64_t> out;
  out.swap(not_durable_);
  return out;
}

void spool::quarantine(const std::string& path, const std::string& reason) {
  const fs::path aside = fs::path(options_.dir) / "quarantine";
  std::error_code ec;
  fs::create_directories(aside, ec);
  const fs::path target = aside / fs::path(path).filename();
  fs::rename(path, target, ec);
  const std::string where = ec ? path + " (could not be moved: " + ec.message() + ")" : target.string();
  recovery_.quarantined.push_back(fs::path(path).filename().string() + ": " + reason);
  spdlog::error("spool: {}: {}; moved aside to {}", path, reason, where);
}

void spool::recover() {
  std::error_code ec;
  fs::create_directories(options_.dir, ec);
  if (ec) {
    fail("cannot create spool directory " + options_.dir, ec.value());
    return;
  }
  std::map<std::uint64_t, std::string> files;
  for (const auto& entry : fs::directory_iterator(options_.dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && name == "quarantine") continue;
    if (auto version = entry.is_regular_file() ? catalog_version_of(name) : std::nullopt) {
      auto data = read_file(entry.path().string());
      auto r = data ? parse_record(*data) : std::nullopt;
      auto c = r ? parse_catalog_payload(r->payload) : std::nullopt;
      if (c && c->version == *version) {
        catalog_files_[*version] = data->size();
      } else {
        quarantine(entry.path().string(), "damaged catalog file");
      }
      continue;
    }
    if (name.ends_with(".tmp")) {  // a catalog write cut short
      fs::remove(entry.path(), ec);
      continue;
    }
    auto number = entry.is_regular_file() ? segment_number(name) : std::nullopt;
    if (!number) {
      recovery_.ignored.push_back(name);
      spdlog::warn("spool: {} is not a spool segment; left alone", entry.path().string());
      continue;
    }
    files[*number] = entry.path().string();
  }
  if (ec) {
    fail("cannot list spool directory " + options_.dir, ec.value());
    return;
  }

  for (const auto& [number, path] : files) {
    next_segment_ = std::max(next_segment_, number + 1);
    auto data = read_file(path);
    if (!data) {
      quarantine(path, std::string("unreadable: ") + std::strerror(errno));
      continue;
    }
    if (data->empty()) {
      fs::remove(path, ec);
      recovery_.removed.push_back(fs::path(path).filename().string());
      continue;
    }
    const segment_scan scan = scan_segment(*data);
    if (!scan.header_ok) {
      quarantine(path, data->size() < segment_header_size ? "truncated segment header"
                                                          : "not a racktel spool segment (bad header)");
      continue;
    }
    if (scan.torn_bytes > 0) {
      // A write cut short by a crash or power loss: keep every complete record before it.
      recovery_.torn_bytes += scan.torn_bytes;
      if (::truncate(path.c_str(), static_cast<off_t>(scan.good_end)) != 0) {
        spdlog::error("spool: cannot truncate the torn tail of {}: {}", path, std::strerror(errno));
      } else {
        spdlog::warn("spool: {}: cut {} bytes of an incomplete record at the end", path, scan.torn_bytes);
      }
    }
    if (scan.corrupt_records > 0) {
      recovery_.corrupt_records += scan.corrupt_records;
      spdlog::error("spool: {}: skipped {} damaged record(s) ({} bytes) that failed their checksum", path,
                    scan.corrupt_records, scan.corrupt_bytes);
    }
    segment_file& segment = segments_[number];
    segment.path = path;
    segment.bytes = scan.good_end;
    next_sequence_ = std::max(next_sequence_, scan.header.base_sequence);
    for (const record& r : scan.records) {
      switch (r.type) {
        case record_type::batch: {
          auto batch = parse_batch_payload(r.payload);
          if (!batch) break;
          if (pending_.contains(r.sequence)) break;  // already known: the older copy stands
          pending_[r.sequence] = {r.sequence, batch->catalog_version, batch->readings, batch->time_ms,
                                  number, r.offset, static_cast<std::uint32_t>(r.size)};
          ++segment.pending;
          ++catalog_refs_[batch->catalog_version];
          pending_readings_ += batch->readings;
          next_sequence_ = std::max(next_sequence_, r.sequence + 1);
          break;
        }
        case record_type::ack: {
          auto it = pending_.find(r.sequence);
          if (it != pending_.end()) forget(it);
          break;
        }
        case record_type::catalog:  // catalogs live in their own files
          break;
      }
    }
  }
  recovery_.segments = segments_.size();
  recovery_.batches_pending = pending_.size();
  recovery_.readings_pending = pending_readings_;
  remove_acknowledged_segments();
  remove_unreferenced_catalogs();
  open_new_segment();
  spdlog::info("spool: {}: {} undelivered batches ({} readings) in {} segment(s); next sequence {}",
               options_.dir, recovery_.batches_pending, recovery_.readings_pending, recovery_.segments,
               next_sequence_);
}

bool spool::open_new_segment() {
  if (fd_ >= 0) {
    // The segment being closed is synced now; if that fails, what it holds is not durable.
    const bool synced = options_.sync_data(fd_) == 0;
    const int e = errno;
    ::close(fd_);
    fd_ = -1;
    if (!synced) {
      sync_failed("fdatasync of " + segments_[active_].path, e);
      return false;
    }
  }
  const std::uint64_t number = next_segment_++;
  const std::string path = (fs::path(options_.dir) / segment_name(number)).string();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) {
    fail("cannot create " + path, errno);
    return false;
  }
  const std::string header = encode_segment_header({number, next_sequence_});
  if (!write_all(fd, header)) {
    const int e = errno;
    ::close(fd);
    ::unlink(path.c_str());
    fail("cannot write " + path, e);
    return false;
  }
  fd_ = fd;
  active_ = number;
  segments_[number] = {path, header.size(), 0};
  dirty_ = true;
  directory_dirty_ = true;
  error_.clear();
  return true;
}

bool spool::write_record(record_type type, std::uint64_t sequence, std::string_view payload, std::uint64_t& offset) {
  if (fd_ < 0) return false;
  const std::string bytes = encode_record(type, sequence, payload);
  segment_file& segment = segments_[active_];
  offset = segment.bytes;
  if (!write_all(fd_, bytes)) {
    const int e = errno;
    // Leave no partial record behind: recovery would have to cut it anyway.
    if (::ftruncate(fd_, static_cast<off_t>(segment.bytes)) != 0) {
      spdlog::warn("spool: cannot trim a partial write in {}", segment.path);
    }
    fail("cannot write to " + segment.path, e);
    return false;
  }
  segment.bytes += bytes.size();
  dirty_ = true;
  return true;
}

void spool::drop_oldest_until_fits(std::uint64_t incoming, std::vector<spooled_batch>& dropped) {
  while (bytes() + incoming > options_.max_bytes && segments_.size() > 1) {
    auto oldest = segments_.begin();
    if (oldest->first == active_) break;
    for (auto it = pending_.begin(); it != pending_.end();) {
      auto next = std::next(it);
      if (it->second.segment == oldest->first) {
        dropped.push_back(it->second);
        forget(it);
      }
      it = next;
    }
    ::unlink(oldest->second.path.c_str());
    segments_.erase(oldest);
  }
  remove_unreferenced_catalogs();
}

bool spool::append_batch(std::uint64_t sequence, std::uint64_t catalog_version, std::uint32_t readings,
                         std::int64_t time_ms, std::string_view payload, std::vector<spooled_batch>& dropped) {
  if (fd_ < 0 || !healthy()) return false;  // retry() brings it back
  const std::string body = batch_payload(readings, catalog_version, time_ms, payload);
  const std::uint64_t size = record_header_size + body.size();
  if (segments_[active_].bytes + size > options_.segment_bytes && segments_[active_].bytes > segment_header_size) {
    if (!open_new_segment()) return false;
  }
  drop_oldest_until_fits(size, dropped);
  std::uint64_t offset = 0;
  if (!write_record(record_type::batch, sequence, body, offset)) return false;
  pending_[sequence] = {sequence, catalog_version, readings, time_ms, active_, offset, static_cast<std::uint32_t>(size)};
  unsynced_.push_back(sequence);
  ++segments_[active_].pending;
  ++catalog_refs_[catalog_version];
  pending_readings_ += readings;
  next_sequence_ = std::max(next_sequence_, sequence + 1);
  return true;
}

std::string spool::catalog_path(const std::string& dir, std::uint64_t version) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(version));
  return (fs::path(dir) / (std::string(catalog_prefix) + hex + std::string(catalog_suffix))).string();
}

namespace {

// Written whole to a fresh temporary name (never through a symlink), synced,
// then renamed: a catalog file is either complete or absent.
bool write_catalog_at(const spool_options& options, std::uint64_t version, std::string_view payload,
                      std::uint64_t& size, std::string& error, int& error_number) {
  const std::string bytes = encode_record(record_type::catalog, 0, catalog_payload(version, payload));
  error_number = write_and_rename(spool::catalog_path(options.dir, version), bytes, &options.sync_data, error);
  if (error_number != 0) return false;
  size = bytes.size();
  return true;
}

}  // namespace

bool spool::write_catalog_file(const spool_options& options, std::uint64_t version, std::string_view payload,
                               std::uint64_t& size, std::string& error) {
  int error_number = 0;
  if (!write_catalog_at(options, version, payload, size, error, error_number)) {
    error += std::string(": ") + std::strerror(error_number);
    return false;
  }
  if (const int e = sync_directory(options.dir, options.sync_directory); e != 0) {
    error = "fsync of the directory " + options.dir + ": " + std::strerror(e);
    return false;
  }
  return true;
}

void spool::adopt_catalog(std::uint64_t version, std::uint64_t size) {
  current_catalog_ = version;
  catalog_files_[version] = size;
}

bool spool::append_catalog(std::uint64_t version, std::string_view payload) {
  current_catalog_ = version;
  if (catalog_files_.contains(version)) return true;
  if (fd_ < 0 || !healthy()) return false;
  std::uint64_t size = 0;
  std::string what;
  int error_number = 0;
  if (!write_catalog_at(options_, version, payload, size, what, error_number)) {
    fail(what, error_number);
    return false;
  }
  catalog_files_[version] = size;
  directory_dirty_ = true;
  return true;
}

void spool::forget(std::map<std::uint64_t, spooled_batch>::iterator it) {
  --segments_[it->second.segment].pending;
  pending_readings_ -= it->second.readings;
  if (--catalog_refs_[it->second.catalog_version] == 0) catalog_refs_.erase(it->second.catalog_version);
  pending_.erase(it);
}

void spool::remove_unreferenced_catalogs() {
  for (auto it = catalog_files_.begin(); it != catalog_files_.end();) {
    if (it->first != current_catalog_ && !catalog_refs_.contains(it->first)) {
      ::unlink(catalog_path(it->first).c_str());
      it = catalog_files_.erase(it);
    } else {
      ++it;
    }
  }
}

void spool::acknowledge(std::uint64_t sequence) {
  auto it = pending_.find(sequence);
  if (it == pending_.end()) return;
  const std::uint64_t version = it->second.catalog_version;
  forget(it);
  if (version != current_catalog_ && !catalog_refs_.contains(version)) remove_unreferenced_catalogs();
  // Not synced on its own: a lost acknowledgement only means a duplicate after a crash.
  std::uint64_t offset = 0;
  if (fd_ >= 0 && healthy()) write_record(record_type::ack, sequence, {}, offset);
  remove_acknowledged_segments();
}

void spool::remove_acknowledged_segments() {
  // Oldest first, and only whole segments: an acknowledgement stored in a later
  // segment must not disappear while the batch it acknowledges is still on disk.
  while (!segments_.empty()) {
    auto oldest = segments_.begin();
    if (oldest->first == active_ || oldest->second.pending > 0) break;
    ::unlink(oldest->second.path.c_str());
    segments_.erase(oldest);
  }
}

bool spool::sync() {
  if (fd_ < 0) return unsynced_.empty();
  if (!dirty_) return true;
  if (options_.sync_data(fd_) != 0) {
    sync_failed("fdatasync of " + segments_[active_].path, errno);
    return false;
  }
  if (directory_dirty_) {
    // A new segment or catalog file is durable only once its directory entry is.
    if (const int e = sync_directory(options_.dir, options_.sync_directory); e != 0) {
      sync_failed("fsync of the directory " + options_.dir, e);
      return false;
    }
    directory_dirty_ = false;
  }
  dirty_ = false;
  unsynced_.clear();
  ++syncs_;
  return true;
}

bool spool::retry() {
  if (healthy() && fd_ >= 0) return true;
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!fs::exists(options_.dir)) {
    std::error_code ec;
    fs::create_directories(options_.dir, ec);
  }
  if (!open_new_segment()) return false;
  spdlog::info("spool: writing to {} again", segments_[active_].path);
  return true;
}

std::optional<std::string> spool::read_record(std::uint64_t segment, std::uint64_t offset, std::uint32_t size) const {
  auto it = segments_.find(segment);
  if (it == segments_.end()) return std::nullopt;
  const int fd = ::open(it->second.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string bytes(size, '\0');
  const ssize_t n = ::pread(fd, bytes.data(), size, static_cast<off_t>(offset));
  ::close(fd);
  if (n != static_cast<ssize_t>(size)) return std::nullopt;
  auto r = parse_record(bytes);
  if (!r) return std::nullopt;
  return std::string(r->payload);
}

std::optional<std::string> spool::read_batch(std::uint64_t sequence) const {
  auto it = pending_.find(sequence);
  if (it == pending_.end()) return std::nullopt;
  auto payload = read_record(it->second.segment, it->second.offset, it->second.size);
  if (!payload) return std::nullopt;
  auto batch = parse_batch_payload(*payload);
  if (!batch) return std::nullopt;
  return std::string(batch->data);
}

std::optional<std::string> spool::read_catalog(std::uint64_t version) const {
  if (!catalog_files_.contains(version)) return std::nullopt;
  auto data = read_file(catalog_path(version));
  auto r = data ? parse_record(*data) : std::nullopt;
  auto c = r ? parse_catalog_payload(r->payload) : std::nullopt;
  if (!c || c->version != version) return std::nullopt;
  return std::string(c->data);
}

std::uint64_t spool::bytes() const {
  std::uint64_t total = 0;
  for (const auto& [n, seg] : segments_) total += seg.bytes;
  for (const auto& [v, size] : catalog_files_) total += size;
  return total;
}

std::vector<spooled_batch> spool::pending() const {
  std::vector<spooled_batch> out;
  out.reserve(pending_.size());
  for (const auto& [seq, b] : pending_) out.push_back(b);
  return out;
}

std::optional<std::int64_t> spool::oldest_pending_time_ms() const {
  if (pending_.empty()) return std::nullopt;
  return pending_.begin()->second.time_ms;
}

}  // namespace racktel
