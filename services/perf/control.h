// RunControl: what the event loops tell the main thread (setup done, consumer
// ready, producer/consumer finished its count, a fatal error) and what the main
// thread tells them (stop publishing). Any thread may call any method; every
// notification writes the main thread's eventfd so it wakes at once.
#pragma once

#include <atomic>
#include <string>

namespace warren::perf {

class RunControl {
 public:
  RunControl();
  ~RunControl();
  RunControl(const RunControl&) = delete;
  RunControl& operator=(const RunControl&) = delete;

  // The first failure is printed to stderr as one line; the run ends with
  // exit status 2.
  void Fail(const std::string& message);
  bool failed() const { return failed_.load(std::memory_order_acquire); }

  void Stop() { stopping_.store(true, std::memory_order_release); }
  bool stopping() const { return stopping_.load(std::memory_order_relaxed); }

  void SetupDone() { Bump(setup_done_); }
  void ConsumerReady() { Bump(consumers_ready_); }
  void ProducerDone() { Bump(producers_done_); }
  void ConsumerDone() { Bump(consumers_done_); }
  int setup_done() const { return setup_done_.load(); }
  int consumers_ready() const { return consumers_ready_.load(); }
  int producers_done() const { return producers_done_.load(); }
  int consumers_done() const { return consumers_done_.load(); }

  // The main thread polls this fd; Drain() after it becomes readable.
  int wake_fd() const { return wake_fd_; }
  void Drain();

 private:
  void Bump(std::atomic<int>& counter) {
    counter.fetch_add(1);
    Wake();
  }
  void Wake();

  int wake_fd_ = -1;
  std::atomic<bool> failed_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<int> setup_done_{0}, consumers_ready_{0}, producers_done_{0}, consumers_done_{0};
};

}  // namespace warren::perf
