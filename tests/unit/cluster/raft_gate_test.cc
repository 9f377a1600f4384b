// Metadata changes through the Raft log on three nodes (metadata_cluster.h):
// a change sent to any node is answered with the model's outcome and reaches
// every node in the same order; the client's own node shows it when it is
// answered; refusals change nothing anywhere; conflicting changes on two
// nodes are decided once for all; the minority side of a partition and a
// cut-off follower answer 504 within the timeout; and every Done is called
// exactly once, also when the gate or the driver goes with work pending.
#include "broker/cluster/raft_gate.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "broker/core/broker.h"
#include "metadata_cluster.h"
#include "metadata_examples.h"

namespace warren::cluster::test {
namespace {

// The command entries of a node's log, in order.
std::vector<std::string> CommandLog(const Node& n) {
  std::vector<std::string> out;
  const raft::RaftLog& log = n.driver->raft().log();
  for (raft::Index i = log.first_index(); i <= log.applied(); ++i)
    if (log.At(i).type == raft::EntryType::kCommand) out.push_back(log.At(i).payload);
  return out;
}

class RaftGateTest : public MetadataCluster {};

TEST_F(RaftGateTest, ChangesOnTheLeaderOrAFollowerAreAnsweredOkAndReachEveryNodeInOneOrder) {
  ASSERT_TRUE(RunUntil([&] { return Leader() != 0; }));
  NodeId leader = Leader();
  NodeId follower = AnyFollower(leader);
  for (core::Command c : std::vector<core::Command>{
           cmd::AddVHost{"/"}, cmd::DeclareQueue{"/", "q", true, false, false, {}, 0},
           cmd::AddUser{"alice", "", {"administrator"}},
           cmd::SetPermissions{"alice", "/", ".*", ".*", ".*"}}) {
    core::Outcome o = Submit(leader, c);
    EXPECT_TRUE(o.status.ok()) << o.status.error().text;
  }
  // On a follower, each answer comes once that node shows the change, so the
  // next change (permissions of the user just added) can rely on it.
  core::Outcome added = Submit(follower, cmd::AddUser{"bob", "", {}});
  ASSERT_TRUE(added.status.ok()) << added.status.error().text;
  EXPECT_NE(nodes_[follower].broker->FindUser("bob"), nullptr) << "read-your-writes";
  core::Outcome allowed = Submit(follower, cmd::SetPermissions{"bob", "/", "", "", ".*"});
  ASSERT_TRUE(allowed.status.ok()) << allowed.status.error().text;
  EXPECT_TRUE(nodes_[follower].broker->Allowed("bob", "/", core::Access::kRead, "q"));
  core::Outcome declared =
      Submit(follower, cmd::DeclareExchange{"/", "logs", "fanout", true, false, false, {}});
  ASSERT_TRUE(declared.status.ok()) << declared.status.error().text;

  ASSERT_TRUE(RunUntil([&] { return Converged(); }));
  for (auto& [id, n] : nodes_) {
    EXPECT_NE(n.broker->FindVHost("/")->FindQueue("q"), nullptr) << "node " << id;
    EXPECT_NE(n.broker->FindVHost("/")->FindExchange("logs"), nullptr) << "node " << id;
    EXPECT_TRUE(n.broker->Allowed("alice", "/", core::Access::kConfigure, "q")) << "node " << id;
    EXPECT_TRUE(n.broker->Allowed("bob", "/", core::Access::kRead, "q")) << "node " << id;
    EXPECT_EQ(CommandLog(n).size(), 7u) << "node " << id;
    EXPECT_EQ(CommandLog(n), CommandLog(nodes_[leader])) << "node " << id;
  }
}

TEST_F(RaftGateTest, ARefusedChangeGetsTheModelsCodeAndTextOnTheClientsNodeAndChangesNoNode) {
  ASSERT_TRUE(RunUntil([&] { return Leader() != 0; }));
  NodeId leader = Leader();
  NodeId follower = AnyFollower(leader);
  ASSERT_TRUE(Submit(leader, cmd::AddVHost{"/"}).status.ok());
  ASSERT_TRUE(Submit(leader, cmd::DeclareQueue{"/", "q", true, false, false, {}, 0}).status.ok());
  ASSERT_TRUE(RunUntil([&] { return Converged(); }));
  std::string before = Snapshot(1);

  for (NodeId on : {follower, leader}) {
    core::Outcome redeclare = Submit(on, cmd::DeclareQueue{"/", "q", false, false, false, {}, 0});
    EXPECT_EQ(redeclare.status.error().code, 406);
    EXPECT_EQ(redeclare.status.error().text,
              "PRECONDITION_FAILED - inequivalent arg 'durable' for queue 'q' in vhost '/': "
              "received 'false' but current is 'true'");
    core::Outcome bind = Submit(on, cmd::Bind{"/", "nowhere", "q", "k", true, {}, 0});
    EXPECT_EQ(bind.status.error().code, 404);
    EXPECT_EQ(bind.status.error().text, "NOT_FOUND - no exchange 'nowhere' in vhost '/'");
  }
  ASSERT_TRUE(RunUntil([&] { return Converged(); }));
  for (NodeId id : {1, 2, 3}) EXPECT_EQ(Snapshot(id), before) << "node " << id;
}

TEST_F(RaftGateTest, ConflictingDeclaresOnTwoNodesGiveOneOkAndOne406AndEveryNodeAgrees) {
  ASSERT_TRUE(RunUntil([&] { return Leader() != 0; }));
  NodeId leader = Leader();
  NodeId follower = AnyFollower(leader);
  ASSERT_TRUE(Submit(leader, cmd::AddVHost{"/"}).status.ok());
  auto durable = SubmitAsync(leader, cmd::DeclareQueue{"/", "q", true, false, false, {}, 0});
  auto transient = SubmitAsync(follower, cmd::DeclareQueue{"/", "q", false, false, false, {}, 0});
  ASSERT_TRUE(RunUntil([&] { return durable->outcome && transient->outcome; }));
  EXPECT_NE(durable->outcome->status.ok(), transient->outcome->status.ok()) << "exactly one wins";
  const core::Outcome& lost = durable->outcome->status.ok() ? *transient->outcome : *durable->outcome;
  EXPECT_EQ(lost.status.error().code, 406);
  bool winner_durable = durable->outcome->status.ok();
  ASSERT_TRUE(RunUntil([&] { return Converged(); }));
  for (auto& [id, n] : nodes_)
    EXPECT_EQ(n.broker->FindVHost("/")->FindQueue("q")->durable(), winner_durable) << "node " << id;
}

TEST_F(RaftGateTest, AChangeMadeBeforeAnyLeaderWaitsForTheElectionAndIsApplied) {
  auto answer = SubmitAsync(1, cmd::AddVHost{"early"});  // no tick yet: no election
  EXPECT_FALSE(answer->outcome.has_value()) << "answered before any leader was elected";
  ASSERT_TRUE(RunUntil([&] { return answer->outcome.has_value(); }, kTimeoutMs));
  ASSERT_TRUE(answer->outcome->status.ok()) << answer->outcome->status.error().text;
  for (NodeId id : {1, 2, 3})
    EXPECT_TRUE(RunUntil([&] { return nodes_[id].broker->FindVHost("early") != nullptr; })) << id;
}

TEST_F(RaftGateTest, NoLeaderElectedWithinTheTimeoutIs504) {
  cut_ = {1};  // node 1 never hears of the leader the others elect
  int64_t sent = runtime_.NowMs();
  auto answer = SubmitAsync(1, cmd::AddVHost{"/"});
  ASSERT_TRUE(RunUntil([&] { return answer->outcome.has_value(); }, kTimeoutMs + 1000));
  EXPECT_LE(answer->at_ms - sent, kTimeoutMs + RaftGate::kLeaderPollMs);
  EXPECT_EQ(answer->outcome->status.error().code, kNotCommitted);
  EXPECT_EQ(answer->outcome->status.error().text,
            "metadata change not committed: no leader was elected within " +
                std::to_string(kTimeoutMs) + " ms; retry");
  EXPECT_EQ(nodes_[1].broker->FindVHost("/"), nullptr);
}

// A forward that could not be sent (the link could not open: a member that
// just joined may not know the leader's address yet) is tried again at the
// same leader a second later, within the same timeout.
TEST_F(RaftGateTest, ALeaderThatCouldNotBeReachedIsTriedAgainWhileItStillLeads) {
  ASSERT_TRUE(RunUntil([&] { return Leader() != 0; }));
  NodeId follower = AnyFollower(Leader());
  unsendable_ = {follower};
  auto answer = SubmitAsync(follower, cmd::AddVHost{"retried"});
  runtime_.Advance(RaftGate::kRetryUnreachedMs / 2);
  EXPECT_FALSE(answer->outcome.has_value()) << "given up at once";
  unsendable_.clear();
  ASSERT_TRUE(RunUntil([&] { return answer->outcome.has_value(); }, kTimeoutMs));
  ASSERT_TRUE(answer->outcome->status.ok()) << answer->outcome->status.error().text;
  EXPECT_NE(nodes_[follower].broker->FindVHost("retried"), nullptr);
}

TEST_F(RaftGateTest, TheMinorityAnswers504WithinTheTimeoutTheMajorityGoesOnAndAllConvergeAfter) {
  ASSERT_TRUE(RunUntil([&] { return Leader() != 0; }));
  NodeId old = Leader();
  ASSERT_TRUE(Submit(old, cmd::AddVHost{"/"}).status.ok());
  cut_ = {old};
  int64_t sent = runtime_.NowMs();
  auto lost = SubmitAsync(old, cmd::AddVHost{"minority"});
  ASSERT_TRUE(RunUntil([&] { return lost->outcome.has_value(); }, kTimeoutMs));
  EXPECT_LE(lost->at_ms - sent, kTimeoutMs);
  EXPECT_EQ(lost->outcome->status.error().code, kNotCommitted);
  EXPECT_EQ(lost->outcome->status.error().text,
            "metadata change not committed: no majority answered in time");

  std::set<NodeId> majority = {1, 2, 3};
  majority.erase(old);
  ASSERT_TRUE(RunUntil([&] { return Leader(majority) != 0; }));
  NodeId leader = Leader(majority);
  NodeId follower = *majority.begin() == leader ? *majority.rbegin() : *majority.begin();
  EXPECT_TRUE(Submit(leader, cmd::AddVHost{"majority-1"}).status.ok());
  EXPECT_TRUE(Submit(follower, cmd::AddVHost{"majority-2"}).status.ok());
  // By now the old leader has stepped down (check-quorum) and knows no
  // leader: its change waits for one, and none comes within the timeout.
  auto meanwhile = SubmitAsync(old, cmd::AddVHost{"minority-2"});
  EXPECT_FALSE(meanwhile->outcome.has_value());
  ASSERT_TRUE(RunUntil([&] { return meanwhile->outcome.has_value(); }, kTimeoutMs + 1000));
  EXPECT_NE(meanwhile->outcome->status.error().text.find("no leader was elected"),
            std::string::npos)
      << meanwhile->outcome->status.error().text;

  cut_.clear();
  ASSERT_TRUE(RunUntil([&] { return Converged(); }));
  core::Broker& healed = *nodes_[old].broker;
  EXPECT_NE(healed.FindVHost("majority-1"), nullptr);
  EXPECT_NE(healed.FindVHost("majority-2"), nullptr);
  EXPECT_EQ(healed.FindVHost("minority"), nullptr) << "never committed, so applied nowhere";
}

TEST_F(RaftGateTest, AFollowerCutOffFromItsLeaderAnswers504AfterTheTimeout) {
  ASSERT_TRUE(RunUntil([&] { return Leader() != 0; }));
  NodeId leader = Leader();
  NodeId follower = AnyFollower(leader);
  cut_ = {follower};
  int64_t sent = runtime_.NowMs();
  auto answer = SubmitAsync(follower, cmd::AddVHost{"/"});
  ASSERT_TRUE(RunUntil([&] { return answer->outcome.has_value(); }, kTimeoutMs));
  EXPECT_EQ(answer->at_ms - sent, kTimeoutMs);
  EXPECT_EQ(answer->outcome->status.error().text,
            "metadata change not committed: no answer from the leader (node " +
                std::to_string(leader) + ") within 5000 ms");
}

TEST_F(RaftGateTest, AFollowerThatHasNotAppliedTheLeadersEntryInTimeSaysSoAnd504s) {
  ASSERT_TRUE(RunUntil([&] { return Leader() != 0; }));
  NodeId leader = Leader();
  NodeId follower = AnyFollower(leader);
  deaf_ = {follower};  // forwarding works; the leader's log does not reach it
  auto answer = SubmitAsync(follower, cmd::AddVHost{"/"});
  ASSERT_TRUE(RunUntil([&] { return answer->outcome.has_value(); }, kTimeoutMs));
  EXPECT_EQ(answer->outcome->status.error().code, kNotCommitted);
  EXPECT_NE(answer->outcome->status.error().text.find(
                "metadata change not confirmed: the leader (node " + std::to_string(leader) +
                ") appended it at index "),
            std::string::npos)
      << answer->outcome->status.error().text;
  EXPECT_EQ(nodes_[follower].broker->FindVHost("/"), nullptr);
  EXPECT_NE(nodes_[leader].broker->FindVHost("/"), nullptr);
  deaf_.clear();
  ASSERT_TRUE(RunUntil([&] { return Converged(); }));
  EXPECT_NE(nodes_[follower].broker->FindVHost("/"), nullptr);
}

TEST_F(RaftGateTest, ABarrierOnALaggingFollowerEndsOnceItShowsWhatWasAcknowledgedElsewhere) {
  ASSERT_TRUE(RunUntil([&] { return Leader() != 0; }));
  NodeId leader = Leader();
  NodeId acked_on = AnyFollower(leader);
  NodeId lagging = 6 - leader - acked_on;
  deaf_ = {lagging};  // acknowledged by the leader and acked_on alone
  core::Outcome added = Submit(acked_on, cmd::AddUser{"admin", "", {}});
  ASSERT_TRUE(added.status.ok()) << added.status.error().text;
  ASSERT_EQ(nodes_[lagging].broker->FindUser("admin"), nullptr);
  deaf_.clear();
  bool done = false;
  nodes_[lagging].gate->Barrier([&] { done = true; });
  EXPECT_FALSE(done) << "it has not caught up yet";
  ASSERT_TRUE(RunUntil([&] { return done; }, kTimeoutMs));
  EXPECT_NE(nodes_[lagging].broker->FindUser("admin"), nullptr);
  // On the leader, and on a node that is up to date, it ends at once.
  bool on_leader = false;
  nodes_[leader].gate->Barrier([&] { on_leader = true; });
  EXPECT_TRUE(on_leader);
}

TEST_F(RaftGateTest, ACommandPastTheCodecsBoundsIsRefusedBeforeItIsProposed) {
  ASSERT_TRUE(RunUntil([&] { return Leader() != 0; }));
  NodeId leader = Leader();
  raft::Index last = nodes_[leader].driver->raft().log().last_index();
  auto answer = SubmitAsync(leader, cmd::AddVHost{std::string(300, 'v')});
  ASSERT_TRUE(answer->outcome.has_value()) << "answered without waiting";
  EXPECT_EQ(answer->outcome->status.error().code, 406);
  EXPECT_EQ(answer->outcome->status.error().text.rfind(
                "PRECONDITION_FAILED - the change cannot be replicated: ", 0),
            0u)
      << answer->outcome->status.error().text;
  EXPECT_EQ(nodes_[leader].driver->raft().log().last_index(), last);
}

TEST_F(RaftGateTest, EveryDoneIsAnsweredOnceWhenTheGatesGoWithWorkPending) {
  ASSERT_TRUE(RunUntil([&] { return Leader() != 0; }));
  NodeId leader = Leader();
  NodeId follower = AnyFollower(leader);
  cut_ = {leader};  // its proposal cannot commit; the follower's forward is lost
  auto on_leader = SubmitAsync(leader, cmd::AddVHost{"a"});
  auto on_follower = SubmitAsync(follower, cmd::AddVHost{"b"});
  runtime_.Advance(100);
  ASSERT_FALSE(on_leader->outcome || on_follower->outcome);
  nodes_[leader].gate.reset();
  nodes_[follower].gate.reset();
  for (auto* answer : {on_leader.get(), on_follower.get()}) {
    ASSERT_EQ(answer->calls, 1);
    EXPECT_EQ(answer->outcome->status.error().code, kNotCommitted);
    EXPECT_EQ(answer->outcome->status.error().text,
              "metadata change not committed: the node is stopping");
  }
  runtime_.Advance(2 * kTimeoutMs);  // the driver's timeout passes: no second answer
  EXPECT_EQ(on_leader->calls, 1);
  EXPECT_EQ(on_follower->calls, 1);
}

TEST_F(RaftGateTest, TheLeaderAnswersAPeersChangeOnceAppendedAndTheClientOnceItsNodeApplied) {
  ASSERT_TRUE(RunUntil([&] { return Leader() != 0; }));
  NodeId leader = Leader();
  NodeId follower = AnyFollower(leader);
  mute_ = {leader};  // forwarding works; what the leader proposes cannot commit
  auto answer = SubmitAsync(follower, cmd::AddVHost{"b"});
  runtime_.Advance(5);  // the command reaches the leader's gate, and its answer comes back
  EXPECT_EQ(nodes_[leader].gate->pending(), 0u) << "answered once appended";
  EXPECT_EQ(nodes_[follower].gate->pending(), 1u);
  EXPECT_FALSE(answer->outcome.has_value()) << "not applied on the client's node yet";
  mute_.clear();
  ASSERT_TRUE(RunUntil([&] { return answer->outcome.has_value(); }));
  EXPECT_EQ(answer->calls, 1);
  EXPECT_TRUE(answer->outcome->status.ok()) << answer->outcome->status.error().text;
  EXPECT_NE(nodes_[follower].broker->FindVHost("b"), nullptr);
}

TEST_F(RaftGateTest, AFollowerWhoseEntryANewLeaderReplacedAnswers504) {
  ASSERT_TRUE(RunUntil([&] { return Leader() != 0; }));
  NodeId leader = Leader();
  NodeId follower = AnyFollower(leader);
  mute_ = {leader};  // the leader appends the change but cannot replicate it
  auto answer = SubmitAsync(follower, cmd::AddVHost{"b"});
  runtime_.Advance(5);
  ASSERT_EQ(nodes_[leader].gate->pending(), 0u);
  cut_ = {leader};  // the others elect a leader without the entry and write over it
  ASSERT_TRUE(RunUntil([&] { return Leader() != 0 && Leader() != leader; }));
  NodeId next = Leader();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Submit(next, cmd::AddVHost{"v" + std::to_string(i)}).status.ok());
  ASSERT_TRUE(RunUntil([&] { return answer->outcome.has_value(); }));
  EXPECT_EQ(answer->calls, 1);
  EXPECT_EQ(answer->outcome->status.error().code, kNotCommitted);
  EXPECT_NE(answer->outcome->status.error().text.find("this node applied another entry there"),
            std::string::npos)
      << answer->outcome->status.error().text;
  EXPECT_EQ(nodes_[follower].broker->FindVHost("b"), nullptr);
}

TEST_F(RaftGateTest, EveryDoneIsAnsweredOnceWhenTheDriverGoesFirst) {
  ASSERT_TRUE(RunUntil([&] { return Leader() != 0; }));
  NodeId leader = Leader();
  cut_ = {leader};
  auto answer = SubmitAsync(leader, cmd::AddVHost{"a"});
  runtime_.Advance(100);
  ASSERT_FALSE(answer->outcome.has_value());
  nodes_[leader].driver.reset();
  ASSERT_EQ(answer->calls, 1);
  EXPECT_EQ(answer->outcome->status.error().text,
            "metadata change not committed: the node is stopping");
  EXPECT_EQ(nodes_[leader].gate->pending(), 0u);
  nodes_[leader].gate.reset();
  runtime_.Advance(2 * kTimeoutMs);
  EXPECT_EQ(answer->calls, 1);
}

}  // namespace
}  // namespace warren::cluster::test
