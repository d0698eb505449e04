#include "reloader.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "drivers/validate.h"

namespace racktel {

struct reloader::prepared {
  std::optional<agent_config> next;
  std::vector<config_error> errors;
  std::vector<agent::opened_driver> opened;
  std::optional<agent::prepared_catalog> catalog;
};

reloader::reloader(agent& a, event_loop& loop, std::string config_file, std::string driver_dir)
    : agent_(a),
      config_file_(std::move(config_file)),
      driver_dir_(std::move(driver_dir)),
      gate_(std::make_shared<result_gate>(loop)) {}

reloader::~reloader() { gate_->close(); }

void reloader::request(std::function<void(const reload_report&)> done) {
  if (running_) {
    again_ = true;
    if (done) next_.push_back(std::move(done));
    return;
  }
  if (done) current_.push_back(std::move(done));
  start();
}

void reloader::start() {
  running_ = true;
  again_ = false;
  // Everything the thread needs is copied: it touches no agent state.
  const spool_options* spool_settings = agent_.spool_settings();
  std::optional<spool_options> spool_copy;
  if (spool_settings != nullptr) spool_copy = *spool_settings;
  worker_.submit([gate = gate_, this, file = config_file_, dir = driver_dir_, running = agent_.running_drivers(),
                  spool_copy, boot = agent_.boot(), current = agent_.catalog().version] {
    auto result = std::make_shared<prepared>();
    const driver_loader loader(builtin_drivers(), dir);
    config_result loaded = check_configuration(file, &loader);
    result->errors = loaded.errors;
    if (result->errors.empty()) {
      // The catalog the agent will have, in slot order: kept instances' and new ones'.
      std::vector<std::pair<std::shared_ptr<const instance_catalog>, std::shared_ptr<const catalog_part>>> sources;
      for (const driver_config& dc : loaded.config->drivers) {
        auto kept = std::find_if(running.begin(), running.end(), [&](const agent::running_driver& r) {
          return r.config.name == dc.name && same_driver(r.config, dc);
        });
        if (kept != running.end()) {
          if (kept->catalog) sources.emplace_back(kept->catalog, kept->catalog_bytes);
          continue;
        }
        agent::opened_driver opened = agent::open_driver(dc, loader);
        if (opened.instance) sources.emplace_back(opened.instance->initial_catalog(), opened.catalog_bytes);
        result->opened.push_back(std::move(opened));
      }
      result->catalog = agent::prepare_catalog(sources, spool_copy ? &*spool_copy : nullptr, boot, current);
      result->next = std::move(loaded.config);
    }
    gate->post([gate, this, result] {
      if (gate->is_open()) finish(*result);
    });
  });
}

void reloader::finish(prepared& result) {
  ++reloads_;
  if (result.next) {
    agent_.apply_reload(std::move(*result.next), std::move(result.opened), std::move(result.catalog));
  } else {
    agent_.reload_refused(result.errors);
  }
  const reload_report report = agent_.last_reload();
  auto served = std::move(current_);
  current_.clear();
  running_ = false;
  for (auto& done : served) done(report);
  if (again_ || !next_.empty()) {
    current_ = std::move(next_);
    next_.clear();
    start();
  }
}

}  // namespace racktel
