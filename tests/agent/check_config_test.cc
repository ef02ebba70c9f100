// The `checks:` and `rules:` lists of agent.yaml as read_agent_config reads them: every
// check type with its keys, and every error naming its key path.
#include <catch2/catch.hpp>
#include <string>
#include <variant>

#include "agent/config.h"

using namespace reflex;
using namespace reflex::agent;

namespace {

Result<AgentConfig> parse(const std::string& yaml) {
  auto root = config::parse_yaml(yaml, "agent.yaml");
  if (!root) return root.status();
  return read_agent_config(*root, "agent.yaml");
}

// The error message of a config that must be refused.
std::string error_of(const std::string& yaml) {
  auto cfg = parse(yaml);
  if (cfg) return "(accepted)";
  return cfg.status().message();
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

const char* kEveryType = R"(
checks:
  - name: web
    type: http
    interval: 5s
    timeout: 2s
    labels: {service: checkout, env: prod}
    url: http://127.0.0.1:8080/health
    method: HEAD
    headers: {X-Probe: reflex}
    expect_status: [200, 204]
    body_match: 'ok'
    tls_verify: false
    follow_redirects: true
  - name: db
    type: tcp
    host: localhost
    port: 5432
    send: "PING\r\n"
    expect: "+PONG"
  - name: plugin
    type: command
    interval: 1m
    timeout: 10s
    command: [/bin/true, -v]
    env: {LC_ALL: C}
    cwd: /
  - name: nginx
    type: process
    process_name: nginx
    min: 2
    max: 8
    proc_root: /proc
  - name: host
    type: host
    mounts: [/, /var]
    proc_root: /proc
  - name: access
    type: log
    path: /var/log/nginx/access.log
    format: nginx_combined
    error_status: [5xx, 429]
    poll_interval: 100ms
    from_start: true
  - name: app
    type: statsd
    listen: 127.0.0.1:0
    flush_interval: 2s
    max_series: 50
)";

}  // namespace

