// racktel-ingest: from the fleet's MQTT stream into Prometheus remote write
// and Alertmanager. See docs/ingest.md.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "ingest/ingest_config.h"
#include "ingest/ingest_daemon.h"
#include "racktel/version.h"
#include "service/daemon_logging.h"

int main(int argc, char** argv) {
  CLI::App app{"racktel-ingest: writes the racks' MQTT stream to Prometheus remote write and Alertmanager"};
  std::string config_path = "/etc/racktel/ingest.toml";
  std::string log_level;
  bool check_only = false;
  app.add_option("-c,--config", config_path, "configuration file")->capture_default_str();
  app.add_flag("--check-config", check_only, "validate the configuration file and exit (0 valid, 2 errors)");
  app.add_option("-l,--log-level", log_level, "trace, debug, info, warn, error or off (overrides the config)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.set_version_flag("--version", RACKTEL_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 64;
  }

  racktel::ignore_sigpipe();
  racktel::setup_daemon_logging("racktel-ingest");
  const auto loaded = racktel::ingest::load_ingest_config(config_path);
  for (const auto& w : loaded.warnings) std::fprintf(stderr, "%s (warning)\n", w.to_string().c_str());
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
    std::fprintf(stderr, "racktel-ingest: %zu error(s) in the configuration\n", loaded.errors.size());
    return 2;
  }
  if (check_only) {
    std::printf("%s: ok (%zu remote-write endpoint(s), %zu Alertmanager(s))\n", config_path.c_str(),
                loaded.config->endpoints.size(), loaded.config->alertmanagers.size());
    return 0;
  }
  spdlog::set_level(spdlog::level::from_str(log_level.empty() ? loaded.config->log_level : log_level));
  try {
    return racktel::ingest::run_ingest(*loaded.config);
  } catch (const std::exception& e) {
    spdlog::critical("fatal: {}", e.what());
    return 1;
  }
}
