// Errors as values across module boundaries.
//
// A Status is either ok or carries a short machine-readable code ("wrong_type",
// "io", "config", ...) and a human message that names what is wrong: the field, the
// file and line, or the peer. Result<T> is a value or a failed Status. Exceptions
// never cross a module boundary; code that calls throwing libraries converts here.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace reflex {

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  static Status ok() { return Status(); }
  static Status error(std::string code, std::string message) {
    Status s;
    s.failed_ = true;
    s.code_ = std::move(code);
    s.message_ = std::move(message);
    return s;
  }

  bool is_ok() const { return !failed_; }
  explicit operator bool() const { return !failed_; }
  // Short reason, stable enough for metrics labels; empty when ok.
  const std::string& code() const { return code_; }
  const std::string& message() const { return message_; }
  // "code: message", or "ok".
  std::string to_string() const { return failed_ ? code_ + ": " + message_ : "ok"; }

  // Prefixes the message with context ("agents[2].labels: ..."), keeping the code.
  Status with_context(const std::string& context) const {
    if (!failed_) return *this;
    return error(code_, context + ": " + message_);
  }

 private:
  bool failed_ = false;
  std::string code_;
  std::string message_;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {
    assert(!std::get<Status>(v_).is_ok() && "Result built from an ok Status");
  }

  bool is_ok() const { return v_.index() == 0; }
  explicit operator bool() const { return is_ok(); }

  T& value() & {
    assert(is_ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(is_ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(is_ok());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // The failure; an ok Status when this holds a value.
  const Status& status() const {
    static const Status kOk;
    return is_ok() ? kOk : std::get<1>(v_);
  }

 private:
  std::variant<T, Status> v_;
};

}  // namespace reflex

// Returns early from the enclosing function when `expr` (a Status) failed.
#define REFLEX_RETURN_IF_ERROR(expr)            \
  do {                                          \
    ::reflex::Status reflex_status_ = (expr);   \
    if (!reflex_status_) return reflex_status_; \
  } while (0)
