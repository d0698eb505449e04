// racktel-agent: the per-rack telemetry daemon.
#include <spdlog/spdlog.h>

#include <malloc.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <memory>

#include "agent.h"
#include "config/config.h"
#include "drivers/validate.h"
#include "daemon.h"
#include "service/daemon_logging.h"


int main(int argc, char** argv) {
  CLI::App app{"racktel-agent: polls a rack's sensors and publishes them to MQTT"};
  std::string config_path = "/etc/racktel/racktel.toml";
  std::string log_level;
  app.add_option("-c,--config", config_path, "configuration file")->capture_default_str();
  app.add_option("-l,--log-level", log_level, "trace, debug, info, warn, error or off (overrides the config)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.set_version_flag("--version", racktel::racktel_version());
  racktel::daemon_options options;
#ifdef RACKTEL_TEST_HOOKS
  app.add_flag("--enable-test-hooks", options.test_hooks, "accept test-only commands on the status socket")
      ->group("");  // hidden: for racktel's own tests; debug builds only
#endif
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version print and succeed; anything else is a usage error: 64 (EX_USAGE), as documented.
    return app.exit(e) == 0 ? 0 : 64;
  }

  // Every lane thread would get a malloc arena of its own (up to 8 per core),
  // each keeping its high-water mark: a small daemon with a hundred lanes
  // does better with two.
  ::mallopt(M_ARENA_MAX, 2);
  // Blocks of 128 KiB and more (a rack's catalog, its payload, the newest
  // readings) from mmap, given back when freed. Left to itself glibc raises
  // this threshold to the largest block freed so far (the 1.4 MB catalog
  // payload of a big rack) and the heap's free top to twice that: the
  // stress rack kept 1 MiB of such free heap, 35 bytes a sensor.
  ::mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  ::mallopt(M_TRIM_THRESHOLD, 128 * 1024);

  racktel::ignore_sigpipe();
  racktel::setup_daemon_logging("racktel");

  // The agent starts only on a file `racktel check-config` accepts: drivers'
  // tables included, each checked by its driver without touching hardware.
  racktel::config_result loaded = racktel::check_configuration(config_path);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
    std::fprintf(stderr, "racktel-agent: not started: %zu error(s) in the configuration\n", loaded.errors.size());
    return 2;
  }
  if (!log_level.empty()) loaded.config->log_level_override = log_level;
  spdlog::set_level(spdlog::level::from_str(log_level.empty() ? loaded.config->log_level : log_level));
  for (const auto& w : loaded.warnings) spdlog::warn("{}", w.to_string());
  if (loaded.config->mqtt.uses_tls() && !loaded.config->mqtt.verify_hostname) {
    spdlog::warn("mqtt: verify_hostname = false: any certificate from the configured CA is accepted for any "
                 "broker name; use it in the lab only");
  }
  try {
    return racktel::run_agent(*loaded.config, options);
  } catch (const std::exception& e) {
    spdlog::critical("fatal: {}", e.what());
    return 1;
  }
}
