#include "small_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace racktel {

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

int write_and_rename(const std::string& path, std::string_view bytes, const sync_function* sync_data,
                     std::string& error) {
  const std::string temp = path + ".tmp";
  // A leftover of a crash goes first; O_EXCL and O_NOFOLLOW then refuse whatever someone put there meanwhile.
  ::unlink(temp.c_str());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
  if (fd < 0) {
    error = "cannot create " + temp;
    return errno;
  }
  const bool written = write_all(fd, bytes) && (sync_data == nullptr || (*sync_data)(fd) == 0);
  int e = errno;
  ::close(fd);
  if (!written || ::rename(temp.c_str(), path.c_str()) != 0) {
    if (written) e = errno;
    ::unlink(temp.c_str());
    error = "cannot write " + path;
    return e;
  }
  return 0;
}

int sync_directory(const std::string& dir, const sync_function& sync) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const bool synced = fd >= 0 && sync(fd) == 0;
  const int e = errno;
  if (fd >= 0) ::close(fd);
  return synced ? 0 : e;
}

bool replace_file(const std::string& path, std::string_view bytes, bool durable, std::string& error) {
  const sync_function data_sync = ::fdatasync;
  if (const int e = write_and_rename(path, bytes, durable ? &data_sync : nullptr, error); e != 0) {
    error = "cannot write " + path + ": " + std::strerror(e);
    return false;
  }
  if (!durable) return true;
  const std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
  if (const int e = sync_directory(dir.empty() ? "/" : dir, ::fsync); e != 0) {
    error = "cannot sync the directory of " + path + ": " + std::strerror(e);
    return false;
  }
  return true;
}

std::optional<std::string> read_small_file(const std::string& path, std::size_t max_bytes, std::string& error) {
  error.clear();
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT) error = "cannot read " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  std::string bytes;
  char buffer[16384];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = "cannot read " + path + ": " + std::strerror(errno);
      break;
    }
    if (n == 0) break;
    if (bytes.size() + static_cast<std::size_t>(n) > max_bytes) {
      error = path + " is larger than " + std::to_string(max_bytes) + " bytes";
      break;
    }
    bytes.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (!error.empty()) return std::nullopt;
  return bytes;
}

}  // namespace racktel
