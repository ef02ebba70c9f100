#include "tests/support/fake_vendor.h"

#include <strings.h>

#include <stdexcept>

#include "tests/support/process.h"

namespace reflex::testing {

using nlohmann::json;

std::string FakeVendorServer::Request::header(const std::string& name) const {
  auto it = headers.find(name);  // httplib::Headers compares names case-insensitively
  return it == headers.end() ? "" : it->second;
}

FakeVendorServer::FakeVendorServer(std::string name, Handler handler, int port)
    : name_(std::move(name)), handler_(std::move(handler)) {
  start(port);
}

FakeVendorServer::~FakeVendorServer() {
  down();
}

std::string FakeVendorServer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void FakeVendorServer::start(int port) {
  server_ = std::make_unique<httplib::Server>();
  server_->new_task_queue = [] { return new httplib::ThreadPool(8); };
  server_->set_keep_alive_max_count(1);
  auto handler = [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); };
  const std::string all = R"(/.*)";
  server_->Get(all, handler);
  server_->Post(all, handler);
  server_->Put(all, handler);
  server_->Patch(all, handler);
  server_->Delete(all, handler);
  if (port == 0) {
    port_ = server_->bind_to_any_port("127.0.0.1");
  } else {
    port_ = server_->bind_to_port("127.0.0.1", port) ? port : -1;
  }
  if (port_ <= 0) throw std::runtime_error(name_ + ": cannot bind 127.0.0.1");
  thread_ = std::thread([server = server_.get()] { server->listen_after_bind(); });
  if (!wait_until([this] { return server_->is_running(); })) {
    throw std::runtime_error(name_ + ": did not start");
  }
}

void FakeVendorServer::down() {
  if (!server_) return;
  {
    std::lock_guard lock(mu_);
    releasing_ = true;  // held answers are dropped, so their threads can end
  }
  cv_.notify_all();
  server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

void FakeVendorServer::up() {
  if (server_) return;
  {
    std::lock_guard lock(mu_);
    releasing_ = false;
  }
  start(port_);
}

void FakeVendorServer::lose_next_answer(Pick which) {
  std::lock_guard lock(mu_);
  lose_ = std::move(which);
}

size_t FakeVendorServer::held_answers() const {
  std::lock_guard lock(mu_);
  return held_;
}

void FakeVendorServer::fail_next(int n, Fault fault) {
  std::lock_guard lock(mu_);
  for (int i = 0; i < n; ++i) faults_.push_back(fault);
}

std::vector<FakeVendorServer::Received> FakeVendorServer::received() const {
  std::lock_guard lock(mu_);
  return received_;
}

bool FakeVendorServer::wait_received(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return received_.size() >= n; });
}

void FakeVendorServer::handle(const httplib::Request& req, httplib::Response& res) {
  Received r;
  r.request.method = req.method;
  r.request.path = req.path;
  r.request.target = req.target;
  r.request.params = req.params;
  r.request.headers = req.headers;
  r.request.raw_body = req.body;
  r.request.body = json::parse(req.body, nullptr, false);
  if (r.request.body.is_discarded()) r.request.body = nullptr;

  std::unique_lock lock(mu_);
  bool lose = false;
  if (!faults_.empty()) {
    Fault f = faults_.front();
    faults_.pop_front();
    for (const auto& [k, v] : f.headers) res.set_header(k, v);
    res.status = f.status;
    res.set_content(f.body, "application/json");
    r.status = f.status;
    r.answer = json::parse(f.body, nullptr, false);
    if (r.answer.is_discarded()) r.answer = nullptr;
  } else {
    Answer a = handler_(r.request);
    lose = lose_ && lose_(r.request, a);
    if (lose) lose_ = nullptr;
    std::string type = "text/html;charset=utf-8";  // of a string body, unless the answer says
    for (const auto& [k, v] : a.headers) {
      if (strcasecmp(k.c_str(), "Content-Type") == 0) {
        type = v;
      } else {
        res.set_header(k, v);
      }
    }
    res.status = a.status;
    if (a.body.is_string()) {
      res.set_content(a.body.get<std::string>(), type);
    } else if (!a.body.is_null()) {
      res.set_content(a.body.dump(), "application/json");
    }
    r.status = lose ? 0 : a.status;
    r.answer = std::move(a.body);
  }
  received_.push_back(std::move(r));
  cv_.notify_all();
  if (!lose) return;
  // Applied; the answer is held back until the server goes down, then the connection is
  // closed in the middle of the response.
  ++held_;
  cv_.wait(lock, [this] { return releasing_; });
  --held_;
  const size_t length = res.body.empty() ? 1 : res.body.size();
  res.body.clear();  // a body set would be sent instead of the provider
  res.set_content_provider(length, res.get_header_value("Content-Type"),
                           [](size_t, size_t, httplib::DataSink&) { return false; });
}

}  // namespace reflex::testing
