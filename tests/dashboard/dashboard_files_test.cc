// The dashboard's embedded files and who may read them, without a server.
#include "hub/dashboard.h"

#include <catch2/catch.hpp>
#include <string>

#include "hub/api_auth.h"

using namespace reflex::hub;

TEST_CASE("the dashboard's files are embedded, sorted, and found only by exact name",
          "[dashboard]") {
  std::vector<std::string> names;
  for (const auto& f : dashboard_files()) {
    names.emplace_back(f.name);
    CHECK(!f.bytes.empty());
  }
  CHECK(names == std::vector<std::string>{"app.js", "index.html", "style.css"});
  REQUIRE(find_dashboard_file("app.js"));
  CHECK(find_dashboard_file("app.js")->bytes.find("/api/v1/events/stream") != std::string::npos);
  for (const char* name : {"", "APP.JS", "app.js/", "./app.js", "../app.js", "app", "hub.yaml"}) {
    CAPTURE(name);
    CHECK(!find_dashboard_file(name));
  }
}

TEST_CASE("no embedded file names a remote source", "[dashboard]") {
  for (const auto& f : dashboard_files()) {
    CAPTURE(f.name);
    CHECK(f.bytes.find("://") == std::string_view::npos);
    CHECK(f.bytes.find("//cdn") == std::string_view::npos);
  }
}

TEST_CASE("content types follow the extension", "[dashboard]") {
  CHECK(dashboard_content_type("index.html") == "text/html; charset=utf-8");
  CHECK(dashboard_content_type("app.js") == "text/javascript; charset=utf-8");
  CHECK(dashboard_content_type("style.css") == "text/css; charset=utf-8");
  CHECK(dashboard_content_type("logo.svg") == "image/svg+xml");
  CHECK(dashboard_content_type("notes.txt") == "application/octet-stream");
}

TEST_CASE("reading the dashboard's paths is open, writing them and the API are not",
          "[dashboard]") {
  for (const char* path : {"/", "/ui", "/ui/", "/ui/app.js", "/ui/nope"}) {
    CAPTURE(path);
    CHECK(is_dashboard_path(path));
    CHECK(!required_role("GET", path));
    CHECK(!required_role("HEAD", path));
    CHECK(required_role("POST", path) == ApiRole::kAdmin);
  }
  for (const char* path : {"/uix", "/dashboard", "/api/v1/ui/", "//ui/app.js"}) {
    CAPTURE(path);
    CHECK(!is_dashboard_path(path));
    CHECK(required_role("GET", path) == ApiRole::kViewer);
  }
  CHECK(required_role("GET", "/api/v1/events/stream") == ApiRole::kViewer);
  CHECK(required_role("GET", "/api/v1/whoami") == ApiRole::kViewer);
}
