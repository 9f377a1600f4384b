// Waiting, from another thread, for work posted to an event loop that may
// stop before it runs it (a node shutting down): the future is checked every
// 100 ms against `stopped`, so the waiter never hangs on a loop that is gone.
#pragma once

#include <chrono>
#include <functional>
#include <future>

namespace warren {

// True once `result` is ready; false if `stopped` says the loop stopped first.
template <class T>
bool AwaitUnlessStopped(std::future<T>& result, const std::function<bool()>& stopped) {
  while (result.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready)
    if (stopped()) return false;
  return true;
}

}  // namespace warren
