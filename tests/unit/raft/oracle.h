// The simulator's judge: it sees every entry a node hands out to persist,
// every entry applied, every snapshot restored and, after each tick, every
// live node, and records the first Raft safety property broken:
//   - election safety: at most one leader per term;
//   - log matching: an (index, term) pair always names the same entry, which
//     always follows the same term (checked as entries are written, which is
//     the only way into a log);
//   - leader completeness: an entry committed in term t is in the log of
//     every leader of a later term (checked when a leader appears and when a
//     commit is seen);
//   - state machine safety: no two nodes apply different entries at one
//     index; a restored snapshot holds exactly the commands applied up to its
//     index;
//   - leases: no leader holds a valid lease while a leader of a later term
//     exists;
//   - acknowledged commands are never lost (CheckAcked, after healing).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "raft/raft.h"

namespace warren::raft::sim {

// A number as text, for traces and failure messages.
inline std::string N(uint64_t v) { return std::to_string(v); }

class Oracle {
 public:
  void OnEntries(NodeId node, const RaftLog& log, const std::vector<Entry>& entries);
  void OnApply(NodeId node, const Entry& e);
  void OnRestore(NodeId node, const Snapshot& s);
  // A client was told its command committed at `index`.
  void OnAck(Index index, const std::string& command);
  void AfterTick(const std::vector<const Raft*>& live);
  // Every acknowledged command is in `commands` (a converged state machine).
  void CheckAcked(NodeId node, const std::map<Index, std::string>& commands);

  size_t acked() const { return acked_.size(); }
  size_t CountApplied(EntryType type) const;
  Index max_applied() const { return applied_.empty() ? 0 : applied_.rbegin()->first; }
  // Empty while every property holds, else the first one broken.
  const std::string& failure() const { return failure_; }
  void Fail(const std::string& what);

 private:
  struct Written {
    Term prev_term;
    EntryType type;
    std::string payload;
  };
  struct Committed {
    Term entry_term;
    Term by_term;  // the earliest leader term seen committing it
  };
  void CheckNewLeader(const Raft& leader);
  void ObserveCommits(const Raft& leader, const std::vector<const Raft*>& leaders);
  void CheckHolds(const Raft& leader, Index index, const Committed& c);

  std::map<std::pair<Index, Term>, Written> written_;
  std::map<Index, Entry> applied_;
  std::map<Term, NodeId> leaders_;
  std::map<Index, Committed> committed_;
  std::map<Index, std::string> acked_;
  std::string failure_;
};

}  // namespace warren::raft::sim
