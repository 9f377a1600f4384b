// Runtime (clock + timers) on an Asio io_context. Single-threaded: every call
// and every callback happens on the thread running the io_context.
#pragma once

#include <memory>
#include <unordered_map>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "common/runtime.h"

namespace warren::net {

class AsioRuntime : public Runtime {
 public:
  explicit AsioRuntime(asio::io_context& io) : io_(io) {}
  int64_t NowMs() const override;
  int64_t NowUs() const override;
  int64_t WallSeconds() const override;
  TimerId ScheduleAfter(int64_t delay_ms, std::function<void()> fn) override;
  void Cancel(TimerId id) override;
  size_t pending() const { return timers_.size(); }

 private:
  asio::io_context& io_;
  std::unordered_map<TimerId, std::unique_ptr<asio::steady_timer>> timers_;
  TimerId next_id_ = 0;
};

}  // namespace warren::net
