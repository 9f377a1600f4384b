// Consumer: one channel that consumes one queue (basic.qos -q, basic.consume,
// no-ack with -a), records each delivery's latency from the timestamp in its
// body, and acks: each delivery, or with multiple=true every -A deliveries and
// whenever a read has been dispatched (so a prefetch below -A cannot stall).
// After -D deliveries it cancels and requeues whatever still arrives.
//
// Owned by its Connection, runs on that Loop's thread.
#pragma once

#include <cstdint>
#include <string>

#include "perf/connection.h"
#include "perf/stats.h"

namespace warren::perf {

class Consumer : public ChannelRole {
 public:
  Consumer(const Options& options, std::string queue, LoopStats& stats);

  void OnOpen() override;
  void OnMethod(const amqp::Method& method) override;
  void OnDelivery(uint64_t tag, uint64_t sent_ns) override;
  void OnReadDrained() override { AckPending(); }

 private:
  void AckPending();
  void Finish();

  const Options& options_;
  std::string queue_;
  LoopStats& stats_;
  std::string consumer_tag_;
  uint64_t received_ = 0;
  uint64_t last_tag_ = 0;  // highest delivery tag not yet acked (multi-ack)
  uint32_t unacked_ = 0;
  bool done_ = false;
};

}  // namespace warren::perf
