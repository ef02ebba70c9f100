// InputAnswerer: sets the answers of committed external input on a thread of its own.
//
// Each answer wakes an HTTP thread that waits for it: a system call and often a context
// switch. With one alert per request at tens of thousands a second that was a third of
// the loop thread's time, and the loop thread is the hub's one serial stage; here the
// wake-ups run beside it. Answers are set in the order they were posted. post() is
// cheap and may be called from any thread; the destructor sets what is still queued.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "hub/correlate.h"

namespace reflex::hub {

class InputAnswerer {
 public:
  using Answer = std::pair<std::shared_ptr<InputAnswer>, Result<InputReceipt>>;

  InputAnswerer();
  ~InputAnswerer();
  InputAnswerer(const InputAnswerer&) = delete;
  InputAnswerer& operator=(const InputAnswerer&) = delete;

  void post(std::vector<Answer> answers);

 private:
  void run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Answer> queue_;  // guarded by mu_
  bool quit_ = false;          // guarded by mu_
  std::thread thread_;
};

}  // namespace reflex::hub
