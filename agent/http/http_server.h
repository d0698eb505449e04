// A small read-only HTTP/1.1 server for /metrics and health checks: Boost.Beast
// on the caller's io_context. Bounded so that a slow or hostile client costs
// only itself: a cap on connections, on the request's size, and timeouts on
// reading a request and on idle keep-alive connections.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace racktel {

struct http_reply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

struct http_server_limits {
  std::size_t max_connections = 64;
  std::size_t max_request_bytes = 8192;
  std::chrono::milliseconds request_timeout{10000};
};

class http_server {
 public:
  // Called on the io_context's thread with the method and the request target.
  using handler = std::function<http_reply(std::string_view method, std::string_view target)>;
  http_server(boost::asio::io_context& io, handler h, http_server_limits limits = {});
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

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
