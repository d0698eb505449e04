// What both daemons (racktel-agent, racktel-ingest) set up first.
#pragma once

namespace racktel {

// Paho has crashed on SIGPIPE during reconnects: a broken socket must be an
// error code, not a signal.
void ignore_sigpipe();

// spdlog to stderr; under systemd (JOURNAL_STREAM set) with the journal's
// "<N>" priority prefix and no time stamp of its own, so that
// `journalctl -p err` finds the errors.
void setup_daemon_logging(const char* logger_name);

}  // namespace racktel
