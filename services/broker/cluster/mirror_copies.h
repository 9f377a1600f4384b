// A member's copies of the queues it mirrors (docs/mirroring.md,
// "Replication" and "Copies on disk"): what each queue's home sent it
// (cluster/queue_replicator.h), by entry seq. A copy starts at a reset from
// the home, for one epoch of the queue's record; entries then enter and
// leave it in the order the home saw.
//
// A persistent message of a durable queue is written to this member's store
// under the queue record's store id before the entry counts as held (the
// caller's ticket waits for the sync), and settled when it leaves; so a copy
// survives this member's crash: at start the store's records for queues
// homed elsewhere come back (Recover). Bodies are held in memory too.
//
// Runs on the node's loop.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "broker/core/durability.h"
#include "broker/core/message.h"

namespace warren::core {
class Broker;
}

namespace warren::cluster {

class MirrorCopies {
 public:
  struct Copy {
    uint64_t epoch = 0;
    uint64_t store_id = 0;  // the record's, when written to the store; 0: memory only
    std::map<uint64_t, core::MessagePtr> entries;  // by seq; message->disk when written
    uint64_t bytes = 0;                            // of bodies
  };

  // `broker`'s persistence (if any) keeps the copies of durable queues.
  explicit MirrorCopies(core::Broker& broker) : broker_(broker) {}
  MirrorCopies(const MirrorCopies&) = delete;
  MirrorCopies& operator=(const MirrorCopies&) = delete;

  // At start: takes the copies the store kept (Broker::restored_copies), in
  // log order, numbered afresh. How many messages came back.
  size_t Recover();

  // The home starts the copy again (a new mirror, a new stream, a new record).
  void Reset(const std::string& vhost, const std::string& queue, uint64_t epoch);
  // False when no copy is started: the entry is not held. `ticket` waits
  // for the store's sync when the message was written (null: none does).
  bool Enter(const std::string& vhost, const std::string& queue, uint64_t seq,
             core::MessagePtr message, const core::Ticket& ticket = {});
  void Leave(const std::string& vhost, const std::string& queue,
             const std::vector<uint64_t>& seqs);
  const Copy* Find(const std::string& vhost, const std::string& queue) const;
  // Removes the copy and gives its messages in queue order (none held:
  // empty). What was written stays in the store under the record's id, for
  // the queue that takes them (VHost::MoveHome).
  std::vector<core::MessagePtr> Take(const std::string& vhost, const std::string& queue);
  size_t size() const { return copies_.size(); }

  // Whether a member may feed this member's copy of `queue`: the record
  // names this member among its mirrors and that member (`is_from(id)` says
  // whether `id` is it) as the home. A home that no longer is one
  // (restarted before it applied a failover that moved the queue) must not
  // touch the copy the new home feeds.
  static bool FedBy(const core::Broker& broker, const std::string& vhost,
                    const std::string& queue, const std::function<bool(uint64_t)>& is_from);

  // Drops the copies of queues that are gone or that this member no longer
  // mirrors (their records, in the broker, say so).
  void Prune();

 private:
  // Settles what `copy` wrote to the store (the entries left it).
  void Forget(Copy& copy, const core::MessagePtr& message);
  void Clear(Copy& copy);

  core::Broker& broker_;
  std::map<std::pair<std::string, std::string>, Copy> copies_;
};

}  // namespace warren::cluster
