// for_each_distinct: each distinct item of a short list once, without a heap block for
// the common case.
#pragma once

#include <algorithm>
#include <cstddef>
#include <unordered_set>
#include <vector>

namespace reflex::hub::incidents {

// Calls `f` once for each distinct item of `items`, in the order of first appearance.
// Up to kDistinctScan items are compared with those before them (a signal marks one
// alert and one or two incidents, and a hash set would cost a heap block per signal);
// longer lists (a timer run may mark thousands) go through a hash set of `Key`, which
// must be constructible from an item and hashable.
inline constexpr size_t kDistinctScan = 8;

template <typename Key, typename T, typename F>
void for_each_distinct(const std::vector<T>& items, F&& f) {
  if (items.size() <= kDistinctScan) {
    for (auto it = items.begin(); it != items.end(); ++it) {
      if (std::find(items.begin(), it, *it) == it) f(*it);
    }
    return;
  }
  std::unordered_set<Key> seen;
  for (const auto& item : items) {
    if (seen.insert(Key(item)).second) f(item);
  }
}

}  // namespace reflex::hub::incidents
