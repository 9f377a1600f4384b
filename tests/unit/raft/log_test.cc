// RaftLog on its own: terms across the snapshot boundary, the follower's
// append (§5.3), hints, slices, compaction, and what counts as durable when
// a truncation comes between handing entries out and their acknowledgement.
#include <gtest/gtest.h>

#include <string>

#include "raft/codec.h"
#include "raft/log.h"

namespace warren::raft {
namespace {

Entry E(Index index, Term term, std::string payload = "") {
  return Entry{index, term, EntryType::kCommand, std::move(payload)};
}

Entry Config(Index index, Term term, Configuration c) {
  return Entry{index, term, EntryType::kMembership, EncodeConfiguration(c)};
}

TEST(RaftLog, TermsAcrossTheSnapshotBoundary) {
  RaftLog log({4, 2, Configuration{{1}, {}}}, {E(3, 2), E(5, 2), E(6, 3)});
  EXPECT_EQ(log.first_index(), Index{5});
  EXPECT_EQ(log.TermAt(3), std::nullopt) << "compacted";
  EXPECT_EQ(log.TermAt(4), Term{2}) << "the snapshot's";
  EXPECT_EQ(log.TermAt(6), Term{3});
  EXPECT_EQ(log.TermAt(7), std::nullopt) << "past the end";
  EXPECT_EQ(log.committed(), Index{4});
  EXPECT_EQ(log.stable_index(), Index{6});
}

TEST(RaftLog, AppendAfterKeepsMatchingEntriesAndReplacesFromTheFirstConflict) {
  RaftLog log({}, {E(1, 1, "a"), E(2, 1, "b"), E(3, 1, "c"), E(4, 1, "d")});
  log.AppendAfter(1, {E(0, 1, "b"), E(0, 2, "C")});
  EXPECT_EQ(log.last_index(), Index{3});
  EXPECT_EQ(log.At(2).payload, "b");
  EXPECT_EQ(log.At(3).payload, "C");
  EXPECT_EQ(log.At(3).index, Index{3});
}

TEST(RaftLog, UpToDateComparesLastTermThenLength) {
  RaftLog log({}, {E(1, 1), E(2, 3)});
  EXPECT_TRUE(log.IsUpToDate(1, 4));
  EXPECT_TRUE(log.IsUpToDate(2, 3));
  EXPECT_FALSE(log.IsUpToDate(1, 3));
  EXPECT_FALSE(log.IsUpToDate(9, 2));
}

TEST(RaftLog, HintStopsAfterTheCommitPoint) {
  RaftLog log({}, {E(1, 1), E(2, 2), E(3, 2), E(4, 2), E(5, 2)});
  EXPECT_EQ(log.FirstIndexOfTermAt(5), Index{2});
  log.CommitTo(3);
  EXPECT_EQ(log.FirstIndexOfTermAt(5), Index{4});
  EXPECT_EQ(log.LastIndexOfTerm(2, 4), Index{4});
  EXPECT_EQ(log.LastIndexOfTerm(7, 5), std::nullopt);
}

TEST(RaftLog, SliceStopsAtTheByteBoundButAlwaysGivesOne) {
  RaftLog log({}, {E(1, 1, std::string(10, 'x')), E(2, 1, std::string(10, 'y')),
                   E(3, 1, "z")});
  EXPECT_EQ(log.Slice(1, 10, 5).size(), 1u);
  EXPECT_EQ(log.Slice(1, 10, 20).size(), 2u);
  EXPECT_EQ(log.Slice(1, 2, 100).size(), 2u);
  EXPECT_EQ(log.Slice(4, 10, 100).size(), 0u);
}

TEST(RaftLog, EntriesTruncatedWhileHandedOutAreNotCountedDurable) {
  RaftLog log({}, {E(1, 1)});
  log.Append(1, EntryType::kCommand, "a");
  log.Append(1, EntryType::kCommand, "b");
  log.Append(1, EntryType::kCommand, "c");
  EXPECT_EQ(log.TakeUnstable().size(), 3u);
  log.AppendAfter(2, {E(0, 2, "C")});  // replaces 3 and drops 4 while they are written
  log.AckStable();
  EXPECT_EQ(log.stable_index(), Index{2});
  std::vector<Entry> again = log.TakeUnstable();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].payload, "C");
  log.AckStable();
  EXPECT_EQ(log.stable_index(), Index{3});
}

TEST(RaftLog, CompactionKeepsTheConfigurationInForce) {
  Configuration three{{1, 2, 3}, {}};
  Configuration four{{1, 2, 3}, {4}};
  RaftLog log({}, {Config(1, 1, three), E(2, 1), Config(3, 1, four), E(4, 1)});
  log.CommitTo(4);
  log.TakeCommitted();
  log.AppliedTo(4);
  EXPECT_EQ(log.ConfigAt(2), three);
  SnapshotMeta meta = log.CompactTo(2);
  EXPECT_EQ(meta.config, three);
  EXPECT_EQ(log.config(), four);
  meta = log.CompactTo(4);
  EXPECT_EQ(meta.config, four);
  EXPECT_EQ(log.config(), four) << "from the snapshot now";
  EXPECT_EQ(log.config_index(), Index{4});
}

}  // namespace
}  // namespace warren::raft
