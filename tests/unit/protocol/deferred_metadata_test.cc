// Metadata changes answered after the frame that asked for them, as a
// cluster answers them once its log has committed them (docs/cluster.md,
// "Metadata as commands"). The node here gets a gate that applies every
// change from a zero-delay timer on the loop, so each answer comes after the
// connection has stopped handling input for it: what follows must wait, in
// order, and errors must still close the right channel with the right ids.
#include <atomic>
#include <memory>

#include <gtest/gtest.h>

#include "broker/core/broker.h"
#include "broker/core/command.h"
#include "protocol/frame_harness.h"

namespace warren::protocol_test {
namespace {

class LaterGate final : public core::MetadataGate {
 public:
  explicit LaterGate(core::Broker& broker) : broker_(broker) {}
  void Submit(core::Command command, Done done) override {
    ++submitted_;
    broker_.runtime().ScheduleAfter(
        0, [this, command = std::move(command), done = std::move(done)] {
          done(core::Apply(broker_, command));
        });
  }
  int submitted() const { return submitted_.load(); }

 private:
  core::Broker& broker_;
  std::atomic<int> submitted_{0};
};

// A node whose metadata changes are all answered later.
struct LaterNode {
  std::unique_ptr<LaterGate> gate;  // outlives the node's use of it
  TestNode node{{}, [this](Node& n) {
                  gate = std::make_unique<LaterGate>(n.broker());
                  n.broker().set_metadata_gate(gate.get());
                }};
};

amqp::QueueDeclare Declare(const std::string& name, bool durable = false) {
  amqp::QueueDeclare d;
  d.queue = name;
  d.durable = durable;
  return d;
}

TEST(DeferredMetadataTest, PipelinedDeclareBindPublishAndGetWaitForEachChange) {
  LaterNode n;
  RawClient c(n.node.port());
  ASSERT_TRUE(c.Handshake());
  ASSERT_TRUE(c.OpenChannel(1));

  amqp::ExchangeDeclare x;
  x.exchange = "x";
  x.type = "direct";
  amqp::QueueBind bind;
  bind.queue = "q";
  bind.exchange = "x";
  bind.routing_key = "k";
  amqp::BasicGet get;
  get.queue = "q";
  get.no_ack = true;
  // One write: without the hold, the bind and the publish would be handled
  // before the declares were applied, and find nothing.
  std::string batch = MethodFrame(1, Declare("q")) + MethodFrame(1, x) + MethodFrame(1, bind) +
                      PublishFrames(1, "x", "k", "hello") + MethodFrame(1, get);
  ASSERT_TRUE(c.Send(batch));

  auto declared = c.Expect<amqp::QueueDeclareOk>(1);
  ASSERT_TRUE(declared);
  EXPECT_EQ(declared->queue, "q");
  ASSERT_TRUE(c.Expect<amqp::ExchangeDeclareOk>(1));
  ASSERT_TRUE(c.Expect<amqp::QueueBindOk>(1));
  auto got = c.Expect<amqp::BasicGetOk>(1);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->exchange, "x");
  auto header = c.Next();
  auto body = c.Next();
  ASSERT_TRUE(header && body);
  EXPECT_EQ(body->payload, "hello");
  EXPECT_EQ(n.gate->submitted(), 3);  // the declares and the bind went through the gate
}

TEST(DeferredMetadataTest, RefusalAnsweredLaterClosesTheChannelWithTheMethodsIds) {
  LaterNode n;
  RawClient c(n.node.port());
  ASSERT_TRUE(c.Handshake());
  ASSERT_TRUE(c.OpenChannel(1));
  ASSERT_TRUE(c.OpenChannel(2));
  ASSERT_TRUE(c.DeclareQueue(1, "q", {}, /*durable=*/true));

  // The inequivalent redeclare is refused after its frame was handled; the
  // declare pipelined behind it on the same channel is discarded (the
  // channel is closing), and channel 2 carries on.
  ASSERT_TRUE(c.Send(MethodFrame(1, Declare("q", /*durable=*/false)) +
                     MethodFrame(1, Declare("other")) + MethodFrame(2, Declare("on-two"))));
  EXPECT_TRUE(c.ExpectChannelClose(1, 406, 50, 10));
  auto two = c.Expect<amqp::QueueDeclareOk>(2);
  ASSERT_TRUE(two);
  EXPECT_EQ(two->queue, "on-two");
  c.SendMethod(1, amqp::ChannelCloseOk{});

  // "other" was never declared: a passive declare finds nothing.
  amqp::QueueDeclare passive = Declare("other");
  passive.passive = true;
  c.SendMethod(2, passive);
  EXPECT_TRUE(c.ExpectChannelClose(2, 404, 50, 10));
}

TEST(DeferredMetadataTest, ServerNamedQueueIsNamedBeforeTheChangeAndDeclaredUnderThatName) {
  LaterNode n;
  RawClient c(n.node.port());
  ASSERT_TRUE(c.Handshake());
  ASSERT_TRUE(c.OpenChannel(1));
  c.SendMethod(1, Declare(""));
  auto declared = c.Expect<amqp::QueueDeclareOk>(1);
  ASSERT_TRUE(declared);
  EXPECT_EQ(declared->queue.rfind("amq.gen-", 0), 0u) << declared->queue;
  // The name the client was told is the queue's.
  amqp::QueueDeclare passive = Declare(declared->queue);
  passive.passive = true;
  c.SendMethod(1, passive);
  ASSERT_TRUE(c.Expect<amqp::QueueDeclareOk>(1));
}

TEST(DeferredMetadataTest, ConnectionCloseBehindAChangeIsAnsweredAfterIt) {
  LaterNode n;
  RawClient c(n.node.port());
  ASSERT_TRUE(c.Handshake());
  ASSERT_TRUE(c.OpenChannel(1));
  ASSERT_TRUE(c.Send(MethodFrame(1, Declare("q")) +
                     MethodFrame(0, amqp::ConnectionClose{200, "bye", 0, 0})));
  ASSERT_TRUE(c.Expect<amqp::QueueDeclareOk>(1));
  ASSERT_TRUE(c.Expect<amqp::ConnectionCloseOk>(0));
  EXPECT_TRUE(c.WaitEof());
}

TEST(DeferredMetadataTest, ClientGoneBeforeTheAnswerLeavesTheNodeServing) {
  LaterNode n;
  {
    RawClient c(n.node.port());
    ASSERT_TRUE(c.Handshake());
    ASSERT_TRUE(c.OpenChannel(1));
    ASSERT_TRUE(c.Send(MethodFrame(1, Declare("left-behind"))));
  }  // the socket closes with the answer still owed (or just sent)
  RawClient d(n.node.port());
  ASSERT_TRUE(d.Handshake());
  ASSERT_TRUE(d.OpenChannel(1));
  ASSERT_TRUE(d.DeclareQueue(1, "after"));
}

}  // namespace
}  // namespace warren::protocol_test
