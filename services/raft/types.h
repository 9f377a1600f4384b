// The values the Raft core replicates and persists: node ids, log entries,
// the hard state (term and vote), the configuration (voters and learners)
// and snapshots. Plain data, copied freely; no thread owns them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace warren::raft {

// A member of the group. Ids are numbers rather than node names: they are
// compared, sorted and sent in every message, and a number is one varint on
// the wire. The cluster layer gives each node a fresh id when it joins and
// keeps how to reach it in the configuration (Configuration::addresses); an
// id is never reused, so nothing a former member sent can be mistaken for a
// new one's.
using NodeId = uint64_t;
using Term = uint64_t;
using Index = uint64_t;
inline constexpr NodeId kNoNode = 0;
inline constexpr size_t kMaxAddressBytes = 1024;

enum class EntryType : uint8_t {
  kCommand = 0,     // the state machine's command, opaque to the core
  kMembership = 1,  // payload: the whole new Configuration (EncodeConfiguration)
  kNoOp = 2,        // appended by a new leader so it can commit (Raft §5.4.2, §8)
};
inline constexpr uint8_t kMaxEntryType = 2;

struct Entry {
  Index index = 0;
  Term term = 0;
  EntryType type = EntryType::kCommand;
  std::string payload;
  bool operator==(const Entry&) const = default;
};

// What must be on disk before a vote or a term is relied on (Raft §5.1).
struct HardState {
  Term term = 0;
  NodeId vote = kNoNode;
  bool operator==(const HardState&) const = default;
};

// Who votes and who only receives the log. Both lists are sorted, without
// duplicates, and disjoint; kNoNode is never a member. `addresses` travels
// with the membership, in the same entry: for each member that has one, a
// value opaque to the core (the cluster layer's way to reach that member),
// at most kMaxAddressBytes long. `highest` is the highest id that was ever a
// member: a learner is added only with a higher one, so no id is reused.
struct Configuration {
  std::vector<NodeId> voters;
  std::vector<NodeId> learners;
  std::map<NodeId, std::string> addresses = {};
  NodeId highest = kNoNode;

  bool IsVoter(NodeId id) const;
  bool IsLearner(NodeId id) const;
  bool Contains(NodeId id) const { return IsVoter(id) || IsLearner(id); }
  // The id the next member added gets: above every id that was a member.
  NodeId NextId() const;
  // The number of voters that makes a majority.
  size_t Quorum() const { return voters.size() / 2 + 1; }
  // Sorted, disjoint, no kNoNode, an address only for a member and within
  // bounds: what a decoded configuration must be.
  bool IsValid() const;
  bool operator==(const Configuration&) const = default;
};

// The point a snapshot covers: the last entry it includes and the
// configuration in force there.
struct SnapshotMeta {
  Index index = 0;
  Term term = 0;
  Configuration config;
  bool operator==(const SnapshotMeta&) const = default;
};

// The state machine's image at meta.index, opaque to the core.
struct Snapshot {
  SnapshotMeta meta;
  std::string data;
  bool operator==(const Snapshot&) const = default;
};

}  // namespace warren::raft
