// Three nodes of one cluster in one process, for the metadata tests: each a
// core::Broker, its MetadataMachine, its Raft log on disk (a temp dir), a
// RaftDriver and a RaftGate, all on one manual clock. Raft messages and
// forwarded commands travel through a network the test controls: each hop
// takes 1 ms, and a hop is dropped across a partition (`cut`), and Raft
// messages to a `deaf` node or from a `mute` one are dropped too.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "broker/cluster/forwarding.h"
#include "broker/cluster/metadata_machine.h"
#include "broker/cluster/raft_driver.h"
#include "broker/cluster/raft_gate.h"
#include "broker/cluster/raft_storage.h"
#include "broker/core/broker.h"
#include "common/config.h"
#include "manual_runtime.h"
#include "temp_dir.h"

namespace warren::cluster::test {

using raft::NodeId;

struct Node {
  NodeId id = 0;
  std::unique_ptr<core::Broker> broker;
  std::unique_ptr<MetadataMachine> machine;
  std::unique_ptr<RaftStorage> storage;
  std::unique_ptr<RaftDriver> driver;
  std::unique_ptr<RaftGate> gate;
};

class MetadataCluster : public ::testing::Test {
 protected:
  static constexpr int64_t kTimeoutMs = 5000;

  void SetUp() override {
    for (NodeId id : {1, 2, 3}) {
      nodes_[id].id = id;
      links_[id] = std::make_unique<Links>(*this, id);
      Boot(id, /*first=*/true);
    }
  }
  void TearDown() override {
    for (auto& [id, n] : nodes_) Stop(id);
  }

  // (Re)starts node `id` from its log on disk, with a fresh Broker.
  void Boot(NodeId id, bool first) {
    Node& n = nodes_[id];
    n.broker = std::make_unique<core::Broker>(runtime_, NodeConfig{});
    n.machine = std::make_unique<MetadataMachine>(*n.broker);
    n.storage = std::make_unique<RaftStorage>(store::FileSystem::Default(),
                                              (root_ / std::to_string(id)).string());
    Result<raft::Persisted> persisted = n.storage->Open();
    ASSERT_TRUE(persisted.ok()) << persisted.error().text;
    if (first) {
      persisted = n.storage->Bootstrap(raft::Persisted::Bootstrap({1, 2, 3}));
      ASSERT_TRUE(persisted.ok()) << persisted.error().text;
    }
    DriverOptions o;
    o.raft.id = id;
    o.raft.election_ticks = 10;
    o.raft.heartbeat_ticks = 2;
    o.raft.seed = id * 7919;
    o.tick_ms = 100;
    o.proposal_timeout_ms = kTimeoutMs;
    o.compact_every = compact_every_;
    o.on_fatal = [id](const std::string& why) { ADD_FAILURE() << "node " << id << ": " << why; };
    n.driver = std::make_unique<RaftDriver>(runtime_, *n.storage, *links_[id], *n.machine, o,
                                            std::move(persisted.value()));
    n.gate = std::make_unique<RaftGate>(runtime_, *n.driver, *n.machine, *links_[id], kTimeoutMs);
    n.driver->Start();
  }

  // Stops node `id` in the order a node does: gate, driver, machine, broker.
  void Stop(NodeId id) {
    Node& n = nodes_[id];
    n.gate.reset();
    n.driver.reset();
    n.machine.reset();
    n.storage.reset();
    n.broker.reset();
  }

  // The one node that leads among `among`; 0 when none or several do.
  NodeId Leader(std::set<NodeId> among = {1, 2, 3}) {
    NodeId leader = 0;
    for (NodeId id : among)
      if (nodes_[id].driver && nodes_[id].driver->raft().role() == raft::Role::kLeader) {
        if (leader != 0) return 0;
        leader = id;
      }
    return leader;
  }
  NodeId AnyFollower(NodeId leader) { return leader == 1 ? 2 : 1; }

