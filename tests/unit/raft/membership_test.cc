// Single-server membership changes (dissertation §4): a node joins as a
// learner, is promoted once caught up, and members leave one at a time; a
// change takes effect when appended, only one is uncommitted at a time, and
// a leader that removes itself steps down once that commits.
#include <gtest/gtest.h>

#include <string>

#include "driver.h"
#include "raft/codec.h"
#include "raft/errors.h"
#include "sim_cluster.h"

namespace warren::raft::test {
namespace {

using sim::SimCluster;
using Kind = MembershipChange::Kind;

// Proposes `change` through the leader until it is accepted, then waits for
// it to commit; returns the leader that took it.
NodeId Change(SimCluster& c, Kind kind, NodeId node, const std::string& address = "") {
  Result<Proposal> p = RaftError(Errc::kNotLeader, "");
  NodeId leader = kNoNode;
  c.RunUntil(
      [&] {
        leader = c.Leader();
        if (leader != kNoNode) p = c.raft(leader).ProposeMembership({kind, node, address});
        return p.ok();
      },
      300);
  EXPECT_TRUE(p.ok()) << p.error().text;
  if (!p.ok()) return kNoNode;
  EXPECT_TRUE(c.RunUntil([&] { return c.oracle().max_applied() >= p->index; }, 300));
  return leader;
}

TEST(RaftMembership, LearnerCatchesUpThenBecomesAVoter) {
  SimCluster c({1, 2, 3}, /*seed=*/41);
  NodeId leader = c.WaitForLeader();
  Index last = c.ProposeMany(leader, 20);
  NodeId learner = c.NextId();
  Change(c, Kind::kAddLearner, learner);
  c.AddNode();
  ASSERT_TRUE(c.WaitApplied(learner, last));
  EXPECT_TRUE(c.raft(learner).config().IsLearner(learner));
  Change(c, Kind::kPromote, learner);
  EXPECT_TRUE(c.raft(c.Leader()).config().IsVoter(learner));
  EXPECT_EQ(c.raft(c.Leader()).config().Quorum(), 3u);
  EXPECT_EQ(c.failure(), "");
}

TEST(RaftMembership, AMembersAddressComesWithItAndGoesWithIt) {
  SimCluster c({1, 2, 3}, /*seed=*/48);
  c.WaitForLeader();
  NodeId learner = c.NextId();
  Change(c, Kind::kAddLearner, learner, "n4:25672");
  c.AddNode();
  ASSERT_TRUE(c.RunUntil([&] { return c.raft(learner).config().IsLearner(learner); }, 300));
  for (NodeId id : {NodeId{1}, NodeId{2}, NodeId{3}, learner})
    EXPECT_EQ(c.raft(id).config().addresses.at(learner), "n4:25672") << "node " << id;
  Change(c, Kind::kRemove, learner);
  EXPECT_EQ(c.raft(c.Leader()).config().addresses.count(learner), 0u);
  EXPECT_EQ(c.failure(), "");
}

TEST(RaftMembership, AnIdThatWasAMemberIsNeverGivenAgain) {
  SimCluster c({1, 2, 3}, /*seed=*/49);
  c.WaitForLeader();
  NodeId learner = c.NextId();
  Change(c, Kind::kAddLearner, learner);
  c.AddNode();
  Change(c, Kind::kRemove, learner);
  c.Retire(learner);
  NodeId leader = c.WaitForLeader();
  EXPECT_EQ(c.raft(leader).config().NextId(), learner + 1);
  Result<Proposal> again = c.raft(leader).ProposeMembership({Kind::kAddLearner, learner});
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().text.find("never reused"), std::string::npos) << again.error().text;
}

TEST(RaftMembership, LearnerNeverCampaigns) {
  SimCluster c({1, 2, 3}, /*seed=*/42);
  c.WaitForLeader();
  NodeId learner = c.NextId();
  Change(c, Kind::kAddLearner, learner);
  c.AddNode();
  ASSERT_TRUE(c.RunUntil([&] { return c.raft(learner).config().IsLearner(learner); }, 50));
  Term term = c.raft(learner).term();
  c.Isolate(learner);
  c.Run(200);
  EXPECT_EQ(c.raft(learner).term(), term);
  EXPECT_EQ(c.raft(learner).role(), Role::kFollower);
}

TEST(RaftMembership, LaggingLearnerIsNotPromoted) {
  SimCluster c({1, 2, 3}, /*seed=*/43);
  NodeId leader = c.WaitForLeader();
  NodeId learner = c.NextId();
  Change(c, Kind::kAddLearner, learner);
  c.AddNode();
  c.Isolate(learner);
  Index last = c.ProposeMany(leader, 5);
  ASSERT_TRUE(c.WaitApplied(leader, last));
  Result<Proposal> p = c.raft(leader).ProposeMembership({Kind::kPromote, learner});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(ErrcOf(p.error()), Errc::kInvalidMembershipChange);
  EXPECT_NE(p.error().text.find("has not caught up"), std::string::npos) << p.error().text;
}

TEST(RaftMembership, OnlyOneChangeIsUncommittedAtATime) {
  SimCluster c({1, 2, 3}, /*seed=*/44);
  NodeId leader = c.WaitForLeader();
  ASSERT_TRUE(c.RunUntil([&] { return c.raft(leader).commit_index() >= 2; }, 50));
  ASSERT_TRUE(c.raft(leader).ProposeMembership({Kind::kAddLearner, 10}).ok());
  Result<Proposal> second = c.raft(leader).ProposeMembership({Kind::kAddLearner, 11});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(ErrcOf(second.error()), Errc::kMembershipChangePending);
  ASSERT_TRUE(c.RunUntil([&] { return c.raft(leader).commit_index() >= 3; }, 50));
  EXPECT_TRUE(c.raft(leader).ProposeMembership({Kind::kAddLearner, 11}).ok());
}

TEST(RaftMembership, InvalidChangesAreRefused) {
  SimCluster c({1}, /*seed=*/45);
  ASSERT_EQ(c.WaitForLeader(), NodeId{1});
  ASSERT_TRUE(c.RunUntil([&] { return c.raft(1).commit_index() >= 2; }, 50));
  Raft& r = c.raft(1);
  for (MembershipChange bad : {MembershipChange{Kind::kAddLearner, 1},
                               MembershipChange{Kind::kAddLearner, kNoNode},
                               MembershipChange{Kind::kPromote, 7},
                               MembershipChange{Kind::kRemove, 7},
                               MembershipChange{Kind::kRemove, 1}}) {
    Result<Proposal> p = r.ProposeMembership(bad);
    ASSERT_FALSE(p.ok()) << "node " << bad.node;
    EXPECT_EQ(ErrcOf(p.error()), Errc::kInvalidMembershipChange) << p.error().text;
  }
}

TEST(RaftMembership, NewLeaderTakesNoChangeBeforeItCommitsInItsTerm) {
  Driver d(1, Persisted::Bootstrap({1, 2, 3}));
  d.BecomeLeader({2});
  d.Flush();
  Result<Proposal> p = d.raft().ProposeMembership({Kind::kAddLearner, 4});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(ErrcOf(p.error()), Errc::kMembershipChangePending);
  d.Receive(2, d.raft().term(), AppendEntriesResponse{.success = true, .match_index = 2});
  d.Flush();
  EXPECT_TRUE(d.raft().ProposeMembership({Kind::kAddLearner, 4}).ok());
}

TEST(RaftMembership, ChangeTakesEffectWhenAppendedAndRevertsIfTruncated) {
  Driver d(3, Persisted::Bootstrap({1, 2, 3}));
  std::string grown = EncodeConfiguration({{1, 2, 3}, {4}});
  d.Receive(1, 2, AppendEntries{1, 1, 0, 0, {Entry{2, 2, EntryType::kMembership, grown}}});
  d.Flush();
  EXPECT_TRUE(d.raft().config().IsLearner(4)) << "in force, though not committed";
  d.Receive(2, 3, AppendEntries{1, 1, 0, 0, {Entry{2, 3, EntryType::kNoOp, ""}}});
  d.Flush();
  EXPECT_FALSE(d.raft().config().Contains(4)) << "gone with the entry that carried it";
}

TEST(RaftMembership, RemovedLeaderStepsDownOnceItsRemovalCommits) {
  SimCluster c({1, 2, 3}, /*seed=*/46);
  NodeId old = c.WaitForLeader();
  ASSERT_TRUE(c.RunUntil([&] { return c.raft(old).commit_index() >= 2; }, 50));
  Result<Proposal> p = c.raft(old).ProposeMembership({Kind::kRemove, old});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(c.raft(old).role(), Role::kLeader) << "it leads until the change commits";
  ASSERT_TRUE(c.RunUntil([&] { return c.raft(old).role() != Role::kLeader; }, 50));
  EXPECT_GE(c.raft(old).commit_index(), p->index);
  NodeId leader = c.WaitForNewLeader(old, 30);  // handed over, no election timeout
  ASSERT_NE(leader, kNoNode);
  Index last = c.ProposeMany(leader, 3);
  EXPECT_TRUE(c.WaitApplied(leader, last)) << "two voters commit on their own";
  Term term = c.raft(leader).term();
  c.Run(300);
  EXPECT_EQ(c.Leader(), leader) << "the removed node does not disturb the group";
  EXPECT_EQ(c.raft(leader).term(), term);
  EXPECT_EQ(c.failure(), "");
}

TEST(RaftMembership, GroupGrowsFromThreeToFiveAndShrinksBack) {
  SimCluster c({1, 2, 3}, /*seed=*/47);
  c.WaitForLeader();
  for (int i = 0; i < 2; ++i) {
    NodeId n = c.NextId();
    Change(c, Kind::kAddLearner, n);
    c.AddNode();
    Change(c, Kind::kPromote, n);
    EXPECT_NE(c.ProposeMany(c.Leader(), 5), 0u);
  }
  EXPECT_EQ(c.raft(c.Leader()).config().voters.size(), 5u);
  for (NodeId gone : {NodeId{1}, NodeId{2}}) {
    Change(c, Kind::kRemove, gone);
    c.Retire(gone);
    EXPECT_NE(c.ProposeMany(c.WaitForLeader(), 5), 0u);
  }
  NodeId leader = c.WaitForLeader();
  ASSERT_NE(leader, kNoNode);
  EXPECT_EQ(c.raft(leader).config().voters, (std::vector<NodeId>{3, 4, 5}));
  Index last = c.ProposeMany(leader, 3);
  for (NodeId id : {3, 4, 5}) EXPECT_TRUE(c.WaitApplied(id, last)) << "node " << id;
  EXPECT_EQ(c.failure(), "");
}

}  // namespace
}  // namespace warren::raft::test
