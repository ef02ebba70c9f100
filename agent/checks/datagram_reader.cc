#include "agent/checks/datagram_reader.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace reflex::agent {
namespace {

constexpr size_t kBatch = 16;                 // datagrams per recvmmsg call
constexpr size_t kMaxDatagram = 64 * 1024;    // one slot: any UDP payload fits
constexpr size_t kMaxPerDrain = 64 * kBatch;  // then timers and other handles get a turn

std::string errno_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

}  // namespace

// The recvmmsg vectors and their buffers. Slots are 64 KiB so any datagram fits whole,
// but only the pages a datagram is written to ever become resident.
struct DatagramReader::Batch {
  std::unique_ptr<char[]> data{new char[kBatch * kMaxDatagram]};
  std::vector<mmsghdr> headers = std::vector<mmsghdr>(kBatch);
  std::vector<iovec> iov = std::vector<iovec>(kBatch);
  // One SO_RXQ_OVFL control message per slot.
  static constexpr size_t kControl = CMSG_SPACE(sizeof(uint32_t));
  std::vector<char> control = std::vector<char>(kBatch * kControl);

  // Resets every header before a call (the kernel writes lengths and flags into them).
  void prepare() {
    for (size_t i = 0; i < kBatch; ++i) {
      iov[i] = {data.get() + i * kMaxDatagram, kMaxDatagram};
      headers[i] = {};
      headers[i].msg_hdr.msg_iov = &iov[i];
      headers[i].msg_hdr.msg_iovlen = 1;
      headers[i].msg_hdr.msg_control = control.data() + i * kControl;
      headers[i].msg_hdr.msg_controllen = kControl;
    }
  }
};

Result<std::unique_ptr<DatagramReader>> DatagramReader::open(EventLoop& loop, Timers& timers,
                                                             const sockaddr_storage& addr,
                                                             OnDatagram on_datagram,
                                                             DatagramReaderOptions options) {
  const int fd = ::socket(addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::error("io", errno_text("socket"));
  auto fail = [fd](const char* what) {
    Status st = Status::error("io", errno_text(what));
    ::close(fd);
    return st;
  };
  const int one = 1;
  // Before bind, so no datagram arrives into the smaller default buffer. Failure to get
  // it is not fatal: the kernel's default still works, with less room during a pause.
  (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &options.receive_buffer,
                     sizeof(options.receive_buffer));
  if (::setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one)) != 0) {
    return fail("setsockopt(SO_RXQ_OVFL)");
  }
  const socklen_t len = addr.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0) return fail("bind");

  std::unique_ptr<DatagramReader> r(
      new DatagramReader(loop, timers, fd, std::move(on_datagram), options));
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof(bound);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len) == 0) {
    r->port_ =
        ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                          : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  }
  socklen_t int_len = sizeof(r->receive_buffer_);
  (void)::getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &r->receive_buffer_, &int_len);
  r->watch();
  return r;
}

DatagramReader::DatagramReader(EventLoop& loop, Timers& timers, int fd, OnDatagram on_datagram,
                               DatagramReaderOptions options)
    : timers_(timers),
      fd_(fd),
      on_datagram_(std::move(on_datagram)),
      options_(options),
      poll_(new uv_poll_t),
      batch_(std::make_unique<Batch>()) {
  uv_poll_init_socket(loop.raw(), poll_, fd_);
  poll_->data = this;
}

DatagramReader::~DatagramReader() {
  timers_.cancel(pause_timer_);
  uv_poll_stop(poll_);
  poll_->data = nullptr;
  close_and_delete(poll_);  // libuv forgets the fd here, before it is closed
  ::close(fd_);
}

void DatagramReader::watch() {
  uv_poll_start(poll_, UV_READABLE, &DatagramReader::on_readable);
}

void DatagramReader::pause() {
  uv_poll_stop(poll_);
  // Repeating: while every drain finds something, the reader stays on the timer.
  pause_timer_ = timers_.start(options_.pause, options_.pause, [this] { on_pause_over(); });
}

void DatagramReader::on_readable(uv_poll_t* handle, int status, int) {
  auto* self = static_cast<DatagramReader*>(handle->data);
  if (self == nullptr || status < 0) return;
  // At the per-drain bound more is queued: stay watching, so the next turn reads on.
  if (self->drain() < kMaxPerDrain) self->pause();
}

void DatagramReader::on_pause_over() {
  const size_t n = drain();
  if (n > 0 && n < kMaxPerDrain) return;  // still busy: read again after the next pause
  timers_.cancel(pause_timer_);
  pause_timer_ = 0;
  watch();
}

size_t DatagramReader::drain() {
  ++drains_;
  size_t total = 0;
  while (total < kMaxPerDrain) {
    batch_->prepare();
    const int n = ::recvmmsg(fd_, batch_->headers.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;  // EAGAIN: empty; anything else (an ICMP error queued on the socket): next time
    }
    for (int i = 0; i < n; ++i) {
      const mmsghdr& h = batch_->headers[static_cast<size_t>(i)];
      uint64_t dropped = 0;
      for (cmsghdr* c = CMSG_FIRSTHDR(&h.msg_hdr); c != nullptr;
           c = CMSG_NXTHDR(const_cast<msghdr*>(&h.msg_hdr), c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
          uint32_t count = 0;
          std::memcpy(&count, CMSG_DATA(c), sizeof(count));
          dropped = static_cast<uint32_t>(count - overflow_seen_);  // wraps like the kernel's
          overflow_seen_ = count;
        }
      }
      on_datagram_(std::string_view(static_cast<const char*>(h.msg_hdr.msg_iov->iov_base),
                                    std::min<size_t>(h.msg_len, kMaxDatagram)),
                   (h.msg_hdr.msg_flags & MSG_TRUNC) != 0, dropped);
    }
    total += static_cast<size_t>(n);
    if (static_cast<size_t>(n) < kBatch) break;  // took all there was
  }
  return total;
}

}  // namespace reflex::agent
