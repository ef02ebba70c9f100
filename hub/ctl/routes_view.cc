#include "hub/ctl/routes_view.h"

#include <sstream>

namespace reflex::ctl {
namespace {

std::string joined(const nlohmann::json& list, const char* sep) {
  std::string out;
  for (const auto& item : list) {
    if (!out.empty()) out += sep;
    out += item.is_string() ? item.get<std::string>() : item.dump();
  }
  return out;
}

}  // namespace

Result<std::vector<std::pair<std::string, std::string>>> route_test_params(
    const std::vector<std::string>& labels, const std::string& severity, bool suspect,
    const std::string& event) {
  std::vector<std::pair<std::string, std::string>> params;
  for (const auto& group : labels) {
    std::stringstream in(group);
    std::string label;
    while (std::getline(in, label, ',')) {
      const size_t eq = label.find('=');
      if (eq == std::string::npos || eq == 0) {
        return Status::error("invalid_argument",
                             "--labels: expected name=value, got \"" + label + "\"");
      }
      params.emplace_back("label", label);
    }
  }
  if (!severity.empty()) params.emplace_back("severity", severity);
  if (suspect) params.emplace_back("suspect", "true");
  if (!event.empty()) params.emplace_back("event", event);
  return params;
}

std::string route_test_text(const nlohmann::json& doc) {
  std::ostringstream out;
  const auto& routes = doc.at("routes");
  if (routes.empty()) {
    out << "no route matches: nobody would be engaged\n";
    return out.str();
  }
  for (const auto& route : routes) {
    out << "route " << route.value("name", "") << " -> workflow " << route.value("workflow", "")
        << (route.value("continue", false) ? " (continue)" : "");
    if (route.contains("hold_while_healing")) {
      out << " (opened steps held up to " << route.value("hold_while_healing", "")
          << " while agents heal)";
    }
    out << "\n";
    if (route.at("steps").empty())
      out << "  (no steps" << (doc.value("event", "").empty() ? "" : " on this event") << ")\n";
    for (const auto& step : route.at("steps")) {
      out << "  on " << joined(step.at("on"), ", ") << ": " << step.value("kind", "") << " "
          << step.value("name", "");
      if (!step.value("runs", true)) out << " (skipped: if " << joined(step.at("if"), ", ") << ")";
      out << "\n";
      for (const auto& [param, value] : step.at("with").items()) {
        out << "      " << param << ": "
            << (value.is_string() ? value.get<std::string>() : value.dump()) << "\n";
      }
    }
  }
  return out.str();
}

}  // namespace reflex::ctl
