// A sensor's location labels ("tray"="3", "chip"="12"), in the order given,
// kept as one shared_text of keys and values each ended by a unit separator
// (0x1f): 8 bytes, and sensors with the same place (a chip's die, power and
// voltage) share one text when a text_pool built them; a vector of string
// pairs took 64 bytes a label and an allocation. Iterates as pairs of
// string_views. Pure.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/shared_text.h"

namespace racktel {

class location_labels {
 public:
  using value_type = std::pair<std::string_view, std::string_view>;

  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = location_labels::value_type;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = value_type;

    iterator() = default;
    value_type operator*() const {
      const std::string_view key = field(at_);
      return {key, field(at_ + key.size() + 1)};
    }
    iterator& operator++() {
      at_ += field(at_).size() + 1;
      at_ += field(at_).size() + 1;
      return *this;
    }
    iterator operator++(int) {
      iterator before = *this;
      ++*this;
      return before;
    }
    bool operator==(const iterator&) const = default;

   private:
    friend class location_labels;
    explicit iterator(const char* at) : at_(at) {}
    static std::string_view field(const char* at) {  // every field ends with a separator
      return std::string_view(at, static_cast<std::size_t>(std::strchr(at, separator) - at));
    }
    const char* at_ = nullptr;
  };

  location_labels() = default;
  location_labels(std::initializer_list<std::pair<std::string_view, std::string_view>> labels)
      : location_labels(from_pairs(labels)) {}
  explicit location_labels(const std::vector<std::pair<std::string, std::string>>& labels)
      : location_labels(from_pairs(labels)) {}

  // Labels from (key, value) pairs of anything that reads as a string_view,
  // made in one allocation (emplace_back makes a new text each time).
  template <class Pairs>
  static location_labels from_pairs(const Pairs& pairs) {
    std::string text;
    for (const auto& [key, value] : pairs) append(text, key, value);
    location_labels labels;
    labels.text_ = shared_text(text);
    return labels;
  }
  void emplace_back(std::string_view key, std::string_view value) {
    std::string text = text_.str();
    append(text, key, value);
    text_ = shared_text(text);
  }
  // The same labels, sharing their text with every other made by `pool`.
  void share(text_pool& pool) { text_ = pool.get(text_.view()); }

  bool empty() const { return text_.empty(); }
  std::size_t size() const {
    const std::string_view text = text_.view();
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), separator)) / 2;
  }
  iterator begin() const { return iterator(text_.c_str()); }
  iterator end() const { return iterator(text_.c_str() + text_.size()); }
  value_type front() const { return *begin(); }
  // What it holds outside itself (shared or not).
  std::size_t heap_bytes() const { return text_.heap_bytes(); }

  bool operator==(const location_labels& other) const { return text_ == other.text_.view(); }
  bool operator==(const std::vector<std::pair<std::string, std::string>>& labels) const {
    return *this == location_labels(labels);
  }

 private:
  static constexpr char separator = '\x1f';
  // A key or value holding a NUL or a unit separator is cut there (labels
  // come from C strings and checked text, neither of which has them).
  static void append(std::string& text, std::string_view key, std::string_view value) {
    for (std::string_view part : {key, value}) {
      text.append(part.substr(0, std::min(part.find('\0'), part.find(separator))));
      text.push_back(separator);
    }
  }
  shared_text text_;  // key 0x1f value 0x1f key 0x1f value 0x1f ...
};

}  // namespace racktel
