#include "status_server.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/descriptors.h"

namespace racktel {

using boost::asio::local::stream_protocol;

bool may_change_agent(const peer_credentials& peer, uid_t agent_uid, const std::vector<gid_t>& control_groups) {
  if (peer.uid == 0 || peer.uid == agent_uid) return true;
  auto member = [&](gid_t g) { return std::find(control_groups.begin(), control_groups.end(), g) != control_groups.end(); };
  return member(peer.gid) || std::any_of(peer.groups.begin(), peer.groups.end(), member);
}

namespace {

peer_credentials credentials_of(int fd) {
  peer_credentials peer;
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
    peer.pid = cred.pid;
    peer.uid = cred.uid;
    peer.gid = cred.gid;
  } else {
    // Unknown peer: treat as nobody in particular, never as root.
    peer.uid = static_cast<uid_t>(-1);
    peer.gid = static_cast<gid_t>(-1);
  }
  std::vector<gid_t> groups(64);
  for (int attempt = 0; attempt < 4; ++attempt) {
    socklen_t bytes = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &bytes) == 0) {
      groups.resize(bytes / sizeof(gid_t));
      peer.groups = std::move(groups);
      break;
    }
    if (errno != ERANGE) break;
    groups.resize(bytes / sizeof(gid_t) + 16);
  }
  return peer;
}

bool descriptor_exhaustion(const boost::system::error_code& ec) {
  return ec == boost::system::errc::too_many_files_open || ec == boost::system::errc::too_many_files_open_in_system ||
         ec == boost::system::errc::no_buffer_space || ec == boost::system::errc::not_enough_memory;
}

// Whether a process answers on the Unix socket at `path`.
bool socket_answers(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  const bool answered = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return answered;
}

}  // namespace

struct status_server::impl : std::enable_shared_from_this<impl> {
  impl(boost::asio::io_context& io_context, status_server_options o, handler h)
      : io(io_context), options(std::move(o)), handle(std::move(h)), acceptor(io_context), backoff_timer(io_context) {}

  // One client: read a line, answer, close; all of it within the session timeout.
  class session : public std::enable_shared_from_this<session> {
   public:
    session(std::shared_ptr<impl> server, stream_protocol::socket socket)
        : server_(std::move(server)), socket_(std::move(socket)), timer_(server_->io),
          buffer_(server_->options.max_command_bytes) {}

    void start(bool busy) {
      ++server_->active;
      if (busy) {
        reply_ = R"({"error":"the agent is serving too many status connections; try again"})" "\n";
        write_reply();
        return;
      }
      peer_ = credentials_of(socket_.native_handle());
      arm_timer(server_->options.session_timeout);
      boost::asio::async_read_until(socket_, buffer_, '\n',
                                    [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                                      self->on_line(ec);
                                    });
    }

    ~session() { --server_->active; }

   private:
    void on_line(boost::system::error_code ec) {
      if (ec && ec != boost::asio::error::eof) {
        // Too long a line (the buffer's limit), a reset, or the timeout closing us.
        if (ec == boost::asio::error::not_found) {
          reply_ = R"({"error":"command too long"})" "\n";
          write_reply();
        }
        return;
      }
      std::istream in(&buffer_);
      std::string command;
      std::getline(in, command);
      if (!command.empty() && command.back() == '\r') command.pop_back();
      if (server_->closed) return;
      // The agent may take a while to answer (a reload): give it its own bound.
      arm_timer(server_->options.answer_timeout);
      server_->handle(command, peer_, [self = shared_from_this()](std::string answer) {
        self->reply_ = std::move(answer) + "\n";
        self->arm_timer(self->server_->options.session_timeout);
        self->write_reply();
      });
    }

    void arm_timer(std::chrono::milliseconds timeout) {
      timer_.expires_after(timeout);
      timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (!ec) self->close();
      });
    }

    void write_reply() {
      boost::asio::async_write(socket_, boost::asio::buffer(reply_),
                               [self = shared_from_this()](boost::system::error_code, std::size_t) { self->close(); });
    }

    void close() {
      boost::system::error_code ignored;
      timer_.cancel();
      socket_.shutdown(stream_protocol::socket::shutdown_both, ignored);
      socket_.close(ignored);
    }

    std::shared_ptr<impl> server_;
    stream_protocol::socket socket_;
    boost::asio::steady_timer timer_;
    boost::asio::streambuf buffer_;
    peer_credentials peer_;
    std::string reply_;
  };

  void accept() {
    if (closed) return;
    acceptor.async_accept([self = shared_from_this()](boost::system::error_code ec, stream_protocol::socket socket) {
      self->on_accept(ec, std::move(socket));
    });
  }

  void on_accept(boost::system::error_code ec, stream_protocol::socket socket) {
    if (ec == boost::asio::error::operation_aborted || closed) return;
    if (ec) {
      // Out of descriptors: accepting again at once would spin. Wait, say so once, try again.
      const auto wait = std::chrono::milliseconds(descriptor_exhaustion(ec) ? 200 : 20);
      if (!in_trouble) {
        spdlog::error("status socket: cannot accept: {}; retrying every {} ms", ec.message(), wait.count());
        in_trouble = true;
      }
      backoff_timer.expires_after(wait);
      backoff_timer.async_wait([self = shared_from_this()](boost::system::error_code e) {
        if (!e) self->accept();
      });
      return;
    }
    if (in_trouble) {
      spdlog::info("status socket: accepting connections again");
      in_trouble = false;
    }
    set_close_on_exec(socket.native_handle());
    std::make_shared<session>(shared_from_this(), std::move(socket))->start(active >= options.max_connections);
    accept();
  }

  boost::asio::io_context& io;
  status_server_options options;
  handler handle;
  stream_protocol::acceptor acceptor;
  boost::asio::steady_timer backoff_timer;
  std::size_t active = 0;
  bool in_trouble = false;
  bool closed = false;
};

status_server::status_server(boost::asio::io_context& io, status_server_options options, handler handle)
    : impl_(std::make_shared<impl>(io, std::move(options), std::move(handle))) {
  const std::string& path = impl_->options.path;
  const std::filesystem::path p(path);
  std::error_code ec;
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  // A socket left by a killed agent would make bind fail: remove it, but only
  // a socket, and only one that nothing answers on.
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      throw std::system_error(std::make_error_code(std::errc::file_exists),
                              "status socket " + path + " exists and is not a socket (left as it is)");
    }
    if (socket_answers(path)) {
      throw std::system_error(std::make_error_code(std::errc::address_in_use),
                              "status socket " + path + " is answered by another process");
    }
    std::filesystem::remove(p, ec);
  }
  try {
    impl_->acceptor.open(stream_protocol());
    set_close_on_exec(impl_->acceptor.native_handle());
    impl_->acceptor.bind(stream_protocol::endpoint(path));
    impl_->acceptor.listen();
  } catch (const boost::system::system_error& e) {
    throw std::system_error(e.code(), "cannot listen on status socket " + path);
  }
  // Readable by the owner and its group (technicians), not by everyone.
  ::chmod(path.c_str(), 0660);
  impl_->accept();
}

status_server::~status_server() {
  impl_->closed = true;
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
  impl_->backoff_timer.cancel();
  std::error_code ec;
  std::filesystem::remove(impl_->options.path, ec);
}

std::size_t status_server::connections() const { return impl_->active; }

}  // namespace racktel
