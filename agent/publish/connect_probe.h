// Explains why a connection to a broker fails. Paho reports a failed connect
// as "failure" (-1) whatever the cause, and its TLS error callback is unsafe
// in 1.2, so after a failed connect the publisher repeats the connection here
// with the same settings: the TCP connect ("Connection refused", "No route to
// host", "connection timed out", a name that does not resolve), then for
// mqtts:// the TLS handshake, in OpenSSL's words ("certificate verify failed:
// unable to get local issuer certificate", "... hostname mismatch").
// Blocking: run it off the main loop.
#pragma once

#include <chrono>
#include <string>

#include "config/config.h"

namespace racktel {

// Empty when TCP (and TLS) succeed, so that the failure was at the MQTT
// level; otherwise what went wrong, starting with "TLS: " when the TCP
// connection worked and TLS did not.
std::string probe_connection(const std::string& broker_uri, const mqtt_config& config,
                             std::chrono::milliseconds timeout);

}  // namespace racktel
