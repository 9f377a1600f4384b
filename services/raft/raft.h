// Raft: the consensus core of one group (the cluster's metadata). It does no
// I/O (no sockets, threads, clocks or files): the node feeds it ticks,
// messages and proposals, and drains what it must persist, send and apply.
// docs/raft.md explains the design; this header is the contract.
//
// Inputs
//   Tick()                 one logical timer tick. Followers start a pre-vote
//                          after a randomised [T, 2T) ticks without a leader
//                          (T = election_ticks); leaders send heartbeats
//                          every heartbeat_ticks and step down when no quorum
//                          has answered within T (check-quorum).
//   Step(message)          a message from a peer (decoded with codec.h).
//   Propose(command)       leader only: appends a command; the answer is the
//                          index and term it will have if it commits.
//   ProposeMembership(..)  leader only: add a learner, promote a caught-up
//                          learner to voter, or remove a member; one change
//                          at a time.
//   TransferLeadership(to) leader only: hands leadership to a voter.
//   Compact(index, data)   the state machine's snapshot at an applied index;
//                          the log up to it is dropped from memory.
//
// Outputs: while HasReady(), TakeReady() and then, in this order:
//   1. write ready.hard_state, ready.snapshot and ready.entries, and make
//      them durable (one fsync). ready.snapshot replaces the stored snapshot
//      and every stored entry; an entry at index i replaces the stored entry
//      at i and everything after it.
//   2. send ready.messages, and not before step 1 is durable: a vote, an
//      acknowledgement of entries or a leader's claim all rely on it. (A
//      leader's AppendEntries and InstallSnapshot may go before: they claim
//      nothing of its own write; their `stable` says how far it is durable.)
//   3. restore the state machine from ready.snapshot, if any, then apply
//      ready.committed in order. (Committed entries are already durable on a
//      quorum, so applying may overlap step 1; the order between them may
//      not change.)
//   4. call Advance(): the core then counts the entries as durable (a
//      leader counts itself towards commit only from here) and applied.
// Only one Ready is out at a time: HasReady() is false until Advance().
// Inputs may be given meanwhile; their output waits for the next Ready.
// A crash may lose any of step 1 that was not yet durable: nothing that
// depends on it has left the node.
//
// Restart: build a Raft from Persisted (what steps 1 wrote, and the latest
// snapshot from Compact), after restoring the state machine from that
// snapshot. The commit point is learned again from the leader; committed
// entries after the snapshot come out again in a Ready.
//
// Lifecycle: one per node and group, used from one thread (the node's loop).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "raft/log.h"
#include "raft/message.h"
#include "raft/progress.h"
#include "raft/types.h"

namespace warren::raft {

struct Options {
  NodeId id = kNoNode;
  int election_ticks = 10;   // T; followers wait [T, 2T), leaders' lease and check-quorum
  int heartbeat_ticks = 1;   // below election_ticks
  uint64_t seed = 0;         // for the randomised election timeout
  size_t max_entries_per_message = 64;
  size_t max_bytes_per_message = size_t{1} << 20;  // of payload; one entry always fits
  size_t max_inflight_entries = 512;               // sent but unacknowledged, per peer
};

// What a node read back from its disk at start.
struct Persisted {
  HardState hard_state;
  // Index 0 when none was taken.
  Snapshot snapshot;
  std::vector<Entry> entries;  // the stored log after the snapshot, in order

  // A new group's first members each start from Bootstrap(the same voters):
  // term 1 and one entry, the first configuration. A node joining an
  // existing group starts from an empty Persisted and learns everything,
  // that entry included, from the leader.
  static Persisted Bootstrap(std::vector<NodeId> voters);
  // The same with the first members' addresses (Configuration::addresses);
  // its learners must be empty.
  static Persisted Bootstrap(Configuration first);
};

enum class Role : uint8_t { kFollower, kPreCandidate, kCandidate, kLeader };

struct Ready {
  std::optional<HardState> hard_state;  // changed since the last Ready
  std::optional<Snapshot> snapshot;     // from the leader: persist, then restore from it
  std::vector<Entry> entries;           // to append (may replace a stored suffix)
  std::vector<Message> messages;        // to send once the above is durable
  std::vector<Entry> committed;         // to apply, in order
};

struct Proposal {
  Index index = 0;
  Term term = 0;  // committed as proposed only if the entry at index has this term
};

struct MembershipChange {
  enum class Kind : uint8_t { kAddLearner, kPromote, kRemove };
  Kind kind = Kind::kAddLearner;
  NodeId node = kNoNode;
  std::string address = {};  // kAddLearner: the new member's, kept in the configuration
};

class Raft {
 public:
  Raft(const Options& options, Persisted persisted);

  void Tick();
  void Step(Message m);
  Result<Proposal> Propose(std::string command);
  Result<Proposal> ProposeMembership(MembershipChange change);
  Status TransferLeadership(NodeId to);
  // index must be applied (acknowledged by Advance) and past the current
  // snapshot. The caller persists the snapshot (meta and data) itself; it
  // may drop stored entries up to index once that is durable. The core keeps
  // `data` to send to followers that need it.
  Result<SnapshotMeta> Compact(Index index, std::string data);

  bool HasReady() const;
  Ready TakeReady();
  void Advance();

