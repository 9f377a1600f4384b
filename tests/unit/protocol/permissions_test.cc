// Permissions are checked where RabbitMQ checks them: configure on declare,
// write on the exchange a message is published to (the default exchange as
// "amq.default"), each refusal a 403 channel error naming the method.
#include <gtest/gtest.h>

#include "frame_harness.h"

namespace warren::protocol_test {
namespace {

TEST(PermissionTest, ConfigureAndWriteAreCheckedWhereRabbitMqChecksThem) {
  TestNode node([](NodeConfig& c) {
    c.users = {UserConfig{"limited", "secret", "", {}}};
    c.permissions = {PermissionConfig{"limited", "/", "^limited-", "^limited-", "^limited-"}};
  });
  RawClient c(node.port());
  Login login;
  login.user = "limited";
  login.pass = "secret";
  ASSERT_TRUE(c.Handshake(login));
  ASSERT_TRUE(c.OpenChannel(1));

  amqp::QueueDeclare mine;
  mine.queue = "limited-q";
  c.SendMethod(1, mine);
  auto ok = c.Expect<amqp::QueueDeclareOk>(1);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->queue, "limited-q");

  amqp::QueueDeclare theirs;
  theirs.queue = "other-q";
  c.SendMethod(1, theirs);
  auto refused = c.Expect<amqp::ChannelClose>(1);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->reply_code, 403);
  EXPECT_EQ(refused->class_id, 50);
  EXPECT_EQ(refused->method_id, 10);
  c.SendMethod(1, amqp::ChannelCloseOk{});

  ASSERT_TRUE(c.OpenChannel(1));
  c.Send(PublishFrames(1, "", "limited-q", "body"));
  auto publish_refused = c.Expect<amqp::ChannelClose>(1);
  ASSERT_TRUE(publish_refused);
  EXPECT_EQ(publish_refused->reply_code, 403);
  EXPECT_EQ(publish_refused->class_id, 60);
  EXPECT_EQ(publish_refused->method_id, 40);
}

}  // namespace
}  // namespace warren::protocol_test
