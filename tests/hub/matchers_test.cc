// Label matchers: Alertmanager's syntax and semantics, and errors that say what is wrong.
#include <catch2/catch.hpp>

#include "hub/incidents/matchers.h"

using namespace reflex;
using namespace reflex::hub::incidents;

namespace {

Matcher parsed(const std::string& text) {
  auto m = Matcher::parse(text);
  INFO(m.status().to_string());
  REQUIRE(m);
  return std::move(m).value();
}

std::string error_of(const std::string& text) {
  auto m = Matcher::parse(text);
  REQUIRE_FALSE(m);
  CHECK(m.status().code() == "invalid_matcher");
  return m.status().message();
}

}  // namespace

TEST_CASE("each of the four operators parses and matches as in Alertmanager", "[hub][silences]") {
  const protocol::Labels checkout{{"service", "checkout"}, {"env", "prod"}};
  const protocol::Labels payments{{"service", "payments"}, {"env", "staging"}};

  const Matcher eq = parsed(R"(service="checkout")");
  CHECK(eq.name() == "service");
  CHECK(eq.op() == MatchOp::kEqual);
  CHECK(eq.value() == "checkout");
  CHECK(eq.matches(checkout));
  CHECK_FALSE(eq.matches(payments));

  const Matcher ne = parsed(R"(service != "checkout")");
  CHECK(ne.op() == MatchOp::kNotEqual);
  CHECK_FALSE(ne.matches(checkout));
  CHECK(ne.matches(payments));

  const Matcher re = parsed(R"(env=~"prod|staging")");
  CHECK(re.op() == MatchOp::kRegex);
  CHECK(re.matches(checkout));
  CHECK(re.matches(payments));
  CHECK_FALSE(re.matches({{"env", "dev"}}));

  const Matcher nre = parsed(R"(env!~"prod|staging")");
  CHECK(nre.op() == MatchOp::kNotRegex);
  CHECK_FALSE(nre.matches(checkout));
  CHECK(nre.matches({{"env", "dev"}}));
}

TEST_CASE("regexes are anchored at both ends, so a prefix or substring does not match",
          "[hub][silences]") {
  const Matcher m = parsed(R"(env=~"prod")");
  CHECK(m.matches({{"env", "prod"}}));
  CHECK_FALSE(m.matches({{"env", "production"}}));
  CHECK_FALSE(m.matches({{"env", "preprod"}}));
  // Alternation is anchored as a whole, like Alertmanager's ^(?:...)$.
  const Matcher alt = parsed(R"(env=~"prod|stag")");
  CHECK_FALSE(alt.matches({{"env", "staging"}}));
  CHECK(parsed(R"(env=~"prod.*")").matches({{"env", "production"}}));
}

TEST_CASE("a label the alert lacks reads as the empty string", "[hub][silences]") {
  const protocol::Labels none{{"service", "checkout"}};
  CHECK(parsed(R"(team="")").matches(none));
  CHECK(parsed(R"(team!="db")").matches(none));
  CHECK_FALSE(parsed(R"(team="db")").matches(none));
  CHECK(parsed(R"(team=~".*")").matches(none));
  CHECK_FALSE(parsed(R"(team=~".+")").matches(none));
  CHECK(parsed(R"(team=~".+")").matches_empty() == false);
  CHECK(parsed(R"(team!="x")").matches_empty());
}

TEST_CASE("regexes take the syntax Prometheus users write: inline flags, classes, Unicode",
          "[hub][silences]") {
  CHECK(parsed(R"(alertname=~"(?i)highErrorRATE")").matches({{"alertname", "HighErrorRate"}}));
  CHECK(parsed(R"(instance=~"web-\d+")").matches({{"instance", "web-12"}}));
  CHECK(parsed(R"(instance=~"web-\\d+")").matches({{"instance", "web-12"}}));
  CHECK(parsed(R"(city=~"\pL+")").matches({{"city", "Zürich"}}));
  CHECK(parsed(R"(x=~"(?P<n>a)b")").matches({{"x", "ab"}}));
}

