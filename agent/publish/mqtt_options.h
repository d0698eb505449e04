// Paho connect options made from an [mqtt] table, shared by the agent's
// publisher and `racktel subscribe`, so both speak TLS and MQTT 5 alike.
#pragma once

#include <mqtt/connect_options.h>

#include "config/config.h"

namespace racktel {

// Paho's MQTTVERSION_5 or MQTTVERSION_3_1_1; set both in create_options and
// in the connect options (Paho C++ 1.2 does not carry one to the other).
int paho_mqtt_version(mqtt_protocol protocol);

// TLS 1.2 or newer, the CA (or the system store), the client certificate and
// key with its passphrase, and host-name verification unless turned off.
mqtt::ssl_options make_ssl_options(const mqtt_config& config);

// MQTT 5 CONNECT property Maximum Packet Size: the largest packet this client
// accepts. A compliant broker never sends more; a broker that does is cut off.
void announce_maximum_packet_size(mqtt::connect_options_builder& builder, std::uint32_t bytes);

}  // namespace racktel
