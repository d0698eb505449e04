/* A driver whose table is always valid but whose device never opens, as a
 * driver on an unplugged bus behaves: check-config accepts it, the agent's
 * open fails, and the agent must carry on with its other drivers. */
#include <stddef.h>

#include "racktel/driver.h"

static int fails_open(const racktel_host* host, const racktel_config* config, uint32_t open_flags,
                      void** instance) {
  (void)config;
  *instance = NULL;
  if (open_flags & RACKTEL_OPEN_VALIDATE_ONLY) return RACKTEL_DRIVER_OK;
  host->log(host->ctx, RACKTEL_LOG_ERROR, "device /dev/failsopen0 does not answer");
  return RACKTEL_DRIVER_FAILED;
}

static void fails_close(void* instance) { (void)instance; }
static uint32_t no_sensors(void* instance) {
  (void)instance;
  return 0;
}
static int no_sensor_info(void* instance, uint32_t index, racktel_sensor_info* info) {
  (void)instance, (void)index, (void)info;
  return RACKTEL_DRIVER_FAILED;
}
static int no_group_info(void* instance, uint32_t index, racktel_group_info* info) {
  (void)instance, (void)index, (void)info;
  return RACKTEL_DRIVER_FAILED;
}
static int no_read(void* instance, const racktel_read_request* request, uint32_t* written) {
  (void)instance, (void)request;
  *written = 0;
  return RACKTEL_DRIVER_FAILED;
}

static const racktel_driver descriptor = {
    sizeof(racktel_driver), RACKTEL_DRIVER_ABI_MAJOR, RACKTEL_DRIVER_ABI_MINOR, "failsopen",
    "test module whose device never opens", 0, fails_open, fails_close, no_sensors, no_sensor_info,
    no_sensors, no_group_info, no_read, NULL, NULL};

RACKTEL_DRIVER_ENTRY(descriptor)
