// Where a mirrored queue's copies go (docs/mirroring.md, "Placement").
//
// A queue is mirrored when the policy in effect has an ha-mode, or when it
// was declared x-queue-type: quorum. Its home holds the queue; its mirrors
// are other members that keep a copy. Which members those are is decided by
// the metadata leader with WantedMirrors and committed through the log as a
// cmd::SetMirrors: every member then holds the same record (Queue::mirrors).
// Pure functions, so the leader and the tests compute them alike.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "broker/core/message.h"
#include "broker/core/persistence.h"
#include "broker/core/policy.h"
#include "common/status.h"

namespace warren::core {

class Queue;

struct MemberName {
  uint64_t id = 0;
  std::string name;  // its node name (warren@host); empty when not known
  bool operator==(const MemberName&) const = default;
};

// Copies in all a quorum queue has, as RabbitMQ's default quorum size (or
// every member, when fewer).
inline constexpr size_t kQuorumCopies = 3;

// The members that should hold mirrors of a queue homed on `home`: sorted
// ids, `home` not among them; empty when it is not mirrored.
//   - ha-mode all: every other member.
//   - ha-mode exactly, ha-params N: N copies in all (home included), every
//     member when fewer; mirrors it has (`current`) are kept first, then the
//     members after the home in id order, so copies spread.
//   - ha-mode nodes, ha-params [names]: the named members (others ignored).
//   - x-queue-type quorum (no ha-mode): as exactly 3.
// Exclusive queues are never mirrored (they die with their connection).
std::vector<uint64_t> WantedMirrors(const Queue& queue, const Policy* policy, uint64_t home,
                                    const std::vector<MemberName>& members);

// Whether a mirror that is not in sync copies the queue's backlog by
// itself: ha-sync-mode automatic, and a quorum queue always. Otherwise
// (manual, RabbitMQ's default when the key is absent) it holds only what
// joins the queue after it, and is in sync once the older entries are gone
// or an operator asked for a sync (MirrorSync).
bool SyncsByItself(const Queue& queue, const Policy* policy);

// The mirror that takes over a queue whose home is gone (docs/mirroring.md,
// "Failover"): the lowest-id mirror in sync among `alive` members. Only
// with ha-promote-on-failure "always" in the policy, when none is in sync,
// the lowest-id alive mirror (which may lack confirmed messages). 0: none.
uint64_t PromotionCandidate(const Queue& queue, const Policy* policy,
                            const std::vector<uint64_t>& alive);

// The record once `candidate` took over from `home`: the old home becomes
// a mirror, the candidate leaves the mirrors, none is in sync (the new home
// syncs each again), the epoch goes up.
Mirrors AfterFailover(const Mirrors& current, uint64_t home, uint64_t candidate);

// Where a promoted queue's messages come from (docs/mirroring.md,
// "Failover"): this member's copy of it (cluster/mirror_copies.h).
class MirrorSource {
 public:
  virtual ~MirrorSource() = default;
  // Takes this member's copy of `queue`: its messages in queue order, none
  // when it holds no copy.
  virtual std::vector<MessagePtr> TakeCopy(const std::string& vhost, const std::string& queue) = 0;
};

// A sync asked for by an operator (docs/mirroring.md, "ha-sync-mode"): the
// home's feeds (cluster/queue_replicator.h).
class MirrorSync {
 public:
  virtual ~MirrorSync() = default;
  // warrenctl sync_queue: the mirrors of `queue` (homed here) that are not
  // in sync copy its backlog now, as with ha-sync-mode automatic; with
  // `cancel` (cancel_sync_queue), they stop copying it and wait, as with
  // manual. 406 when the queue is not mirrored, 404 when it is not here.
  virtual Status SyncMirrors(const std::string& vhost, const std::string& queue, bool cancel) = 0;
};

// `mirrors` with the in-sync set cut to the members it still has, and the
// epoch one higher: the record a SetMirrors proposes from `current`.
Mirrors NextMirrors(const Mirrors& current, std::vector<uint64_t> mirrors);

}  // namespace warren::core
