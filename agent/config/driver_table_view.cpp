#include "driver_table_view.h"

#include <algorithm>
#include <array>

#include "common/units.h"
#include "config/secrets.h"

namespace racktel {
namespace {

// Keys of a [[drivers]] table that the host consumes itself.
constexpr std::array<std::string_view, 7> host_keys{"name",     "type",    "module",         "interval",
                                                    "deadline", "enabled", "group_intervals"};

}  // namespace

driver_table_view::driver_table_view(const driver_config& driver)
    : driver_(driver),
      abi_{this, &get_string, &get_int, &get_double, &get_bool, &get_duration_ms, &array_size, &error} {}

toml::node_view<const toml::node> driver_table_view::lookup(const char* key) {
  used_.insert(key);
  return driver_.table->at_path(key);
}

void driver_table_view::add_error(const toml::node* node, const std::string& message,
                                  const toml::source_region* where) {
  config_error e{driver_.source_file, 0, 0, "driver \"" + driver_.name + "\": " + message};
  if (where != nullptr && where->begin.line > 0) {
    e.line = static_cast<int>(where->begin.line);
    e.column = static_cast<int>(where->begin.column);
  } else if (node != nullptr) {
    e.line = static_cast<int>(node->source().begin.line);
    e.column = static_cast<int>(node->source().begin.column);
  } else {
    e.line = static_cast<int>(driver_.table->source().begin.line);
    e.column = static_cast<int>(driver_.table->source().begin.column);
  }
  errors_.push_back(std::move(e));
}

void driver_table_view::add_weakness(const toml::node* node, const std::string& message) {
  if (driver_.strict_security) {
    add_error(node, message + " (refused: [agent] security = \"strict\")");
    return;
  }
  const std::size_t before = errors_.size();
  add_error(node, message);
  warnings_.push_back(errors_.back());
  errors_.resize(before);
}

void driver_table_view::type_error(const toml::node& node, const char* key, const char* expected) {
  add_error(&node, "expected \"" + std::string(key) + "\" to be " + expected);
}

int driver_table_view::get_string(void* ctx, const char* key, const char** value) {
  auto& view = self(ctx);
  auto node = view.lookup(key);
  if (!node) return 0;
  if (const auto* s = node.as_string()) {
    *value = s->get().c_str();  // owned by the document, which outlives the driver's open call
    // Files named by a driver's table get what the agent's own get: the
    // credentials directory expanded, and secrets checked.
    const std::string_view name(key);
    if (name.ends_with("password")) {
      view.add_weakness(node.node(), "\"" + std::string(key) + "\": a password written in the configuration file, "
                                     "which other users may read; put it in a file of mode 0600 and use \"" +
                                         std::string(key) + "_file\"");
    }
    if (name.ends_with("_file")) {
      std::string why;
      std::string path = expand_credentials_directory(s->get(), why);
      if (!why.empty()) {
        view.add_error(node.node(), why);
        return -1;
      }
      if (name.ends_with("password_file") || name.ends_with("key_file")) {
        const secret_file_check check = check_secret_file(path);
        if (!check.error.empty()) {
          view.add_error(node.node(), "\"" + std::string(key) + "\": " + check.error);
          return -1;
        }
        if (!check.warning.empty()) view.add_weakness(node.node(), "\"" + std::string(key) + "\": " + check.warning);
      }
      *value = view.strings_.emplace_back(std::move(path)).c_str();
    }
    return 1;
  }
  self(ctx).type_error(*node.node(), key, "a string");
  return -1;
}

int driver_table_view::get_int(void* ctx, const char* key, std::int64_t* value) {
  auto node = self(ctx).lookup(key);
  if (!node) return 0;
  if (const auto* i = node.as_integer()) {
    *value = i->get();
    return 1;
  }
  self(ctx).type_error(*node.node(), key, "an integer");
  return -1;
}

int driver_table_view::get_double(void* ctx, const char* key, double* value) {
  auto node = self(ctx).lookup(key);
  if (!node) return 0;
  if (const auto* f = node.as_floating_point()) {
    *value = f->get();
    return 1;
  }
  if (const auto* i = node.as_integer()) {
    *value = static_cast<double>(i->get());
    return 1;
  }
  self(ctx).type_error(*node.node(), key, "a number");
  return -1;
}

int driver_table_view::get_bool(void* ctx, const char* key, int* value) {
  auto node = self(ctx).lookup(key);
  if (!node) return 0;
  if (const auto* b = node.as_boolean()) {
    *value = b->get() ? 1 : 0;
    return 1;
  }
  self(ctx).type_error(*node.node(), key, "true or false");
  return -1;
}

int driver_table_view::get_duration_ms(void* ctx, const char* key, std::int64_t* value) {
  auto node = self(ctx).lookup(key);
  if (!node) return 0;
  if (const auto* s = node.as_string()) {
    if (auto d = parse_duration(s->get())) {
      *value = d->count();
      return 1;
    }
  }
  self(ctx).type_error(*node.node(), key, "a duration string such as \"500ms\" or \"2s\"");
  return -1;
}

int driver_table_view::array_size(void* ctx, const char* key) {
  auto node = self(ctx).lookup(key);
  if (!node) return -1;
  if (const auto* a = node.as_array()) return static_cast<int>(a->size());
  self(ctx).type_error(*node.node(), key, "an array");
  return -1;
}

void driver_table_view::error(void* ctx, const char* key, const char* message) {
  auto& view = self(ctx);
  auto node = view.driver_.table->at_path(key);
  view.add_error(node.node(), "\"" + std::string(key) + "\": " + message);
}

void driver_table_view::walk_unknown(const toml::node& node, const std::string& path,
                                     const toml::source_region* key_source) {
  if (const auto* table = node.as_table()) {
    for (const auto& [key, child] : *table) {
      const std::string child_path = path.empty() ? std::string(key.str()) : path + "." + std::string(key.str());
      if (path.empty() && std::find(host_keys.begin(), host_keys.end(), key.str()) != host_keys.end()) {
        continue;
      }
      walk_unknown(child, child_path, &key.source());
    }
    return;
  }
  if (const auto* array = node.as_array(); array != nullptr && array->is_array_of_tables()) {
    for (std::size_t i = 0; i < array->size(); ++i) {
      walk_unknown(*array->get(i), path + "[" + std::to_string(i) + "]", nullptr);
    }
    return;
  }
  // A value, or an array of values: known if the driver asked for it or for an element.
  if (used_.contains(path)) return;
  auto it = used_.lower_bound(path + "[");
  if (it != used_.end() && it->starts_with(path + "[")) return;
  add_error(&node, "unknown key \"" + path + "\" for a driver of type \"" + driver_.type + "\"", key_source);
}

void driver_table_view::report_unknown_keys() { walk_unknown(*driver_.table, "", nullptr); }

void driver_table_view::report_unknown_groups(const std::vector<std::string>& groups) {
  const toml::table* intervals = driver_.table->get_as<toml::table>("group_intervals");
  if (intervals == nullptr) return;
  for (const auto& [key, value] : *intervals) {
    if (std::find(groups.begin(), groups.end(), key.str()) != groups.end()) continue;
    std::string known;
    for (const std::string& g : groups) known += (known.empty() ? "" : ", ") + g;
    add_error(&value, "unknown read group \"" + std::string(key.str()) + "\" in \"group_intervals\"; a driver of type \"" +
                          driver_.type + "\" has: " + known,
              &key.source());
  }
}

}  // namespace racktel
