#include "agent/sketch.h"

#include <algorithm>
#include <cmath>

namespace reflex::agent {
namespace {

constexpr double kGamma =
    (1 + LatencySketch::kRelativeAccuracy) / (1 - LatencySketch::kRelativeAccuracy);
const double kLogGamma = std::log(kGamma);

}  // namespace

LatencySketch::LatencySketch(size_t max_bins) : max_bins_(std::max<size_t>(max_bins, 1)) {}

int32_t LatencySketch::index_of(double value) {
  return static_cast<int32_t>(std::ceil(std::log(value) / kLogGamma));
}

double LatencySketch::value_of(int32_t index) {
  // The point of (gamma^(i-1), gamma^i] at relative distance alpha from both edges.
  return std::exp(index * kLogGamma) * 2 / (kGamma + 1);
}

void LatencySketch::add(double value, uint64_t count) {
  if (count == 0 || !std::isfinite(value) || value < 0) return;
  if (count_ == 0) {
    min_ = max_ = value;
  } else {
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }
  count_ += count;
  sum_ += value * static_cast<double>(count);
  if (value <= kZeroThreshold) {
    zero_count_ += count;
    return;
  }

  const int32_t index = index_of(value);
  auto it = std::lower_bound(bins_.begin(), bins_.end(), index,
                             [](const Bin& b, int32_t i) { return b.index < i; });
  if (it != bins_.end() && it->index == index) {
    it->count += count;
    return;
  }
  const size_t pos = static_cast<size_t>(it - bins_.begin());
  if (bins_.size() < max_bins_) {
    // Grow by hand so the capacity never passes max_bins (the memory bound).
    if (bins_.size() == bins_.capacity()) {
      bins_.reserve(std::min(max_bins_, std::max<size_t>(8, 2 * bins_.capacity())));
    }
    bins_.insert(bins_.begin() + static_cast<ptrdiff_t>(pos), Bin{index, count});
    return;
  }
  // Full: keep the highest max_bins indices and fold the rest into the lowest kept one.
  if (pos == 0) {
    bins_.front().count += count;  // below every kept bin
  } else if (pos == 1 || max_bins_ == 1) {
    bins_.front() = Bin{index, bins_.front().count + count};  // the new bin is the lowest kept
  } else {
    bins_[1].count += bins_[0].count;
    bins_.erase(bins_.begin());
    bins_.insert(bins_.begin() + static_cast<ptrdiff_t>(pos - 1), Bin{index, count});
  }
}

void LatencySketch::merge(const LatencySketch& other) {
  if (other.count_ == 0) return;
  if (count_ == 0) {
    min_ = other.min_;
    max_ = other.max_;
  } else {
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }
  count_ += other.count_;
  zero_count_ += other.zero_count_;
  sum_ += other.sum_;
  if (other.bins_.empty()) return;

  std::vector<Bin> out;
  out.reserve(bins_.size() + other.bins_.size());
  auto a = bins_.begin();
  auto b = other.bins_.begin();
  while (a != bins_.end() || b != other.bins_.end()) {
    if (b == other.bins_.end() || (a != bins_.end() && a->index < b->index)) {
      out.push_back(*a++);
    } else if (a == bins_.end() || b->index < a->index) {
      out.push_back(*b++);
    } else {
      out.push_back(Bin{a->index, a->count + b->count});
      ++a;
      ++b;
    }
  }
  bins_ = std::move(out);
  collapse();
}

void LatencySketch::collapse() {
  if (bins_.size() > max_bins_) {
    const size_t fold = bins_.size() - max_bins_;  // bins [0, fold) go into bin `fold`
    for (size_t i = 0; i < fold; ++i) bins_[fold].count += bins_[i].count;
    bins_.erase(bins_.begin(), bins_.begin() + static_cast<ptrdiff_t>(fold));
  }
  if (bins_.capacity() > max_bins_) bins_ = std::vector<Bin>(bins_.begin(), bins_.end());
}

std::optional<double> LatencySketch::quantile(double q) const {
  if (count_ == 0) return std::nullopt;
  q = std::clamp(std::isnan(q) ? 0.0 : q, 0.0, 1.0);
  const auto rank = static_cast<uint64_t>(q * static_cast<double>(count_ - 1));
  // The end ranks are the exact min and max; every other answer is clamped to them,
  // which only moves it closer to the truth.
  if (rank == 0) return min_;
  if (rank == count_ - 1) return max_;
  auto bounded = [&](double v) { return std::clamp(v, min_, max_); };
  uint64_t seen = zero_count_;
  if (rank < seen) return bounded(0);
  for (const Bin& bin : bins_) {
    seen += bin.count;
    if (seen > rank) return bounded(value_of(bin.index));
  }
  return max_;  // unreachable while the counts agree
}

void LatencySketch::clear() {
  bins_.clear();
  bins_.shrink_to_fit();
  zero_count_ = count_ = 0;
  min_ = max_ = sum_ = 0;
}

size_t LatencySketch::memory_used() const {
  return sizeof(LatencySketch) + bins_.capacity() * sizeof(Bin);
}

size_t LatencySketch::memory_bound(size_t max_bins) {
  return sizeof(LatencySketch) + std::max<size_t>(max_bins, 1) * sizeof(Bin);
}

bool LatencySketch::same_bins(const LatencySketch& other) const {
  if (count_ != other.count_ || zero_count_ != other.zero_count_ || min() != other.min() ||
      max() != other.max() || bins_.size() != other.bins_.size()) {
    return false;
  }
  for (size_t i = 0; i < bins_.size(); ++i) {
    if (bins_[i].index != other.bins_[i].index || bins_[i].count != other.bins_[i].count) {
      return false;
    }
  }
  return true;
}

}  // namespace reflex::agent
