// The `redfish` driver: chip and board sensors read out of band from BMCs.
//
// Config keys:
//   username = "racktel"                   credentials for every BMC (overridable per BMC)
//   password = "..." | password_file = "/etc/racktel/bmc-password"
//   auth = "session"                       or "basic"
//   ca_file = "/etc/racktel/bmc-ca.pem"    trust for the BMCs' certificates (default: system store)
//   insecure = false                       true: no certificate checks (lab BMCs only; logged loudly)
//   [[drivers.bmcs]]                       one table per BMC
//   name = "tray0"
//   url = "https://127.0.0.1:8443"         (http:// for BMCs without TLS)
//
// All BMCs of an instance are polled concurrently, each within a budget that
// ends before the read's deadline, so a dead or slow BMC costs only its own
// sensors. A BMC that keeps failing is skipped for a few polls (back-off).
#include <fcntl.h>
#include <openssl/evp.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "racktel/driver.h"
#include "support/secret_file.h"
#include "support/sensor_states.h"
#include "support/single_group.h"
#include "redfish_discovery.h"
#include "redfish_model.h"

namespace racktel::redfish {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using clock_type = std::chrono::steady_clock;
using tcp = asio::ip::tcp;

struct bmc_settings {
  std::string name;
  bool tls = true;
  std::string host;
  std::string port;
  std::string username;
  std::string password;
  bool session_auth = true;
  std::string ca_file;
  bool insecure = false;
};

// "https://host:port" -> settings; empty string on success, else what is wrong.
std::string parse_url(const std::string& url, bmc_settings& s) {
  std::string rest;
  if (url.starts_with("https://")) {
    s.tls = true;
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    s.tls = false;
    rest = url.substr(7);
  } else {
    return "expected an URL such as \"https://10.1.2.3\" or \"https://bmc.tray3:8443\"";
  }
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.empty() || rest.find('/') != std::string::npos) return "expected scheme://host[:port] with no path";
  const std::size_t colon = rest.rfind(':');
  if (colon != std::string::npos && rest.find(']') == std::string::npos) {
    s.host = rest.substr(0, colon);
    s.port = rest.substr(colon + 1);
  } else {
    s.host = rest;
    s.port = s.tls ? "443" : "80";
  }
  if (s.host.size() > 2 && s.host.front() == '[' && s.host.back() == ']') s.host = s.host.substr(1, s.host.size() - 2);
  return {};
}

std::string base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// A resource that answered wrongly (HTTP error, malformed JSON): it costs its
// own sensors. Anything else thrown (timeout, TLS, refused) costs the whole BMC poll.
struct resource_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class bmc {
 public:
  bmc(asio::io_context& io, bmc_settings settings, const racktel_host* host)
      : io_(io), settings_(std::move(settings)), host_(host), tls_context_(ssl::context::tls_client) {
    tls_context_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                             ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    if (settings_.insecure) {
      tls_context_.set_verify_mode(ssl::verify_none);
      log(RACKTEL_LOG_WARN, "certificate checks are OFF for this BMC (insecure = true): anyone on the path "
                            "can impersonate it; use ca_file instead outside the lab");
    } else {
      tls_context_.set_verify_mode(ssl::verify_peer);
      boost::system::error_code ec;
      if (!settings_.ca_file.empty()) {
        tls_context_.load_verify_file(settings_.ca_file, ec);
        if (ec) log(RACKTEL_LOG_ERROR, "cannot load ca_file " + settings_.ca_file + ": " + ec.message());
      } else {
        tls_context_.set_default_verify_paths(ec);
      }
      tls_context_.set_verify_callback(ssl::host_name_verification(settings_.host));
    }
  }

  const std::string& name() const { return settings_.name; }
  const std::vector<sensor_def>& sensors() const { return sensors_; }
  bool discovered() const { return discovered_; }
  bool ok() const { return ok_; }
  const document_index& documents() const { return index_; }
  std::uint64_t discoveries() const { return discoveries_; }

