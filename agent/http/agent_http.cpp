#include "http/agent_http.h"

#include <algorithm>

#include "agent.h"
#include "common/units.h"
#include "http/page_assets.h"
#include "status/metrics_text.h"
#include "status/page_data.h"
#include "status/status_report.h"
#include "wire/codec.h"

namespace racktel {

namespace {

constexpr const char* text_plain = "text/plain; charset=utf-8";
constexpr const char* json_type = "application/json";

http_reply json_reply(std::string body) {
  http_reply r{200, json_type, std::move(body)};
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

std::string status_json(const agent& a) { return to_json(a.report()); }

}  // namespace

agent_http::agent_http(event_loop& loop, const agent& a, limits l) : loop_(loop), agent_(a), limits_(l) {}

agent_http::~agent_http() {
  for (auto& s : streams_) s->close();
}

http_reply agent_http::answer(std::string_view method, std::string_view target) {
  const std::string_view path = target.substr(0, target.find('?'));
  if (method != "GET" && method != "HEAD") return {405, text_plain, "read-only: GET or HEAD\n"};
  if (const page_asset* asset = find_page_asset(path)) {
    http_reply r{200, std::string(asset->content_type), std::string(asset->body)};
    // Nothing from elsewhere: the page works in an aisle with no network, and
    // injected markup could reach nothing either.
    r.headers.emplace_back("Content-Security-Policy",
                           "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
                           "frame-ancestors 'none'");
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    r.headers.emplace_back("Cache-Control", "no-cache");
    return r;
  }
  if (path == "/metrics") {
    return {200, "text/plain; version=0.0.4; charset=utf-8",
            metrics_text(agent_.catalog().sensors, agent_.latest_readings(), agent_.report())};
  }
  if (path == "/api/catalog") return json_reply(page_catalog_json(agent_.catalog(), agent_.site(), agent_.rack()));
  if (path == "/api/status") return json_reply(status_json(agent_));
  if (path == "/api/events") return subscribe();
  if (path == "/api/history") {
    const auto key = query_parameter(target, "sensor");
    if (!key) return {400, text_plain, "expected /api/history?sensor=DRIVER/ID\n"};
    const auto& sensors = agent_.catalog().sensors;
    const auto found = std::find_if(sensors.begin(), sensors.end(), [&](const sensor_meta& m) {
      return m.id.size() + m.driver.size() + 1 == key->size() && m.key() == *key;
    });
    if (found == sensors.end() || agent_.history() == nullptr) return {404, text_plain, "no sensor " + *key + "\n"};
    return json_reply(history_json(*found, *agent_.history(), static_cast<std::size_t>(found - sensors.begin()),
                                   unix_now_ms()));
  }
  // Answering at all shows the main loop turns: this runs on it.
  if (path == "/healthz") return {200, text_plain, "ok\n"};
  if (path == "/readyz") {
    const status_report r = agent_.report();
    const bool drivers_open = !r.drivers.empty() && std::all_of(r.drivers.begin(), r.drivers.end(), [](const auto& d) {
      return d.state == "running" || d.state == "disabled";
    });
    const bool delivering = r.broker.connected || (r.spool.enabled && r.spool.error.empty());
    if (drivers_open && delivering) return {200, text_plain, "ready\n"};
    std::string why = drivers_open ? "" : "a driver is not open; ";
    if (!delivering) why += "no broker and no working spool; ";
    return {503, text_plain, "not ready: " + why.substr(0, why.size() - 2) + "\n"};
  }
  return {404, text_plain, "not found: try /, /metrics, /healthz or /readyz\n"};
}

http_reply agent_http::subscribe() {
  std::erase_if(streams_, [](const auto& s) { return s->closed(); });
  if (streams_.size() >= limits_.max_event_streams) {
    http_reply r{503, text_plain, "too many live pages open; close one or try again later\n"};
    r.headers.emplace_back("Retry-After", "10");
    return r;
  }
  // A page starts from everything there is, then gets what changes.
  const sensor_catalog& catalog = agent_.catalog();
  const auto& latest = agent_.latest_readings();
  std::vector<std::uint32_t> all(latest.size());
  for (std::uint32_t i = 0; i < all.size(); ++i) all[i] = i;
  auto stream = std::make_shared<event_stream>();
  stream->push(std::make_shared<const std::string>(server_event("status", status_json(agent_))));
  stream->push(std::make_shared<const std::string>(values_event(catalog, latest, all, unix_now_ms())));
  if (streams_.empty()) {
    // Start from now: what the new page was just given need not be sent again.
    catalog_version_ = catalog.version;
    sent_.resize(latest.size());
    for (std::size_t i = 0; i < latest.size(); ++i) sent_[i] = latest[i].time_ms;
  }
  streams_.push_back(stream);
  if (!timer_) arm_tick();
  http_reply r;
  r.events = std::move(stream);
  return r;
}

void agent_http::arm_tick() {
  timer_ = loop_.after(limits_.tick, [this] { tick(); });
}

void agent_http::broadcast(const std::shared_ptr<const std::string>& event) {
  for (auto& s : streams_) s->push(event);
}

void agent_http::tick() {
  std::erase_if(streams_, [](const auto& s) { return s->closed(); });
  if (streams_.empty()) {
    timer_.reset();  // nobody watching: no work at all
    return;
  }
  const sensor_catalog& catalog = agent_.catalog();
  const auto& latest = agent_.latest_readings();
  if (catalog.version != catalog_version_ || sent_.size() != latest.size()) {
    // The pages fetch the new catalog and reconnect for a fresh start.
    catalog_version_ = catalog.version;
    sent_.assign(latest.size(), 0);
    broadcast(std::make_shared<const std::string>(
        server_event("catalog", "{\"version\":\"" + catalog_version_text(catalog.version) + "\"}")));
  } else {
    std::vector<std::uint32_t> changed;
    for (std::uint32_t i = 0; i < latest.size(); ++i) {
      if (latest[i].time_ms != sent_[i]) {
        changed.push_back(i);
        sent_[i] = latest[i].time_ms;
      }
    }
    if (!changed.empty()) broadcast(std::make_shared<const std::string>(values_event(catalog, latest, changed, unix_now_ms())));
  }
  // The status (alarms, drivers, broker, spool) once a second.
  const std::int64_t ticks_a_second = std::max<std::int64_t>(1, 1000 / std::max<std::int64_t>(1, limits_.tick.count()));
  if (++ticks_ % static_cast<std::uint64_t>(ticks_a_second) == 0) {
    broadcast(std::make_shared<const std::string>(server_event("status", status_json(agent_))));
  }
  arm_tick();
}

}  // namespace racktel
