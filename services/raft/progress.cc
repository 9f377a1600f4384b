#include "raft/progress.h"

#include <algorithm>
#include <functional>

namespace warren::raft {

void Progress::BecomeProbe(Index next_index) {
  state = ReplicationState::kProbe;
  next = std::max(next_index, match + 1);
  paused = false;
}

void Progress::BecomeReplicate() {
  state = ReplicationState::kReplicate;
  next = match + 1;
  paused = false;
}

void Progress::BecomeSnapshot(Index index, uint64_t now) {
  state = ReplicationState::kSnapshot;
  snapshot_index = index;
  snapshot_tick = now;
  paused = false;
}

uint64_t QuorumValue(std::vector<uint64_t> values, size_t quorum) {
  if (quorum == 0 || values.size() < quorum) return 0;
  auto nth = values.begin() + (quorum - 1);
  std::nth_element(values.begin(), nth, values.end(), std::greater<>());
  return *nth;
}

}  // namespace warren::raft
