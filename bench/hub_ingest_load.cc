#include "bench/hub_ingest_load.h"

#include <unistd.h>

#include <httplib.h>
#include <algorithm>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <vector>
#include <zmq.hpp>

#include "bench/hub_ingest_workload.h"
#include "bench/support/hub_process.h"
#include "bench/support/proc_stats.h"
#include "bench/support/stats.h"
#include "common/curve_keys.h"
#include "common/sqlite.h"
#include "protocol/codec.h"

namespace reflex::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr uint32_t kHeartbeatMs = 5000;
constexpr int64_t kRssSampleEveryNs = 100'000'000;
constexpr int kMaxRepliesPerDrain = 10'000;
constexpr milliseconds kSetupLimit{20'000};
constexpr milliseconds kPollTimeout{100};

int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch())
      .count();
}

uint64_t wall_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

// One simulated agent: its socket, its sequence marks and when each in-flight event left.
struct SimAgent {
  SimAgent(zmq::context_t& zmq, int index, uint32_t window)
      : index(index), socket(zmq, zmq::socket_type::dealer), events(index), window(window) {
    size_t ring = 1;
    while (ring < window) ring <<= 1;
    sent_at_ns.assign(ring, 0);
  }

  int index;
  zmq::socket_t socket;
  AgentEvents events;
  uint32_t window;
  uint64_t target = 0;  // events to send
  uint64_t sent = 0;    // highest sequence sent
  uint64_t acked = 0;   // highest sequence acknowledged
  bool registered = false;
  std::vector<int64_t> sent_at_ns;  // by seq & (size - 1); in flight <= window <= size
  int64_t next_heartbeat_ns = 0;
};

struct HubCounters {
  double commits = 0;
  double commit_seconds = 0;
};

Result<HubCounters> scrape_hub(int http_port) {
  httplib::Client client("127.0.0.1", http_port);
  client.set_connection_timeout(5);
  client.set_read_timeout(5);
  auto res = client.Get("/metrics");
  if (!res || res->status != 200) {
    return Status::error("hub", "GET /metrics on port " + std::to_string(http_port) + " failed");
  }
  HubCounters out;
  std::istringstream in(res->body);
  std::string line;
  while (std::getline(in, line)) {
    const auto space = line.find(' ');
    if (line.empty() || line[0] == '#' || space == std::string::npos) continue;
    const std::string name = line.substr(0, space);
    const double value = std::strtod(line.c_str() + space + 1, nullptr);
    if (name == "reflex_hub_store_commit_seconds_sum") out.commit_seconds = value;
    if (name == "reflex_hub_store_commit_seconds_count") out.commits = value;
  }
  return out;
}

// The commit counters of every target that serves them, summed.
Result<HubCounters> scrape_hubs(const std::vector<LoadTarget>& targets) {
  HubCounters sum;
  for (const auto& t : targets) {
    if (!t.metrics) continue;
    auto one = scrape_hub(t.http_port);
    if (!one) return one.status();
    sum.commits += one->commits;
    sum.commit_seconds += one->commit_seconds;
  }
  return sum;
}

// Per thread name, over every target; a name found in several hubs is summed.
std::map<std::string, ThreadTime> hubs_thread_times(const std::vector<LoadTarget>& targets) {
  std::map<std::string, ThreadTime> sum;
  for (const auto& t : targets) {
    for (const auto& [name, time] : thread_times(t.pid)) {
      sum[name].on_cpu_s += time.on_cpu_s;
      sum[name].waiting_s += time.waiting_s;
    }
  }
  return sum;
}

Memory hubs_memory(const std::vector<LoadTarget>& targets) {
  Memory most;
  for (const auto& t : targets) {
    const Memory m = read_memory(t.pid);
    most.rss_kb = std::max(most.rss_kb, m.rss_kb);
    most.peak_kb = std::max(most.peak_kb, m.peak_kb);
  }
  return most;
}

// What the stopped hub's store holds: the number of events and the schema of their table.
Status read_store(const std::string& db_path, LoadResult& result) {
  auto db = sqlite::Database::open(db_path);
  if (!db) return db.status();
  auto count = db->prepare("SELECT count(*) FROM events");
  if (!count) return count.status();
  auto row = count->step();
  if (!row) return row.status();
  result.stored = static_cast<uint64_t>(count->column_int64(0));
  // The table first, then its indexes; automatic indexes have no SQL.
  auto schema = db->prepare(
      "SELECT sql FROM sqlite_master WHERE tbl_name = 'events' AND sql IS NOT NULL "
      "ORDER BY type = 'table' DESC, name");
  if (!schema) return schema.status();
  for (;;) {
    auto next = schema->step();
    if (!next) return next.status();
    if (!*next) break;
    result.events_schema.push_back(schema->column_text(0));
  }
  return Status::ok();
}

