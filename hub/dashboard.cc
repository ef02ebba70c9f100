#include "hub/dashboard.h"

#include <httplib.h>

#include <string>

namespace reflex::hub {
namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

void serve(const DashboardFile& file, httplib::Response& res) {
  res.set_header("Content-Security-Policy", std::string(kDashboardCsp));
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("X-Frame-Options", "DENY");
  // Small files that change with the binary: always revalidate, never serve stale.
  res.set_header("Cache-Control", "no-cache");
  res.set_content(std::string(file.bytes), std::string(dashboard_content_type(file.name)));
}

}  // namespace

std::string_view dashboard_content_type(std::string_view name) {
  if (ends_with(name, ".html")) return "text/html; charset=utf-8";
  if (ends_with(name, ".js")) return "text/javascript; charset=utf-8";
  if (ends_with(name, ".css")) return "text/css; charset=utf-8";
  if (ends_with(name, ".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

std::optional<DashboardFile> find_dashboard_file(std::string_view name) {
  for (const auto& f : dashboard_files()) {
    if (f.name == name) return f;
  }
  return std::nullopt;
}

bool is_dashboard_path(std::string_view path) {
  return path == "/" || path == "/ui" || path.substr(0, 4) == "/ui/";
}

void add_dashboard_routes(httplib::Server& server) {
  auto index = [](const httplib::Request&, httplib::Response& res) {
    if (auto f = find_dashboard_file("index.html")) serve(*f, res);
  };
  server.Get("/", index);
  server.Get("/ui/", index);
  server.Get("/ui",
             [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/ui/"); });
  // One path segment of safe characters; the name must be in the table besides.
  server.Get(R"(/ui/([A-Za-z0-9_-][A-Za-z0-9._-]*))",
             [](const httplib::Request& req, httplib::Response& res) {
               if (auto f = find_dashboard_file(req.matches[1].str())) {
                 serve(*f, res);
               } else {
                 res.status = 404;  // the server's error handler writes the JSON body
               }
             });
}

}  // namespace reflex::hub
