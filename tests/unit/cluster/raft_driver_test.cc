// Three nodes' Raft drivers in one process, on one manual clock, with a
// network the test controls (each message delivered 1 ms after it is sent,
// or dropped across a cut) and each node's log on disk: a leader is
// elected, proposals are answered once applied everywhere (with their index
// and term), a minority leader's proposals time out, proposals pending when
// the driver goes are answered, a restarted node replays its log, the log
// is compacted every N entries and a restart starts from that snapshot, a
// leader's proposals of one loop turn share one append per follower, its
// appends leave before its own save (and its client is not told a
// change committed when that save fails), and a failed save stops the node
// before it sends anything else.
#include "broker/cluster/raft_driver.h"

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include "broker/cluster/raft_storage.h"
#include "raft/codec.h"
#include "raft/wire.h"
#include "manual_runtime.h"
#include "temp_dir.h"
#include "store/faulty_file_system.h"

namespace warren::cluster {
namespace {

using raft::NodeId;

// Keeps the commands it applied; its snapshot is those commands.
class Recorder final : public StateMachine {
 public:
  void Apply(const raft::Entry& e) override {
    if (e.type == raft::EntryType::kCommand) commands.push_back(e.payload);
  }
  void Restore(const raft::Snapshot& s) override {
    commands.clear();
    raft::wire::Reader r(s.data);
    while (r.ok() && r.remaining() > 0) commands.emplace_back(r.Bytes(s.data.size()));
    ++restored;
  }
  std::string TakeSnapshot() const override {
    std::string out;
    for (const std::string& c : commands) raft::wire::PutBytes(out, c);
    return out;
  }
  std::vector<std::string> commands;
  int restored = 0;
};

class Network;

// One node: its storage, state machine and driver.
struct TestNode {
  NodeId id;
  std::unique_ptr<RaftStorage> storage;
  Recorder machine;
  std::unique_ptr<RaftDriver> driver;
  std::optional<std::string> fatal;
};

// A message a node sent: from whom, and how many log entries it carried.
struct Sent {
  NodeId from = 0;
  size_t entries = 0;
};

class Network final : public Transport {
 public:
  Network(testkit::ManualRuntime& runtime, NodeId from, std::map<NodeId, TestNode*>& nodes,
          std::set<NodeId>& cut, std::vector<Sent>& sent_by,
          std::map<NodeId, std::vector<std::string>>& held)
      : runtime_(runtime), from_(from), nodes_(nodes), cut_(cut), sent_by_(sent_by),
        held_(held) {}
  void Send(NodeId to, std::string bytes) override {
    Result<raft::Message> m = raft::DecodeMessage(bytes);
    const auto* ae = m.ok() ? std::get_if<raft::AppendEntries>(&m->body) : nullptr;
    sent_by_.push_back(Sent{from_, ae ? ae->entries.size() : 0});
    if (cut_.count(from_) != cut_.count(to)) return;  // across the partition
    if (auto h = held_.find(to); h != held_.end()) {  // kept, for the test to hand over
      h->second.push_back(std::move(bytes));
      return;
    }
    runtime_.ScheduleAfter(1, [this, to, bytes = std::move(bytes)] {
      auto it = nodes_.find(to);
      if (it != nodes_.end() && it->second->driver) it->second->driver->Receive(bytes);
    });
  }

 private:
  testkit::ManualRuntime& runtime_;
  NodeId from_;
  std::map<NodeId, TestNode*>& nodes_;
  std::set<NodeId>& cut_;
  std::vector<Sent>& sent_by_;
  std::map<NodeId, std::vector<std::string>>& held_;
};

class RaftDriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (NodeId id : {1, 2, 3}) {
      nodes_[id] = std::make_unique<TestNode>();
      nodes_[id]->id = id;
      by_id_[id] = nodes_[id].get();
      networks_[id] = std::make_unique<Network>(runtime_, id, by_id_, cut_, sent_by_, held_);
      Boot(id, store::FileSystem::Default(), true);
    }
  }
  void TearDown() override {
    for (auto& [id, n] : nodes_) n->driver.reset();
  }

  // (Re)starts node `id` from its log on disk.
  void Boot(NodeId id, store::FileSystem& files, bool first) {
    TestNode& n = *nodes_[id];
    n.driver.reset();
    n.storage = std::make_unique<RaftStorage>(files, (root_ / std::to_string(id)).string());
    Result<raft::Persisted> persisted = n.storage->Open();
    ASSERT_TRUE(persisted.ok()) << persisted.error().text;
    if (first) {  // a new group: its first state is written before Raft runs on it
      persisted = n.storage->Bootstrap(raft::Persisted::Bootstrap({1, 2, 3}));
      ASSERT_TRUE(persisted.ok()) << persisted.error().text;
    }
    DriverOptions o;
    o.raft.id = id;
    o.raft.election_ticks = 10;
    o.raft.heartbeat_ticks = 2;
    o.raft.seed = id * 7919;
    o.tick_ms = 100;
    o.compact_every = compact_every_;
    o.on_fatal = [&n](const std::string& why) { n.fatal = why; };
    n.machine.commands.clear();
    n.driver = std::make_unique<RaftDriver>(runtime_, *n.storage, *networks_[id], n.machine, o,
                                            std::move(persisted.value()));
    n.driver->Start();
  }

