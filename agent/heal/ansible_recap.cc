#include "agent/heal/ansible_recap.h"

#include <charconv>
#include <map>

namespace reflex::agent::heal {
namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// `line` without ANSI escapes (CSI sequences such as "\x1b[0;31m", or ESC and the one
// character after it) and without a trailing '\r'.
std::string plain(std::string_view line) {
  std::string out;
  out.reserve(line.size());
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] != '\x1b') {
      out += line[i];
      continue;
    }
    if (i + 1 < line.size() && line[i + 1] == '[') {
      i += 2;
      while (i < line.size() && !(line[i] >= 0x40 && line[i] <= 0x7e)) ++i;
    } else {
      ++i;
    }
  }
  if (!out.empty() && out.back() == '\r') out.pop_back();
  return out;
}

std::vector<std::string> plain_lines(std::string_view output) {
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < output.size()) {
    size_t end = output.find('\n', pos);
    if (end == std::string_view::npos) end = output.size();
    lines.push_back(plain(output.substr(pos, end - pos)));
    pos = end + 1;
  }
  return lines;
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (true) {
    pos = s.find_first_not_of(" \t", pos);
    if (pos == std::string_view::npos) return out;
    size_t end = s.find_first_of(" \t", pos);
    if (end == std::string_view::npos) end = s.size();
    out.push_back(s.substr(pos, end - pos));
    pos = end;
  }
}

// "name=123" -> name and value; nullopt for anything else (or a value too big for int).
std::optional<std::pair<std::string_view, int>> count(std::string_view word) {
  const size_t eq = word.find('=');
  if (eq == 0 || eq == std::string_view::npos || eq + 1 == word.size()) return std::nullopt;
  const std::string_view name = word.substr(0, eq);
  for (char c : name) {
    if (!(c >= 'a' && c <= 'z') && c != '_') return std::nullopt;
  }
  int value = 0;
  const char* first = word.data() + eq + 1;
  const char* last = word.data() + word.size();
  auto [end, ec] = std::from_chars(first, last, value);
  if (ec != std::errc() || end != last || *first == '-') return std::nullopt;
  return std::pair{name, value};
}

// A recap line: "host : name=n ..." or "host: name=n ...".
std::optional<AnsibleHostRecap> parse_host_line(std::string_view line) {
  const auto w = words(line);
  size_t counts_from = w.size();
  while (counts_from > 0 && count(w[counts_from - 1])) --counts_from;
  if (counts_from == w.size()) return std::nullopt;
  AnsibleHostRecap h;
  if (counts_from == 2 && w[1] == ":") {
    h.host = w[0];
  } else if (counts_from == 1 && w[0].size() > 1 && w[0].back() == ':') {
    h.host = w[0].substr(0, w[0].size() - 1);
  } else {
    return std::nullopt;
  }
  const std::map<std::string_view, int*> fields = {
      {"ok", &h.ok},          {"changed", &h.changed}, {"unreachable", &h.unreachable},
      {"failed", &h.failed},  {"skipped", &h.skipped}, {"rescued", &h.rescued},
      {"ignored", &h.ignored}};
  int required = 0;
  for (size_t i = counts_from; i < w.size(); ++i) {
    const auto [name, value] = *count(w[i]);
    auto it = fields.find(name);
    if (it == fields.end()) continue;
    *it->second = value;
    if (name == "ok" || name == "changed" || name == "unreachable" || name == "failed") {
      ++required;
    }
  }
  if (required != 4) return std::nullopt;
  return h;
}

// The name in "TASK [name] ****" or "RUNNING HANDLER [name] ****".
std::optional<std::string> task_name(std::string_view line) {
  for (std::string_view prefix : {"TASK [", "RUNNING HANDLER ["}) {
    if (!starts_with(line, prefix)) continue;
    std::string_view rest = line.substr(prefix.size());
    const size_t end = rest.find_last_not_of(" *");
    if (end == std::string_view::npos || rest[end] != ']') return std::nullopt;
    return std::string(rest.substr(0, end));
  }
  return std::nullopt;
}

bool is_header(std::string_view line) {
  return task_name(line) || starts_with(line, "PLAY [") || starts_with(line, "PLAY RECAP");
}

}  // namespace

bool AnsibleRecap::ok() const {
  if (hosts.empty()) return false;
  for (const auto& h : hosts) {
    if (h.failed > 0 || h.unreachable > 0) return false;
  }
  return true;
}

std::optional<AnsibleRecap> parse_ansible_recap(std::string_view output) {
  const auto lines = plain_lines(output);
  size_t header = lines.size();
  for (size_t i = 0; i < lines.size(); ++i) {
    if (starts_with(lines[i], "PLAY RECAP")) header = i;
  }
  if (header == lines.size()) return std::nullopt;
  AnsibleRecap recap;
  for (size_t i = header + 1; i < lines.size(); ++i) {
    if (auto h = parse_host_line(lines[i])) recap.hosts.push_back(std::move(*h));
  }
  return recap;
}

std::string summarize(const AnsibleRecap& recap) {
  if (recap.hosts.empty()) return "no hosts";
  std::string out;
  for (const auto& h : recap.hosts) {
    if (!out.empty()) out += "; ";
    out += h.host + ": ok=" + std::to_string(h.ok) + " changed=" + std::to_string(h.changed) +
           " failed=" + std::to_string(h.failed) + " unreachable=" + std::to_string(h.unreachable);
  }
  return out;
}

std::optional<std::string> failed_task(std::string_view output) {
  std::optional<std::string> last, pending;
  std::string task;
  for (const auto& line : plain_lines(output)) {
    if (is_header(line)) {
      if (pending) last = std::move(pending);
      pending.reset();
      task = task_name(line).value_or("");
    } else if (starts_with(line, "fatal: [") || starts_with(line, "failed: [")) {
      if (!task.empty()) pending = task;
    } else if (starts_with(line, "...ignoring")) {
      pending.reset();
    }
  }
  if (pending) last = std::move(pending);
  return last;
}

}  // namespace reflex::agent::heal
