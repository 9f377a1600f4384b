// Snapshots (Raft §7): the state machine's image lets the log before it go;
// a follower that needs what the leader dropped gets the image instead.
#include <gtest/gtest.h>

#include <string>

#include "driver.h"
#include "raft/errors.h"
#include "sim_cluster.h"

namespace warren::raft::test {
namespace {

using sim::SimCluster;

TEST(RaftSnapshot, LaggingFollowerInstallsTheSnapshotAndCatchesUp) {
  SimCluster c({1, 2, 3}, /*seed=*/51);
  NodeId leader = c.WaitForLeader();
  NodeId lagging = leader % 3 + 1;
  c.Crash(lagging);
  Index last = c.ProposeMany(leader, 40);
  ASSERT_TRUE(c.WaitApplied(leader, last));
  ASSERT_TRUE(c.TakeSnapshot(leader));
  EXPECT_EQ(c.raft(leader).log().first_index(), last + 1);
  Index more = c.ProposeMany(leader, 3);
  c.Restart(lagging);
  ASSERT_TRUE(c.WaitApplied(lagging, more));
  EXPECT_EQ(c.stats().installs, 1u);
  EXPECT_EQ(c.raft(lagging).log().snapshot().index, last);
  EXPECT_EQ(c.state(lagging).commands, c.state(leader).commands);
  EXPECT_EQ(c.failure(), "");
}

TEST(RaftSnapshot, JoiningLearnerLearnsTheConfigurationFromTheSnapshot) {
  SimCluster c({1, 2, 3}, /*seed=*/52);
  NodeId leader = c.WaitForLeader();
  ASSERT_TRUE(c.RunUntil([&] { return c.raft(leader).commit_index() >= 2; }, 50));
  NodeId learner = c.NextId();
  MembershipChange add{MembershipChange::Kind::kAddLearner, learner};
  ASSERT_TRUE(c.raft(leader).ProposeMembership(add).ok());
  Index last = c.ProposeMany(leader, 5);
  ASSERT_TRUE(c.WaitApplied(leader, last));
  ASSERT_TRUE(c.TakeSnapshot(leader));  // the log, membership entries included, is gone
  c.AddNode();
  ASSERT_TRUE(c.WaitApplied(learner, last));
  EXPECT_TRUE(c.raft(learner).config().IsLearner(learner));
  EXPECT_EQ(c.raft(learner).config().voters, (std::vector<NodeId>{1, 2, 3}));
  EXPECT_EQ(c.failure(), "");
}

TEST(RaftSnapshot, CompactionNeedsAnAppliedIndexPastTheLastSnapshot) {
  SimCluster c({1}, /*seed=*/53);
  c.WaitForLeader();
  Index last = c.ProposeMany(1, 3);
  ASSERT_TRUE(c.WaitApplied(1, last));
  Raft& r = c.raft(1);
  Result<SnapshotMeta> ahead = r.Compact(last + 1, "x");
  ASSERT_FALSE(ahead.ok());
  EXPECT_EQ(ErrcOf(ahead.error()), Errc::kInvalidArgument);
  Result<SnapshotMeta> meta = r.Compact(last - 1, "x");
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta->term, r.term());
  EXPECT_EQ(meta->config.voters, (std::vector<NodeId>{1}));
  EXPECT_FALSE(r.Compact(last - 1, "x").ok()) << "already there";
  EXPECT_EQ(r.log().first_index(), last);
  EXPECT_EQ(r.log().At(last).payload, "c2");
}

class InstallTest : public ::testing::Test {
 protected:
  // A follower holding entries 2..5 of term 1, 2 of them committed.
  InstallTest() : d_(2, Start()) {
    d_.Receive(1, 1, AppendEntries{5, 1, 2, 0, {}});
    d_.Flush();
  }

  static Persisted Start() {
    Persisted p = Persisted::Bootstrap({1, 2, 3});
    for (Index i = 2; i <= 5; ++i) p.entries.push_back(Entry{i, 1, EntryType::kCommand, "e"});
    return p;
  }

  Ready Install(Index index, Term term) {
    Snapshot s{{index, term, Configuration{{1, 2, 3}, {}}}, "image"};
    d_.Receive(1, 2, InstallSnapshot{0, s});
    return d_.Flush();
  }

  InstallSnapshotResponse Answer(const Ready& r) {
    auto answers = Sent<InstallSnapshotResponse>(r.messages);
    EXPECT_EQ(answers.size(), 1u);
    return answers.empty() ? InstallSnapshotResponse{} : answers[0].second;
  }

  Driver d_;
};

TEST_F(InstallTest, SnapshotBehindTheCommitPointIsIgnored) {
  Ready r = Install(2, 1);
  EXPECT_FALSE(r.snapshot.has_value());
  EXPECT_EQ(Answer(r).match_index, Index{2});
  EXPECT_EQ(d_.raft().log().last_index(), Index{5});
}

TEST_F(InstallTest, SnapshotOfAnEntryWeHoldOnlyAdvancesTheCommitPoint) {
  Ready r = Install(4, 1);
  EXPECT_FALSE(r.snapshot.has_value());
  EXPECT_EQ(d_.raft().commit_index(), Index{4});
  EXPECT_EQ(d_.raft().log().last_index(), Index{5}) << "entry 5 is kept";
  EXPECT_EQ(Answer(r).match_index, Index{4});
}

TEST_F(InstallTest, SnapshotOfAnEntryWeLackReplacesTheLog) {
  Ready r = Install(7, 2);
  ASSERT_TRUE(r.snapshot.has_value());
  EXPECT_EQ(r.snapshot->data, "image");
  EXPECT_TRUE(r.committed.empty()) << "the snapshot stands for entries 3..7";
  EXPECT_EQ(d_.raft().log().first_index(), Index{8});
  EXPECT_EQ(d_.raft().log().last_index(), Index{7});
  EXPECT_EQ(d_.raft().commit_index(), Index{7});
  EXPECT_EQ(Answer(r).match_index, Index{7});
}

}  // namespace
}  // namespace warren::raft::test
