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

// Publishes one message to `queue` from a connection that announced the
// connection.blocked capability; returns the reason it was blocked with.
std::string PublishUntilBlocked(RawClient& publisher, const std::string& queue,
                                const std::string& body) {
  Login login;
  login.connection_blocked = true;
  EXPECT_TRUE(publisher.Handshake(login));
  EXPECT_TRUE(publisher.OpenChannel(1));
  publisher.Send(PublishFrames(1, "", queue, body));
  auto blocked = publisher.Expect<amqp::ConnectionBlocked>(0);
  return blocked ? blocked->reason : "(not blocked)";
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

  RawClient publisher(node.port());
  EXPECT_EQ(PublishUntilBlocked(publisher, "q", "hello"), "low on memory");

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
  RawClient publisher(node.port());
  EXPECT_EQ(PublishUntilBlocked(publisher, "nowhere", "x"), "low on disk");
}

}  // namespace
}  // namespace warren::protocol_test
