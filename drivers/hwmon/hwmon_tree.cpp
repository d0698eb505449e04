#include "hwmon_tree.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>

#include "racktel/driver.h"

namespace racktel::hwmon {
namespace fs = std::filesystem;

namespace {

// Units as the kernel reports them: millidegree Celsius, millivolt, milliampere,
// microwatt, microjoule, RPM, PWM 0-255.
constexpr std::array<channel_type, 7> types{{
    {"temp", RACKTEL_KIND_TEMPERATURE, "Cel", 1e-3, 0.001, "input"},
    {"in", RACKTEL_KIND_VOLTAGE, "V", 1e-3, 0.001, "input"},
    {"curr", RACKTEL_KIND_CURRENT, "A", 1e-3, 0.001, "input"},
    {"power", RACKTEL_KIND_POWER, "W", 1e-6, 0.001, "input"},
    {"energy", RACKTEL_KIND_ENERGY, "J", 1e-6, 0.001, "input"},
    {"fan", RACKTEL_KIND_FAN_SPEED, "RPM", 1.0, 1.0, "input"},
    {"pwm", RACKTEL_KIND_RATIO, "%", 100.0 / 255.0, 0.1, ""},
}};

std::optional<std::string> read_text(const fs::path& p) {
  std::ifstream in(p);
  std::string s;
  if (!in || !std::getline(in, s)) return std::nullopt;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

std::string sanitise(std::string s) {
  for (char& c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == ':' || c == '.')) c = '_';
  }
  return s;
}

double limit(const fs::path& dir, const std::string& stem, const char* attribute, double scale) {
  auto text = read_text(dir / (stem + "_" + attribute));
  auto value = text ? parse_sysfs_integer(*text) : std::nullopt;
  return value ? static_cast<double>(*value) * scale : NAN;
}

}  // namespace

const channel_type* find_channel_type(std::string_view prefix) {
  for (const auto& t : types) {
    if (prefix == t.prefix) return &t;
  }
  return nullptr;
}

std::optional<attribute_name> parse_attribute_name(std::string_view file) {
  std::size_t i = 0;
  while (i < file.size() && std::isalpha(static_cast<unsigned char>(file[i]))) ++i;
  const std::string_view type = file.substr(0, i);
  std::size_t j = i;
  while (j < file.size() && std::isdigit(static_cast<unsigned char>(file[j]))) ++j;
  if (i == 0 || j == i) return std::nullopt;
  int channel = 0;
  std::from_chars(file.data() + i, file.data() + j, channel);
  if (j == file.size()) return attribute_name{std::string(type), channel, ""};
  if (file[j] != '_') return std::nullopt;
  return attribute_name{std::string(type), channel, std::string(file.substr(j + 1))};
}

std::optional<std::int64_t> parse_sysfs_integer(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  std::int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

std::vector<device> discover(const std::string& root) {
  std::vector<device> devices;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const fs::path dir = entry.path();
    auto name = read_text(dir / "name");
    if (!name || name->empty()) continue;  // not a hwmon device (or gone already)
    device d;
    d.name = sanitise(*name);
    d.path = dir.string();
    std::map<std::pair<std::string, int>, channel> found;
    for (const auto& file : fs::directory_iterator(dir, ec)) {
      auto attr = parse_attribute_name(file.path().filename().string());
      if (!attr) continue;
      const channel_type* type = find_channel_type(attr->type);
      if (type == nullptr || attr->attribute != type->input) continue;
      const std::string stem = attr->type + std::to_string(attr->channel);
      channel c{type, attr->channel, file.path().string(), read_text(dir / (stem + "_label")).value_or("")};
      c.warn_low = limit(dir, stem, "min", type->scale);
      c.warn_high = limit(dir, stem, "max", type->scale);
      c.crit_low = limit(dir, stem, "lcrit", type->scale);
      c.crit_high = limit(dir, stem, "crit", type->scale);
      found[{attr->type, attr->channel}] = std::move(c);
    }
    for (auto& [k, c] : found) d.channels.push_back(std::move(c));
    std::sort(d.channels.begin(), d.channels.end(), [](const channel& a, const channel& b) {
      return std::pair(std::string(a.type->prefix), a.index) < std::pair(std::string(b.type->prefix), b.index);
    });
    devices.push_back(std::move(d));
  }
  // Keys: the name qualified by the parent device (the I2C bus and address,
  // the PCI function...), which is stable across boots, unlike hwmonN, and
  // does not depend on which siblings are present: a PSU keeps its key when
  // the one next to it is pulled. A device without a parent (a virtual one)
  // is its name alone, qualified by hwmonN only when several share the name.
  std::map<std::string, int> unparented;
  for (auto& d : devices) {
    std::error_code link_ec;
    const fs::path parent = fs::read_symlink(fs::path(d.path) / "device", link_ec);
    d.key = link_ec ? d.name : d.name + "_" + sanitise(parent.filename().string());
    if (link_ec) ++unparented[d.name];
  }
  for (auto& d : devices) {
    if (d.key == d.name && unparented[d.name] > 1) d.key += "_" + sanitise(fs::path(d.path).filename().string());
  }
  std::sort(devices.begin(), devices.end(), [](const device& a, const device& b) { return a.key < b.key; });
  return devices;
}

}  // namespace racktel::hwmon
