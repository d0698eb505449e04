// The agent's small state files (<state_dir>/active-alarms, maintenance):
// replaced whole, never half-written, and read with a bound.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace racktel {

// Writes `bytes` to path.tmp and renames it over `path`, so that a reader (or
// the next start) sees the old file or the new one, never a mix. `durable`:
// the file and its directory are synced before it returns, so a power loss
// right after keeps the new file. False with `error` set when the disk refused.
bool replace_file(const std::string& path, std::string_view bytes, bool durable, std::string& error);

// The whole file; nullopt when it does not exist (error empty), cannot be
// read, or is larger than `max_bytes` (error set).
std::optional<std::string> read_small_file(const std::string& path, std::size_t max_bytes, std::string& error);

}  // namespace racktel
