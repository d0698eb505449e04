#include "service_notifier.h"

#include <cstdlib>

#ifdef RACKTEL_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace racktel {

service_notifier::service_notifier() {
#ifdef RACKTEL_HAVE_SYSTEMD
  enabled_ = std::getenv("NOTIFY_SOCKET") != nullptr;
  std::uint64_t usec = 0;
  if (enabled_ && sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    ping_interval_ = std::chrono::milliseconds(std::max<std::uint64_t>(usec / 2000, 1));
  }
#endif
}

void service_notifier::send(const std::string& state) const {
#ifdef RACKTEL_HAVE_SYSTEMD
  if (enabled_) sd_notify(0, state.c_str());
#else
  (void)state;
#endif
}

void service_notifier::ready(const std::string& status) const { send("READY=1\nSTATUS=" + status); }
void service_notifier::status(const std::string& status) const { send("STATUS=" + status); }
void service_notifier::watchdog() const { send("WATCHDOG=1"); }
void service_notifier::stopping() const { send("STOPPING=1\nSTATUS=stopping: flushing and publishing offline"); }

}  // namespace racktel
