// LatencySketch: a mergeable quantile sketch of non-negative values (milliseconds), in the
// style of DDSketch (Masson et al., VLDB 2019), so a window can answer p50/p95/p99 without
// keeping samples.
//
// Accuracy: every quantile is within 1% relative error (alpha = 0.01) of the exact value
// at rank floor(q * (count - 1)) of the sorted input, as long as no bins were collapsed
// (below). Values are placed in logarithmic bins: bin i holds (gamma^(i-1), gamma^i] with
// gamma = (1 + alpha) / (1 - alpha), and answers with the point whose relative distance to
// both edges is alpha. Values at or below kZeroThreshold (1 ns) count in a zero bin and
// are answered as 0. min and max (quantiles 0 and 1), sum and count are exact.
//
// Memory: bins are stored sparsely, sorted by index, at most `max_bins` of them (default
// 2048, 16 bytes each). Latencies within 1..1000 ms need about 350 bins. When a value or a
// merge would need more bins, the lowest bins are folded into the lowest bin kept: the
// sketch then spans about 2048 * 2% = 41 natural-log units, 17 orders of magnitude, from
// its largest value down. Quantiles that land in the folded range are overestimated
// (answered as the lowest kept bin's value); quantiles above it keep the 1% bound. High
// quantiles, the ones latency rules use, are therefore the last to lose accuracy.
//
// Two sketches always merge (alpha is fixed); merging equals sketching the union. Not
// thread-safe; a plain value type.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace reflex::agent {

class LatencySketch {
 public:
  static constexpr double kRelativeAccuracy = 0.01;  // alpha
  static constexpr double kZeroThreshold = 1e-6;     // ms; at or below: the zero bin
  static constexpr size_t kDefaultMaxBins = 2048;

  explicit LatencySketch(size_t max_bins = kDefaultMaxBins);

  // Records `value` `count` times. Negative, NaN and infinite values are ignored: they
  // are never latencies, and one of them must not poison the sum or the quantiles.
  void add(double value, uint64_t count = 1);
  // Adds everything `other` recorded. The result keeps this sketch's max_bins.
  void merge(const LatencySketch& other);
  // The value at quantile q (clamped to [0, 1]); nullopt when the sketch is empty.
  std::optional<double> quantile(double q) const;

  uint64_t count() const { return count_; }
  bool empty() const { return count_ == 0; }
  double min() const { return count_ ? min_ : 0; }  // exact; 0 when empty
  double max() const { return count_ ? max_ : 0; }  // exact; 0 when empty
  double sum() const { return sum_; }
  void clear();

  size_t bins() const { return bins_.size(); }  // non-empty bins, zero bin not included
  size_t max_bins() const { return max_bins_; }
  // Bytes this sketch occupies now, and the most it can ever occupy.
  size_t memory_used() const;
  static size_t memory_bound(size_t max_bins = kDefaultMaxBins);

  // Equal contents (bins, counts, min, max); the sums may differ by rounding.
  bool same_bins(const LatencySketch& other) const;

 private:
  struct Bin {
    int32_t index;
    uint64_t count;
  };
  static int32_t index_of(double value);
  static double value_of(int32_t index);
  // Folds the lowest bins so that at most `max_bins_` remain.
  void collapse();

  std::vector<Bin> bins_;  // sorted by index, counts > 0
  size_t max_bins_;
  uint64_t zero_count_ = 0;
  uint64_t count_ = 0;
  double min_ = 0;
  double max_ = 0;
  double sum_ = 0;
};

}  // namespace reflex::agent
