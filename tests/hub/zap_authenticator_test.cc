#include "hub/zap_authenticator.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>
#include <zmq.hpp>

#include "common/curve_keys.h"
#include "common/loop.h"
#include "tests/support/process.h"

using namespace reflex;
using namespace reflex::hub;
using reflex::testing::TempDir;

namespace {

curve::Keypair new_keys() {
  auto keys = curve::generate();
  REQUIRE(keys);
  return *keys;
}

struct Received {
  std::string payload;
  std::string user_id;
};

// A hub-like ROUTER on a real loop with a ZapAuthenticator in front of it. Members are
// declared so that they are destroyed in the order the authenticator's contract asks:
// sockets before the authenticator, the authenticator before the loop, all before the
// context.
class ZapServer {
 public:
  explicit ZapServer(PlaintextPolicy policy = PlaintextPolicy::kLoopbackOnly)
      : server_keys(new_keys()), zap(loop, ctx, policy) {
    REQUIRE(zap.start());
    zap.on_refused([this](const Refusal& r) { refusals.push_back(r); });
  }

  ~ZapServer() {
    watcher_.reset();
    server_.reset();
  }

  // Binds the ROUTER on a free port; CURVE unless `curve` is false (then NULL with ZAP).
  void listen(bool curve = true, const std::string& domain = ZapAuthenticator::kDomain) {
    server_ = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::router);
    server_->set(zmq::sockopt::linger, 0);
    if (curve) {
      server_->set(zmq::sockopt::curve_server, 1);
      server_->set(zmq::sockopt::curve_secretkey, server_keys.secret_key);
    }
    if (!domain.empty()) server_->set(zmq::sockopt::zap_domain, domain);
    server_->bind("tcp://127.0.0.1:*");
    endpoint = server_->get(zmq::sockopt::last_endpoint);
    watcher_ = std::make_unique<ZmqWatcher>(loop, *server_, [this] {
      zmq::message_t id, payload;
      if (!server_->recv(id, zmq::recv_flags::dontwait)) return;
      if (!server_->recv(payload, zmq::recv_flags::dontwait)) return;
      received.push_back({payload.to_string(), ZapAuthenticator::user_id(payload)});
    });
  }

  std::unique_ptr<zmq::socket_t> curve_client(const curve::Keypair& keys) {
    auto s = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::dealer);
    s->set(zmq::sockopt::linger, 0);
    s->set(zmq::sockopt::curve_serverkey, server_keys.public_key);
    s->set(zmq::sockopt::curve_publickey, keys.public_key);
    s->set(zmq::sockopt::curve_secretkey, keys.secret_key);
    s->connect(endpoint);
    return s;
  }

  std::unique_ptr<zmq::socket_t> plain_client() {
    auto s = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::dealer);
    s->set(zmq::sockopt::linger, 0);
    s->connect(endpoint);
    return s;
  }

  // Runs the loop until `cond` holds or 10 s pass; returns whether it held.
  bool pump_until(const std::function<bool()>& cond) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
      uv_run(loop.raw(), UV_RUN_NOWAIT);
      if (cond()) return true;
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));  // a poll interval only
    }
  }

  bool got(const std::string& payload) const {
    for (const auto& r : received) {
      if (r.payload == payload) return true;
    }
    return false;
  }
  const Received* find(const std::string& payload) const {
    for (const auto& r : received) {
      if (r.payload == payload) return &r;
    }
    return nullptr;
  }

  zmq::context_t ctx{1};
  EventLoop loop;
  TempDir dir;
  curve::Keypair server_keys;
  ZapAuthenticator zap;
  std::string endpoint;
  std::vector<Received> received;
  std::vector<Refusal> refusals;

 private:
  std::unique_ptr<zmq::socket_t> server_;
  std::unique_ptr<ZmqWatcher> watcher_;
};

void send(zmq::socket_t& s, const std::string& text) {
  REQUIRE(s.send(zmq::buffer(text), zmq::send_flags::dontwait));
}

}  // namespace

// --- Over real sockets ------------------------------------------------------------------

