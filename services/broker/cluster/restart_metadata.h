// What a restarted member's store does not bring back (docs/cluster.md, "A
// member's restart"): the store keeps only durable definitions, so the
// transient exchanges, the records of transient queues homed on other
// members and the bindings that join them are rebuilt from the Raft log.
//
// The log on disk (its snapshot and the entries after it) holds every
// change through the store's applied index. They are applied to a scratch
// broker, in which every queue is a record (no messages, no timers); what
// that broker holds and the store's broker lacks is then applied to the
// store's broker. This member's own transient queues lost their messages
// with the restart: they are not rebuilt, and are returned, to be deleted
// cluster-wide through the log, as RabbitMQ deletes a node's non-durable
// queues (it does so when the node goes down).
//
// Called once, on the loop, while the member is built and before the
// driver replays anything.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "broker/core/command.h"
#include "raft/raft.h"

namespace warren::core {
class Broker;
}

namespace warren::cluster {

struct TransientRestore {
  size_t exchanges = 0;  // transient exchanges rebuilt
  size_t records = 0;    // records of other members' transient queues rebuilt
  size_t bindings = 0;   // bindings rebuilt
  std::vector<core::cmd::DeleteQueue> lost;  // this member's transient queues
};

// `applied`: the store's applied index (Persistence::metadata_applied);
// `self`: this member's id. Nothing to do when nothing was applied, or when
// the log's snapshot is newer than the store (the driver restores it in
// full); the same when the log no longer reaches back to `applied`, which
// is logged.
TransientRestore RestoreTransient(core::Broker& broker, const raft::Persisted& log,
                                  raft::Index applied, uint64_t self);

}  // namespace warren::cluster
