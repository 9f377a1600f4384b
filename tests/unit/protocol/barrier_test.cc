// A cluster member that has not yet applied what another member
// acknowledged catches up before it refuses a lookup for not found
// (docs/cluster.md, "A barrier"). The node here is member 1 of a cluster
// whose gate acknowledges a change at once but applies it on this node only
// at the next barrier, as a follower lagging behind its leader would: a
// passive declare, get, consume, purge or publish that finds nothing takes
// the barrier and is answered from what it brought; what still does not
// exist after it is refused with 404 as before.
#include <deque>
#include <mutex>

#include <gtest/gtest.h>

#include "broker/core/broker.h"
#include "broker/core/command.h"
#include "protocol/frame_harness.h"

namespace warren::protocol_test {
namespace {

class LaggingGate final : public core::MetadataGate {
 public:
  explicit LaggingGate(core::Broker& broker) : broker_(broker) {}
  // Acknowledged (the cluster has it) but not applied here yet.
  void Submit(core::Command command, Done done) override {
    lagging_.push_back(std::move(command));
    done(core::Outcome{});
  }
  void Barrier(std::function<void()> done) override {
    ++barriers_;
    while (!lagging_.empty()) {
      core::Apply(broker_, lagging_.front());
      lagging_.pop_front();
    }
    broker_.runtime().ScheduleAfter(0, std::move(done));
  }
  int barriers() const { return barriers_.load(); }

 private:
  core::Broker& broker_;
  std::deque<core::Command> lagging_;
  std::atomic<int> barriers_{0};
};

struct LaggingMember {
  std::unique_ptr<LaggingGate> gate;
  TestNode node{{}, [this](Node& n) {
                  gate = std::make_unique<LaggingGate>(n.broker());
                  n.broker().set_self_member(1);
                  n.broker().set_metadata_gate(gate.get());
                }};
  ~LaggingMember() { node.Stop(); }
};

class BarrierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(c_.Handshake());
    ASSERT_TRUE(c_.OpenChannel(1));
  }
  // Declares `name`, acknowledged but not yet applied on this node.
  void DeclareElsewhere(const std::string& name) {
    amqp::QueueDeclare d;
    d.queue = name;
    d.no_wait = true;  // the declare-ok would look the queue up
    c_.SendMethod(1, d);
  }

  LaggingMember m_;
  RawClient c_{m_.node.port()};
};

TEST_F(BarrierTest, ALookupThatFindsNothingCatchesUpFirst) {
  DeclareElsewhere("late");
  amqp::QueueDeclare passive;
  passive.queue = "late";
  passive.passive = true;
  c_.SendMethod(1, passive);
  auto ok = c_.Expect<amqp::QueueDeclareOk>(1);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->queue, "late");
  EXPECT_EQ(m_.gate->barriers(), 1);
}

TEST_F(BarrierTest, APublishToAnExchangeNotYetAppliedIsRoutedAfterTheBarrier) {
  amqp::ExchangeDeclare x;
  x.exchange = "late-x";
  x.type = "fanout";
  x.no_wait = true;
  c_.SendMethod(1, x);
  DeclareElsewhere("late-q");
  amqp::QueueBind bind;
  bind.queue = "late-q";
  bind.exchange = "late-x";
  bind.no_wait = true;
  c_.SendMethod(1, bind);
  c_.Send(PublishFrames(1, "late-x", "", "caught up"));
  auto got = Get(c_, 1, "late-q");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->body(), "caught up");
}

TEST_F(BarrierTest, WhatDoesNotExistAfterTheBarrierIsStill404) {
  amqp::BasicGet get;
  get.queue = "never";
  c_.SendMethod(1, get);
  auto close = c_.Expect<amqp::ChannelClose>(1);
  ASSERT_TRUE(close);
  EXPECT_EQ(close->reply_code, 404);
  EXPECT_EQ(close->reply_text, "NOT_FOUND - no queue 'never' in vhost '/'");
  EXPECT_EQ(close->class_id, 60);
  EXPECT_EQ(close->method_id, 70);
  EXPECT_EQ(m_.gate->barriers(), 1) << "one barrier, then the refusal";
}

}  // namespace
}  // namespace warren::protocol_test