TEST_CASE("an enrolled agent gets through and its messages carry its enrolled agent id", "[zap]") {
  ZapServer hub;
  const auto web = new_keys();
  REQUIRE(hub.zap.load(hub.dir.write("agents.allow", "web-01 " + web.public_key + "\n")));
  hub.listen();

  auto client = hub.curve_client(web);
  send(*client, "hello from web-01");
  REQUIRE(hub.pump_until([&] { return hub.got("hello from web-01"); }));
  CHECK(hub.find("hello from web-01")->user_id == "web-01");
  CHECK(hub.zap.accepted() == 1);
  CHECK(hub.zap.refused() == 0);
}

TEST_CASE("an unknown key is refused while an enrolled agent on the same server keeps working",
          "[zap]") {
  ZapServer hub;
  const auto web = new_keys();
  const auto stranger = new_keys();
  REQUIRE(hub.zap.load(hub.dir.write("agents.allow", "web-01 " + web.public_key + "\n")));
  hub.listen();

  auto intruder = hub.curve_client(stranger);
  send(*intruder, "from the stranger");
  REQUIRE(hub.pump_until([&] { return hub.zap.refused() >= 1; }));

  auto client = hub.curve_client(web);
  send(*client, "from web-01");
  REQUIRE(hub.pump_until([&] { return hub.got("from web-01"); }));
  // The stranger's handshake failed before it sent anything to the hub.
  CHECK_FALSE(hub.got("from the stranger"));
  REQUIRE_FALSE(hub.refusals.empty());
  CHECK(hub.refusals.front().address == "127.0.0.1");
  CHECK(hub.refusals.front().mechanism == "CURVE");
  CHECK(hub.refusals.front().public_key == stranger.public_key);
}

TEST_CASE("an invalid allowlist reload is reported and the old allowlist stays in force", "[zap]") {
  ZapServer hub;
  const auto web = new_keys();
  REQUIRE(hub.zap.load(hub.dir.write("agents.allow", "web-01 " + web.public_key + "\n")));
  hub.listen();

  const auto other = new_keys();
  const std::string bad =
      hub.dir.write("bad.allow", "web-01 " + web.public_key + "\ndb-02 " + web.public_key + "\n" +
                                     "db-03 " + other.public_key + "\n");
  Status reload = hub.zap.load(bad);
  REQUIRE_FALSE(reload);
  CHECK_THAT(reload.message(), Catch::Contains(bad + ":2"));
  CHECK(hub.zap.enrolled() == 1);

  // A new connection is judged by the old list: web-01 is in, db-03 (only in the bad
  // file) is not.
  auto client = hub.curve_client(web);
  send(*client, "after the failed reload");
  REQUIRE(hub.pump_until([&] { return hub.got("after the failed reload"); }));
  CHECK(hub.find("after the failed reload")->user_id == "web-01");
  auto db = hub.curve_client(other);
  send(*db, "from db-03");
  REQUIRE(hub.pump_until([&] { return hub.zap.refused() >= 1; }));
  CHECK_FALSE(hub.got("from db-03"));
}

TEST_CASE("a reload that enrols a new key admits that agent without restarting the server",
          "[zap]") {
  ZapServer hub;
  const auto web = new_keys();
  const auto db = new_keys();
  const std::string allow = hub.dir.write("agents.allow", "web-01 " + web.public_key + "\n");
  REQUIRE(hub.zap.load(allow));
  hub.listen();

  auto early = hub.curve_client(db);
  send(*early, "before enrolment");
  REQUIRE(hub.pump_until([&] { return hub.zap.refused() >= 1; }));
  early.reset();

  hub.dir.write("agents.allow", "web-01 " + web.public_key + "\ndb-02 " + db.public_key + "\n");
  REQUIRE(hub.zap.load(allow));
  CHECK(hub.zap.enrolled() == 2);

  auto client = hub.curve_client(db);
  send(*client, "after enrolment");
  REQUIRE(hub.pump_until([&] { return hub.got("after enrolment"); }));
  CHECK(hub.find("after enrolment")->user_id == "db-02");
  CHECK_FALSE(hub.got("before enrolment"));
}

TEST_CASE("an allowlist directory of keygen key files enrols each file's agent", "[zap]") {
  ZapServer hub;
  const auto web = new_keys();
  const std::string agents = hub.dir.file("agents");
  std::filesystem::create_directory(agents);
  REQUIRE(curve::write_keypair(agents + "/web-01", web, "reflex agent web-01", false));
  // The secret does not belong here; the operator moved it to the agent host.
  std::filesystem::remove(curve::secret_key_path(agents + "/web-01"));
  REQUIRE(hub.zap.load(agents));
  hub.listen();

  auto client = hub.curve_client(web);
  send(*client, "from a key file");
  REQUIRE(hub.pump_until([&] { return hub.got("from a key file"); }));
  CHECK(hub.find("from a key file")->user_id == "web-01");
}

