#include "catalog.h"

#include <fnmatch.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <map>
#include <tuple>

namespace racktel {

location_labels parse_location(std::string_view text) {
  std::vector<std::pair<std::string_view, std::string_view>> labels;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string_view part = text.substr(0, comma);
    const std::size_t eq = part.find('=');
    if (eq != std::string_view::npos && eq > 0) {
      labels.emplace_back(part.substr(0, eq), part.substr(eq + 1));
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return location_labels::from_pairs(labels);
}

namespace {

// Values as decimal text beside their words, for location_labels::from_pairs.
template <class Names>
std::vector<std::pair<std::string, std::string_view>> as_text_pairs(const Names& names) {
  std::vector<std::pair<std::string, std::string_view>> pairs;
  pairs.reserve(names.size());
  for (const auto& [value, word] : names) pairs.emplace_back(std::to_string(value), word);
  return pairs;
}

}  // namespace

state_names::state_names(const list& names) : pairs_(location_labels::from_pairs(as_text_pairs(names))) {}

state_names::state_names(std::initializer_list<std::pair<std::int64_t, std::string_view>> names)
    : pairs_(location_labels::from_pairs(as_text_pairs(names))) {}

state_names::value_type state_names::iterator::operator*() const {
  const auto [value_text, word] = *at_;
  std::int64_t value = 0;
  std::from_chars(value_text.data(), value_text.data() + value_text.size(), value);  // written from a number
  return {value, word};
}

std::string sensor_meta::key() const {
  std::string key;
  key.reserve(driver.size() + 1 + id.size());
  return key.append(driver).append("/").append(id);
}

state_names::list parse_state_names(std::string_view text) {
  state_names::list names;
  const location_labels pairs = parse_location(text);
  for (const auto& [value, word] : pairs) {
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec == std::errc() && end == value.data() + value.size() && !word.empty()) names.emplace_back(v, std::string(word));
  }
  return names;
}

std::string state_word(const sensor_meta& m, double value) {
  for (const auto& [v, word] : m.states) {
    if (static_cast<double>(v) == value) return std::string(word);
  }
  return {};
}

std::string reading_text(const sensor_meta& m, double value) {
  if (std::string word = state_word(m, value); !word.empty()) return word;
  char text[48];
  std::snprintf(text, sizeof text, "%g", value);
  return m.unit.empty() ? std::string(text) : std::string(text) + " " + m.unit;
}

namespace {

std::string change_group(const sensor_meta& m) {
  if (!m.location.empty()) {
    const auto [key, value] = m.location.front();
    return std::string(key) + "=" + std::string(value);
  }
  const std::size_t dot = m.id.rfind('.');
  return std::string(dot == std::string::npos || dot == 0 ? m.id.view() : m.id.substr(0, dot));
}

bool same_description(const sensor_meta& a, const sensor_meta& b) {
  return std::tie(a.name, a.kind, a.unit, a.location, a.resolution, a.warn_low, a.warn_high, a.crit_low, a.crit_high,
                  a.group, a.states) == std::tie(b.name, b.kind, b.unit, b.location, b.resolution, b.warn_low,
                                                 b.warn_high, b.crit_low, b.crit_high, b.group, b.states);
}

}  // namespace

bool sensor_matches(const std::string& glob, const sensor_meta& m) {
  if (glob.empty()) return true;
  const std::string subject = glob.find('/') == std::string::npos ? m.id.str() : m.key();
  return ::fnmatch(glob.c_str(), subject.c_str(), 0) == 0;
}

bool sensor_selected(const std::string& glob, const location_globs& location, const sensor_meta& m) {
  if (!sensor_matches(glob, m)) return false;
  return std::all_of(location.begin(), location.end(), [&](const auto& wanted) {
    return std::any_of(m.location.begin(), m.location.end(), [&](const auto& label) {
      return label.first == wanted.first && ::fnmatch(wanted.second.c_str(), std::string(label.second).c_str(), 0) == 0;
    });
  });
}

std::string describe_sensor_changes(std::span<const sensor_meta> before, std::span<const sensor_meta> after,
                                    std::size_t max_groups) {
  std::map<std::string, const sensor_meta*> old_by_id, new_by_id;
  for (const auto& m : before) old_by_id.emplace(m.id, &m);
  for (const auto& m : after) new_by_id.emplace(m.id, &m);
  // group -> sensors removed, added, described differently; in the order first met.
  struct counts {
    std::size_t removed = 0, added = 0, changed = 0;
  };
  std::vector<std::pair<std::string, counts>> groups;
  auto at = [&](const std::string& group) -> counts& {
    for (auto& [name, c] : groups) {
      if (name == group) return c;
    }
    return groups.emplace_back(group, counts{}).second;
  };
  for (const auto& m : before) {
    auto it = new_by_id.find(m.id);
    if (it == new_by_id.end()) {
      ++at(change_group(m)).removed;
    } else if (!same_description(m, *it->second)) {
      ++at(change_group(*it->second)).changed;
    }
  }
  for (const auto& m : after) {
    if (!old_by_id.contains(m.id)) ++at(change_group(m)).added;
  }
  std::string text;
  std::size_t named = 0;
  for (const auto& entry : groups) {
    // Not a structured binding: clang 14 (the fuzz build) cannot capture one in a lambda.
    const std::string& group = entry.first;
    const auto& c = entry.second;
    if (named == max_groups) {
      text += "; and " + std::to_string(groups.size() - named) + " more";
      break;
    }
    const auto part = [&](std::size_t n, const char* what) {
      if (n == 0) return;
      text += (text.empty() ? "" : "; ") + group + " " + what + " (" + std::to_string(n) +
              (n == 1 ? " sensor)" : " sensors)");
    };
    part(c.removed, "removed");
    part(c.added, "added");
    part(c.changed, "changed");
    ++named;
  }
  return text;
}

}  // namespace racktel
