// Snapshots: the state machine hands the core an image of itself at an
// applied index (Compact), which lets the log before it go. A follower that
// needs entries the leader no longer has gets the snapshot instead
// (InstallSnapshot, Raft §7), whole, in one message.
#include <algorithm>
#include <string>
#include <utility>

#include "raft/check.h"
#include "raft/codec.h"
#include "raft/errors.h"
#include "raft/raft.h"

namespace warren::raft {

Result<SnapshotMeta> Raft::Compact(Index index, std::string data) {
  if (index <= log_.snapshot().index || index > log_.applied()) {
    return RaftError(Errc::kInvalidArgument,
                     "cannot compact to " + std::to_string(index) + ": the snapshot is at " +
                         std::to_string(log_.snapshot().index) + ", applied " +
                         std::to_string(log_.applied()));
  }
  if (data.size() > kMaxSnapshotBytes) {
    return RaftError(Errc::kTooLarge, "snapshot of " + std::to_string(data.size()) +
                                          " bytes, past the bound of " +
                                          std::to_string(kMaxSnapshotBytes));
  }
  SnapshotMeta meta = log_.CompactTo(index);
  snapshot_ = Snapshot{meta, std::move(data)};
  return meta;
}

void Raft::SendSnapshot(Progress& pr) {
  RAFT_CHECK(snapshot_.meta.index == log_.snapshot().index && snapshot_.meta.index > 0);
  pr.BecomeSnapshot(snapshot_.meta.index, now_);
  Send(pr.id, InstallSnapshot{now_, snapshot_});
}

void Raft::HandleSnapshot(const Message& m, InstallSnapshot& is) {
  HearFromLeader(m.from);
  Index index = is.snapshot.meta.index;
  InstallSnapshotResponse resp{log_.committed(), is.lease_tick};
  if (index > log_.committed()) {
    if (log_.TermAt(index) == is.snapshot.meta.term) {
      log_.CommitTo(index);  // we hold that entry, so everything before it
    } else {
      log_.Restore(is.snapshot.meta);
      snapshot_ = std::move(is.snapshot);
      snapshot_out_ = snapshot_;
      OnLogChanged();
    }
    resp.match_index = index;
  }
  Send(m.from, resp);
}

void Raft::HandleSnapshotResponse(const Message& m, const InstallSnapshotResponse& resp) {
  Progress* pr = FindProgress(m.from);
  if (pr == nullptr) return;
  pr->lease_tick = std::max(pr->lease_tick, resp.lease_tick);
  OnMatch(*pr, resp.match_index);
}

}  // namespace warren::raft
