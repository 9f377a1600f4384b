// Latency histogram, log-linear: exact below 256 µs, then 128 buckets per
// power of two up to 2^26 µs (~67 s), so any recorded value is reported within
// 0.4% (the bucket's midpoint). Larger values land in the last bucket.
//
// Histogram has one writer (the event loop thread that owns the consumers) and
// any number of readers (the reporter): counts are relaxed atomics, so a
// Snapshot taken while the loop records is off by at most in-flight samples.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace warren::perf {

inline constexpr int kLinearBuckets = 256;
inline constexpr int kSubBuckets = 128;  // per power of two above kLinearBuckets
inline constexpr int kMaxExponent = 26;  // 2^26 µs ≈ 67 s
inline constexpr int kHistogramBuckets = kLinearBuckets + (kMaxExponent - 8 + 1) * kSubBuckets;

struct HistogramSnapshot {
  std::array<uint64_t, kHistogramBuckets> counts{};
  uint64_t total = 0;
  uint64_t max = 0;

  void Add(const HistogramSnapshot& other);
  // Counts recorded since `earlier` (max stays this snapshot's).
  HistogramSnapshot Since(const HistogramSnapshot& earlier) const;
  // q in [0, 1]; 0 when empty. The bucket's midpoint, or max when that is lower.
  double Percentile(double q) const;
};

class Histogram {
 public:
  void Record(uint64_t micros) {
    auto& b = counts_[BucketOf(micros)];
    b.store(b.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    if (micros > max_.load(std::memory_order_relaxed)) max_.store(micros, std::memory_order_relaxed);
  }
  void SnapshotInto(HistogramSnapshot& out) const;

  static int BucketOf(uint64_t micros);
  static uint64_t BucketLow(int bucket);
  static uint64_t BucketWidth(int bucket);

 private:
  std::array<std::atomic<uint64_t>, kHistogramBuckets> counts_{};
  std::atomic<uint64_t> max_{0};
};

inline int Histogram::BucketOf(uint64_t micros) {
  if (micros < kLinearBuckets) return static_cast<int>(micros);
  int exponent = 63 - __builtin_clzll(micros);  // >= 8
  if (exponent > kMaxExponent) return kHistogramBuckets - 1;
  int sub = static_cast<int>(micros >> (exponent - 7)) - kSubBuckets;
  return kLinearBuckets + (exponent - 8) * kSubBuckets + sub;
}

}  // namespace warren::perf