// hub.yaml for one hub on SQLite in `dir`, with the fleet's keys.
Status write_sqlite_hub_config(const ScratchDir& dir, const Fleet& fleet) {
  return dir.write("hub.yaml",
                   "listen: tcp://127.0.0.1:0\n"
                   "http: 127.0.0.1:0\n"
                   "store: {path: " +
                       dir.file("hub.db") + "}\n" + fleet.security_yaml() + "\n");
}

// The replies of one agent's socket: acknowledgements advance its marks and yield one
// latency sample per newly acknowledged event; error frames are counted.
class ReplyReader {
 public:
  ReplyReader(LoadResult& result, std::vector<uint32_t>& latencies_us)
      : result_(result), latencies_us_(latencies_us) {}

  // Reads what is queued on `agent`'s socket, at most kMaxRepliesPerDrain frames.
  void drain(SimAgent& agent) {
    for (int n = 0; n < kMaxRepliesPerDrain; ++n) {
      zmq::message_t msg;
      if (!agent.socket.recv(msg, zmq::recv_flags::dontwait)) return;
      auto env = protocol::decode(msg.to_string_view());
      if (!env) {
        note_error(agent, "undecodable reply: " + env.status().to_string());
        continue;
      }
      if (const auto* err = std::get_if<protocol::Error>(&env->body)) {
        note_error(agent, err->code + ": " + err->message);
      } else if (const auto* ack = std::get_if<protocol::Ack>(&env->body)) {
        on_ack(agent, *ack);
      }
    }
  }

  int64_t last_ack_ns() const { return last_ack_ns_; }

 private:
  void on_ack(SimAgent& agent, const protocol::Ack& ack) {
    if (ack.proto != 0) agent.registered = true;
    if (ack.window != 0) {
      agent.window = std::min<uint32_t>(ack.window, static_cast<uint32_t>(agent.sent_at_ns.size()));
    }
    const uint64_t upto = std::min(ack.upto, agent.sent);
    if (upto <= agent.acked) return;
    const int64_t now = mono_ns();
    const uint64_t mask = agent.sent_at_ns.size() - 1;
    for (uint64_t s = agent.acked + 1; s <= upto; ++s) {
      latencies_us_.push_back(static_cast<uint32_t>((now - agent.sent_at_ns[s & mask]) / 1000));
    }
    result_.acked += upto - agent.acked;
    agent.acked = upto;
    last_ack_ns_ = now;
  }

  void note_error(const SimAgent& agent, const std::string& what) {
    if (result_.errors++ == 0) result_.first_error = agent_id(agent.index) + ": " + what;
  }

  LoadResult& result_;
  std::vector<uint32_t>& latencies_us_;
  int64_t last_ack_ns_ = 0;
};

void send_or_count(SimAgent& agent, const std::string& frame, LoadResult& result) {
  if (!agent.socket.send(zmq::buffer(frame), zmq::send_flags::dontwait)) {
    if (result.errors++ == 0) result.first_error = agent_id(agent.index) + ": send queue full";
  }
}

// Sends what the agent's window allows; returns the bytes sent.
uint64_t fill_window(SimAgent& agent, std::string& buf, uint64_t ts_ms) {
  uint64_t bytes = 0;
  const uint64_t mask = agent.sent_at_ns.size() - 1;
  while (agent.sent < agent.target && agent.sent - agent.acked < agent.window) {
    const uint64_t seq = agent.sent + 1;
    buf.clear();
    agent.events.encode_into(seq, ts_ms, buf);
    if (!agent.socket.send(zmq::buffer(buf), zmq::send_flags::dontwait)) break;
    agent.sent_at_ns[seq & mask] = mono_ns();
    agent.sent = seq;
    bytes += buf.size();
  }
  return bytes;
}

// Sockets configured as reflex-agent's uplink configures its own, agent i connected to
// targets[i % targets.size()].
std::vector<std::unique_ptr<SimAgent>> connect_agents(zmq::context_t& zmq, const LoadOptions& opt,
                                                      const Fleet& fleet,
                                                      const std::vector<LoadTarget>& targets) {
  std::vector<std::unique_ptr<SimAgent>> agents;
  const auto n = static_cast<uint64_t>(opt.agents);
  const auto& keys = fleet.agent_keys;
  for (int i = 0; i < opt.agents; ++i) {
    auto a = std::make_unique<SimAgent>(zmq, i, opt.window);
    a->target = opt.events / n + (static_cast<uint64_t>(i) < opt.events % n ? 1 : 0);
    a->socket.set(zmq::sockopt::linger, 0);
    a->socket.set(zmq::sockopt::immediate, 1);
    a->socket.set(zmq::sockopt::sndhwm, static_cast<int>(opt.window) + 100);
    a->socket.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(protocol::kDefaultMaxFrameBytes));
    a->socket.set(zmq::sockopt::curve_serverkey, fleet.hub_public_key);
    a->socket.set(zmq::sockopt::curve_publickey, keys[static_cast<size_t>(i)].public_key);
    a->socket.set(zmq::sockopt::curve_secretkey, keys[static_cast<size_t>(i)].secret_key);
    a->socket.connect(targets[static_cast<size_t>(i) % targets.size()].endpoint);
    agents.push_back(std::move(a));
  }
  return agents;
}

