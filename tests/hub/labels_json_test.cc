#include "hub/incidents/labels_json.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <random>

using reflex::hub::incidents::labels_json;
using reflex::protocol::Labels;

TEST_CASE("labels_json writes what nlohmann's dump writes, escapes included", "[hub][incidents]") {
  // Every ASCII byte, control characters and JSON's specials among them.
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> byte(0, 127), length(0, 12), count(0, 6);
  for (int round = 0; round < 2000; ++round) {
    Labels labels;
    for (int n = count(rng); n > 0; --n) {
      std::string name, value;
      for (int i = length(rng); i > 0; --i) name += static_cast<char>(byte(rng));
      for (int i = length(rng); i > 0; --i) value += static_cast<char>(byte(rng));
      labels[name] = value;
    }
    INFO(nlohmann::json(labels).dump());
    REQUIRE(labels_json(labels) == nlohmann::json(labels).dump());
  }
  CHECK(labels_json({}) == "{}");
  CHECK(labels_json({{"a\"b", "c\\d\n\x01\x1f/"}}) == R"({"a\"b":"c\\d\n\u0001\u001f/"})");
}

TEST_CASE("labels_json keeps UTF-8 as it is and replaces bytes that are not UTF-8",
          "[hub][incidents]") {
  CHECK(labels_json({{"city", "Zürich"}, {"team", "ops"}}) ==
        "{\"city\":\"Zürich\",\"team\":\"ops\"}");
  // An annotation from an agent.yaml saved in Latin-1: stored, not a crash of the writer.
  const std::string text = labels_json({{"summary", std::string("caf\xe9 down")}, {"x\xff", "1"}});
  CHECK(text == "{\"summary\":\"caf\xef\xbf\xbd down\",\"x\xef\xbf\xbd\":\"1\"}");
  CHECK(nlohmann::json::parse(text)["summary"] == "caf\xef\xbf\xbd down");
}
