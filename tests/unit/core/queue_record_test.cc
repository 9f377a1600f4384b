// Queue records of a cluster member (core/remote.h, docs/cluster.md "Queues
// across nodes"): a queue declared for another member is a record here,
// routed to but holding nothing; placement by locator; a delete that every
// member applies alike; deletions of unused queues going through the gate.
#include <gtest/gtest.h>

#include "broker/core/command.h"
#include "core_fixture.h"

namespace warren::core::test {
namespace {

class QueueRecordTest : public CoreTest {
 protected:
  // This broker is member 1 of a cluster of members 1, 2 and 3.
  class Cluster final : public QueueRemote {
   public:
    std::vector<uint64_t> ids{1, 2, 3};
    std::vector<std::pair<uint64_t, std::vector<std::string>>> published;
    std::string NodeName(uint64_t home) const override { return "n" + std::to_string(home); }
    std::vector<uint64_t> Members() const override { return ids; }
    void Publish(uint64_t home, const std::string&, std::vector<std::string> queues, MessagePtr,
                 std::function<void(bool)>) override {
      published.emplace_back(home, std::move(queues));
    }
    bool Congested(uint64_t) const override { return false; }
    void WhenDrained(uint64_t, std::function<void()>) override {}
    void Consume(uint64_t, RemoteConsume, RemoteConsumerSink*,
                 std::function<void(uint64_t, Status)>) override {}
    void Credit(uint64_t, uint64_t, uint32_t) override {}
    void Cancel(uint64_t, uint64_t) override {}
    void Settle(uint64_t, uint64_t, SettleKind, std::vector<uint64_t>) override {}
    void Get(uint64_t, const std::string&, const std::string&, bool, uint64_t, Reply) override {}
    void Purge(uint64_t, const std::string&, const std::string&, uint64_t, Reply) override {}
    void Stat(uint64_t, const std::string&, const std::string&, uint64_t, Reply) override {}
    void SyncMirrors(uint64_t, const std::string&, const std::string&, bool, Reply) override {}
    void Census(uint64_t, const std::string&, const std::string&, Reply) override {}
    void DirectReply(uint64_t, core::MessagePtr) override {}
  };

  QueueRecordTest() {
    broker_.set_self_member(1);
    broker_.set_remote(&members_);
  }
  ~QueueRecordTest() override { broker_.set_remote(nullptr); }

  Outcome DeclareOn(const std::string& name, uint64_t node, amqp::FieldTable args = {}) {
    cmd::DeclareQueue d;
    d.vhost = "/";
    d.name = name;
    d.node = node;
    d.arguments = std::move(args);
    return Apply(broker_, d);
  }
  uint64_t Placed(const std::string& name, amqp::FieldTable args = {}, bool exclusive = false) {
    Command c = cmd::DeclareQueue{"/", name, false, exclusive, false, std::move(args), kConn};
    PlaceNewQueue(broker_, c);
    return std::get<cmd::DeclareQueue>(c).node;
  }

