// Log replication (Raft §5.3) and the commit rule (§5.4.2). The leader sends
// each peer the entries from its `next` (progress.h says how many and when);
// the follower accepts them only after the entry before them matches, and
// otherwise says where its log ends or where its conflicting term began, so
// the leader skips back a term at a time instead of an entry at a time.
#include <algorithm>
#include <utility>

#include "raft/check.h"
#include "raft/raft.h"

namespace warren::raft {

Progress* Raft::FindProgress(NodeId id) {
  for (Progress& pr : progress_) {
    if (pr.id == id) return &pr;
  }
  return nullptr;
}

const Progress* Raft::FindProgress(NodeId id) const {
  return const_cast<Raft*>(this)->FindProgress(id);
}

void Raft::BroadcastAppend(bool heartbeat) {
  for (Progress& pr : progress_) SendAppend(pr, heartbeat);
}

// A heartbeat goes out even with no entries, and even to a paused probe.
void Raft::SendAppend(Progress& pr, bool heartbeat) {
  Index prev = pr.next - 1;
  std::vector<Entry> entries;
  if (pr.state == ReplicationState::kSnapshot) {
    if (!heartbeat) return;
    if (now_ - pr.snapshot_tick >= static_cast<uint64_t>(opts_.election_ticks)) {
      return SendSnapshot(pr);  // it may have been lost
    }
    prev = log_.snapshot().index;  // keeps the follower from campaigning
  } else if (pr.next < log_.first_index()) {
    return SendSnapshot(pr);
  } else {
    if (pr.state == ReplicationState::kProbe && pr.paused && !heartbeat) return;
    size_t window = opts_.max_entries_per_message;
    if (pr.state == ReplicationState::kReplicate) {
      Index out = pr.next - 1 - pr.match;
      window = out >= opts_.max_inflight_entries
                   ? 0
                   : std::min(window, opts_.max_inflight_entries - static_cast<size_t>(out));
    }
    entries = log_.Slice(pr.next, window, opts_.max_bytes_per_message);
    if (entries.empty() && !heartbeat) return;
    if (pr.state == ReplicationState::kReplicate && !entries.empty()) {
      pr.next = entries.back().index + 1;
    }
    if (pr.state == ReplicationState::kProbe) pr.paused = true;
  }
  Send(pr.id, AppendEntries{prev, *log_.TermAt(prev), log_.committed(), now_, std::move(entries),
                            log_.stable_index()});
}

void Raft::HandleAppend(const Message& m, AppendEntries& ae) {
  HearFromLeader(m.from);
  AppendEntriesResponse resp{.success = true, .lease_tick = ae.lease_tick};
  if (ae.prev_index < log_.committed()) {
    // Everything up to our commit point is in the leader's log (§5.4.3).
    resp.match_index = log_.committed();
  } else if (log_.TermAt(ae.prev_index) != ae.prev_term) {
    return Reject(m, ae);
  } else {
    Index match = ae.prev_index + ae.entries.size();
    log_.AppendAfter(ae.prev_index, std::move(ae.entries));
    OnLogChanged();
    log_.CommitTo(std::min(ae.commit, match));
    resp.match_index = match;
  }
  leader_match_ = std::max(leader_match_, resp.match_index);
  leader_commit_ = std::max(leader_commit_, ae.commit);
  leader_stable_ = std::max(leader_stable_, ae.stable);
  MaybeCommitAsFollower();
  Send(m.from, resp);
}

// The leader's own log became durable further (Advance). A follower that
// has the entries too, and with the leader makes a quorum, commits them as
// soon as it knows (MaybeCommitAsFollower), one message before the leader's
// commit would reach it. Only for followers that have not acknowledged them
// yet, and only when two voters are a quorum.
void Raft::TellStable() {
  if (config().Quorum() > 2 || log_.committed() >= log_.stable_index()) return;
  for (Progress& pr : progress_) {
    if (pr.state == ReplicationState::kReplicate && pr.match < log_.stable_index() &&
        config().IsVoter(pr.id))
      SendAppend(pr, /*heartbeat=*/true);
  }
}

// A follower's commit rule (docs/raft.md, "A follower that completes a
// quorum"): an entry of the current term that this follower and the leader
// both hold durably is on a quorum when the two are one, so it is committed
// (§5.4.2), whoever counts. The leader's entries up to leader_match_ are ours,
// so the two logs agree up to the lower of the two durable points. Only while
// our configuration is committed: the leader's may then be one change ahead,
// whose quorums still meet every quorum of ours.
void Raft::MaybeCommitAsFollower() {
  if (role_ != Role::kFollower || leader_ == kNoNode) return;
  const Configuration& c = config();
  if (c.Quorum() > 2 || !c.IsVoter(id()) || !c.IsVoter(leader_) ||
      log_.config_index() > log_.committed())
    return;
  Index durable = std::min({leader_match_, leader_stable_, log_.stable_index()});
  if (durable <= log_.committed() || log_.TermAt(durable) != term_) return;
  log_.CommitTo(durable);
}

void Raft::Reject(const Message& m, const AppendEntries& ae) {
  AppendEntriesResponse resp{.reject_index = ae.prev_index, .lease_tick = ae.lease_tick};
  if (ae.prev_index > log_.last_index()) {
    resp.hint_index = log_.last_index() + 1;
  } else {
    resp.hint_term = *log_.TermAt(ae.prev_index);
    resp.hint_index = log_.FirstIndexOfTermAt(ae.prev_index);
  }
  Send(m.from, resp);
}

void Raft::HandleAppendResponse(const Message& m, const AppendEntriesResponse& resp) {
  Progress* pr = FindProgress(m.from);
  if (pr == nullptr) return;
  pr->lease_tick = std::max(pr->lease_tick, resp.lease_tick);
  if (resp.success) {
    OnMatch(*pr, resp.match_index);
  } else {
    HandleReject(*pr, resp);
  }
}

void Raft::HandleReject(Progress& pr, const AppendEntriesResponse& resp) {
  bool stale = resp.reject_index <= pr.match || pr.state == ReplicationState::kSnapshot ||
               (pr.state == ReplicationState::kProbe && resp.reject_index != pr.next - 1);
  if (stale) return;
  // Past the follower's end, or back to where its conflicting term began,
  // or just past our last entry of that term if we have it.
  Index next = resp.hint_index;
  if (resp.hint_term != 0) {
    if (std::optional<Index> i = log_.LastIndexOfTerm(resp.hint_term, resp.reject_index)) {
      next = *i + 1;
    }
  }
  pr.BecomeProbe(std::min(next, resp.reject_index));
  SendAppend(pr, /*heartbeat=*/false);
}

// The peer's log matches ours up to `match` (an append or a snapshot).
void Raft::OnMatch(Progress& pr, Index match) {
  NodeId peer = pr.id;
  bool advanced = match > pr.match;
  if (advanced) pr.match = match;
  pr.next = std::max(pr.next, pr.match + 1);
  if (pr.state == ReplicationState::kProbe ||
      (pr.state == ReplicationState::kSnapshot && pr.match >= pr.snapshot_index)) {
    pr.BecomeReplicate();
  }
  if (advanced) MaybeCommit();
  Progress* now = role_ == Role::kLeader ? FindProgress(peer) : nullptr;
  if (now == nullptr) return;  // committing our own removal made us step down
  if (peer == transfer_to_ && now->match == log_.last_index()) SendTimeoutNow(peer);
  SendAppend(*now, /*heartbeat=*/false);
}

// §5.4.2: the highest index a quorum of voters holds commits, but only if
// its entry is of this term; earlier terms' entries commit along with it.
void Raft::MaybeCommit() {
  std::vector<uint64_t> matches;
  for (NodeId v : config().voters) {
    const Progress* pr = FindProgress(v);
    matches.push_back(v == id() ? log_.stable_index() : pr ? pr->match : 0);
  }
  Index quorum = QuorumValue(std::move(matches), config().Quorum());
  if (quorum <= log_.committed() || log_.TermAt(quorum) != term_) return;
  log_.CommitTo(quorum);
  LeaveIfRemoved();
  if (role_ != Role::kLeader) return;
  // Tell the followers that are keeping up, without waiting for a heartbeat.
  for (Progress& pr : progress_) {
    if (pr.state == ReplicationState::kReplicate) SendAppend(pr, /*heartbeat=*/true);
  }
}

}  // namespace warren::raft
