#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "http/http_server.h"

using namespace racktel;

namespace {

// A blocking client on loopback, with a receive timeout so that a test fails rather than hangs.
struct client {
  int fd = -1;
  explicit client(unsigned short port) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  }
  ~client() {
    if (fd >= 0) ::close(fd);
  }
  void send(const std::string& text) const { REQUIRE(::send(fd, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size())); }
  // Reads until `what` has arrived or the peer closes; returns what came.
  std::string read_until(const std::string& what) const {
    std::string got;
    char buffer[4096];
    while (got.find(what) == std::string::npos) {
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      got.append(buffer, static_cast<std::size_t>(n));
    }
    return got;
  }
  // 0 when the server closed the connection, -1 on the timeout.
  ssize_t next_read() const {
    char buffer[4096];
    ssize_t n = 0;
    while ((n = ::recv(fd, buffer, sizeof buffer, 0)) > 0) {
    }
    return n;
  }
};

struct served {
  boost::asio::io_context io;
  std::shared_ptr<event_stream> stream;
  http_server server{io, [this](std::string_view, std::string_view target) {
                       http_reply r;
                       if (target == "/events") {
                         stream = std::make_shared<event_stream>();
                         stream->push(std::make_shared<const std::string>("event: hello\ndata: 1\n\n"));
                         r.events = stream;
                       }
                       return r;
                     }};
  unsigned short port = server.listen("127.0.0.1:0");
  std::thread runner{[this] { io.run(); }};
  ~served() {
    io.stop();
    runner.join();
  }
  template <typename F>
  auto on_loop(F f) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto result = task.get_future();
    boost::asio::post(io, [&task] { task(); });
    return result.get();
  }
};

}  // namespace

TEST_CASE("event stream: the application closing it ends the connection") {
  served s;
  client c(s.port);
  c.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string head = c.read_until("data: 1\n\n");
  CHECK(head.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(head.find("Content-Type: text/event-stream") != std::string::npos);
  s.on_loop([&] {
    s.stream->close();
    return 0;
  });
  CHECK(c.next_read() == 0);  // closed by the server, not timed out
}

TEST_CASE("event stream: a page that goes is noticed without anything to write") {
  served s;
  {
    client c(s.port);
    c.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
    c.read_until("data: 1\n\n");
  }
  bool closed = false;
  for (int i = 0; i < 100 && !closed; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    closed = s.on_loop([&] { return s.stream->closed(); });
  }
  CHECK(closed);
}

TEST_CASE("event stream: HEAD gets the headers and no stream is left open") {
  served s;
  client c(s.port);
  c.send("HEAD /events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(c.read_until("\r\n\r\n").starts_with("HTTP/1.1 200 OK"));
  CHECK(s.on_loop([&] { return s.stream->closed(); }));
}