  asio::awaitable<void> poll(clock_type::time_point budget_end) {
    ok_ = false;
    index_.clear();
    documents_.clear();
    if (skip_polls_ > 0) {
      --skip_polls_;
      co_return;
    }
    budget_end_ = budget_end;
    std::string error;
    const std::size_t cached_before = discovery_cache_.size();
    try {
      if (!discovered_) co_await discover();
      for (const std::string& uri : poll_uris_) {
        try {
          auto doc = co_await get(uri);
          documents_.emplace_back(uri, std::move(doc));
        } catch (const resource_error& e) {
          report_resource(e.what());
        }
      }
      for (const auto& [uri, doc] : documents_) index_document(strip_query(uri), doc, index_);
      ok_ = true;
      if (failures_ > 0) log(RACKTEL_LOG_INFO, "answering again after " + std::to_string(failures_) + " failed polls");
      failures_ = 0;
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (!ok_ && !discovered_ && discovery_cache_.size() > cached_before) {
      // Discovery of a large BMC can take several polls: it made progress, so
      // it is not a failure; the next poll carries on from the cache.
      log(RACKTEL_LOG_DEBUG, "discovery continues next poll (" + std::to_string(discovery_cache_.size()) +
                                 " resources read so far)");
      close_connection();
      co_return;
    }
    if (!ok_) {
      ++failures_;
      // Back off: skip 1, 3, 7 polls after repeated failures, so a dead BMC costs nothing.
      skip_polls_ = (1U << std::min(failures_, 3U)) - 1;
      if (failures_ == 1 || failures_ % 20 == 0 || error != last_error_) {
        log(RACKTEL_LOG_ERROR, error + " (" + std::to_string(failures_) + " failed polls; its sensors read as errors)");
      }
      last_error_ = error;
      close_connection();
    }
  }

  // Ends the Redfish session, if any (called at shutdown).
  asio::awaitable<void> logout(clock_type::time_point budget_end) {
    if (session_location_.empty()) co_return;
    budget_end_ = budget_end;
    try {
      co_await request(http::verb::delete_, session_location_, "", true);
    } catch (const std::exception&) {
    }
    session_location_.clear();
    token_.clear();
  }

 private:
  static std::string strip_query(const std::string& uri) { return uri.substr(0, uri.find('?')); }

  void log(racktel_log_level level, const std::string& message) const {
    const std::string text = "BMC " + settings_.name + " (" + settings_.host + "): " + message;
    host_->log(host_->ctx, level, text.c_str());
  }

  [[noreturn]] void fail(const std::string& what) const { throw std::runtime_error(what); }
  [[noreturn]] void fail_resource(const std::string& what) const { throw resource_error(what); }
  void report_resource(const std::string& what) {
    // Once per distinct problem and then every 50th time, so a broken resource does not flood the log.
    if (what != last_resource_error_ || ++resource_errors_ % 50 == 0) {
      log(RACKTEL_LOG_ERROR, what + "; the sensors it holds read as errors");
    }
    last_resource_error_ = what;
  }

  void close_connection() {
    boost::system::error_code ec;
    if (tls_stream_) beast::get_lowest_layer(*tls_stream_).socket().close(ec);
    if (plain_stream_) plain_stream_->socket().close(ec);
    tls_stream_.reset();
    plain_stream_.reset();
  }

  asio::awaitable<void> connect() {
    tcp::resolver resolver(io_);
    auto endpoints = co_await resolver.async_resolve(settings_.host, settings_.port, asio::use_awaitable);
    if (settings_.tls) {
      tls_stream_.emplace(io_, tls_context_);
      beast::get_lowest_layer(*tls_stream_).expires_at(budget_end_);
      co_await beast::get_lowest_layer(*tls_stream_).async_connect(endpoints, asio::use_awaitable);
      close_on_exec(beast::get_lowest_layer(*tls_stream_).socket().native_handle());
      // SNI (what SSL_set_tlsext_host_name expands to, without its C cast).
      SSL_ctrl(tls_stream_->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(settings_.host.c_str()));
      co_await tls_stream_->async_handshake(ssl::stream_base::client, asio::use_awaitable);
    } else {
      plain_stream_.emplace(io_);
      plain_stream_->expires_at(budget_end_);
      co_await plain_stream_->async_connect(endpoints, asio::use_awaitable);
      close_on_exec(plain_stream_->socket().native_handle());
    }
  }

  // Asio does not open sockets close-on-exec: a command some other driver runs
  // must not inherit a BMC session.
  static void close_on_exec(int fd) {
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  }

  template <typename Stream>
  asio::awaitable<http::response<http::string_body>> exchange(Stream& stream, http::request<http::string_body>& req) {
    beast::get_lowest_layer(stream).expires_at(budget_end_);
    co_await http::async_write(stream, req, asio::use_awaitable);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(16U << 20U);
    co_await http::async_read(stream, buffer, parser, asio::use_awaitable);
    co_return parser.release();
  }

  asio::awaitable<http::response<http::string_body>> request(http::verb verb, const std::string& target,
                                                             const std::string& body, bool authenticate) {
    if (clock_type::now() >= budget_end_) fail("no time left in this poll (deadline)");
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, settings_.host);
    req.set(http::field::user_agent, "racktel");
    req.set(http::field::accept, "application/json");
    req.keep_alive(true);
    if (!body.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
    }
    if (authenticate) {
      if (settings_.session_auth) {
        req.set("X-Auth-Token", token_);
      } else {
        req.set(http::field::authorization, "Basic " + base64(settings_.username + ":" + settings_.password));
      }
    }
    req.prepare_payload();
    // One retry on a fresh connection: a kept-alive connection may have been closed by the BMC.
    for (int attempt = 0;; ++attempt) {
      try {
        if (!tls_stream_ && !plain_stream_) co_await connect();
        // (No co_await inside ?: : GCC 12 mishandles the temporaries of such expressions.)
        http::response<http::string_body> res;
        if (tls_stream_) {
          res = co_await exchange(*tls_stream_, req);
        } else {
          res = co_await exchange(*plain_stream_, req);
        }
        if (!res.keep_alive()) close_connection();
        co_return res;
      } catch (const boost::system::system_error& e) {
        close_connection();
        const bool timed_out = e.code() == beast::error::timeout || clock_type::now() >= budget_end_;
        if (attempt == 0 && !timed_out && e.code() != asio::error::connection_refused &&
            e.code().category() != asio::error::get_ssl_category()) {
          continue;
        }
        if (timed_out) fail("no answer within the poll's deadline (" + target + ")");
        if (e.code().category() == asio::error::get_ssl_category() ||
            e.code() == asio::ssl::error::stream_truncated) {
          fail("TLS handshake failed: " + e.code().message() +
               " (check the BMC's certificate, its host name, and ca_file)");
        }
        fail(target + ": " + e.code().message());
      }
    }
  }

