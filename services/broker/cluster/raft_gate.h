// The MetadataGate of a node in a cluster (core/command.h; docs/cluster.md,
// "Metadata through the log"): a change is committed through the Raft log
// and applied on every node in log order before its client is answered.
//
// - On the leader, Submit encodes the command and proposes it; once the
//   entry is applied here, the client gets the Outcome the state machine
//   computed for it (a 406 from the model included). A proposal that does
//   not commit is answered kNotCommitted (504), "metadata change not
//   committed: ...".
// - On a follower, the command goes to the leader through the Forwarder; the
//   leader answers as soon as it has appended the entry, with its index and
//   term, and the follower answers its client once its own machine has
//   applied that index, with the outcome its machine computed for the entry
//   (read-your-writes on the node the client is connected to). An entry of
//   another term there (a new leader replaced it) is 504. The follower's
//   commit may come before the leader's (raft.h, docs/raft.md "A follower
//   that completes a quorum"). No answer within the proposal timeout (a lost
//   leader, a cut link, a follower that lags) is 504.
// - No leader known (an election under way, or a node cut off): the change
//   waits for one, polling every kLeaderPollMs; 504 when none is elected
//   within the timeout. A leader the forwarder could not reach (nothing was
//   sent) is tried again after kRetryUnreachedMs while it still leads: the
//   failure may have been passing (a member that just joined and did not
//   know the leader's address yet).
// - A command that does not decode after encoding (past the codec's bounds,
//   command_codec.h) is refused with 406 before anything is proposed.
// - ProposeForPeer is the leader's side of forwarding: what Cluster.Propose
//   runs on the node's loop.
//
// Every Done and every peer's reply runs exactly once, on the loop: when
// answered, or with 504 when the gate is destroyed with work pending. If the
// driver goes first, what it had pending is answered (504) through the
// gate; the gate must then only be destroyed.
//
// Lifecycle: one per node; every call on the node's loop. The runtime,
// machine and forwarder outlive it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "broker/cluster/forwarding.h"
#include "broker/cluster/metadata_machine.h"
#include "broker/cluster/raft_driver.h"
#include "broker/core/command.h"
#include "common/runtime.h"

namespace warren::cluster {

class RaftGate final : public core::MetadataGate {
 public:
  // `timeout_ms` bounds a follower's wait for its leader and its own apply
  // (the driver's proposal_timeout_ms bounds the leader's).
  RaftGate(Runtime& runtime, RaftDriver& driver, MetadataMachine& machine, Forwarder& forwarder,
           int64_t timeout_ms = 5000);
  ~RaftGate() override;
  RaftGate(const RaftGate&) = delete;
  RaftGate& operator=(const RaftGate&) = delete;

  void Submit(core::Command command, Done done) override;
  // On the leader: once it has applied its commit index. On a follower: the
  // leader's commit index is asked for as a forwarded change with no
  // command, and `done` runs once this node has applied that far (or at the
  // timeout).
  void Barrier(std::function<void()> done) override;

  // A command a follower forwarded (encoded): proposed if this node leads,
  // refused with 504 otherwise; answered once appended here (appended set).
  void ProposeForPeer(std::string command, std::function<void(ForwardResult)> reply);

  size_t pending() const { return calls_.size(); }
  // A leader is polled for this often while changes wait for one.
  static constexpr int64_t kLeaderPollMs = 50;
  static constexpr int64_t kRetryUnreachedMs = 1000;

 private:
  using Reply = std::function<void(ForwardResult)>;
  // A change waiting for its answer.
  struct Call {
    Reply reply;
    TimerId timer = 0;                             // a follower's timeout
    std::optional<MetadataMachine::WaitId> wait;  // for this node's apply
    raft::NodeId leader = raft::kNoNode;           // forwarded to
    raft::Index appended_at = 0;                   // the leader's answer
    std::string command;                           // while forwarded: to send again
    raft::NodeId unreachable = raft::kNoNode;      // a leader it could not reach
    int64_t unreachable_at_ms = 0;                 // when
  };

  uint64_t Open(Reply reply);
  // Proposes (leader) or forwards (a leader is known); false when no leader
  // is known, `command` then left as it was.
  bool Dispatch(uint64_t id, std::string& command);
  // No leader known (an election under way): the change waits for one, at
  // most timeout_ms_, then is answered 504.
  void AwaitLeader(uint64_t id, std::string command);
  void PollLeader();
  void Answer(uint64_t id, ForwardResult result);
  std::optional<raft::Proposal> Propose(uint64_t id, std::string command);
  // A follower's call the leader appended at `at`: answered with the outcome
  // of this node's own apply of it.
  void AnswerApplied(uint64_t id, raft::Proposal at);
  // The leader's side of a barrier: answered with its commit index once it
  // has applied that far.
  void LeaderBarrier(uint64_t id);
  void Forward(uint64_t id, raft::NodeId leader, std::string command);
  void OnForwarded(uint64_t id, ForwardResult result);
  void TimedOut(uint64_t id);

  Runtime& runtime_;
  RaftDriver& driver_;
  MetadataMachine& machine_;
  Forwarder& forwarder_;
  const int64_t timeout_ms_;
  std::map<uint64_t, Call> calls_;
  std::map<uint64_t, std::string> awaiting_leader_;  // call -> its encoded command
  TimerId leader_poll_ = 0;
  uint64_t last_call_ = 0;
  bool stopping_ = false;
  // Expires with the gate: callbacks from the driver and the forwarder that
  // come later find it gone.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace warren::cluster
