#include "http/http_server.h"

#include <utility>  // before Asio's awaitable under GCC 12

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdexcept>

namespace racktel {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct http_server::impl : std::enable_shared_from_this<impl> {
  asio::io_context& io;
  handler serve;
  http_server_limits limits;
  std::vector<std::shared_ptr<tcp::acceptor>> acceptors;
  std::size_t open = 0;
  bool stopped = false;
  std::string authorization;            // "Basic <base64>"; empty: no authentication
  std::vector<std::string> open_paths;  // served without it

  bool authorised(std::string_view target, std::string_view given) const {
    if (authorization.empty()) return true;
    const std::string_view path = target.substr(0, target.find('?'));
    for (const std::string& p : open_paths) {
      if (path == p) return true;
    }
    // Compared in constant time: how much of it matched is nobody's business.
    return given.size() == authorization.size() &&
           CRYPTO_memcmp(given.data(), authorization.data(), given.size()) == 0;
  }

  impl(asio::io_context& context, handler h, http_server_limits l) : io(context), serve(std::move(h)), limits(l) {}

  asio::awaitable<void> session(tcp::socket socket) {
    auto self = shared_from_this();
    ++open;
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer(limits.max_request_bytes);
    try {
      for (;;) {
        http::request_parser<http::empty_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(limits.max_request_bytes));
        parser.body_limit(0);
        stream.expires_after(limits.request_timeout);
        co_await http::async_read(stream, buffer, parser, asio::use_awaitable);
        const auto& request = parser.get();
        http::response<http::string_body> response;
        if (request.method() != http::verb::get && request.method() != http::verb::head) {
          response.result(http::status::method_not_allowed);
          response.set(http::field::allow, "GET, HEAD");
          response.body() = "read-only: GET and HEAD only\n";
        } else if (!authorised(std::string_view(request.target().data(), request.target().size()),
                               std::string_view(request[http::field::authorization].data(),
                                                request[http::field::authorization].size()))) {
          response.result(http::status::unauthorized);
          response.set(http::field::www_authenticate, "Basic realm=\"racktel\", charset=\"UTF-8\"");
          response.body() = "unauthorized\n";
        } else {
          http_reply reply = serve(std::string_view(request.method_string().data(), request.method_string().size()),
                                   std::string_view(request.target().data(), request.target().size()));
          response.result(static_cast<http::status>(reply.status));
          response.set(http::field::content_type, reply.content_type);
          response.body() = std::move(reply.body);
        }
        response.version(request.version());
        response.keep_alive(request.keep_alive());
        response.set(http::field::server, "racktel");
        response.prepare_payload();
        if (request.method() == http::verb::head) response.body().clear();
        stream.expires_after(limits.request_timeout);
        co_await http::async_write(stream, response, asio::use_awaitable);
        if (!response.keep_alive()) break;
      }
    } catch (const std::exception&) {
      // A closed, timed-out or malformed connection ends only itself.
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    --open;
  }

  asio::awaitable<void> accept(std::shared_ptr<tcp::acceptor> acceptor) {
    auto self = shared_from_this();
    while (!stopped) {
      beast::error_code ec;
      tcp::socket socket = co_await acceptor->async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (ec == asio::error::operation_aborted || stopped) co_return;
        continue;  // EMFILE and friends: this connection is lost, not the server
      }
      if (open >= limits.max_connections) {
        socket.close(ec);  // over the cap: refused at once rather than queued
        continue;
      }
      asio::co_spawn(io, session(std::move(socket)), asio::detached);
    }
  }
};

http_server::http_server(asio::io_context& io, handler h, http_server_limits limits)
    : impl_(std::make_shared<impl>(io, std::move(h), limits)) {}

http_server::~http_server() {
  impl_->stopped = true;
  for (auto& a : impl_->acceptors) {
    beast::error_code ignored;
    a->close(ignored);
  }
}

unsigned short http_server::listen(const std::string& address) {
  std::string host = address, port;
  const std::size_t colon = address.rfind(':');
  if (colon != std::string::npos) {
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  if (host.starts_with("[") && host.ends_with("]")) host = host.substr(1, host.size() - 2);
  try {
    const auto ip = asio::ip::make_address(host);
    const tcp::endpoint endpoint(ip, static_cast<unsigned short>(std::stoul(port)));
    auto acceptor = std::make_shared<tcp::acceptor>(impl_->io);
    acceptor->open(endpoint.protocol());
    acceptor->set_option(asio::socket_base::reuse_address(true));
    if (ip.is_v6()) acceptor->set_option(asio::ip::v6_only(true));
    acceptor->bind(endpoint);
    acceptor->listen();
    impl_->acceptors.push_back(acceptor);
    asio::co_spawn(impl_->io, impl_->accept(acceptor), asio::detached);
    return acceptor->local_endpoint().port();
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot listen on " + address + ": " + e.what());
  }
}

std::size_t http_server::connections() const { return impl_->open; }

void http_server::require_basic_auth(const std::string& username, const std::string& password,
                                     std::vector<std::string> open_paths) {
  const std::string credentials = username + ":" + password;
  std::string encoded(4 * ((credentials.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                reinterpret_cast<const unsigned char*>(credentials.data()),
                                static_cast<int>(credentials.size()));
  encoded.resize(static_cast<std::size_t>(n));
  impl_->authorization = "Basic " + encoded;
  impl_->open_paths = std::move(open_paths);
}

}  // namespace racktel
