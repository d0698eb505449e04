// The agent's HTTP face, read-only: the technician's page (/, its script and
// style, shipped inside the binary), its data (/api/catalog, /api/status,
// /api/history, and /api/events: live values and status as server-sent
// events), /metrics for Prometheus, /healthz and /readyz. Runs on the main
// loop; what it builds for the live pages is built once per tick and shared.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/event_loop.h"
#include "http/http_server.h"

namespace racktel {

class agent;

class agent_http {
 public:
  struct limits {
    std::size_t max_event_streams = 32;  // live pages at once; more are answered 503
    std::chrono::milliseconds tick{500};  // how often live pages get what changed
  };
  agent_http(event_loop& loop, const agent& a, limits l);
  agent_http(event_loop& loop, const agent& a) : agent_http(loop, a, limits{}) {}
  ~agent_http();
  agent_http(const agent_http&) = delete;
  agent_http& operator=(const agent_http&) = delete;

  http_reply answer(std::string_view method, std::string_view target);
  std::size_t event_streams() const { return streams_.size(); }

 private:
  http_reply subscribe();
  void arm_tick();
  void tick();
  void broadcast(const std::shared_ptr<const std::string>& event);

  event_loop& loop_;
  const agent& agent_;
  limits limits_;
  std::vector<std::shared_ptr<event_stream>> streams_;
  std::unique_ptr<timer_handle> timer_;
  std::uint64_t catalog_version_ = 0;
  std::vector<std::int64_t> sent_;  // per sensor: the reading time last sent to the live pages
  std::uint64_t ticks_ = 0;
};

}  // namespace racktel
