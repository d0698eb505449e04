// Values on a sensor's quantum (its resolution), the one rounding rule for
// the wire's readers, /metrics and the history rings. Pure.
#pragma once

#include <cmath>

namespace racktel {

// `value` as a whole number of quanta.
inline double quanta_of(double value, double resolution) { return std::round(value / resolution); }

// `quanta` quanta as the double nearest to its decimal: a resolution of 0.1 is
// not a double, 578 x 0.1 is 57.800000000000004, but 578 / 10 is the double
// nearest to 57.8. Divides when the resolution's inverse is whole.
inline double value_of_quanta(double quanta, double resolution) {
  const double inverse = std::round(1.0 / resolution);
  if (inverse >= 1 && std::abs(inverse * resolution - 1.0) < 1e-12) return quanta / inverse;
  return quanta * resolution;
}

// `value` on the sensor's quantum (57.8, not 57.800000000000004).
inline double quantised_value(double value, double resolution) {
  return value_of_quanta(quanta_of(value, resolution), resolution);
}

}  // namespace racktel
