// Check-quorum and the leader's lease: a leader that no quorum has answered
// for an election timeout steps down, and a lease (LeaseUntil) never
// outlives the promise of the voters that back it, even across their
// restarts or a leadership transfer.
#include <gtest/gtest.h>

#include "driver.h"
#include "sim_cluster.h"

namespace warren::raft::test {
namespace {

using sim::SimCluster;

constexpr int kElection = 10;  // SimCluster::DefaultOptions().election_ticks

TEST(RaftLease, LeaderCutOffFromTheMajorityStepsDown) {
  SimCluster c({1, 2, 3, 4, 5}, /*seed=*/21);
  NodeId old = c.WaitForLeader();
  c.Isolate(old);
  EXPECT_TRUE(c.RunUntil([&] { return c.raft(old).role() != Role::kLeader; }, kElection + 2));
  EXPECT_NE(c.WaitForNewLeader(old), kNoNode);
  EXPECT_EQ(c.failure(), "") << "no two leases at once";
}

TEST(RaftLease, LeaseLastsAnElectionTimeoutPastTheLastQuorumAnswer) {
  SimCluster c({1, 2, 3}, /*seed=*/22);
  NodeId leader = c.WaitForLeader();
  ASSERT_TRUE(c.RunUntil([&] { return c.raft(leader).HasLease(); }, 10));
  c.Isolate(leader);
  Raft& r = c.raft(leader);
  uint64_t until = *r.LeaseUntil();
  EXPECT_LE(until, r.now() + kElection);
  c.RunUntil([&] { return !r.HasLease(); }, 2 * kElection);
  EXPECT_FALSE(r.HasLease());
  EXPECT_LE(r.now(), until) << "the lease lapses when it says";
}

TEST(RaftLease, TheLeaderKnowsWhenItLastHeardFromEachPeer) {
  SimCluster c({1, 2, 3, 4, 5}, /*seed=*/25);
  NodeId leader = c.WaitForLeader();
  Raft& r = c.raft(leader);
  NodeId quiet = leader % 5 + 1;
  NodeId talking = quiet % 5 + 1;
  ASSERT_NE(talking, leader);
  ASSERT_TRUE(c.RunUntil([&] { return r.LastHeard(quiet).value_or(0) > r.now() - 3; }, 20));
  c.Isolate(quiet);
  uint64_t cut_at = r.now();
  c.RunUntil([] { return false; }, 3 * kElection);
  ASSERT_EQ(r.role(), Role::kLeader) << "four of five still answer";
  EXPECT_LE(*r.LastHeard(quiet), cut_at);
  EXPECT_GT(*r.LastHeard(talking), cut_at);
  EXPECT_EQ(*r.LastHeard(leader), r.now());
  EXPECT_FALSE(r.LastHeard(99).has_value()) << "not a member";
  EXPECT_FALSE(c.raft(quiet).LastHeard(leader).has_value()) << "a follower keeps no such count";
}

TEST(RaftLease, FollowerIsLeaderOnlyWithoutLease) {
  SimCluster c({1, 2, 3}, /*seed=*/23);
  NodeId leader = c.WaitForLeader();
  for (NodeId id : c.ids()) {
    if (id == leader) continue;
    EXPECT_FALSE(c.raft(id).LeaseUntil().has_value());
  }
}

// The restarted follower forgot, in memory, that it heard from the leader
// a moment ago; it must still refuse to help anyone else win until the
// lease it backed has run out.
TEST(RaftLease, RestartedFollowerKeepsTheLeaseItBacked) {
  Options o = SimCluster::DefaultOptions();
  o.heartbeat_ticks = 4;
  SimCluster c({1, 2, 3}, /*seed=*/24, o);
  NodeId leader = c.WaitForLeader();
  ASSERT_TRUE(c.RunUntil([&] { return c.raft(leader).HasLease(); }, 10));
  NodeId backer = leader % 3 + 1;
  NodeId rival = backer % 3 + 1;
  c.Cut(leader, rival);  // the rival stops hearing from the leader
  ASSERT_TRUE(c.RunUntil([&] { return c.raft(rival).role() == Role::kPreCandidate; }, 100));
  c.Cut(leader, backer);  // and the backer hears nothing more either
  c.Crash(backer);
  c.Restart(backer);
  EXPECT_NE(c.WaitForNewLeader(leader, 6 * kElection), kNoNode)
      << "another node wins once the lease has run out";
  EXPECT_EQ(c.failure(), "");
}

TEST(RaftLease, TransferGivesUpTheLeaseForTheRestOfTheTerm) {
  Driver d(1, Persisted::Bootstrap({1, 2, 3}));
  d.BecomeLeader({2, 3});
  Term term = d.raft().term();
  auto ack = [&](NodeId peer) {
    AppendEntriesResponse ack{.success = true, .match_index = 2, .lease_tick = d.raft().now()};
    d.Receive(peer, term, ack);
  };
  ack(2);
  ack(3);
  d.Flush();
  EXPECT_TRUE(d.raft().HasLease());
  ASSERT_TRUE(d.raft().TransferLeadership(2).ok());
  EXPECT_EQ(Sent<TimeoutNow>(d.Flush().messages).size(), 1u);
  EXPECT_FALSE(d.raft().LeaseUntil().has_value());
  for (int i = 0; i < kElection; ++i) {  // node 2 never takes over: the transfer lapses
    d.raft().Tick();
    ack(3);
  }
  EXPECT_TRUE(d.raft().Propose("x").ok()) << "proposals are taken again";
  EXPECT_FALSE(d.raft().LeaseUntil().has_value()) << "but node 2 may still campaign";
}

// How far the cluster committed, as a node can tell (a restarted home holds
// its mirrored queues until it has applied that far): nothing after a
// restart until this term's leader has said, then the leader's commit.
TEST(RaftLease, ARestartedFollowerKnowsTheClustersCommitOnlyFromTheLeader) {
  SimCluster c({1, 2, 3}, /*seed=*/26);
  NodeId leader = c.WaitForLeader();
  NodeId behind = leader % 3 + 1;
  ASSERT_TRUE(c.RunUntil([&] { return c.raft(behind).KnownClusterCommit().has_value(); }, 20));
  c.Crash(behind);
  c.Isolate(behind);
  Index last = c.ProposeMany(leader, 5);
  ASSERT_NE(last, 0u);
  ASSERT_TRUE(c.WaitApplied(leader, last));
  EXPECT_EQ(c.raft(leader).KnownClusterCommit(),
            std::optional<Index>(c.raft(leader).commit_index()));
  c.Restart(behind);
  c.Run(3 * kElection);
  EXPECT_FALSE(c.raft(behind).KnownClusterCommit().has_value())
      << "no leader heard since the restart";
  c.HealNetwork();
  ASSERT_TRUE(c.RunUntil(
      [&] {
        std::optional<Index> known = c.raft(behind).KnownClusterCommit();
        return known && *known >= last;
      },
      100));
  EXPECT_TRUE(c.WaitApplied(behind, last));
  EXPECT_EQ(c.failure(), "");
}

}  // namespace
}  // namespace warren::raft::test
