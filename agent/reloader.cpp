#include "reloader.h"

#include <spdlog/spdlog.h>

#include <thread>

#include "drivers/validate.h"

namespace racktel {

struct reloader::prepared {
  std::optional<agent_config> next;
  std::vector<config_error> errors;
  std::vector<agent::opened_driver> opened;
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
  std::thread([gate = gate_, this, file = config_file_, dir = driver_dir_, running = agent_.running_drivers()] {
    auto result = std::make_shared<prepared>();
    const driver_loader loader(builtin_drivers(), dir);
    config_result loaded = load_config_file(file);
    result->errors = loaded.errors;
    if (loaded.config) {
      auto driver_errors = validate_drivers(*loaded.config, loader);
      result->errors.insert(result->errors.end(), driver_errors.begin(), driver_errors.end());
    }
    if (result->errors.empty()) {
      for (const driver_config& dc : loaded.config->drivers) {
        const bool unchanged = std::any_of(running.begin(), running.end(), [&](const driver_config& r) {
          return r.name == dc.name && same_driver(r, dc);
        });
        if (!unchanged) result->opened.push_back(agent::open_driver(dc, loader));
      }
      result->next = std::move(loaded.config);
    }
    gate->post([gate, this, result] {
      if (gate->is_open()) finish(*result);
    });
  }).detach();
}

void reloader::finish(prepared& result) {
  ++reloads_;
  if (result.next) {
    agent_.apply_reload(std::move(*result.next), std::move(result.opened));
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
