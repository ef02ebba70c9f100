// Small statistics for benchmark reports: medians of repetitions, latency percentiles.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace reflex::bench {

// The value below which `q` (0..1) of `values` fall (nearest rank); 0 for none.
// Reorders `values`.
template <class T>
T percentile(std::vector<T>& values, double q) {
  if (values.empty()) return T{};
  size_t rank = static_cast<size_t>(q * static_cast<double>(values.size()));
  if (rank >= values.size()) rank = values.size() - 1;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(rank),
                   values.end());
  return values[rank];
}

// The median of repeated measurements (the lower middle for an even count).
inline double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[(values.size() - 1) / 2];
}

}  // namespace reflex::bench
