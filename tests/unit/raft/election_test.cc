// Leader election (Raft §5.2, §5.4.1): one leader per term, votes given
// once per term, only to logs at least as up to date, and durable before
// the answer leaves.
#include <gtest/gtest.h>

#include "driver.h"
#include "sim_cluster.h"

namespace warren::raft::test {
namespace {

using sim::SimCluster;

TEST(RaftElection, ThreeNodesAgreeOnOneLeader) {
  SimCluster c({1, 2, 3}, /*seed=*/1);
  NodeId leader = c.WaitForLeader();
  ASSERT_NE(leader, kNoNode);
  c.Run(5);
  for (NodeId id : c.ids()) {
    EXPECT_EQ(c.raft(id).leader(), leader) << "node " << id;
    EXPECT_EQ(c.raft(id).term(), c.raft(leader).term()) << "node " << id;
  }
  EXPECT_EQ(c.failure(), "");
}

TEST(RaftElection, FirstElectionWaitsAtLeastAnElectionTimeout) {
  SimCluster c({1, 2, 3}, /*seed=*/2);
  c.Run(SimCluster::DefaultOptions().election_ticks - 1);
  EXPECT_EQ(c.Leader(), kNoNode);
  EXPECT_NE(c.WaitForLeader(), kNoNode);
}

TEST(RaftElection, LeaderStaysWhileItsHeartbeatsArrive) {
  SimCluster c({1, 2, 3}, /*seed=*/3);
  NodeId leader = c.WaitForLeader();
  Term term = c.raft(leader).term();
  c.Run(500);
  EXPECT_EQ(c.Leader(), leader);
  EXPECT_EQ(c.raft(leader).term(), term);
}

TEST(RaftElection, SurvivorsElectANewLeaderWhenTheLeaderCrashes) {
  SimCluster c({1, 2, 3, 4, 5}, /*seed=*/4);
  NodeId old = c.WaitForLeader();
  Term term = c.raft(old).term();
  c.Crash(old);
  NodeId leader = c.WaitForLeader();
  ASSERT_NE(leader, kNoNode);
  EXPECT_GT(c.raft(leader).term(), term);
  EXPECT_EQ(c.failure(), "");
}

TEST(RaftElection, LoneVoterLeadsAtOnceAfterItsTimeout) {
  SimCluster c({1}, /*seed=*/5);
  EXPECT_EQ(c.WaitForLeader(), NodeId{1});
  ASSERT_TRUE(c.Propose(1, "x").ok());
  EXPECT_TRUE(c.WaitApplied(1, 3));  // the configuration, the no-op, x
}

// The node under test has voted in term 1's bootstrap only; peers ask it.
class VoteTest : public ::testing::Test {
 protected:
  VoteTest() : d_(1, Persisted::Bootstrap({1, 2, 3})) {
    // Past the start-up lease, in which a node refuses to vote.
    for (int i = 0; i < 10; ++i) d_.raft().Tick();
    d_.Flush();
  }

  // Asks for a vote in `term` with a log ending at (last_index, last_term).
  VoteResponse Ask(NodeId from, Term term, Index last_index, Term last_term) {
    d_.Receive(from, term, VoteRequest{false, false, last_index, last_term});
    auto answers = Sent<VoteResponse>(d_.Flush().messages);
    EXPECT_EQ(answers.size(), 1u);
    return answers.empty() ? VoteResponse{} : answers.back().second;
  }

  Driver d_;
};

TEST_F(VoteTest, GrantsOneVotePerTerm) {
  EXPECT_TRUE(Ask(2, 2, 1, 1).granted);
  EXPECT_TRUE(Ask(2, 2, 1, 1).granted) << "the same candidate asking again";
  EXPECT_FALSE(Ask(3, 2, 1, 1).granted) << "another candidate in the same term";
  EXPECT_TRUE(Ask(3, 3, 1, 1).granted) << "a new term";
}

TEST_F(VoteTest, RefusesALessUpToDateLog) {
  d_.Receive(2, 2, AppendEntries{1, 1, 0, 0, {Entry{2, 2, EntryType::kNoOp, ""}}});
  d_.Flush();
  // Past the lease the append gave, so the node answers.
  for (int i = 0; i < 10; ++i) d_.raft().Tick();
  EXPECT_FALSE(Ask(3, 3, 1, 1).granted) << "shorter log, same last term";
  EXPECT_FALSE(Ask(3, 4, 5, 1).granted) << "longer log, older last term";
  EXPECT_TRUE(Ask(3, 5, 2, 2).granted) << "same last entry";
}

TEST_F(VoteTest, VoteIsHandedOutToPersistWithTheAnswer) {
  d_.Receive(2, 2, VoteRequest{false, false, 1, 1});
  ASSERT_TRUE(d_.raft().HasReady());
  Ready r = d_.raft().TakeReady();
  ASSERT_TRUE(r.hard_state.has_value());
  EXPECT_EQ(*r.hard_state, (HardState{2, 2}));
  EXPECT_EQ(Sent<VoteResponse>(r.messages).size(), 1u);
  EXPECT_FALSE(d_.raft().HasReady()) << "one Ready at a time";
  d_.raft().Advance();
}

TEST_F(VoteTest, RestartedNodeRemembersItsVote) {
  ASSERT_TRUE(Ask(2, 2, 1, 1).granted);
  Persisted p = Persisted::Bootstrap({1, 2, 3});
  p.hard_state = {2, 2};
  Driver restarted(1, p);
  for (int i = 0; i < 10; ++i) restarted.raft().Tick();
  restarted.Receive(3, 2, VoteRequest{false, false, 1, 1});
  auto answers = Sent<VoteResponse>(restarted.Flush().messages);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_FALSE(answers[0].second.granted);
}

}  // namespace
}  // namespace warren::raft::test
