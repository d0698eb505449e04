// Tells systemd how the agent is doing (sd_notify): READY=1 once it runs,
// STATUS= lines for `systemctl status`, WATCHDOG=1 pings from the main loop
// only (so a wedged main loop gets the service restarted), STOPPING=1.
// Does nothing when not started by systemd ($NOTIFY_SOCKET unset) or when
// built without libsystemd.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace racktel {

class service_notifier {
 public:
  service_notifier();

  bool enabled() const { return enabled_; }
  // Half of WatchdogSec=, the interval at which to ping; nullopt when the watchdog is off.
  std::optional<std::chrono::milliseconds> watchdog_ping_interval() const { return ping_interval_; }

  void ready(const std::string& status) const;
  void status(const std::string& status) const;
  void watchdog() const;
  void stopping() const;

 private:
  void send(const std::string& state) const;

  bool enabled_ = false;
  std::optional<std::chrono::milliseconds> ping_interval_;
};

}  // namespace racktel
