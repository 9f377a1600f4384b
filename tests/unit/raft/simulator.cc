#include "simulator.h"

#include <algorithm>
#include <vector>

#include "raft/errors.h"
#include "sim_cluster.h"

namespace warren::raft::sim {

namespace {

// One seed's run: draw the faults, disturb for chaos_ticks, heal, check.
class Chaos {
 public:
  Chaos(const Scenario& s, uint64_t seed, bool trace)
      : s_(s), cluster_(FirstVoters(s.voters), seed, DrawOptions(seed)) {
    cluster_.set_trace(trace);
    Rng& rng = cluster_.rng();
    Faults& f = cluster_.faults();
    f.loss = rng.Pick(std::vector<double>{0, 0.01, 0.05, 0.15});
    f.duplicate = rng.Pick(std::vector<double>{0, 0.02, 0.1});
    f.max_delay = static_cast<int>(rng.Pick(std::vector<uint64_t>{0, 1, 3, 6}));
    f.sync_delay = rng.Pick(std::vector<double>{0, 0.2, 0.5});
    // Quiet clusters matter too: with few proposals a cut-off node's log
    // stays as up to date as the others', and only leases stop it.
    propose_ = rng.Pick(std::vector<double>{0.02, 0.2, 0.5});
    cluster_.Trace("faults: loss " + std::to_string(f.loss) + " dup " +
                   std::to_string(f.duplicate) + " delay " + N(f.max_delay) + " sync delay " +
                   std::to_string(f.sync_delay));
  }

  RunResult Run() {
    for (int t = 0; t < s_.chaos_ticks && cluster_.failure().empty(); ++t) {
      Disturb();
      cluster_.Tick();
    }
    RunResult result;
    if (cluster_.failure().empty()) HealAndConverge(result);
    result.failure = cluster_.failure();
    result.acked = cluster_.oracle().acked();
    result.installs = cluster_.stats().installs;
    result.crashes = cluster_.stats().crashes;
    result.lost_writes = cluster_.stats().lost_writes;
    // Less the first configuration, entry 1.
    size_t configs = cluster_.oracle().CountApplied(EntryType::kMembership);
    result.membership_changes = configs > 0 ? configs - 1 : 0;
    return result;
  }

 private:
  // Timeouts and batching vary by seed: one entry per message with a window
  // of two makes old entries reach a quorum without the new leader's no-op.
  static Options DrawOptions(uint64_t seed) {
    Rng rng(~seed);
    Options o = SimCluster::DefaultOptions();
    o.election_ticks = static_cast<int>(6 + rng.Below(7));
    o.heartbeat_ticks = static_cast<int>(1 + rng.Below(o.election_ticks / 2));
    o.max_entries_per_message = rng.Pick(std::vector<size_t>{1, 2, 4, 8});
    o.max_inflight_entries = rng.Pick(std::vector<size_t>{2, 8, 32});
    return o;
  }

  static std::vector<NodeId> FirstVoters(int n) {
    std::vector<NodeId> ids;
    for (int i = 1; i <= n; ++i) ids.push_back(static_cast<NodeId>(i));
    return ids;
  }

  Rng& rng() { return cluster_.rng(); }

  // One tick's events, each with its own small chance.
  void Disturb() {
    if (rng().Chance(0.02)) Crash();
    if (rng().Chance(0.01)) CrashLeader();
    if (rng().Chance(0.01)) IsolateLeader();
    if (rng().Chance(0.01)) Reboot();
    for (NodeId id : cluster_.ids()) {
      if (!cluster_.IsUp(id) && rng().Chance(0.06)) cluster_.Restart(id);
    }
    if (rng().Chance(0.015)) Repartition();
    if (rng().Chance(0.03)) cluster_.HealNetwork();
    if (rng().Chance(propose_)) Propose();
    if (s_.membership && rng().Chance(0.03)) ChangeMembership();
    if (s_.membership && rng().Chance(0.005)) {
      for (int i = 0; i < 4; ++i) ChangeMembership();  // all but the first are refused
    }
    if (rng().Chance(0.05)) cluster_.TakeSnapshot(rng().Pick(cluster_.ids()));
    if (rng().Chance(0.005)) Transfer();
  }

  void Crash() {
    std::vector<NodeId> up = cluster_.live();
    if (!up.empty()) cluster_.Crash(rng().Pick(up));
  }

  // Leaders that lose power soon after they win are what the commit rule
  // (§5.4.2, the paper's Figure 8) is about.
  void CrashLeader() {
    if (NodeId leader = cluster_.Leader(); leader != kNoNode) cluster_.Crash(leader);
  }

  // Down and up within the tick: whatever the node promised in memory only
  // (that it heard from a leader lately) is forgotten.
  void Reboot() {
    std::vector<NodeId> up = cluster_.live();
    if (up.empty()) return;
    NodeId id = rng().Pick(up);
    cluster_.Crash(id);
    cluster_.Restart(id);
  }

  void IsolateLeader() {
    NodeId leader = cluster_.Leader();
    if (leader == kNoNode) return;
    cluster_.HealNetwork();
    cluster_.Isolate(leader);
    cluster_.Trace("leader " + N(leader) + " isolated");
  }

