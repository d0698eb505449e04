#include "status_server.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <filesystem>

namespace racktel {

using boost::asio::local::stream_protocol;

namespace {

// One client: read a line, answer, close.
class session : public std::enable_shared_from_this<session> {
 public:
  session(stream_protocol::socket socket, const status_server::handler& handle)
      : socket_(std::move(socket)), handle_(handle) {}

  void start() {
    // Commands are short; a client that sends more is cut off rather than buffered.
    boost::asio::async_read_until(socket_, buffer_, '\n',
                                  [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                                    self->on_line(ec);
                                  });
  }

 private:
  void on_line(boost::system::error_code ec) {
    if (ec && ec != boost::asio::error::eof) return;
    std::istream in(&buffer_);
    std::string command;
    std::getline(in, command);
    if (!command.empty() && command.back() == '\r') command.pop_back();
    reply_ = handle_(command) + "\n";
    boost::asio::async_write(socket_, boost::asio::buffer(reply_),
                             [self = shared_from_this()](boost::system::error_code, std::size_t) {
                               boost::system::error_code ignored;
                               self->socket_.shutdown(stream_protocol::socket::shutdown_both, ignored);
                             });
  }

  stream_protocol::socket socket_;
  status_server::handler handle_;  // a copy: the session may outlive a closing server
  boost::asio::streambuf buffer_{4096};
  std::string reply_;
};

}  // namespace

struct status_server::impl {
  impl(boost::asio::io_context& io, std::string socket_path, handler h)
      : path(std::move(socket_path)), handle(std::move(h)), acceptor(io) {}

  void accept() {
    acceptor.async_accept([this](boost::system::error_code ec, stream_protocol::socket socket) {
      if (ec == boost::asio::error::operation_aborted) return;
      if (!ec) std::make_shared<session>(std::move(socket), handle)->start();
      accept();
    });
  }

  std::string path;
  handler handle;
  stream_protocol::acceptor acceptor;
};

status_server::status_server(boost::asio::io_context& io, std::string path, handler handle)
    : impl_(std::make_unique<impl>(io, std::move(path), std::move(handle))) {
  const std::filesystem::path p(impl_->path);
  std::error_code ec;
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  // A socket file left by a killed agent would make bind fail.
  std::filesystem::remove(p, ec);
  try {
    impl_->acceptor.open(stream_protocol());
    impl_->acceptor.bind(stream_protocol::endpoint(impl_->path));
    impl_->acceptor.listen();
  } catch (const boost::system::system_error& e) {
    throw std::system_error(e.code(), "cannot listen on status socket " + impl_->path);
  }
  // Readable by the owner and its group (technicians), not by everyone.
  ::chmod(impl_->path.c_str(), 0660);
  impl_->accept();
}

status_server::~status_server() {
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
  std::error_code ec;
  std::filesystem::remove(impl_->path, ec);
}

}  // namespace racktel