TEST_CASE("plaintext clients from 127.0.0.1 are admitted in loopback-only mode", "[zap]") {
  ZapServer hub(PlaintextPolicy::kLoopbackOnly);
  hub.listen(/*curve=*/false);

  auto client = hub.plain_client();
  send(*client, "plaintext hello");
  REQUIRE(hub.pump_until([&] { return hub.got("plaintext hello"); }));
  CHECK(hub.find("plaintext hello")->user_id.empty());
  CHECK(hub.zap.accepted() == 1);  // ZAP was asked, not bypassed
}

TEST_CASE("a CURVE server that forgot to set the ZAP domain refuses even enrolled agents",
          "[zap]") {
  // Failing closed: libzmq still asks ZAP about CURVE peers, with an empty domain.
  ZapServer hub;
  const auto web = new_keys();
  REQUIRE(hub.zap.load(hub.dir.write("agents.allow", "web-01 " + web.public_key + "\n")));
  hub.listen(/*curve=*/true, /*domain=*/"");

  auto client = hub.curve_client(web);
  send(*client, "without a domain");
  REQUIRE(hub.pump_until([&] { return hub.zap.refused() >= 1; }));
  CHECK(hub.zap.accepted() == 0);
  CHECK_FALSE(hub.got("without a domain"));
}

TEST_CASE("only one authenticator can start in a ZeroMQ context", "[zap]") {
  zmq::context_t ctx(1);
  EventLoop loop;
  ZapAuthenticator first(loop, ctx, PlaintextPolicy::kLoopbackOnly);
  ZapAuthenticator second(loop, ctx, PlaintextPolicy::kLoopbackOnly);
  REQUIRE(first.start());
  Status st = second.start();
  REQUIRE_FALSE(st);
  CHECK_THAT(st.message(), Catch::Contains(ZapAuthenticator::kEndpoint));
}

TEST_CASE("a message from a socket without ZAP has an empty user id", "[zap]") {
  zmq::message_t msg(std::string("x"));
  CHECK(ZapAuthenticator::user_id(msg).empty());
}

// --- The decision ------------------------------------------------------------------------

TEST_CASE("decide admits enrolled CURVE keys under their agent id and nothing else", "[zap]") {
  const auto web = new_keys();
  const auto stranger = new_keys();
  auto list = Allowlist::parse("web-01 " + web.public_key + "\n", "a");
  REQUIRE(list);
  const std::string domain = ZapAuthenticator::kDomain;

  auto ok =
      decide({domain, "10.1.2.3", "CURVE", web.public_key}, *list, PlaintextPolicy::kLoopbackOnly);
  CHECK(ok.accept);
  CHECK(ok.user_id == "web-01");
  CHECK_FALSE(
      decide({domain, "10.1.2.3", "CURVE", stranger.public_key}, *list, PlaintextPolicy::kAllowAll)
          .accept);
  CHECK_FALSE(decide({domain, "127.0.0.1", "PLAIN", ""}, *list, PlaintextPolicy::kAllowAll).accept);
  // Another socket in the same context that set a different domain is not ours to admit.
  CHECK_FALSE(
      decide({"other", "10.1.2.3", "CURVE", web.public_key}, *list, PlaintextPolicy::kLoopbackOnly)
          .accept);
}

TEST_CASE("decide admits plaintext from loopback only unless insecure plaintext is configured",
          "[zap]") {
  const Allowlist empty;
  const std::string domain = ZapAuthenticator::kDomain;
  for (const char* local : {"127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"}) {
    INFO(local);
    CHECK(decide({domain, local, "NULL", ""}, empty, PlaintextPolicy::kLoopbackOnly).accept);
  }
  for (const char* remote : {"10.0.0.5", "128.0.0.1", "::2", "::ffff:10.0.0.1", "", "junk"}) {
    INFO(remote);
    auto d = decide({domain, remote, "NULL", ""}, empty, PlaintextPolicy::kLoopbackOnly);
    CHECK_FALSE(d.accept);
    CHECK_FALSE(d.reason.empty());
    CHECK(decide({domain, remote, "NULL", ""}, empty, PlaintextPolicy::kAllowAll).accept);
  }
}

