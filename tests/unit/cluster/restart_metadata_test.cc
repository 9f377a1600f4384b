// A restarted member's transient definitions, rebuilt from its Raft log over
// what its store kept (docs/cluster.md, "A member's restart"): transient
// exchanges, records of other members' transient queues and the bindings
// that join them come back; its own transient queues are returned to be
// deleted; entries past the store's applied index are left to the driver;
// a log that does not reach that index, or a damaged snapshot, rebuilds
// nothing and says why.
#include "broker/cluster/restart_metadata.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "broker/cluster/command_codec.h"
#include "broker/cluster/metadata_snapshot.h"
#include "broker/core/broker.h"
#include "broker/core/exchange.h"
#include "broker/core/queue.h"
#include "broker/core/vhost.h"
#include "common/config.h"
#include "log_capture.h"
#include "manual_runtime.h"

namespace warren::cluster {
namespace {

namespace cmd = core::cmd;
constexpr uint64_t kSelf = 1, kOther = 2;

raft::Entry CommandEntry(raft::Index index, const core::Command& c) {
  return raft::Entry{index, 1, raft::EntryType::kCommand, EncodeCommand(c)};
}

cmd::DeclareQueue Queue(const std::string& name, bool durable, uint64_t node) {
  cmd::DeclareQueue q{"/", name, durable, false, false, {}, 0};
  q.node = node;
  return q;
}

cmd::Bind Binding(const std::string& source, const std::string& queue) {
  return cmd::Bind{"/", source, queue, "", true, {}, 0};
}

class RestartMetadataTest : public ::testing::Test {
 protected:
  RestartMetadataTest() : store_(runtime_, NodeConfig{}) {
    store_.set_self_member(kSelf);
    Apply(cmd::AddVHost{"/"});
  }
  void Apply(const core::Command& c) {
    core::Outcome o = core::Apply(store_, c);
    ASSERT_TRUE(o.status.ok()) << o.status.error().text;
  }
  core::VHost& vhost() { return *store_.FindVHost("/"); }
  size_t BindingsOf(const std::string& exchange) {
    core::Exchange* e = vhost().FindExchange(exchange);
    return e ? e->router().size() : 0;
  }

  testkit::ManualRuntime runtime_;
  core::Broker store_;  // what the store gave back: durable definitions only
};

TEST_F(RestartMetadataTest, TransientDefinitionsComeBackAndThisMembersTransientQueuesAreLost) {
  raft::Persisted log;
  std::vector<core::Command> history = {
      cmd::AddVHost{"/"},
      cmd::DeclareExchange{"/", "events", "fanout", false, false, false, {}},
      Queue("theirs", false, kOther),
      Queue("mine", false, kSelf),
      Queue("kept", true, kSelf),
      Binding("events", "theirs"),
      Binding("events", "mine"),
      Binding("events", "kept"),
      Binding("amq.fanout", "theirs"),
      // Past the store's applied index: the driver replays it.
      cmd::DeclareExchange{"/", "later", "direct", false, false, false, {}},
  };
  for (size_t i = 0; i < history.size(); ++i) log.entries.push_back(CommandEntry(i + 1, history[i]));
  Apply(Queue("kept", true, kSelf));  // the store's part

  TransientRestore r = RestoreTransient(store_, log, history.size() - 1, kSelf);

  EXPECT_EQ(r.exchanges, 1u);
  EXPECT_EQ(r.records, 1u);
  EXPECT_EQ(r.bindings, 3u) << "events->theirs, events->kept, amq.fanout->theirs";
  ASSERT_EQ(r.lost.size(), 1u);
  EXPECT_EQ(r.lost[0].name, "mine");
  ASSERT_NE(vhost().FindExchange("events"), nullptr);
  EXPECT_EQ(BindingsOf("events"), 2u);
  EXPECT_EQ(BindingsOf("amq.fanout"), 1u);
  ASSERT_TRUE(vhost().queues().count("theirs"));
  EXPECT_TRUE(vhost().queues().at("theirs")->remote());
  EXPECT_EQ(vhost().queues().at("theirs")->home(), kOther);
  EXPECT_FALSE(vhost().queues().count("mine"));
  EXPECT_EQ(vhost().FindExchange("later"), nullptr);
}

TEST_F(RestartMetadataTest, ASnapshotNoNewerThanTheStoreIsReadWithTheEntriesAfterIt) {
  core::Broker earlier(runtime_, NodeConfig{});
  earlier.set_self_member(kOther);
  ASSERT_TRUE(core::Apply(earlier, cmd::AddVHost{"/"}).status.ok());
  ASSERT_TRUE(core::Apply(earlier, cmd::DeclareExchange{"/", "events", "topic", false, false,
                                                        false, {}})
                  .status.ok());
  raft::Persisted log;
  log.snapshot.meta.index = 5;
  log.snapshot.data = EncodeSnapshot(DescribeMetadata(earlier));
  log.entries.push_back(CommandEntry(6, Queue("theirs", false, kOther)));
  log.entries.push_back(CommandEntry(7, Binding("events", "theirs")));

  TransientRestore r = RestoreTransient(store_, log, 7, kSelf);

  EXPECT_EQ(r.exchanges + r.records + r.bindings, 3u);
  EXPECT_EQ(BindingsOf("events"), 1u);
}

TEST_F(RestartMetadataTest, NothingIsRebuiltWhenTheDriverReplaysOrRestoresEverything) {
  raft::Persisted log;
  log.entries.push_back(
      CommandEntry(1, cmd::DeclareExchange{"/", "events", "fanout", false, false, false, {}}));
  // Nothing applied: every entry is replayed.
  TransientRestore none = RestoreTransient(store_, log, 0, kSelf);
  EXPECT_EQ(none.exchanges, 0u);
  // A snapshot newer than the store: restored in full by the driver.
  log.snapshot.meta.index = 3;
  TransientRestore older = RestoreTransient(store_, log, 2, kSelf);
  EXPECT_EQ(older.exchanges, 0u);
  EXPECT_EQ(vhost().FindExchange("events"), nullptr);
}

TEST_F(RestartMetadataTest, ALogThatDoesNotReachTheStoreOrADamagedSnapshotRebuildsNothing) {
  testkit::LogCapture captured;
  raft::Persisted gap;
  gap.entries.push_back(
      CommandEntry(1, cmd::DeclareExchange{"/", "events", "fanout", false, false, false, {}}));
  gap.entries.push_back(CommandEntry(3, Queue("theirs", false, kOther)));
  TransientRestore r = RestoreTransient(store_, gap, 3, kSelf);
  EXPECT_EQ(r.exchanges + r.records + r.bindings + r.lost.size(), 0u);
  EXPECT_NE(captured.text().find("not all through 3"), std::string::npos) << captured.text();

  raft::Persisted damaged;
  damaged.snapshot.meta.index = 2;
  damaged.snapshot.data = std::string("\x01\x7f\xff\xff", 4);
  r = RestoreTransient(store_, damaged, 2, kSelf);
  EXPECT_EQ(r.exchanges + r.records + r.bindings + r.lost.size(), 0u);
  EXPECT_NE(captured.text().find("snapshot does not decode"), std::string::npos)
      << captured.text();
  EXPECT_EQ(vhost().FindExchange("events"), nullptr);
}

}  // namespace
}  // namespace warren::cluster
