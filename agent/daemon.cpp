#include "daemon.h"

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>

#include "agent.h"
#include "common/asio_event_loop.h"
#include "status/status_server.h"

#ifndef RACKTEL_DEFAULT_DRIVER_DIR
#define RACKTEL_DEFAULT_DRIVER_DIR "/usr/lib/racktel/drivers"
#endif

namespace racktel {

int run_agent(const agent_config& config) {
  boost::asio::io_context io(1);
  auto loop = make_asio_event_loop(io);
  const std::string driver_dir = config.driver_dir.empty() ? RACKTEL_DEFAULT_DRIVER_DIR : config.driver_dir;
  agent a(*loop, config, driver_loader(builtin_drivers(), driver_dir));

  std::unique_ptr<status_server> status;
  try {
    status = std::make_unique<status_server>(io, config.status_socket, [&a](const std::string& command) {
      if (command == "status" || command.empty()) return to_json(a.report());
      return std::string(R"({"error":"unknown command; expected \"status\""})");
    });
  } catch (const std::system_error& e) {
    // Telemetry matters more than the local status view: go on without it.
    spdlog::error("{}: {}; `racktel status` will not work", e.what(), e.code().message());
  }

  boost::asio::signal_set stop_signals(io, SIGTERM, SIGINT);
  boost::asio::signal_set hangup(io, SIGHUP);
  stop_signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("received {}", signal == SIGTERM ? "SIGTERM" : "SIGINT");
    hangup.cancel();
    a.shutdown([&io] { io.stop(); });
    // A second signal while flushing means "now".
    stop_signals.async_wait([&io](const boost::system::error_code& ec2, int) {
      if (!ec2) io.stop();
    });
  });
  std::function<void()> wait_hangup = [&] {
    hangup.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      spdlog::warn("SIGHUP: live reload is not available in this version; restart the agent to apply a new config");
      wait_hangup();
    });
  };
  wait_hangup();

  a.start();
  io.run();
  spdlog::info("racktel-agent stopped");
  return 0;
}

}  // namespace racktel