  // Moves the clock until `done` holds, at most `ms`.
  bool RunUntil(const std::function<bool()>& done, int64_t ms = 20000) {
    for (int64_t t = 0; t < ms; t += 10) {
      if (done()) return true;
      runtime_.Advance(10);
    }
    return done();
  }

  // A change submitted on node `on`; its answer, once there is one.
  struct Answer {
    std::optional<core::Outcome> outcome;
    int calls = 0;
    int64_t at_ms = 0;
  };
  std::shared_ptr<Answer> SubmitAsync(NodeId on, core::Command command) {
    auto answer = std::make_shared<Answer>();
    nodes_[on].gate->Submit(std::move(command), [this, answer](const core::Outcome& o) {
      answer->outcome = o;
      answer->at_ms = runtime_.NowMs();
      ++answer->calls;
    });
    return answer;
  }
  core::Outcome Submit(NodeId on, core::Command command) {
    auto answer = SubmitAsync(on, std::move(command));
    EXPECT_TRUE(RunUntil([&] { return answer->outcome.has_value(); })) << "no answer";
    EXPECT_EQ(answer->calls, 1);
    return answer->outcome.value_or(core::Outcome{Error{0, "no answer"}});
  }

  std::string Snapshot(NodeId id) { return nodes_[id].machine->TakeSnapshot(); }
  // Every node applied the same entries and holds the same metadata.
  bool Converged() {
    for (NodeId id : {2, 3})
      if (nodes_[id].machine->applied_index() != nodes_[1].machine->applied_index() ||
          Snapshot(id) != Snapshot(1))
        return false;
    return true;
  }

  // One node's end of the network: its Raft transport and its forwarder.
  class Links final : public Transport, public Forwarder {
   public:
    Links(MetadataCluster& cluster, NodeId self) : c_(cluster), self_(self) {}

    void Send(NodeId to, std::string bytes) override {
      if (c_.Cut(self_, to) || c_.mute_.count(self_) || c_.deaf_.count(to)) return;
      c_.runtime_.ScheduleAfter(1, [this, to, bytes = std::move(bytes)] {
        if (RaftDriver* d = c_.nodes_[to].driver.get()) d->Receive(bytes);
      });
    }

    void Forward(NodeId leader, std::string command,
                 std::function<void(ForwardResult)> done) override {
      if (c_.Cut(self_, leader)) return;  // lost: the gate's timeout answers
      if (c_.unsendable_.count(self_)) {  // the link could not open: nothing sent
        ForwardResult r;
        r.unreached = true;
        c_.runtime_.ScheduleAfter(1, [done = std::move(done), r] { done(r); });
        return;
      }
      c_.runtime_.ScheduleAfter(1, [this, leader, command = std::move(command),
                                    done = std::move(done)]() mutable {
        RaftGate* gate = c_.nodes_[leader].gate.get();
        if (!gate) return;
        gate->ProposeForPeer(std::move(command), [this, leader, done](ForwardResult r) {
          if (c_.Cut(leader, self_)) return;
          c_.runtime_.ScheduleAfter(1, [done, r = std::move(r)] { done(r); });
        });
      });
    }

   private:
    MetadataCluster& c_;
    NodeId self_;
  };

  bool Cut(NodeId a, NodeId b) const { return cut_.count(a) != cut_.count(b); }

  testkit::ManualRuntime runtime_;
  testkit::TempDir root_{"metadata"};
  std::map<NodeId, Node> nodes_;
  std::map<NodeId, std::unique_ptr<Links>> links_;
  std::set<NodeId> cut_;   // the nodes on one side of a partition
  std::set<NodeId> deaf_;  // receive no Raft messages
  std::set<NodeId> mute_;  // send no Raft messages
  std::set<NodeId> unsendable_;  // forward nothing: answered unreached at once
  uint64_t compact_every_ = 10000;
};

}  // namespace warren::cluster::test