  // The one node that leads among `among`; 0 when none or several do.
  NodeId Leader(std::set<NodeId> among = {1, 2, 3}) {
    NodeId leader = 0;
    for (NodeId id : among)
      if (nodes_[id]->driver->raft().role() == raft::Role::kLeader) {
        if (leader != 0) return 0;
        leader = id;
      }
    return leader;
  }

  // Moves the clock until `done` holds, at most `ms`.
  bool RunUntil(const std::function<bool()>& done, int64_t ms = 10000) {
    for (int64_t t = 0; t < ms; t += 10) {
      if (done()) return true;
      runtime_.Advance(10);
    }
    return done();
  }

  std::optional<Status> Propose(NodeId on, const std::string& command) {
    auto answer = std::make_shared<std::optional<Status>>();
    nodes_[on]->driver->Propose(command, [answer](Status s, raft::Proposal) { *answer = s; });
    RunUntil([&] { return answer->has_value(); });
    return *answer;
  }

  testkit::ManualRuntime runtime_;
  store::test::FaultyFileSystem faulty_;  // outlives the nodes that use it
  testkit::TempDir root_{"driver"};
  std::map<NodeId, std::unique_ptr<TestNode>> nodes_;
  std::map<NodeId, TestNode*> by_id_;
  std::map<NodeId, std::unique_ptr<Network>> networks_;
  std::set<NodeId> cut_;
  std::vector<Sent> sent_by_;
  std::map<NodeId, std::vector<std::string>> held_;  // messages to these nodes wait here
  uint64_t compact_every_ = 10000;
};

TEST_F(RaftDriverTest, ALeaderIsElectedAndProposalsAreAnsweredOnceAppliedEverywhere) {
  ASSERT_TRUE(RunUntil([&] { return Leader() != 0; }));
  NodeId leader = Leader();
  for (const char* c : {"declare a", "declare b", "bind a b"}) {
    std::optional<Status> s = Propose(leader, c);
    ASSERT_TRUE(s.has_value() && s->ok()) << (s ? s->error().text : "no answer");
  }
  ASSERT_TRUE(RunUntil([&] {
    for (auto& [id, n] : nodes_)
      if (n->machine.commands.size() < 3) return false;
    return true;
  }));
  for (auto& [id, n] : nodes_)
    EXPECT_EQ(n->machine.commands,
              (std::vector<std::string>{"declare a", "declare b", "bind a b"}))
        << "node " << id;
}

TEST_F(RaftDriverTest, AProposalOnAFollowerIsRefusedAtOnce) {
  ASSERT_TRUE(RunUntil([&] { return Leader() != 0; }));
  NodeId follower = Leader() == 1 ? 2 : 1;
  std::optional<Status> answer;
  nodes_[follower]->driver->Propose("x", [&](Status s, raft::Proposal) { answer = s; });
  ASSERT_TRUE(answer.has_value()) << "answered without waiting";
  EXPECT_EQ(answer->error().code, kNotCommitted);
}

TEST_F(RaftDriverTest, ALeaderCutOffFromTheMajorityTimesOutAndTheMajorityGoesOn) {
  ASSERT_TRUE(RunUntil([&] { return Leader() != 0; }));
  NodeId old = Leader();
  cut_ = {old};
  std::optional<Status> lost = Propose(old, "on the minority side");
  ASSERT_TRUE(lost.has_value());
  EXPECT_EQ(lost->error().code, kNotCommitted);
  EXPECT_NE(lost->error().text.find("no majority answered in time"), std::string::npos)
      << lost->error().text;
  std::set<NodeId> majority;
  for (NodeId id : {1, 2, 3})
    if (id != old) majority.insert(id);
  ASSERT_TRUE(RunUntil([&] { return Leader(majority) != 0; }));
  std::optional<Status> ok = Propose(Leader(majority), "on the majority side");
  ASSERT_TRUE(ok.has_value() && ok->ok());
  cut_.clear();
  ASSERT_TRUE(RunUntil([&] { return nodes_[old]->machine.commands.size() == 1; }));
  EXPECT_EQ(nodes_[old]->machine.commands, std::vector<std::string>{"on the majority side"})
      << "the minority's entry was replaced, never applied";
}

