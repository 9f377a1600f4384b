// The messages Raft peers exchange (Raft §5, with pre-vote and leadership
// transfer from the Raft dissertation §9.6 and §3.10). Every message names
// its sender, its destination and the sender's term; codec.h turns them into
// bytes and back. Plain data; no thread owns them.
#pragma once

#include <cstdint>
#include <variant>
#include <vector>

#include "raft/types.h"

namespace warren::raft {

// Entries after prev_index (whose term must be prev_term), or none: a
// heartbeat. lease_tick is the leader's tick when it sent the message; the
// follower echoes it so the leader knows how recently a quorum heard from it.
// stable: how far the leader's own log was durable when it sent the message
// (a follower that is the rest of a quorum commits from it, docs/raft.md).
struct AppendEntries {
  Index prev_index = 0;
  Term prev_term = 0;
  Index commit = 0;
  uint64_t lease_tick = 0;
  std::vector<Entry> entries;  // indexes prev_index + 1, prev_index + 2, ...
  Index stable = 0;
  bool operator==(const AppendEntries&) const = default;
};

// success: the follower's log now matches the leader's up to match_index.
// Otherwise it had no entry at reject_index with the term asked for, and
// hint_index/hint_term say where the leader may retry (fast back-off): the
// first index of the follower's term hint_term at reject_index, or, with
// hint_term 0, one past the follower's last index.
struct AppendEntriesResponse {
  bool success = false;
  Index match_index = 0;
  Index reject_index = 0;
  Index hint_index = 0;
  Term hint_term = 0;
  uint64_t lease_tick = 0;
  bool operator==(const AppendEntriesResponse&) const = default;
};

// A vote request, or a pre-vote (the message's term is then the term the
// sender would campaign in; nobody changes term or vote for it). transfer:
// the candidate campaigns because the leader asked it to (TimeoutNow), so
// voters answer even while they still hear from that leader.
struct VoteRequest {
  bool pre_vote = false;
  bool transfer = false;
  Index last_index = 0;
  Term last_term = 0;
  bool operator==(const VoteRequest&) const = default;
};

struct VoteResponse {
  bool pre_vote = false;
  bool granted = false;
  bool operator==(const VoteResponse&) const = default;
};

// The leader's latest snapshot, whole, for a follower that needs entries the
// leader no longer has.
struct InstallSnapshot {
  uint64_t lease_tick = 0;
  Snapshot snapshot;
  bool operator==(const InstallSnapshot&) const = default;
};

// The follower's log matches the leader's up to match_index.
struct InstallSnapshotResponse {
  Index match_index = 0;
  uint64_t lease_tick = 0;
  bool operator==(const InstallSnapshotResponse&) const = default;
};

// From the leader to the voter it hands leadership to: campaign now.
struct TimeoutNow {
  bool operator==(const TimeoutNow&) const = default;
};

using MessageBody = std::variant<AppendEntries, AppendEntriesResponse, VoteRequest, VoteResponse,
                                 InstallSnapshot, InstallSnapshotResponse, TimeoutNow>;

struct Message {
  NodeId from = kNoNode;
  NodeId to = kNoNode;
  Term term = 0;
  MessageBody body;
  bool operator==(const Message&) const = default;
};

}  // namespace warren::raft
