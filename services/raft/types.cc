#include "raft/types.h"

#include <algorithm>

namespace warren::raft {

namespace {

bool SortedUnique(const std::vector<NodeId>& ids) {
  return std::adjacent_find(ids.begin(), ids.end(),
                            [](NodeId a, NodeId b) { return a >= b; }) == ids.end();
}

}  // namespace

bool Configuration::IsVoter(NodeId id) const {
  return std::binary_search(voters.begin(), voters.end(), id);
}

bool Configuration::IsLearner(NodeId id) const {
  return std::binary_search(learners.begin(), learners.end(), id);
}

NodeId Configuration::NextId() const {
  NodeId top = highest;
  if (!voters.empty()) top = std::max(top, voters.back());
  if (!learners.empty()) top = std::max(top, learners.back());
  return top + 1;
}

bool Configuration::IsValid() const {
  if (!SortedUnique(voters) || !SortedUnique(learners)) return false;
  if (IsVoter(kNoNode) || IsLearner(kNoNode)) return false;
  for (const auto& [id, address] : addresses)
    if (!Contains(id) || address.size() > kMaxAddressBytes) return false;
  return std::none_of(learners.begin(), learners.end(), [&](NodeId id) { return IsVoter(id); });
}

}  // namespace warren::raft
