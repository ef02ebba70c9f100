// Token buckets keyed by a string (Slack: one per channel), as a pure structure that
// takes `now`: each key refills at `rate` tokens per second up to `burst`. A key seen for
// the first time starts full. Keys idle long enough to be full again are forgotten.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

namespace reflex::hub {

class KeyedTokenBuckets {
 public:
  // rate <= 0: unlimited (take() always succeeds). burst >= 1.
  KeyedTokenBuckets(double rate, double burst);

  // Takes one token for `key` if it has one.
  bool take(const std::string& key, int64_t now_ms);
  // When `key` will next have a token (now_ms if it has one).
  int64_t next_token_ms(const std::string& key, int64_t now_ms) const;
  size_t tracked() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens;
    int64_t at_ms;
  };
  double level(const Bucket& b, int64_t now_ms) const;
  void forget_full(int64_t now_ms);

  double rate_;
  double burst_;
  std::unordered_map<std::string, Bucket> buckets_;
  int64_t last_sweep_ms_ = 0;
};

}  // namespace reflex::hub
