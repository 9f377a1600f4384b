// What a leader knows of one peer's log, and how it sends to it:
//
//   kProbe      one AppendEntries at a time (paused until it is answered or
//               the next heartbeat), walking `next` back on each rejection
//               until the logs match;
//   kReplicate  the logs matched: entries go out as they are appended, up to
//               a window of unacknowledged entries, `next` moving ahead of
//               `match`; any rejection falls back to kProbe;
//   kSnapshot   the entries it needs are compacted away: the snapshot is out
//               (sent again after an election timeout without an answer).
//
// Lifecycle: owned by a leader's Raft, rebuilt at each election; caller's
// thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "raft/types.h"

namespace warren::raft {

enum class ReplicationState : uint8_t { kProbe, kReplicate, kSnapshot };

struct Progress {
  NodeId id = kNoNode;
  Index match = 0;  // the peer's log is known to match the leader's up to here
  Index next = 1;   // the next entry to send
  ReplicationState state = ReplicationState::kProbe;
  bool paused = false;          // kProbe: an AppendEntries is out
  Index snapshot_index = 0;     // kSnapshot: the snapshot sent
  uint64_t snapshot_tick = 0;   // kSnapshot: when it was sent
  uint64_t lease_tick = 0;      // the latest of our ticks it echoed (0: none this term)

  void BecomeProbe(Index next_index);
  void BecomeReplicate();
  void BecomeSnapshot(Index index, uint64_t now);
};

// The value a quorum has reached: the `quorum`-th largest of `values`
// (0 when there are fewer values than that).
uint64_t QuorumValue(std::vector<uint64_t> values, size_t quorum);

}  // namespace warren::raft
