// The leader's placement of mirrors (cluster/mirror_planner.h): each queue's
// record brought in line with what its policy wants, and the queues walked
// again only when the metadata or the members moved, or a proposal failed.
#include "broker/cluster/mirror_planner.h"

#include <gtest/gtest.h>

#include <vector>

#include "../core/core_fixture.h"
#include "broker/core/command.h"

namespace warren::cluster {
namespace {

using core::test::CoreTest;

// Keeps what is submitted; the test answers it.
class HeldGate final : public core::MetadataGate {
 public:
  void Submit(core::Command command, Done done) override {
    commands.push_back(std::move(command));
    answers.push_back(std::move(done));
  }
  void Answer(size_t i, bool ok) {
    core::Outcome o;
    if (!ok) o.status = Error{504, "not committed"};
    answers.at(i)(o);
  }
  std::vector<core::Command> commands;
  std::vector<Done> answers;
};

class MirrorPlannerTest : public CoreTest {
 protected:
  MirrorPlannerTest() {
    broker_.set_self_member(1);
    amqp::FieldTable all;
    all.Set("ha-mode", amqp::FieldValue::Str("all"));
    EXPECT_TRUE(vh_->SetPolicy(core::Policy{"/", "ha", "^ha-", core::ApplyTo::kAll, 0, all, {}})
                    .ok());
  }

  HeldGate gate_;
  MirrorPlanner planner_{broker_, gate_};
  std::vector<core::MemberName> members_{{1, "warren@a"}, {2, "warren@b"}, {3, "warren@c"}};
};

TEST_F(MirrorPlannerTest, ProposesWhatThePolicyWantsAndWalksAgainOnlyWhenSomethingMoved) {
  DeclareQueue("ha-q");
  DeclareQueue("plain");
  planner_.Plan(members_, 7);
  ASSERT_EQ(gate_.commands.size(), 1u);
  const auto& change = std::get<core::cmd::SetMirrors>(gate_.commands[0]);
  EXPECT_EQ(change.name, "ha-q");
  EXPECT_EQ(change.mirrors.members, (std::vector<uint64_t>{2, 3}));
  // In flight: not proposed twice.
  planner_.Plan(members_, 7);
  EXPECT_EQ(gate_.commands.size(), 1u);
  // Answered, but (here) not applied: the record still differs. Nothing
  // moved since the pass, so the queues are not walked again...
  gate_.Answer(0, true);
  planner_.Plan(members_, 7);
  EXPECT_EQ(gate_.commands.size(), 1u);
  // ...until the applied metadata moves,
  planner_.Plan(members_, 8);
  ASSERT_EQ(gate_.commands.size(), 2u);
  // or a proposal fails,
  gate_.Answer(1, false);
  planner_.Plan(members_, 8);
  ASSERT_EQ(gate_.commands.size(), 3u);
  gate_.Answer(2, true);
  planner_.Plan(members_, 8);
  EXPECT_EQ(gate_.commands.size(), 3u);
  // or the members change,
  members_.push_back({4, "warren@d"});
  planner_.Plan(members_, 8);
  ASSERT_EQ(gate_.commands.size(), 4u);
  EXPECT_EQ(std::get<core::cmd::SetMirrors>(gate_.commands[3]).mirrors.members,
            (std::vector<uint64_t>{2, 3, 4}));
  gate_.Answer(3, true);
  planner_.Plan(members_, 8);
  EXPECT_EQ(gate_.commands.size(), 4u);
  // or this member stopped leading in between.
  planner_.Forget();
  planner_.Plan(members_, 8);
  EXPECT_EQ(gate_.commands.size(), 5u);
}

TEST_F(MirrorPlannerTest, AtMostPerTickProposalsAPassAndTheRestAtTheNextTick) {
  for (size_t i = 0; i < MirrorPlanner::kPerTick + 3; ++i) DeclareQueue("ha-" + std::to_string(i));
  planner_.Plan(members_, 7);
  EXPECT_EQ(gate_.commands.size(), MirrorPlanner::kPerTick);
  // Nothing moved, but the pass stopped early: the next tick goes on.
  planner_.Plan(members_, 7);
  EXPECT_EQ(gate_.commands.size(), MirrorPlanner::kPerTick + 3);
}

}  // namespace
}  // namespace warren::cluster
