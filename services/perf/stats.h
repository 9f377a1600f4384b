// Counters one event loop publishes and the reporter reads. Each LoopStats has
// a single writer (its loop thread), so Add is a relaxed load+store, not a
// locked read-modify-write; the reporter's relaxed loads see a value that is
// at most a few messages old.
#pragma once

#include <atomic>
#include <cstdint>

#include "perf/histogram.h"

namespace warren::perf {

class Counter {
 public:
  void Add(uint64_t n) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  uint64_t Get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

struct LoopStats {
  Counter published;
  Counter confirmed;
  Counter nacked;
  Counter returned;
  Counter consumed;
  Counter connections;  // churn cycles completed
  Histogram latency;
};

struct Totals {
  uint64_t published = 0, confirmed = 0, nacked = 0, returned = 0, consumed = 0, connections = 0;
  HistogramSnapshot latency;
};

}  // namespace warren::perf
