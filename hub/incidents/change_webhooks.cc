#include "hub/incidents/change_webhooks.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "hub/incidents/json_fields.h"

namespace reflex::hub::incidents {
namespace {

namespace jf = json_fields;
using jf::Json;

WebhookOutcome ignored(std::string why) {
  return WebhookOutcome{std::nullopt, std::move(why)};
}

WebhookOutcome deployed(Change c) {
  return WebhookOutcome{std::move(c), ""};
}

std::vector<std::string> split_hosts(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text) {
    if (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

// The string at `key`, "" when absent.
Result<std::string> str(const Json& obj, std::string_view base, std::string_view key) {
  auto v = jf::opt_string(obj, base, key);
  if (!v) return v.status();
  return v->value_or("");
}

Result<std::optional<int64_t>> opt_int(const Json& obj, std::string_view base,
                                       std::string_view key) {
  auto it = obj.find(std::string(key));
  if (it == obj.end() || it->is_null()) return std::optional<int64_t>();
  if (!it->is_number_integer()) {
    return jf::field_error(jf::path(base, key), "expected an integer, got " + jf::type_name(*it));
  }
  return std::optional<int64_t>(it->get<int64_t>());
}

// Strategy and colour, checked together; `base` names where they came from.
Status apply_strategy(Change& c, const std::string& strategy, const std::string& strategy_field,
                      const std::string& color, const std::string& color_field) {
  if (!strategy.empty()) {
    auto s = parse_deploy_strategy(strategy, strategy_field);
    if (!s) return s.status();
    c.strategy = *s;
  }
  if (!color.empty()) {
    if (c.strategy != DeployStrategy::kBlueGreen) {
      return jf::field_error(color_field, "only applies to strategy blue-green");
    }
    c.active_color = color;
  }
  return Status::ok();
}

Result<Change> jenkins_change(const Json& j, const Json& build, int64_t now_ms) {
  Change c;
  c.source = "jenkins";
  auto name = jf::req_string(j, "", "name");
  if (!name) return name.status();
  auto params_obj = jf::opt_object(build, "build", "parameters");
  if (!params_obj) return params_obj.status();
  const Json empty = Json::object();
  const Json& params = *params_obj ? **params_obj : empty;
  auto param = [&](std::string_view key) { return str(params, "build.parameters", key); };

  auto service = param("SERVICE");
  if (!service) return service.status();
  c.service = service->empty() ? *name : *service;
  auto env = param("ENV");
  if (!env) return env.status();
  c.environment = *env;
  if (c.environment.empty()) {
    auto environment = param("ENVIRONMENT");
    if (!environment) return environment.status();
    c.environment = *environment;
  }
  auto number = opt_int(build, "build", "number");
  if (!number) return number.status();
  auto version = param("VERSION");
  if (!version) return version.status();
  c.version = *version;
  if (c.version.empty()) {
    auto display = str(build, "build", "display_name");
    if (!display) return display.status();
    c.version = *display;
  }
  if (c.version.empty() && *number) c.version = "#" + std::to_string(**number);
  auto hosts = param("HOSTS");
  if (!hosts) return hosts.status();
  c.hosts = split_hosts(*hosts);
  auto strategy = param("STRATEGY");
  if (!strategy) return strategy.status();
  auto color = param("ACTIVE_COLOR");
  if (!color) return color.status();
  REFLEX_RETURN_IF_ERROR(apply_strategy(c, *strategy, "build.parameters.STRATEGY", *color,
                                        "build.parameters.ACTIVE_COLOR"));
  auto scm = jf::opt_object(build, "build", "scm");
  if (!scm) return scm.status();
  auto author = param("AUTHOR");
  if (!author) return author.status();
  c.author = *author;
  if (*scm) {
    auto commit = str(**scm, "build.scm", "commit");
    if (!commit) return commit.status();
    c.commit = *commit;
    if (c.author.empty()) {
      auto culprits = (*scm)->find("culprits");
      if (culprits != (*scm)->end() && culprits->is_array() && !culprits->empty() &&
          culprits->front().is_string()) {
        c.author = culprits->front().get<std::string>();
      }
    }
  }
  auto full_url = str(build, "build", "full_url");
  if (!full_url) return full_url.status();
  c.link = *full_url;
  if (!c.link.empty()) {
    c.id = "jenkins:" + c.link;
  } else if (*number) {
    c.id = "jenkins:" + *name + "#" + std::to_string(**number);
  }
  auto timestamp = opt_int(build, "build", "timestamp");
  if (!timestamp) return timestamp.status();
  auto duration = opt_int(build, "build", "duration");
  if (!duration) return duration.status();
  c.at_ms = *timestamp ? **timestamp + duration->value_or(0) : now_ms;
  if (c.at_ms < 0) return jf::field_error("build.timestamp", "before 1970");
  return c;
}

// The `login` of the user object at `key`, "" when absent.
Result<std::string> login_of(const Json& obj, std::string_view base, std::string_view key) {
  auto user = jf::opt_object(obj, base, key);
  if (!user) return user.status();
  if (!*user) return std::string();
  return str(**user, jf::path(base, key), "login");
}

// deployment.payload: an object, or a string holding one; anything else is no payload.
Json deployment_payload(const Json& deployment) {
  auto it = deployment.find("payload");
  if (it == deployment.end()) return Json::object();
  if (it->is_object()) return *it;
  if (it->is_string()) {
    auto parsed = Json::parse(it->get_ref<const std::string&>(), nullptr, false);
    if (parsed.is_object()) return parsed;
  }
  return Json::object();
}

Result<Change> github_change(const Json& j, const Json& deployment, const Json& status,
                             int64_t now_ms) {
  Change c;
  c.source = "github";
  auto repo = jf::opt_object(j, "", "repository");
  if (!repo) return repo.status();
  if (!*repo) return jf::field_error("repository", "required");
  auto full_name = jf::req_string(**repo, "repository", "full_name");
  if (!full_name) return full_name.status();
  auto repo_name = str(**repo, "repository", "name");
  if (!repo_name) return repo_name.status();
  if (repo_name->empty()) *repo_name = full_name->substr(full_name->rfind('/') + 1);

  auto id = opt_int(deployment, "deployment", "id");
  if (!id) return id.status();
  if (!*id) return jf::field_error("deployment.id", "required");
  c.id = "github:" + *full_name + "/deployments/" + std::to_string(**id);

  const Json payload = deployment_payload(deployment);
  const std::string pbase = "deployment.payload";
  auto service = str(payload, pbase, "service");
  if (!service) return service.status();
  c.service = service->empty() ? *repo_name : *service;

  auto env = str(status, "deployment_status", "environment");
  if (!env) return env.status();
  c.environment = *env;
  if (c.environment.empty()) {
    auto denv = str(deployment, "deployment", "environment");
    if (!denv) return denv.status();
    c.environment = *denv;
  }
  auto sha = str(deployment, "deployment", "sha");
  if (!sha) return sha.status();
  c.commit = *sha;
  auto version = str(payload, pbase, "version");
  if (!version) return version.status();
  c.version = *version;
  if (c.version.empty()) {
    auto ref = str(deployment, "deployment", "ref");
    if (!ref) return ref.status();
    c.version = ref->empty() ? c.commit : *ref;
  }
  if (auto h = payload.find("hosts"); h != payload.end() && !h->is_null()) {
    if (h->is_string()) {
      c.hosts = split_hosts(h->get_ref<const std::string&>());
    } else {
      auto list = jf::opt_string_list(payload, pbase, "hosts");
      if (!list) return list.status();
      c.hosts = std::move(list).value();
    }
  }
  auto strategy = str(payload, pbase, "strategy");
  if (!strategy) return strategy.status();
  auto color = str(payload, pbase, "active_color");
  if (!color) return color.status();
  REFLEX_RETURN_IF_ERROR(
      apply_strategy(c, *strategy, pbase + ".strategy", *color, pbase + ".active_color"));

  auto creator = login_of(deployment, "deployment", "creator");
  if (!creator) return creator.status();
  c.author = *creator;
  if (c.author.empty()) {
    auto sender = login_of(j, "", "sender");
    if (!sender) return sender.status();
    c.author = *sender;
  }
  for (const char* key : {"log_url", "target_url", "environment_url"}) {
    auto url = str(status, "deployment_status", key);
    if (!url) return url.status();
    if (c.link.empty()) c.link = *url;
  }
  auto created = jf::opt_time(status, "deployment_status", "created_at");
  if (!created) return created.status();
  c.at_ms = created->value_or(now_ms);
  if (c.at_ms < 0) return jf::field_error("deployment_status.created_at", "before 1970");
  return c;
}

}  // namespace

Result<WebhookOutcome> parse_jenkins_notification(std::string_view body, int64_t now_ms) {
  auto json = jf::parse_body(body);
  if (!json) return json.status();
  const Json& j = *json;
  REFLEX_RETURN_IF_ERROR(jf::expect_object(j, ""));
  auto name = jf::req_string(j, "", "name");
  if (!name) return name.status();
  auto build = jf::opt_object(j, "", "build");
  if (!build) return build.status();
  if (!*build) return jf::field_error("build", "required");
  auto phase = jf::req_string(**build, "build", "phase");
  if (!phase) return phase.status();
  if (*phase != "COMPLETED" && *phase != "FINALIZED") {
    return ignored("build.phase " + *phase + ": only a COMPLETED or FINALIZED build is a deploy");
  }
  auto status = str(**build, "build", "status");
  if (!status) return status.status();
  if (*status != "SUCCESS") {
    return ignored("build.status " + (status->empty() ? std::string("missing") : *status) +
                   ": only a SUCCESS build is a deploy");
  }
  auto change = jenkins_change(j, **build, now_ms);
  if (!change) return change.status();
  return deployed(std::move(change).value());
}

std::string hmac_sha256_hex(std::string_view secret, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 0xf];
  }
  return out;
}

std::string github_signature(std::string_view secret, std::string_view body) {
  return "sha256=" + hmac_sha256_hex(secret, body);
}

bool verify_github_signature(std::string_view secret, std::string_view body,
                             std::string_view header) {
  const std::string expected = github_signature(secret, body);
  // The length is no secret (always 71); the bytes are compared in constant time.
  if (header.size() != expected.size()) return false;
  return CRYPTO_memcmp(header.data(), expected.data(), expected.size()) == 0;
}

bool secret_equals(std::string_view given, std::string_view expected) {
  if (expected.empty() || given.size() != expected.size()) return false;
  return CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
}

Result<WebhookOutcome> parse_github_deployment_status(const GithubDelivery& delivery,
                                                      std::string_view secret, int64_t now_ms) {
  if (secret.empty()) {
    return Status::error("unauthorized", "no GitHub webhook secret is configured");
  }
  if (delivery.signature.empty()) {
    return Status::error("unauthorized", "X-Hub-Signature-256: missing");
  }
  if (!verify_github_signature(secret, delivery.body, delivery.signature)) {
    return Status::error("unauthorized",
                         "X-Hub-Signature-256: does not match the body and the secret");
  }
  if (delivery.event.empty()) return jf::field_error("X-GitHub-Event", "missing");
  if (delivery.event != "deployment_status") {
    return ignored("X-GitHub-Event " + std::string(delivery.event) +
                   ": only deployment_status is a deploy");
  }
  auto json = jf::parse_body(delivery.body);
  if (!json) return json.status();
  const Json& j = *json;
  REFLEX_RETURN_IF_ERROR(jf::expect_object(j, ""));
  auto status = jf::opt_object(j, "", "deployment_status");
  if (!status) return status.status();
  if (!*status) return jf::field_error("deployment_status", "required");
  auto deployment = jf::opt_object(j, "", "deployment");
  if (!deployment) return deployment.status();
  if (!*deployment) return jf::field_error("deployment", "required");
  auto state = jf::req_string(**status, "deployment_status", "state");
  if (!state) return state.status();
  if (*state != "success") {
    return ignored("deployment_status.state " + *state + ": only success is a deploy");
  }
  auto change = github_change(j, **deployment, **status, now_ms);
  if (!change) return change.status();
  return deployed(std::move(change).value());
}

}  // namespace reflex::hub::incidents