void drain_readable(std::vector<std::unique_ptr<SimAgent>>& agents,
                    const std::vector<zmq::pollitem_t>& items, ReplyReader& replies) {
  for (size_t i = 0; i < agents.size(); ++i) {
    if (items[i].revents & ZMQ_POLLIN) replies.drain(*agents[i]);
  }
}

// Hellos until every agent has its answer. With `immediate` a hello sent before the
// handshake completes is refused locally, so it is retried; an unanswered one too.
Status register_agents(std::vector<std::unique_ptr<SimAgent>>& agents,
                       std::vector<zmq::pollitem_t>& items, ReplyReader& replies,
                       const LoadResult& result) {
  const int64_t give_up = mono_ns() + kSetupLimit.count() * 1'000'000;
  std::vector<int64_t> hello_sent(agents.size(), 0);
  for (;;) {
    const int64_t now = mono_ns();
    size_t waiting = 0;
    for (size_t i = 0; i < agents.size(); ++i) {
      SimAgent& a = *agents[i];
      if (a.registered) continue;
      ++waiting;
      if (now - hello_sent[i] > 1'000'000'000) {
        const std::string frame = protocol::encode(hello(a.index, wall_ms(), kHeartbeatMs));
        if (a.socket.send(zmq::buffer(frame), zmq::send_flags::dontwait)) hello_sent[i] = now;
      }
    }
    if (waiting == 0) return Status::ok();
    if (now > give_up) {
      return Status::error("bench",
                           std::to_string(waiting) + " of " + std::to_string(agents.size()) +
                               " agents got no answer to hello within " +
                               std::to_string(kSetupLimit.count()) + " ms" +
                               (result.first_error.empty() ? "" : "; " + result.first_error));
    }
    zmq::poll(items, milliseconds(20));
    drain_readable(agents, items, replies);
  }
}

// Every agent keeps its window full and acks open it again, until all is acknowledged,
// or sending stops at the time limit and the drain limit passes. Returns bytes sent.
uint64_t stream(std::vector<std::unique_ptr<SimAgent>>& agents, std::vector<zmq::pollitem_t>& items,
                ReplyReader& replies, const LoadOptions& opt,
                const std::vector<LoadTarget>& targets, int64_t start, LoadResult& result) {
  const int64_t send_end = start + opt.time_limit.count() * 1'000'000;
  const int64_t hard_end = send_end + opt.drain_limit.count() * 1'000'000;
  int64_t next_rss_sample = start;
  uint64_t bytes = 0;
  std::string buf;
  for (int64_t now = start; now < hard_end; now = mono_ns()) {
    const bool sending = now < send_end;
    const uint64_t ts = wall_ms();
    uint64_t outstanding = 0;
    for (auto& a : agents) {
      if (sending) bytes += fill_window(*a, buf, ts);
      outstanding += (sending ? a->target : a->sent) - a->acked;
      if (now >= a->next_heartbeat_ns) {
        a->next_heartbeat_ns = now + int64_t{kHeartbeatMs} * 1'000'000;
        const auto uptime = static_cast<uint64_t>((now - start) / 1'000'000);
        send_or_count(*a, protocol::encode(heartbeat(a->index, ts, uptime, a->target - a->acked)),
                      result);
      }
    }
    if (!sending && outstanding > 0) result.time_limited = true;
    if (outstanding == 0) break;
    if (now >= next_rss_sample) {
      next_rss_sample = now + kRssSampleEveryNs;
      result.hub_sampled_rss_kb = std::max(result.hub_sampled_rss_kb, hubs_memory(targets).rss_kb);
    }
    zmq::poll(items, kPollTimeout);
    drain_readable(agents, items, replies);
  }
  return bytes;
}

}  // namespace

std::string Fleet::security_yaml() const {
  return "security: {secret_key_file: " + hub_secret_key_file + ", allowlist: " + allowlist_file +
         "}";
}

