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
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "broker/cluster/mirror_copies.h"
#include "broker/core/mirroring.h"

namespace warren::v1 {
class QueueFrame;
}

namespace warren::core {
class Broker;
}

namespace warren::cluster {

class HomeLink;
struct ForwardResult;

class QueueHome final : public core::MirrorSource {
 public:
  // A metadata change a caller forwarded (PROPOSE): `reply` runs once, on
  // the loop (cluster_service.h's ProposeHandler, on the loop).
  using Propose = std::function<void(std::string command, std::function<void(ForwardResult)> reply)>;
  // A caller (its node name) renewing its lease as a home of mirrored
  // queues (LEASE): when granted, the commit index it must apply through
  // before it serves (Member::GrantLease).
  using Renew = std::function<std::optional<uint64_t>(const std::string& caller)>;
  // `post` runs a function on the node's loop once the current turn is
  // over (what a turn queued for a caller is written then, together).
  QueueHome(core::Broker& broker, std::function<void(std::function<void()>)> post,
            Propose propose = {}, Renew renew = {});
  ~QueueHome() override;
  QueueHome(const QueueHome&) = delete;
  QueueHome& operator=(const QueueHome&) = delete;

  // A frame from a caller's stream (null: the stream ended). Reads the
  // stream's next frame once this one is handled.
  void Receive(const std::shared_ptr<HomeLink>& link, v1::QueueFrame* frame);

  // The copies of queues this member mirrors.
  MirrorCopies& copies() { return copies_; }
  // core::MirrorSource: a promotion takes this member's copy.
  std::vector<core::MessagePtr> TakeCopy(const std::string& vhost,
                                         const std::string& queue) override {
    return copies_.Take(vhost, queue);
  }

 private:
  class Session;
  // Writes what `link` queued once this loop turn is over, with whatever
  // else the turn queued for it.
  void Flush(const std::shared_ptr<HomeLink>& link);

  core::Broker& broker_;
  MirrorCopies copies_;
  std::function<void(std::function<void()>)> post_;
  Propose propose_;
  Renew renew_;
  std::set<std::shared_ptr<HomeLink>> unflushed_;
  bool flush_scheduled_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::map<HomeLink*, std::unique_ptr<Session>> sessions_;
  uint64_t next_delivery_ = 0;  // unique across sessions and restarts: a stale settle matches nothing
};

}  // namespace warren::cluster
