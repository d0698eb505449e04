// A small read-only HTTP/1.1 server for the agent's page, /metrics and health
// checks: Boost.Beast on the caller's io_context, optionally over TLS. Bounded
// so that a slow or hostile client costs only itself: a cap on connections,
// on the request's size, timeouts on reading a request and on idle keep-alive
// connections, and a cap on what an event stream may hold for a slow reader.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace racktel {

// One client's server-sent events (text/event-stream): the application pushes
// whole events ("event: x\ndata: ...\n\n"), shared between clients, and the
// server writes them in order. A client that falls `max_bytes` behind is
// dropped rather than letting its queue grow. Single-threaded: the io_context's.
class event_stream {
 public:
  explicit event_stream(std::size_t max_bytes = 8U << 20U) : max_bytes_(max_bytes) {}
  // Queues an event; false (and nothing queued) once the stream is closed,
  // which includes a client too far behind.
  bool push(std::shared_ptr<const std::string> event);
  bool closed() const { return closed_; }
  void close();
  std::size_t queued_bytes() const { return bytes_; }

 private:
  friend class http_server;
  std::deque<std::shared_ptr<const std::string>> queue_;
  std::size_t bytes_ = 0;
  std::size_t max_bytes_;
  bool closed_ = false;
  std::function<void()> wake_;  // set by the connection while it waits for events
};

struct http_reply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers{};  // extra response headers
  // Set: the answer is an event stream that stays open, fed through this.
  std::shared_ptr<event_stream> events{};
};

struct http_server_limits {
  std::size_t max_connections = 64;
  std::size_t max_request_bytes = 8192;
  std::chrono::milliseconds request_timeout{10000};
  // An event stream with nothing to send writes a comment this often, so
  // that a vanished client is noticed and proxies keep the connection.
  std::chrono::milliseconds event_keepalive{15000};
};

class http_server {
 public:
  // Called on the io_context's thread with the method and the request target.
  using handler = std::function<http_reply(std::string_view method, std::string_view target)>;
  http_server(boost::asio::io_context& io, handler h, http_server_limits limits = {});
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  // Serves HTTPS with this certificate chain and private key (PEM files);
  // before listen(). Throws std::runtime_error naming the file that failed.
  void use_tls(const std::string& cert_file, const std::string& key_file);

  // "127.0.0.1:9464", "[::1]:0"; returns the port bound (for port 0), or throws
  // std::runtime_error saying which address could not be bound and why.
  unsigned short listen(const std::string& address);
  std::size_t connections() const;

  // HTTP basic authentication for every path but `open_paths` (health checks
  // reveal nothing): a request without these credentials is answered 401.
  void require_basic_auth(const std::string& username, const std::string& password,
                          std::vector<std::string> open_paths);

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace racktel
