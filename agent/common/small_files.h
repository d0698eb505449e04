// Files replaced whole, never half-written: the spool's catalog files and the
// agent's small state files (<state_dir>/active-alarms, maintenance). And a
// bounded read of such a file.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace racktel {

// How data and directories reach the disk; replaceable so that tests can make them fail.
using sync_function = std::function<int(int fd)>;

// Writes every byte of `data` to `fd`, retrying on EINTR. False (errno set) on an error.
bool write_all(int fd, std::string_view data);

// Writes `bytes` to path.tmp, syncs it with `sync_data` (when given) and
// renames it over `path`, so that a reader (or the next start) sees the old
// file or the new one, never a mix. The directory entry is not synced: see
// sync_directory. Returns 0, or the errno of what failed with `error` saying what.
int write_and_rename(const std::string& path, std::string_view bytes, const sync_function* sync_data,
                     std::string& error);

// Syncs a directory, so that files created or renamed in it survive a power
// loss. Returns 0 or the errno.
int sync_directory(const std::string& dir, const sync_function& sync);

// write_and_rename, then (when `durable`) the file and its directory synced,
// so a power loss right after keeps the new file. False with `error` set
// ("cannot write PATH: REASON") when the disk refused.
bool replace_file(const std::string& path, std::string_view bytes, bool durable, std::string& error);

// The whole file; nullopt when it does not exist (error empty), cannot be
// read, or is larger than `max_bytes` (error set).
std::optional<std::string> read_small_file(const std::string& path, std::size_t max_bytes, std::string& error);

}  // namespace racktel
