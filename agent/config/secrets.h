// Files that hold secrets (passwords, private keys): where they are, whether
// they are what they claim to be, and who else can read them.
#pragma once

#include <optional>
#include <string>

namespace racktel {

// "${CREDENTIALS_DIRECTORY}/name" -> the file systemd's LoadCredential= made.
// Paths without the variable are returned as they are. Empty, with `error`
// set, when the variable is used but not set.
std::string expand_credentials_directory(const std::string& path, std::string& error);

struct secret_file_check {
  std::string error;    // not a regular file, cannot be read, too large
  std::string warning;  // readable by the group or by everyone
};
// Checks without reading: `path` must be a regular file (not a directory, a
// FIFO or /dev/zero, which would be read forever) of at most `max_bytes`.
secret_file_check check_secret_file(const std::string& path, std::size_t max_bytes = 64 * 1024);

struct secret_read {
  std::optional<std::string> value;  // the file's first line
  secret_file_check check;
};
// The first line of a secret file, after check_secret_file. The secret never
// appears in a message.
secret_read read_secret_file(const std::string& path);

}  // namespace racktel
