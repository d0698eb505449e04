// The sim driver's descriptor, for the built-in driver list and the module entry.
#pragma once

#include "racktel/driver.h"

extern "C" const racktel_driver racktel_sim_driver;
