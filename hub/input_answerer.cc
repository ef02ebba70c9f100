#include "hub/input_answerer.h"

#include <pthread.h>

namespace reflex::hub {

InputAnswerer::InputAnswerer() : thread_([this] { run(); }) {}

InputAnswerer::~InputAnswerer() {
  {
    std::lock_guard lock(mu_);
    quit_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void InputAnswerer::post(std::vector<Answer> answers) {
  if (answers.empty()) return;
  {
    std::lock_guard lock(mu_);
    if (queue_.empty()) {
      queue_ = std::move(answers);
    } else {
      for (auto& a : answers) queue_.push_back(std::move(a));
    }
  }
  cv_.notify_one();
}

void InputAnswerer::run() {
  pthread_setname_np(pthread_self(), "answers");
  for (;;) {
    std::vector<Answer> batch;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return quit_ || !queue_.empty(); });
      if (queue_.empty()) return;  // quit_, and nothing left to answer
      batch.swap(queue_);
    }
    for (auto& [answer, value] : batch) answer->set_value(std::move(value));
  }
}

}  // namespace reflex::hub
