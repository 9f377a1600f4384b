// RaftLog: one node's log in memory. It holds the entries after the latest
// snapshot (the snapshot's index and term stand for everything before), the
// commit point, and what has been handed out to persist and to apply:
//
//   snapshot.index < first_index ... stable ... last_index
//                     applied <= applying <= committed <= last_index
//
// Entries past `stable` (or taken but not yet acknowledged) are not known to
// be on disk. The configuration in force is the latest membership entry in
// the log, else the snapshot's: a change takes effect as soon as it is
// appended, and a truncation that removes it reverts it (Raft dissertation
// §4.1).
//
// Lifecycle: owned by Raft, on the caller's thread; read-only for others
// through Raft::log().
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <vector>

#include "raft/types.h"

namespace warren::raft {

class RaftLog {
 public:
  // From what was persisted: entries at or below the snapshot are skipped,
  // the rest must follow it without gaps. Everything given is stable.
  RaftLog(SnapshotMeta snapshot, std::vector<Entry> entries);

  Index first_index() const { return snapshot_.index + 1; }
  Index last_index() const { return snapshot_.index + entries_.size(); }
  Term last_term() const { return entries_.empty() ? snapshot_.term : entries_.back().term; }
  // The term at `i` (the snapshot's at its index); none when compacted away
  // or past the end.
  std::optional<Term> TermAt(Index i) const;
  // first_index() <= i <= last_index().
  const Entry& At(Index i) const;
  // Raft §5.4.1: a log ending at (last_index, last_term) is at least as up
  // to date as this one.
  bool IsUpToDate(Index last_index, Term last_term) const;
  // The last index at or below `at_most` whose entry has term `t`.
  std::optional<Index> LastIndexOfTerm(Term t, Index at_most) const;
  // The first index of the run of entries with the term of `i`, going back
  // no further than the entry after the commit point (a rejection's hint).
  Index FirstIndexOfTermAt(Index i) const;
  // Up to max_entries from `from` (at least one when there is one), stopping
  // before max_bytes of payload is passed.
  std::vector<Entry> Slice(Index from, size_t max_entries, size_t max_bytes) const;

  // The leader's append; returns the new entry's index.
  Index Append(Term term, EntryType type, std::string payload);
  // A follower's append after a matching prev (Raft §5.3, steps 3 and 4):
  // entries it already has are kept, the first conflicting one and all after
  // it are replaced. A conflict at or below the commit point cannot happen.
  void AppendAfter(Index prev, std::vector<Entry> entries);

  Index committed() const { return committed_; }
  void CommitTo(Index i);  // no-op unless i is past the commit point
  Index applied() const { return applied_; }
  Index applying() const { return applying_; }
  // Committed entries not handed out yet; they are then "applying".
  std::vector<Entry> TakeCommitted();
  void AppliedTo(Index i) { applied_ = i; }

  // Entries not handed out to persist yet; they are then in flight.
  std::vector<Entry> TakeUnstable();
  bool HasUnstable() const { return unstable_from_ <= last_index(); }
  // What was in flight is durable (what a truncation removed meanwhile is
  // not counted).
  void AckStable();
  Index stable_index() const { return stable_; }

  const SnapshotMeta& snapshot() const { return snapshot_; }
  // A snapshot from the leader replaces the whole log.
  void Restore(const SnapshotMeta& meta);
  // Drops the entries up to `i` (applied), which a snapshot now covers.
  SnapshotMeta CompactTo(Index i);

  const Configuration& config() const;
  Index config_index() const;  // the membership entry in force, or the snapshot's index
  Configuration ConfigAt(Index i) const;

 private:
  void Push(Entry e);
  void TruncateFrom(Index i);

  SnapshotMeta snapshot_;
  std::vector<Entry> entries_;
  std::map<Index, Configuration> configs_;  // the membership entries in entries_
  Index committed_ = 0;
  Index applying_ = 0;
  Index applied_ = 0;
  Index unstable_from_ = 0;  // the first index not handed out to persist
  Index in_flight_ = 0;      // the last index handed out and not acknowledged
  Index stable_ = 0;
};

}  // namespace warren::raft
