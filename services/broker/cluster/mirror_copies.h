// A member's copies of the queues it mirrors (docs/mirroring.md,
// "Replication"): what each queue's home sent it (cluster/queue_replicator.h),
// by entry seq. A copy starts at a reset from the home, for one epoch of the
// queue's record; entries then enter and leave it in the order the home saw.
//
// Held in memory (docs/mirroring.md, "Still to build": on disk). Runs on the
// node's loop.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "broker/core/message.h"

namespace warren::core {
class Broker;
}

namespace warren::cluster {

class MirrorCopies {
 public:
  struct Copy {
    uint64_t epoch = 0;
    std::map<uint64_t, core::MessagePtr> entries;  // by seq
    uint64_t bytes = 0;                            // of bodies
  };

  // The home starts the copy again (a new mirror, a new stream, a new record).
  void Reset(const std::string& vhost, const std::string& queue, uint64_t epoch);
  // False when no copy is started: the entry is not held.
  bool Enter(const std::string& vhost, const std::string& queue, uint64_t seq,
             core::MessagePtr message);
  void Leave(const std::string& vhost, const std::string& queue,
             const std::vector<uint64_t>& seqs);
  const Copy* Find(const std::string& vhost, const std::string& queue) const;
  // Removes the copy and gives its messages in queue order (none held: empty).
  std::vector<core::MessagePtr> Take(const std::string& vhost, const std::string& queue);
  size_t size() const { return copies_.size(); }

  // Whether a member may feed this member's copy of `queue`: the record
  // names this member among its mirrors and that member (`is_from(id)` says
  // whether `id` is it) as the home. A home that no longer is one
  // (restarted before it applied a failover that moved the queue) must not
  // touch the copy the new home feeds.
  static bool FedBy(const core::Broker& broker, const std::string& vhost,
                    const std::string& queue, const std::function<bool(uint64_t)>& is_from);

  // Drops the copies of queues that are gone or that `self` no longer
  // mirrors (their records, in `broker`, say so).
  void Prune(const core::Broker& broker, uint64_t self);

 private:
  std::map<std::pair<std::string, std::string>, Copy> copies_;
};

}  // namespace warren::cluster
