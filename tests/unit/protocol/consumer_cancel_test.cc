// Consumer cancel notifications (RabbitMQ's consumer_cancel_notify): when a
// queue goes away under a consumer the server sends basic.cancel with
// no-wait set, after the reply to the method that deleted the queue (checked
// against RabbitMQ 3.10), and a client that answers it with basic.cancel-ok
// keeps its connection (as in RabbitMQ 4). Every server-side cancel goes
// through the same path.
#include <set>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "frame_harness.h"

namespace warren::protocol_test {
namespace {

class ConsumerCancelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(c_.Handshake());
    ASSERT_TRUE(c_.OpenChannel(1));
  }
  static void Consume(RawClient& c, uint16_t channel, const std::string& queue,
                      const std::string& tag) {
    amqp::BasicConsume consume;
    consume.queue = queue;
    consume.consumer_tag = tag;
    c.SendMethod(channel, consume);
    ASSERT_TRUE(c.Expect<amqp::BasicConsumeOk>(channel));
  }
  static amqp::QueueDelete Delete(const std::string& queue) {
    amqp::QueueDelete d;
    d.queue = queue;
    return d;
  }
  // How many consumers `queue` has, by passive declare on `channel`.
  static std::optional<uint32_t> Consumers(RawClient& c, uint16_t channel,
                                           const std::string& queue) {
    amqp::QueueDeclare d;
    d.queue = queue;
    d.passive = true;
    c.SendMethod(channel, d);
    auto ok = c.Expect<amqp::QueueDeclareOk>(channel);
    if (!ok) return std::nullopt;
    return ok->consumer_count;
  }

  TestNode node_;
  RawClient c_{node_.port()};
};

TEST_F(ConsumerCancelTest, DeleteOnTheConsumersChannelAnswersBeforeTheNoWaitCancel) {
  ASSERT_TRUE(c_.DeclareQueue(1, "q"));
  Consume(c_, 1, "q", "ctag");
  c_.SendMethod(1, Delete("q"));
  ASSERT_TRUE(c_.Expect<amqp::QueueDeleteOk>(1)) << "queue.delete-ok must come first";
  auto cancel = c_.Expect<amqp::BasicCancel>(1);
  ASSERT_TRUE(cancel);
  EXPECT_EQ(cancel->consumer_tag, "ctag");
  EXPECT_TRUE(cancel->no_wait) << "RabbitMQ sends consumer cancel notifications with no-wait";
  EXPECT_TRUE(c_.DeclareQueue(1, "after"));
}

TEST_F(ConsumerCancelTest, DeleteOnAnotherChannelAnswersBeforeTheCancel) {
  ASSERT_TRUE(c_.OpenChannel(2));
  ASSERT_TRUE(c_.DeclareQueue(1, "q"));
  Consume(c_, 2, "q", "ctag");
  c_.SendMethod(1, Delete("q"));
  ASSERT_TRUE(c_.Expect<amqp::QueueDeleteOk>(1));
  auto cancel = c_.Expect<amqp::BasicCancel>(2);
  ASSERT_TRUE(cancel);
  EXPECT_EQ(cancel->consumer_tag, "ctag");
  EXPECT_TRUE(cancel->no_wait);
}

TEST_F(ConsumerCancelTest, DeleteByAnotherConnectionCancelsWithNoWait) {
  ASSERT_TRUE(c_.DeclareQueue(1, "q"));
  Consume(c_, 1, "q", "ctag");
  RawClient other(node_.port());
  ASSERT_TRUE(other.Handshake());
  ASSERT_TRUE(other.OpenChannel(1));
  other.SendMethod(1, Delete("q"));
  ASSERT_TRUE(other.Expect<amqp::QueueDeleteOk>(1));
  auto cancel = c_.Expect<amqp::BasicCancel>(1);
  ASSERT_TRUE(cancel);
  EXPECT_EQ(cancel->consumer_tag, "ctag");
  EXPECT_TRUE(cancel->no_wait);
}

