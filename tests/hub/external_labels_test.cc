#include "hub/incidents/external_labels.h"

#include <catch2/catch.hpp>

using namespace reflex::hub::incidents;
using reflex::protocol::Severity;

TEST_CASE("The label set fingerprint is the one Prometheus and Alertmanager compute",
          "[hub][external]") {
  // prometheus/common model: labelSetToFingerprint test vectors.
  CHECK(label_set_fingerprint({}) == "cbf29ce484222325");  // 14695981039346656037
  CHECK(label_set_fingerprint({{"name", "garland, briggs"}, {"fear", "love is not enough"}}) ==
        "507a62d79ee76c9a");  // 5799056148416392346
  // Names and values are separated, so shifting a character between them changes it.
  CHECK(label_set_fingerprint({{"ab", "c"}}) != label_set_fingerprint({{"a", "bc"}}));
}

TEST_CASE("Label names follow Prometheus' rule", "[hub][external]") {
  for (const char* ok : {"a", "_", "alertname", "A_1", "__name__"}) CHECK(is_valid_label_name(ok));
  for (const char* bad : {"", "1x", "bad-name", "a.b", "é", "a b"}) {
    INFO(bad);
    CHECK_FALSE(is_valid_label_name(bad));
  }
}

TEST_CASE("Severity label values map to the engine's four severities, unknown to warning",
          "[hub][external]") {
  CHECK(severity_from_label("critical") == Severity::kCritical);
  CHECK(severity_from_label("page") == Severity::kCritical);
  CHECK(severity_from_label("P1") == Severity::kCritical);
  CHECK(severity_from_label("error") == Severity::kHigh);
  CHECK(severity_from_label("Major") == Severity::kHigh);
  CHECK(severity_from_label("warning") == Severity::kWarning);
  CHECK(severity_from_label("WARN") == Severity::kWarning);
  CHECK(severity_from_label("info") == Severity::kInfo);
  CHECK(severity_from_label("none") == Severity::kInfo);
  CHECK(severity_from_label("sev-banana") == Severity::kWarning);
  CHECK(severity_from_labels({}) == Severity::kWarning);
}

TEST_CASE("The host is the instance label without its port, else the host label",
          "[hub][external]") {
  CHECK(host_from_labels({{"instance", "web-1:9100"}}) == "web-1");
  CHECK(host_from_labels({{"instance", "web-1"}}) == "web-1");
  CHECK(host_from_labels({{"instance", "[2001:db8::1]:9100"}}) == "2001:db8::1");
  CHECK(host_from_labels({{"instance", "2001:db8::1"}}) == "2001:db8::1");
  CHECK(host_from_labels({{"instance", "web-1:metrics"}}) == "web-1:metrics");
  CHECK(host_from_labels({{"host", "db-2"}}) == "db-2");
  CHECK(host_from_labels({{"job", "node"}}).empty());
  CHECK(rule_from_labels({{"alertname", "HighLatency"}}) == "HighLatency");
  CHECK(rule_from_labels({{"job", "node"}}) == "unnamed");
}
