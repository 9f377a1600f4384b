// A Runtime for tests: a manual clock whose timers run only when the test
// moves it forward (Advance), on the test's own thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <unordered_map>
#include <utility>

#include "common/runtime.h"

namespace warren::testkit {

// The monotonic clock starts at kStartMs, not 0: the node's steady clock
// counts from boot and is in practice never near 0, so a test at 0 would run
// at a time the node does not see, and a start away from 0 fails tests that
// mix up a time and a duration. (That a deadline falling on 0 is still a
// deadline is tested on its own, with SetNowMs(0).) WallSeconds is kWallBase
// at kStartMs, so the stamps written into messages are known.
class ManualRuntime final : public Runtime {
 public:
  static constexpr int64_t kStartMs = 1'000'000;
  static constexpr int64_t kWallBase = 1'700'000'000;

  int64_t NowMs() const override { return now_ms_; }
  int64_t WallSeconds() const override { return kWallBase + (now_ms_ - kStartMs) / 1000; }

  TimerId ScheduleAfter(int64_t delay_ms, std::function<void()> fn) override {
    TimerId id = ++last_id_;
    int64_t deadline = now_ms_ + std::max<int64_t>(0, delay_ms);
    timers_.emplace(std::pair{deadline, id}, std::move(fn));
    deadlines_[id] = deadline;
    return id;
  }

  void Cancel(TimerId id) override {
    auto it = deadlines_.find(id);
    if (it == deadlines_.end()) return;
    timers_.erase(std::pair{it->second, id});
    deadlines_.erase(it);
  }

  // Moves the clock forward by `ms`, running every timer that falls due on
  // the way at its own deadline (ties in scheduling order).
  void Advance(int64_t ms) {
    int64_t until = now_ms_ + ms;
    while (!timers_.empty() && timers_.begin()->first.first <= until) {
      auto it = timers_.begin();
      now_ms_ = std::max(now_ms_, it->first.first);  // SetNowMs may have passed it
      std::function<void()> fn = std::move(it->second);
      deadlines_.erase(it->first.second);
      timers_.erase(it);
      fn();
    }
    now_ms_ = until;
  }

  // Sets the clock without running any timer, as when the loop has not yet
  // got round to a timer that is already due.
  void SetNowMs(int64_t ms) { now_ms_ = ms; }

  size_t pending() const { return timers_.size(); }

 private:
  int64_t now_ms_ = kStartMs;
  TimerId last_id_ = 0;
  std::map<std::pair<int64_t, TimerId>, std::function<void()>> timers_;
  std::unordered_map<TimerId, int64_t> deadlines_;
};

}  // namespace warren::testkit
