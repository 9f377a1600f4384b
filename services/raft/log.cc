#include "raft/log.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "raft/check.h"
#include "raft/codec.h"

namespace warren::raft {

RaftLog::RaftLog(SnapshotMeta snapshot, std::vector<Entry> entries)
    : snapshot_(std::move(snapshot)) {
  for (Entry& e : entries) {
    if (e.index <= snapshot_.index) continue;
    RAFT_CHECK(e.index == last_index() + 1 && e.term >= last_term());
    Push(std::move(e));
  }
  committed_ = applying_ = applied_ = snapshot_.index;
  stable_ = last_index();
  unstable_from_ = last_index() + 1;
}

std::optional<Term> RaftLog::TermAt(Index i) const {
  if (i == snapshot_.index) return snapshot_.term;
  if (i < first_index() || i > last_index()) return std::nullopt;
  return At(i).term;
}

const Entry& RaftLog::At(Index i) const {
  RAFT_CHECK(i >= first_index() && i <= last_index());
  return entries_[i - first_index()];
}

bool RaftLog::IsUpToDate(Index last_index, Term last_term) const {
  return last_term > this->last_term() ||
         (last_term == this->last_term() && last_index >= this->last_index());
}

std::optional<Index> RaftLog::LastIndexOfTerm(Term t, Index at_most) const {
  for (Index i = std::min(at_most, last_index()); i >= first_index(); --i) {
    Term ti = At(i).term;
    if (ti == t) return i;
    if (ti < t) break;  // terms only grow along the log
  }
  return std::nullopt;
}

Index RaftLog::FirstIndexOfTermAt(Index i) const {
  std::optional<Term> t = TermAt(i);
  RAFT_CHECK(t.has_value());
  Index floor = std::max(first_index(), committed_ + 1);
  while (i > floor && TermAt(i - 1) == t) --i;
  return i;
}

std::vector<Entry> RaftLog::Slice(Index from, size_t max_entries, size_t max_bytes) const {
  std::vector<Entry> out;
  size_t bytes = 0;
  for (Index i = std::max(from, first_index()); i <= last_index() && out.size() < max_entries;
       ++i) {
    const Entry& e = At(i);
    if (!out.empty() && bytes + e.payload.size() > max_bytes) break;
    bytes += e.payload.size();
    out.push_back(e);
  }
  return out;
}

Index RaftLog::Append(Term term, EntryType type, std::string payload) {
  RAFT_CHECK(term >= last_term());
  Push(Entry{last_index() + 1, term, type, std::move(payload)});
  return last_index();
}

void RaftLog::AppendAfter(Index prev, std::vector<Entry> entries) {
  Index i = prev;
  for (Entry& e : entries) {
    e.index = ++i;
    if (i <= last_index()) {
      if (At(i).term == e.term) continue;
      RAFT_CHECK(i > committed_);  // a committed entry is never replaced (§5.4)
      TruncateFrom(i);
    }
    Push(std::move(e));
  }
}

void RaftLog::CommitTo(Index i) {
  if (i <= committed_) return;
  RAFT_CHECK(i <= last_index());
  committed_ = i;
}

std::vector<Entry> RaftLog::TakeCommitted() {
  std::vector<Entry> out;
  for (Index i = applying_ + 1; i <= committed_; ++i) out.push_back(At(i));
  applying_ = committed_;
  return out;
}

std::vector<Entry> RaftLog::TakeUnstable() {
  std::vector<Entry> out;
  for (Index i = unstable_from_; i <= last_index(); ++i) out.push_back(At(i));
  if (!out.empty()) in_flight_ = last_index();
  unstable_from_ = last_index() + 1;
  return out;
}

void RaftLog::AckStable() {
  stable_ = std::max(stable_, in_flight_);
  in_flight_ = 0;
}

void RaftLog::Restore(const SnapshotMeta& meta) {
  RAFT_CHECK(meta.index > committed_);
  snapshot_ = meta;
  entries_.clear();
  configs_.clear();
  committed_ = applying_ = meta.index;
  unstable_from_ = meta.index + 1;
  in_flight_ = 0;
  stable_ = meta.index;
}

SnapshotMeta RaftLog::CompactTo(Index i) {
  RAFT_CHECK(i > snapshot_.index && i <= applied_ && i <= stable_);
  SnapshotMeta meta{i, At(i).term, ConfigAt(i)};
  entries_.erase(entries_.begin(), entries_.begin() + (i - snapshot_.index));
  configs_.erase(configs_.begin(), configs_.upper_bound(i));
  snapshot_ = meta;
  return meta;
}

const Configuration& RaftLog::config() const {
  return configs_.empty() ? snapshot_.config : configs_.rbegin()->second;
}

Index RaftLog::config_index() const {
  return configs_.empty() ? snapshot_.index : configs_.rbegin()->first;
}

Configuration RaftLog::ConfigAt(Index i) const {
  auto it = configs_.upper_bound(i);
  return it == configs_.begin() ? snapshot_.config : std::prev(it)->second;
}

void RaftLog::Push(Entry e) {
  if (e.type == EntryType::kMembership) {
    Result<Configuration> c = DecodeConfiguration(e.payload);
    RAFT_CHECK(c.ok());  // the codec and ProposeMembership only let valid ones in
    configs_[e.index] = std::move(c.value());
  }
  entries_.push_back(std::move(e));
}

void RaftLog::TruncateFrom(Index i) {
  entries_.resize(i - first_index());
  configs_.erase(configs_.lower_bound(i), configs_.end());
  unstable_from_ = std::min(unstable_from_, i);
  if (in_flight_ >= i) in_flight_ = i - 1;
  stable_ = std::min(stable_, i - 1);
}

}  // namespace warren::raft
