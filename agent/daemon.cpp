#include "daemon.h"

#include <pwd.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <boost/asio/signal_set.hpp>
#include <boost/json.hpp>
#include <csignal>
#include <thread>

#include "agent.h"
#include "common/asio_event_loop.h"
#include "common/units.h"
#include "drivers/validate.h"
#include "reloader.h"
#include "service/service_notifier.h"
#include "service/state_lock.h"
#include "status/commission_command.h"
#include "status/maintenance_command.h"
#include "status/status_server.h"
#include "http/agent_http.h"
#include "http/http_server.h"

namespace racktel {

namespace {

// One line for `systemctl status`: what a technician checks first.
std::string service_status(const status_report& r) {
  std::string s = r.broker.connected ? "broker " + r.broker.server : "broker NOT connected";
  if (r.spool.enabled) {
    s += "; spool " + std::to_string(r.spool.pending_batches) + " batches undelivered";
    if (!r.spool.error.empty()) s += " (ERROR: " + r.spool.error + ")";
  }
  s += "; " + std::to_string(r.sensors) + " sensors, " + std::to_string(r.sensors_failing + r.sensors_stale) +
       " failing";
  if (r.dropped_readings > 0) s += "; " + std::to_string(r.dropped_readings) + " readings dropped";
  return s;
}

// The user behind a socket peer, for the record of who opened or ended a window.
std::string user_name(uid_t uid) {
  passwd entry{};
  passwd* found = nullptr;
  std::vector<char> buffer(16384);
  if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr) return found->pw_name;
  return "uid " + std::to_string(uid);
}

// Who did something, for the record: the name the caller gave, with the user
// the kernel says it is when they differ ("alice (tech3)"); that user alone
// when no name was given.
std::string recorded_by(const std::string& given, uid_t uid) {
  const std::string caller = user_name(uid);
  return given.empty() || given == caller ? caller : given + " (" + caller + ")";
}

// `racktel maintenance ...` on the status socket. Anyone who may connect
// may list; opening and ending a window takes the right to change the agent.
std::string maintenance_answer(agent& a, const std::string& line, const peer_credentials& peer, bool allowed) {
  maintenance_command c = parse_maintenance_command(line);
  if (!c.error.empty()) return maintenance_answer_json(false, c.error, nullptr);
  if (c.what == maintenance_command::action::list) {
    return maintenance_list_json(a.maintenance_report(), unix_now_ms());
  }
  if (!allowed) {
    spdlog::warn("status socket: maintenance {} refused to uid {} (pid {}): not root, the agent's user or in "
                 "[agent] control_groups", c.what == maintenance_command::action::start ? "start" : "end", peer.uid,
                 peer.pid);
    return maintenance_answer_json(false, "not allowed: opening or ending a maintenance window takes root, the "
                                          "agent's user or a member of [agent] control_groups", nullptr);
  }
  if (c.what == maintenance_command::action::start) {
    c.request.by = recorded_by(c.request.by, peer.uid);
    const auto answer = a.start_maintenance(std::move(c.request));
    return maintenance_answer_json(answer.ok, answer.message, answer.window ? &*answer.window : nullptr);
  }
  const auto answer = a.end_maintenance(c.id, recorded_by(c.by, peer.uid));
  return maintenance_answer_json(answer.ok, answer.message, answer.window ? &*answer.window : nullptr);
}

// `racktel commission` on the status socket. Checking is reading; publishing
// the report (what remote maintenance takes as the rack's acceptance) takes
// the right to change the agent.
std::string commission_answer(agent& a, const std::string& line, const peer_credentials& peer, bool allowed) {
  const commission_command c = parse_commission_command(line);
  if (!c.error.empty()) return commission_json({}, false, {}, c.error);
  const expectation_file file = parse_expectations(c.expect, c.source);
  if (!file.errors.empty()) return commission_json({}, false, file.errors);
  const commission_report report = a.commission(file.expectations);
  if (!c.publish) return commission_json(report, false, {});
  if (!allowed) {
    spdlog::warn("status socket: commission report refused to uid {} (pid {}): not root, the agent's user or in "
                 "[agent] control_groups", peer.uid, peer.pid);
    return commission_json(report, false, {}, "not allowed: publishing a commissioning report takes root, the agent's "
                                               "user or a member of [agent] control_groups");
  }
  a.publish_commission(report, recorded_by(c.by, peer.uid),
                       c.source + (file.description.empty() ? "" : ": " + file.description));
  return commission_json(report, true, {});
}

}  // namespace

