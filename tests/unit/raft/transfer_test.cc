// Leadership transfer (dissertation §3.10): the leader brings the target up
// to date, stops taking proposals, and tells it to campaign at once.
#include <gtest/gtest.h>

#include <string>

#include "raft/errors.h"
#include "sim_cluster.h"

namespace warren::raft::test {
namespace {

using sim::SimCluster;

TEST(RaftTransfer, LeadershipMovesToTheTargetWithoutAnElectionTimeout) {
  SimCluster c({1, 2, 3}, /*seed=*/71);
  NodeId leader = c.WaitForLeader();
  ASSERT_TRUE(c.RunUntil([&] { return c.raft(leader).commit_index() >= 2; }, 50));
  NodeId target = leader % 3 + 1;
  ASSERT_TRUE(c.raft(leader).TransferLeadership(target).ok());
  Result<Proposal> refused = c.Propose(leader, "x");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(ErrcOf(refused.error()), Errc::kLeadershipTransfer);
  EXPECT_EQ(c.WaitForNewLeader(leader, 8), target);
  EXPECT_EQ(c.failure(), "");
}

TEST(RaftTransfer, TargetIsBroughtUpToDateFirst) {
  SimCluster c({1, 2, 3}, /*seed=*/72);
  NodeId leader = c.WaitForLeader();
  NodeId target = leader % 3 + 1;
  Index last = c.CommitWithout(target, leader, 20);
  ASSERT_NE(last, 0u);
  ASSERT_TRUE(c.raft(leader).TransferLeadership(target).ok());
  ASSERT_EQ(c.WaitForNewLeader(leader, 30), target);
  EXPECT_TRUE(c.raft(target).log().TermAt(last).has_value());
  EXPECT_EQ(c.failure(), "");
}

TEST(RaftTransfer, OnlyAVoterCanTakeOver) {
  SimCluster c({1, 2, 3}, /*seed=*/73);
  NodeId leader = c.WaitForLeader();
  for (NodeId bad : {leader, NodeId{9}}) {
    Status s = c.raft(leader).TransferLeadership(bad);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(ErrcOf(s.error()), Errc::kInvalidArgument);
  }
}

TEST(RaftTransfer, FollowerCannotTransfer) {
  SimCluster c({1, 2, 3}, /*seed=*/74);
  NodeId leader = c.WaitForLeader();
  NodeId follower = leader % 3 + 1;
  Status s = c.raft(follower).TransferLeadership(leader);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(ErrcOf(s.error()), Errc::kNotLeader);
}

}  // namespace
}  // namespace warren::raft::test
