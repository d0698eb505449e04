#include <doctest/doctest.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <initializer_list>

#include "common/descriptors.h"

using namespace racktel;

TEST_CASE("TCP sockets opened without TCP_NODELAY get it; other sockets are left alone") {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(listener >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t length = sizeof addr;
  REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &length) == 0);
  REQUIRE(::listen(listener, 1) == 0);
  const int client = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  int unix_pair[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, unix_pair) == 0);

  auto nodelay = [](int fd) {
    int on = 0;
    socklen_t size = sizeof on;
    REQUIRE(::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &size) == 0);
    return on != 0;
  };
  CHECK_FALSE(nodelay(client));
  CHECK(disable_nagle_on_tcp_sockets() >= 2);  // the listener and the client, at least
  CHECK(nodelay(client));
  CHECK(nodelay(listener));
  int type = 0;
  socklen_t size = sizeof type;
  CHECK(::getsockopt(unix_pair[0], SOL_SOCKET, SO_TYPE, &type, &size) == 0);  // still a working Unix socket
  for (int fd : {listener, client, unix_pair[0], unix_pair[1]}) ::close(fd);
}
