#include "common/thread_nice.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <future>
#include <thread>

#include <gtest/gtest.h>

namespace warren {
namespace {

int NiceOf(pid_t tid) { return getpriority(PRIO_PROCESS, static_cast<id_t>(tid)); }
pid_t Tid() { return static_cast<pid_t>(syscall(SYS_gettid)); }

// A thread that reports its id, then waits until told to end.
class Helper {
 public:
  Helper()
      : thread_([this] {
          tid_.set_value(Tid());
          end_.get_future().wait();
        }) {}
  ~Helper() {
    end_.set_value();
    thread_.join();
  }
  pid_t tid() { return tid_future_.get(); }

 private:
  std::promise<pid_t> tid_;
  std::shared_future<pid_t> tid_future_ = tid_.get_future().share();
  std::promise<void> end_;
  std::thread thread_;
};

TEST(ThreadNiceTest, OtherThreadsGetTheCallersNicePlusDelta) {
  Helper helper;
  pid_t tid = helper.tid();
  int own = NiceOf(Tid());
  ASSERT_EQ(NiceOf(tid), own) << "a thread starts at its creator's nice value";
  EXPECT_EQ(NiceOtherThreads(3), 1);
  EXPECT_EQ(NiceOf(tid), std::min(19, own + 3));
  EXPECT_EQ(NiceOf(Tid()), own) << "the calling thread keeps its own";
  EXPECT_EQ(NiceOtherThreads(3), 0) << "already there: nothing changes";
  EXPECT_EQ(NiceOtherThreads(1), 0) << "never made less nice";
  EXPECT_EQ(NiceOf(tid), std::min(19, own + 3));
}

TEST(ThreadNiceTest, ZeroLeavesThreadsAlone) {
  Helper helper;
  pid_t tid = helper.tid();
  int before = NiceOf(tid);
  EXPECT_EQ(NiceOtherThreads(0), 0);
  EXPECT_EQ(NiceOf(tid), before);
}

}  // namespace
}  // namespace warren
