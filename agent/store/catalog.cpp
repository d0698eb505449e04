#include "catalog.h"

namespace racktel {

std::vector<std::pair<std::string, std::string>> parse_location(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> labels;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string_view part = text.substr(0, comma);
    const std::size_t eq = part.find('=');
    if (eq != std::string_view::npos && eq > 0) {
      labels.emplace_back(std::string(part.substr(0, eq)), std::string(part.substr(eq + 1)));
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return labels;
}

}  // namespace racktel
