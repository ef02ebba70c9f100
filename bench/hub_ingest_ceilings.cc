#include "bench/hub_ingest_ceilings.h"

#include <time.h>

#include <atomic>
#include <cstdio>
#include <limits>
#include <span>
#include <string_view>
#include <thread>
#include <zmq.hpp>

#include "bench/hub_ingest_workload.h"
#include "bench/support/hub_process.h"
#include "common/curve_keys.h"
#include "common/sqlite.h"
#include "protocol/codec.h"

namespace reflex::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

double since(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

double thread_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::string fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

}  // namespace

const char* const kSecondaryIndexSql = "CREATE INDEX events_by_type_ts ON events(type, ts_ms)";

const char* const kEventsDdlCopy = R"sql(CREATE TABLE events (
  agent_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  type TEXT NOT NULL,
  ts_ms INTEGER NOT NULL,
  received_ms INTEGER NOT NULL,
  frame BLOB NOT NULL,
  PRIMARY KEY (agent_id, seq)
) STRICT, WITHOUT ROWID)sql";

Result<Rate> zmq_throughput(const std::vector<std::string>& frames, bool curve,
                            const CeilingOptions& opt) {
  if (frames.empty()) return Status::error("bench", "no frames to send");
  try {
    zmq::context_t rx_zmq(1), tx_zmq(1);
    zmq::socket_t router(rx_zmq, zmq::socket_type::router);
    zmq::socket_t dealer(tx_zmq, zmq::socket_type::dealer);
    router.set(zmq::sockopt::linger, 0);
    router.set(zmq::sockopt::rcvtimeo, 100);
    dealer.set(zmq::sockopt::linger, 0);
    dealer.set(zmq::sockopt::sndtimeo, 1000);
    if (curve) {
      auto server = curve::generate();
      auto client = curve::generate();
      if (!server) return server.status();
      if (!client) return client.status();
      router.set(zmq::sockopt::curve_server, 1);
      router.set(zmq::sockopt::curve_secretkey, server->secret_key);
      dealer.set(zmq::sockopt::curve_serverkey, server->public_key);
      dealer.set(zmq::sockopt::curve_publickey, client->public_key);
      dealer.set(zmq::sockopt::curve_secretkey, client->secret_key);
    }
    router.bind("tcp://127.0.0.1:*");
    dealer.connect(router.get(zmq::sockopt::last_endpoint));

    // The receiver runs until it has what the sender reports as sent, or its deadline.
    // Neither thread lets an exception escape, so the receiver is always joined.
    std::atomic<uint64_t> sent_total{std::numeric_limits<uint64_t>::max()};
    Rate rate;
    std::string receive_error;
    const auto deadline = SteadyClock::now() + opt.time_limit + std::chrono::seconds(5);
    std::thread receiver([&] {
      SteadyClock::time_point first, last;
      zmq::message_t identity, payload;
      try {
        while (rate.count < sent_total.load() && SteadyClock::now() < deadline) {
          if (!router.recv(identity)) continue;  // timed out: check the bounds again
          (void)router.recv(payload);            // parts of one message arrive together
          last = SteadyClock::now();
          if (rate.count++ == 0) first = last;
        }
      } catch (const zmq::error_t& e) {
        receive_error = e.what();
      }
      if (rate.count > 1) rate.seconds = std::chrono::duration<double>(last - first).count();
    });

    const auto start = SteadyClock::now();
    uint64_t sent = 0;
    std::string send_error;
    try {
      for (; sent < opt.zmq_frames; ++sent) {
        if ((sent & 1023) == 0 && SteadyClock::now() - start > opt.time_limit) break;
        if (!dealer.send(zmq::buffer(frames[sent % frames.size()]))) break;  // 1 s stalled
      }
    } catch (const zmq::error_t& e) {
      send_error = e.what();
    }
    sent_total = sent;
    receiver.join();
    if (!send_error.empty() || !receive_error.empty()) {
      return Status::error("zmq", "ZeroMQ ceiling: " + send_error + receive_error);
    }
    // The first frame only starts the clock.
    if (rate.count > 0) --rate.count;
    return rate;
  } catch (const zmq::error_t& e) {
    return Status::error("zmq", std::string("ZeroMQ ceiling: ") + e.what());
  }
}

