#include "mqtt_options.h"

#include <mqtt/properties.h>

namespace racktel {

int paho_mqtt_version(mqtt_protocol protocol) {
  return protocol == mqtt_protocol::v5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1;
}

mqtt::ssl_options make_ssl_options(const mqtt_config& config) {
  // Paho checks the chain only unless told to verify the host name too.
  auto tls = mqtt::ssl_options_builder()
                 .ssl_version(MQTT_SSL_VERSION_TLS_1_2)
                 .enable_server_cert_auth(true)
                 .verify(config.verify_hostname);
  // No error_handler: Paho C++ 1.2 keeps a pointer to the ssl_options object
  // for it, which dangles once the options are copied (a crash on the first
  // TLS error). tls_probe explains failures instead.
  if (!config.ca_file.empty()) tls.trust_store(config.ca_file);
  if (!config.cert_file.empty()) tls.key_store(config.cert_file).private_key(config.key_file);
  if (config.key_password) tls.private_keypassword(*config.key_password);
  return tls.finalize();
}

void announce_maximum_packet_size(mqtt::connect_options_builder& builder, std::uint32_t bytes) {
  mqtt::properties props;
  props.add(mqtt::property(mqtt::property::MAXIMUM_PACKET_SIZE, static_cast<int>(bytes)));
  builder.properties(props);
}

}  // namespace racktel
