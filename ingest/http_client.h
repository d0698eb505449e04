// A small HTTP/1.1 client for POSTs to one endpoint (a remote-write receiver,
// an Alertmanager): Boost.Beast on the caller's io_context, one connection
// kept alive between requests, one request at a time, each within a timeout.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ingest/ingest_config.h"

namespace boost::asio {
class io_context;
}

namespace racktel::ingest {

struct http_response {
  int status = 0;      // 0 when no answer came (see error)
  std::string body;
  std::string error;   // the connection's failure in words
  std::chrono::microseconds elapsed{0};
};

class http_client {
 public:
  using headers = std::vector<std::pair<std::string, std::string>>;
  // Throws std::runtime_error when the URL or the TLS files are unusable.
  http_client(boost::asio::io_context& io, const endpoint_config& endpoint);
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  // Calls `done` on the io_context's thread. The endpoint's own headers
  // (authentication, [headers]) are added. At most one request at a time.
  void post(const std::string& target, headers extra, std::string body, std::chrono::milliseconds timeout,
            std::function<void(http_response)> done);
  const std::string& url() const { return url_; }

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
  std::string url_;
};

}  // namespace racktel::ingest
