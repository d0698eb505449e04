#include "descriptors.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

namespace racktel {

void set_close_on_exec(int fd) {
  const int flags = ::fcntl(fd, F_GETFD);
  if (flags >= 0 && (flags & FD_CLOEXEC) == 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

void mark_descriptors_close_on_exec() {
  if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return;
  const int own = ::dirfd(dir);
  while (const dirent* entry = ::readdir(dir)) {
    const int fd = std::atoi(entry->d_name);
    if (fd > 2 && fd != own) set_close_on_exec(fd);
  }
  ::closedir(dir);
}

namespace {

// Calls `visit(fd)` for every TCP socket the process holds.
template <typename Visit>
void for_each_tcp_socket(Visit visit) {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return;
  const int own = ::dirfd(dir);
  while (const dirent* entry = ::readdir(dir)) {
    const int fd = std::atoi(entry->d_name);
    struct stat st {};
    if (fd <= 2 || fd == own || ::fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    int protocol = 0;
    socklen_t length = sizeof protocol;
    if (::getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &length) != 0 || protocol != IPPROTO_TCP) continue;
    visit(fd);
  }
  ::closedir(dir);
}

}  // namespace

std::vector<std::string> connected_tcp_peers() {
  std::vector<std::string> peers;
  for_each_tcp_socket([&](int fd) {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return;
    char text[INET6_ADDRSTRLEN] = {};
    if (address.ss_family == AF_INET) {
      const auto* a = reinterpret_cast<const sockaddr_in*>(&address);
      ::inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
      peers.push_back(std::string(text) + ":" + std::to_string(ntohs(a->sin_port)));
    } else if (address.ss_family == AF_INET6) {
      const auto* a = reinterpret_cast<const sockaddr_in6*>(&address);
      ::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
      peers.push_back("[" + std::string(text) + "]:" + std::to_string(ntohs(a->sin6_port)));
    }
  });
  return peers;
}

int disable_nagle_on_tcp_sockets() {
  int set = 0;
  for_each_tcp_socket([&](int fd) {
    const int on = 1;
    if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) == 0) ++set;
  });
  return set;
}

}  // namespace racktel
