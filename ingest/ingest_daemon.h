// racktel-ingest's daemon: MQTT in, remote write and Alertmanager out, with
// the received batches in a disk buffer (the agent's spool library) until
// every remote-write endpoint has accepted them. See docs/ingest.md.
#pragma once

#include "ingest/ingest_config.h"

namespace racktel::ingest {

// Runs until SIGTERM or SIGINT; returns the process exit status.
int run_ingest(const ingest_config& config);

}  // namespace racktel::ingest
