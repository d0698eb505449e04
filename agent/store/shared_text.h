// Small immutable values for sensor descriptions, which a rack holds by the
// ten thousand: a string shared by its copies in 8 bytes (std::string takes
// 32, and a second allocation once past 15 characters), a limit that may be
// absent in 8 (std::optional<double> takes 16), and a pool that makes equal
// texts one. Pure.
#pragma once

#include <atomic>
#include <cmath>
#include <compare>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace racktel {

// Where shared_text keeps its characters: slabs of small slots in steps of
// 8 bytes, apart from the general heap. A rack's sensor texts are tens of
// thousands of long-lived 20-40 byte strings; from malloc each costs a
// 16-byte-rounded chunk with a header, and, made between the temporaries of
// building a catalog, leaves those temporaries' holes behind them (a
// quarter of the heap was such holes). Slots freed are reused for later
// texts; slabs are kept. Thread-safe. Larger texts go to operator new.
struct text_slabs {
  static void* allocate(std::size_t bytes);
  static void release(void* slot, std::size_t bytes) noexcept;
  // Bytes held in slabs (in use or free), for the memory figures.
  static std::size_t slab_bytes();
};

// An immutable string; copies share one allocation of exactly its characters
// and a 4-byte count of owners (the length is found at its NUL when asked,
// which is cheap for the short texts it holds). A NUL in the text cuts it
// there: the texts come from C strings and checked messages. Empty never
// allocates. Reads as a std::string_view; converts to a std::string (a copy)
// where one is wanted, and + makes a std::string.
class shared_text {
 public:
  shared_text() = default;
  shared_text(std::string_view text) { assign(text); }
  shared_text(const char* text) : shared_text(std::string_view(text ? text : "")) {}
  shared_text(const std::string& text) : shared_text(std::string_view(text)) {}
  shared_text(const shared_text& other) noexcept : block_(other.block_) {
    if (block_) owners().fetch_add(1, std::memory_order_relaxed);
  }
  shared_text(shared_text&& other) noexcept : block_(other.block_) { other.block_ = nullptr; }
  shared_text& operator=(shared_text other) noexcept {
    std::swap(block_, other.block_);
    return *this;
  }
  ~shared_text() { release(); }

  const char* c_str() const { return block_ ? chars() : ""; }
  const char* data() const { return c_str(); }
  std::string_view view() const { return block_ ? std::string_view(chars()) : std::string_view(); }
  operator std::string_view() const { return view(); }
  std::string str() const { return std::string(view()); }
  operator std::string() const { return str(); }
  std::size_t size() const { return view().size(); }
  std::size_t length() const { return size(); }
  bool empty() const { return block_ == nullptr; }
  char operator[](std::size_t i) const { return chars()[i]; }
  std::size_t find(std::string_view s, std::size_t pos = 0) const { return view().find(s, pos); }
  std::size_t find(char c, std::size_t pos = 0) const { return view().find(c, pos); }
  std::size_t rfind(char c, std::size_t pos = std::string_view::npos) const { return view().rfind(c, pos); }
  std::string_view substr(std::size_t pos, std::size_t n = std::string_view::npos) const {
    return view().substr(pos, n);
  }
  bool starts_with(std::string_view s) const { return view().starts_with(s); }
  bool ends_with(std::string_view s) const { return view().ends_with(s); }
  // Whether both share one allocation (a pool made them one), or are both empty.
  bool same_block(const shared_text& other) const { return block_ == other.block_; }
  // What it holds outside itself, shared or not (for the memory figures).
  std::size_t heap_bytes() const { return block_ ? header + size() + 1 : 0; }

  friend bool operator==(const shared_text& a, std::string_view b) { return a.view() == b; }
  friend std::strong_ordering operator<=>(const shared_text& a, std::string_view b) { return a.view() <=> b; }

  template <class T>
    requires(std::convertible_to<const T&, std::string_view> && !std::same_as<T, shared_text>)
  friend std::string operator+(const shared_text& a, const T& b) {
    return std::string(a.view()).append(std::string_view(b));
  }
  template <class T>
    requires(std::convertible_to<const T&, std::string_view> && !std::same_as<T, shared_text>)
  friend std::string operator+(const T& a, const shared_text& b) {
    return std::string(std::string_view(a)).append(b.view());
  }
  friend std::string operator+(const shared_text& a, const shared_text& b) {
    return std::string(a.view()).append(b.view());
  }

 private:
  // The allocation: the count of owners, then the characters and their NUL.
  using counter = std::atomic<std::uint32_t>;
  static constexpr std::size_t header = sizeof(counter);

  counter& owners() const { return *std::launder(static_cast<counter*>(static_cast<void*>(block_))); }
  const char* chars() const { return block_ + header; }

  void assign(std::string_view text) {
    text = text.substr(0, text.find('\0'));
    if (text.empty()) return;
    block_ = static_cast<char*>(text_slabs::allocate(header + text.size() + 1));
    new (block_) counter(1);
    text.copy(block_ + header, text.size());
    block_[header + text.size()] = '\0';
  }
  void release() noexcept {
    if (block_ && owners().fetch_sub(1, std::memory_order_acq_rel) == 1) {
      owners().~counter();
      text_slabs::release(block_, header + std::char_traits<char>::length(chars()) + 1);
    }
    block_ = nullptr;
  }

  char* block_ = nullptr;
};

// Equal texts made one while a catalog is built: a rack's sensors share a
// handful of driver names, units and state word lists.
class text_pool {
 public:
  shared_text get(std::string_view text) {
    text = text.substr(0, text.find('\0'));
    if (text.empty()) return {};
    if (auto it = texts_.find(text); it != texts_.end()) return it->second;
    shared_text made(text);
    texts_.emplace(made.view(), made);  // the key views the text the value keeps alive
    return made;
  }

 private:
  std::unordered_map<std::string_view, shared_text> texts_;
};

// A limit that may be absent, with std::optional<double>'s manner, in 8
// bytes: NaN stands for "none" (a NaN limit would never trip anyway).
class optional_limit {
 public:
  constexpr optional_limit() = default;
  constexpr optional_limit(std::nullopt_t) {}
  constexpr optional_limit(double value) : value_(value) {}
  constexpr optional_limit(const std::optional<double>& value)
      : value_(value ? *value : std::numeric_limits<double>::quiet_NaN()) {}

  constexpr bool has_value() const { return value_ == value_; }
  constexpr void reset() { value_ = std::numeric_limits<double>::quiet_NaN(); }
  constexpr explicit operator bool() const { return has_value(); }
  constexpr double operator*() const { return value_; }
  double value() const {
    if (!has_value()) throw std::bad_optional_access();
    return value_;
  }
  constexpr double value_or(double otherwise) const { return has_value() ? value_ : otherwise; }
  constexpr operator std::optional<double>() const {
    return has_value() ? std::optional<double>(value_) : std::nullopt;
  }
  constexpr bool operator==(const optional_limit& other) const {
    return has_value() ? value_ == other.value_ : !other.has_value();
  }

 private:
  double value_ = std::numeric_limits<double>::quiet_NaN();
};

}  // namespace racktel
