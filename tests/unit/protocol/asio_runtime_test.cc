// The node's Runtime on Asio: timers due now are posted to the loop, and a
// cancelled one never runs, whatever its delay.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include "broker/net/asio_runtime.h"

namespace warren::net {
namespace {

TEST(AsioRuntimeTest, ADueNowCallbackRunsOnceAfterWhatTheLoopAlreadyHad) {
  asio::io_context io;
  AsioRuntime runtime(io);
  std::vector<std::string> order;
  asio::post(io, [&] { order.push_back("posted before"); });
  runtime.ScheduleAfter(0, [&] { order.push_back("due now"); });
  EXPECT_EQ(runtime.pending(), 1u);
  io.run();
  EXPECT_EQ(order, (std::vector<std::string>{"posted before", "due now"}));
  EXPECT_EQ(runtime.pending(), 0u);
}

TEST(AsioRuntimeTest, ACancelledCallbackNeverRunsWhetherDueNowOrLater) {
  asio::io_context io;
  AsioRuntime runtime(io);
  int ran = 0;
  TimerId now = runtime.ScheduleAfter(0, [&] { ++ran; });
  TimerId later = runtime.ScheduleAfter(5, [&] { ++ran; });
  runtime.ScheduleAfter(10, [&] { ran += 100; });
  runtime.Cancel(now);
  runtime.Cancel(later);
  runtime.Cancel(now);  // twice: a no-op
  io.run();
  EXPECT_EQ(ran, 100);
  EXPECT_EQ(runtime.pending(), 0u);
}

TEST(AsioRuntimeTest, ACallbackDueNowMayScheduleAnother) {
  asio::io_context io;
  AsioRuntime runtime(io);
  int depth = 0;
  std::function<void()> again = [&] {
    if (++depth < 3) runtime.ScheduleAfter(0, again);
  };
  runtime.ScheduleAfter(0, again);
  io.run();
  EXPECT_EQ(depth, 3);
}

}  // namespace
}  // namespace warren::net