// --- The allowlist formats ---------------------------------------------------------------

TEST_CASE("an allowlist file ignores comments and blank lines", "[zap]") {
  const auto a = new_keys();
  const auto b = new_keys();
  auto list = Allowlist::parse("# enrolled agents\n\n  web-01\t" + a.public_key +
                                   "  \r\n   # indented comment\ndb.02 " + b.public_key,
                               "agents.allow");
  REQUIRE(list);
  CHECK(list->size() == 2);
  REQUIRE(list->agent_for(a.public_key));
  CHECK(*list->agent_for(a.public_key) == "web-01");
  CHECK(*list->agent_for(b.public_key) == "db.02");
}

TEST_CASE("allowlist errors name the file and line of every problem", "[zap]") {
  const auto a = new_keys();
  const auto b = new_keys();
  const std::string text = "web-01 " + a.public_key + "\n" +           // 1
                           "web-02 " + a.public_key + "\n" +           // 2: key enrolled twice
                           "web-01 " + b.public_key + "\n" +           // 3: agent enrolled twice
                           "web-03\n" +                                // 4: no key
                           "-bad " + b.public_key + "\n" +             // 5: bad agent id
                           "web-04 " + b.public_key.substr(1) + "\n";  // 6: bad key
  auto list = Allowlist::parse(text, "agents.allow");
  REQUIRE_FALSE(list);
  const std::string& msg = list.status().message();
  CHECK_THAT(msg, Catch::Contains("agents.allow:2: this public key is already enrolled for agent "
                                  "\"web-01\" at agents.allow:1"));
  CHECK_THAT(msg, Catch::Contains("agents.allow:3: agent id \"web-01\" is already enrolled at "
                                  "agents.allow:1"));
  CHECK_THAT(msg, Catch::Contains("agents.allow:4: expected"));
  CHECK_THAT(msg, Catch::Contains("agents.allow:5: \"-bad\" is not a valid agent id"));
  CHECK_THAT(msg, Catch::Contains("agents.allow:6: the key of agent \"web-04\""));
  CHECK_THAT(msg, !Catch::Contains(b.public_key.substr(1)));
}

TEST_CASE("an allowlist directory refuses secret key files and duplicate keys", "[zap]") {
  TempDir dir;
  const auto a = new_keys();
  dir.write("web-01.key", a.public_key + "\n");
  dir.write("README", "not a key\n");
  dir.write(".web-01.key.swp", "editor junk\n");

  SECTION("other files are ignored") {
    auto list = Allowlist::load(dir.path().string());
    REQUIRE(list);
    CHECK(list->size() == 1);
  }
  SECTION("a key enrolled under two names is an error naming both files") {
    dir.write("web-02.key", "# copy\n" + a.public_key + "\n");
    auto list = Allowlist::load(dir.path().string());
    REQUIRE_FALSE(list);
    CHECK_THAT(list.status().message(), Catch::Contains(dir.file("web-02.key")));
    CHECK_THAT(list.status().message(), Catch::Contains(dir.file("web-01.key")));
  }
  SECTION("a secret key file is an error") {
    dir.write("web-01.key_secret", a.secret_key + "\n");
    auto list = Allowlist::load(dir.path().string());
    REQUIRE_FALSE(list);
    CHECK_THAT(list.status().message(), Catch::Contains(dir.file("web-01.key_secret")));
    CHECK_THAT(list.status().message(), !Catch::Contains(a.secret_key));
  }
  SECTION("a bad key file names the file and line") {
    dir.write("db-02.key", "# db\nnot-a-key\n");
    auto list = Allowlist::load(dir.path().string());
    REQUIRE_FALSE(list);
    CHECK_THAT(list.status().message(), Catch::Contains(dir.file("db-02.key") + ":2:"));
  }
}

TEST_CASE("a missing allowlist is an io error naming the path", "[zap]") {
  TempDir dir;
  auto list = Allowlist::load(dir.file("absent"));
  REQUIRE_FALSE(list);
  CHECK(list.status().code() == "io");
  CHECK_THAT(list.status().message(), Catch::Contains(dir.file("absent")));
}
