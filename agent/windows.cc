#include "agent/windows.h"

#include <algorithm>

namespace reflex::agent {

void read_window_config(config::MapReader& r, WindowConfig& out) {
  WindowConfig cfg = out;
  r.get("length", cfg.length);
  int64_t slices = cfg.slices;
  r.get("slices", slices, 1, 120);
  cfg.slices = static_cast<int>(slices);
  int64_t max_series = static_cast<int64_t>(cfg.max_series);
  r.get("max_series", max_series, 1, 1'000'000);
  cfg.max_series = static_cast<size_t>(max_series);

  bool ok = true;
  if (cfg.length < Millis(1000)) {
    r.errors().add(r.take("length"), r.path_of("length"),
                   "must be at least 1s, got " + format_duration(cfg.length));
    ok = false;
  } else if (cfg.length.count() % cfg.slices != 0) {
    const std::string key = r.has("length") ? "length" : "slices";
    r.errors().add(r.take(key), r.path_of(key),
                   format_duration(cfg.length) + " does not split into " +
                       std::to_string(cfg.slices) +
                       " slices of whole milliseconds; choose a length divisible by `slices`");
    ok = false;
  }
  if (ok) out = cfg;
}

WindowStore::WindowStore(const Clock& clock, WindowConfig config) : clock_(clock), config_(config) {
  config_.slices = std::max(config_.slices, 1);
  slice_ms_ = std::max<int64_t>(config_.length.count() / config_.slices, 1);
}

int64_t WindowStore::epoch_of(int64_t now_ms) const {
  // Floor division: a monotonic origin may put `now` below zero.
  return now_ms >= 0 ? now_ms / slice_ms_ : -((-now_ms + slice_ms_ - 1) / slice_ms_);
}

WindowStore::Slice* WindowStore::current(const std::string& name, const Labels& labels,
                                         Series** out) {
  const int64_t now = clock_.monotonic_ms();
  auto it = series_.find(KeyRef{name, labels});
  if (it == series_.end()) {
    if (series_.size() >= config_.max_series) {
      ++dropped_series_;
      return nullptr;
    }
    it = series_.emplace(Key{name, labels}, Series{}).first;
    it->second.ring.resize(static_cast<size_t>(config_.slices));
  }
  Series& series = it->second;
  series.last_seen_ms = now;
  if (out) *out = &series;

  const int64_t epoch = epoch_of(now);
  const auto n = static_cast<int64_t>(series.ring.size());
  Slice& slice = series.ring[static_cast<size_t>(((epoch % n) + n) % n)];
  if (slice.epoch != epoch) {  // the slot's previous slice has slid out of the window
    slice.epoch = epoch;
    slice.count = slice.errors = 0;
    slice.latency.clear();
    slice.counter_sum = 0;
    slice.has_gauge = false;
  }
  return &slice;
}

void WindowStore::event(const std::string& series, const Labels& labels, bool error,
                        std::optional<double> latency_ms) {
  Series* s = nullptr;
  Slice* slice = current(series, labels, &s);
  if (!slice) return;
  s->has_events = true;
  ++slice->count;
  if (error) ++slice->errors;
  if (latency_ms) slice->latency.add(*latency_ms);
}

void WindowStore::gauge(const std::string& series, const Labels& labels, double value,
                        const std::string& unit) {
  Series* s = nullptr;
  Slice* slice = current(series, labels, &s);
  if (!slice) return;
  s->gauge = value;
  s->unit = unit;
  if (!slice->has_gauge) {
    slice->gauge_min = slice->gauge_max = value;
  } else {
    slice->gauge_min = std::min(slice->gauge_min, value);
    slice->gauge_max = std::max(slice->gauge_max, value);
  }
  slice->has_gauge = true;
  slice->gauge_last = value;
}

void WindowStore::counter(const std::string& series, const Labels& labels, double delta) {
  Series* s = nullptr;
  Slice* slice = current(series, labels, &s);
  if (!slice) return;
  s->has_counter = true;
  slice->counter_sum += delta;
}

void WindowStore::state(const std::string& series, const Labels& labels, CheckState state,
                        const std::string& message) {
  Series* s = nullptr;
  if (!current(series, labels, &s)) return;
  s->state = state;
  s->message = message;
}

size_t WindowStore::expire(int64_t now_ms) {
  const int64_t idle_limit = 10 * config_.length.count();
  size_t removed = 0;
  for (auto it = series_.begin(); it != series_.end();) {
    if (now_ms - it->second.last_seen_ms > idle_limit) {
      it = series_.erase(it);
      ++removed;
    } else {
      ++it;
    }
  }
  return removed;
}

WindowStats WindowStore::stats_of(const Series& series, int64_t now_ms) const {
  WindowStats out;
  const int64_t now_epoch = epoch_of(now_ms);
  const int64_t oldest = now_epoch - static_cast<int64_t>(series.ring.size()) + 1;
  LatencySketch latency;
  for (const Slice& slice : series.ring) {
    if (slice.epoch < oldest || slice.epoch > now_epoch) continue;
    out.count += slice.count;
    out.errors += slice.errors;
    latency.merge(slice.latency);
    out.counter_sum += slice.counter_sum;
    if (slice.has_gauge) {
      out.gauge_min = std::min(out.gauge_min.value_or(slice.gauge_min), slice.gauge_min);
      out.gauge_max = std::max(out.gauge_max.value_or(slice.gauge_max), slice.gauge_max);
    }
  }
  const double seconds = static_cast<double>(config_.length.count()) / 1000.0;
  out.error_rate = out.count ? static_cast<double>(out.errors) / static_cast<double>(out.count) : 0;
  out.rate = static_cast<double>(out.count) / seconds;
  out.counter_rate = out.counter_sum / seconds;
  if (!latency.empty()) {
    out.p50 = latency.quantile(0.50);
    out.p95 = latency.quantile(0.95);
    out.p99 = latency.quantile(0.99);
    out.max = latency.max();
  }
  out.value = series.gauge;
  out.unit = series.unit;
  out.state = series.state;
  out.message = series.message;
  return out;
}

std::optional<WindowStats> WindowStore::stats(const std::string& name, const Labels& labels,
                                              int64_t now_ms) const {
  auto it = series_.find(KeyRef{name, labels});
  if (it == series_.end()) return std::nullopt;
  return stats_of(it->second, now_ms);
}

std::vector<SeriesStats> WindowStore::snapshot(int64_t now_ms) const {
  std::vector<SeriesStats> out;
  out.reserve(series_.size());
  for (const auto& [key, series] : series_) {
    out.push_back(SeriesStats{key.name, key.labels, stats_of(series, now_ms)});
  }
  return out;
}

std::vector<protocol::Sample> WindowStore::to_samples(int64_t now_ms) const {
  std::vector<protocol::Sample> out;
  for (const auto& [key, series] : series_) {
    const WindowStats st = stats_of(series, now_ms);
    auto add = [&](const char* suffix, double value, const std::string& unit) {
      out.push_back(protocol::Sample{key.name + suffix, key.labels, value, unit});
    };
    if (series.has_events) {
      add(".count", static_cast<double>(st.count), "");
      add(".errors", static_cast<double>(st.errors), "");
      add(".error_rate", st.error_rate, "ratio");
      add(".rate", st.rate, "1/s");
    }
    if (st.p50) {
      add(".p50", *st.p50, "ms");
      add(".p95", *st.p95, "ms");
      add(".p99", *st.p99, "ms");
      add(".max", *st.max, "ms");
    }
    if (series.has_counter) add(".counter_rate", st.counter_rate, "1/s");
    if (st.value) add(".value", *st.value, st.unit);
    if (st.state) add(".state", static_cast<double>(*st.state), "");
  }
  return out;
}

}  // namespace reflex::agent
