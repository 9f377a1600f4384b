// What a member does for the mirrored queues beyond feeding copies
// (docs/mirroring.md, "Failover"): every member holds the mirrored queues
// it homes while it may not serve them (restarted and not caught up, or
// without a lease), and the metadata leader grants those leases and moves
// the queues of a home it has not heard from to a mirror.
//
// Member runs it on each Raft tick; the replication simulator
// (tests/unit/cluster/mirror_sim.h) runs the same code on simulated nodes.
// Runs on the node's loop.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "broker/core/mirroring.h"
#include "common/runtime.h"
#include "raft/raft.h"

namespace warren::core {
class Broker;
class MetadataGate;
class Queue;
}  // namespace warren::core

namespace warren::cluster {

// A mirrored queue whose home the leader has not heard from for this long
// moves to a mirror in sync (docs/mirroring.md, "Failover"): before the
// silent member's transient queues are deleted (kSilentMemberMs), so a
// mirrored one moves.
inline constexpr int64_t kFailoverMs = 3000;

// A home of mirrored queues delivers from them only while it holds a lease:
// for this long after it sent a renewal the metadata leader granted
// (docs/mirroring.md, "The home's lease"). The leader counts a grant as
// hearing from the home, so it moves the home's queues no sooner than
// kFailoverMs after the grant: the home stops first, with a second to spare
// for clocks that run at slightly different rates. Renewed every
// kLeaseRenewMs.
inline constexpr int64_t kHomeLeaseMs = 2000;
inline constexpr int64_t kLeaseRenewMs = 400;

// Runs `fn` with each queue homed on `member` and its vhost's name.
void ForEachQueueHomedOn(const core::Broker& broker, uint64_t member,
                         const std::function<void(const std::string&, const core::Queue&)>& fn);

class MirrorGuard {
 public:
  struct Links {
    // Asks `leader` for a lease; `granted(true, commit)` once it granted it,
    // with its commit index then (never called when the renewal was lost).
    std::function<void(raft::NodeId leader, std::function<void(bool, uint64_t)> granted)> renew;
    // Every member of the configuration with its node name.
    std::function<std::vector<core::MemberName>()> members;
  };

  // `raft` is this member's Raft group (its driver's), `tick_ms` its tick.
  MirrorGuard(core::Broker& broker, Runtime& runtime, const raft::Raft& raft,
              core::MetadataGate& gate, raft::NodeId self, int64_t tick_ms, Links links);
  MirrorGuard(const MirrorGuard&) = delete;
  MirrorGuard& operator=(const MirrorGuard&) = delete;

  // A restart: the mirrored queues homed here deliver nothing until this
  // member has applied what the cluster committed (a failover meanwhile may
  // have moved them), and holds a lease.
  void HoldUntilCaughtUp();
  // Each Raft tick: releases once caught up, keeps the lease (holding the
  // queues without one), and on the leader moves the mirrored queues of
  // silent homes.
  void Tick();
  // The leader: member `node` renewed its lease. When granted, the
  // leader's commit index: the grantee serves only once it has applied the
  // log that far, so a queue moved while it had no lease is moved on it too.
  std::optional<uint64_t> GrantLease(const std::string& node);
  // The leader: every other member, and whether it has been silent for `ms`
  // (counted from the Raft answers and the lease renewals it received).
  std::vector<std::pair<raft::NodeId, bool>> Silence(int64_t ms) const;

 private:
  void ReleaseOnceCaughtUp();
  // This member has applied the log as far as it knows the cluster committed.
  bool CaughtUp() const;
  bool HasLease();
  void KeepLease();
  void PromoteMirrorsOfSilent();

  core::Broker& broker_;
  Runtime& runtime_;
  const raft::Raft& raft_;
  core::MetadataGate& gate_;
  raft::NodeId self_;
  int64_t tick_ms_;
  Links links_;
  bool holding_ = false;  // restarted and not caught up yet
  bool queues_held_ = false;  // the mirrored queues homed here were held at the last tick
  // The lease: valid until lease_until_ms_ (Runtime::NowMs); `lease_lost_`:
  // the queues are held for want of it.
  int64_t lease_until_ms_ = 0;
  uint64_t lease_commit_ = 0;  // after a gap, the lease serves once applied this far
  bool lease_gap_ = true;      // no lease since it was last seen valid
  int64_t renewed_at_ms_ = 0;
  bool lease_lost_ = false;
  // Leader: when (tick of raft.now()) each member last renewed its lease.
  std::map<raft::NodeId, uint64_t> lease_granted_;
  std::set<std::pair<std::string, std::string>> promoting_;  // proposed, not answered
  std::set<std::pair<std::string, std::string>> stuck_;      // no mirror to move to, logged
  // Expires with the guard: answers that come later find nothing.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace warren::cluster
