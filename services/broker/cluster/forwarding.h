// A metadata change sent to a follower goes to the leader (docs/cluster.md,
// "Metadata through the log"): the follower's RaftGate hands the encoded
// command to a Forwarder, the leader's Cluster service (Cluster.Propose)
// hands it to the leader's RaftGate, and the leader answers once it has
// applied the entry.
#pragma once

#include <functional>
#include <string>

#include "broker/core/command.h"
#include "raft/types.h"

namespace warren::cluster {

// The leader's answer to a forwarded command.
struct ForwardResult {
  // The model's outcome (a refusal such as 406 is an outcome like any
  // other) when index > 0; when index is 0, why the change was not
  // committed (kNotCommitted), and nothing changed through it.
  core::Outcome outcome;
  raft::Index index = 0;  // where the leader committed and applied the entry
  raft::Term term = 0;
  // The leader answered once it appended the entry at index (in term),
  // before it committed; `outcome` is then empty: the follower takes the
  // outcome from its own apply of that entry (docs/cluster.md, "Metadata
  // through the log").
  bool appended = false;
  // The leader could not be reached at all (the change never left this
  // node), so it may be sent again, to the next leader.
  bool unreached = false;
};

// Carries an encoded command (command_codec.h) to the leader. The node
// implements it over gRPC with PeerClient::Propose, off its loop.
//
// `done` runs at most once, on the node's loop; a forwarder may give up
// without calling it (a lost peer), since the gate answers the client after
// its proposal timeout all the same.
class Forwarder {
 public:
  virtual ~Forwarder() = default;
  virtual void Forward(raft::NodeId leader, std::string command,
                       std::function<void(ForwardResult)> done) = 0;
  // Asks `leader` to renew this member's lease as a home of mirrored
  // queues (docs/mirroring.md, "The home's lease"): done(true, commit) once
  // it granted it, with its commit index then. A forwarder that cannot ask
  // never calls `done`.
  virtual void Renew(raft::NodeId /*leader*/,
                     std::function<void(bool granted, uint64_t commit)> /*done*/) {}
};

}  // namespace warren::cluster
