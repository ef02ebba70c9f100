#include "tests/support/fake_webhook_receiver.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace reflex::testing {
namespace {

using nlohmann::json;
using Answer = FakeVendorServer::Answer;

Answer refuse(int status, const std::string& why) {
  return {.status = status, .body = {{"error", why}}, .headers = {}};
}

}  // namespace

FakeWebhookReceiver::FakeWebhookReceiver(std::string secret, int64_t max_skew_s,
                                         std::function<int64_t()> now_s)
    : secret_(std::move(secret)),
      max_skew_s_(max_skew_s),
      now_s_(now_s ? std::move(now_s)
                   : [] {
                       return std::chrono::duration_cast<std::chrono::seconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                           .count();
                     }),
      server_("FakeWebhookReceiver",
              [this](const FakeVendorServer::Request& r) { return handle(r); }) {}

std::vector<json> FakeWebhookReceiver::accepted() const {
  std::lock_guard lock(mu_);
  return accepted_;
}

std::string FakeWebhookReceiver::sign(const std::string& timestamp, const std::string& body) const {
  const std::string message = timestamp + "." + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &len);
  char hex[3];
  std::string out = "sha256=";
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(hex, sizeof hex, "%02x", mac[i]);
    out += hex;
  }
  return out;
}

Answer FakeWebhookReceiver::handle(const FakeVendorServer::Request& req) {
  if (req.method != "POST") return refuse(405, "POST only");
  const std::string ts = req.header("X-Reflex-Timestamp");
  const std::string signature = req.header("X-Reflex-Signature");
  if (ts.empty() || signature.empty()) return refuse(401, "unsigned request");
  if (ts.size() > 12 || !std::all_of(ts.begin(), ts.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
      })) {
    return refuse(401, "malformed timestamp");
  }
  if (std::llabs(now_s_() - std::stoll(ts)) > max_skew_s_) return refuse(401, "stale timestamp");
  const std::string expected = sign(ts, req.raw_body);
  if (signature.size() != expected.size() ||
      CRYPTO_memcmp(signature.data(), expected.data(), expected.size()) != 0) {
    return refuse(401, "bad signature");
  }
  if (req.header("Content-Type").rfind("application/json", 0) != 0) {
    return refuse(400, "expected application/json");
  }
  if (req.body.is_null() && req.raw_body != "null") return refuse(400, "body is not JSON");
  std::lock_guard lock(mu_);
  accepted_.push_back(req.body);
  return {.status = 200, .body = {{"received", accepted_.size()}}, .headers = {}};
}

}  // namespace reflex::testing
