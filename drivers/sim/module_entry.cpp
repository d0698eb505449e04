// Entry point when the sim driver is built as a loadable module.
#include "sim_driver.h"

RACKTEL_DRIVER_ENTRY(racktel_sim_driver)
