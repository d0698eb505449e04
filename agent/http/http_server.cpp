#include "http/http_server.h"

#include <utility>  // before Asio's awaitable under GCC 12

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <optional>
#include <stdexcept>

namespace racktel {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

bool event_stream::push(std::shared_ptr<const std::string> event) {
  if (closed_) return false;
  if (bytes_ + event->size() > max_bytes_) {
    close();  // this client reads slower than events come: it starts over by reconnecting
    return false;
  }
  bytes_ += event->size();
  queue_.push_back(std::move(event));
  if (wake_) wake_();
  return true;
}

void event_stream::close() {
  closed_ = true;
  queue_.clear();
  bytes_ = 0;
  if (wake_) wake_();
}

namespace {

std::string_view view(beast::string_view s) { return {s.data(), s.size()}; }

}  // namespace

struct http_server::impl : std::enable_shared_from_this<impl> {
  asio::io_context& io;
  handler serve;
  http_server_limits limits;
  std::optional<asio::ssl::context> tls;
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

  http_reply answer(const http::request<http::empty_body>& request) {
    if (request.method() != http::verb::get && request.method() != http::verb::head) {
      http_reply r{405, "text/plain; charset=utf-8", "read-only: GET and HEAD only\n"};
      r.headers.emplace_back("Allow", "GET, HEAD");
      return r;
    }
    if (!authorised(view(request.target()), view(request[http::field::authorization]))) {
      http_reply r{401, "text/plain; charset=utf-8", "unauthorized\n"};
      r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"racktel\", charset=\"UTF-8\"");
      return r;
    }
    return serve(view(request.method_string()), view(request.target()));
  }

  // Requests on one connection, plain or TLS, until it closes, times out or
  // becomes an event stream.
  template <typename Stream>
  asio::awaitable<void> converse(Stream& stream) {
    beast::flat_buffer buffer(limits.max_request_bytes);
    for (;;) {
      http::request_parser<http::empty_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(limits.max_request_bytes));
      parser.body_limit(0);
      beast::get_lowest_layer(stream).expires_after(limits.request_timeout);
      co_await http::async_read(stream, buffer, parser, asio::use_awaitable);
      const auto& request = parser.get();
      http_reply reply = answer(request);
      if (reply.events) {
        if (request.method() == http::verb::get) {
          co_await stream_events(stream, *reply.events);
          co_return;
        }
        reply.events->close();  // HEAD: the headers only; nothing will read this stream
      }
      http::response<http::string_body> response;
      response.result(static_cast<http::status>(reply.status));
      response.set(http::field::content_type, reply.content_type);
      for (const auto& [name, value] : reply.headers) response.set(name, value);
      response.body() = std::move(reply.body);
      response.version(request.version());
      response.keep_alive(request.keep_alive());
      response.set(http::field::server, "racktel");
      response.prepare_payload();
      if (request.method() == http::verb::head) response.body().clear();
      beast::get_lowest_layer(stream).expires_after(limits.request_timeout);
      co_await http::async_write(stream, response, asio::use_awaitable);
      if (!response.keep_alive()) co_return;
    }
  }

  // text/event-stream until the client goes, falls too far behind, or the
  // application closes the stream. The body ends with the connection.
  template <typename Stream>
  asio::awaitable<void> stream_events(Stream& stream, event_stream& events) {
    static const std::string header =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
        "X-Content-Type-Options: nosniff\r\nConnection: close\r\nServer: racktel\r\n\r\n";
    beast::get_lowest_layer(stream).expires_after(limits.request_timeout);
    co_await asio::async_write(stream, asio::buffer(header), asio::use_awaitable);
    beast::get_lowest_layer(stream).expires_never();
    // Whichever ends first ends both: a page closed is noticed at once, not at the next write.
    using namespace asio::experimental::awaitable_operators;
    co_await (write_events(stream, events) || until_closed(stream));
  }

  template <typename Stream>
  asio::awaitable<void> write_events(Stream& stream, event_stream& events) {
    asio::steady_timer wait(io);
    events.wake_ = [&wait] { wait.cancel(); };
    struct unhook {
      event_stream& e;
      ~unhook() { e.wake_ = nullptr; e.close(); }
    } unhook_on_exit{events};
    static const std::string keepalive = ":\n\n";
    while (!events.closed() && !stopped) {
      std::shared_ptr<const std::string> next;
      if (events.queue_.empty()) {
        wait.expires_after(limits.event_keepalive);
        beast::error_code ec;
        co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        // The page went (until_closed ended first): stop here.
        const asio::cancellation_state cancelled = co_await asio::this_coro::cancellation_state;
        if (cancelled.cancelled() != asio::cancellation_type::none) break;
        if (ec != asio::error::operation_aborted && events.queue_.empty() && !events.closed()) {
          next = std::shared_ptr<const std::string>(&keepalive, [](const std::string*) {});
        }
        if (!next) continue;
      } else {
        next = std::move(events.queue_.front());
        events.queue_.pop_front();
        events.bytes_ -= next->size();
      }
      // A client that stops reading is let go once the socket's buffers are full that long.
      beast::get_lowest_layer(stream).expires_after(limits.request_timeout);
      co_await asio::async_write(stream, asio::buffer(*next), asio::use_awaitable);
      beast::get_lowest_layer(stream).expires_never();
    }
  }

  // A page sends nothing on an event stream: a read ends only when it closes.
  template <typename Stream>
  asio::awaitable<void> until_closed(Stream& stream) {
    char ignored[64];
    for (;;) {
      beast::error_code ec;
      co_await stream.async_read_some(asio::buffer(ignored), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
    }
  }

  asio::awaitable<void> session(tcp::socket socket) {
    auto self = shared_from_this();
    ++open;
    struct count_down {
      std::size_t& n;
      ~count_down() { --n; }
    } closing{open};
    try {
      if (tls) {
        beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *tls);
        beast::get_lowest_layer(stream).expires_after(limits.request_timeout);
        co_await stream.async_handshake(asio::ssl::stream_base::server, asio::use_awaitable);
        std::exception_ptr failed;
        try {
          co_await converse(stream);
        } catch (...) {
          failed = std::current_exception();
        }
        if (!failed) {
          beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(2));
          beast::error_code ignored;
          co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ignored));
        }
      } else {
        beast::tcp_stream stream(std::move(socket));
        try {
          co_await converse(stream);
        } catch (const std::exception&) {
        }
        beast::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      }
    } catch (const std::exception&) {
      // A closed, timed-out, malformed or failed-handshake connection ends only itself.
    }
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

void http_server::use_tls(const std::string& cert_file, const std::string& key_file) {
  asio::ssl::context context(asio::ssl::context::tls_server);
  // TLS 1.2 and 1.3 only; OpenSSL's default ciphers for them.
  context.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                      asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 |
                      asio::ssl::context::single_dh_use);
  beast::error_code ec;
  context.use_certificate_chain_file(cert_file, ec);
  if (ec) throw std::runtime_error("cannot use certificate " + cert_file + ": " + ec.message());
  context.use_private_key_file(key_file, asio::ssl::context::pem, ec);
  if (ec) throw std::runtime_error("cannot use private key " + key_file + ": " + ec.message());
  if (SSL_CTX_check_private_key(context.native_handle()) != 1) {
    throw std::runtime_error("private key " + key_file + " does not match certificate " + cert_file);
  }
  impl_->tls.emplace(std::move(context));
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
