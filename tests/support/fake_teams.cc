#include "tests/support/fake_teams.h"

namespace reflex::testing {
namespace {

using nlohmann::json;
using Answer = FakeVendorServer::Answer;

constexpr size_t kMaxBytes = 28 * 1024;
constexpr const char* kSig = "Fk9sQ2lnbmF0dXJlMDEyMzQ1Njc4OWFiY2RlZg";

Answer text_answer(int status, const std::string& text) {
  return {.status = status, .body = text, .headers = {{"Content-Type", "text/plain"}}};
}

std::string string_at(const json& doc, const char* key) {
  auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : "";
}

// The text an Adaptive Card message shows; false when it is not one.
bool adaptive_text(const json& body, std::string& text) {
  auto attachments = body.find("attachments");
  if (string_at(body, "type") != "message" || attachments == body.end() ||
      !attachments->is_array() || attachments->empty()) {
    return false;
  }
  for (const auto& a : *attachments) {
    if (!a.is_object() ||
        string_at(a, "contentType") != "application/vnd.microsoft.card.adaptive") {
      return false;
    }
    auto content = a.find("content");
    if (content == a.end() || !content->is_object() ||
        string_at(*content, "type") != "AdaptiveCard" || string_at(*content, "version").empty()) {
      return false;
    }
    auto blocks = content->find("body");
    if (blocks == content->end() || !blocks->is_array()) return false;
    for (const auto& b : *blocks) {
      if (!b.is_object()) return false;
      if (string_at(b, "type") == "TextBlock") {
        text += (text.empty() ? "" : "\n") + string_at(b, "text");
      }
    }
  }
  return true;
}

}  // namespace

FakeTeams::FakeTeams(Kind kind)
    : kind_(kind),
      path_(kind == Kind::kConnector
                ? "/webhookb2/0f3c9a2e-1111-4a5b-9c0d-2e6f7a8b9c0d@72f988bf-86f1-41af-91ab-"
                  "2d7cd011db47/IncomingWebhook/5c1e6f0a9b8d4c3e8f7a6b5c4d3e2f1a/"
                  "3b2a1c0d-9e8f-4a7b-8c6d-5e4f3a2b1c0d"
                : "/workflows/a1b2c3d4e5f60718293a4b5c6d7e8f90/triggers/manual/paths/invoke"),
      server_("fake Teams", [this](const FakeVendorServer::Request& r) { return handle(r); }) {}

std::string FakeTeams::hook_url() const {
  if (kind_ == Kind::kConnector) return server_.url(path_);
  return server_.url(path_) +
         "?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=" + kSig;
}

void FakeTeams::throttle_next(int n) {
  std::lock_guard lock(mu_);
  throttled_ += n;
}

std::vector<FakeTeams::Post> FakeTeams::posts() const {
  std::lock_guard lock(mu_);
  return posts_;
}

Answer FakeTeams::handle(const FakeVendorServer::Request& req) {
  if (req.method != "POST" || req.path != path_) return text_answer(404, "Not Found");
  if (kind_ == Kind::kWorkflows &&
      req.target.find("sig=" + std::string(kSig)) == std::string::npos) {
    return text_answer(401, "The request must be authenticated: the sig parameter is missing");
  }
  if (req.header("Content-Type").rfind("application/json", 0) != 0) {
    return text_answer(400, "Bad payload received by generic incoming webhook.");
  }
  if (req.raw_body.size() > kMaxBytes) return text_answer(413, "Request Entity Too Large");
  const json& body = req.body;
  if (!body.is_object()) {
    return text_answer(400, "Bad payload received by generic incoming webhook.");
  }
  Post post;
  if (adaptive_text(body, post.text)) {
    post.shape = "adaptive_card";
  } else if (kind_ == Kind::kConnector && string_at(body, "@type") == "MessageCard" &&
             (!string_at(body, "text").empty() || !string_at(body, "summary").empty())) {
    post.shape = "message_card";
    post.text = string_at(body, "text");
  } else if (kind_ == Kind::kConnector && !string_at(body, "text").empty() &&
             !body.contains("attachments")) {
    post.shape = "text";
    post.text = string_at(body, "text");
  } else {
    return text_answer(400, "Summary or Text is required.");
  }
  std::lock_guard lock(mu_);
  if (throttled_ > 0) {
    --throttled_;
    return text_answer(200,
                       "Microsoft Teams endpoint returned HTTP error 429 with ContextId "
                       "tcid=0,server=msgapi-production-eus-azsc2-4-170,cv=deadbeef.0");
  }
  posts_.push_back(std::move(post));
  if (kind_ == Kind::kWorkflows) return {.status = 202, .body = nullptr, .headers = {}};
  return text_answer(200, "1");
}

}  // namespace reflex::testing
