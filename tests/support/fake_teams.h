// Test support: a fake Microsoft Teams incoming webhook on 127.0.0.1 (see
// the vendor documentation,
// https://learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/add-incoming-webhook),
// as an Office 365 connector (200 with the body "1") or a Workflows webhook (202, empty body),
// enforcing the documented contract:
//  - POST with Content-Type application/json to the hook's path (another: 404);
//  - one of the documented bodies: {"text"} (connector only), a MessageCard with text
//    or summary (connector only), or {"type": "message", "attachments": [{"contentType":
//    "application/vnd.microsoft.card.adaptive", "content": {"type": "AdaptiveCard",
//    "version", "body": [...]}}]}; anything else is 400 with a text body (the connector's
//    "Summary or Text is required." where it is a card problem);
//  - at most 28 KB per message (413 above: the status is unconfirmed);
//  - throttle_next(): the connector's throttled answer, a 200 whose body says "Microsoft
//    Teams endpoint returned HTTP error 429".
// Neither kind returns a message id.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "tests/support/fake_vendor.h"

namespace reflex::testing {

class FakeTeams {
 public:
  enum class Kind { kConnector, kWorkflows };
  struct Post {
    std::string shape;  // "text", "message_card" or "adaptive_card"
    std::string text;   // the text shown: the TextBlocks' texts joined by "\n"
  };

  explicit FakeTeams(Kind kind = Kind::kConnector);

  // The secret URL to configure (a Workflows one carries its `sig` in the query, which
  // the fake requires: 401 without it).
  std::string hook_url() const;
  // The next `n` posts get the connector's throttled 200.
  void throttle_next(int n);

  int port() const { return server_.port(); }
  void fail_next(int n, FakeVendorServer::Fault fault) { server_.fail_next(n, std::move(fault)); }
  std::vector<FakeVendorServer::Received> received() const { return server_.received(); }
  std::vector<Post> posts() const;

 private:
  using Answer = FakeVendorServer::Answer;
  Answer handle(const FakeVendorServer::Request& req);

  Kind kind_;
  std::string path_;
  mutable std::mutex mu_;
  int throttled_ = 0;
  std::vector<Post> posts_;
  FakeVendorServer server_;  // last: stops before the state goes
};

}  // namespace reflex::testing
