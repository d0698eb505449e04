#include "connect_probe.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <memory>

namespace racktel {
namespace {

std::string openssl_error() {
  const unsigned long e = ERR_get_error();
  if (e == 0) return "the broker closed the connection during the handshake";
  char text[256];
  ERR_error_string_n(e, text, sizeof text);
  return text;
}

int connect_with_timeout(const std::string& host, const std::string& port, int timeout_ms, std::string& error) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    error = std::string("cannot resolve ") + host + ": " + ::gai_strerror(rc);
    return -1;
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(found, ::freeaddrinfo);
  const int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::strerror(errno);
    return -1;
  }
  if (::connect(fd, found->ai_addr, found->ai_addrlen) != 0 && errno != EINPROGRESS) {
    error = std::strerror(errno);
    ::close(fd);
    return -1;
  }
  pollfd p{fd, POLLOUT, 0};
  int so_error = 0;
  socklen_t len = sizeof so_error;
  if (::poll(&p, 1, timeout_ms) != 1 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0 || so_error != 0) {
    error = so_error ? std::strerror(so_error) : "connection timed out";
    ::close(fd);
    return -1;
  }
  // Blocking from here on, with receive and send timeouts for the handshake.
  ::fcntl(fd, F_SETFL, 0);
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return fd;
}

// The key's passphrase from the config, never a prompt on a terminal: without
// one, an encrypted key simply fails to load.
int key_passphrase(char* buf, int size, int, void* userdata) {
  const auto* passphrase = static_cast<const std::string*>(userdata);
  if (passphrase == nullptr || size <= 0) return 0;
  const int n = static_cast<int>(std::min<std::size_t>(passphrase->size(), static_cast<std::size_t>(size)));
  std::memcpy(buf, passphrase->data(), static_cast<std::size_t>(n));
  return n;
}

}  // namespace

std::string probe_connection(const std::string& broker_uri, const mqtt_config& config,
                             std::chrono::milliseconds timeout) {
  std::string rest = broker_uri.substr(broker_uri.find("://") + 3);
  const std::size_t colon = rest.rfind(':');
  std::string host = colon == std::string::npos ? rest : rest.substr(0, colon);
  const std::string port = colon == std::string::npos ? "1883" : rest.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (!broker_uri.starts_with("ssl://")) {
    std::string error;
    const int fd = connect_with_timeout(host, port, static_cast<int>(timeout.count()), error);
    if (fd < 0) return error;
    ::close(fd);
    return {};
  }

  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  if (!ctx) return "TLS: cannot create a TLS context";
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  const bool ca_ok = config.ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx.get()) == 1
                                            : SSL_CTX_load_verify_locations(ctx.get(), config.ca_file.c_str(), nullptr) == 1;
  if (!ca_ok) return "TLS: cannot load the CA file " + config.ca_file + ": " + openssl_error();
  const std::string no_passphrase;
  SSL_CTX_set_default_passwd_cb(ctx.get(), key_passphrase);
  SSL_CTX_set_default_passwd_cb_userdata(
      ctx.get(), const_cast<std::string*>(config.key_password ? &*config.key_password : &no_passphrase));
  if (!config.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), config.cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx.get(), config.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      return "TLS: cannot use the client certificate " + config.cert_file + ": " + openssl_error();
    }
  }
  std::string error;
  const int fd = connect_with_timeout(host, port, static_cast<int>(timeout.count()), error);
  if (fd < 0) return error;
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  SSL_set_fd(ssl.get(), fd);
  // SNI: what SSL_set_tlsext_host_name expands to, without its C cast.
  SSL_ctrl(ssl.get(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(host.c_str()));
  if (config.verify_hostname) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl.get());
    // An IP literal is checked against the certificate's IP addresses, a name against its DNS names.
    in6_addr ip{};
    const bool literal = ::inet_pton(AF_INET, host.c_str(), &ip) == 1 || ::inet_pton(AF_INET6, host.c_str(), &ip) == 1;
    if (literal) {
      X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
    } else {
      X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
    }
  }
  ERR_clear_error();
  std::string result;
  if (SSL_connect(ssl.get()) != 1) {
    const long verify = SSL_get_verify_result(ssl.get());
    result = verify != X509_V_OK ? std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify)
                                 : openssl_error();
  } else {
    // TLS 1.3: a broker that wants a client certificate says so after the handshake.
    char byte = 0;
    if (SSL_peek(ssl.get(), &byte, 1) <= 0 && ERR_peek_error() != 0) result = openssl_error();
    SSL_shutdown(ssl.get());
  }
  ::close(fd);
  return result.empty() ? result : "TLS: " + result;
}

}  // namespace racktel