  asio::awaitable<void> login() {
    json::object credentials{{"UserName", settings_.username}, {"Password", settings_.password}};
    auto res = co_await request(http::verb::post, "/redfish/v1/SessionService/Sessions", json::serialize(credentials),
                                false);
    if (res.result() == http::status::unauthorized || res.result() == http::status::forbidden) {
      fail("the BMC refused the credentials (HTTP " + std::to_string(res.result_int()) + ")");
    }
    if (res.result_int() / 100 != 2 || res["X-Auth-Token"].empty()) {
      fail("cannot create a Redfish session: HTTP " + std::to_string(res.result_int()));
    }
    token_ = std::string(res["X-Auth-Token"]);
    session_location_ = std::string(res[http::field::location]);
    // Location may be absolute: keep the path.
    if (auto p = session_location_.find("/redfish/"); p != std::string::npos) session_location_ = session_location_.substr(p);
  }

  asio::awaitable<json::value> get(const std::string& target) {
    if (settings_.session_auth && token_.empty()) co_await login();
    auto res = co_await request(http::verb::get, target, "", true);
    if (res.result() == http::status::unauthorized && settings_.session_auth) {
      // The session expired or the BMC restarted: one new session, then give up for this poll.
      token_.clear();
      co_await login();
      res = co_await request(http::verb::get, target, "", true);
    }
    if (res.result() == http::status::unauthorized) fail("the BMC refused the credentials (HTTP 401)");
    if (res.result_int() != 200) fail_resource(target + ": HTTP " + std::to_string(res.result_int()));
    boost::system::error_code ec;
    json::value doc = json::parse(res.body(), ec);
    if (ec) fail_resource(target + ": malformed JSON (" + ec.message() + ")");
    co_return doc;
  }