// Every consumer of the queue is told, each on its own channel, each once.
TEST_F(ConsumerCancelTest, EveryConsumerOfTheDeletedQueueIsCancelled) {
  ASSERT_TRUE(c_.OpenChannel(2));
  ASSERT_TRUE(c_.DeclareQueue(1, "q"));
  Consume(c_, 1, "q", "a");
  Consume(c_, 2, "q", "b");
  Consume(c_, 2, "q", "c");
  c_.SendMethod(1, Delete("q"));
  ASSERT_TRUE(c_.Expect<amqp::QueueDeleteOk>(1));
  std::multiset<std::pair<uint16_t, std::string>> cancelled;
  for (int i = 0; i < 3; ++i) {
    auto f = c_.Next();
    ASSERT_TRUE(f);
    auto* cancel = std::get_if<amqp::BasicCancel>(&f->method);
    ASSERT_TRUE(cancel) << Describe(*f);
    EXPECT_TRUE(cancel->no_wait);
    cancelled.emplace(f->channel, cancel->consumer_tag);
  }
  EXPECT_EQ(cancelled, (std::multiset<std::pair<uint16_t, std::string>>{
                           {1, "a"}, {2, "b"}, {2, "c"}}));
  // Nothing else was owed: the next frame answers this declare.
  EXPECT_TRUE(c_.DeclareQueue(1, "after"));
}

// A client that honours no-wait = 0 (or answers every basic.cancel) sends
// basic.cancel-ok back; RabbitMQ 4 accepts it (3.x closed the connection
// with 503), and so does the node.
TEST_F(ConsumerCancelTest, CancelOkFromTheClientIsAccepted) {
  ASSERT_TRUE(c_.DeclareQueue(1, "q"));
  Consume(c_, 1, "q", "ctag");
  c_.SendMethod(1, Delete("q"));
  ASSERT_TRUE(c_.Expect<amqp::QueueDeleteOk>(1));
  ASSERT_TRUE(c_.Expect<amqp::BasicCancel>(1));
  c_.SendMethod(1, amqp::BasicCancelOk{"ctag"});
  // The channel and the connection carry on.
  ASSERT_TRUE(c_.DeclareQueue(1, "q"));
  Consume(c_, 1, "q", "ctag");
  EXPECT_EQ(Consumers(c_, 1, "q"), std::optional<uint32_t>(1));
  EXPECT_TRUE(c_.Close());
}

// As RabbitMQ 4: a cancel-ok naming a live consumer ends it, without a reply.
TEST_F(ConsumerCancelTest, CancelOkForALiveConsumerEndsItSilently) {
  ASSERT_TRUE(c_.DeclareQueue(1, "q"));
  Consume(c_, 1, "q", "ctag");
  c_.SendMethod(1, amqp::BasicCancelOk{"ctag"});
  c_.SendMethod(1, amqp::BasicCancelOk{"no-such-tag"});
  EXPECT_EQ(Consumers(c_, 1, "q"), std::optional<uint32_t>(0));
  // The tag is free again.
  Consume(c_, 1, "q", "ctag");
}

// A server-sent cancel is not owed to a channel the client closed first.
TEST_F(ConsumerCancelTest, ClosingTheChannelReleasesItsConsumersWithoutNotification) {
  ASSERT_TRUE(c_.OpenChannel(2));
  ASSERT_TRUE(c_.DeclareQueue(1, "q"));
  Consume(c_, 2, "q", "ctag");
  c_.SendMethod(2, amqp::ChannelClose{200, "bye", 0, 0});
  ASSERT_TRUE(c_.Expect<amqp::ChannelCloseOk>(2));
  c_.SendMethod(1, Delete("q"));
  ASSERT_TRUE(c_.Expect<amqp::QueueDeleteOk>(1));
  EXPECT_TRUE(c_.DeclareQueue(1, "after"));
}

}  // namespace
}  // namespace warren::protocol_test
