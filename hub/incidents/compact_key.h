// CompactKey: an immutable string for the fingerprints the engine keeps per open alert,
// stored inline up to 23 bytes (std::string's inline limit is 15, so Alertmanager's
// 16-hex-digit fingerprints and agents' "<agent>/<16 hex>" ones would each cost a heap
// block). With 100,000 open alerts held in several maps, that block and its malloc
// overhead are a large part of the hub's memory. Longer keys go to the heap.
//
// CompactKeyHash and CompactKeyEq are transparent, so maps keyed by CompactKey are
// searched with a std::string or std::string_view without building a key. The hash is
// not cached in the map nodes (it is cheap to recompute), which saves 8 bytes a node.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

namespace reflex::hub::incidents {

class CompactKey {
 public:
  CompactKey() noexcept { set_inline(0); }
  explicit CompactKey(std::string_view text) { assign(text); }
  CompactKey(const CompactKey& other) { assign(other.view()); }
  CompactKey(CompactKey&& other) noexcept {
    std::memcpy(buf_, other.buf_, sizeof buf_);
    other.set_inline(0);
  }
  CompactKey& operator=(const CompactKey& other) {
    if (this != &other) {
      CompactKey copy(other);
      swap(copy);
    }
    return *this;
  }
  CompactKey& operator=(CompactKey&& other) noexcept {
    if (this != &other) {
      release();
      std::memcpy(buf_, other.buf_, sizeof buf_);
      other.set_inline(0);
    }
    return *this;
  }
  ~CompactKey() { release(); }

  std::string_view view() const noexcept {
    if (on_heap()) return {heap_ptr(), heap_size()};
    return {buf_, static_cast<size_t>(static_cast<unsigned char>(buf_[kTag]))};
  }
  std::string str() const { return std::string(view()); }
  bool empty() const noexcept { return view().empty(); }

  void swap(CompactKey& other) noexcept {
    char tmp[sizeof buf_];
    std::memcpy(tmp, buf_, sizeof buf_);
    std::memcpy(buf_, other.buf_, sizeof buf_);
    std::memcpy(other.buf_, tmp, sizeof buf_);
  }

  friend bool operator==(const CompactKey& a, const CompactKey& b) noexcept {
    return a.view() == b.view();
  }
  friend auto operator<=>(const CompactKey& a, const CompactKey& b) noexcept {
    return a.view() <=> b.view();
  }

 private:
  static constexpr size_t kInline = 23;  // bytes of text held inline
  static constexpr size_t kTag = 23;     // inline: the size; on the heap: kHeap
  static constexpr unsigned char kHeap = 0xFF;

  bool on_heap() const noexcept { return static_cast<unsigned char>(buf_[kTag]) == kHeap; }
  const char* heap_ptr() const noexcept {
    const char* p;
    std::memcpy(&p, buf_, sizeof p);
    return p;
  }
  size_t heap_size() const noexcept {
    size_t n;
    std::memcpy(&n, buf_ + sizeof(char*), sizeof n);
    return n;
  }
  void set_inline(size_t size) noexcept { buf_[kTag] = static_cast<char>(size); }
  void assign(std::string_view text) {
    if (text.size() <= kInline) {
      std::memcpy(buf_, text.data(), text.size());
      set_inline(text.size());
      return;
    }
    char* p = new char[text.size()];
    std::memcpy(p, text.data(), text.size());
    const size_t n = text.size();
    std::memcpy(buf_, &p, sizeof p);
    std::memcpy(buf_ + sizeof p, &n, sizeof n);
    buf_[kTag] = static_cast<char>(kHeap);
  }
  void release() noexcept {
    if (on_heap()) delete[] heap_ptr();
  }

  alignas(8) char buf_[24];
};

struct CompactKeyHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  size_t operator()(const std::string& s) const noexcept { return (*this)(std::string_view(s)); }
  size_t operator()(const CompactKey& k) const noexcept { return (*this)(k.view()); }
};

struct CompactKeyEq {
  using is_transparent = void;
  static std::string_view v(std::string_view s) noexcept { return s; }
  static std::string_view v(const std::string& s) noexcept { return s; }
  static std::string_view v(const CompactKey& k) noexcept { return k.view(); }
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const noexcept {
    return v(a) == v(b);
  }
};

}  // namespace reflex::hub::incidents
