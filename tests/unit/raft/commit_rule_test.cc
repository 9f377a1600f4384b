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

// docs/raft.md, "A follower that completes a quorum": in a group of three, a
// follower and the leader are a quorum, so the follower commits what both
// hold durably as soon as the leader says its own copy is, without waiting
// for the leader to count its answer and send the new commit point.
class FollowerCommitTest : public ::testing::Test {
 protected:
  // Node 2 of `voters`, following node 1 in term 2; entry 1 (the first
  // configuration) is committed.
  static Persisted Start(std::vector<NodeId> voters) {
    Persisted p = Persisted::Bootstrap(std::move(voters));
    p.hard_state.term = 2;
    return p;
  }
  static AppendEntries Entries(Term term, Index stable) {
    AppendEntries ae{1, 1, 1, 0, {Entry{2, term, EntryType::kCommand, "declare q"}}};
    ae.stable = stable;
    return ae;
  }
  static AppendEntries Heartbeat(Index stable) {
    AppendEntries ae{2, 2, 1, 0, {}};
    ae.stable = stable;
    return ae;
  }
};

TEST_F(FollowerCommitTest, AFollowerOfThreeCommitsOnceItAndTheLeaderHoldTheEntryDurably) {
  Driver d(2, Start({1, 2, 3}));
  d.Receive(1, 2, Entries(2, 1));  // sent before the leader's own write finished
  d.Flush();
  EXPECT_EQ(d.raft().commit_index(), Index{1}) << "the leader's copy is not durable yet";
  d.Receive(1, 2, Heartbeat(2));
  Ready r = d.Flush();
  EXPECT_EQ(d.raft().commit_index(), Index{2});
  ASSERT_EQ(r.committed.size(), 1u);
  EXPECT_EQ(r.committed[0].payload, "declare q");
}

TEST_F(FollowerCommitTest, NotBeforeItsOwnCopyIsDurable) {
  Driver d(2, Start({1, 2, 3}));
  d.Receive(1, 2, Entries(2, 2));  // the leader's copy already durable
  Ready r = d.raft().TakeReady();  // ours handed out, not yet acknowledged
  for (const Entry& e : r.committed) EXPECT_LT(e.index, Index{2});
  EXPECT_EQ(d.raft().commit_index(), Index{1});
  d.raft().Advance();
  EXPECT_EQ(d.raft().commit_index(), Index{2}) << "both copies durable now";
}

TEST_F(FollowerCommitTest, NotForAnEntryOfAnEarlierTerm) {
  Driver d(2, Start({1, 2, 3}));
  d.Receive(1, 2, Entries(1, 2));  // the leader of term 2 passes on an entry of term 1
  d.Flush();
  EXPECT_EQ(d.raft().commit_index(), Index{1}) << "Figure 8: counting replicas is not enough";
}

TEST_F(FollowerCommitTest, NotWhenTheFollowerAndTheLeaderAreNoQuorum) {
  Driver d(2, Start({1, 2, 3, 4, 5}));
  d.Receive(1, 2, Entries(2, 2));
  d.Flush();
  EXPECT_EQ(d.raft().commit_index(), Index{1}) << "two of five";
}

TEST_F(FollowerCommitTest, NotPastWhatItsLogIsKnownToShareWithTheLeader) {
  Persisted p = Start({1, 2, 3});
  // Entry 3 is left from an earlier leader: not yet known to match node 1's.
  p.entries.push_back(Entry{2, 2, EntryType::kCommand, "declare q"});
  p.entries.push_back(Entry{3, 2, EntryType::kCommand, "stale"});
  Driver d(2, p);
  AppendEntries ae{1, 1, 1, 0, {Entry{2, 2, EntryType::kCommand, "declare q"}}};
  ae.stable = 3;
  d.Receive(1, 2, ae);
  d.Flush();
  EXPECT_EQ(d.raft().commit_index(), Index{2});
}

TEST_F(FollowerCommitTest, ALeaderOfThreeTellsFollowersThatHaveNotAnsweredWhenItsCopyIsDurable) {
  Driver d(1, Persisted::Bootstrap({1, 2, 3}));
  d.BecomeLeader({2});
  d.Flush();
  d.Receive(2, d.raft().term(), AppendEntriesResponse{.success = true, .match_index = 2});
  d.Receive(3, d.raft().term(), AppendEntriesResponse{.success = true, .match_index = 2});
  d.Flush();
  ASSERT_TRUE(d.raft().Propose("declare q").ok());
  Ready r = d.raft().TakeReady();  // the entry out to both, before our own write
  auto appends = Sent<AppendEntries>(r.messages);
  ASSERT_EQ(appends.size(), 2u);
  EXPECT_EQ(appends[0].second.stable, Index{2});
  d.Receive(2, d.raft().term(), AppendEntriesResponse{.success = true, .match_index = 3});
  d.raft().Advance();  // our copy is durable: with node 2's, committed
  EXPECT_EQ(d.raft().commit_index(), Index{3});
  r = d.Flush();
  for (const auto& [to, ae] : Sent<AppendEntries>(r.messages)) EXPECT_EQ(ae.commit, Index{3});

  ASSERT_TRUE(d.raft().Propose("declare r").ok());
  d.raft().TakeReady();
  d.raft().Advance();  // durable here before any follower answered
  r = d.Flush();
  auto told = Sent<AppendEntries>(r.messages);
  ASSERT_EQ(told.size(), 2u) << "both followers still lack an answer for entry 4";
  for (const auto& [to, ae] : told) {
    EXPECT_TRUE(ae.entries.empty());
    EXPECT_EQ(ae.stable, Index{4});
  }
}

}  // namespace
}  // namespace warren::raft::test