  // Discovery: the walk (redfish_discovery.h) says which documents it needs;
  // they are fetched here and kept, so that an attempt cut short by the
  // poll's deadline resumes where it stopped.
  asio::awaitable<void> discover() {
    for (;;) {
      discovery_result walked = walk_discovery(discovery_cache_);
      if (!walked.fatal.empty()) {
        discovery_cache_.clear();
        fail(walked.fatal);
      }
      if (walked.complete()) {
        for (const std::string& problem : walked.problems) report_resource(problem);
        sensors_ = std::move(walked.sensors);
        poll_uris_ = std::move(walked.poll_uris);
        discovered_ = true;
        discovery_cache_.clear();
        ++discoveries_;
        log(RACKTEL_LOG_INFO, std::to_string(sensors_.size()) + " sensors in " + std::to_string(poll_uris_.size()) +
                                  " resource(s)" + (walked.expand ? ", using $expand" : ""));
        co_return;
      }
      for (const std::string& uri : walked.missing) {
        // A resource that answers wrongly costs only itself; the walk goes round it.
        try {
          json::value doc = co_await get(uri);
          discovery_cache_[uri] = {std::move(doc), {}};
        } catch (const resource_error& e) {
          discovery_cache_[uri] = {std::nullopt, e.what()};
        }
      }
    }
  }

  asio::io_context& io_;
  bmc_settings settings_;
  const racktel_host* host_;
  ssl::context tls_context_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_stream_;
  std::optional<beast::tcp_stream> plain_stream_;
  clock_type::time_point budget_end_;
  std::string token_;
  std::string session_location_;
  bool discovered_ = false;
  std::uint64_t discoveries_ = 0;
  std::vector<sensor_def> sensors_;
  std::vector<std::string> poll_uris_;
  std::vector<std::pair<std::string, json::value>> documents_;
  document_index index_;
  bool ok_ = false;
  unsigned failures_ = 0;
  unsigned skip_polls_ = 0;
  std::string last_error_;
  std::string last_resource_error_;
  unsigned resource_errors_ = 0;
  document_cache discovery_cache_;
};

struct catalog_entry {
  std::size_t bmc;
  std::size_t def;
  std::string id;
  std::string location;
};

struct instance {
  const racktel_host* host = nullptr;
  asio::io_context io;
  std::vector<std::unique_ptr<bmc>> bmcs;
  std::vector<catalog_entry> catalog;
  std::vector<std::uint64_t> seen_discoveries;
  std::uint64_t generation = 0;

  void rebuild_catalog() {
    catalog.clear();
    for (std::size_t b = 0; b < bmcs.size(); ++b) {
      const auto& defs = bmcs[b]->sensors();
      for (std::size_t d = 0; d < defs.size(); ++d) {
        catalog.push_back({b, d, sanitise_id(bmcs[b]->name()) + "." + defs[d].id,
                           "bmc=" + sanitise_id(bmcs[b]->name()) + "," + defs[d].location});
      }
    }
    ++generation;
  }
};

