// Log replication (Raft §5.3): the consistency check on the entry before
// new ones, conflicting suffixes replaced, and the leader's fast back-off
// (a term per rejection, not an entry).
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "driver.h"
#include "sim_cluster.h"

namespace warren::raft::test {
namespace {

using sim::SimCluster;

Persisted WithLog(std::vector<std::pair<Index, Term>> entries) {
  Persisted p = Persisted::Bootstrap({1, 2, 3});
  for (auto [index, term] : entries) {
    p.entries.push_back(Entry{index, term, EntryType::kCommand, "e" + std::to_string(index)});
  }
  p.hard_state.term = p.entries.back().term;
  return p;
}

TEST(RaftReplication, FollowerRefusesEntriesAfterOneItLacks) {
  Driver d(2, WithLog({{2, 1}}));
  d.Receive(1, 2, AppendEntries{5, 2, 0, 0, {Entry{6, 2, EntryType::kCommand, "x"}}});
  auto answers = Sent<AppendEntriesResponse>(d.Flush().messages);
  ASSERT_EQ(answers.size(), 1u);
  const AppendEntriesResponse& r = answers[0].second;
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reject_index, Index{5});
  EXPECT_EQ(r.hint_index, Index{3}) << "one past its last entry";
  EXPECT_EQ(r.hint_term, Term{0});
  EXPECT_EQ(d.raft().log().last_index(), Index{2});
}

TEST(RaftReplication, FollowerHintsWhereItsConflictingTermBegan) {
  Driver d(2, WithLog({{2, 1}, {3, 2}, {4, 2}, {5, 2}, {6, 2}}));
  d.Receive(1, 3, AppendEntries{6, 3, 0, 0, {}});
  auto answers = Sent<AppendEntriesResponse>(d.Flush().messages);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].second.hint_term, Term{2});
  EXPECT_EQ(answers[0].second.hint_index, Index{3});
}

TEST(RaftReplication, ConflictingSuffixIsReplacedAndMatchingEntriesKept) {
  Driver d(2, WithLog({{2, 1}, {3, 2}, {4, 2}}));
  d.Receive(1, 3, AppendEntries{2, 1, 0, 0,
                                {Entry{3, 2, EntryType::kCommand, "e3"},
                                 Entry{4, 3, EntryType::kCommand, "new"}}});
  Ready r = d.Flush();
  ASSERT_EQ(r.entries.size(), 1u) << "only the replaced entry is written again";
  EXPECT_EQ(r.entries[0].index, Index{4});
  EXPECT_EQ(d.raft().log().At(4).payload, "new");
  auto answers = Sent<AppendEntriesResponse>(r.messages);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_TRUE(answers[0].second.success);
  EXPECT_EQ(answers[0].second.match_index, Index{4});
}

TEST(RaftReplication, StaleAppendDoesNotTruncateNewerEntries) {
  Driver d(2, WithLog({{2, 1}, {3, 1}, {4, 1}}));
  d.Receive(1, 1, AppendEntries{1, 1, 0, 0, {Entry{2, 1, EntryType::kCommand, "e2"}}});
  d.Flush();
  EXPECT_EQ(d.raft().log().last_index(), Index{4});
}

TEST(RaftReplication, FollowerCommitsNoFurtherThanWhatMatched) {
  Driver d(2, WithLog({{2, 1}, {3, 1}, {4, 1}}));
  // The leader has committed 10, but this message vouches only for 1 and 2.
  d.Receive(1, 2, AppendEntries{1, 1, 10, 0, {Entry{2, 1, EntryType::kCommand, "e2"}}});
  d.Flush();
  EXPECT_EQ(d.raft().commit_index(), Index{2});
}

// A leader cut off with uncommitted entries comes back to a log that moved
// on without them, past them, in a later term: its suffix is replaced, and
// the back-off takes a rejection per term, not one per entry.
TEST(RaftReplication, DivergedOldLeaderIsRepairedWithARejectionPerTerm) {
  SimCluster c({1, 2, 3}, /*seed=*/31);
  NodeId first = c.WaitForLeader();
  ASSERT_TRUE(c.RunUntil([&] { return c.state(first % 3 + 1).applied >= 2; }, 50));
  c.Isolate(first);
  ASSERT_NE(c.ProposeMany(first, 30, "lost"), 0u);
  NodeId second = c.WaitForNewLeader(first);
  ASSERT_NE(second, kNoNode);
  NodeId third = 6 - first - second;
  Index last = c.ProposeMany(second, 30, "kept");
  ASSERT_TRUE(c.WaitApplied(third, last));
  // The second leader goes; the first comes back and must help elect the
  // third, whose log runs past its own in a later term.
  c.HealNetwork();
  c.Isolate(second);
  std::set<Index> probed;  // where the leader's probes were refused
  c.SetFilter([&](Message& m) {
    auto* r = std::get_if<AppendEntriesResponse>(&m.body);
    if (r != nullptr && !r->success) probed.insert(r->reject_index);
    return true;
  });
  ASSERT_EQ(c.WaitForNewLeader(second), third);
  ASSERT_TRUE(c.WaitApplied(first, last));
  EXPECT_LE(probed.size(), 2u) << "past the first one's end, then back to term 2's start";
  EXPECT_EQ(c.state(first).commands, c.state(third).commands);
  for (const auto& [index, command] : c.state(first).commands) {
    EXPECT_EQ(command.rfind("lost", 0), std::string::npos) << "at " << index;
  }
  EXPECT_EQ(c.failure(), "");
}

TEST(RaftReplication, LaggingFollowerCatchesUpInBatches) {
  SimCluster c({1, 2, 3}, /*seed=*/32);
  NodeId leader = c.WaitForLeader();
  NodeId slow = leader % 3 + 1;
  Index last = c.CommitWithout(slow, leader, 100);
  ASSERT_NE(last, 0u);
  EXPECT_TRUE(c.WaitApplied(slow, last));
  EXPECT_EQ(c.state(slow).commands, c.state(leader).commands);
  EXPECT_EQ(c.failure(), "");
}

}  // namespace
}  // namespace warren::raft::test
