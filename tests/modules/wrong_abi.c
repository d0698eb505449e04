/* A module built for a future, incompatible ABI: the loader must refuse it. */
#include "racktel/driver.h"

static const racktel_driver descriptor = {
    sizeof(racktel_driver), RACKTEL_DRIVER_ABI_MAJOR + 1, 0, "wrongabi", "test module", 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0};

RACKTEL_DRIVER_ENTRY(descriptor)