  Cluster members_;
};

TEST_F(QueueRecordTest, ADeleteForOneMemberLeavesAQueueOfTheSameNameHomedOnAnother) {
  ASSERT_TRUE(DeclareOn("again", 2).status.ok());
  ASSERT_TRUE(DeclareOn("mine", 1).status.ok());
  Outcome wrong = Apply(broker_, cmd::DeleteQueue{"/", "again", false, false, 0, 3});
  EXPECT_EQ(wrong.status.error().code, 404);
  EXPECT_EQ(wrong.status.error().text,
            "NOT_FOUND - no queue 'again' in vhost '/' homed on member 3");
  EXPECT_NE(vh_->FindQueue("again"), nullptr) << "member 2's queue stays";
  EXPECT_TRUE(Apply(broker_, cmd::DeleteQueue{"/", "again", false, false, 0, 2}).status.ok());
  EXPECT_EQ(vh_->FindQueue("again"), nullptr);
  // This member's own queue, named by this member's id.
  EXPECT_TRUE(Apply(broker_, cmd::DeleteQueue{"/", "mine", false, false, 0, 1}).status.ok());
  EXPECT_EQ(vh_->FindQueue("mine"), nullptr);
  EXPECT_EQ(Apply(broker_, cmd::DeleteQueue{"/", "gone", false, false, 0, 2}).status.error().code,
            404);
}

TEST_F(QueueRecordTest, AQueueDeclaredForAnotherMemberIsARecordThatRoutesThere) {
  ASSERT_TRUE(DeclareOn("far", 2).status.ok());
  ASSERT_TRUE(DeclareOn("other", 3).status.ok());
  ASSERT_TRUE(DeclareOn("here", 1).status.ok());
  EXPECT_TRUE(vh_->FindQueue("far")->remote());
  EXPECT_EQ(vh_->FindQueue("far")->home(), 2u);
  EXPECT_FALSE(vh_->FindQueue("here")->remote()) << "this member's own id is here";
  ASSERT_TRUE(DeclareExchange("fan", "fanout").ok());
  Bind("far", "fan", "");
  Bind("other", "fan", "");
  Bind("here", "fan", "");
  PublishOutcome o = Publish("fan", "", "m");
  EXPECT_EQ(o.routed, 3u);
  ASSERT_EQ(o.remote.size(), 2u);
  EXPECT_EQ(o.remote[0].home + o.remote[1].home, 5u);
  EXPECT_EQ(vh_->FindQueue("far")->ready_count(), 0u) << "a record holds no messages";
  EXPECT_EQ(vh_->FindQueue("here")->ready_count(), 1u);
}

TEST_F(QueueRecordTest, ARecordIsNotPurgedHereAndHasNoExpiryTimer) {
  ASSERT_TRUE(DeclareOn("far", 2, Table({{"x-expires", Long(1000)}})).status.ok());
  auto purged = vh_->PurgeQueue("far", kConn);
  ASSERT_FALSE(purged.ok());
  EXPECT_EQ(purged.error().code, Code(amqp::ReplyCode::kPreconditionFailed));
  runtime_.Advance(5000);
  EXPECT_NE(vh_->FindQueue("far"), nullptr) << "only its home expires it";
}

TEST_F(QueueRecordTest, DeadLettersToARecordAreSentToItsHome) {
  ASSERT_TRUE(DeclareOn("dlq", 2).status.ok());
  ASSERT_TRUE(DeclareExchange("dlx", "fanout").ok());
  Bind("dlq", "dlx", "");
  DeclareQueue("src", Table({{"x-dead-letter-exchange", Str("dlx")},
                                      {"x-message-ttl", Long(10)}}));
  Publish("", "src", "late");
  runtime_.Advance(20);
  ASSERT_EQ(members_.published.size(), 1u);
  EXPECT_EQ(members_.published[0].first, 2u);
  EXPECT_EQ(members_.published[0].second, std::vector<std::string>{"dlq"});
}

TEST_F(QueueRecordTest, ClientLocalPlacesHereMinMastersWhereFewestLiveAndExclusiveStaysHere) {
  EXPECT_EQ(Placed("a"), 1u);
  ASSERT_TRUE(DeclareOn("on1", 1).status.ok());
  ASSERT_TRUE(DeclareOn("on3", 3).status.ok());
  amqp::FieldTable min = Table({{"x-queue-master-locator", Str("min-masters")}});
  EXPECT_EQ(Placed("b", min), 2u) << "member 2 homes none";
  ASSERT_TRUE(DeclareOn("on2", 2).status.ok());
  ASSERT_TRUE(DeclareOn("on2b", 2).status.ok());
  EXPECT_EQ(Placed("c", Table({{"x-queue-master-locator", Str("balanced")}})), 1u)
      << "1 and 3 home one each: the lowest id";
  EXPECT_EQ(Placed("d", min, /*exclusive=*/true), 1u) << "with its connection";
  uint64_t random = Placed("e", Table({{"x-queue-master-locator", Str("random")}}));
  EXPECT_TRUE(random >= 1 && random <= 3);
}

TEST_F(QueueRecordTest, APolicysLocatorPlacesQueuesThatDeclareNone) {
  Policy p{"/", "spread", "^s\\.", ApplyTo::kQueues, 0,
           Table({{"queue-master-locator", Str("min-masters")}}), {}};
  ASSERT_TRUE(vh_->SetPolicy(p).ok());
  ASSERT_TRUE(DeclareOn("on1", 1).status.ok());
  EXPECT_EQ(Placed("s.one"), 2u);
  EXPECT_EQ(Placed("t.one"), 1u) << "the policy does not match it";
}

TEST_F(QueueRecordTest, AnUnknownLocatorIsRefusedAsRabbitMQRefusesIt) {
  auto r = TryDeclare("q", Table({{"x-queue-master-locator", Str("nearest")}}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code(amqp::ReplyCode::kPreconditionFailed));
}

TEST_F(QueueRecordTest, InAClusterADeleteIsAppliedWhateverTheQueueHolds) {
  DeclareQueue("full");
  Publish("", "full", "m");
  Outcome o = Apply(broker_, cmd::DeleteQueue{"/", "full", true, true, kConn});
  EXPECT_TRUE(o.status.ok()) << "the asking node checked if-empty before proposing";
  EXPECT_EQ(vh_->FindQueue("full"), nullptr);
}

TEST_F(QueueRecordTest, AnUnusedAutoDeleteQueueIsDeletedThroughTheGate) {
  struct CountingGate final : MetadataGate {
    explicit CountingGate(Broker& b) : broker(b) {}
    void Submit(Command command, Done done) override {
      commands.push_back(command);
      done(Apply(broker, command));
    }
    Broker& broker;
    std::vector<Command> commands;
  } gate(broker_);
  broker_.set_metadata_gate(&gate);
  auto q = DeclareQueue("auto", {}, /*auto_delete=*/true);
  auto c = Consume(q, "c");
  Cancel(c);
  runtime_.Advance(0);
  broker_.set_metadata_gate(nullptr);
  ASSERT_EQ(gate.commands.size(), 1u);
  auto* d = std::get_if<cmd::DeleteQueue>(&gate.commands[0]);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->name, "auto");
  EXPECT_EQ(vh_->FindQueue("auto"), nullptr);
}

}  // namespace
}  // namespace warren::core::test
