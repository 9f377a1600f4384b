// Producer: one channel that publishes as fast as the connection, the confirm
// window (-c), the rate (-r) and connection.blocked allow, up to -C messages.
//
// Owned by its Connection, runs on that Loop's thread. Each Run() appends up
// to kBatchBytes of pre-encoded publishes and writes them with one Flush(),
// then re-arms itself as a ready task (or waits for confirms, the socket, or
// the rate timer), so reads on the same loop are never starved.
#pragma once

#include <cstdint>
#include <vector>

#include "perf/connection.h"
#include "perf/publish_template.h"
#include "perf/stats.h"

namespace warren::perf {

// Publisher-confirm bookkeeping for a window of at most `window` unsettled
// tags: a ring of settled flags above `base` (every tag <= base is settled).
class ConfirmWindow {
 public:
  explicit ConfirmWindow(uint32_t window) : settled_(window ? window : 1) {}
  // Returns how many tags this ack/nack settled for the first time.
  uint64_t Settle(uint64_t tag, bool multiple, uint64_t published);
  uint64_t base() const { return base_; }

 private:
  std::vector<uint8_t> settled_;
  uint64_t base_ = 0;
};

class Producer : public ChannelRole, public Task {
 public:
  Producer(const Options& options, uint32_t id, LoopStats& stats);

  void OnOpen() override;
  void OnMethod(const amqp::Method& method) override;
  void OnConfirm(uint64_t tag, bool multiple, bool ack) override;
  void OnReturn() override { stats_.returned.Add(1); }
  void OnWritable() override;
  void Run() override;

  static constexpr size_t kBatchBytes = 128 * 1024;

 private:
  void Begin();
  uint64_t Allowance(uint64_t now);
  void CheckDone();

  const Options& options_;
  uint32_t id_;
  LoopStats& stats_;
  std::vector<PublishTemplate> templates_;
  size_t next_ = 0;
  uint64_t random_ = 0;
  bool started_ = false;
  bool done_ = false;
  uint64_t published_ = 0;
  uint64_t settled_count_ = 0;
  ConfirmWindow window_;
  double tokens_ = 0;
  uint64_t refilled_ns_ = 0;
  uint64_t timer_at_ = 0;  // 0: no rate timer armed
};

}  // namespace warren::perf
