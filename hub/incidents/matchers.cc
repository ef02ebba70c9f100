#define PCRE2_CODE_UNIT_WIDTH 8
#include "hub/incidents/matchers.h"

#include <pcre2.h>

#include <algorithm>

namespace reflex::hub::incidents {
namespace {

// Enough for any sane label regex; a pattern that backtracks past it is hostile or broken.
constexpr uint32_t kMatchLimit = 100'000;
constexpr uint32_t kDepthLimit = 10'000;

Status invalid(std::string_view text, const std::string& what) {
  return Status::error("invalid_matcher", "matcher '" + std::string(text) + "': " + what);
}

bool name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool name_char(char c) {
  return name_start(c) || (c >= '0' && c <= '9');
}
bool space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

std::string quote(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

const char* match_op_text(MatchOp op) {
  switch (op) {
    case MatchOp::kEqual:
      return "=";
    case MatchOp::kNotEqual:
      return "!=";
    case MatchOp::kRegex:
      return "=~";
    case MatchOp::kNotRegex:
      return "!~";
  }
  return "?";
}

class Matcher::Regex {
 public:
  // Compiles `pattern` anchored at both ends; on failure returns null and sets `error`.
  static std::shared_ptr<const Regex> compile(const std::string& pattern, std::string& error) {
    int code = 0;
    PCRE2_SIZE offset = 0;
    pcre2_code* compiled =
        pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                      PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_ANCHORED | PCRE2_ENDANCHORED,
                      &code, &offset, nullptr);
    if (compiled == nullptr) {
      PCRE2_UCHAR text[256];
      pcre2_get_error_message(code, text, sizeof(text));
      error =
          std::string(reinterpret_cast<const char*>(text)) + " at offset " + std::to_string(offset);
      return nullptr;
    }
    // JIT is an optimisation: without it the interpreter matches the same.
    (void)pcre2_jit_compile(compiled, PCRE2_JIT_COMPLETE);
    pcre2_match_context* context = pcre2_match_context_create(nullptr);
    pcre2_set_match_limit(context, kMatchLimit);
    pcre2_set_depth_limit(context, kDepthLimit);
    return std::shared_ptr<const Regex>(new Regex(compiled, context));
  }

  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;
  ~Regex() {
    pcre2_match_context_free(context_);
    pcre2_code_free(code_);
  }

  // Errors, the match limit included, count as no match.
  bool match(std::string_view subject) const {
    pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
    if (data == nullptr) return false;
    const int rc = pcre2_match(code_, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(),
                               0, 0, data, context_);
    pcre2_match_data_free(data);
    return rc >= 0;
  }

 private:
  Regex(pcre2_code* code, pcre2_match_context* context) : code_(code), context_(context) {}
  pcre2_code* code_;
  pcre2_match_context* context_;
};

Result<Matcher> Matcher::make(std::string name, MatchOp op, std::string value) {
  Matcher m;
  m.name_ = std::move(name);
  m.op_ = op;
  m.value_ = std::move(value);
  const std::string shown = m.to_string();
  if (m.name_.empty()) return invalid(shown, "the label name is empty");
  if (!name_start(m.name_[0])) {
    return invalid(shown, "label name '" + m.name_ + "' must start with a letter or underscore");
  }
  for (char c : m.name_) {
    if (!name_char(c)) {
      return invalid(shown,
                     "label name '" + m.name_ + "' may hold only letters, digits and underscores");
    }
  }
  if (op == MatchOp::kRegex || op == MatchOp::kNotRegex) {
    std::string error;
    m.regex_ = Regex::compile(m.value_, error);
    if (!m.regex_) return invalid(shown, "bad regex: " + error);
  }
  return m;
}

Result<Matcher> Matcher::parse(std::string_view text) {
  const std::string_view s = trim(text);
  if (s.empty()) return invalid(text, "empty; expected name=\"value\"");
  size_t i = 0;
  if (!name_start(s[0])) {
    return invalid(text, "expected a label name (a letter or underscore first), found '" +
                             std::string(1, s[0]) + "'");
  }
  while (i < s.size() && name_char(s[i])) ++i;
  const std::string name(s.substr(0, i));
  while (i < s.size() && space(s[i])) ++i;

  MatchOp op;
  const std::string_view rest = s.substr(i);
  if (rest.starts_with("=~")) {
    op = MatchOp::kRegex;
    i += 2;
  } else if (rest.starts_with("!=")) {
    op = MatchOp::kNotEqual;
    i += 2;
  } else if (rest.starts_with("!~")) {
    op = MatchOp::kNotRegex;
    i += 2;
  } else if (rest.starts_with("=")) {
    op = MatchOp::kEqual;
    i += 1;
  } else {
    return invalid(text, "expected an operator (=, !=, =~ or !~) after label name '" + name + "'");
  }
  while (i < s.size() && space(s[i])) ++i;

  std::string value;
  if (i < s.size() && s[i] == '"') {
    ++i;
    bool closed = false;
    for (; i < s.size(); ++i) {
      const char c = s[i];
      if (c == '"') {
        closed = true;
        ++i;
        break;
      }
      if (c == '\\' && i + 1 < s.size()) {
        const char next = s[++i];
        if (next == '"' || next == '\\') {
          value += next;
        } else if (next == 'n') {
          value += '\n';
        } else {
          value += '\\';  // kept as written, so regexes like "\d+" need no doubling
          value += next;
        }
        continue;
      }
      value += c;
    }
    if (!closed) return invalid(text, "the quoted value of '" + name + "' is not closed");
    if (!trim(s.substr(i)).empty()) {
      return invalid(
          text, "unexpected text after the quoted value: '" + std::string(trim(s.substr(i))) + "'");
    }
  } else {
    const std::string_view raw = s.substr(i);
    for (char c : raw) {
      if (space(c) || c == '"' || c == ',' || c == '{' || c == '}') {
        return invalid(text,
                       "an unquoted value cannot hold spaces, quotes, commas or braces; "
                       "quote it: " +
                           name + match_op_text(op) + quote(raw));
      }
    }
    value = std::string(raw);
  }
  auto m = make(name, op, std::move(value));
  if (!m) return Status::error("invalid_matcher", m.status().message());
  return m;
}

bool Matcher::matches_value(std::string_view v) const {
  switch (op_) {
    case MatchOp::kEqual:
      return v == value_;
    case MatchOp::kNotEqual:
      return v != value_;
    case MatchOp::kRegex:
      return regex_->match(v);
    case MatchOp::kNotRegex:
      return !regex_->match(v);
  }
  return false;
}

bool Matcher::matches(const protocol::Labels& labels) const {
  auto it = labels.find(name_);
  return matches_value(it == labels.end() ? std::string_view() : std::string_view(it->second));
}

std::string Matcher::to_string() const {
  return name_ + match_op_text(op_) + quote(value_);
}

bool matches_all(const Matchers& matchers, const protocol::Labels& labels) {
  for (const auto& m : matchers) {
    if (!m.matches(labels)) return false;
  }
  return true;
}

Result<Matchers> parse_matchers(std::string_view text) {
  std::string_view s = trim(text);
  if (s.starts_with("{")) {
    if (!s.ends_with("}")) {
      return Status::error("invalid_matcher",
                           "matchers '" + std::string(text) + "': '{' is not closed by '}'");
    }
    s = trim(s.substr(1, s.size() - 2));
  }
  if (s.empty()) return Matchers{};
  // Split on commas outside quoted values.
  std::vector<std::string_view> items;
  size_t start = 0;
  bool quoted = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quoted && c == '\\') {
      ++i;  // the escaped character, whatever it is
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      items.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  items.push_back(s.substr(std::min(start, s.size())));
  // A trailing comma is allowed, as in PromQL; an empty item elsewhere is an error.
  if (items.size() > 1 && trim(items.back()).empty()) items.pop_back();
  Matchers out;
  for (size_t i = 0; i < items.size(); ++i) {
    auto m = Matcher::parse(items[i]);
    if (!m) {
      return m.status().with_context("matcher " + std::to_string(i + 1) + " of '" +
                                     std::string(text) + "'");
    }
    out.push_back(std::move(m).value());
  }
  return out;
}

Result<Matchers> parse_matcher_list(const std::vector<std::string>& texts,
                                    const std::string& field) {
  Matchers out;
  for (size_t i = 0; i < texts.size(); ++i) {
    auto m = Matcher::parse(texts[i]);
    if (!m) return m.status().with_context(field + "[" + std::to_string(i) + "]");
    out.push_back(std::move(m).value());
  }
  return out;
}

std::string matchers_to_string(const Matchers& matchers) {
  std::string out = "{";
  for (size_t i = 0; i < matchers.size(); ++i) {
    if (i) out += ", ";
    out += matchers[i].to_string();
  }
  return out + "}";
}

protocol::Labels match_labels(const AlertSignal& signal) {
  protocol::Labels labels = signal.labels;
  labels.emplace("alertname", signal.rule);
  labels.emplace("severity", protocol::severity_name(signal.severity));
  return labels;
}

}  // namespace reflex::hub::incidents