TEST_F(RaftDriverTest, AProposalIsAnsweredWithTheIndexAndTermItWasCommittedAt) {
  ASSERT_TRUE(RunUntil([&] { return Leader() != 0; }));
  NodeId leader = Leader();
  std::vector<raft::Proposal> at;
  for (const char* c : {"one", "two"}) {
    nodes_[leader]->driver->Propose(c, [&](Status s, raft::Proposal p) {
      EXPECT_TRUE(s.ok());
      at.push_back(p);
    });
  }
  ASSERT_TRUE(RunUntil([&] { return at.size() == 2; }));
  raft::Term term = nodes_[leader]->driver->raft().term();
  EXPECT_EQ(at[0].term, term);
  EXPECT_EQ(at[1].term, term);
  EXPECT_GT(at[0].index, 1u) << "after the bootstrap configuration and the leader's no-op";
  EXPECT_EQ(at[1].index, at[0].index + 1);
  EXPECT_EQ(nodes_[leader]->driver->raft().log().At(at[1].index).payload, "two");
}

TEST_F(RaftDriverTest, ProposalsPendingWhenTheDriverGoesAreAnsweredOnceAsNotCommitted) {
  ASSERT_TRUE(RunUntil([&] { return Leader() != 0; }));
  NodeId leader = Leader();
  cut_ = {leader};  // nothing it proposes can commit
  std::vector<Status> answers;
  for (const char* c : {"a", "b"})
    nodes_[leader]->driver->Propose(c, [&](Status s, raft::Proposal) { answers.push_back(s); });
  runtime_.Advance(100);
  ASSERT_TRUE(answers.empty());
  nodes_[leader]->driver.reset();
  ASSERT_EQ(answers.size(), 2u);
  for (const Status& s : answers) {
    EXPECT_EQ(s.error().code, kNotCommitted);
    EXPECT_EQ(s.error().text, "metadata change not committed: the node is stopping");
  }
  runtime_.Advance(10000);  // past the proposal timeout: no second answer
  EXPECT_EQ(answers.size(), 2u);
}

TEST_F(RaftDriverTest, TheLogIsCompactedEveryNEntriesAndARestartStartsFromTheSnapshot) {
  compact_every_ = 3;
  for (NodeId id : {1, 2, 3}) Boot(id, store::FileSystem::Default(), false);
  ASSERT_TRUE(RunUntil([&] { return Leader() != 0; }));
  NodeId leader = Leader();
  std::vector<std::string> sent = {"c1", "c2", "c3", "c4", "c5", "c6", "c7"};
  for (const std::string& c : sent) ASSERT_TRUE(Propose(leader, c)->ok());
  ASSERT_TRUE(RunUntil([&] {
    for (auto& [id, n] : nodes_)
      if (n->machine.commands.size() < sent.size()) return false;
    return true;
  }));
  for (auto& [id, n] : nodes_) {
    const raft::RaftLog& log = n->driver->raft().log();
    EXPECT_GT(log.snapshot().index, 0u) << "node " << id;
    EXPECT_LT(log.applied() - log.snapshot().index, 3u) << "node " << id;
  }
  NodeId follower = leader == 1 ? 2 : 1;
  Boot(follower, store::FileSystem::Default(), false);
  TestNode& n = *nodes_[follower];
  EXPECT_EQ(n.machine.restored, 1);
  EXPECT_FALSE(n.machine.commands.empty()) << "restored from the snapshot on disk";
  EXPECT_EQ(n.driver->raft().log().snapshot().index, n.driver->raft().snapshot().meta.index);
  ASSERT_TRUE(RunUntil([&] { return n.machine.commands.size() == sent.size(); }));
  EXPECT_EQ(n.machine.commands, sent);
}

TEST_F(RaftDriverTest, ARestartedNodeReplaysItsLogFromDisk) {
  ASSERT_TRUE(RunUntil([&] { return Leader() != 0; }));
  NodeId leader = Leader();
  ASSERT_TRUE(Propose(leader, "one")->ok());
  ASSERT_TRUE(Propose(leader, "two")->ok());
  NodeId follower = leader == 1 ? 2 : 1;
  ASSERT_TRUE(RunUntil([&] { return nodes_[follower]->machine.commands.size() == 2; }));
  Boot(follower, store::FileSystem::Default(), false);
  EXPECT_TRUE(nodes_[follower]->machine.commands.empty());
  ASSERT_TRUE(RunUntil([&] { return nodes_[follower]->machine.commands.size() == 2; }));
  EXPECT_EQ(nodes_[follower]->machine.commands, (std::vector<std::string>{"one", "two"}));
}