TEST_CASE("values may be unquoted, and quoted values keep commas, quotes and spaces",
          "[hub][silences]") {
  CHECK(parsed("env=prod").value() == "prod");
  CHECK(parsed("env=").value().empty());
  CHECK(parsed(R"(msg="a, \"b\" c")").value() == R"(a, "b" c)");
  CHECK(parsed(R"(  env  =~  "prod"  )").value() == "prod");
}

TEST_CASE("a matcher's text reads back as the same matcher", "[hub][silences]") {
  for (const char* text : {R"(service="checkout")", R"(msg!="say \"hi\"\\n")",
                           R"(env=~"prod|staging")", R"(x!~"a\\d")", "y=plain"}) {
    const Matcher m = parsed(text);
    const Matcher again = parsed(m.to_string());
    CHECK(again == m);
  }
  CHECK(parsed(R"(a="x\"y")").to_string() == R"(a="x\"y")");
}

TEST_CASE("bad matchers are refused with the problem named", "[hub][silences]") {
  CHECK_THAT(error_of(""), Catch::Contains("empty"));
  CHECK_THAT(error_of(R"(9service="x")"),
             Catch::Contains("expected a label name") && Catch::Contains("'9'"));
  CHECK_THAT(error_of(R"(service<"x")"),
             Catch::Contains("expected an operator (=, !=, =~ or !~) after label name 'service'"));
  CHECK_THAT(error_of(R"(service="checkout)"),
             Catch::Contains("quoted value of 'service' is not closed"));
  CHECK_THAT(error_of(R"(service="a" extra)"),
             Catch::Contains("unexpected text after the quoted value: 'extra'"));
  CHECK_THAT(error_of("service=a b"), Catch::Contains("quote it"));
  const std::string bad_regex = error_of(R"(env=~"prod(")");
  CHECK_THAT(bad_regex, Catch::Contains("matcher 'env=~\"prod(\"'") &&
                            Catch::Contains("bad regex") && Catch::Contains("at offset 5"));
  auto made = Matcher::make("bad-name", MatchOp::kEqual, "x");
  REQUIRE_FALSE(made);
  CHECK_THAT(made.status().message(), Catch::Contains("label name 'bad-name'"));
}

TEST_CASE("a matcher list parses with or without braces and names the bad matcher",
          "[hub][silences]") {
  auto list = parse_matchers(R"({service="checkout", msg="a,b", env=~"prod|staging",})");
  REQUIRE(list);
  REQUIRE(list->size() == 3);
  CHECK((*list)[1].value() == "a,b");
  CHECK(matches_all(*list, {{"service", "checkout"}, {"msg", "a,b"}, {"env", "prod"}}));
  CHECK_FALSE(matches_all(*list, {{"service", "checkout"}, {"msg", "a,b"}, {"env", "dev"}}));
  CHECK(matchers_to_string(*list) == R"({service="checkout", msg="a,b", env=~"prod|staging"})");

  auto bare = parse_matchers(R"(service="checkout",env="prod")");
  REQUIRE(bare);
  CHECK(bare->size() == 2);
  auto empty = parse_matchers("{}");
  REQUIRE(empty);
  CHECK(empty->empty());

  auto bad = parse_matchers(R"({service="checkout", env=~"("})");
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.status().message(), Catch::StartsWith("matcher 2 of"));
  auto unclosed = parse_matchers(R"({service="checkout")");
  REQUIRE_FALSE(unclosed);
  CHECK_THAT(unclosed.status().message(), Catch::Contains("'{' is not closed"));
  auto hole = parse_matchers(R"(a="1",,b="2")");
  REQUIRE_FALSE(hole);
  CHECK_THAT(hole.status().message(), Catch::StartsWith("matcher 2 of"));

  auto items = parse_matcher_list({R"(service="x")", "env=~["}, "source_matchers");
  REQUIRE_FALSE(items);
  CHECK_THAT(items.status().message(),
             Catch::StartsWith("source_matchers[1]: matcher 'env=~\"[\"': bad regex"));
}

TEST_CASE("a regex that backtracks without end counts as no match instead of stalling",
          "[hub][silences]") {
  // Fibonacci(60) ways to split the a's before failing on the b.
  const Matcher m = parsed(R"(x=~"(a|aa)+")");
  CHECK(m.matches({{"x", std::string(60, 'a')}}));
  CHECK_FALSE(m.matches({{"x", std::string(60, 'a') + "b"}}));
  // A long value does not exhaust the stack either.
  CHECK(parsed(R"(x=~".*")").matches({{"x", std::string(1'000'000, 'z')}}));
}

TEST_CASE("signals are matched with alertname and severity as labels too", "[hub][silences]") {
  AlertSignal s;
  s.rule = "HighErrorRate";
  s.severity = protocol::Severity::kCritical;
  s.labels = {{"service", "checkout"}};
  const protocol::Labels l = match_labels(s);
  CHECK(l.at("alertname") == "HighErrorRate");
  CHECK(l.at("severity") == "critical");
  s.labels["severity"] = "page";  // a label the source set wins
  CHECK(match_labels(s).at("severity") == "page");
}
