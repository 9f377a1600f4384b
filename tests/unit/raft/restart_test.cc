// Restarts: a node rebuilt from what it persisted (hard state, snapshot,
// log) carries on where it was, and a whole group restarted from disk keeps
// every committed command.
#include <gtest/gtest.h>

#include <string>

#include "driver.h"
#include "sim_cluster.h"

namespace warren::raft::test {
namespace {

using sim::SimCluster;

TEST(RaftRestart, NodeStartsFromItsHardStateSnapshotAndLog) {
  Persisted p;
  p.hard_state = {7, 3};
  p.snapshot = {{5, 6, Configuration{{1, 2, 3}, {4}}}, "image"};
  for (Index i = 4; i <= 8; ++i) p.entries.push_back(Entry{i, 7, EntryType::kCommand, "e"});
  Driver d(2, p);
  const Raft& r = d.raft();
  EXPECT_EQ(r.term(), Term{7});
  EXPECT_EQ(r.vote(), NodeId{3});
  EXPECT_EQ(r.log().first_index(), Index{6}) << "stored entries the snapshot covers are skipped";
  EXPECT_EQ(r.log().last_index(), Index{8});
  EXPECT_EQ(r.commit_index(), Index{5}) << "learned again from the leader";
  EXPECT_TRUE(r.config().IsLearner(4));
  EXPECT_EQ(r.snapshot().data, "image");
  EXPECT_FALSE(d.raft().HasReady()) << "nothing to persist again";
}

TEST(RaftRestart, WholeGroupRestartedFromDiskKeepsEveryCommittedCommand) {
  SimCluster c({1, 2, 3}, /*seed=*/61);
  NodeId leader = c.WaitForLeader();
  Index last = 0;
  for (int i = 0; i < 30; ++i) {
    last = c.Propose(leader, "c" + std::to_string(i))->index;
    if (i == 20) {
      ASSERT_TRUE(c.WaitApplied(leader, last));
      c.TakeSnapshot(leader);
    }
  }
  for (NodeId id : c.ids()) ASSERT_TRUE(c.WaitApplied(id, last));
  auto before = c.state(leader).commands;
  Term term = c.raft(leader).term();
  for (NodeId id : c.ids()) c.Crash(id);
  for (NodeId id : c.ids()) c.Restart(id);
  EXPECT_EQ(c.state(leader).commands.size(), 21u) << "its snapshot, before anything is applied";
  NodeId again = c.WaitForLeader();
  ASSERT_NE(again, kNoNode);
  EXPECT_GT(c.raft(again).term(), term);
  for (NodeId id : c.ids()) {
    ASSERT_TRUE(c.WaitApplied(id, last)) << "node " << id;
    EXPECT_EQ(c.state(id).commands, before) << "node " << id;
  }
  EXPECT_EQ(c.failure(), "");
}

// Nothing that depends on a write leaves a node before the write is
// synced, so a crash that loses it loses nothing anyone was told of. (A
// leader's append does go out before its own write: nobody counts it until
// the copies are synced.)
TEST(RaftRestart, CrashLosesOnlyWhatNobodyWasToldOf) {
  SimCluster c({1, 2, 3}, /*seed=*/62);
  NodeId leader = c.WaitForLeader();
  Index kept = c.Propose(leader, "synced")->index;
  ASSERT_TRUE(c.WaitApplied(leader, kept));
  c.faults().sync_delay = 1;  // from now on no write is synced
  ASSERT_TRUE(c.Propose(leader, "never synced").ok());
  c.Run(5);
  for (NodeId id : c.ids())
    EXPECT_EQ(c.raft(id).commit_index(), kept) << "node " << id << " counted an unsynced entry";
  c.Crash(leader);
  c.faults().sync_delay = 0;
  c.Restart(leader);
  NodeId now = c.WaitForLeader();
  ASSERT_NE(now, kNoNode);
  Index final = c.Propose(now, "after")->index;
  for (NodeId id : c.ids()) {
    ASSERT_TRUE(c.WaitApplied(id, final));
    EXPECT_EQ(c.state(id).commands.at(kept), "synced");
  }
  EXPECT_EQ(c.failure(), "");
}

}  // namespace
}  // namespace warren::raft::test