  // A symmetric split of the nodes, or a few one-way cuts.
  void Repartition() {
    cluster_.HealNetwork();
    std::vector<NodeId> ids = cluster_.ids();
    if (rng().Chance(0.5)) {
      std::vector<NodeId> side;
      for (NodeId id : ids) {
        if (rng().Chance(0.5)) side.push_back(id);
      }
      for (NodeId a : side) {
        for (NodeId b : ids) {
          if (std::find(side.begin(), side.end(), b) != side.end()) continue;
          cluster_.Cut(a, b);
          cluster_.Cut(b, a);
        }
      }
      cluster_.Trace("partition: " + N(side.size()) + " of " + N(ids.size()) + " apart");
    } else {
      for (uint64_t i = 1 + rng().Below(3); i > 0; --i) {
        NodeId from = rng().Pick(ids), to = rng().Pick(ids);
        if (from != to) cluster_.Cut(from, to);
        cluster_.Trace("cut " + N(from) + " -> " + N(to));
      }
    }
  }

  // A client picks a node it believes leads (any, when none does).
  void Propose() {
    NodeId to = cluster_.Leader();
    std::vector<NodeId> up = cluster_.live();
    if (up.empty()) return;
    if (to == kNoNode || rng().Chance(0.1)) to = rng().Pick(up);
    (void)cluster_.Propose(to, "c" + N(++commands_));
  }

  // Grows the group a learner at a time up to max_members, promotes
  // learners, and shrinks it back, sometimes by removing the leader.
  void ChangeMembership() {
    NodeId leader = cluster_.Leader();
    if (leader == kNoNode) return;
    Raft& r = cluster_.raft(leader);
    const Configuration& c = r.config();
    size_t members = c.voters.size() + c.learners.size();
    MembershipChange change;
    if (!c.learners.empty()) {
      change = {MembershipChange::Kind::kPromote, rng().Pick(c.learners)};
    } else if (members < static_cast<size_t>(s_.max_members) &&
               (c.voters.size() <= static_cast<size_t>(s_.min_voters) || rng().Chance(0.5))) {
      change = {MembershipChange::Kind::kAddLearner, cluster_.NextId()};
    } else if (c.voters.size() > static_cast<size_t>(s_.min_voters)) {
      change = {MembershipChange::Kind::kRemove, rng().Pick(c.voters)};
    } else {
      return;
    }
    Result<Proposal> p = r.ProposeMembership(change);
    std::string outcome = p.ok() ? " proposed at " + N(p->index) : ": " + p.error().text;
    cluster_.Trace("membership change " + N(static_cast<int>(change.kind)) + " of node " +
                   N(change.node) + outcome);
    if (p.ok() && change.kind == MembershipChange::Kind::kAddLearner) cluster_.AddNode();
  }

  void Transfer() {
    NodeId leader = cluster_.Leader();
    if (leader == kNoNode) return;
    Raft& r = cluster_.raft(leader);
    NodeId to = rng().Pick(r.config().voters);
    if (to != leader) (void)r.TransferLeadership(to);
  }

  // Every link up, every node up, no loss: a leader must appear, and every
  // member must reach the same state, holding every acknowledged command.
  void HealAndConverge(RunResult& result) {
    cluster_.Trace("heal");
    cluster_.HealNetwork();
    cluster_.faults() = Faults{};
    for (NodeId id : cluster_.ids()) cluster_.Restart(id);
    uint64_t start = cluster_.now();
    if (!cluster_.RunUntil([&] { return SettledLeader() != kNoNode; }, kHealBound)) {
      if (cluster_.failure().empty()) {
        cluster_.oracle().Fail("no leader within " + N(kHealBound) + " ticks of healing");
      }
      return;
    }
    result.heal_ticks = cluster_.now() - start;
    Term proposed_in = 0;
    auto converged = [&] {
      NodeId leader = SettledLeader();
      if (leader == kNoNode) return false;
      Raft& r = cluster_.raft(leader);
      if (proposed_in != r.term() && cluster_.Propose(leader, "final").ok()) {
        proposed_in = r.term();
      }
      return proposed_in == r.term() && Converged(r);
    };
    if (!cluster_.RunUntil(converged, kHealBound)) {
      if (cluster_.failure().empty()) {
        cluster_.oracle().Fail("members did not converge within " + N(kHealBound) +
                               " ticks of a leader after healing");
      }
      return;
    }
    CheckSameState(cluster_.raft(cluster_.Leader()));
  }

  // A leader that has committed an entry of its term.
  NodeId SettledLeader() {
    NodeId leader = cluster_.Leader();
    if (leader == kNoNode) return kNoNode;
    const Raft& r = cluster_.raft(leader);
    return r.log().TermAt(r.commit_index()) == r.term() ? leader : kNoNode;
  }

  // The leader has committed its whole log and every member has applied it.
  bool Converged(const Raft& leader) {
    if (leader.commit_index() != leader.log().last_index()) return false;
    for (NodeId m : Members(leader.config())) {
      if (!cluster_.IsUp(m) || cluster_.state(m).applied != leader.commit_index()) return false;
    }
    return true;
  }

  void CheckSameState(const Raft& leader) {
    const auto& expected = cluster_.state(leader.id()).commands;
    for (NodeId m : Members(leader.config())) {
      if (cluster_.state(m).commands != expected) {
        cluster_.oracle().Fail("node " + N(m) + " converged to another state than the leader");
      }
      cluster_.oracle().CheckAcked(m, cluster_.state(m).commands);
    }
  }

  static std::vector<NodeId> Members(const Configuration& c) {
    std::vector<NodeId> all = c.voters;
    all.insert(all.end(), c.learners.begin(), c.learners.end());
    return all;
  }

  Scenario s_;
  SimCluster cluster_;
  uint64_t commands_ = 0;
  double propose_ = 0.5;  // chance of a proposal per tick
};

}  // namespace

RunResult RunSeed(const Scenario& scenario, uint64_t seed, bool trace) {
  return Chaos(scenario, seed, trace).Run();
}

}  // namespace warren::raft::sim
