#include "secrets.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace racktel {

std::string expand_credentials_directory(const std::string& path, std::string& error) {
  static constexpr std::string_view var = "${CREDENTIALS_DIRECTORY}";
  const std::size_t at = path.find(var);
  if (at == std::string::npos) return path;
  const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
  if (dir == nullptr) {
    error = "\"" + path + "\" uses ${CREDENTIALS_DIRECTORY}, which is not set (it comes from systemd's LoadCredential=)";
    return {};
  }
  std::string expanded = path;
  return expanded.replace(at, var.size(), dir);
}

secret_file_check check_secret_file(const std::string& path, std::size_t max_bytes) {
  secret_file_check check;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    check.error = "cannot read \"" + path + "\": " + std::strerror(errno);
    return check;
  }
  if (!S_ISREG(st.st_mode)) {
    check.error = "\"" + path + "\" is not a regular file";
    return check;
  }
  if (static_cast<std::size_t>(st.st_size) > max_bytes) {
    check.error = "\"" + path + "\" is " + std::to_string(st.st_size) + " bytes; a secret file holds at most " +
                  std::to_string(max_bytes);
    return check;
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    check.warning = "\"" + path + "\" holds a secret and is readable or writable by its group or by everyone (mode " +
                    mode + "); make it 0600 or 0400";
  }
  return check;
}

secret_read read_secret_file(const std::string& path) {
  secret_read result;
  result.check = check_secret_file(path);
  if (!result.check.error.empty()) return result;
  // O_NONBLOCK: a FIFO swapped in after the check must not block the read.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    result.check.error = "cannot read \"" + path + "\": " + std::strerror(errno);
    return result;
  }
  std::string text;
  char buf[4096];
  ssize_t n;
  while (text.size() <= 64 * 1024 && (n = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  const std::size_t end = text.find('\n');
  std::string line = text.substr(0, end);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) {
    result.check.error = "\"" + path + "\" is empty; expected the secret on its first line";
    return result;
  }
  result.value = std::move(line);
  return result;
}

}  // namespace racktel
