// Raft §5.4.2 (the paper's Figure 8): a leader commits an entry of an
// earlier term only by committing one of its own term after it; counting
// replicas of the old entry is not enough, because a node with a later
// last term could still be elected without it and overwrite it.
#include <gtest/gtest.h>

#include "driver.h"

namespace warren::raft::test {
namespace {

// Node 1 holds entry 2 from term 2 (uncommitted) and wins term 4, as S1 in
// Figure 8 (c).
class CommitRuleTest : public ::testing::Test {
 protected:
  CommitRuleTest() : d_(1, Start()) {}

  static Persisted Start() {
    Persisted p = Persisted::Bootstrap({1, 2, 3, 4, 5});
    p.entries.push_back(Entry{2, 2, EntryType::kCommand, "from term 2"});
    p.hard_state.term = 3;
    return p;
  }

  // A peer's acknowledgement; what the leader then hands out.
  Ready Ack(NodeId from, Index match) {
    d_.Receive(from, d_.raft().term(),
               AppendEntriesResponse{.success = true, .match_index = match});
    return d_.Flush();
  }

  Driver d_;
};

TEST_F(CommitRuleTest, OldTermEntryOnAQuorumIsNotCommittedByCounting) {
  d_.BecomeLeader({2, 3});
  ASSERT_EQ(d_.raft().term(), Term{4});
  ASSERT_EQ(d_.raft().log().At(3).type, EntryType::kNoOp);
  d_.Flush();
  Ack(2, 2);
  Ack(3, 2);  // entry 2 is on nodes 1, 2 and 3: a quorum of five
  EXPECT_EQ(d_.raft().commit_index(), Index{0});
}

TEST_F(CommitRuleTest, OldTermEntryCommitsWithTheFirstEntryOfTheNewTerm) {
  d_.BecomeLeader({2, 3});
  d_.Flush();
  EXPECT_TRUE(Ack(2, 3).committed.empty()) << "the no-op on two of five";
  Ready r = Ack(3, 3);
  EXPECT_EQ(d_.raft().commit_index(), Index{3});
  ASSERT_EQ(r.committed.size(), 3u);
  EXPECT_EQ(r.committed[1].payload, "from term 2");
}

TEST_F(CommitRuleTest, LeaderCountsItsOwnEntriesOnlyOnceDurable) {
  d_.BecomeLeader({2, 3});
  Ready r = d_.raft().TakeReady();  // the no-op, handed out but not yet durable
  ASSERT_FALSE(r.entries.empty());
  d_.Receive(2, 4, AppendEntriesResponse{.success = true, .match_index = 3});
  d_.Receive(3, 4, AppendEntriesResponse{.success = true, .match_index = 3});
  EXPECT_EQ(d_.raft().commit_index(), Index{0}) << "two of five, the leader's copy not counted";
  d_.raft().Advance();
  EXPECT_EQ(d_.raft().commit_index(), Index{3});
}

}  // namespace
}  // namespace warren::raft::test
