// Setup: the declarations made before any consumer or producer starts, on one
// channel of a short-lived connection. Every declaration is pipelined; the
// run goes on once the last -ok arrives (RunControl::SetupDone), and a refusal
// (e.g. 406 for a queue that exists with other flags) ends it through
// the connection's channel.close handling.
//
//   exchange.declare (-e, unless empty or amq.*; type -t, not durable, not auto-delete)
//   queue.declare × queues (durable, not exclusive, auto-delete per --auto-delete)
//   queue.bind × queues (key -k, else the queue name; or --topic-bindings patterns)
#pragma once

#include "perf/connection.h"

namespace warren::perf {

class Setup : public ChannelRole {
 public:
  explicit Setup(const Options& options) : options_(options) {}
  void OnOpen() override;
  void OnMethod(const amqp::Method& method) override;

 private:
  const Options& options_;
  int awaiting_ = 0;
};

// The binding patterns of --topic-bindings: perf.<i>.* for even i, perf.<i>.# for odd.
std::string TopicPattern(int i);

}  // namespace warren::perf
