// Pre-vote (dissertation §9.6): a node that cannot win changes nobody's
// term, so one that was cut off and comes back cannot depose a healthy
// leader; and voters that hear from a leader ignore candidates altogether.
#include <gtest/gtest.h>

#include "driver.h"
#include "sim_cluster.h"

namespace warren::raft::test {
namespace {

using sim::SimCluster;

TEST(RaftPreVote, RejoiningNodeCannotDeposeAHealthyLeader) {
  SimCluster c({1, 2, 3}, /*seed=*/11);
  NodeId leader = c.WaitForLeader();
  Term term = c.raft(leader).term();
  NodeId outcast = leader % 3 + 1;
  c.Isolate(outcast);
  c.Run(200);  // many election timeouts: without pre-vote its term would climb
  EXPECT_EQ(c.raft(outcast).term(), term);
  EXPECT_NE(c.raft(outcast).role(), Role::kCandidate);
  c.HealNetwork();
  c.Run(100);
  EXPECT_EQ(c.Leader(), leader);
  EXPECT_EQ(c.raft(leader).term(), term);
  EXPECT_EQ(c.failure(), "");
}

TEST(RaftPreVote, PartitionedMinorityNeverRaisesItsTerm) {
  SimCluster c({1, 2, 3, 4, 5}, /*seed=*/12);
  NodeId leader = c.WaitForLeader();
  Term term = c.raft(leader).term();
  std::vector<NodeId> minority;
  for (NodeId id : c.ids()) {
    if (id != leader && minority.size() < 2) minority.push_back(id);
  }
  for (NodeId m : minority) {
    for (NodeId other : c.ids()) {
      if (other != minority[0] && other != minority[1]) {
        c.Cut(m, other);
        c.Cut(other, m);
      }
    }
  }
  c.Run(300);
  for (NodeId m : minority) EXPECT_EQ(c.raft(m).term(), term) << "node " << m;
  EXPECT_EQ(c.Leader(), leader);
}

TEST(RaftPreVote, PreVoteChangesNeitherTermNorVote) {
  Driver d(1, Persisted::Bootstrap({1, 2, 3}));
  for (int i = 0; i < 10; ++i) d.raft().Tick();  // past the start-up lease
  d.Flush();
  Term term = d.raft().term();
  d.Receive(2, term + 1, VoteRequest{true, false, 1, 1});
  Ready r = d.Flush();
  EXPECT_FALSE(r.hard_state.has_value());
  auto answers = Sent<VoteResponse>(r.messages);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_TRUE(answers[0].second.granted);
  EXPECT_TRUE(answers[0].second.pre_vote);
  EXPECT_EQ(d.raft().term(), term);
  EXPECT_EQ(d.raft().vote(), kNoNode);
}

TEST(RaftPreVote, FollowerHearingFromItsLeaderIgnoresCandidates) {
  Driver d(1, Persisted::Bootstrap({1, 2, 3}));
  for (int i = 0; i < 10; ++i) d.raft().Tick();
  d.Receive(2, 2, AppendEntries{1, 1, 0, 0, {}});  // a leader in term 2
  d.Flush();
  d.raft().Tick();
  d.Receive(3, 3, VoteRequest{true, false, 5, 2});
  d.Receive(3, 3, VoteRequest{false, false, 5, 2});
  Ready r = d.Flush();
  EXPECT_TRUE(r.messages.empty());
  EXPECT_EQ(d.raft().term(), Term{2});
  EXPECT_EQ(d.raft().leader(), NodeId{2});
}

TEST(RaftPreVote, TransferCampaignIsAnsweredEvenWhileHearingFromTheLeader) {
  Driver d(1, Persisted::Bootstrap({1, 2, 3}));
  d.Receive(2, 2, AppendEntries{1, 1, 0, 0, {}});
  d.Flush();
  d.Receive(3, 3, VoteRequest{false, /*transfer=*/true, 1, 1});
  auto answers = Sent<VoteResponse>(d.Flush().messages);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_TRUE(answers[0].second.granted);
  EXPECT_EQ(d.raft().term(), Term{3});
}

}  // namespace
}  // namespace warren::raft::test
