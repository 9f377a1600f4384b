// The home's side of queues across nodes (docs/cluster.md, "Queues across
// nodes"): what other members' clients do with the queues homed on this
// node arrives on Cluster.Queues streams, one per calling member, and is
// carried out here on the node's loop against the local queues: publishes
// (answered once held, persistent ones once on disk), remote consumers
// (deliveries within the caller's credit and the consumer's prefetch),
// settlements, gets, purges and counts.
//
// When a stream ends, everything its caller held here goes back: its
// consumers are removed and its unsettled deliveries requeued, as a
// client's are when its connection closes.
//
// Lifecycle: one per node while it is a cluster member, on the node's loop;
// destroyed before the broker, releasing every stream's consumers.
#pragma once

#include <cstdint>
#include <map>
#include <memory>

namespace warren::v1 {
class QueueFrame;
}

namespace warren::core {
class Broker;
}

namespace warren::cluster {

class HomeLink;

class QueueHome {
 public:
  explicit QueueHome(core::Broker& broker);
  ~QueueHome();
  QueueHome(const QueueHome&) = delete;
  QueueHome& operator=(const QueueHome&) = delete;

  // A frame from a caller's stream (null: the stream ended). Reads the
  // stream's next frame once this one is handled.
  void Receive(const std::shared_ptr<HomeLink>& link, v1::QueueFrame* frame);

 private:
  class Session;
  core::Broker& broker_;
  std::map<HomeLink*, std::unique_ptr<Session>> sessions_;
  uint64_t next_delivery_ = 0;  // unique across sessions and restarts: a stale settle matches nothing
};

}  // namespace warren::cluster