TEST_CASE("every check type is read with its own keys and the common ones",
          "[agent][check-config]") {
  auto cfg = parse(kEveryType);
  INFO((cfg ? "" : cfg.status().message()));
  REQUIRE(cfg);
  REQUIRE(cfg->checks.size() == 7);
  const auto& c = cfg->checks;

  CHECK(c[0].spec.name == "web");
  CHECK(c[0].spec.type == "http");
  CHECK(c[0].spec.interval == Millis(5000));
  CHECK(c[0].spec.timeout == Millis(2000));
  CHECK(c[0].spec.labels == Labels{{"service", "checkout"}, {"env", "prod"}});
  const auto& http = std::get<HttpCheckConfig>(c[0].kind);
  CHECK(http.url == "http://127.0.0.1:8080/health");
  CHECK(http.method == "HEAD");
  CHECK(http.headers.at("X-Probe") == "reflex");
  CHECK(http.expect_status == std::vector<int>{200, 204});
  CHECK(http.body_match == "ok");
  CHECK_FALSE(http.tls_verify);
  CHECK(http.follow_redirects);

  const auto& tcp = std::get<TcpCheckConfig>(c[1].kind);
  CHECK(tcp.host == "localhost");
  CHECK(tcp.port == 5432);
  CHECK(tcp.send == "PING\r\n");
  CHECK(tcp.expect == "+PONG");
  // Defaults of the common keys.
  CHECK(c[1].spec.interval == Millis(10'000));
  CHECK(c[1].spec.timeout == Millis(5'000));

  const auto& command = std::get<CommandCheckConfig>(c[2].kind);
  CHECK(command.argv == std::vector<std::string>{"/bin/true", "-v"});
  CHECK(command.env.at("LC_ALL") == "C");
  CHECK(command.cwd == "/");
  CHECK(c[2].spec.interval == Millis(60'000));

  const auto& process = std::get<ProcessCheckConfig>(c[3].kind);
  CHECK(process.name == "nginx");
  CHECK(process.min == 2);
  CHECK(process.max == 8);

  const auto& host = std::get<HostCheckConfig>(c[4].kind);
  CHECK(host.mounts == std::vector<std::string>{"/", "/var"});

  const auto& log = std::get<LogCheckConfig>(c[5].kind);
  CHECK(log.path == "/var/log/nginx/access.log");
  CHECK(log.format == "nginx_combined");
  CHECK(log.error_status == std::vector<std::string>{"5xx", "429"});
  CHECK(log.poll_interval == Millis(100));
  CHECK(log.from_start);
  CHECK(log.latency_capture == "request_time");

  const auto& statsd = std::get<StatsdCheckConfig>(c[6].kind);
  CHECK(statsd.listen == "127.0.0.1:0");
  CHECK(statsd.flush_interval == Millis(2000));
  CHECK(statsd.max_series == 50);
}

TEST_CASE("an agent without checks has none, and an empty list is no list",
          "[agent][check-config]") {
  auto none = parse("id: a\n");
  REQUIRE(none);
  CHECK(none->checks.empty());
  CHECK(none->rules.empty());
  auto empty = parse("checks: []\nrules: []\n");
  REQUIRE(empty);
  CHECK(empty->checks.empty());
}

TEST_CASE("a periodic check without a timeout times out at a short interval",
          "[agent][check-config]") {
  auto cfg = parse("checks: [{name: fast, type: tcp, port: 80, interval: 200ms}]\n");
  REQUIRE(cfg);
  CHECK(cfg->checks[0].spec.timeout == Millis(200));
  // Asked for, a timeout may outlast the interval: the runs it overlaps are skipped.
  auto longer = parse("checks: [{name: slow, type: tcp, port: 80, interval: 1s, timeout: 2s}]\n");
  REQUIRE(longer);
  CHECK(longer->checks[0].spec.timeout == Millis(2000));
}

TEST_CASE("check errors name the key path of the check and the key", "[agent][check-config]") {
  SECTION("two checks with the same name") {
    const auto m = error_of(
        "checks:\n"
        "  - {name: web, type: tcp, port: 80}\n"
        "  - {name: web, type: tcp, port: 81}\n");
    CHECK(has(m, "agent.yaml:3: checks[1].name: another check is already named \"web\""));
  }
  SECTION("a name with a dot, which would make its series ambiguous") {
    const auto m = error_of("checks: [{name: web.1, type: tcp, port: 80}]\n");
    CHECK(has(m, "checks[0].name: \"web.1\" is not a valid check name"));
  }
  SECTION("an unknown type") {
    const auto m = error_of("checks: [{name: web, type: smtp, port: 25}]\n");
    CHECK(has(m, "checks[0].type: must be one of"));
    CHECK(has(m, "got \"smtp\""));
  }
  SECTION("a key of another type") {
    const auto m = error_of(
        "checks:\n"
        "  - name: db\n"
        "    type: tcp\n"
        "    port: 5432\n"
        "    url: http://x/\n");
    CHECK(has(m, "agent.yaml:5: checks[0].url: unknown key"));
  }
  SECTION("an interval below 100ms") {
    const auto m = error_of("checks: [{name: web, type: tcp, port: 80, interval: 50ms}]\n");
    CHECK(has(m, "checks[0].interval: must be at least 100ms"));
  }
  SECTION("a timeout below 10ms") {
    const auto m =
        error_of("checks: [{name: web, type: tcp, port: 80, interval: 1s, timeout: 5ms}]\n");
    CHECK(has(m, "checks[0].timeout: must be at least 10ms"));
  }
  SECTION("a missing name and a missing type") {
    const auto m = error_of(
        "checks:\n"
        "  - {type: tcp, port: 80}\n"
        "  - {name: web, port: 80}\n");
    CHECK(has(m, "checks[0].name: missing required key"));
    CHECK(has(m, "checks[1].type: missing required key"));
  }
  SECTION("a type's own error is named under its check") {
    const auto m = error_of("checks: [{name: web, type: http}]\n");
    CHECK(has(m, "checks[0].url: missing required key"));
  }
  SECTION("a check that is not a mapping") {
    CHECK(has(error_of("checks: [web]\n"), "checks[0]: expected a mapping"));
  }
  SECTION("checks that are not a list") {
    const auto m = error_of("checks: {name: web}\n");
    CHECK(has(m, "checks: expected a list of checks"));
  }
}

TEST_CASE("every check error is reported at once", "[agent][check-config]") {
  const auto m = error_of(
      "checks:\n"
      "  - {name: a.b, type: tcp, port: 80}\n"
      "  - {name: c, type: tcp, port: 80, interval: 10ms}\n"
      "  - {name: d, type: tcp, port: 80, bogus: 1}\n");
  CHECK(has(m, "checks[0].name"));
  CHECK(has(m, "checks[1].interval"));
  CHECK(has(m, "checks[2].bogus: unknown key"));
}

namespace {

const char* kTwoWebChecks =
    "checks:\n"
    "  - {name: web-1, type: tcp, port: 80}\n"
    "  - {name: web-2, type: tcp, port: 81}\n"
    "  - {name: host, type: host}\n";

std::string with_rule(const std::string& series, const std::string& name = "r") {
  return std::string(kTwoWebChecks) + "rules:\n  - {name: " + name + ", series: '" + series +
         "', when: 'count < 1'}\n";
}

}  // namespace

TEST_CASE("a rule's series must lead into some check's series", "[agent][check-config]") {
  SECTION("a check's own series and its derived series are accepted") {
    CHECK(parse(with_rule("web-1")));
    CHECK(parse(with_rule("host.disk_used")));
  }
  SECTION("globs that lead into a check are accepted") {
    CHECK(parse(with_rule("host.*")));
    CHECK(parse(with_rule("web*")));
    CHECK(parse(with_rule("web-*.ttfb")));
    CHECK(parse(with_rule("*")));
  }
  SECTION("a series no check produces is refused, naming the rule's key") {
    const auto m = error_of(with_rule("db"));
    CHECK(has(m, "agent.yaml:6: rules[0].series: no check produces \"db\""));
  }
  SECTION("a name that only starts like a check is not its series") {
    CHECK(has(error_of(with_rule("web")), "rules[0].series: no check produces \"web\""));
    CHECK(has(error_of(with_rule("hostname")), "rules[0].series: no check produces"));
    CHECK(has(error_of(with_rule("db*")), "rules[0].series: no check produces \"db*\""));
  }
}

TEST_CASE("two rules with the same name are refused", "[agent][check-config]") {
  const auto m = error_of(std::string(kTwoWebChecks) +
                          "rules:\n"
                          "  - {name: slow, series: web-1, when: 'p99 > 1s'}\n"
                          "  - {name: slow, series: web-2, when: 'p99 > 1s'}\n");
  CHECK(has(m, "agent.yaml:7: rules[1].name: another rule is already named \"slow\""));
}

TEST_CASE("rules are read with their condition, for, severity and labels",
          "[agent][check-config]") {
  auto cfg = parse(std::string(kTwoWebChecks) +
                   "rules:\n"
                   "  - name: errors\n"
                   "    series: web*\n"
                   "    when: error_rate > 50%\n"
                   "    for: 400ms\n"
                   "    severity: high\n"
                   "    labels: {team: web}\n");
  INFO((cfg ? "" : cfg.status().message()));
  REQUIRE(cfg);
  REQUIRE(cfg->rules.size() == 1);
  const RuleConfig& r = cfg->rules[0];
  CHECK(r.name == "errors");
  CHECK(r.series == "web*");
  CHECK(r.when == Condition{Stat::kErrorRate, Op::kGt, 0.5});
  CHECK(r.for_ == Millis(400));
  CHECK(r.severity == Severity::kHigh);
  CHECK(r.labels == Labels{{"team", "web"}});
}

TEST_CASE("metrics_interval and status_http.listen are checked", "[agent][check-config]") {
  SECTION("a metrics interval below one second") {
    CHECK(has(error_of("metrics_interval: 500ms\n"), "metrics_interval: must be at least 1s"));
  }
  SECTION("a listen address that is not host:port") {
    const auto m = error_of("status_http: {listen: nowhere}\n");
    CHECK(has(m, "agent.yaml:1: status_http.listen:"));
  }
  SECTION("a listen port out of range") {
    CHECK(has(error_of("status_http: {listen: '127.0.0.1:70000'}\n"), "status_http.listen:"));
  }
  SECTION("valid values are kept") {
    auto cfg = parse(
        "metrics_interval: 2s\nstatus_http: {enabled: false, listen: '127.0.0.1:0'}\n"
        "windows: {length: 2s, slices: 4}\n");
    REQUIRE(cfg);
    CHECK(cfg->metrics_interval == Millis(2000));
    CHECK_FALSE(cfg->status_http.enabled);
    CHECK(cfg->status_http.listen == "127.0.0.1:0");
    CHECK(cfg->windows.length == Millis(2000));
    CHECK(cfg->windows.slices == 4);
  }
}
