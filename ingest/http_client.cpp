#include "ingest/http_client.h"

#include <utility>  // before Asio's awaitable under GCC 12 (see docs/NOTES)

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>
#include <stdexcept>

namespace racktel::ingest {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct http_client::impl : std::enable_shared_from_this<impl> {
  asio::io_context& io;
  endpoint_config endpoint;
  http_url url;
  std::optional<asio::ssl::context> tls;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  bool connected = false;

  impl(asio::io_context& context, const endpoint_config& e) : io(context), endpoint(e) {
    std::string why;
    auto parsed = parse_http_url(e.url, why);
    if (!parsed) throw std::runtime_error(why);
    url = *parsed;
    if (url.tls) {
      tls.emplace(asio::ssl::context::tls_client);
      tls->set_options(asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
      if (e.insecure) {
        tls->set_verify_mode(asio::ssl::verify_none);
      } else {
        tls->set_verify_mode(asio::ssl::verify_peer);
        if (e.ca_file.empty()) {
          tls->set_default_verify_paths();
        } else {
          tls->load_verify_file(e.ca_file);
        }
      }
    }
  }

  beast::tcp_stream& lowest() { return url.tls ? beast::get_lowest_layer(*secure) : *plain; }

  asio::awaitable<void> connect(std::chrono::milliseconds timeout) {
    tcp::resolver resolver(io);
    auto addresses = co_await resolver.async_resolve(url.host, url.port, asio::use_awaitable);
    if (url.tls) {
      secure.emplace(io, *tls);
      if (!endpoint.insecure) {
        secure->set_verify_callback(asio::ssl::host_name_verification(url.host));
      }
      // SNI, for endpoints behind a name-based proxy (not for an address: RFC 6066 3).
      boost::system::error_code not_an_address;
      asio::ip::make_address(url.host, not_an_address);
      if (not_an_address && ::SSL_ctrl(secure->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                                       const_cast<char*>(url.host.c_str())) != 1) {
        throw std::runtime_error("cannot set the TLS server name " + url.host);
      }
    } else {
      plain.emplace(io);
    }
    lowest().expires_after(timeout);
    co_await lowest().async_connect(addresses, asio::use_awaitable);
    if (url.tls) co_await secure->async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
    connected = true;
  }

  template <typename Stream>
  asio::awaitable<http_response> exchange(Stream& stream, const http::request<http::string_body>& request,
                                          std::chrono::milliseconds timeout) {
    lowest().expires_after(timeout);
    co_await http::async_write(stream, request, asio::use_awaitable);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(1U << 20U);  // an error page, not a download
    co_await http::async_read(stream, buffer, parser, asio::use_awaitable);
    http_response out;
    out.status = static_cast<int>(parser.get().result_int());
    out.body = std::move(parser.get().body());
    if (!parser.get().keep_alive()) close();
    co_return out;
  }

  void close() {
    connected = false;
    beast::error_code ignored;
    if (plain) plain->socket().close(ignored);
    if (secure) beast::get_lowest_layer(*secure).socket().close(ignored);
    plain.reset();
    secure.reset();
  }

  asio::awaitable<http_response> once(const http::request<http::string_body>& request, std::chrono::milliseconds timeout) {
    if (!connected) co_await connect(timeout);
    if (url.tls) co_return co_await exchange(*secure, request, timeout);
    co_return co_await exchange(*plain, request, timeout);
  }

  asio::awaitable<void> run(http::request<http::string_body> request, std::chrono::milliseconds timeout,
                            std::function<void(http_response)> done) {
    auto self = shared_from_this();
    const auto start = std::chrono::steady_clock::now();
    http_response out;
    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool reused = connected;
      try {
        out = co_await once(request, timeout);
        break;
      } catch (const std::exception& e) {
        close();
        out = {};
        out.error = e.what();
        if (!reused) break;  // a kept-alive connection the server closed meanwhile: once more, afresh
      }
    }
    out.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
    done(std::move(out));
  }
};

http_client::http_client(asio::io_context& io, const endpoint_config& endpoint)
    : impl_(std::make_shared<impl>(io, endpoint)), url_(endpoint.url) {}

http_client::~http_client() { impl_->close(); }

void http_client::post(const std::string& target, headers extra, std::string body, std::chrono::milliseconds timeout,
                       std::function<void(http_response)> done) {
  http::request<http::string_body> request{http::verb::post, target.empty() ? impl_->url.target : target, 11};
  const bool default_port = impl_->url.port == (impl_->url.tls ? "443" : "80");
  const std::string host = impl_->url.host.find(':') != std::string::npos ? "[" + impl_->url.host + "]" : impl_->url.host;
  request.set(http::field::host, default_port ? host : host + ":" + impl_->url.port);
  request.set(http::field::user_agent, "racktel-ingest");
  const endpoint_config& e = impl_->endpoint;
  if (e.bearer_token) request.set(http::field::authorization, "Bearer " + *e.bearer_token);
  if (e.username && e.password) {
    const std::string plain = *e.username + ":" + *e.password;
    std::string encoded(beast::detail::base64::encoded_size(plain.size()), '\0');
    encoded.resize(beast::detail::base64::encode(encoded.data(), plain.data(), plain.size()));
    request.set(http::field::authorization, "Basic " + encoded);
  }
  for (const auto& [name, value] : e.headers) request.set(name, value);
  for (const auto& [name, value] : extra) request.set(name, value);
  request.keep_alive(true);
  request.body() = std::move(body);
  request.prepare_payload();
  asio::co_spawn(impl_->io, impl_->run(std::move(request), timeout, std::move(done)), asio::detached);
}

}  // namespace racktel::ingest
