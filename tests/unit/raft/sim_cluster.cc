#include "sim_cluster.h"

#include <algorithm>
#include <cstdio>
#include <variant>

#include "raft/codec.h"
#include "raft/errors.h"

namespace warren::raft::sim {

namespace {

std::string Describe(const Message& m) {
  std::string head = N(m.from) + "->" + N(m.to) + " t" + N(m.term) + " ";
  if (const auto* ae = std::get_if<AppendEntries>(&m.body)) {
    return head + "append prev " + N(ae->prev_index) + "/" + N(ae->prev_term) + " n " +
           N(ae->entries.size()) + " commit " + N(ae->commit);
  }
  if (const auto* r = std::get_if<AppendEntriesResponse>(&m.body)) {
    return head + (r->success ? "ack match " + N(r->match_index)
                              : "nack at " + N(r->reject_index) + " hint " + N(r->hint_index) +
                                    "/" + N(r->hint_term));
  }
  if (const auto* v = std::get_if<VoteRequest>(&m.body)) {
    return head + (v->pre_vote ? "pre-vote" : "vote") + " last " + N(v->last_index) + "/" +
           N(v->last_term) + (v->transfer ? " transfer" : "");
  }
  if (const auto* v = std::get_if<VoteResponse>(&m.body)) {
    return head + (v->pre_vote ? "pre-vote " : "vote ") + (v->granted ? "granted" : "refused");
  }
  if (const auto* s = std::get_if<InstallSnapshot>(&m.body)) {
    return head + "snapshot " + N(s->snapshot.meta.index) + "/" + N(s->snapshot.meta.term);
  }
  if (const auto* s = std::get_if<InstallSnapshotResponse>(&m.body)) {
    return head + "snapshot ack " + N(s->match_index);
  }
  return head + "timeout-now";
}

}  // namespace

Options SimCluster::DefaultOptions() {
  Options o;
  o.election_ticks = 10;
  o.heartbeat_ticks = 2;
  o.max_entries_per_message = 4;  // small, so batching and windows are exercised
  o.max_inflight_entries = 16;
  return o;
}

SimCluster::SimCluster(std::vector<NodeId> voters, uint64_t seed, Options base)
    : base_(base), rng_(seed) {
  Persisted initial = Persisted::Bootstrap(voters);
  for (NodeId id : voters) {
    Node& n = nodes_[id];
    n.id = id;
    n.disk.Format(initial);
    Boot(n);
    next_id_ = std::max(next_id_, id + 1);
  }
}

// ---- Nodes -------------------------------------------------------------------

NodeId SimCluster::AddNode() {
  NodeId id = next_id_++;
  Node& n = nodes_[id];
  n.id = id;
  Boot(n);
  Trace("node " + N(id) + " added");
  return id;
}

void SimCluster::Boot(Node& n) {
  Persisted p = n.disk.Load();
  n.sm = SimStateMachine{};
  if (p.snapshot.meta.index > 0) {
    if (!n.sm.Restore(p.snapshot)) oracle_.Fail("node " + N(n.id) + ": stored snapshot unreadable");
    oracle_.OnRestore(n.id, p.snapshot);
  }
  Options o = base_;
  o.id = n.id;
  o.seed = rng_.Next();
  n.raft = std::make_unique<Raft>(o, std::move(p));
}

void SimCluster::Crash(NodeId id) {
  Node& n = node(id);
  if (!n.raft) return;
  Trace("node " + N(id) + " crashes with " + N(n.disk.unsynced()) + " unsynced writes");
  n.raft.reset();
  n.unsynced.reset();
  ++stats_.crashes;
  stats_.lost_writes += n.disk.Crash(rng_);
  n.sm = SimStateMachine{};
  n.proposals.clear();
}

void SimCluster::Restart(NodeId id) {
  Node& n = node(id);
  if (n.raft || n.retired) return;
  Trace("node " + N(id) + " restarts");
  Boot(n);
}

void SimCluster::Retire(NodeId id) {
  Node& n = node(id);
  Trace("node " + N(id) + " retires");
  n.raft.reset();
  n.unsynced.reset();
  n.retired = true;
}

bool SimCluster::IsUp(NodeId id) const { return node(id).raft != nullptr; }
bool SimCluster::IsRetired(NodeId id) const { return node(id).retired; }
Raft& SimCluster::raft(NodeId id) { return *node(id).raft; }
const SimStateMachine& SimCluster::state(NodeId id) const { return node(id).sm; }

std::vector<NodeId> SimCluster::ids() const {
  std::vector<NodeId> out;
  for (const auto& [id, n] : nodes_) out.push_back(id);
  return out;
}

std::vector<NodeId> SimCluster::live() const {
  std::vector<NodeId> out;
  for (const auto& [id, n] : nodes_) {
    if (n.raft) out.push_back(id);
  }
  return out;
}

bool SimCluster::TakeSnapshot(NodeId id) {
  Node& n = node(id);
  if (!n.raft) return false;
  Result<SnapshotMeta> meta = n.raft->Compact(n.sm.applied, n.sm.Serialize());
  if (!meta.ok()) return false;
  Trace("node " + N(id) + " snapshots at " + N(meta->index));
  n.disk.WriteSnapshot(n.raft->snapshot());
  return true;
}

SimCluster::Node& SimCluster::node(NodeId id) { return nodes_.at(id); }
const SimCluster::Node& SimCluster::node(NodeId id) const { return nodes_.at(id); }

// ---- Network -----------------------------------------------------------------

void SimCluster::Cut(NodeId from, NodeId to) { cut_.insert({from, to}); }

void SimCluster::Isolate(NodeId id) {
  for (const auto& [other, n] : nodes_) {
    Cut(id, other);
    Cut(other, id);
  }
}

void SimCluster::HealNetwork() { cut_.clear(); }

bool SimCluster::IsCut(NodeId from, NodeId to) const { return cut_.count({from, to}) > 0; }

void SimCluster::Send(const Message& m) {
  if (IsCut(m.from, m.to) || rng_.Chance(faults_.loss)) return;
  std::string bytes = EncodeMessage(m);
  int copies = rng_.Chance(faults_.duplicate) ? 2 : 1;
  for (int i = 0; i < copies; ++i) {
    uint64_t due = now_ + 1 + rng_.Below(static_cast<uint64_t>(faults_.max_delay) + 1);
    in_flight_.push_back(Packet{due, seq_++, m, bytes});
  }
}

void SimCluster::Deliver() {
  auto split = std::stable_partition(in_flight_.begin(), in_flight_.end(),
                                     [&](const Packet& p) { return p.due <= now_; });
  std::vector<Packet> due(std::make_move_iterator(in_flight_.begin()),
                          std::make_move_iterator(split));
  in_flight_.erase(in_flight_.begin(), split);
  for (Packet& p : due) {
    NodeId to = p.sent.to;
    if (IsCut(p.sent.from, to) || !nodes_.count(to) || !IsUp(to)) continue;
    Result<Message> m = DecodeMessage(p.bytes);
    if (!m.ok() || !(m.value() == p.sent)) {
      oracle_.Fail("codec: " + Describe(p.sent) + " does not decode to itself" +
                   (m.ok() ? std::string() : ": " + m.error().text));
      continue;
    }
    if (filter_ && !filter_(m.value())) continue;
    if (trace_) Trace("deliver " + Describe(m.value()));
    ++stats_.delivered;
    node(to).raft->Step(std::move(m.value()));
  }
}

// ---- Time --------------------------------------------------------------------

void SimCluster::Tick() {
  ++now_;
  Deliver();
  for (auto& [id, n] : nodes_) {
    if (n.raft) n.raft->Tick();
  }
  for (auto& [id, n] : nodes_) {
    if (n.raft) RunReady(n);
  }
  std::vector<const Raft*> live;
  for (const auto& [id, n] : nodes_) {
    if (n.raft) live.push_back(n.raft.get());
  }
  oracle_.AfterTick(live);
}

void SimCluster::Run(int ticks) {
  for (int i = 0; i < ticks && failure().empty(); ++i) Tick();
}

bool SimCluster::RunUntil(const std::function<bool()>& done, int max_ticks) {
  for (int i = 0; i < max_ticks; ++i) {
    if (done()) return true;
    if (!failure().empty()) return false;
    Tick();
  }
  return done();
}

NodeId SimCluster::Leader() const {
  NodeId best = kNoNode;
  Term term = 0;
  for (const auto& [id, n] : nodes_) {
    if (n.raft && n.raft->role() == Role::kLeader && n.raft->term() >= term) {
      best = id;
      term = n.raft->term();
    }
  }
  return best;
}

NodeId SimCluster::WaitForLeader(int max_ticks) {
  RunUntil([&] { return Leader() != kNoNode; }, max_ticks);
  return Leader();
}

NodeId SimCluster::WaitForNewLeader(NodeId old, int max_ticks) {
  auto other = [&] { return Leader() != kNoNode && Leader() != old; };
  return RunUntil(other, max_ticks) ? Leader() : kNoNode;
}

// The Ready cycle (raft.h): write, sync, send, apply, Advance; a leader's
// appends are sent before the write.
void SimCluster::RunReady(Node& n) {
  for (int round = 0; round < 4; ++round) {
    if (n.unsynced) {
      if (rng_.Chance(faults_.sync_delay)) return;
      Flush(n);
    }
    if (!n.raft->HasReady()) return;
    Ready r = n.raft->TakeReady();
    oracle_.OnEntries(n.id, n.raft->log(), r.entries);
    // A leader's appends go out before its own write is durable, as the
    // node's driver sends them (docs/cluster.md, "The Raft driver").
    if (n.raft->role() == Role::kLeader) {
      std::vector<Message> later;
      for (Message& m : r.messages) {
        if (std::holds_alternative<AppendEntries>(m.body) ||
            std::holds_alternative<InstallSnapshot>(m.body))
          Send(m);
        else
          later.push_back(std::move(m));
      }
      r.messages = std::move(later);
    }
    n.disk.Write(r);
    n.unsynced = std::move(r);
  }
}

void SimCluster::Flush(Node& n) {
  n.disk.Sync();
  if (!n.disk.error().empty()) oracle_.Fail("node " + N(n.id) + ": " + n.disk.error());
  Ready r = std::move(*n.unsynced);
  n.unsynced.reset();
  for (const Message& m : r.messages) Send(m);
  if (r.snapshot) {
    if (r.snapshot->meta.index <= n.sm.applied || !n.sm.Restore(*r.snapshot)) {
      oracle_.Fail("node " + N(n.id) + " got a snapshot at " + N(r.snapshot->meta.index) +
                   " it cannot restore, having applied " + N(n.sm.applied));
    }
    Trace("node " + N(n.id) + " installs snapshot " + N(r.snapshot->meta.index));
    ++stats_.installs;
    oracle_.OnRestore(n.id, *r.snapshot);
  }
  for (const Entry& e : r.committed) Apply(n, e);
  n.raft->Advance();
}

void SimCluster::Apply(Node& n, const Entry& e) {
  if (e.index != n.sm.applied + 1) {
    oracle_.Fail("node " + N(n.id) + " applied " + N(e.index) + " after " + N(n.sm.applied));
  }
  n.sm.applied = e.index;
  if (e.type == EntryType::kCommand) n.sm.commands[e.index] = e.payload;
  oracle_.OnApply(n.id, e);
  auto it = n.proposals.find(e.index);
  if (it == n.proposals.end()) return;
  if (it->second.first == e.term) oracle_.OnAck(e.index, it->second.second);
  n.proposals.erase(it);
}

// ---- Clients -----------------------------------------------------------------

Result<Proposal> SimCluster::Propose(NodeId id, std::string command) {
  Node& n = node(id);
  if (!n.raft) return RaftError(Errc::kNotLeader, "node " + N(id) + " is down");
  std::string copy = command;
  Result<Proposal> p = n.raft->Propose(std::move(command));
  if (p.ok()) {
    n.proposals[p->index] = {p->term, std::move(copy)};
    Trace("node " + N(id) + " takes '" + n.proposals[p->index].second + "' at " + N(p->index));
  }
  return p;
}

Index SimCluster::ProposeMany(NodeId id, int n, const std::string& prefix) {
  Index last = 0;
  for (int i = 0; i < n; ++i) {
    Result<Proposal> p = Propose(id, prefix + N(i));
    if (!p.ok()) return 0;
    last = p->index;
  }
  return last;
}

Index SimCluster::CommitWithout(NodeId behind, NodeId leader, int n) {
  Isolate(behind);
  Index last = ProposeMany(leader, n);
  bool committed = last != 0 && WaitApplied(leader, last);
  HealNetwork();
  return committed ? last : 0;
}

bool SimCluster::WaitApplied(NodeId id, Index index, int max_ticks) {
  return RunUntil([&] { return IsUp(id) && state(id).applied >= index; }, max_ticks);
}

void SimCluster::Trace(const std::string& line) const {
  if (!trace_) return;
  std::fprintf(stderr, "[%llu] %s\n", static_cast<unsigned long long>(now_), line.c_str());
}

}  // namespace warren::raft::sim
