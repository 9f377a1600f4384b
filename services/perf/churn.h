// ChurnProducer (--churn): a producer that, per cycle, opens a connection
// (full handshake), opens a channel, selects confirms, publishes one message,
// waits for its ack or nack, closes the connection and waits for close-ok;
// -C bounds the cycles. Each completed cycle counts as one connection.
//
// Lives on one Loop's thread for the whole run. A finished connection is kept
// until the next Run() so that nothing on the stack still points into it.
#pragma once

#include <memory>

#include "perf/connection.h"
#include "perf/publish_template.h"
#include "perf/stats.h"

namespace warren::perf {

class ChurnProducer : public Task {
 public:
  ChurnProducer(Loop& loop, RunControl& control, const Endpoint& endpoint, const Options& options,
                uint32_t id, LoopStats& stats);

  void Start() { loop_.MakeReady(this); }
  void Run() override;
  // Closes the connection of the cycle in progress and starts no other.
  void Stop();
  bool closed() const { return connection_ == nullptr || connection_->closed(); }

 private:
  class Channel;
  void Publish(Channel& channel);
  void Settled(bool ack);
  void Closed();

  Loop& loop_;
  RunControl& control_;
  const Endpoint& endpoint_;
  const Options& options_;
  uint32_t id_;
  LoopStats& stats_;
  std::vector<std::string> keys_;
  size_t next_key_ = 0;
  uint64_t cycles_ = 0;
  bool stopped_ = false;
  bool settled_ = false;  // this cycle's message was acked or nacked
  std::unique_ptr<Connection> connection_;
  std::unique_ptr<Connection> finished_;
};

}  // namespace warren::perf
