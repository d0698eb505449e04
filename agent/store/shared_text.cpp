#include "shared_text.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace racktel {
namespace {

constexpr std::size_t slot_step = 8;
constexpr std::size_t largest_slot = 256;
constexpr std::size_t slab_bytes_each = 32 * 1024;

struct free_slot {
  free_slot* next;
};

class slab_pool {
 public:
  void* allocate(std::size_t bytes) {
    if (bytes > largest_slot) return ::operator new(bytes);
    const std::size_t c = size_class(bytes);
    std::lock_guard lock(mutex_);
    if (free_slot* slot = free_[c]) {
      free_[c] = slot->next;
      return slot;
    }
    const std::size_t size = (c + 1) * slot_step;
    if (slab_left_ < size) {
      // The tail of the last slab goes to the free lists of the sizes that fit, not to waste.
      while (slab_left_ >= slot_step) {
        const std::size_t tail_class = std::min(slab_left_ / slot_step, largest_slot / slot_step) - 1;
        put_back(slab_next_, tail_class);
        const std::size_t used = (tail_class + 1) * slot_step;
        slab_next_ += used;
        slab_left_ -= used;
      }
      slabs_.push_back(std::make_unique<std::byte[]>(slab_bytes_each));
      slab_next_ = slabs_.back().get();
      slab_left_ = slab_bytes_each;
    }
    void* slot = slab_next_;
    slab_next_ += size;
    slab_left_ -= size;
    return slot;
  }

  void release(void* slot, std::size_t bytes) noexcept {
    if (bytes > largest_slot) {
      ::operator delete(slot);
      return;
    }
    std::lock_guard lock(mutex_);
    put_back(slot, size_class(bytes));
  }

  std::size_t held() const {
    std::lock_guard lock(mutex_);
    return slabs_.size() * slab_bytes_each;
  }

 private:
  static std::size_t size_class(std::size_t bytes) { return (bytes + slot_step - 1) / slot_step - 1; }
  void put_back(void* slot, std::size_t c) noexcept { free_[c] = new (slot) free_slot{free_[c]}; }

  mutable std::mutex mutex_;
  std::array<free_slot*, largest_slot / slot_step> free_{};
  std::vector<std::unique_ptr<std::byte[]>> slabs_;
  std::byte* slab_next_ = nullptr;
  std::size_t slab_left_ = 0;
};

// Never destroyed: texts in static objects may be released after main returns.
slab_pool& pool() {
  static auto* p = new slab_pool;
  return *p;
}

}  // namespace

void* text_slabs::allocate(std::size_t bytes) { return pool().allocate(bytes); }
void text_slabs::release(void* slot, std::size_t bytes) noexcept { pool().release(slot, bytes); }
std::size_t text_slabs::slab_bytes() { return pool().held(); }

}  // namespace racktel
