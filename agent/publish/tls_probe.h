// Explains why a TLS connection to a broker fails, in OpenSSL's words
// ("certificate verify failed: unable to get local issuer certificate",
// "... hostname mismatch"). Paho reports only "return code -1", and its own
// error callback is unsafe in 1.2, so the publisher runs this diagnostic
// handshake with the same settings after a failed TLS connect. Blocking:
// run it off the main loop.
#pragma once

#include <chrono>
#include <string>

#include "config/config.h"

namespace racktel {

// Empty when the handshake succeeds; otherwise what went wrong.
std::string probe_tls(const std::string& broker_uri, const mqtt_config& config, std::chrono::milliseconds timeout);

}  // namespace racktel
