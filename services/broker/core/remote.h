// Queues whose home is another cluster member (docs/cluster.md, "Queues
// across nodes"). Every member holds a record of every queue (the replicated
// metadata), but only the queue's home holds its messages and consumers; on
// the other members the record is a Queue with remote() set, which routing
// and the model's checks (existence, exclusivity, equivalence) read like any
// other. What a client does with such a queue goes through QueueRemote,
// which the cluster implements over a stream to the home.
//
// Everything here runs on the node's event loop; every callback is called
// there, at most once, and never before the call that gave it returns.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "amqp/field_table.h"
#include "broker/core/message.h"
#include "common/status.h"

namespace warren::core {

// One member's connections in a vhost, and one user's connections and
// channels there: what connection limits count across a cluster
// (docs/access.md, "Limits in a cluster").
struct ConnectionCensus {
  uint64_t vhost_connections = 0;
  uint64_t user_connections = 0;
  uint64_t user_channels = 0;
  // Saturating: a peer's figures never wrap a sum below a limit.
  ConnectionCensus& operator+=(const ConnectionCensus& o) {
    auto add = [](uint64_t& a, uint64_t b) { a = a > UINT64_MAX - b ? UINT64_MAX : a + b; };
    add(vhost_connections, o.vhost_connections);
    add(user_connections, o.user_connections);
    add(user_channels, o.user_channels);
    return *this;
  }
};

// What the home answered, or why it could not be asked (404 naming the
// home when it is down or unreachable, as RabbitMQ answers for a queue whose
// node is down).
struct RemoteReply {
  Status status;
  uint32_t message_count = 0;
  uint32_t consumer_count = 0;
  uint32_t unacked_count = 0;  // Stat
  // Get: the message (null: the queue was empty), whether it was delivered
  // before, and the home's id for settling it.
  MessagePtr message;
  bool redelivered = false;
  uint64_t delivery = 0;
  uint64_t index = 0;  // LEASE: the metadata leader's commit index
  ConnectionCensus census;  // Census
  // The home could not be reached: `status` is 404 and the caller words it
  // with HomeDown (it knows the queue).
  bool unreachable = false;
};

// RabbitMQ's refusal for a queue whose node is down.
inline std::string HomeDown(const std::string& node, const std::string& queue, bool durable,
                            const std::string& vhost) {
  return "home node '" + node + "' of " + (durable ? "durable " : "") + "queue '" + queue +
         "' in vhost '" + vhost + "' is down or inaccessible";
}

enum class SettleKind : uint8_t { kAck, kReject, kRequeue };

// Where a remote consumer's deliveries go (the channel that consumes).
class RemoteConsumerSink {
 public:
  virtual ~RemoteConsumerSink() = default;
  // False when the sink no longer has `consumer` (cancelled meanwhile):
  // the delivery goes back to the queue.
  virtual bool RemoteDeliver(uint64_t consumer, MessagePtr message, bool redelivered,
                             uint64_t delivery) = 0;
  // The consumer is gone: its queue was deleted, or the home stopped
  // answering. Its deliveries not yet settled are the home's again.
  virtual void RemoteCancelled(uint64_t consumer) = 0;
};

struct RemoteConsume {
  std::string vhost, queue, tag;
  bool no_ack = false, exclusive = false;
  int priority = 0;
  uint16_t prefetch = 0;
  amqp::FieldTable arguments;
  uint64_t connection = 0;
};

class QueueRemote {
 public:
  using Reply = std::function<void(RemoteReply)>;
  virtual ~QueueRemote() = default;

  // How errors name member `home` (its node name).
  virtual std::string NodeName(uint64_t home) const = 0;
  // Every member's id, this node's included: where a queue may be placed.
  virtual std::vector<uint64_t> Members() const = 0;
  // Enqueues `message` on `queues` (all homed at `home`). `done(true)` once
  // the home holds it (a persistent message for a durable queue: on its
  // disk); false when a queue refused it or the home could not be reached.
  virtual void Publish(uint64_t home, const std::string& vhost, std::vector<std::string> queues,
                       MessagePtr message, std::function<void(bool)> done) = 0;
  // The link to `home` holds more than it should: the caller stops reading
  // from its client until WhenDrained's callback runs (once).
  virtual bool Congested(uint64_t home) const = 0;
  virtual void WhenDrained(uint64_t home, std::function<void()> drained) = 0;
  // Starts a consumer at `home`; answers its id for the calls below (0
  // with the refusal when it could not start). `sink` must stay valid until
  // Cancel or RemoteCancelled.
  virtual void Consume(uint64_t home, RemoteConsume consume, RemoteConsumerSink* sink,
                       std::function<void(uint64_t id, Status)> done) = 0;
  // The consumer's sink took `count` deliveries off the link: the home may
  // send that many more.
  virtual void Credit(uint64_t home, uint64_t consumer, uint32_t count) = 0;
  virtual void Cancel(uint64_t home, uint64_t consumer) = 0;
  // Settles deliveries of `consumer` (0: of gets).
  virtual void Settle(uint64_t home, uint64_t consumer, SettleKind kind,
                      std::vector<uint64_t> deliveries) = 0;
  virtual void Get(uint64_t home, const std::string& vhost, const std::string& queue, bool no_ack,
                   uint64_t connection, Reply done) = 0;
  virtual void Purge(uint64_t home, const std::string& vhost, const std::string& queue,
                     uint64_t connection, Reply done) = 0;
  // warrenctl sync_queue (or with `cancel`, cancel_sync_queue) of a
  // mirrored queue homed at `home` (core::MirrorSync).
  virtual void SyncMirrors(uint64_t home, const std::string& vhost, const std::string& queue,
                           bool cancel, Reply done) = 0;
  // The queue's message and consumer counts.
  virtual void Stat(uint64_t home, const std::string& vhost, const std::string& queue,
                    uint64_t connection, Reply done) = 0;
  // Member `member`'s connections in `vhost`, and connections and channels
  // of `user` (on any vhost), in RemoteReply::census.
  virtual void Census(uint64_t member, const std::string& vhost, const std::string& user,
                      Reply done) = 0;
  // A reply to a direct reply-to consumer on member `member` (the message's
  // routing key names it): delivered there, or dropped, as on one node.
  virtual void DirectReply(uint64_t member, MessagePtr message) = 0;
};

}  // namespace warren::core
