// Prints what the sim driver reports for given sensors at given times, so the
// integration tests can check the published stream against the model.
//
// usage: sim_predict SEED < lines of "sensor_id time_ms"
// prints one line per input: "<value>" or a status name ("error", "out_of_range").
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <unordered_map>

#include "rack_model.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: sim_predict SEED < \"sensor_id time_ms\" lines\n");
    return 2;
  }
  const racktel::sim::rack_model model(std::strtoull(argv[1], nullptr, 10), {});
  std::unordered_map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < model.sensors().size(); ++i) index[model.sensors()[i].id] = i;
  std::string id;
  long long time_ms = 0;
  while (std::cin >> id >> time_ms) {
    auto it = index.find(id);
    if (it == index.end()) {
      std::printf("unknown\n");
      continue;
    }
    const auto& spec = model.sensors()[it->second];
    const double v = model.value(it->second, static_cast<double>(time_ms) / 1000.0);
    if (v < spec.range_min || v > spec.range_max) {
      std::printf("out_of_range\n");
    } else {
      std::printf("%.9g\n", v);
    }
  }
  return 0;
}
