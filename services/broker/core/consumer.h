// A consumer of one queue (basic.consume). Owned by the channel that created
// it; the queue keeps a non-owning pointer from AddConsumer until
// RemoveConsumer. Everything runs on the queue's event loop.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "amqp/field_table.h"
#include "broker/core/message.h"

namespace warren::core {

class Consumer;

// Implemented by whatever delivers to a client (protocol::Channel).
class ConsumerSink {
 public:
  virtual ~ConsumerSink() = default;
  // Whether `c` may take one more message now (prefetch, flow, socket backlog).
  virtual bool HasCredit(const Consumer& c) const = 0;
  // Hands over a message; the sink sends basic.deliver and, unless no_ack,
  // keeps the entry until it is acked, rejected or the channel closes.
  virtual void Deliver(Consumer& c, QueueEntry entry) = 0;
  // The queue went away (deleted): the sink sends basic.cancel to the client
  // (consumer_cancel_notify) and forgets the consumer.
  virtual void Cancelled(Consumer& c) = 0;
  // How an operator listing names the channel: "<connection> (<number>)".
  virtual std::string Label() const { return ""; }
};

class Queue;

class Consumer : public std::enable_shared_from_this<Consumer> {
 public:
  Consumer(ConsumerSink& sink, std::string tag, bool no_ack, bool exclusive, int priority)
      : sink_(sink), tag_(std::move(tag)), no_ack_(no_ack), exclusive_(exclusive),
        priority_(priority) {}

  ConsumerSink& sink() const { return sink_; }
  const std::string& tag() const { return tag_; }
  bool no_ack() const { return no_ack_; }
  bool exclusive() const { return exclusive_; }
  int priority() const { return priority_; }
  // Maintained by the sink: per-consumer prefetch (basic.qos global=false,
  // as RabbitMQ reinterprets it) and how many deliveries await an ack.
  uint16_t prefetch = 0;
  uint64_t unacked = 0;
  amqp::FieldTable arguments;
  // The queue consumed from; kept alive while the consumer exists so its
  // unacked deliveries can still be settled after a delete.
  std::shared_ptr<Queue> queue;
  // The consumer's id at the queue's home when the queue is homed on
  // another member (core/remote.h); 0 until the home took it.
  uint64_t remote_id = 0;
  // Deliveries taken while the client's socket was backed up: the home is
  // told it may send that many more once it drains.
  uint32_t remote_credit_owed = 0;

 private:
  ConsumerSink& sink_;
  std::string tag_;
  bool no_ack_;
  bool exclusive_;
  int priority_;
};

}  // namespace warren::core
