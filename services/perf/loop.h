// One epoll event loop, run by one thread. Everything registered with a Loop
// (sockets, tasks, timers) is touched only by that thread; Post() is the one
// call other threads may make, to hand it work (start-up and shutdown only, so
// its mutex is never on the per-message path).
//
// An iteration: epoll_wait (not blocking while tasks are ready), dispatch I/O,
// fire due timers, then run the tasks that were ready. Producers re-arm
// themselves as ready tasks after each batch so reads are never starved.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <queue>
#include <vector>

namespace warren::perf {

class IoHandler {
 public:
  virtual ~IoHandler() = default;
  virtual void OnIo(uint32_t events) = 0;
};

class Task {
 public:
  virtual ~Task() = default;
  virtual void Run() = 0;

 private:
  friend class Loop;
  bool ready_ = false;
};

uint64_t MonotonicNanos();

class Loop {
 public:
  explicit Loop(int index);
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  int index() const { return index_; }

  void Watch(int fd, IoHandler* handler, uint32_t events);
  void Rewatch(int fd, IoHandler* handler, uint32_t events);
  void Unwatch(int fd);

  // Runs `task` in this iteration's ready pass (once, however often asked).
  void MakeReady(Task* task);
  // Runs `task` at or after `deadline_ns` (CLOCK_MONOTONIC). The task must
  // outlive the deadline; a stale wake-up must be harmless to it.
  void RunAt(uint64_t deadline_ns, Task* task);

  // Any thread: run `fn` on this loop's thread.
  void Post(std::function<void()> fn);
  // Runs until Quit() is called on this thread.
  void Run();
  void Quit() { quit_ = true; }

 private:
  void DrainPosted();

  struct Timer {
    uint64_t deadline;
    Task* task;
    bool operator>(const Timer& o) const { return deadline > o.deadline; }
  };

  int index_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  bool quit_ = false;
  std::vector<Task*> ready_, running_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  std::mutex posted_mutex_;
  std::vector<std::function<void()>> posted_;
};

}  // namespace warren::perf
