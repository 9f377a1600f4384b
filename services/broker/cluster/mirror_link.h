// How a home's feeds (queue_replicator.h) reach the members that hold its
// queues' mirrors (docs/mirroring.md, "Replication"): one ordered stream per
// member. RemoteQueues carries it on Cluster.Queues; the replication
// simulator (tests/unit/cluster/mirror_sim.h) on its simulated network.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "broker/core/message.h"

namespace warren::cluster {

class MirrorLink {
 public:
  virtual ~MirrorLink() = default;
  // In order on the stream to `member`. `held(true)` once the mirror holds
  // the entry; false when the stream broke first (or the mirror had no copy
  // started: no reset since).
  virtual void MirrorReset(uint64_t member, const std::string& vhost, const std::string& queue,
                           uint64_t epoch) = 0;
  virtual void MirrorEnter(uint64_t member, const std::string& vhost, const std::string& queue,
                           uint64_t seq, core::MessagePtr message,
                           std::function<void(bool)> held) = 0;
  virtual void MirrorLeave(uint64_t member, const std::string& vhost, const std::string& queue,
                           std::vector<uint64_t> seqs) = 0;
  // How many times the stream to `member` broke or could not open: a feed
  // that sees it move knows its mirror may have lost what it was sent.
  virtual uint64_t Breaks(uint64_t member) = 0;
  // The stream to `member` could not open a moment ago (sends now fail).
  virtual bool Refusing(uint64_t member) = 0;
};

}  // namespace warren::cluster
