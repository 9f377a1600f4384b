// Runs one node's Raft core (raft/raft.h) on the node's event loop: ticks
// from a Runtime timer; each Ready saved through RaftStorage before any of
// its messages goes out; messages encoded and handed to a Transport;
// committed entries applied to a StateMachine in log order; each proposal
// answered once the entry at its index is applied (docs/cluster.md, "The
// Raft driver").
//
// A proposal is answered OK when the entry applied at its index is the one
// it proposed (same term), and kNotCommitted when another entry took that
// index (a new leader overwrote it), when this node is not the leader, or
// when no majority applied it within proposal_timeout_ms (the minority side
// of a partition). After a timeout the entry may still commit later, as
// with any broker that answers before it knows: the state machine applies it
// on every node all the same.
//
// Every compact_every applied entries the driver takes the state machine's
// snapshot at the applied index, compacts the core's log to it and saves it
// (RaftStorage::SaveCompaction), so the log on disk and in memory stays
// bounded (docs/cluster.md, "Metadata through the log").
//
// Lifecycle: every call on the loop that owns the Runtime. A failed save
// calls on_fatal (the node exits, as the message store does): nothing that
// depended on it has been sent. Destroying the driver answers every
// proposal still pending with kNotCommitted, there and then.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/runtime.h"
#include "common/status.h"
#include "raft/raft.h"

namespace warren::cluster {

class RaftStorage;

inline constexpr uint16_t kNotCommitted = 504;  // what a client sees: a timeout, retry

// "metadata change not committed: <why>", code kNotCommitted.
Error NotCommitted(const std::string& why);

class StateMachine {
 public:
  virtual ~StateMachine() = default;
  // A committed command, in log order on every node.
  virtual void Apply(const raft::Entry& entry) = 0;
  // Replaces the whole state (a snapshot from the leader, or at start).
  virtual void Restore(const raft::Snapshot& snapshot) = 0;
  // The whole state as of the last entry applied, for compaction.
  virtual std::string TakeSnapshot() const = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Sends an encoded message to `to`; may drop it (Raft sends again).
  virtual void Send(raft::NodeId to, std::string bytes) = 0;
};

struct DriverOptions {
  raft::Options raft;
  int64_t tick_ms = 100;
  int64_t proposal_timeout_ms = 5000;
  // Applied entries between two compactions; 0: never compact.
  uint64_t compact_every = 10000;
  std::function<void(const std::string&)> on_fatal;
  // Called after each tick, and whenever the configuration in force (the
  // members and their addresses) differs from the one last seen; both on
  // the loop, never re-entering the driver's own processing.
  std::function<void()> on_tick;
  std::function<void(const raft::Configuration&)> on_config;
};

class RaftDriver {
 public:
  // `at` is the proposal's index and term; zero when it was refused before
  // it had any (this node is not the leader).
  using Done = std::function<void(Status status, raft::Proposal at)>;

  // `persisted` is what storage.Open() read (for a new group's first
  // members: Persisted::Bootstrap, saved through storage first, so a restart
  // reads it back); the state machine is restored from its snapshot here.
  RaftDriver(Runtime& runtime, RaftStorage& storage, Transport& transport,
             StateMachine& machine, DriverOptions options, raft::Persisted persisted);
  ~RaftDriver();
  RaftDriver(const RaftDriver&) = delete;
  RaftDriver& operator=(const RaftDriver&) = delete;

  void Start();  // ticks begin
  // A message's bytes from a peer; bytes that do not decode are dropped.
  void Receive(std::string_view bytes);
  // What one read from a peer's stream brought, stepped together: they share
  // one save (one fsync) and one batch of answers per peer.
  void Receive(const std::vector<std::string>& batch);
  // Proposes `command`; `done` runs exactly once (see above). Returns where
  // the entry was appended, or none when it was refused at once (`done` has
  // then run).
  std::optional<raft::Proposal> Propose(std::string command, Done done);
  // Proposes a membership change (raft.h); answered as Propose is, once
  // the configuration entry is applied here.
  void ProposeMembership(raft::MembershipChange change, Done done);

  const raft::Raft& raft() const { return raft_; }

 private:
  struct Pending {
    raft::Term term;
    Done done;
    TimerId timer;
  };
  void Tick();
  void Step(std::string_view bytes);  // decoded and given to the core, or dropped
  void Process();
  // Answers `done` at once when `p` was refused, else once its entry is
  // applied (or replaced, or not committed in time).
  std::optional<raft::Proposal> Track(Result<raft::Proposal> p, Done done);
  void NoteConfig();
  // Logs each new leader once: "cluster: member N leads ... in term T".
  void NoteLeader();
  void Resolve(raft::Index index, Status status);
  void MaybeCompact();
  void Fail(const Status& status);

  Runtime& runtime_;
  RaftStorage& storage_;
  Transport& transport_;
  StateMachine& machine_;
  DriverOptions options_;
  raft::Raft raft_;
  TimerId tick_timer_ = 0;
  TimerId process_timer_ = 0;  // proposals wait for it (Track)
  bool processing_ = false;
  raft::NodeId logged_leader_ = raft::kNoNode;
  raft::Term logged_term_ = 0;
  raft::Configuration seen_config_;
  bool failed_ = false;
  bool stopping_ = false;
  raft::Index compact_tried_at_ = 0;  // the applied index of the last failed compaction
  std::map<raft::Index, Pending> pending_;
};

}  // namespace warren::cluster