bool read_common(const racktel_config* config, const std::string& prefix, bmc_settings& s) {
  bool ok = true;
  const char* v = nullptr;
  if (int got = config->get_string(config->ctx, (prefix + "username").c_str(), &v); got == 1) {
    s.username = v;
  } else if (got < 0) {
    ok = false;
  }
  ok = drivers::read_secret(config, prefix, "password", s.password) && ok;
  if (int got = config->get_string(config->ctx, (prefix + "auth").c_str(), &v); got == 1) {
    const std::string auth = v;
    if (auth != "session" && auth != "basic") {
      config->error(config->ctx, (prefix + "auth").c_str(), "expected \"session\" or \"basic\"");
      ok = false;
    }
    s.session_auth = auth == "session";
  } else if (got < 0) {
    ok = false;
  }
  if (int got = config->get_string(config->ctx, (prefix + "ca_file").c_str(), &v); got == 1) {
    s.ca_file = v;
  } else if (got < 0) {
    ok = false;
  }
  int insecure = s.insecure ? 1 : 0;
  if (config->get_bool(config->ctx, (prefix + "insecure").c_str(), &insecure) < 0) ok = false;
  s.insecure = insecure != 0;
  return ok;
}

int redfish_open(const racktel_host* host, const racktel_config* config, std::uint32_t open_flags,
                 void** out) noexcept {
  try {
    auto inst = std::make_unique<instance>();
    inst->host = host;
    bmc_settings defaults;
    bool ok = read_common(config, "", defaults);
    const int count = config->array_size(config->ctx, "bmcs");
    if (count <= 0) {
      config->error(config->ctx, "bmcs", "expected at least one [[drivers.bmcs]] table with name and url");
      ok = false;
    }
    std::vector<bmc_settings> all;
    for (int i = 0; i < count; ++i) {
      const std::string prefix = "bmcs[" + std::to_string(i) + "].";
      bmc_settings s = defaults;
      const char* name = nullptr;
      const char* url = nullptr;
      const int has_name = config->get_string(config->ctx, (prefix + "name").c_str(), &name);
      const int has_url = config->get_string(config->ctx, (prefix + "url").c_str(), &url);
      if (has_name == 0) config->error(config->ctx, (prefix + "name").c_str(), "missing; expected the BMC's name");
      if (has_url == 0) config->error(config->ctx, (prefix + "url").c_str(), "missing; expected https://host[:port]");
      if (has_name != 1 || has_url != 1) {
        ok = false;
        continue;
      }
      s.name = name;
      if (auto why = parse_url(url, s); !why.empty()) {
        config->error(config->ctx, (prefix + "url").c_str(), why.c_str());
        ok = false;
      }
      ok = read_common(config, prefix, s) && ok;
      if (s.username.empty()) {
        config->error(config->ctx, (prefix + "name").c_str(), "no username for this BMC (set \"username\")");
        ok = false;
      }
      if (!s.tls && !s.username.empty()) {
        // Basic auth sends the password with every request, a session login once: both readable on the path.
        const std::string why = "BMC " + s.name + ": " + (s.session_auth ? "the session login" : "basic authentication") +
                                " sends the password in cleartext over http://; use https://";
        if (RACKTEL_HOST_STRICT_SECURITY(host)) {
          config->error(config->ctx, (prefix + "url").c_str(), (why + " ([agent] security = \"strict\")").c_str());
          ok = false;
        } else {
          host->log(host->ctx, RACKTEL_LOG_WARN, why.c_str());
        }
      }
      all.push_back(std::move(s));
    }
    if (!ok) return RACKTEL_DRIVER_FAILED;
    if ((open_flags & RACKTEL_OPEN_VALIDATE_ONLY) == 0) {
      for (auto& s : all) inst->bmcs.push_back(std::make_unique<bmc>(inst->io, std::move(s), host));
      inst->seen_discoveries.assign(inst->bmcs.size(), 0);
    }
    *out = inst.release();
    return RACKTEL_DRIVER_OK;
  } catch (const std::exception& e) {
    host->log(host->ctx, RACKTEL_LOG_ERROR, e.what());
    return RACKTEL_DRIVER_FAILED;
  }
}

void redfish_close(void* p) noexcept {
  auto* inst = static_cast<instance*>(p);
  try {
    // End the sessions we opened: BMCs have few session slots.
    const auto end = clock_type::now() + std::chrono::seconds(2);
    inst->io.restart();
    for (auto& b : inst->bmcs) asio::co_spawn(inst->io, b->logout(end), asio::detached);
    inst->io.run_for(std::chrono::seconds(3));
  } catch (const std::exception&) {
  }
  delete inst;
}

