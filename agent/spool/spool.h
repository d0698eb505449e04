// The disk spool: the single source of truth for what the broker has not yet
// acknowledged. Append-only segment files of batch and acknowledgement
// records under <state_dir>/spool, and one small file per catalog version that
// a stored batch refers to; see spool_format.h for the bytes and
// docs/spool.md for the guarantees.
//
// Runs on the main loop. Every disk error is an error code, recorded and
// reported, never an exception: when the disk refuses (full, read-only,
// failing) the agent keeps sending from memory and retry() tries again.
#pragma once

#include <unistd.h>

#include <chrono>
#include <functional>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/small_files.h"
#include "spool/spool_format.h"

namespace racktel {

struct spool_options {
  std::string dir;
  std::uint64_t segment_bytes = 4ULL << 20U;
  std::uint64_t max_bytes = 64ULL << 20U;
  // How data and directories reach the disk; replaceable so that tests can make them fail.
  sync_function sync_data = ::fdatasync;
  sync_function sync_directory = ::fsync;
};

// A batch in the spool that the broker has not acknowledged.
struct spooled_batch {
  std::uint64_t sequence = 0;
  std::uint64_t catalog_version = 0;
  std::uint32_t readings = 0;
  std::int64_t time_ms = 0;
  std::uint64_t segment = 0;
  std::uint64_t offset = 0;  // of the record
  std::uint32_t size = 0;    // of the record
};

// What start-up recovery found and did.
struct spool_recovery {
  std::size_t segments = 0;
  std::uint64_t batches_pending = 0;
  std::uint64_t readings_pending = 0;
  std::uint64_t corrupt_records = 0;  // skipped in the middle of a segment
  std::uint64_t torn_bytes = 0;       // cut off the end of segments
  std::vector<std::string> quarantined;  // "file: reason"
  std::vector<std::string> ignored;      // files that are not segments
  std::vector<std::string> removed;      // empty segments
};

class spool {
 public:
  explicit spool(spool_options options);  // recovers; never throws
  ~spool();
  spool(const spool&) = delete;
  spool& operator=(const spool&) = delete;

  const spool_recovery& recovery() const { return recovery_; }
  // Undelivered batches found at start, oldest first.
  std::vector<spooled_batch> pending() const;
  // The next batch sequence: persisted, so it continues across restarts.
  std::uint64_t next_sequence() const { return next_sequence_; }

  // Appends a batch. Returns false when it could not be stored (see error()).
  // Batches of segments dropped to stay under max_bytes are added to `dropped`.
  bool append_batch(std::uint64_t sequence, std::uint64_t catalog_version, std::uint32_t readings,
                    std::int64_t time_ms, std::string_view payload, std::vector<spooled_batch>& dropped);
  // Stores the current catalog (once per version, as its own file), so that
  // batches referring to it can be decoded after a restart.
  bool append_catalog(std::uint64_t version, std::string_view payload);
  // The same file written by another thread ahead of time (a reload preparing
  // a large catalog off the main loop): durable (synced, renamed, directory
  // synced) when it returns true. Touches no spool state; `adopt_catalog` then
  // registers it on the loop. `size` receives the file's size.
  static bool write_catalog_file(const spool_options& options, std::uint64_t version, std::string_view payload,
                                 std::uint64_t& size, std::string& error);
  void adopt_catalog(std::uint64_t version, std::uint64_t size);
  // <dir>/catalog-<version as 16 hex digits>.rtc
  static std::string catalog_path(const std::string& dir, std::uint64_t version);
  void acknowledge(std::uint64_t sequence);
  // fdatasync of what was written since the last sync (group commit), and
  // fsync of the directory after files were created or renamed. False when
  // the disk refused: the batches written since the last good sync are then
  // not durable (see take_not_durable) and the spool is unhealthy.
  bool sync();
  // Batches that were appended but whose sync failed: they may not be on disk
  // and must be treated as held in memory only. Clears the list.
  std::vector<std::uint64_t> take_not_durable();
  bool dirty() const { return dirty_; }
  // After an error: tries to write again in a fresh segment. True when the spool works again.
  bool retry();

  std::optional<std::string> read_batch(std::uint64_t sequence) const;  // the DataBatch bytes
  std::optional<std::string> read_catalog(std::uint64_t version) const; // the Catalog bytes

  bool healthy() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  const std::string& dir() const { return options_.dir; }
  std::uint64_t bytes() const;
  std::size_t segment_count() const { return segments_.size(); }
  std::size_t pending_batches() const { return pending_.size(); }
  std::uint64_t pending_readings() const { return pending_readings_; }
  std::optional<std::int64_t> oldest_pending_time_ms() const;
  std::uint64_t syncs() const { return syncs_; }

 private:
  struct segment_file {
    std::string path;
    std::uint64_t bytes = 0;
    std::size_t pending = 0;  // unacknowledged batches in it
  };

  void recover();
  void quarantine(const std::string& path, const std::string& reason);
  bool open_new_segment();
  bool write_record(spool_format::record_type type, std::uint64_t sequence, std::string_view payload,
                    std::uint64_t& offset);
  void fail(const std::string& what, int error_number);
  // A sync failed: what was written since the last good one is not durable.
  void sync_failed(const std::string& what, int error_number);
  void drop_oldest_until_fits(std::uint64_t incoming, std::vector<spooled_batch>& dropped);
  void remove_acknowledged_segments();
  std::optional<std::string> read_record(std::uint64_t segment, std::uint64_t offset, std::uint32_t size) const;
  std::string catalog_path(std::uint64_t version) const { return catalog_path(options_.dir, version); }
  void remove_unreferenced_catalogs();
  void forget(std::map<std::uint64_t, spooled_batch>::iterator pending);

  spool_options options_;
  spool_recovery recovery_;
  std::map<std::uint64_t, segment_file> segments_;  // by segment number
  std::map<std::uint64_t, spooled_batch> pending_;   // by sequence
  std::map<std::uint64_t, std::uint64_t> catalog_files_;  // version -> file size
  std::map<std::uint64_t, std::size_t> catalog_refs_;     // version -> pending batches using it
  std::uint64_t pending_readings_ = 0;
  std::uint64_t next_sequence_ = 1;
  std::uint64_t next_segment_ = 1;
  int fd_ = -1;  // the active (last) segment
  std::uint64_t active_ = 0;
  bool dirty_ = false;
  bool directory_dirty_ = false;  // a segment was created: fsync the directory too
  std::uint64_t syncs_ = 0;
  std::vector<std::uint64_t> unsynced_;     // batches appended since the last good sync
  std::vector<std::uint64_t> not_durable_;  // batches whose sync failed
  std::string error_;
  std::optional<std::uint64_t> current_catalog_;
};

}  // namespace racktel
