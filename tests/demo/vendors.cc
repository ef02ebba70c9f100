// reflex-demo-vendors: the stand-ins for Slack, Jira, Statuspage and Dynatrace that
// scripts/demo runs beside its hub, so the whole flow plays without accounts. They are
// the contract fakes the tests use (tests/support/fake_*.h), on the fixed loopback ports
// examples/demo/hub.yaml names. It writes the tokens they accept into the secrets
// directory, serves until SIGTERM or SIGINT, and then writes every request it received to
// the log file, one line each, so the demo can show what each vendor was asked to do.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "tests/support/fake_dynatrace.h"
#include "tests/support/fake_jira.h"
#include "tests/support/fake_slack.h"
#include "tests/support/fake_statuspage.h"

namespace {

using namespace reflex::testing;
namespace fs = std::filesystem;

// The Dynatrace problem the demo's monitoring reports (its internal problem id).
constexpr const char* kProblem = "-4711_1234V2";

void write_secret(const fs::path& dir, const std::string& name, const std::string& value) {
  const fs::path path = dir / name;
  std::ofstream(path) << value << "\n";
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
}

std::string brief(const nlohmann::json& body, const char* key) {
  return body.is_object() && body.contains(key) && body[key].is_string()
             ? body[key].get<std::string>()
             : "";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"reflex-demo-vendors: local stand-ins for Slack, Jira, Statuspage and Dynatrace"};
  std::string secrets = "/tmp/reflex-demo/secrets";
  std::string log = "/tmp/reflex-demo/vendors.log";
  std::string ready;
  int slack_port = 7191, jira_port = 7192, statuspage_port = 7193, dynatrace_port = 7194;
  app.add_option("--secrets", secrets, "directory to write the tokens they accept into")
      ->capture_default_str();
  app.add_option("--log", log, "file to write the requests they received to, on exit")
      ->capture_default_str();
  app.add_option("--ready-file", ready, "file to create once all four serve");
  app.add_option("--slack-port", slack_port)->capture_default_str();
  app.add_option("--jira-port", jira_port)->capture_default_str();
  app.add_option("--statuspage-port", statuspage_port)->capture_default_str();
  app.add_option("--dynatrace-port", dynatrace_port)->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  // Blocked before the servers start their threads, so only sigwait() below sees them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  try {
    FakeSlack slack("xoxb-demo-0000-reflex-bot", slack_port);
    slack.add_channel("C0CHECKOUT", "checkout-demo");
    slack.add_channel("C0NOC", "noc");
    slack.add_channel("C0LEADS", "checkout-leads");
    FakeJira jira("jira-demo-api-token-0000", "reflex@example.com", jira_port);
    jira.add_project("SD");
    FakeStatuspage statuspage("statuspage-demo-key-0000", "kctbh9vrtdwd", statuspage_port);
    FakeDynatrace dynatrace("dt0c01.DEMOPUBLIC.DEMOSECRETPART00000", dynatrace_port);
    dynatrace.add_problem(kProblem);

    fs::create_directories(secrets);
    write_secret(secrets, "slack-bot", slack.token());
    write_secret(secrets, "slack-signing", "demo-signing-secret-0000000000000");
    write_secret(secrets, "jira", jira.token());
    write_secret(secrets, "statuspage", statuspage.api_key());
    write_secret(secrets, "dynatrace", dynatrace.token());
    if (!ready.empty()) std::ofstream(ready) << "ok\n";
    std::cerr << "reflex-demo-vendors: Slack on " << slack.base_url() << ", Jira on "
              << jira.base_url() << ", Statuspage on " << statuspage.base_url() << ", Dynatrace on "
              << dynatrace.base_url() << "\n";

    int sig = 0;
    sigwait(&stop, &sig);

    std::ofstream out(log);
    for (const auto& r : slack.received()) {
      out << "slack      " << r.method << " " << brief(r.body, "channel") << " "
          << brief(r.body, "name") << " -> " << r.status << " " << brief(r.body, "text") << "\n";
    }
    const auto requests = [&out](const char* vendor,
                                 const std::vector<FakeVendorServer::Received>& received) {
      for (const auto& r : received) {
        out << vendor << " " << r.request.method << " " << r.request.path << " -> " << r.status
            << "\n";
      }
    };
    requests("jira      ", jira.received());
    requests("statuspage", statuspage.received());
    requests("dynatrace ", dynatrace.received());
  } catch (const std::exception& e) {
    std::cerr << "reflex-demo-vendors: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