Result<Rate> decode_rate(const std::vector<std::string>& frames, const CeilingOptions& opt) {
  if (frames.empty()) return Status::error("bench", "no frames to decode");
  const auto start = SteadyClock::now();
  const double cpu_start = thread_cpu_seconds();
  uint64_t checksum = 0;
  Rate rate;
  for (; rate.count < opt.decodes; ++rate.count) {
    if ((rate.count & 1023) == 0 && SteadyClock::now() - start > opt.time_limit) break;
    auto env = protocol::decode(frames[rate.count % frames.size()]);
    if (!env) return env.status().with_context("decoding a benchmark frame");
    checksum += env->seq;
  }
  rate.seconds = thread_cpu_seconds() - cpu_start;
  rate.detail = fixed(100.0 * rate.seconds / since(start), 0) + "% of the wall time on a CPU";
  // Keeps the decoded values observable, so no compiler can skip the work.
  if (checksum == 0) return Status::error("bench", "decoded frames carry no sequence numbers");
  return rate;
}

Result<Rate> sqlite_insert_rate(const std::vector<std::string>& frames, bool secondary_index,
                                const CeilingOptions& opt) {
  if (frames.empty() || opt.agents <= 0) return Status::error("bench", "no rows to insert");
  auto dir = ScratchDir::create(opt.work_dir, "reflex-bench-sqlite-");
  if (!dir) return dir.status();
  sqlite::OpenOptions options;
  options.synchronous = sqlite::Synchronous::kFull;  // as hub/sqlite_store.cc opens it
  auto db = sqlite::Database::open((*dir)->file("events.db"), options);
  if (!db) return db.status();
  if (opt.events_schema.empty()) {
    REFLEX_RETURN_IF_ERROR(db->exec(kEventsDdlCopy));
  } else {
    for (const auto& sql : opt.events_schema) REFLEX_RETURN_IF_ERROR(db->exec(sql));
  }
  if (secondary_index) REFLEX_RETURN_IF_ERROR(db->exec(kSecondaryIndexSql));
  auto insert = db->prepare(
      "INSERT INTO events (agent_id, seq, type, ts_ms, received_ms, frame) "
      "VALUES (?, ?, ?, ?, ?, ?)");
  if (!insert) return insert.status();
  std::vector<std::string> ids;
  for (int i = 0; i < opt.agents; ++i) ids.push_back(agent_id(i));

  // Rows arrive as in a group commit: the agents' sequences interleaved.
  const auto agents = static_cast<uint64_t>(opt.agents);
  const int64_t ts0 = 1'700'000'000'000;
  const auto start = SteadyClock::now();
  const double cpu_start = thread_cpu_seconds();
  double in_commit = 0;
  uint64_t transactions = 0;
  Rate rate;
  while (rate.count < opt.rows && SteadyClock::now() - start < opt.time_limit) {
    auto tx = sqlite::Transaction::begin(*db);
    if (!tx) return tx.status();
    for (uint64_t j = 0; j < opt.rows_per_commit && rate.count < opt.rows; ++j, ++rate.count) {
      const uint64_t i = rate.count;
      const std::string& frame = frames[i % frames.size()];
      const auto seq = static_cast<int64_t>(i / agents + 1);
      REFLEX_RETURN_IF_ERROR(insert->bind_all(
          ids[i % agents], seq, std::string_view("metrics"), ts0 + seq, ts0 + seq + 1,
          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(frame.data()), frame.size())));
      REFLEX_RETURN_IF_ERROR(insert->run());
    }
    const auto commit_start = SteadyClock::now();
    REFLEX_RETURN_IF_ERROR(tx->commit());
    in_commit += since(commit_start);
    ++transactions;
  }
  rate.seconds = since(start);
  if (transactions > 0) {
    rate.detail =
        fixed(1000.0 * rate.seconds / static_cast<double>(transactions), 1) +
        " ms per transaction, " + fixed(100.0 * in_commit / rate.seconds, 0) +
        "% of it in COMMIT, " +
        fixed(1e6 * (thread_cpu_seconds() - cpu_start) / static_cast<double>(rate.count), 1) +
        " us of CPU per row";
  }
  return rate;
}

}  // namespace reflex::bench