  NodeId id() const { return opts_.id; }
  Role role() const { return role_; }
  Term term() const { return term_; }
  NodeId vote() const { return vote_; }
  NodeId leader() const { return leader_; }  // kNoNode when unknown
  Index commit_index() const { return log_.committed(); }
  // How far the cluster has committed, as far as this node can tell: the
  // leader's commit index (ours, as leader; the highest this term's leader
  // sent, as follower), once it is an entry of this term. Before that a new
  // leader's commit index may lag what earlier leaders committed: none.
  std::optional<Index> KnownClusterCommit() const;
  const Configuration& config() const { return log_.config(); }
  const RaftLog& log() const { return log_; }
  const Snapshot& snapshot() const { return snapshot_; }
  uint64_t now() const { return now_; }  // ticks since this Raft was built
  // Leader only: how far a peer's log is known to match ours.
  std::optional<Index> MatchIndex(NodeId peer) const;
  // Leader only: the latest tick (of now()) the peer is known to have
  // answered this leader at, or the tick it became leader if none since.
  std::optional<uint64_t> LastHeard(NodeId peer) const;
  // Leader only: the tick (of now()) until which no other node can be leader.
  // A quorum has answered messages sent at tick t, and each of those voters
  // refuses to vote for anyone else for T ticks after hearing from us, so no
  // other leader can exist before t + T. It assumes ticks run at the same
  // rate on every node: the caller subtracts its margin for clock drift. None
  // after this term's leader has asked another node to campaign.
  std::optional<uint64_t> LeaseUntil() const;
  bool HasLease() const;  // LeaseUntil() is past now()

 private:
  // raft.cc: roles, ticks, dispatch, Ready.
  void TickFollower();
  void TickLeader();
  bool StepTerm(const Message& m);
  void BecomeFollower(Term term, NodeId leader);
  void BecomeLeader();
  void HearFromLeader(NodeId leader);
  void ResetElectionTimer();
  bool InLease() const;
  uint64_t QuorumLeaseTick() const;
  Status CanPropose() const;
  void Send(NodeId to, MessageBody body);
  void Send(NodeId to, Term term, MessageBody body);

  // raft_election.cc: pre-vote, vote, campaign (Raft §5.2, dissertation §9.6).
  void StartPreVote();
  void Campaign(bool transfer);
  void RequestVotes(bool pre_vote, bool transfer);
  void CountVotes();
  void HandleVoteRequest(const Message& m, const VoteRequest& req);
  void HandleVoteResponse(const Message& m, const VoteResponse& resp);
  void HandleTimeoutNow(const Message& m);

  // raft_replication.cc: AppendEntries both ways, commit (Raft §5.3, §5.4).
  Progress* FindProgress(NodeId id);
  const Progress* FindProgress(NodeId id) const;
  void SendAppend(Progress& pr, bool heartbeat);
  void BroadcastAppend(bool heartbeat);
  void HandleAppend(const Message& m, AppendEntries& ae);
  void Reject(const Message& m, const AppendEntries& ae);
  void HandleAppendResponse(const Message& m, const AppendEntriesResponse& resp);
  void HandleReject(Progress& pr, const AppendEntriesResponse& resp);
  void OnMatch(Progress& pr, Index match);
  void MaybeCommit();
  void TellStable();
  void MaybeCommitAsFollower();

  // raft_membership.cc: configuration changes and leadership transfer.
  void OnLogChanged();
  void ResetProgress();
  Result<Configuration> NextConfig(const MembershipChange& change) const;
  void LeaveIfRemoved();
  void SendTimeoutNow(NodeId to);

  // raft_snapshot.cc: InstallSnapshot both ways.
  void SendSnapshot(Progress& pr);
  void HandleSnapshot(const Message& m, InstallSnapshot& is);
  void HandleSnapshotResponse(const Message& m, const InstallSnapshotResponse& resp);

  Options opts_;
  RaftLog log_;
  Configuration config_;  // log_.config() as last seen (to notice changes)
  Snapshot snapshot_;     // the latest, whole, to send to followers that need it

  Role role_ = Role::kFollower;
  Term term_ = 0;
  NodeId vote_ = kNoNode;
  NodeId leader_ = kNoNode;

  uint64_t now_ = 0;
  uint64_t rng_ = 0;
  int election_elapsed_ = 0;
  int election_timeout_ = 0;  // randomised in [T, 2T)
  int heartbeat_elapsed_ = 0;
  // Ticks since a leader was last heard from; start-up counts as hearing
  // from one, so a restarted voter keeps any lease it was part of.
  int contact_elapsed_ = 0;

  std::vector<std::pair<NodeId, bool>> votes_;  // this election's answers

  std::vector<Progress> progress_;  // leader: every member but itself
  // Follower: how far its log is known to match this term's leader's, and
  // how far the leader said its own log was durable (MaybeCommitAsFollower).
  Index leader_match_ = 0;
  Index leader_stable_ = 0;
  Index leader_commit_ = 0;  // follower: the highest commit this term's leader sent
  Index term_start_ = 0;            // leader: the index of its no-op
  uint64_t leader_since_ = 0;       // leader: the tick it was elected
  NodeId transfer_to_ = kNoNode;    // leader: handing over to
  int transfer_elapsed_ = 0;
  bool lease_forfeited_ = false;    // leader: a TimeoutNow went out this term

  // Ready bookkeeping.
  HardState handed_out_;                   // the hard state last handed out
  std::optional<Snapshot> snapshot_out_;  // to go out in the next Ready
  std::vector<Message> outbox_;
  bool ready_out_ = false;
  bool append_owed_ = false;  // proposals since the last Ready, not yet sent
  Index ready_applied_ = 0;  // what the Ready out hands over to apply
};

}  // namespace warren::raft
