// Resource alarms as RabbitMQ applies them: a connection that publishes
// while an alarm is on is told connection.blocked (it announced the
// capability) and is no longer read; a connection that only consumes
// keeps being served. Alarms are raised here by limits every process is
// past (memory_limit of one byte, a disk free limit of a petabyte).
#include <gtest/gtest.h>

#include "protocol/frame_harness.h"

namespace warren::protocol_test {
namespace {

void ConsumeFrom(RawClient& c, const std::string& queue) {
  amqp::BasicConsume consume;
  consume.queue = queue;
  consume.consumer_tag = "ctag";
  consume.no_ack = true;
  c.SendMethod(1, consume);
  ASSERT_TRUE(c.Expect<amqp::BasicConsumeOk>(1));
}

TEST(AlarmsTest, MemoryAlarmBlocksThePublisherAndServesTheConsumer) {
  TestNode node([](NodeConfig& c) {
    c.memory_limit = 1;
    c.paging_ratio = 2.0;
  });
  RawClient consumer(node.port());
  ASSERT_TRUE(consumer.Handshake());
  ASSERT_TRUE(consumer.OpenChannel(1));
  ASSERT_TRUE(consumer.DeclareQueue(1, "q"));
  ConsumeFrom(consumer, "q");

  Login login;
  login.connection_blocked = true;
  RawClient publisher(node.port());
  ASSERT_TRUE(publisher.Handshake(login));
  ASSERT_TRUE(publisher.OpenChannel(1));
  publisher.Send(PublishFrames(1, "", "q", "hello"));
  auto blocked = publisher.Expect<amqp::ConnectionBlocked>(0);
  ASSERT_TRUE(blocked);
  EXPECT_EQ(blocked->reason, "low on memory");

  // The publish that tripped the block was routed; the consumer gets it and
  // its own connection is still read (a declare is answered).
  auto deliver = consumer.Expect<amqp::BasicDeliver>(1);
  ASSERT_TRUE(deliver);
  EXPECT_EQ(deliver->routing_key, "q");
  auto header = consumer.Next();
  auto body = consumer.Next();
  ASSERT_TRUE(header && body);
  EXPECT_EQ(body->payload, "hello");
  ASSERT_TRUE(consumer.DeclareQueue(1, "q"));
}

TEST(AlarmsTest, DiskAlarmSaysLowOnDisk) {
  TestNode node([](NodeConfig& c) { c.disk_free_limit = 1ull << 50; });
  Login login;
  login.connection_blocked = true;
  RawClient publisher(node.port());
  ASSERT_TRUE(publisher.Handshake(login));
  ASSERT_TRUE(publisher.OpenChannel(1));
  publisher.Send(PublishFrames(1, "", "nowhere", "x"));
  auto blocked = publisher.Expect<amqp::ConnectionBlocked>(0);
  ASSERT_TRUE(blocked);
  EXPECT_EQ(blocked->reason, "low on disk");
}

}  // namespace
}  // namespace warren::protocol_test
