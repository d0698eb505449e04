// A sensor's location labels ("tray"="3", "chip"="12"), in the order given,
// kept as one string of NUL-terminated keys and values: most fit in the
// string's own 15 bytes, where a vector of string pairs took 64 bytes a label
// and an allocation. Iterates as pairs of string_views. Pure.
#pragma once

#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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
      const std::string_view key(at_);
      return {key, std::string_view(at_ + key.size() + 1)};
    }
    iterator& operator++() {
      const std::size_t key = std::char_traits<char>::length(at_);
      at_ += key + 1;
      at_ += std::char_traits<char>::length(at_) + 1;
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
    const char* at_ = nullptr;
  };

  location_labels() = default;
  location_labels(std::initializer_list<std::pair<std::string_view, std::string_view>> labels) {
    for (const auto& [k, v] : labels) emplace_back(k, v);
  }
  explicit location_labels(const std::vector<std::pair<std::string, std::string>>& labels) {
    for (const auto& [k, v] : labels) emplace_back(k, v);
  }

  // A key or value holding a NUL is cut there (labels come from C strings and checked text).
  void emplace_back(std::string_view key, std::string_view value) {
    text_.append(key.substr(0, key.find('\0')));
    text_.push_back('\0');
    text_.append(value.substr(0, value.find('\0')));
    text_.push_back('\0');
  }

  bool empty() const { return text_.empty(); }
  std::size_t size() const { return static_cast<std::size_t>(std::count(text_.begin(), text_.end(), '\0')) / 2; }
  iterator begin() const { return iterator(text_.data()); }
  iterator end() const { return iterator(text_.data() + text_.size()); }
  value_type front() const { return *begin(); }
  void shrink_to_fit() { text_.shrink_to_fit(); }
  // What it holds outside itself: nothing when the labels fit in the string's own bytes.
  std::size_t heap_bytes() const { return text_.capacity() > 15 ? text_.capacity() + 1 : 0; }

  bool operator==(const location_labels&) const = default;
  bool operator==(const std::vector<std::pair<std::string, std::string>>& labels) const {
    return *this == location_labels(labels);
  }

 private:
  std::string text_;  // key\0value\0key\0value\0...
};

}  // namespace racktel