std::uint32_t redfish_sensor_count(void* p) noexcept {
  return static_cast<std::uint32_t>(static_cast<instance*>(p)->catalog.size());
}

int redfish_sensor_info(void* p, std::uint32_t index, racktel_sensor_info* info) noexcept {
  auto* inst = static_cast<instance*>(p);
  if (index >= inst->catalog.size()) return RACKTEL_DRIVER_FAILED;
  const catalog_entry& e = inst->catalog[index];
  const sensor_def& d = inst->bmcs[e.bmc]->sensors()[e.def];
  info->id = e.id.c_str();
  info->name = d.name.c_str();
  info->kind = d.kind;
  info->unit = d.unit.c_str();
  info->location = e.location.c_str();
  info->resolution = d.resolution;
  info->warn_low = d.warn_low;
  info->warn_high = d.warn_high;
  info->crit_low = d.crit_low;
  info->crit_high = d.crit_high;
  info->group = 0;
  racktel::drivers::set_state_words(info, d.states);
  return RACKTEL_DRIVER_OK;
}


int redfish_read(void* p, const racktel_read_request* request, std::uint32_t* written) noexcept {
  auto* inst = static_cast<instance*>(p);
  try {
    // Each BMC must finish a little before the read's deadline, or its answer
    // (and every other BMC's with it) would arrive too late to count.
    const auto deadline = clock_type::time_point(std::chrono::nanoseconds(request->deadline_ns));
    const auto now = clock_type::now();
    const auto budget_end = now + (deadline - now) * 8 / 10;
    inst->io.restart();
    for (auto& b : inst->bmcs) asio::co_spawn(inst->io, b->poll(budget_end), asio::detached);
    inst->io.run();
    bool changed = false;
    for (std::size_t b = 0; b < inst->bmcs.size(); ++b) {
      if (inst->bmcs[b]->discoveries() != inst->seen_discoveries[b]) {
        inst->seen_discoveries[b] = inst->bmcs[b]->discoveries();
        changed = true;
      }
    }
    if (changed) inst->rebuild_catalog();
    std::uint32_t n = 0;
    for (std::uint32_t i = 0; i < inst->catalog.size() && n < request->capacity; ++i) {
      const catalog_entry& e = inst->catalog[i];
      const bmc& b = *inst->bmcs[e.bmc];
      std::optional<double> v = b.ok() ? value_of(b.sensors()[e.def], b.documents()) : std::nullopt;
      request->samples[n++] = {i, static_cast<std::uint32_t>(v ? RACKTEL_READING_OK : RACKTEL_READING_ERROR),
                               v.value_or(0.0)};
    }
    *written = n;
    return RACKTEL_DRIVER_OK;
  } catch (const std::exception& e) {
    inst->host->log(inst->host->ctx, RACKTEL_LOG_ERROR, e.what());
    return RACKTEL_DRIVER_FAILED;
  }
}

std::uint64_t redfish_catalog_generation(void* p) noexcept { return static_cast<instance*>(p)->generation; }

}  // namespace
}  // namespace racktel::redfish

extern "C" const racktel_driver racktel_redfish_driver = {
    sizeof(racktel_driver),
    RACKTEL_DRIVER_ABI_MAJOR,
    RACKTEL_DRIVER_ABI_MINOR,
    "redfish",
    "DMTF Redfish BMCs over HTTPS: Sensors, ThermalSubsystem/PowerSubsystem, legacy Thermal/Power",
    RACKTEL_DRIVER_MAY_BLOCK,
    racktel::redfish::redfish_open,
    racktel::redfish::redfish_close,
    racktel::redfish::redfish_sensor_count,
    racktel::redfish::redfish_sensor_info,
    racktel::drivers::single_group_count,
    racktel::drivers::single_group_info,
    racktel::redfish::redfish_read,
    racktel::redfish::redfish_catalog_generation,
    racktel::drivers::single_group_names,
};
