#include "common/config.h"

#include <catch2/catch.hpp>

using namespace reflex;
using namespace reflex::config;

namespace {

struct Sample {
  std::string name = "default";
  bool enabled = false;
  int64_t count = 7;
  Millis every = Millis(1000);
  std::map<std::string, std::string> labels;
  std::vector<std::string> targets;
  std::string mode = "fast";
};

Status read(const std::string& yaml, Sample& out) {
  auto root = parse_yaml(yaml, "sample.yaml");
  if (!root) return root.status();
  Errors errors("sample.yaml");
  {
    MapReader top(*root, "", errors);
    top.get("name", out.name);
    top.get("enabled", out.enabled);
    auto inner = top.child("inner");
    inner.get("count", out.count, 1, 10);
    inner.get("every", out.every);
    inner.get("labels", out.labels);
    inner.get("targets", out.targets);
    inner.get_enum("mode", out.mode, {"fast", "safe"});
  }
  return errors.status();
}

}  // namespace

TEST_CASE("absent keys keep their defaults and present keys are read", "[config]") {
  Sample s;
  REQUIRE(read("name: web\n", s));
  CHECK(s.name == "web");
  CHECK(s.count == 7);
  REQUIRE(
      read("enabled: true\ninner:\n  count: 3\n  every: 2s\n  labels: {a: b}\n"
           "  targets: [x, y]\n  mode: safe\n",
           s));
  CHECK(s.enabled);
  CHECK(s.count == 3);
  CHECK(s.every == Millis(2000));
  CHECK(s.labels == std::map<std::string, std::string>{{"a", "b"}});
  CHECK(s.targets == std::vector<std::string>{"x", "y"});
  CHECK(s.mode == "safe");
}

TEST_CASE("an empty document is the defaults", "[config]") {
  Sample s;
  REQUIRE(read("", s));
  CHECK(s.name == "default");
}

TEST_CASE("unknown keys are errors naming their key path and line", "[config]") {
  Sample s;
  auto st = read("name: web\ninner:\n  count: 3\n  cuont: 4\nextra: 1\n", s);
  REQUIRE_FALSE(st);
  CHECK(st.code() == "config");
  CHECK(st.message().find("sample.yaml:4: inner.cuont: unknown key") != std::string::npos);
  CHECK(st.message().find("sample.yaml:5: extra: unknown key") != std::string::npos);
}

TEST_CASE("every wrong value is reported at once with its line", "[config]") {
  Sample s;
  auto st = read(
      "enabled: maybe\n"
      "inner:\n"
      "  count: 11\n"
      "  every: 10\n"
      "  labels: [a]\n"
      "  targets: {a: b}\n"
      "  mode: reckless\n",
      s);
  REQUIRE_FALSE(st);
  const std::string& m = st.message();
  CHECK(m.find("sample.yaml:1: enabled: expected true or false, got \"maybe\"") !=
        std::string::npos);
  CHECK(m.find("sample.yaml:3: inner.count: must be between 1 and 10, got 11") !=
        std::string::npos);
  CHECK(m.find("sample.yaml:4: inner.every: invalid duration \"10\"") != std::string::npos);
  CHECK(m.find("sample.yaml:5: inner.labels: expected a mapping") != std::string::npos);
  CHECK(m.find("sample.yaml:6: inner.targets: expected a list") != std::string::npos);
  CHECK(m.find("sample.yaml:7: inner.mode: must be one of fast, safe, got \"reckless\"") !=
        std::string::npos);
  // Invalid values leave the defaults untouched.
  CHECK(s.count == 7);
  CHECK(s.mode == "fast");
}

TEST_CASE("a key given twice is an error at the second place", "[config]") {
  Sample s;
  auto st = read("name: a\ninner: {count: 2}\nname: b\n", s);
  REQUIRE_FALSE(st);
  CHECK(st.message().find("sample.yaml:3: name: duplicate key") != std::string::npos);
}

TEST_CASE("a section that is not a mapping is an error", "[config]") {
  Sample s;
  auto st = read("inner: 5\n", s);
  REQUIRE_FALSE(st);
  CHECK(st.message().find("sample.yaml:1: inner: expected a mapping") != std::string::npos);
}

TEST_CASE("YAML syntax errors name the file and line", "[config]") {
  auto root = parse_yaml("a: 1\nb: [unclosed\n", "broken.yaml");
  REQUIRE_FALSE(root);
  CHECK(root.status().message().rfind("broken.yaml:", 0) == 0);
  CHECK(root.status().message().find("YAML syntax error") != std::string::npos);
}

TEST_CASE("a missing file is an error naming the path", "[config]") {
  auto root = load_yaml_file("/nonexistent/reflex.yaml");
  REQUIRE_FALSE(root);
  CHECK(root.status().message().find("/nonexistent/reflex.yaml") != std::string::npos);
}

TEST_CASE("ZeroMQ endpoints are checked", "[config]") {
  CHECK(is_valid_zmq_endpoint("tcp://127.0.0.1:7171"));
  CHECK(is_valid_zmq_endpoint("tcp://hub.example.com:*"));
  CHECK(is_valid_zmq_endpoint("ipc:///run/reflex.sock"));
  CHECK(is_valid_zmq_endpoint("tcp://[::1]:7171"));
  CHECK_FALSE(is_valid_zmq_endpoint("tcp://::1:7171"));
  CHECK_FALSE(is_valid_zmq_endpoint("127.0.0.1:7171"));
  CHECK_FALSE(is_valid_zmq_endpoint("tcp://127.0.0.1"));
  CHECK_FALSE(is_valid_zmq_endpoint("http://127.0.0.1:80"));
}
