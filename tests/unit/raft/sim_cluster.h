// SimCluster: Raft nodes on a simulated network and simulated disks, driven
// one tick at a time, with the Oracle judging every step. The scenario tests
// drive it by hand (cut links, crash a node, propose); the simulator drives
// it from a seed.
//
// One Tick(): deliver the packets due (decoded from the bytes the sender's
// message encoded to), tick every live node, then run each node's Ready
// cycle as docs/raft.md prescribes: write, sync, send, apply, Advance. A
// Ready may stay written but unsynced (and its messages unsent) for a while
// when faults().sync_delay says so; a crash then loses part of it.
//
// Everything random comes from the seed, so a run replays exactly.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "oracle.h"
#include "raft/raft.h"
#include "sim_disk.h"
#include "sim_rng.h"
#include "sim_state_machine.h"

namespace warren::raft::sim {

struct Faults {
  double loss = 0;        // a packet is dropped
  double duplicate = 0;   // a packet is delivered twice
  int max_delay = 0;      // extra ticks in flight, 0..max_delay, so packets overtake
  double sync_delay = 0;  // a written Ready stays unsynced for another tick
};

class SimCluster {
 public:
  SimCluster(std::vector<NodeId> voters, uint64_t seed, Options base = DefaultOptions());
  static Options DefaultOptions();

  // ---- Nodes
  // A node with an empty disk, in no configuration yet; returns its id,
  // which is NextId() until then.
  NodeId AddNode();
  NodeId NextId() const { return next_id_; }
  void Crash(NodeId id);  // unsynced writes: a random prefix survives
  void Restart(NodeId id);
  void Retire(NodeId id);  // gone for good, never restarted
  bool IsUp(NodeId id) const;
  bool IsRetired(NodeId id) const;
  Raft& raft(NodeId id);
  const SimStateMachine& state(NodeId id) const;
  std::vector<NodeId> ids() const;   // every node ever added
  std::vector<NodeId> live() const;  // those up now
  // The state machine's snapshot at what it has applied (Raft::Compact).
  bool TakeSnapshot(NodeId id);

  // ---- Network
  void Cut(NodeId from, NodeId to);  // one way
  void Isolate(NodeId id);           // both ways, from everyone
  void HealNetwork();
  bool IsCut(NodeId from, NodeId to) const;
  Faults& faults() { return faults_; }
  // Sees every packet before it is delivered; false drops it.
  void SetFilter(std::function<bool(Message&)> filter) { filter_ = std::move(filter); }

  // ---- Time
  void Tick();
  void Run(int ticks);
  // Ticks until `done` (checked after each tick) or `max_ticks`; whether done.
  bool RunUntil(const std::function<bool()>& done, int max_ticks);
  uint64_t now() const { return now_; }
  // The live leader of the highest term, or kNoNode.
  NodeId Leader() const;
  NodeId WaitForLeader(int max_ticks = 200);
  // A leader other than `old` (which may still believe it leads).
  NodeId WaitForNewLeader(NodeId old, int max_ticks = 200);

  // ---- Clients
  // Proposes through `id`; the oracle learns of the acknowledgement when
  // that node applies the entry.
  Result<Proposal> Propose(NodeId id, std::string command);
  // Proposes `n` commands, prefix + "0", prefix + "1"..., through `id`;
  // returns the last one's index, or 0 if any was refused.
  Index ProposeMany(NodeId id, int n, const std::string& prefix = "c");
  // Cuts `behind` off, commits `n` commands through `leader` without it,
  // and reconnects it; returns the last command's index (0 if it failed).
  Index CommitWithout(NodeId behind, NodeId leader, int n);
  // Ticks until `id` has applied `index`.
  bool WaitApplied(NodeId id, Index index, int max_ticks = 200);

  // What the run exercised, so a test can tell it tested something.
  struct Stats {
    uint64_t crashes = 0;
    uint64_t lost_writes = 0;  // unsynced writes crashes dropped
    uint64_t installs = 0;     // snapshots installed from a leader
    uint64_t delivered = 0;
  };
  const Stats& stats() const { return stats_; }
  Oracle& oracle() { return oracle_; }
  Rng& rng() { return rng_; }
  // Empty while every safety property holds.
  const std::string& failure() const { return oracle_.failure(); }
  // With tracing on, every event and delivery is printed to stderr.
  void set_trace(bool on) { trace_ = on; }
  void Trace(const std::string& line) const;

 private:
  struct Node {
    NodeId id = kNoNode;
    std::unique_ptr<Raft> raft;  // null while down
    bool retired = false;
    SimDisk disk;
    std::optional<Ready> unsynced;
    SimStateMachine sm;
    std::map<Index, std::pair<Term, std::string>> proposals;
  };
  struct Packet {
    uint64_t due = 0;
    uint64_t seq = 0;
    Message sent;
    std::string bytes;
  };

  Node& node(NodeId id);
  const Node& node(NodeId id) const;
  void Boot(Node& n);
  void Deliver();
  void Send(const Message& m);
  void RunReady(Node& n);
  void Flush(Node& n);
  void Apply(Node& n, const Entry& e);

  Options base_;
  Rng rng_;
  Oracle oracle_;
  std::map<NodeId, Node> nodes_;
  NodeId next_id_ = 1;
  std::set<std::pair<NodeId, NodeId>> cut_;
  Faults faults_;
  std::function<bool(Message&)> filter_;
  std::vector<Packet> in_flight_;
  uint64_t seq_ = 0;
  uint64_t now_ = 0;
  bool trace_ = false;
  Stats stats_;
};

}  // namespace warren::raft::sim
