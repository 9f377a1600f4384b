// Compaction of the metadata log on three nodes (metadata_cluster.h), every
// few entries: a node restarted from its storage comes back with the same
// metadata (first from its snapshot, then the entries after it), and a node
// that was cut off while the others compacted past its log is brought to
// exactly their metadata from the leader's snapshot, losing what the
// cluster deleted meanwhile.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "broker/core/broker.h"
#include "metadata_cluster.h"
#include "metadata_examples.h"

namespace warren::cluster::test {
namespace {

class MetadataCompactionTest : public MetadataCluster {
 protected:
  void SetUp() override {
    compact_every_ = 5;
    MetadataCluster::SetUp();
  }
};

TEST_F(MetadataCompactionTest, ARestartFromStorageAfterCompactionRestoresTheSameMetadata) {
  ASSERT_TRUE(RunUntil([&] { return Leader() != 0; }));
  NodeId leader = Leader();
  std::vector<core::Command> commands = ExampleDefinitions();
  for (size_t i = 0; i < commands.size(); ++i) {
    core::Outcome o = Submit(i % 2 ? leader : AnyFollower(leader), commands[i]);
    ASSERT_TRUE(o.status.ok()) << o.status.error().text;
  }
  ASSERT_TRUE(RunUntil([&] { return Converged(); }));
  std::string before = Snapshot(1);
  raft::Index applied = nodes_[1].machine->applied_index();
  for (NodeId id : {1, 2, 3}) {
    const raft::RaftLog& log = nodes_[id].driver->raft().log();
    EXPECT_GT(log.snapshot().index, 15u) << "node " << id;
    EXPECT_LT(log.applied() - log.snapshot().index, 5u) << "node " << id;
  }

  for (NodeId id : {1, 2, 3}) Stop(id);
  for (NodeId id : {1, 2, 3}) {
    Boot(id, /*first=*/false);
    Node& n = nodes_[id];
    EXPECT_EQ(n.machine->applied_index(), n.driver->raft().log().snapshot().index)
        << "node " << id << " starts from its snapshot";
    EXPECT_NE(n.broker->FindVHost("shop"), nullptr) << "node " << id;
  }
  // The entries after the snapshot are applied again once a leader commits.
  ASSERT_TRUE(RunUntil([&] { return nodes_[1].machine->applied_index() > applied && Converged(); }));
  EXPECT_EQ(Snapshot(1), before);
  EXPECT_TRUE(Submit(Leader(), cmd::AddVHost{"after"}).status.ok());
}

TEST_F(MetadataCompactionTest, ANodeCutOffWhileTheOthersCompactedConvergesFromTheSnapshot) {
  ASSERT_TRUE(RunUntil([&] { return Leader() != 0; }));
  NodeId leader = Leader();
  NodeId lagging = AnyFollower(leader);
  ASSERT_TRUE(Submit(leader, cmd::AddVHost{"/"}).status.ok());
  ASSERT_TRUE(Submit(leader, cmd::DeclareQueue{"/", "doomed", true, false, false, {}, 0}).status.ok());
  ASSERT_TRUE(RunUntil([&] { return Converged(); }));

  cut_ = {lagging};
  ASSERT_TRUE(Submit(leader, cmd::DeleteQueue{"/", "doomed", false, false, 0}).status.ok());
  for (const core::Command& c : ExampleDefinitions()) {
    core::Outcome o = Submit(leader, c);
    ASSERT_TRUE(o.status.ok()) << o.status.error().text;
  }
  raft::Index behind = nodes_[lagging].driver->raft().log().last_index();
  ASSERT_GT(nodes_[leader].driver->raft().log().snapshot().index, behind)
      << "the leader no longer holds the entries the cut-off node needs";
  EXPECT_NE(nodes_[lagging].broker->FindVHost("/")->FindQueue("doomed"), nullptr);

  cut_.clear();
  ASSERT_TRUE(RunUntil([&] { return Converged(); }));
  EXPECT_EQ(nodes_[lagging].broker->FindVHost("/")->FindQueue("doomed"), nullptr);
  EXPECT_NE(nodes_[lagging].broker->FindUser("alice"), nullptr);
  EXPECT_EQ(Snapshot(lagging), Snapshot(leader));
  EXPECT_TRUE(Submit(lagging, cmd::AddVHost{"after"}).status.ok());
}

}  // namespace
}  // namespace warren::cluster::test
