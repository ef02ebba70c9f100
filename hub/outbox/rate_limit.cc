#include "hub/outbox/rate_limit.h"

#include <algorithm>
#include <cmath>

namespace reflex::hub {

KeyedTokenBuckets::KeyedTokenBuckets(double rate, double burst)
    : rate_(rate), burst_(std::max(1.0, burst)) {}

double KeyedTokenBuckets::level(const Bucket& b, int64_t now_ms) const {
  const double elapsed = static_cast<double>(std::max<int64_t>(0, now_ms - b.at_ms)) / 1000.0;
  return std::min(burst_, b.tokens + elapsed * rate_);
}

bool KeyedTokenBuckets::take(const std::string& key, int64_t now_ms) {
  if (rate_ <= 0 || key.empty()) return true;
  forget_full(now_ms);
  auto [it, fresh] = buckets_.try_emplace(key, Bucket{burst_, now_ms});
  Bucket& b = it->second;
  b.tokens = level(b, now_ms);
  b.at_ms = now_ms;
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

int64_t KeyedTokenBuckets::next_token_ms(const std::string& key, int64_t now_ms) const {
  if (rate_ <= 0 || key.empty()) return now_ms;
  auto it = buckets_.find(key);
  if (it == buckets_.end()) return now_ms;
  const double have = level(it->second, now_ms);
  if (have >= 1.0) return now_ms;
  return now_ms + static_cast<int64_t>(std::ceil((1.0 - have) / rate_ * 1000.0));
}

void KeyedTokenBuckets::forget_full(int64_t now_ms) {
  // A full bucket is the same as no bucket: sweep now and then so idle keys do not pile up.
  if (now_ms - last_sweep_ms_ < 60'000) return;
  last_sweep_ms_ = now_ms;
  std::erase_if(buckets_, [&](const auto& kv) { return level(kv.second, now_ms) >= burst_; });
}

}  // namespace reflex::hub
