// The metadata state machine on one Broker, without Raft: committed entries
// applied in order with their outcomes kept, entries that do not decode
// skipped alike everywhere, waiters run in index order, and the snapshot:
// canonical bytes, a round trip through an empty broker, a restore that makes
// the metadata exactly the snapshot's, and damaged bytes refused.
#include "broker/cluster/metadata_machine.h"

#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "broker/cluster/command_codec.h"
#include "broker/cluster/metadata_snapshot.h"
#include "broker/core/broker.h"
#include "common/config.h"
#include "fuzz_seeds.h"
#include "log_capture.h"
#include "manual_runtime.h"
#include "metadata_examples.h"
#include "raft/wire.h"

namespace warren::cluster {
namespace {

using test::ExampleDefinitions;
using test::kOwner;
namespace cmd = core::cmd;

raft::Entry CommandEntry(raft::Index index, const core::Command& c) {
  return raft::Entry{index, 1, raft::EntryType::kCommand, EncodeCommand(c)};
}

// A broker and its machine.
struct Replica {
  explicit Replica(testkit::ManualRuntime& runtime)
      : broker(runtime, NodeConfig{}), machine(broker) {}
  void ApplyAll(const std::vector<core::Command>& commands) {
    for (const core::Command& c : commands) {
      core::Outcome o = core::Apply(broker, c);
      ASSERT_TRUE(o.status.ok()) << o.status.error().text;
    }
  }
  core::Broker broker;
  MetadataMachine machine;
};

class MetadataMachineTest : public ::testing::Test {
 protected:
  testkit::ManualRuntime runtime_;
};

TEST_F(MetadataMachineTest, CommittedCommandsAreAppliedInOrderAndTheirOutcomesKept) {
  Replica r(runtime_);
  r.machine.Apply(raft::Entry{1, 1, raft::EntryType::kMembership, "config"});
  r.machine.Apply(CommandEntry(2, cmd::AddVHost{"/"}));
  r.machine.Apply(CommandEntry(3, cmd::DeclareQueue{"/", "q", true, false, false, {}, 0}));
  r.machine.Apply(CommandEntry(4, cmd::DeclareQueue{"/", "q", false, false, false, {}, 0}));
  r.machine.Apply(raft::Entry{5, 2, raft::EntryType::kNoOp, ""});
  EXPECT_EQ(r.machine.applied_index(), 5u);
  ASSERT_NE(r.broker.FindVHost("/"), nullptr);
  EXPECT_TRUE(r.broker.FindVHost("/")->FindQueue("q")->durable());
  ASSERT_TRUE(r.machine.OutcomeAt(3).has_value());
  EXPECT_TRUE(r.machine.OutcomeAt(3)->status.ok());
  ASSERT_TRUE(r.machine.OutcomeAt(4).has_value());
  EXPECT_EQ(r.machine.OutcomeAt(4)->status.error().code, 406);
  EXPECT_FALSE(r.machine.OutcomeAt(5).has_value()) << "a no-op has no outcome";
}

TEST_F(MetadataMachineTest, OnlyTheLatestOutcomesAreKept) {
  Replica r(runtime_);
  raft::Index last = 3 * MetadataMachine::kKeptOutcomes;
  for (raft::Index i = 1; i <= last; ++i)
    r.machine.Apply(CommandEntry(i, cmd::AddVHost{"v" + std::to_string(i)}));
  EXPECT_FALSE(r.machine.OutcomeAt(1).has_value());
  EXPECT_FALSE(r.machine.OutcomeAt(last - MetadataMachine::kKeptOutcomes).has_value());
  EXPECT_TRUE(r.machine.OutcomeAt(last - MetadataMachine::kKeptOutcomes + 1).has_value());
  EXPECT_TRUE(r.machine.OutcomeAt(last).has_value());
}

TEST_F(MetadataMachineTest, AnEntryThatDoesNotDecodeIsLoggedWithItsIndexAndSkipped) {
  testkit::LogCapture log;
  Replica r(runtime_);
  r.machine.Apply(CommandEntry(1, cmd::AddVHost{"/"}));
  std::string before = r.machine.TakeSnapshot();
  r.machine.Apply(raft::Entry{2, 1, raft::EntryType::kCommand, "\xff\xff not a command"});
  r.machine.Apply(CommandEntry(3, cmd::AddVHost{"after"}));
  EXPECT_EQ(r.machine.applied_index(), 3u);
  EXPECT_NE(r.broker.FindVHost("after"), nullptr) << "the entries after it are applied";
  EXPECT_NE(log.text().find("[error] cluster: log entry 2 is not a metadata command this node "
                            "understands; skipped:"),
            std::string::npos)
      << log.text();
  ASSERT_TRUE(r.machine.OutcomeAt(2).has_value());
  EXPECT_EQ(r.machine.OutcomeAt(2)->status.error().code, 540);
}

TEST_F(MetadataMachineTest, WaitersRunOnceAppliedInIndexOrderAndCancelledOnesNever) {
  Replica r(runtime_);
  r.machine.Apply(CommandEntry(1, cmd::AddVHost{"/"}));
  std::vector<std::string> ran;
  r.machine.WhenApplied(1, [&] { ran.push_back("now"); });
  EXPECT_EQ(ran, std::vector<std::string>{"now"}) << "already applied: at once";
  r.machine.WhenApplied(3, [&] { ran.push_back("3"); });
  r.machine.WhenApplied(2, [&] { ran.push_back("2a"); });
  auto cancelled = r.machine.WhenApplied(2, [&] { ran.push_back("cancelled"); });
  r.machine.WhenApplied(2, [&] { ran.push_back("2b"); });
  r.machine.WhenApplied(20, [&] { ran.push_back("20"); });
  r.machine.CancelWait(cancelled);
  r.machine.Apply(CommandEntry(2, cmd::AddVHost{"a"}));
  EXPECT_EQ(ran, (std::vector<std::string>{"now", "2a", "2b"}));
  r.machine.Apply(raft::Entry{3, 1, raft::EntryType::kNoOp, ""});
  EXPECT_EQ(ran.back(), "3");
  raft::Snapshot snapshot;
  snapshot.meta.index = 25;
  snapshot.data = r.machine.TakeSnapshot();
  r.machine.Restore(snapshot);
  EXPECT_EQ(ran.back(), "20") << "a snapshot moves the applied index too";
  EXPECT_EQ(r.machine.applied_index(), 25u);
  EXPECT_EQ(r.machine.waiting(), 0u);
}

TEST_F(MetadataMachineTest, ApplyingASnapshotsCommandsToAnEmptyBrokerGivesTheSameBytes) {
  Replica a(runtime_);
  a.ApplyAll(ExampleDefinitions());
  std::string snapshot = a.machine.TakeSnapshot();
  ASSERT_EQ(static_cast<uint8_t>(snapshot[0]), kSnapshotVersion);

  Result<std::vector<core::Command>> commands = DecodeSnapshot(snapshot);
  ASSERT_TRUE(commands.ok()) << commands.error().text;
  size_t exchanges = 0, bindings = 0;
  for (const core::Command& c : commands.value()) {
    if (auto* e = std::get_if<cmd::DeclareExchange>(&c)) {
      ++exchanges;
      EXPECT_NE(e->name.rfind("amq.", 0), 0u) << "built-in exchanges are not declared";
    }
    if (auto* q = std::get_if<cmd::DeclareQueue>(&c); q && q->name == "reply") {
      EXPECT_TRUE(q->exclusive && q->connection == kOwner) << "the exclusive owner is kept";
    }
    if (std::holds_alternative<cmd::Bind>(c)) ++bindings;
  }
  EXPECT_EQ(exchanges, 3u);
  EXPECT_EQ(bindings, 7u) << "bindings from amq.* exchanges are kept";

  Replica b(runtime_);
  b.ApplyAll(commands.value());
  EXPECT_EQ(b.machine.TakeSnapshot(), snapshot);
}

TEST_F(MetadataMachineTest, TheSameMetadataMadeInAnotherOrderGivesTheSameSnapshot) {
  Replica a(runtime_);
  a.ApplyAll(ExampleDefinitions());
  // Vhosts and users first, then everything else backwards: queues and
  // exchanges land in their hash tables, and bindings in their routers, in
  // another order.
  std::vector<core::Command> commands = ExampleDefinitions();
  std::vector<core::Command> shuffled(commands.begin(), commands.begin() + 6);
  std::vector<core::Command> objects(commands.begin() + 6, commands.end());
  std::vector<core::Command> declares, binds;
  for (auto& c : objects)
    (std::holds_alternative<cmd::Bind>(c) ? binds : declares).push_back(c);
  shuffled.insert(shuffled.end(), declares.rbegin(), declares.rend());
  shuffled.insert(shuffled.end(), binds.rbegin(), binds.rend());
  for (int i = 0; i < 40; ++i) shuffled.push_back(cmd::AddVHost{"x" + std::to_string(i)});
  Replica b(runtime_);
  b.ApplyAll(shuffled);
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(b.broker.DeleteVHost("x" + std::to_string(i)).ok());
  EXPECT_EQ(b.machine.TakeSnapshot(), a.machine.TakeSnapshot());
}

TEST_F(MetadataMachineTest, RestoreMakesTheMetadataExactlyTheSnapshotsAndKeepsWhatMatches) {
  Replica leader(runtime_);
  leader.ApplyAll(ExampleDefinitions());
  std::string snapshot = leader.machine.TakeSnapshot();

  Replica lagging(runtime_);
  lagging.ApplyAll(ExampleDefinitions());
  lagging.ApplyAll({
      cmd::AddVHost{"gone"},
      cmd::DeclareQueue{"gone", "q", true, false, false, {}, 0},
      cmd::AddUser{"carol", "", {}},
      cmd::SetPermissions{"carol", "/", ".*", ".*", ".*"},
      cmd::SetPermissions{"bob", "/", ".*", "", ""},
      cmd::AddUser{"alice", "another hash", {}},
      cmd::SetPolicy{"shop", "extra", ".*", core::ApplyTo::kAll, 0,
                     test::Args({{"max-length", amqp::FieldValue::Long(5)}})},
      cmd::DeclareExchange{"shop", "stale", "direct", false, false, false, {}},
      cmd::Bind{"shop", "stale", "orders", "k", true, {}, 0},
      cmd::Bind{"shop", "events", "orders", "extra.key", true, {}, 0},
      cmd::SetPolicy{"shop", "extra-cap", ".*", core::ApplyTo::kQueues, 0,
                     test::Args({{"max-length", amqp::FieldValue::Long(5)}}), true},
      cmd::AddVHost{"shop", core::VHostMetadata{"stale", {}, "", false}, true},
      cmd::SetParameter{"", "", "cluster_name", R"("stale-name")"},
      cmd::SetParameter{"", "", "stale", "1"},
      cmd::SetParameter{"vhost-limits", "/", "limits", R"({"max-connections":3})"},
      cmd::SetUserLimits{"bob", {{"max-connections", 1}}},
      cmd::SetUserLimits{"alice", {{"max-channels", 2}}},
      cmd::SetTopicPermission{"bob", "shop", "events", "^stale", ""},
      cmd::SetTopicPermission{"bob", "/", "amq.topic", "^extra", ""},
  });
  // "audit" differs (durable now), "jobs" matches and must stay the same queue.
  ASSERT_TRUE(lagging.broker.FindVHost("shop")->DeleteQueue("audit", false, false, 0).ok());
  lagging.ApplyAll({cmd::DeclareQueue{"shop", "audit", true, false, true, {}, 0}});
  std::shared_ptr<core::Queue> jobs = lagging.broker.FindVHost("/")->FindQueue("jobs");

  Status s = lagging.machine.RestoreSnapshot(snapshot);
  ASSERT_TRUE(s.ok()) << s.error().text;
  EXPECT_EQ(lagging.machine.TakeSnapshot(), snapshot);
  EXPECT_EQ(lagging.broker.FindVHost("gone"), nullptr);
  EXPECT_EQ(lagging.broker.FindUser("carol"), nullptr);
  EXPECT_EQ(lagging.broker.FindVHost("shop")->operator_policies().count("extra-cap"), 0u);
  EXPECT_EQ(lagging.broker.FindVHost("shop")->metadata().description, "the shop");
  EXPECT_EQ(lagging.broker.ClusterName(), "shop-cluster");
  EXPECT_EQ(lagging.broker.FindParameter({"", "", "stale"}), nullptr);
  EXPECT_EQ(lagging.broker.FindVHost("/")->limits(), core::VHostLimits{});
  EXPECT_EQ(lagging.broker.FindVHost("shop")->limits().max_queues, 100);
  EXPECT_EQ(lagging.broker.FindUser("bob")->limits,
            (core::UserLimits{{"max-channels", -1}, {"max-connections", 10}}));
  EXPECT_TRUE(lagging.broker.FindUser("alice")->limits.empty());
  EXPECT_TRUE(lagging.broker.TopicAllowed("bob", "/", "amq.topic", core::Access::kWrite, "x"));
  EXPECT_TRUE(
      lagging.broker.TopicAllowed("bob", "shop", "events", core::Access::kWrite, "order.bob"));
  EXPECT_FALSE(lagging.broker.FindVHost("shop")->FindQueue("audit")->durable());
  EXPECT_EQ(lagging.broker.FindVHost("/")->FindQueue("jobs"), jobs)
      << "a queue that matches keeps its messages and consumers";
}

TEST_F(MetadataMachineTest, DamagedSnapshotBytesAreRefusedClearlyAndChangeNothing) {
  Replica source(runtime_);
  source.ApplyAll(ExampleDefinitions());
  std::string good = source.machine.TakeSnapshot();
  Replica r(runtime_);
  r.ApplyAll({cmd::AddVHost{"mine"}});
  const std::string before = r.machine.TakeSnapshot();
  auto refused = [&](const std::string& bytes) -> std::string {
    Status s = r.machine.RestoreSnapshot(bytes);
    EXPECT_EQ(r.machine.TakeSnapshot(), before) << "a refused snapshot changes nothing";
    return s.ok() ? "accepted" : s.error().text;
  };
  EXPECT_EQ(refused(""), "metadata snapshot: no bytes at all");
  EXPECT_EQ(refused("\x02" + good.substr(1)),
            "metadata snapshot: version 2, this node reads version 1");
  // The last command is the one cut short.
  const std::string last = std::to_string(DescribeMetadata(source.broker).size());
  EXPECT_EQ(refused(good.substr(0, good.size() - 1))
                .rfind("metadata snapshot: command " + last + " at byte", 0),
            0u);
  std::string huge_length(1, '\x01');
  raft::wire::PutVarint(huge_length, uint64_t{1} << 40);
  EXPECT_NE(refused(huge_length + "abc").find("command 1 at byte 1"), std::string::npos);
  std::string junk(1, '\x01');
  raft::wire::PutBytes(junk, "\xff\xfe junk");
  EXPECT_NE(refused(junk).find("command 1 at byte 1 does not decode:"), std::string::npos);
  std::string change(1, '\x01');
  raft::wire::PutBytes(change, EncodeCommand(cmd::DeleteVHost{"mine"}));
  EXPECT_EQ(refused(change),
            "metadata snapshot: command 1 at byte 1 is a change, not a definition");

  // Every cut and random flips: refused or accepted, never a crash (ASan
  // runs this too). What is accepted is a snapshot of something, so only
  // refusals are checked to change nothing.
  testkit::LogCapture quiet;  // the model refuses much of what is accepted
  for (size_t cut = 1; cut < good.size(); cut += 7) {
    Status s = r.machine.RestoreSnapshot(good.substr(0, cut));
    if (s.ok()) r.ApplyAll({cmd::AddVHost{"mine"}});
  }
  std::mt19937 random(20260101);
  for (int i = 0; i < 300; ++i) {
    std::string bytes = good;
    for (int flips = 0; flips < 3; ++flips)
      bytes[random() % bytes.size()] ^= static_cast<char>(1 + random() % 255);
    Replica fresh(runtime_);
    std::string fresh_before = fresh.machine.TakeSnapshot();
    if (!fresh.machine.RestoreSnapshot(bytes).ok()) {
      EXPECT_EQ(fresh.machine.TakeSnapshot(), fresh_before);
    }
  }
}

TEST_F(MetadataMachineTest, ASnapshotFromTheLeaderThatDoesNotDecodeIsLoggedAndTheBrokerKept) {
  testkit::LogCapture log;
  Replica r(runtime_);
  r.ApplyAll({cmd::AddVHost{"mine"}});
  raft::Snapshot damaged;
  damaged.meta.index = 40;
  damaged.data = "\x01\x05" "abc";
  r.machine.Restore(damaged);
  EXPECT_NE(r.broker.FindVHost("mine"), nullptr);
  EXPECT_EQ(r.machine.applied_index(), 40u);
  EXPECT_NE(log.text().find("[error] cluster: refused the snapshot at index 40; this node's "
                            "metadata stays as it was and may differ from the cluster's: "
                            "metadata snapshot: command 1 at byte 1"),
            std::string::npos)
      << log.text();
}

TEST_F(MetadataMachineTest, AfterARestartEntriesTheStoreAlreadyHeldAreSkippedAndLaterOnesApplied) {
  Replica r(runtime_);
  // The store gave back a broker with entries 2..4 applied: "/" and a queue
  // declared durable after one declared otherwise was deleted.
  r.ApplyAll({cmd::AddVHost{"/"}, cmd::DeclareQueue{"/", "q", true, false, false, {}, 0}});
  r.machine.SkipThrough(4);
  r.machine.Apply(CommandEntry(2, cmd::AddVHost{"/"}));
  r.machine.Apply(CommandEntry(3, cmd::DeleteQueue{"/", "q", false, false, 0}));
  r.machine.Apply(CommandEntry(4, cmd::DeclareQueue{"/", "q", true, false, false, {}, 0}));
  EXPECT_EQ(r.machine.applied_index(), 4u);
  ASSERT_NE(r.broker.FindVHost("/")->FindQueue("q"), nullptr) << "replaying 3 would delete it";
  EXPECT_FALSE(r.machine.OutcomeAt(3).has_value()) << "skipped entries have no outcome";
  // A snapshot no newer than what the store held is not restored over it.
  raft::Snapshot old;
  old.meta.index = 4;
  old.data = "not even a snapshot";
  r.machine.Restore(old);
  EXPECT_NE(r.broker.FindVHost("/")->FindQueue("q"), nullptr);
  r.machine.Apply(CommandEntry(5, cmd::DeclareQueue{"/", "later", false, false, false, {}, 0}));
  EXPECT_NE(r.broker.FindVHost("/")->FindQueue("later"), nullptr);
  EXPECT_EQ(r.machine.applied_index(), 5u);
}

// The seeds of warren_fuzz_metadata_snapshot (tests/fuzz/corpus-metadata_snapshot)
// are snapshots this build decodes and restores without a refusal.
TEST_F(MetadataMachineTest, TheSnapshotFuzzersSeedsDecodeAndRestore) {
  auto seeds = testkit::FuzzSeeds("corpus-metadata_snapshot");
  for (const auto& [path, bytes] : seeds) {
    Replica r(runtime_);
    EXPECT_TRUE(r.machine.RestoreSnapshot(bytes).ok()) << path;
    // Nothing refused: the broker holds every definition the seed does.
    Result<std::vector<core::Command>> decoded = DecodeSnapshot(bytes);
    ASSERT_TRUE(decoded.ok()) << path;
    EXPECT_EQ(DescribeMetadata(r.broker).size(), decoded->size()) << path;
  }
  EXPECT_GE(seeds.size(), 2u);
}

}  // namespace
}  // namespace warren::cluster
