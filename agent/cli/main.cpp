// racktel: the command-line tool for technicians and ingestion engineers.
#include <CLI/CLI.hpp>

#include "agent.h"
#include "commands.h"
#include "common/units.h"

int main(int argc, char** argv) {
  CLI::App app{"racktel: check a racktel configuration, read an agent's status, decode its MQTT stream"};
  app.require_subcommand(1);
  app.set_version_flag("--version", racktel::racktel_version());

  std::string config_path;
  auto* check = app.add_subcommand("check-config", "validate a configuration file without starting anything");
  check->add_option("file", config_path, "configuration file")->required();

  // The agent's status socket: --socket, else the one --config names, else the packaged default.
  std::string socket_path = "/run/racktel/status.sock";
  std::string socket_config;
  auto socket_options = [&](CLI::App* command) {
    auto* by_path = command->add_option("-s,--socket", socket_path, "the agent's status socket")->capture_default_str();
    command->add_option("-c,--config", socket_config, "find the socket in this agent configuration file")
        ->excludes(by_path);
  };
  racktel::cli::report_options report;
  auto* status = app.add_subcommand("status", "show what the local agent is doing");
  socket_options(status);
  status->add_flag("--json", report.json, "print the raw JSON document");
  status->add_flag("--all", report.all, "list every sensor needing attention, not the first 100");
  status->add_option("-m,--match", report.match, "only sensors matching this glob (driver/id, or id without '/')");

  auto* sensors = app.add_subcommand("sensors", "every sensor with its value, status, limits and age");
  socket_options(sensors);
  sensors->add_flag("--json", report.json, "one JSON document");
  sensors->add_option("-m,--match", report.match, "only sensors matching this glob (driver/id, or id without '/')");

  auto* reload = app.add_subcommand("reload", "make the agent re-read its configuration (like SIGHUP)");
  socket_options(reload);

  racktel::cli::maintenance_options maint;
  auto* maintenance = app.add_subcommand("maintenance", "open, list and end maintenance windows (alarms suppressed)");
  maintenance->require_subcommand(1);
  auto* maint_list = maintenance->add_subcommand("list", "the open windows");
  socket_options(maint_list);
  maint_list->add_flag("--json", maint.json, "print the raw JSON document");
  auto* maint_start = maintenance->add_subcommand("start", "open a window over some sensors: their alarms are marked suppressed");
  socket_options(maint_start);
  maint_start->add_option("-m,--match", maint.match, "sensors: a glob on driver/id (or id without '/'), e.g. 'rack/tray03*'");
  maint_start->add_option("-l,--location", maint.location, "sensors carrying this location label, KEY=GLOB (e.g. tray=3); repeatable");
  maint_start->add_option("--for", maint.duration, "how long, e.g. 45m, 2h (at most 7d); it ends by itself then")->required();
  maint_start->add_option("--reason", maint.reason, "why, for remote maintenance: \"tray swap\"")->required();
  maint_start->add_option("--by", maint.by, "who (default: your user name)");
  maint_start->add_flag("--json", maint.json, "print the raw JSON answer");
  auto* maint_end = maintenance->add_subcommand("end", "end a window before its time");
  socket_options(maint_end);
  maint_end->add_option("id", maint.id, "the window's id (racktel maintenance list)")->required();
  maint_end->add_option("--by", maint.by, "who (default: your user name)");
  maint_end->add_flag("--json", maint.json, "print the raw JSON answer");

  racktel::cli::commission_options comm;
  std::string comm_timeout = "60s";
  auto* commission = app.add_subcommand("commission", "check the rack against an expectation file: is it complete and healthy?");
  socket_options(commission);
  commission->add_option("-e,--expect", comm.expect_file, "the expectation file (TOML; see config/commission-sim.toml)")
      ->required();
  commission->add_option("--timeout", comm_timeout, "how long to wait for the rack to settle before failing")
      ->capture_default_str();
  commission->add_option("--by", comm.by, "who ran the check (default: your user name)");
  commission->add_flag("--json", comm.json, "print the report as JSON");
  commission->add_flag("!--no-publish", comm.publish, "do not publish the report to the broker (a dry run)");

  racktel::cli::subscribe_options sub;
  std::string timeout_text = "0ms";
  unsigned count = 0;
  auto* subscribe = app.add_subcommand("subscribe", "subscribe to a rack's stream and print it decoded");
  subscribe->add_option("-b,--broker", sub.broker, "broker URI")->capture_default_str();
  subscribe->add_option("--site", sub.site, "site id")->required();
  subscribe->add_option("--protocol", sub.protocol, "MQTT version: 5, or 3.1.1 for brokers without MQTT 5 (NATS)")
      ->check(CLI::IsMember({"5", "3.1.1"}))
      ->capture_default_str();
  subscribe->add_option("--rack", sub.rack, "rack id")->required();
  subscribe->add_flag("--json", sub.json, "one JSON object per line (state, catalog, reading)");
  subscribe->add_flag("--table", sub.table, "a live table of the newest value of each sensor, redrawn per batch")
      ->excludes("--json");
  subscribe->add_option("-m,--match", sub.match, "only sensors whose driver/id contains this text");
  subscribe->add_option("-n,--count", count, "exit after this many data batches");
  subscribe->add_option("--timeout", timeout_text, "fail if no data arrives for this long, e.g. 10s");
  subscribe->add_option("--username", sub.username, "broker user name");
  subscribe->add_option("--password", sub.password, "broker password (visible to other users in ps; prefer --password-file)");
  subscribe->add_option("--password-file", sub.password_file, "file whose first line is the broker password")
      ->excludes("--password");
  subscribe->add_option("--ca-file", sub.ca_file, "CA certificates for an mqtts:// broker (default: the system store)");
  subscribe->add_option("--cert-file", sub.cert_file, "client certificate for mutual TLS");
  subscribe->add_option("--key-file", sub.key_file, "the client certificate's key");
  subscribe->add_option("--key-password-file", sub.key_password_file, "file holding the key's passphrase");
  subscribe->add_flag("!--no-verify-hostname", sub.verify_hostname,
                      "accept a broker certificate issued for another host name (lab use only)");
  subscribe->add_option("--max-payload", sub.max_payload, "largest message accepted, in bytes")->capture_default_str();

  std::string spool_dir = "/var/lib/racktel/spool";
  bool spool_json = false, spool_dump = false;
  auto* spool = app.add_subcommand("spool", "look into an agent's disk spool");
  spool->require_subcommand(1);
  auto* inspect = spool->add_subcommand("inspect", "check every segment, read-only; exit 2 when damaged");
  inspect->add_option("dir", spool_dir, "the spool directory")->capture_default_str();
  inspect->add_flag("--json", spool_json, "a JSON summary");
  inspect->add_flag("--dump", spool_dump, "every record as a JSON line");

  racktel::cli::probe_options probe_opts;
  std::string probe_timeout = "10s";
  auto* probe = app.add_subcommand(
      "probe", "open one driver as the agent would, read it once and print the catalog it would publish, with values");
  probe->add_option("type", probe_opts.type, "driver type: snmp, modbus, redfish, hwmon, exec, sim ...");
  probe->add_option("settings", probe_opts.settings,
                    "KEY=VALUE settings of the driver's table; TABLE.KEY=VALUE fills its one [[drivers.TABLE]] "
                    "(devices.address=10.1.2.3)");
  auto* probe_config = probe->add_option("-c,--config", probe_opts.config_file,
                                         "probe the instances of this agent configuration file instead");
  probe->add_option("-d,--driver", probe_opts.driver, "with --config: only this instance")->needs(probe_config);
  probe->add_option("-t,--timeout", probe_timeout, "deadline of each read")->capture_default_str();
  probe->add_flag("--json", probe_opts.json, "one JSON document");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version print and succeed; anything else is a usage error: 64 (EX_USAGE), as documented.
    return app.exit(e) == 0 ? 0 : 64;
  }

  if (*inspect) return racktel::cli::spool_inspect(spool_dir, spool_json, spool_dump);

  if (*check) return racktel::cli::check_config(config_path);
  if (*probe) {
    auto timeout = racktel::parse_duration(probe_timeout);
    if (!timeout || timeout->count() <= 0) {
      std::fprintf(stderr, "racktel probe: --timeout expects a duration such as 10s, got \"%s\"\n",
                   probe_timeout.c_str());
      return 64;
    }
    probe_opts.timeout = *timeout;
    if (probe_opts.type.empty() == probe_opts.config_file.empty()) {
      std::fprintf(stderr, "racktel probe: give a driver TYPE with its KEY=VALUE settings, or --config FILE\n");
      return 64;
    }
    return racktel::cli::probe(probe_opts);
  }
  if (!socket_config.empty()) {
    std::string error;
    auto from_config = racktel::cli::socket_from_config(socket_config, error);
    if (!from_config) {
      std::fprintf(stderr, "racktel: cannot find the status socket in %s: %s\n", socket_config.c_str(), error.c_str());
      return 1;
    }
    socket_path = *from_config;
  }
  if (*status) return racktel::cli::status(socket_path, report);
  if (*sensors) return racktel::cli::sensors(socket_path, report);
  if (*reload) return racktel::cli::reload(socket_path);
  if (*commission) {
    auto timeout = racktel::parse_duration(comm_timeout);
    if (!timeout) {
      std::fprintf(stderr, "racktel commission: --timeout expects a duration such as 60s, got \"%s\"\n",
                   comm_timeout.c_str());
      return 64;
    }
    comm.timeout = *timeout;
    return racktel::cli::commission(socket_path, comm);
  }
  if (*maintenance) {
    maint.action = *maint_list ? "list" : *maint_start ? "start" : "end";
    return racktel::cli::maintenance(socket_path, maint);
  }
  if (*subscribe) {
    auto timeout = racktel::parse_duration(timeout_text);
    if (!timeout) {
      std::fprintf(stderr, "racktel subscribe: --timeout expects a duration such as 10s, got \"%s\"\n",
                   timeout_text.c_str());
      return 64;
    }
    sub.timeout = *timeout;
    if (count > 0) sub.count = count;
    return racktel::cli::subscribe(sub);
  }
  return 64;  // no subcommand: CLI11 requires one, so this is not reached
}
