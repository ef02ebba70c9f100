#include "common/metrics.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace reflex::metrics {
namespace {

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "metrics: %s\n", message.c_str());
  std::abort();
}

void check(const Status& status) {
  if (!status) die(status.message());
}

// Integral values print as integers ("1000000", not "1e+06"); others in the shortest
// form that reads back to the same double.
void append_number(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[64];
    std::to_chars_result r;
    if (v == std::trunc(v) && std::fabs(v) < 9007199254740992.0) {  // 2^53: exact
      r = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(v));
    } else {
      r = std::to_chars(buf, buf + sizeof buf, v);
    }
    out.append(buf, r.ptr);
  }
}

void append_uint(std::string& out, uint64_t v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_escaped(std::string& out, std::string_view text, bool quote) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

// `{a="x",b="y"}`, with an optional trailing le label; nothing when there are no labels.
void append_labels(std::string& out, const std::vector<std::string>& names,
                   const std::vector<std::string>& values, const char* le = nullptr) {
  if (names.empty() && le == nullptr) return;
  out += '{';
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i];
    out += "=\"";
    append_escaped(out, values[i], /*quote=*/true);
    out += '"';
  }
  if (le != nullptr) {
    if (!names.empty()) out += ',';
    out += "le=\"";
    out += le;
    out += '"';
  }
  out += '}';
}

void append_header(std::string& out, const detail::FamilyBase& family, const char* type) {
  out += "# HELP ";
  out += family.name();
  out += ' ';
  append_escaped(out, family.help(), /*quote=*/false);
  out += "\n# TYPE ";
  out += family.name();
  out += ' ';
  out += type;
  out += '\n';
}

bool is_name_char(char c, bool first, bool colon_ok) {
  bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  return letter || (colon_ok && c == ':') || (!first && c >= '0' && c <= '9');
}

Status validate_identifier(std::string_view name, bool colon_ok, const char* what) {
  bool ok = !name.empty();
  for (size_t i = 0; ok && i < name.size(); ++i) ok = is_name_char(name[i], i == 0, colon_ok);
  if (ok) return Status::ok();
  return Status::error("invalid_name",
                       std::string(what) + " \"" + std::string(name) + "\" must match " +
                           (colon_ok ? "[a-zA-Z_:][a-zA-Z0-9_:]*" : "[a-zA-Z_][a-zA-Z0-9_]*"));
}

}  // namespace

// ---- metrics ----

void Counter::add(double amount) {
  if (!(amount >= 0)) return;  // also rejects NaN
  fractional_.fetch_add(amount, std::memory_order_relaxed);
}

double Counter::value() const {
  return static_cast<double>(whole_.load(std::memory_order_relaxed)) +
         fractional_.load(std::memory_order_relaxed);
}

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  check(validate_buckets(bounds_));
  if (!bounds_.empty() && std::isinf(bounds_.back())) bounds_.pop_back();
  buckets_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
}

