// Time and timers as the broker model sees them. The node implements this on
// its Asio event loop; unit tests use a manual clock. Everything that calls a
// Runtime does so on the loop that owns it, and callbacks run on that loop.
#pragma once

#include <cstdint>
#include <functional>

namespace warren {

using TimerId = uint64_t;

class Runtime {
 public:
  virtual ~Runtime() = default;
  // Monotonic milliseconds, for TTLs and expiry.
  virtual int64_t NowMs() const = 0;
  // Monotonic microseconds, where a finer clock than NowMs is worth having.
  virtual int64_t NowUs() const { return NowMs() * 1000; }
  // Wall-clock seconds since the epoch, for timestamps written into messages.
  virtual int64_t WallSeconds() const = 0;
  // Runs fn once after delay_ms (0: on the next loop iteration).
  virtual TimerId ScheduleAfter(int64_t delay_ms, std::function<void()> fn) = 0;
  // Cancelling an id that already fired or was cancelled is a no-op.
  virtual void Cancel(TimerId id) = 0;
};

}  // namespace warren
