#include "perf/histogram.h"

#include <algorithm>
#include <cmath>

namespace warren::perf {

uint64_t Histogram::BucketLow(int bucket) {
  if (bucket < kLinearBuckets) return static_cast<uint64_t>(bucket);
  int exponent = 8 + (bucket - kLinearBuckets) / kSubBuckets;
  uint64_t sub = static_cast<uint64_t>((bucket - kLinearBuckets) % kSubBuckets) + kSubBuckets;
  return sub << (exponent - 7);
}

uint64_t Histogram::BucketWidth(int bucket) {
  if (bucket < kLinearBuckets) return 1;
  return uint64_t{1} << (8 + (bucket - kLinearBuckets) / kSubBuckets - 7);
}

void Histogram::SnapshotInto(HistogramSnapshot& out) const {
  out.total = 0;
  for (int i = 0; i < kHistogramBuckets; ++i) {
    out.counts[i] = counts_[i].load(std::memory_order_relaxed);
    out.total += out.counts[i];
  }
  out.max = max_.load(std::memory_order_relaxed);
}

void HistogramSnapshot::Add(const HistogramSnapshot& other) {
  for (int i = 0; i < kHistogramBuckets; ++i) counts[i] += other.counts[i];
  total += other.total;
  max = std::max(max, other.max);
}

HistogramSnapshot HistogramSnapshot::Since(const HistogramSnapshot& earlier) const {
  HistogramSnapshot d;
  for (int i = 0; i < kHistogramBuckets; ++i) d.counts[i] = counts[i] - earlier.counts[i];
  d.total = total - earlier.total;
  d.max = max;
  return d;
}

double HistogramSnapshot::Percentile(double q) const {
  if (total == 0) return 0;
  // The rank of the sample at quantile q, 1-based ("nearest rank").
  uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(total))));
  uint64_t seen = 0;
  for (int i = 0; i < kHistogramBuckets; ++i) {
    seen += counts[i];
    if (seen >= rank) {
      double mid = static_cast<double>(Histogram::BucketLow(i)) +
                   static_cast<double>(Histogram::BucketWidth(i) - 1) / 2.0;
      return max > 0 ? std::min(mid, static_cast<double>(max)) : mid;
    }
  }
  return static_cast<double>(max);
}

}  // namespace warren::perf
