// The local status socket: a technician's `racktel status` (and scripts)
// connect, send one command line, and get one JSON document back.
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace boost::asio {
class io_context;
}

namespace racktel {

class status_server {
 public:
  // `handle` runs on the io_context's thread with the command ("status").
  using handler = std::function<std::string(const std::string& command)>;

  // Throws std::system_error naming the path when the socket cannot be made.
  status_server(boost::asio::io_context& io, std::string path, handler handle);
  ~status_server();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace racktel
