// The home's side of mirrored queues (docs/mirroring.md, "Replication" and
// "Sync"): for each queue homed here that has mirrors, a Feed is told of
// every entry that joins, comes back or leaves the queue (core::QueueReplica)
// and sends it, in order, to each mirror's member (mirror_link.h: the MIRROR
// ops on Cluster.Queues; the member keeps it in cluster/mirror_copies.h).
//
// A mirror is in one of three states:
//   syncing  --(every entry the queue had is held)-->  joining
//   joining  --(SetMirrors with it in sync committed)-->  in sync
//   any      --(stream broke, or an entry unheld for kSilentMirrorMs)-->  leaving
//   leaving  --(SetMirrors without it in sync committed)-->  syncing again
// While a mirror is joining or in sync (or leaving), every new entry's
// durability ticket waits for that mirror to hold it, so a confirm means
// every in-sync copy holds the message. A mirror leaves the in-sync set only
// by a committed change; the waits it still has are then answered, so a dead
// mirror delays confirms by at most kSilentMirrorMs plus a commit. Its copy
// is reset (emptied) only after that commit: a mirror the record may list
// in sync keeps what it holds, since a failover may promote it.
//
// A sync sends the entries the queue holds in batches of ha-sync-batch-size
// a tick while publishes go on (their entries go to the mirror at once), and
// no more while the mirror owes kSyncBatchesUnheld batches' worth of
// answers.
// With ha-sync-mode manual (RabbitMQ's default) a mirror gets only the new
// entries, and joins once the older ones left the queue, or once an operator
// asks for a sync (SyncMirrors).
// When the feed starts (a new record, a restarted home), mirrors the record
// lists in sync have not been shown to hold this home's entries, and the
// record itself may lag: the feed first commits a fence (every mirror out of
// the in-sync set, at a higher epoch), and syncs them again after it.
//
// Runs on the node's loop; Tick every 100 ms.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "broker/core/command.h"
#include "broker/core/mirroring.h"
#include "common/runtime.h"

namespace warren::core {
class Broker;
}

namespace warren::cluster {

class MirrorLink;
class MirrorCopies;

class QueueReplicator final : public core::MirrorSync {
 public:
  static constexpr int64_t kSilentMirrorMs = 5000;
  static constexpr size_t kDefaultSyncBatch = 4096;
  // A sync's batches a mirror may owe answers for at once.
  static constexpr size_t kSyncBatchesUnheld = 2;

  QueueReplicator(core::Broker& broker, MirrorLink& remote, core::MetadataGate& gate,
                  Runtime& runtime, MirrorCopies* copies);
  ~QueueReplicator() override;
  QueueReplicator(const QueueReplicator&) = delete;
  QueueReplicator& operator=(const QueueReplicator&) = delete;

  // Starts, steps and stops feeds as the records say; prunes the copies
  // this member no longer mirrors.
  void Tick();

  // core::MirrorSync (warrenctl sync_queue, cancel_sync_queue).
  Status SyncMirrors(const std::string& vhost, const std::string& queue, bool cancel) override;

 private:
  class Feed;
  core::Broker& broker_;
  MirrorLink& remote_;
  core::MetadataGate& gate_;
  Runtime& runtime_;
  MirrorCopies* copies_;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<Feed>> feeds_;
  TimerId timer_ = 0;
};

}  // namespace warren::cluster
