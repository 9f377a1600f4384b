#include "oracle.h"

#include <algorithm>
#include <optional>

#include "sim_state_machine.h"

namespace warren::raft::sim {

namespace {

std::string Describe(const Entry& e) {
  return "(" + N(e.index) + ", term " + N(e.term) + ", type " + N(static_cast<int>(e.type)) +
         ", '" + e.payload + "')";
}

}  // namespace

void Oracle::Fail(const std::string& what) {
  if (failure_.empty()) failure_ = what;
}

void Oracle::OnEntries(NodeId node, const RaftLog& log, const std::vector<Entry>& entries) {
  if (entries.empty()) return;
  std::optional<Term> prev = log.TermAt(entries.front().index - 1);
  if (!prev) return Fail("node " + N(node) + " wrote entry " + N(entries.front().index) +
                         " with nothing before it");
  Term prev_term = *prev;
  for (const Entry& e : entries) {
    auto [it, fresh] =
        written_.try_emplace({e.index, e.term}, Written{prev_term, e.type, e.payload});
    const Written& w = it->second;
    if (!fresh && (w.prev_term != prev_term || w.type != e.type || w.payload != e.payload)) {
      return Fail("log matching: node " + N(node) + " wrote " + Describe(e) + " after term " +
                  N(prev_term) + ", but that index and term held '" + w.payload +
                  "' after term " + N(w.prev_term) + " elsewhere");
    }
    prev_term = e.term;
  }
}

void Oracle::OnApply(NodeId node, const Entry& e) {
  auto [it, fresh] = applied_.try_emplace(e.index, e);
  if (!fresh && !(it->second == e)) {
    Fail("state machine safety: node " + N(node) + " applied " + Describe(e) +
         ", another node applied " + Describe(it->second));
  }
}

void Oracle::OnRestore(NodeId node, const Snapshot& s) {
  std::map<Index, std::string> commands;
  if (!SimStateMachine::Parse(s.data, commands)) {
    return Fail("node " + N(node) + " restored a snapshot that does not parse");
  }
  std::string at = "node " + N(node) + "'s snapshot at " + N(s.meta.index);
  for (const auto& [index, command] : commands) {
    auto it = applied_.find(index);
    if (index > s.meta.index || it == applied_.end() || it->second.payload != command) {
      return Fail(at + " holds '" + command + "' at " + N(index) + ", never applied there");
    }
  }
  for (auto it = applied_.begin(); it != applied_.end() && it->first <= s.meta.index; ++it) {
    if (it->second.type == EntryType::kCommand && commands.count(it->first) == 0) {
      return Fail(at + " lacks " + Describe(it->second));
    }
  }
}

void Oracle::OnAck(Index index, const std::string& command) {
  acked_[index] = command;
  auto it = applied_.find(index);
  if (it == applied_.end() || it->second.payload != command) {
    Fail("command '" + command + "' acknowledged at " + N(index) + " but not applied there");
  }
}

void Oracle::AfterTick(const std::vector<const Raft*>& live) {
  std::vector<const Raft*> leaders;
  for (const Raft* r : live) {
    if (r->role() != Role::kLeader) continue;
    leaders.push_back(r);
    auto [it, fresh] = leaders_.try_emplace(r->term(), r->id());
    if (!fresh && it->second != r->id()) {
      return Fail("election safety: nodes " + N(it->second) + " and " + N(r->id()) +
                  " both led term " + N(r->term()));
    }
    if (fresh) CheckNewLeader(*r);
  }
  for (const Raft* r : leaders) ObserveCommits(*r, leaders);
  for (const Raft* a : leaders) {
    if (!a->HasLease()) continue;
    for (const Raft* b : leaders) {
      if (b->term() > a->term()) {
        Fail("lease: node " + N(a->id()) + " holds a lease in term " + N(a->term()) +
             " while node " + N(b->id()) + " leads term " + N(b->term()));
      }
    }
  }
}

void Oracle::CheckAcked(NodeId node, const std::map<Index, std::string>& commands) {
  for (const auto& [index, command] : acked_) {
    auto it = commands.find(index);
    if (it == commands.end() || it->second != command) {
      return Fail("acknowledged command '" + command + "' at " + N(index) + " lost on node " +
                  N(node));
    }
  }
}

size_t Oracle::CountApplied(EntryType type) const {
  size_t n = 0;
  for (const auto& [index, e] : applied_) n += e.type == type ? 1 : 0;
  return n;
}

void Oracle::CheckNewLeader(const Raft& leader) {
  for (const auto& [index, c] : committed_) {
    if (c.by_term < leader.term()) CheckHolds(leader, index, c);
  }
}

// What a leader has committed is committed in its term or earlier: every
// leader of a later term must hold it.
void Oracle::ObserveCommits(const Raft& leader, const std::vector<const Raft*>& leaders) {
  Index from = committed_.empty() ? 0 : committed_.rbegin()->first;
  from = std::max(from, leader.log().snapshot().index);
  for (Index i = from + 1; i <= leader.commit_index(); ++i) {
    Committed c{*leader.log().TermAt(i), leader.term()};
    committed_[i] = c;
    for (const Raft* other : leaders) {
      if (other->term() > leader.term()) CheckHolds(*other, i, c);
    }
  }
}

void Oracle::CheckHolds(const Raft& leader, Index index, const Committed& c) {
  if (index <= leader.log().snapshot().index) return;  // its snapshot covers it
  if (leader.log().TermAt(index) != c.entry_term) {
    Fail("leader completeness: node " + N(leader.id()) + ", leader of term " +
         N(leader.term()) + ", lacks entry " + N(index) + " (term " + N(c.entry_term) +
         ") committed by term " + N(c.by_term));
  }
}

}  // namespace warren::raft::sim
