#include "agent/checks/http_check.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <optional>
#include <regex>
#include <set>

namespace reflex::agent {
namespace {

constexpr size_t kMaxBody = 64 * 1024;
const std::set<std::string> kMethods = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};

bool valid_header_name(const std::string& name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(),
                     [](unsigned char c) { return c > 32 && c < 127 && c != ':'; });
}

std::string format_ms(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", ms);
  return buf;
}

std::string expected_statuses(const std::vector<int>& expect) {
  if (expect.empty()) return "2xx or 3xx";
  std::string s;
  for (size_t i = 0; i < expect.size(); ++i) {
    if (i > 0) s += i + 1 == expect.size() ? " or " : ", ";
    s += std::to_string(expect[i]);
  }
  return s;
}

bool status_expected(const std::vector<int>& expect, int status) {
  if (expect.empty()) return status >= 200 && status < 400;
  return std::find(expect.begin(), expect.end(), status) != expect.end();
}

// The decision: what one response means for the check.
CheckResult judge(const HttpCheckConfig& config, const std::optional<std::regex>& body_match,
                  const HttpResponse& r, Millis timeout) {
  CheckResult result;
  result.state = CheckState::kCritical;
  if (r.timed_out) {
    result.message = "timed out after " + std::to_string(timeout.count()) + " ms";
    result.timed_out = true;
    return result;
  }
  if (!r.error.empty()) {
    result.message = r.error;
    return result;
  }
  // A response arrived: its timing is a latency sample whatever the verdict.
  result.latency_ms = r.total_ms;
  result.perf.push_back({"ttfb", r.ttfb_ms, "ms", {}});
  if (!status_expected(config.expect_status, r.status)) {
    result.message = "expected status " + expected_statuses(config.expect_status) + ", got " +
                     std::to_string(r.status);
  } else if (body_match && !std::regex_search(r.body, *body_match)) {
    result.message = "body does not match /" + config.body_match + "/";
  } else {
    result.state = CheckState::kOk;
    result.message = "HTTP " + std::to_string(r.status) + " in " + format_ms(r.total_ms) + " ms";
  }
  return result;
}

class HttpCheck final : public PeriodicCheck {
 public:
  HttpCheck(CheckSpec spec, HttpCheckConfig config, HttpClient& client)
      : spec_(std::move(spec)), config_(std::move(config)), client_(client) {
    if (config_.body_match.empty()) return;
    try {
      body_match_.emplace(config_.body_match, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      invalid_ = "invalid body_match: " + std::string(e.what());
    }
  }
  ~HttpCheck() override {
    if (in_flight_) client_.cancel(*in_flight_);
  }

  const CheckSpec& spec() const override { return spec_; }

  void run(std::function<void(CheckResult)> done) override {
    if (!invalid_.empty()) {
      CheckResult invalid;
      invalid.message = invalid_;
      done(std::move(invalid));
      return;
    }
    HttpRequest req;
    req.method = config_.method;
    req.url = config_.url;
    for (const auto& [name, value] : config_.headers) req.headers.emplace_back(name, value);
    req.timeout = spec_.timeout;
    req.tls_verify = config_.tls_verify;
    req.follow_redirects = config_.follow_redirects;
    req.max_response_bytes = kMaxBody;
    in_flight_ = client_.request(std::move(req), [this, done](HttpResponse r) {
      in_flight_.reset();
      done(judge(config_, body_match_, r, spec_.timeout));
    });
  }

 private:
  CheckSpec spec_;
  HttpCheckConfig config_;
  HttpClient& client_;
  std::optional<std::regex> body_match_;
  std::string invalid_;
  std::optional<HttpRequestId> in_flight_;
};

}  // namespace

void read_http_check(config::MapReader& r, HttpCheckConfig& out) {
  auto& errors = r.errors();
  r.require("url");
  r.get("url", out.url);
  if (r.has("url") && out.url.rfind("http://", 0) != 0 && out.url.rfind("https://", 0) != 0) {
    errors.add(r.take("url"), r.path_of("url"),
               "must start with http:// or https://, got \"" + out.url + "\"");
  }
  r.get_enum("method", out.method, kMethods);

  r.get("headers", out.headers);
  for (const auto& [name, value] : out.headers) {
    if (!valid_header_name(name)) {
      errors.add(r.path_of("headers") + "." + name, "is not a valid header name");
    } else if (value.find_first_of("\r\n") != std::string::npos) {
      errors.add(r.path_of("headers") + "." + name, "must not contain a line break");
    }
  }

  if (YAML::Node list = r.take("expect_status"); list.IsDefined() && !list.IsNull()) {
    if (!list.IsSequence()) {
      errors.add(list, r.path_of("expect_status"), "expected a list of status codes");
    } else {
      std::vector<int> codes;
      for (size_t i = 0; i < list.size(); ++i) {
        const std::string path = r.path_of("expect_status") + "[" + std::to_string(i) + "]";
        const std::string text = list[i].IsScalar() ? list[i].Scalar() : "";
        int code = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), code);
        if (text.empty() || ec != std::errc() || end != text.data() + text.size() || code < 100 ||
            code > 599) {
          errors.add(list[i], path,
                     "must be an HTTP status code between 100 and 599, got \"" + text + "\"");
          continue;
        }
        codes.push_back(code);
      }
      out.expect_status = std::move(codes);
    }
  }

  r.get("body_match", out.body_match);
  if (!out.body_match.empty()) {
    try {
      std::regex check(out.body_match, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      errors.add(r.take("body_match"), r.path_of("body_match"),
                 "is not a valid regular expression: " + std::string(e.what()));
    }
  }
  r.get("tls_verify", out.tls_verify);
  r.get("follow_redirects", out.follow_redirects);
}

std::unique_ptr<PeriodicCheck> make_http_check(CheckSpec spec, HttpCheckConfig config,
                                               HttpClient& client) {
  return std::make_unique<HttpCheck>(std::move(spec), std::move(config), client);
}

}  // namespace reflex::agent
