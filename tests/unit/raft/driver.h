// Drives one Raft by hand, the test playing its peers: messages in,
// Ready out (taken and acknowledged at once, as if every write were durable
// the moment it was handed out).
#pragma once

#include <gtest/gtest.h>

#include <utility>
#include <variant>
#include <vector>

#include "raft/raft.h"

namespace warren::raft::test {

inline Options TestOptions(NodeId id) {
  Options o;
  o.id = id;
  o.election_ticks = 10;
  o.heartbeat_ticks = 2;
  o.seed = 7;
  return o;
}

class Driver {
 public:
  Driver(NodeId id, Persisted persisted) : raft_(TestOptions(id), std::move(persisted)) {}

  Raft& raft() { return raft_; }

  // Every Ready until there is none; what they held, merged.
  Ready Flush() {
    Ready all;
    while (raft_.HasReady()) {
      Ready r = raft_.TakeReady();
      if (r.hard_state) all.hard_state = r.hard_state;
      if (r.snapshot) all.snapshot = r.snapshot;
      Append(all.entries, r.entries);
      Append(all.messages, r.messages);
      Append(all.committed, r.committed);
      raft_.Advance();
    }
    return all;
  }

  // The body is built in the message (not moved from another variant).
  template <class Body>
  void Receive(NodeId from, Term term, Body body) {
    raft_.Step(Message{from, raft_.id(), term, MessageBody(std::move(body))});
  }

  void TickUntil(Role role, int max_ticks = 100) {
    for (int i = 0; i < max_ticks && raft_.role() != role; ++i) raft_.Tick();
    ASSERT_EQ(raft_.role(), role);
  }

  // Wins an election with the votes of `voters`: pre-votes, then votes.
  void BecomeLeader(const std::vector<NodeId>& voters) {
    TickUntil(Role::kPreCandidate);
    for (NodeId v : voters) Receive(v, raft_.term() + 1, VoteResponse{true, true});
    ASSERT_EQ(raft_.role(), Role::kCandidate);
    for (NodeId v : voters) Receive(v, raft_.term(), VoteResponse{false, true});
    ASSERT_EQ(raft_.role(), Role::kLeader);
  }

 private:
  template <class T>
  static void Append(std::vector<T>& to, std::vector<T>& from) {
    for (T& x : from) to.push_back(std::move(x));
  }

  Raft raft_;
};

// The bodies of type T among `messages`, with their destinations.
template <class T>
std::vector<std::pair<NodeId, T>> Sent(const std::vector<Message>& messages) {
  std::vector<std::pair<NodeId, T>> out;
  for (const Message& m : messages) {
    if (const T* body = std::get_if<T>(&m.body)) out.emplace_back(m.to, *body);
  }
  return out;
}

}  // namespace warren::raft::test
