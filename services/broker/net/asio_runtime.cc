#include "broker/net/asio_runtime.h"

#include <chrono>

#include <asio/post.hpp>

namespace warren::net {

int64_t AsioRuntime::NowMs() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

int64_t AsioRuntime::NowUs() const {
  using namespace std::chrono;
  return duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count();
}

int64_t AsioRuntime::WallSeconds() const {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

TimerId AsioRuntime::ScheduleAfter(int64_t delay_ms, std::function<void()> fn) {
  TimerId id = ++next_id_;
  if (delay_ms <= 0) {
    // Posted, not a timer: a timer due now still costs the loop a round
    // through the kernel's timer and epoll before it runs. The entry (no
    // timer) is what Cancel removes.
    timers_.emplace(id, nullptr);
    asio::post(io_, [this, id, fn = std::move(fn)] {
      if (timers_.erase(id) == 0) return;  // cancelled
      fn();
    });
    return id;
  }
  auto timer = std::make_unique<asio::steady_timer>(io_);
  timer->expires_after(std::chrono::milliseconds(delay_ms));
  timer->async_wait([this, id, fn = std::move(fn)](const std::error_code& ec) {
    auto it = timers_.find(id);
    if (ec || it == timers_.end()) return;  // cancelled
    auto done = std::move(it->second);
    timers_.erase(it);
    fn();
  });
  timers_.emplace(id, std::move(timer));
  return id;
}

void AsioRuntime::Cancel(TimerId id) {
  if (id == 0) return;
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  if (it->second) it->second->cancel();
  timers_.erase(it);
}

}  // namespace warren::net