Result<Fleet> write_fleet(const ScratchDir& dir, int agents) {
  Fleet fleet;
  auto hub_keys = curve::generate();
  if (!hub_keys) return hub_keys.status();
  REFLEX_RETURN_IF_ERROR(curve::write_keypair(dir.file("hub"), *hub_keys, "benchmark hub", false));
  fleet.hub_public_key = hub_keys->public_key;
  fleet.hub_secret_key_file = curve::secret_key_path(dir.file("hub"));
  std::string allowlist = "# benchmark agents\n";
  for (int i = 0; i < agents; ++i) {
    auto k = curve::generate();
    if (!k) return k.status();
    allowlist += agent_id(i) + " " + k->public_key + "\n";
    fleet.agent_keys.push_back(std::move(k).value());
  }
  REFLEX_RETURN_IF_ERROR(dir.write("allowlist", allowlist));
  fleet.allowlist_file = dir.file("allowlist");
  return fleet;
}

Status drive_load(const LoadOptions& opt, const Fleet& fleet,
                  const std::vector<LoadTarget>& targets, LoadResult& result) {
  if (targets.empty()) return Status::error("bench", "no hub to send the load to");
  if (fleet.agent_keys.size() < static_cast<size_t>(opt.agents)) {
    return Status::error("bench", "the fleet has fewer keys than agents");
  }
  try {
    zmq::context_t zmq(opt.io_threads);
    auto agents = connect_agents(zmq, opt, fleet, targets);
    std::vector<zmq::pollitem_t> items;
    for (auto& a : agents) items.push_back({a->socket.handle(), 0, ZMQ_POLLIN, 0});
    std::vector<uint32_t> latencies_us;
    latencies_us.reserve(opt.events);
    ReplyReader replies(result, latencies_us);
    REFLEX_RETURN_IF_ERROR(register_agents(agents, items, replies, result));

    // Setup is over: from here on everything counts.
    auto counters_before = scrape_hubs(targets);
    if (!counters_before) return counters_before.status();
    const auto hub_threads_before = hubs_thread_times(targets);
    const auto load_threads_before = thread_times(::getpid());
    const int64_t start = mono_ns();
    const uint64_t bytes = stream(agents, items, replies, opt, targets, start, result);
    result.profile_seconds = static_cast<double>(mono_ns() - start) / 1e9;
    result.hub_threads = time_delta(hub_threads_before, hubs_thread_times(targets));
    result.load_threads = time_delta(load_threads_before, thread_times(::getpid()));
    const Memory mem = hubs_memory(targets);
    result.hub_peak_rss_kb = mem.peak_kb;
    result.hub_sampled_rss_kb = std::max(result.hub_sampled_rss_kb, mem.rss_kb);
    auto counters_after = scrape_hubs(targets);
    if (!counters_after) return counters_after.status();
    result.commits = counters_after->commits - counters_before->commits;
    result.commit_seconds = counters_after->commit_seconds - counters_before->commit_seconds;

    for (const auto& a : agents) result.sent += a->sent;
    const int64_t end = replies.last_ack_ns() > 0 ? replies.last_ack_ns() : mono_ns();
    result.seconds = static_cast<double>(end - start) / 1e9;
    result.events_per_second =
        result.seconds > 0 ? static_cast<double>(result.acked) / result.seconds : 0;
    result.frame_bytes =
        result.sent ? static_cast<double>(bytes) / static_cast<double>(result.sent) : 0;
    result.ack_p50_ms = percentile(latencies_us, 0.50) / 1000.0;
    result.ack_p99_ms = percentile(latencies_us, 0.99) / 1000.0;
    result.ack_max_ms = percentile(latencies_us, 1.0) / 1000.0;
  } catch (const zmq::error_t& e) {
    return Status::error("zmq", std::string("load generator: ") + e.what());
  }
  return Status::ok();
}

Result<LoadResult> run_load(const LoadOptions& opt) {
  LoadResult result;
  auto dir = ScratchDir::create(opt.work_dir, "reflex-bench-hub-");
  if (!dir) return dir.status();
  if (opt.keep_dir) {
    (*dir)->keep();
    result.scratch_dir = (*dir)->path().string();
  }
  auto fleet = write_fleet(**dir, opt.agents);
  if (!fleet) return fleet.status();
  REFLEX_RETURN_IF_ERROR(write_sqlite_hub_config(**dir, *fleet));
  auto started = HubProcess::start(opt.hub_binary, (*dir)->file("hub.yaml"),
                                   (*dir)->path().string(), (*dir)->file("hub.log"), kSetupLimit);
  if (!started) return started.status();
  HubProcess& hub = **started;
  const LoadTarget target{hub.ingest_endpoint(), hub.pid(), hub.http_port()};
  REFLEX_RETURN_IF_ERROR(drive_load(opt, *fleet, {target}, result));

  REFLEX_RETURN_IF_ERROR(hub.stop(milliseconds(30'000)));
  REFLEX_RETURN_IF_ERROR(
      read_store((*dir)->file("hub.db"), result).with_context("reading the hub's store"));
  return result;
}

}  // namespace reflex::bench