void Histogram::observe(double value) {
  auto it = std::partition_point(bounds_.begin(), bounds_.end(),
                                 [value](double bound) { return !(value <= bound); });
  buckets_[it - bounds_.begin()].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.cumulative.reserve(bounds_.size() + 1);
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    s.count += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(s.count);
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

// ---- families ----

template <class Metric>
Metric& Family<Metric>::with(std::initializer_list<std::string_view> values) {
  return child(std::vector<std::string>(values.begin(), values.end()));
}

template <class Metric>
Metric& Family<Metric>::with(std::span<const std::string> values) {
  return child(std::vector<std::string>(values.begin(), values.end()));
}

template <class Metric>
Metric& Family<Metric>::child(std::vector<std::string> values) {
  std::lock_guard lock(mu_);
  auto it = children_.find(values);
  if (it != children_.end()) return *it->second;
  if (values.size() != label_names().size()) {
    die(name() + " has " + std::to_string(label_names().size()) + " labels, got " +
        std::to_string(values.size()) + " values");
  }
  std::unique_ptr<Metric> metric;
  if constexpr (std::is_same_v<Metric, Histogram>) {
    metric = std::make_unique<Histogram>(bounds_);
  } else {
    metric = std::make_unique<Metric>();
  }
  return *children_.emplace(std::move(values), std::move(metric)).first->second;
}

template <class Metric>
void Family<Metric>::render(std::string& out) const {
  if constexpr (std::is_same_v<Metric, Counter>) append_header(out, *this, "counter");
  if constexpr (std::is_same_v<Metric, Gauge>) append_header(out, *this, "gauge");
  if constexpr (std::is_same_v<Metric, Histogram>) append_header(out, *this, "histogram");
  std::lock_guard lock(mu_);
  for (const auto& [values, metric] : children_) {
    if constexpr (std::is_same_v<Metric, Histogram>) {
      render_histogram(out, values, *metric);
    } else {
      out += name();
      append_labels(out, label_names(), values);
      out += ' ';
      if constexpr (std::is_same_v<Metric, Counter>) {
        // The whole part prints exactly even beyond 2^53.
        uint64_t whole = metric->whole_.load(std::memory_order_relaxed);
        double fractional = metric->fractional_.load(std::memory_order_relaxed);
        if (fractional == 0) {
          append_uint(out, whole);
        } else {
          append_number(out, static_cast<double>(whole) + fractional);
        }
      } else {
        append_number(out, metric->value());
      }
      out += '\n';
    }
  }
}

template <class Metric>
void Family<Metric>::render_histogram(std::string& out, const std::vector<std::string>& values,
                                      const Histogram& histogram) const {
  Histogram::Snapshot s = histogram.snapshot();
  const std::vector<double>& bounds = histogram.bounds();
  std::string le;
  for (size_t i = 0; i < s.cumulative.size(); ++i) {
    le.clear();
    append_number(le, i < bounds.size() ? bounds[i] : INFINITY);
    out += name() + "_bucket";
    append_labels(out, label_names(), values, le.c_str());
    out += ' ';
    append_uint(out, s.cumulative[i]);
    out += '\n';
  }
  out += name() + "_sum";
  append_labels(out, label_names(), values);
  out += ' ';
  append_number(out, s.sum);
  out += '\n';
  out += name() + "_count";
  append_labels(out, label_names(), values);
  out += ' ';
  append_uint(out, s.count);
  out += '\n';
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// ---- registry ----

template <class Metric>
Family<Metric>& Registry::family(std::string_view name, std::string_view help,
                                 std::vector<std::string> label_names, std::vector<double> bounds) {
  check(validate_metric_name(name));
  for (const std::string& label : label_names) {
    check(validate_label_name(label).with_context(std::string(name)));
    if (std::is_same_v<Metric, Histogram> && label == "le") {
      die(std::string(name) + ": histograms reserve the label \"le\"");
    }
  }
  if constexpr (std::is_same_v<Metric, Histogram>) {
    check(validate_buckets(bounds).with_context(std::string(name)));
    if (!bounds.empty() && std::isinf(bounds.back())) bounds.pop_back();
  }
  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  if (it != families_.end()) {
    auto* existing = dynamic_cast<Family<Metric>*>(it->second.get());
    if (existing == nullptr || existing->help() != help || existing->label_names() != label_names ||
        existing->bounds_ != bounds) {
      die(std::string(name) + " registered twice with different type, help, labels or buckets");
    }
    return *existing;
  }
  auto* family = new Family<Metric>(std::string(name), std::string(help), std::move(label_names),
                                    std::move(bounds));
  families_.emplace(std::string(name), std::unique_ptr<detail::FamilyBase>(family));
  return *family;
}

CounterFamily& Registry::counter_family(std::string_view name, std::string_view help,
                                        std::vector<std::string> label_names) {
  return family<Counter>(name, help, std::move(label_names), {});
}

GaugeFamily& Registry::gauge_family(std::string_view name, std::string_view help,
                                    std::vector<std::string> label_names) {
  return family<Gauge>(name, help, std::move(label_names), {});
}

HistogramFamily& Registry::histogram_family(std::string_view name, std::string_view help,
                                            std::vector<std::string> label_names,
                                            std::vector<double> bounds) {
  return family<Histogram>(name, help, std::move(label_names), std::move(bounds));
}

Counter& Registry::counter(std::string_view name, std::string_view help) {
  return counter_family(name, help, {}).child({});
}

Gauge& Registry::gauge(std::string_view name, std::string_view help) {
  return gauge_family(name, help, {}).child({});
}

Histogram& Registry::histogram(std::string_view name, std::string_view help,
                               std::vector<double> bounds) {
  return histogram_family(name, help, {}, std::move(bounds)).child({});
}

std::string Registry::render() const {
  std::string out;
  std::lock_guard lock(mu_);
  for (const auto& [name, family] : families_) family->render(out);
  return out;
}

// ---- helpers ----

std::vector<double> exponential_buckets(double start, double factor, int count) {
  if (!(start > 0) || !(factor > 1) || count < 1) {
    die("exponential_buckets needs start > 0, factor > 1, count >= 1");
  }
  std::vector<double> bounds;
  for (double b = start; static_cast<int>(bounds.size()) < count; b *= factor) bounds.push_back(b);
  return bounds;
}

Status validate_metric_name(std::string_view name) {
  return validate_identifier(name, /*colon_ok=*/true, "metric name");
}

Status validate_label_name(std::string_view name) {
  REFLEX_RETURN_IF_ERROR(validate_identifier(name, /*colon_ok=*/false, "label name"));
  if (name.starts_with("__")) {
    return Status::error("invalid_name",
                         "label name \"" + std::string(name) + "\" starts with reserved \"__\"");
  }
  return Status::ok();
}

Status validate_buckets(std::span<const double> bounds) {
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (std::isnan(bounds[i])) return Status::error("invalid_buckets", "bucket bound is NaN");
    if (i > 0 && !(bounds[i - 1] < bounds[i])) {
      return Status::error("invalid_buckets", "bucket bounds must be strictly increasing");
    }
    if (std::isinf(bounds[i]) && (bounds[i] < 0 || i + 1 != bounds.size())) {
      return Status::error("invalid_buckets", "only the last bucket bound may be +Inf");
    }
  }
  return Status::ok();
}

void append_sample(std::string& out, std::string_view name,
                   const std::vector<std::pair<std::string, std::string>>& labels, double value) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) out += ',';
      const std::string& key = labels[i].first;
      for (size_t j = 0; j < key.size(); ++j) {
        const char c = key[j];
        const bool ok = std::isalpha(static_cast<unsigned char>(c)) || c == '_' ||
                        (j > 0 && std::isdigit(static_cast<unsigned char>(c)));
        out += ok ? c : '_';
      }
      out += "=\"";
      append_escaped(out, labels[i].second, /*quote=*/true);
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  append_number(out, value);
  out += '\n';
}

}  // namespace reflex::metrics
