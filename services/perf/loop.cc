#include "perf/loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace warren::perf {

uint64_t MonotonicNanos() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

namespace {
// The wake eventfd's slot in epoll data; sockets carry their IoHandler*.
IoHandler* const kWakeTag = nullptr;
}  // namespace

Loop::Loop(int index) : index_(index) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0) throw std::runtime_error(std::string("epoll: ") + strerror(errno));
  Watch(wake_fd_, kWakeTag, EPOLLIN);
}

Loop::~Loop() {
  close(wake_fd_);
  close(epoll_fd_);
}

void Loop::Watch(int fd, IoHandler* handler, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
}

void Loop::Rewatch(int fd, IoHandler* handler, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
}

void Loop::Unwatch(int fd) { epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr); }

void Loop::MakeReady(Task* task) {
  if (task->ready_) return;
  task->ready_ = true;
  ready_.push_back(task);
}

void Loop::RunAt(uint64_t deadline_ns, Task* task) { timers_.push({deadline_ns, task}); }

void Loop::Post(std::function<void()> fn) {
  {
    std::lock_guard lock(posted_mutex_);
    posted_.push_back(std::move(fn));
  }
  uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof one);
}

void Loop::DrainPosted() {
  uint64_t n;
  (void)!read(wake_fd_, &n, sizeof n);
  std::vector<std::function<void()>> fns;
  {
    std::lock_guard lock(posted_mutex_);
    fns.swap(posted_);
  }
  for (auto& fn : fns) fn();
}

void Loop::Run() {
  constexpr int kMaxEvents = 64;
  epoll_event events[kMaxEvents];
  while (!quit_) {
    int timeout_ms = -1;
    if (!ready_.empty()) {
      timeout_ms = 0;
    } else if (!timers_.empty()) {
      uint64_t now = MonotonicNanos();
      uint64_t next = timers_.top().deadline;
      timeout_ms = next <= now ? 0 : static_cast<int>((next - now + 999'999) / 1'000'000);
    }
    int n = epoll_wait(epoll_fd_, events, kMaxEvents, timeout_ms);
    for (int i = 0; i < n; ++i) {
      auto* handler = static_cast<IoHandler*>(events[i].data.ptr);
      if (handler == kWakeTag) DrainPosted();
      else handler->OnIo(events[i].events);
    }
    if (!timers_.empty()) {
      uint64_t now = MonotonicNanos();
      while (!timers_.empty() && timers_.top().deadline <= now) {
        Task* task = timers_.top().task;
        timers_.pop();
        MakeReady(task);
      }
    }
    running_.swap(ready_);
    for (Task* task : running_) {
      task->ready_ = false;
      task->Run();
    }
    running_.clear();
  }
}

}  // namespace warren::perf
