#include "state_lock.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace racktel {

state_lock::state_lock(const std::string& state_dir) {
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  struct stat dir {};
  if (::stat(state_dir.c_str(), &dir) == 0 && (dir.st_mode & (S_IWGRP | S_IWOTH)) != 0 &&
      (dir.st_mode & S_ISVTX) == 0) {
    spdlog::warn("state directory {} is writable by its group or by everyone (mode {:04o}): other users can "
                 "change or remove undelivered readings; make it 0750 or stricter",
                 state_dir, dir.st_mode & 07777);
  }
  const std::string path = state_dir + "/agent.lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
  if (fd_ < 0) {
    throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    char holder[32] = {};
    const ssize_t n = ::pread(fd_, holder, sizeof holder - 1, 0);
    ::close(fd_);
    fd_ = -1;
    if (error == EWOULDBLOCK) {
      const std::string pid = n > 0 ? std::string(holder, static_cast<std::size_t>(n)) : "unknown";
      throw std::runtime_error("another racktel-agent (pid " + pid.substr(0, pid.find('\n')) + ") is using " +
                               state_dir + "; one agent per state directory");
    }
    throw std::runtime_error("cannot lock " + path + ": " + std::strerror(error));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) < 0) {
    spdlog::warn("cannot write the pid into {}: {}", path, std::strerror(errno));
  }
}

state_lock::~state_lock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace racktel