TEST_F(RaftDriverTest, TheProposalsOfOneLoopTurnShareOneAppendPerFollower) {
  ASSERT_TRUE(RunUntil([&] { return Leader() != 0; }));
  NodeId leader = Leader();
  auto answered = std::make_shared<int>(0);
  size_t before = sent_by_.size();
  for (int i = 0; i < 10; ++i)
    nodes_[leader]->driver->Propose("c" + std::to_string(i), [answered](Status s, raft::Proposal) {
      if (s.ok()) ++*answered;
    });
  runtime_.Advance(0);
  std::vector<size_t> appends;
  for (size_t i = before; i < sent_by_.size(); ++i)
    if (sent_by_[i].from == leader && sent_by_[i].entries > 0) appends.push_back(sent_by_[i].entries);
  EXPECT_EQ(appends, (std::vector<size_t>{10, 10})) << "one to each follower, carrying all ten";
  ASSERT_TRUE(RunUntil([&] { return *answered == 10; }));
}

TEST_F(RaftDriverTest, WhatOneReadFromAPeerBringsIsSavedWithOneFsync) {
  for (NodeId id : {1, 2, 3}) Boot(id, faulty_, false);
  ASSERT_TRUE(RunUntil([&] { return Leader() != 0; }));
  NodeId leader = Leader();
  NodeId follower = leader == 1 ? 2 : 1;
  held_[follower];
  for (int i = 0; i < 3; ++i) {  // three turns: three appends to the follower
    nodes_[leader]->driver->Propose("c" + std::to_string(i), [](Status, raft::Proposal) {});
    runtime_.Advance(0);
  }
  std::vector<std::string> batch = std::move(held_[follower]);
  held_.erase(follower);
  ASSERT_GE(batch.size(), 3u);
  raft::Index before = nodes_[follower]->driver->raft().log().last_index();
  int syncs = faulty_.calls(store::test::Op::kFdatasync);
  nodes_[follower]->driver->Receive(batch);
  EXPECT_EQ(faulty_.calls(store::test::Op::kFdatasync), syncs + 1);
  EXPECT_EQ(nodes_[follower]->driver->raft().log().last_index(), before + 3);
}

TEST_F(RaftDriverTest, ALeaderSendsItsAppendsBeforeItsOwnSaveAndIsNotAnsweredWhenThatFails) {
  for (NodeId id : {1, 2, 3}) Boot(id, faulty_, false);
  ASSERT_TRUE(RunUntil([&] { return Leader() != 0; }));
  NodeId leader = Leader();
  raft::Index before = nodes_[leader]->driver->raft().log().last_index();
  // Only the leader's next fdatasync fails (its directory is named by its id).
  faulty_.Fail(store::test::Op::kFdatasync, EIO, 1, 1,
               (root_ / std::to_string(leader) / "").string());
  auto answer = std::make_shared<std::optional<Status>>();
  nodes_[leader]->driver->Propose("while-saving",
                                  [answer](Status s, raft::Proposal) { *answer = s; });
  runtime_.Advance(0);  // the proposals of this turn are saved together, after it
  ASSERT_TRUE(nodes_[leader]->fatal.has_value()) << "the save runs once the turn ends";
  // The append left before the save: the followers have the entry.
  RunUntil([&] {
    for (NodeId id : {1, 2, 3})
      if (id != leader && nodes_[id]->driver->raft().log().last_index() <= before) return false;
    return true;
  }, 1000);
  for (NodeId id : {1, 2, 3}) {
    if (id == leader) continue;
    EXPECT_GT(nodes_[id]->driver->raft().log().last_index(), before) << id;
  }
  // Its client is never told the change committed: the leader never counted
  // a copy it does not hold.
  EXPECT_TRUE(!answer->has_value() || !answer->value().ok());
}

TEST_F(RaftDriverTest, AFailedSaveStopsTheNodeAndNothingItHeldIsSent) {
  Boot(1, faulty_, false);
  faulty_.Fail(store::test::Op::kFdatasync, EIO, 1, -1);
  ASSERT_TRUE(RunUntil([&] { return nodes_[1]->fatal.has_value(); }));
  EXPECT_NE(nodes_[1]->fatal->find("fdatasync"), std::string::npos) << *nodes_[1]->fatal;
  // Neither the messages of the Ready whose save failed (a vote, an
  // acknowledgement) nor any later one leave the node.
  size_t at_failure = sent_by_.size();
  RunUntil([] { return false; }, 3000);
  for (size_t i = at_failure; i < sent_by_.size(); ++i)
    EXPECT_NE(sent_by_[i].from, 1u) << "node 1 sent after its save failed";
  EXPECT_EQ(faulty_.failed(store::test::Op::kFdatasync), 1) << "no save was tried again";
}

}  // namespace
}  // namespace warren::cluster