int run_agent(const agent_config& config, const daemon_options& options) {
  // Before anything touches the spool or the status socket.
  const state_lock lock(config.state_dir);
  boost::asio::io_context io(1);
  auto loop = make_asio_event_loop(io);
  const std::string driver_dir = driver_directory(config.driver_dir);
  agent a(*loop, config, driver_loader(builtin_drivers(), driver_dir));

  // Re-reads the file the agent started with, off the main loop; applies it
  // only if all of it validates. Requests during a reload are coalesced.
  reloader reloads(a, *loop, config.source_file, driver_dir);

  // Anyone who can connect (the socket's group) may read; changing the agent
  // takes root, the agent's own user or a member of [agent] control_groups.
  auto handle_command = [&a, &options, &reloads](const std::string& command, const peer_credentials& peer,
                                                 const status_server::reply_fn& reply) {
    const report_request request = parse_report_request(command);
    if (request.command == "status" || request.command == "sensors") {
      if (!request.error.empty()) return reply(boost::json::serialize(boost::json::object{{"error", request.error}}));
      if (request.command == "sensors") return reply(to_json(a.sensor_reports(request.match), unix_now_ms()));
      return reply(to_json(a.report(request)));
    }
    const bool allowed = may_change_agent(peer, ::geteuid(), a.control_gids());
    if (command.starts_with("commission ")) {
      return reply(commission_answer(a, command.substr(11), peer, allowed));
    }
    if (command == "maintenance" || command.starts_with("maintenance ")) {
      return reply(maintenance_answer(a, command.substr(std::min<std::size_t>(command.size(), 12)), peer, allowed));
    }
    if (command == "reload") {
      if (!allowed) {
        spdlog::warn("status socket: reload refused to uid {} (pid {}): not root, the agent's user or in "
                     "[agent] control_groups", peer.uid, peer.pid);
        return reply(R"({"ok":false,"message":"not allowed: reloading takes root, the agent's user or a )"
                     R"(member of [agent] control_groups","errors":[]})");
      }
      return reloads.request([reply](const reload_report& r) {
        boost::json::object o{{"ok", r.ok}, {"message", r.message},
                              {"errors", boost::json::array(r.errors.begin(), r.errors.end())}};
        reply(boost::json::serialize(o));
      });
    }
#ifdef RACKTEL_TEST_HOOKS
    if (options.test_hooks && allowed && command.starts_with("test-stall ")) {
      const int ms = std::atoi(command.c_str() + 11);
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));  // the main loop, blocked on purpose
      return reply(std::string(R"({"stalled_ms":)") + std::to_string(ms) + "}");
    }
#else
    (void)options;
#endif
    reply(R"({"error":"unknown command; expected \"status\", \"sensors\", \"maintenance\" or \"reload\""})");
  };
  std::unique_ptr<status_server> status;
  try {
    status = std::make_unique<status_server>(io, status_server_options{config.status_socket}, handle_command);
  } catch (const std::system_error& e) {
    // Telemetry matters more than the local status view: go on without it.
    spdlog::error("{}: {}; `racktel status` will not work", e.what(), e.code().message());
  }

  // [http]: the page, its data, /metrics, /healthz and /readyz on the main
  // loop, read-only; the server bounds connections, request size and time
  // (http/http_server.h), agent_http what live pages may hold.
  agent_http face(*loop, a);
  std::vector<std::unique_ptr<http_server>> http;
  for (const std::string& address : config.http.listen) {
    try {
      auto server = std::make_unique<http_server>(io, [&face](std::string_view method, std::string_view target) {
        return face.answer(method, target);
      });
      if (!config.http.cert_file.empty()) server->use_tls(config.http.cert_file, config.http.key_file);
      if (config.http.username && config.http.password) {
        server->require_basic_auth(*config.http.username, *config.http.password, {"/healthz", "/readyz"});
      }
      const unsigned short port = server->listen(address);
      spdlog::info("http: the page, /metrics, /healthz and /readyz on {}://{} (port {})",
                   config.http.cert_file.empty() ? "http" : "https", address, port);
      http.push_back(std::move(server));
    } catch (const std::exception& e) {
      // Telemetry matters more than the page: go on without it.
      spdlog::error("http: {}; the page and /metrics will not be served there", e.what());
    }
  }

  const service_notifier notifier;
  boost::asio::signal_set stop_signals(io, SIGTERM, SIGINT);
  boost::asio::signal_set hangup(io, SIGHUP);
  stop_signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("received {}", signal == SIGTERM ? "SIGTERM" : "SIGINT");
    notifier.stopping();
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
      spdlog::info("SIGHUP: reloading {}", config.source_file);
      reloads.request();
      wait_hangup();
    });
  };
  wait_hangup();

  a.start();
  // Ready: the config is loaded, the drivers are open and their first polls are scheduled.
  notifier.ready(service_status(a.report()));
  // The watchdog is fed from the main loop and from nowhere else: if the loop
  // wedges, the pings stop and systemd restarts the service.
  std::unique_ptr<timer_handle> watchdog_timer;
  std::function<void()> feed = [&] {
    notifier.watchdog();
    watchdog_timer = loop->after(*notifier.watchdog_ping_interval(), feed);
  };
  if (notifier.watchdog_ping_interval()) feed();
  std::unique_ptr<timer_handle> status_timer;
  std::function<void()> report = [&] {
    notifier.status(service_status(a.report()));
    status_timer = loop->after(std::chrono::seconds(5), report);
  };
  if (notifier.enabled()) status_timer = loop->after(std::chrono::seconds(5), report);
  io.run();
  // Reads were cancelled at shutdown; give every lane the same few seconds to
  // finish, all at once, then leave the ones that hang (their threads end with
  // the process, and the exec driver's reapers with them).
  const auto lanes = a.lanes();
  for (lane* l : lanes) l->request_stop();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  std::size_t hung = 0;
  for (lane* l : lanes) hung += l->wait_until(deadline) ? 0 : 1;
  if (hung > 0) spdlog::warn("{} driver lane(s) still in a read at exit; abandoned", hung);
  spdlog::info("racktel-agent stopped");
  return 0;
}

}  // namespace racktel
