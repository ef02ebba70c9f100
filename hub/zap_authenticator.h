// Who may talk to the hub: the ZAP (ZeroMQ RFC 27) handler for the ingest socket.
//
// libzmq asks the handler about every handshake; a CURVE peer is admitted only if its
// public key is enrolled, and it is then labelled with its agent id (the ZAP User-Id,
// readable on each message it sends) so the ingest can check the id claimed in `hello`.
//
// Allowlist format, either of:
//  - a FILE of lines "AGENT_ID PUBLIC_KEY_Z85" separated by spaces or tabs; blank lines
//    and lines whose first non-blank character is '#' are ignored (no trailing comments:
//    '#' is a Z85 digit);
//  - a DIRECTORY of AGENT_ID.key public key files as `reflexctl keygen` writes them (see
//    common/curve_keys.h); other files and names starting with '.' are ignored, except
//    that a *.key_secret file is an error: secret keys never belong on the hub.
// Agent ids are letters, digits, '.', '_', '-' (starting with a letter or digit, at most
// 128), as in the agent config. A key enrolled twice or an agent id enrolled twice is an
// error. Every problem is reported at once, each naming the file and line.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <zmq.hpp>

#include "common/clock.h"
#include "common/loop.h"
#include "common/metrics.h"
#include "common/status.h"
#include "hub/config.h"

namespace reflex::hub {

// Enrolled agents: public key (Z85) -> agent id. An immutable value once loaded.
class Allowlist {
 public:
  // A file or a directory, in the formats above.
  static Result<Allowlist> load(const std::string& path);
  // The file format from `text`; `file` names it in errors.
  static Result<Allowlist> parse(std::string_view text, const std::string& file);

  // The agent enrolled with `public_key_z85`, or nullptr.
  const std::string* agent_for(const std::string& public_key_z85) const;
  size_t size() const { return by_key_.size(); }

 private:
  static Result<Allowlist> load_directory(const std::string& dir);

  std::map<std::string, std::string> by_key_;
};

// What to do with NULL-mechanism (plaintext, unauthenticated) peers. Only reachable on a
// socket without curve_server; a CURVE socket refuses NULL peers before ZAP is asked.
enum class PlaintextPolicy {
  kLoopbackOnly,  // admit from 127.0.0.0/8 and ::1 only (local testing, a local agent)
  kAllowAll,      // insecure: anyone who can reach the port; the hub warns at start-up
};

// The parts of a ZAP request a decision needs.
struct ZapRequest {
  std::string domain;
  std::string address;     // peer IP as libzmq reports it ("127.0.0.1", "::1", ...)
  std::string mechanism;   // "NULL", "PLAIN" or "CURVE"
  std::string public_key;  // CURVE only: the client's key in Z85
};

struct ZapDecision {
  bool accept = false;
  std::string user_id;  // the agent id for CURVE; empty for plaintext peers
  std::string reason;   // why it was refused (for the hub's log; never sent to the peer)
};

// A refused handshake, reported to the hub for its metrics and its rate-limited log.
struct Refusal {
  std::string address;
  std::string mechanism;
  std::string public_key;  // Z85, CURVE only: what an operator would enrol
  std::string reason;
};

// The admission rule, a pure function of the request and the configuration.
ZapDecision decide(const ZapRequest& request, const Allowlist& allowlist, PlaintextPolicy policy);
// True for 127.0.0.0/8, ::1 and IPv4-mapped 127.x (::ffff:127.0.0.1).
bool is_loopback_address(const std::string& address);

// Answers libzmq's ZAP requests on the hub's loop. Loop thread only.
//
// Ordering matters, because libzmq 4.3 without ZMQ_ZAP_ENFORCE_DOMAIN (a draft option,
// not in Debian's build) lets every CURVE client in when no handler is bound:
//  - start() must succeed before the CURVE server socket binds;
//  - the server socket must be closed before this object is destroyed;
//  - the server socket must set zap_domain to kDomain (other domains are refused).
// One per zmq::context_t: the ZAP endpoint is a fixed inproc name.
class ZapAuthenticator {
 public:
  static constexpr const char* kDomain = "reflex-ingest";
  static constexpr const char* kEndpoint = "inproc://zeromq.zap.01";

  // `loop` and `zmq` must outlive this object. Until load() succeeds the allowlist is
  // empty and every CURVE peer is refused.
  ZapAuthenticator(EventLoop& loop, zmq::context_t& zmq, PlaintextPolicy policy);
  ~ZapAuthenticator();
  ZapAuthenticator(const ZapAuthenticator&) = delete;
  ZapAuthenticator& operator=(const ZapAuthenticator&) = delete;

  // Binds the ZAP endpoint; fails if another handler holds it in this context.
  Status start();

  // Validates the whole allowlist at `path` and swaps it in only if it is valid; on error
  // the previous list stays in force. Start-up and SIGHUP reload both call this. Peers
  // already connected are not re-checked; the new list applies to the next handshake.
  Status load(const std::string& path);

  // Called on the loop thread after each refusal has been answered. Must not destroy
  // this object. Optional.
  void on_refused(std::function<void(const Refusal&)> fn) { on_refused_ = std::move(fn); }

  size_t accepted() const { return accepted_; }
  size_t refused() const { return refused_; }
  size_t enrolled() const { return allowlist_.size(); }

  // The ZAP User-Id of a received message: the enrolled agent id of a CURVE peer; empty
  // when the peer is plaintext or the socket has no ZAP.
  static std::string user_id(const zmq::message_t& msg);

 private:
  void on_readable();

  PlaintextPolicy policy_;
  Allowlist allowlist_;
  zmq::socket_t socket_;
  EventLoop& loop_;
  std::unique_ptr<ZmqWatcher> watcher_;
  std::function<void(const Refusal&)> on_refused_;
  size_t accepted_ = 0;
  size_t refused_ = 0;
};

// The guard of a hub's agent port under `security`, started: CurveZMQ with the allowlist
// (`secret_key` is set to the hub's secret key), or plaintext from loopback only, or from
// anywhere with insecure_plaintext (`secret_key` is left empty), each said in the log.
// Refusals are counted in `refused` and logged at most every 10 s.
Result<std::unique_ptr<ZapAuthenticator>> start_agent_guard(EventLoop& loop, zmq::context_t& zmq,
                                                            const Clock& clock,
                                                            const SecurityConfig& security,
                                                            metrics::Counter& refused,
                                                            std::string& secret_key);

}  // namespace reflex::hub
