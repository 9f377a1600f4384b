// The calling side of queues across nodes (docs/cluster.md, "Queues across
// nodes"): core::QueueRemote over one Cluster.Queues stream per home, opened
// when a client first needs a queue homed there.
//
// Each link has a thread of its own that opens the stream (handshake first)
// and writes what the loop queued, in frames; a second thread per stream
// reads the home's frames and posts them to the loop. Everything else runs
// on the node's loop.
//
// When a stream breaks, or cannot be opened, the loop fails everything that
// was waiting on it: publishes are answered false (nacked), requests are
// answered unreachable (the channel refuses with 404 naming the home),
// consumers are cancelled. Only then may the link open a new stream, so
// nothing queued for a broken stream reaches a new one. After a failed open
// the link answers unreachable at once for a second, so clients of a home
// that is down are refused quickly instead of each waiting for a timeout.
//
// Lifecycle: one per node while it is a cluster member; set as the broker's
// QueueRemote, and taken off it before it is destroyed (on the loop).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "broker/cluster/forwarding.h"
#include "broker/cluster/mirror_link.h"
#include "broker/cluster/secret.h"
#include "broker/core/remote.h"
#include "common/runtime.h"

namespace warren::v1 {
class QueueOp;
}

namespace warren::cluster {

struct RemoteQueuesOptions {
  std::string self;  // this node's name, for the handshake
  // Onto the node's loop, from any thread.
  std::function<void(std::function<void()>)> post;
  // Member `id`'s gRPC address (empty: not known) and node name.
  std::function<std::pair<std::string, std::string>(uint64_t id)> resolve;
  // Every member's id.
  std::function<std::vector<uint64_t>()> members;
  uint64_t max_message_size = 128ull << 20;
  int64_t hello_timeout_ms = 2000;
};

class RemoteQueues final : public core::QueueRemote, public Forwarder, public MirrorLink {
 public:
  RemoteQueues(RemoteQueuesOptions options, const Secret& secret, Runtime& runtime);
  // Stops every link; what waited on one is failed, its consumers cancelled.
  ~RemoteQueues() override;
  RemoteQueues(const RemoteQueues&) = delete;
  RemoteQueues& operator=(const RemoteQueues&) = delete;

  std::string NodeName(uint64_t home) const override;
  std::vector<uint64_t> Members() const override;
  void Publish(uint64_t home, const std::string& vhost, std::vector<std::string> queues,
               core::MessagePtr message, std::function<void(bool)> done) override;
  bool Congested(uint64_t home) const override;
  void WhenDrained(uint64_t home, std::function<void()> drained) override;
  void Consume(uint64_t home, core::RemoteConsume consume, core::RemoteConsumerSink* sink,
               std::function<void(uint64_t, Status)> done) override;
  void Credit(uint64_t home, uint64_t consumer, uint32_t count) override;
  void Cancel(uint64_t home, uint64_t consumer) override;
  void Settle(uint64_t home, uint64_t consumer, core::SettleKind kind,
              std::vector<uint64_t> deliveries) override;
  void Get(uint64_t home, const std::string& vhost, const std::string& queue, bool no_ack,
           uint64_t connection, Reply done) override;
  void SyncMirrors(uint64_t home, const std::string& vhost, const std::string& queue, bool cancel,
                   Reply done) override;
  void Purge(uint64_t home, const std::string& vhost, const std::string& queue,
             uint64_t connection, Reply done) override;
  void Stat(uint64_t home, const std::string& vhost, const std::string& queue,
            uint64_t connection, Reply done) override;
  void Census(uint64_t member, const std::string& vhost, const std::string& user,
              Reply done) override;
  void DirectReply(uint64_t member, core::MessagePtr message) override;

  // MirrorLink (docs/mirroring.md, "Replication"), on the stream to the
  // member.
  void MirrorReset(uint64_t member, const std::string& vhost, const std::string& queue,
                   uint64_t epoch) override;
  void MirrorEnter(uint64_t member, const std::string& vhost, const std::string& queue,
                   uint64_t seq, core::MessagePtr message, std::function<void(bool)> held) override;
  void MirrorLeave(uint64_t member, const std::string& vhost, const std::string& queue,
                   std::vector<uint64_t> seqs) override;
  uint64_t Breaks(uint64_t member) override;
  bool Refusing(uint64_t member) override;

  // Forwarder: a metadata change goes to the leader on the same stream
  // (PROPOSE), pipelined, with no handshake of its own. A change the link
  // could not send is answered `unreached` (it may go to the next leader);
  // one sent on a stream that broke, not committed.
  void Renew(raft::NodeId leader, std::function<void(bool, uint64_t)> done) override;
  void Forward(raft::NodeId leader, std::string command,
               std::function<void(ForwardResult)> done) override;

 private:
  class Link;
  // The link to `home`, made when first asked for.
  Link& LinkTo(uint64_t home);
  static bool Forwardable(const core::Message& message);
  // Sends `op` (PUBLISH, MIRROR_ENTER) with `message` to `member`; `done`
  // with the answer: true once held there.
  void SendHeld(uint64_t member, v1::QueueOp op, const core::Message& message,
                std::function<void(bool)> done);
  void Request(uint64_t home, const std::string& vhost, const std::string& queue, int kind,
               bool no_ack, uint64_t connection, Reply done);

  RemoteQueuesOptions options_;
  Secret secret_;
  Runtime& runtime_;
  std::map<uint64_t, std::shared_ptr<Link>> links_;
  uint64_t next_id_ = 0;  // requests and consumers, one space
};

}  // namespace warren::cluster
